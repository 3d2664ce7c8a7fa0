package ari

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"hotline/call"
	"hotline/media"
)

// fakeMedia is a call's media leg without RTP.
type fakeMedia struct{ digits chan media.Digit }

func (fakeMedia) SetSource(media.Source)              {}
func (f fakeMedia) Digits() <-chan media.Digit        { return f.digits }
func (fakeMedia) SendDigit(rune, time.Duration) error { return nil }
func (fakeMedia) SetInbandDTMF(bool)                  {}
func (fakeMedia) Stats() media.Stats                  { return media.Stats{} }

// addTestCall registers call c1 of tenant "a" as a channel (up, answered).
func addTestCall(t *testing.T, s *Server) *call.Call {
	t.Helper()
	c := call.New(context.Background(), call.Info{ID: "c1", TenantID: "a", From: "+15551234", To: "+15550100", Flow: "main",
		Started: time.Date(2026, 11, 26, 21, 0, 0, 123e6, time.UTC)}, call.Config{Media: fakeMedia{make(chan media.Digit, 8)}, State: call.StateUp})
	s.attach(c)
	t.Cleanup(func() { c.Hangup(call.CauseNormal) })
	return c
}

func testChannel() Channel {
	return Channel{ID: "c1", Name: "PJSIP/trunk-00000001", State: StateUp, Caller: CallerID{Name: "Ann", Number: "+15551234"},
		Dialplan:     DialplanCEP{Context: "main", Exten: "+15550100", Priority: 1, AppName: "Stasis", AppData: "hello"},
		CreationTime: Time(time.Date(2026, 11, 26, 21, 0, 0, 123e6, time.UTC)), Language: "en"}
}

func newTestServer(t *testing.T) (*Server, *httptest.Server) {
	t.Helper()
	s, err := New(Options{Users: []User{{Tenant: "a", Username: "ua", Password: "pa"}, {Tenant: "b", Username: "ub", Password: "pb"}},
		Globals: map[string]string{"HOTLINE_VERSION": "test"}, SystemName: "test-node"})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	addTestCall(t, s)
	return s, hs
}

// do makes a request as user:pass ("" for none) and decodes a JSON body.
func do(t *testing.T, method, u, user, pass string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if out != nil && len(body) > 0 {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("%s %s: %d %q: %v", method, u, resp.StatusCode, body, err)
		}
	}
	return resp.StatusCode
}

// dial connects an application's event WebSocket as ua (tenant a).
func dial(t *testing.T, hs *httptest.Server, query string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	u := "ws" + strings.TrimPrefix(hs.URL, "http") + "/ari/events?" + query
	c, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Basic dWE6cGE="}}}) // ua:pa
	if err != nil {
		t.Fatalf("dial %s: %v", u, err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// waitApp waits until the hub has registered the application.
func waitApp(t *testing.T, s *Server, tenant, name string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if _, ok := s.Hub().Application(tenant, name); ok {
			return
		}
	}
	t.Fatalf("application %s/%s never registered", tenant, name)
}

func TestAuth(t *testing.T) {
	_, hs := newTestServer(t)
	var msg map[string]string
	if code := do(t, "GET", hs.URL+"/ari/asterisk/info", "", "", &msg); code != 401 || msg["message"] != "Authentication required" {
		t.Errorf("no credentials: %d %v, want 401 Authentication required", code, msg)
	}
	if code := do(t, "GET", hs.URL+"/ari/asterisk/info", "ua", "wrong", nil); code != 401 {
		t.Errorf("wrong password: %d, want 401", code)
	}
	if code := do(t, "GET", hs.URL+"/ari/asterisk/info", "nobody", "pa", nil); code != 401 {
		t.Errorf("unknown user: %d, want 401", code)
	}
	if code := do(t, "GET", hs.URL+"/ari/asterisk/info?api_key=ua:wrong", "", "", nil); code != 401 {
		t.Errorf("wrong api_key: %d, want 401", code)
	}
	var info AsteriskInfo
	if code := do(t, "GET", hs.URL+"/ari/asterisk/info", "ua", "pa", &info); code != 200 || info.System.Version == "" {
		t.Errorf("basic auth: %d %+v", code, info)
	}
	if code := do(t, "GET", hs.URL+"/ari/asterisk/info?api_key=ub:pb", "", "", nil); code != 200 {
		t.Errorf("api_key: %d, want 200", code)
	}
	// Unimplemented ARI resources still need credentials before their 501.
	if code := do(t, "GET", hs.URL+"/ari/bridges", "", "", nil); code != 401 {
		t.Errorf("unauthenticated 501 route: %d, want 401", code)
	}
}

func TestTenantScoping(t *testing.T) {
	s, hs := newTestServer(t)
	dial(t, hs, "app=hello")
	waitApp(t, s, "a", "hello")
	var apps []Application
	if code := do(t, "GET", hs.URL+"/ari/applications", "ua", "pa", &apps); code != 200 || len(apps) != 1 || apps[0].Name != "hello" {
		t.Errorf("tenant a applications: %d %+v", code, apps)
	}
	apps = nil
	if code := do(t, "GET", hs.URL+"/ari/applications", "ub", "pb", &apps); code != 200 || len(apps) != 0 {
		t.Errorf("tenant b sees tenant a's applications: %d %+v", code, apps)
	}
	if code := do(t, "GET", hs.URL+"/ari/applications/hello", "ub", "pb", nil); code != 404 {
		t.Errorf("tenant b gets tenant a's application: %d, want 404", code)
	}
	var chans []Channel
	if code := do(t, "GET", hs.URL+"/ari/channels", "ub", "pb", &chans); code != 200 || len(chans) != 0 {
		t.Errorf("tenant b channels: %d %+v", code, chans)
	}
	var msg map[string]string
	if code := do(t, "GET", hs.URL+"/ari/channels/c1", "ub", "pb", &msg); code != 404 || msg["message"] != "Channel not found" {
		t.Errorf("tenant b gets tenant a's channel: %d %v", code, msg)
	}
	if ok, _ := s.Hub().Publish("b", "hello", &StasisEnd{Event: Event{Type: "StasisEnd"}}); ok {
		t.Error("publish to tenant b reached tenant a's application")
	}
}

func readEvent(t *testing.T, c *websocket.Conn) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, data, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read event: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("event %q: %v", data, err)
	}
	return m
}

func TestHubOrderAndFields(t *testing.T) {
	s, hs := newTestServer(t)
	c := dial(t, hs, "app=hello")
	waitApp(t, s, "a", "hello")
	const n = 500
	for i := range n {
		ev := &ChannelDtmfReceived{Event: Event{Type: "ChannelDtmfReceived"}, Digit: fmt.Sprint(i % 10), DurationMs: i, Channel: testChannel()}
		if ok, err := s.Hub().Publish("a", "hello", ev); !ok || err != nil {
			t.Fatalf("publish %d: %v %v", i, ok, err)
		}
	}
	for i := range n {
		m := readEvent(t, c)
		if m["type"] != "ChannelDtmfReceived" || m["application"] != "hello" || m["asterisk_id"] != "test-node" || int(m["duration_ms"].(float64)) != i {
			t.Fatalf("event %d: %v", i, m)
		}
		if _, err := time.Parse(TimeFormat, m["timestamp"].(string)); err != nil {
			t.Fatalf("timestamp: %v", err)
		}
		ch := m["channel"].(map[string]any)
		if ch["creationtime"] != "2026-11-26T21:00:00.123+0000" || ch["caller"].(map[string]any)["number"] != "+15551234" {
			t.Fatalf("channel: %v", ch)
		}
	}
}

func TestHubSlowClientDropped(t *testing.T) {
	h := NewHub("x")
	c, detach := h.register("a", []string{"slow"}, false)
	defer detach()
	for i := 0; i <= QueueLen; i++ { // nobody reads: the last one overflows
		if _, err := h.Publish("a", "slow", &StasisEnd{Event: Event{Type: "StasisEnd"}}); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-c.done:
	default:
		t.Fatal("a client with a full queue was not dropped")
	}

	// Over a real WebSocket, the server closes a dropped client.
	s, hs := newTestServer(t)
	ws := dial(t, hs, "app=slow")
	waitApp(t, s, "a", "slow")
	s.hub.mu.Lock()
	s.hub.tenants["a"]["slow"].active().drop("test")
	s.hub.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, _, err := ws.Read(ctx); websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Fatalf("dropped client read: %v, want close 1008", err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, ok := s.Hub().Application("a", "slow"); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("application still registered after its only connection was dropped")
		}
	}
}

func TestHubSubscribeAllAndSubscriptions(t *testing.T) {
	s, hs := newTestServer(t)
	all := dial(t, hs, "app=all&subscribeAll=true")
	sub := dial(t, hs, "app=sub")
	dial(t, hs, "app=other")
	for _, n := range []string{"all", "sub", "other"} {
		waitApp(t, s, "a", n)
	}
	var a Application
	if code := do(t, "POST", hs.URL+"/ari/applications/sub/subscription?eventSource=channel:c1", "ua", "pa", &a); code != 200 || len(a.ChannelIDs) != 1 || a.ChannelIDs[0] != "c1" {
		t.Fatalf("subscribe: %d %+v", code, a)
	}
	reached, err := s.Hub().Broadcast("a", []string{"channel:c1"}, &ChannelStateChange{Event: Event{Type: "ChannelStateChange"}, Channel: testChannel()})
	if err != nil || strings.Join(reached, ",") != "all,sub" {
		t.Fatalf("broadcast reached %v (%v), want all,sub", reached, err)
	}
	if m := readEvent(t, all); m["application"] != "all" {
		t.Errorf("subscribeAll app got %v", m)
	}
	if m := readEvent(t, sub); m["application"] != "sub" {
		t.Errorf("subscribed app got %v", m)
	}
	if code := do(t, "DELETE", hs.URL+"/ari/applications/sub/subscription?eventSource=channel:c1", "ua", "pa", &a); code != 200 || len(a.ChannelIDs) != 0 {
		t.Fatalf("unsubscribe: %d %+v", code, a)
	}
	if reached, _ := s.Hub().Broadcast("a", []string{"channel:c1"}, &StasisEnd{Event: Event{Type: "StasisEnd"}}); strings.Join(reached, ",") != "all" {
		t.Errorf("after unsubscribe broadcast reached %v", reached)
	}
}

func TestSubscriptionErrors(t *testing.T) {
	s, hs := newTestServer(t)
	dial(t, hs, "app=hello")
	waitApp(t, s, "a", "hello")
	for _, tc := range []struct {
		method, query string
		code          int
	}{
		{"POST", "", 400},
		{"POST", "eventSource=nonsense:1", 400},
		{"POST", "eventSource=channel:", 400},
		{"POST", "eventSource=channel:nope", 422},
		{"POST", "eventSource=bridge:nope", 422},
		{"POST", "eventSource=deviceState:Custom:x", 200},
		{"DELETE", "eventSource=channel:c1", 409},
	} {
		var msg map[string]any
		if code := do(t, tc.method, hs.URL+"/ari/applications/hello/subscription?"+tc.query, "ua", "pa", &msg); code != tc.code {
			t.Errorf("%s %s: %d %v, want %d", tc.method, tc.query, code, msg, tc.code)
		}
	}
	if code := do(t, "POST", hs.URL+"/ari/applications/absent/subscription?eventSource=channel:c1", "ua", "pa", nil); code != 404 {
		t.Errorf("unknown application: %d, want 404", code)
	}
}

func TestVariablesAndNotImplemented(t *testing.T) {
	_, hs := newTestServer(t)
	var v Variable
	if code := do(t, "GET", hs.URL+"/ari/asterisk/variable?variable=HOTLINE_VERSION", "ua", "pa", &v); code != 200 || v.Value != "test" {
		t.Errorf("variable: %d %+v", code, v)
	}
	if code := do(t, "GET", hs.URL+"/ari/asterisk/variable?variable=NOPE", "ua", "pa", nil); code != 404 {
		t.Errorf("unknown variable: %d, want 404", code)
	}
	for _, p := range []string{"/ari/deviceStates", "/ari/mailboxes", "/ari/channels/c1/rtp_statistics"} {
		var msg map[string]string
		if code := do(t, "GET", hs.URL+p, "ua", "pa", &msg); code != 501 || msg["message"] != "Not implemented" {
			t.Errorf("%s: %d %v, want 501 Not implemented", p, code, msg)
		}
	}
	if code := do(t, "POST", hs.URL+"/ari/channels/c1/answer", "ua", "pa", nil); code != 409 {
		t.Errorf("POST answer outside Stasis: %d, want 409", code)
	}
}

// TestSwaggerDocsResolve walks resources.json and every document it lists,
// and calls every operation: each must reach its handler (never the 501
// catch-all, never a 404 or 405 of the router).
func TestSwaggerDocsResolve(t *testing.T) {
	s, hs := newTestServer(t)
	dial(t, hs, "app=hello")
	waitApp(t, s, "a", "hello")
	var listing struct {
		SwaggerVersion string `json:"swaggerVersion"`
		BasePath       string `json:"basePath"`
		APIs           []struct{ Path string }
	}
	if code := do(t, "GET", hs.URL+"/ari/api-docs/resources.json", "ua", "pa", &listing); code != 200 || listing.SwaggerVersion != "1.2" || listing.BasePath != hs.URL+"/ari" {
		t.Fatalf("resources.json: %d %+v", code, listing)
	}
	values := map[string]string{"applicationName": "hello", "channelId": "c1", "eventName": "ping",
		"variable": "HOTLINE_VERSION", "eventSource": "channel:c1", "app": "hello", "application": "hello",
		"tech": "PJSIP", "resource": "trunk", "playbackId": "p1", "bridgeId": "b1", "recordingName": "r1", "snoopId": "s1"}
	ops := 0
	for _, api := range listing.APIs {
		var doc struct {
			APIs []struct {
				Path       string
				Operations []struct {
					HTTPMethod string
					Upgrade    string
					Parameters []param
				}
			}
			Models map[string]map[string]any
		}
		docPath := strings.Replace(api.Path, "{format}", "json", 1)
		if code := do(t, "GET", listing.BasePath+docPath, "ua", "pa", &doc); code != 200 || len(doc.APIs) == 0 {
			t.Fatalf("%s: %d %+v", docPath, code, doc)
		}
		for _, a := range doc.APIs {
			for _, op := range a.Operations {
				ops++
				path := a.Path
				q := url.Values{}
				for _, p := range op.Parameters {
					switch p.ParamType {
					case "path":
						path = strings.Replace(path, "{"+p.Name+"}", values[p.Name], 1)
					case "query":
						if p.Required {
							q.Set(p.Name, values[p.Name])
						}
					}
				}
				if op.Upgrade == "websocket" {
					dial(t, hs, q.Encode())
					continue
				}
				var body any
				code := do(t, op.HTTPMethod, listing.BasePath+path+"?"+q.Encode(), "ua", "pa", &body)
				// The handler answered (an unknown id is its own 404 with
				// Asterisk's message), never the 501 catch-all.
				if m, _ := body.(map[string]any); code == 405 || code == 501 || code >= 500 && code != 503 || m["message"] == "Not implemented" {
					t.Errorf("%s %s: %d %v", op.HTTPMethod, path, code, body)
				}
			}
		}
		for id, m := range doc.Models {
			if m["id"] != id {
				t.Errorf("%s: model %s has id %v", docPath, id, m["id"])
			}
		}
	}
	if want := len(s.operations()); ops != want {
		t.Errorf("documents list %d operations, the router has %d", ops, want)
	}
}

func TestNewRejectsDuplicateUsers(t *testing.T) {
	if _, err := New(Options{Users: []User{{Tenant: "a", Username: "u", Password: "p"}, {Tenant: "b", Username: "u", Password: "q"}}}); err == nil {
		t.Error("a username in two tenants was accepted")
	}
}

// TestHubTakeover: a second connection for an application takes it over,
// as Asterisk re-registers an application; when it goes, the first one
// gets the events again.
func TestHubTakeover(t *testing.T) {
	h := NewHub("x")
	first, detachFirst := h.register("a", []string{"app"}, false)
	defer detachFirst()
	second, detachSecond := h.register("a", []string{"app"}, false)
	if ok, err := h.Publish("a", "app", &StasisEnd{Event: Event{Type: "StasisEnd"}}); !ok || err != nil {
		t.Fatalf("publish: %v %v", ok, err)
	}
	if len(first.out) != 0 || len(second.out) != 1 {
		t.Fatalf("queued first %d second %d, want 0 and 1", len(first.out), len(second.out))
	}
	detachSecond()
	if _, ok := h.Application("a", "app"); !ok {
		t.Fatal("application gone while a connection remains")
	}
	h.Publish("a", "app", &StasisEnd{Event: Event{Type: "StasisEnd"}})
	if len(first.out) != 1 {
		t.Fatalf("first connection queued %d after the takeover ended, want 1", len(first.out))
	}
	detachFirst()
	if _, ok := h.Application("a", "app"); ok {
		t.Fatal("application still registered without connections")
	}
	if ok, _ := h.Publish("a", "app", &StasisEnd{Event: Event{Type: "StasisEnd"}}); ok {
		t.Fatal("publish to a gone application reported delivered")
	}
}

func TestEventsDocModels(t *testing.T) {
	s, _ := New(Options{})
	doc := s.resourceDoc("http://h/ari", "events", eventModels())
	models := doc["models"].(map[string]any)
	for _, name := range []string{"StasisStart", "ChannelDtmfReceived", "ChannelUserevent", "PlaybackFinished", "RecordingFinished", "Channel", "Bridge"} {
		if models[name] == nil {
			t.Errorf("events.json lacks model %s", name)
		}
	}
	ss := models["StasisStart"].(map[string]any)
	props := ss["properties"].(map[string]any)
	if ss["extends"] != "Event" || props["channel"].(map[string]any)["type"] != "Channel" || props["args"].(map[string]any)["type"] != "List[string]" {
		t.Errorf("StasisStart model = %v", ss)
	}
	ch := models["Channel"].(map[string]any)["properties"].(map[string]any)
	if ch["creationtime"].(map[string]any)["type"] != "Date" || ch["caller"].(map[string]any)["type"] != "CallerID" {
		t.Errorf("Channel model = %v", ch)
	}
}
