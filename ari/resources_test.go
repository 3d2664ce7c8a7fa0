package ari

import (
	"github.com/google/uuid"

	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"hotline/call"
	"hotline/ivr"
	"hotline/media"
)

// pumpMedia is a call's media leg without RTP that consumes what is
// played to it, 20 ms of audio every millisecond, so prompts end.
type pumpMedia struct {
	digits chan media.Digit
	mu     sync.Mutex
	src    media.Source
	frames int // frames read
	voiced int // frames read that were not silence
}

func newPumpMedia(t *testing.T) *pumpMedia {
	m := &pumpMedia{digits: make(chan media.Digit, 8)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		buf := make([]int16, 160)
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			m.mu.Lock()
			if m.src != nil && m.src.ReadFrame(buf) {
				m.frames++
				if slices.ContainsFunc(buf, func(v int16) bool { return v != 0 }) {
					m.voiced++
				}
			}
			m.mu.Unlock()
		}
	}()
	return m
}

func (m *pumpMedia) SetSource(src media.Source) {
	m.mu.Lock()
	m.src = src
	m.mu.Unlock()
}
func (m *pumpMedia) Digits() <-chan media.Digit          { return m.digits }
func (m *pumpMedia) SendDigit(rune, time.Duration) error { return nil }
func (m *pumpMedia) SetInbandDTMF(bool)                  {}
func (m *pumpMedia) Stats() media.Stats                  { return media.Stats{} }

// newResServer is newTestServer without a channel, with options of the
// test's own.
func newResServer(t *testing.T, opt Options) (*Server, *httptest.Server) {
	t.Helper()
	opt.Users = []User{{Tenant: "a", Username: "ua", Password: "pa"}, {Tenant: "b", Username: "ub", Password: "pb"}}
	opt.SystemName = "test-node"
	s, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return s, hs
}

// newCall makes an answered call of tenant a with media m (attached to
// the server only once it enters Stasis, as the ivr step does).
func newCall(t *testing.T, id string, m call.MediaSession) *call.Call {
	t.Helper()
	c := call.New(context.Background(), call.Info{ID: id, TenantID: "a", From: "+15551234", To: "+15550100", Flow: "main",
		Started: time.Now()}, call.Config{Media: m, State: call.StateUp})
	t.Cleanup(func() { c.Hangup(call.CauseNormal) })
	return c
}

type stasisOut struct {
	res ivr.StasisResult
	err error
}

// enterStasis runs RunStasis for c in a goroutine; the test ends it (a
// hang-up at cleanup at the latest) and waits for it.
func enterStasis(t *testing.T, s *Server, c *call.Call, app string, args ...string) <-chan stasisOut {
	t.Helper()
	out := make(chan stasisOut, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		res, err := s.RunStasis(context.Background(), c, app, args)
		out <- stasisOut{res, err}
	}()
	t.Cleanup(func() {
		c.Hangup(call.CauseNormal)
		<-done
	})
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(2 * time.Millisecond) {
		if ch := s.reg.channel(c.TenantID, c.ID); ch != nil && ch.inApp() {
			return out
		}
		select {
		case r := <-out:
			t.Fatalf("RunStasis returned at once: %+v", r)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the channel never entered Stasis")
		}
	}
}

// events reads an application's WebSocket in the background (a Read
// whose context ends closes the connection, so waits are done here).
type events struct {
	ch  chan map[string]any
	err chan error
}

func listen(t *testing.T, ws *websocket.Conn) *events {
	t.Helper()
	e := &events{ch: make(chan map[string]any, 256), err: make(chan error, 1)}
	go func() {
		for {
			_, data, err := ws.Read(context.Background())
			if err != nil {
				e.err <- err
				return
			}
			var m map[string]any
			if err := json.Unmarshal(data, &m); err != nil {
				e.err <- err
				return
			}
			e.ch <- m
		}
	}()
	return e
}

// dialApp connects application name (tenant a) and waits until the hub
// has it.
func dialApp(t *testing.T, s *Server, hs *httptest.Server, query, name string) *events {
	t.Helper()
	e := listen(t, dial(t, hs, query))
	waitApp(t, s, "a", name)
	return e
}

// wait returns the next event of type typ, skipping others (e.g.
// ChannelStateChange).
func (e *events) wait(t *testing.T, typ string) map[string]any {
	t.Helper()
	var skipped []any
	timeout := time.After(5 * time.Second)
	for {
		select {
		case m := <-e.ch:
			if m["type"] == typ {
				return m
			}
			skipped = append(skipped, m["type"])
		case err := <-e.err:
			t.Fatalf("waiting for %s (skipped %v): %v", typ, skipped, err)
		case <-timeout:
			t.Fatalf("no %s event (skipped %v)", typ, skipped)
		}
	}
}

// none checks that no event arrives for d.
func (e *events) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case m := <-e.ch:
		t.Errorf("unexpected event %v", m)
	case <-time.After(d):
	}
}

// req makes a request as user (ua or ub) with an optional JSON body,
// decoding a JSON answer into out.
func req(t *testing.T, method, u, user, body string, out any) int {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	r.SetBasicAuth(user, map[string]string{"ua": "pa", "ub": "pb"}[user])
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %d %q: %v", method, u, resp.StatusCode, data, err)
		}
	}
	return resp.StatusCode
}

// wantError checks an answer's code and Asterisk's {"message": ...} body.
func wantError(t *testing.T, method, u, user, body string, code int, message string) {
	t.Helper()
	var msg map[string]any
	got := req(t, method, u, user, body, &msg)
	if got != code || message != "" && msg["message"] != message || msg["message"] == nil {
		t.Errorf("%s %s: %d %v, want %d %q", method, strings.TrimPrefix(u, "http://"), got, msg, code, message)
	}
}

func TestStasisStartContinue(t *testing.T) {
	s, hs := newResServer(t, Options{})
	ws := dialApp(t, s, hs, "app=hello", "hello")
	c := newCall(t, "c7", fakeMedia{make(chan media.Digit, 8)})
	out := enterStasis(t, s, c, "hello", "one", "two")

	ev := ws.wait(t, "StasisStart")
	args, _ := ev["args"].([]any)
	ch, _ := ev["channel"].(map[string]any)
	if len(args) != 2 || args[0] != "one" || args[1] != "two" || ch["id"] != "c7" || ev["application"] != "hello" {
		t.Fatalf("StasisStart = %v", ev)
	}
	if dp := ch["dialplan"].(map[string]any); dp["app_name"] != "Stasis" || dp["app_data"] != "hello,one,two" {
		t.Errorf("StasisStart dialplan = %v", dp)
	}
	var a Application
	if code := req(t, "GET", hs.URL+"/ari/applications/hello", "ua", "", &a); code != 200 || len(a.ChannelIDs) != 1 || a.ChannelIDs[0] != "c7" {
		t.Errorf("application in Stasis: %d %+v, want subscribed to c7", code, a)
	}
	// A second Stasis on the same channel fails at once.
	if res, err := s.RunStasis(context.Background(), c, "hello", nil); err != nil || res.Status != "FAILED" {
		t.Errorf("nested RunStasis = %+v %v, want FAILED", res, err)
	}
	if code := req(t, "POST", hs.URL+"/ari/channels/c7/continue?label=x", "ua", "", nil); code != 204 {
		t.Fatalf("continue: %d, want 204", code)
	}
	select {
	case r := <-out:
		if r.err != nil || r.res.Status != "SUCCESS" || r.res.Label != "x" {
			t.Errorf("RunStasis = %+v %v, want SUCCESS label x", r.res, r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("RunStasis did not return after continue")
	}
	if ev := ws.wait(t, "StasisEnd"); ev["channel"].(map[string]any)["id"] != "c7" {
		t.Errorf("StasisEnd = %v", ev)
	}
	// Out of the application: continue is a 409, the application no
	// longer follows the channel.
	wantError(t, "POST", hs.URL+"/ari/channels/c7/continue", "ua", "", 409, notInStasis)
	if s.Hub().Subscribed("a", "hello", "channel:c7") {
		t.Error("application still subscribed to the channel after continue")
	}
}

func TestStasisAppNotConnected(t *testing.T) {
	s, _ := newResServer(t, Options{})
	c := newCall(t, "c8", fakeMedia{make(chan media.Digit, 8)})
	if res, err := s.RunStasis(context.Background(), c, "absent", nil); err != nil || res.Status != "FAILED" {
		t.Errorf("RunStasis without the application = %+v %v, want FAILED", res, err)
	}
}

func TestChannelDtmfReceived(t *testing.T) {
	s, hs := newResServer(t, Options{})
	ws := dialApp(t, s, hs, "app=hello", "hello")
	digits := make(chan media.Digit, 8)
	c := newCall(t, "c7", fakeMedia{digits})
	enterStasis(t, s, c, "hello")
	ws.wait(t, "StasisStart")
	digits <- media.Digit{Key: '5', Duration: 120 * time.Millisecond, Source: "rfc4733", At: time.Now()}
	digits <- media.Digit{Key: '#', Duration: 80 * time.Millisecond, Source: "rfc4733", At: time.Now()}
	for _, want := range []struct {
		digit string
		ms    float64
	}{{"5", 120}, {"#", 80}} {
		ev := ws.wait(t, "ChannelDtmfReceived")
		if ev["digit"] != want.digit || ev["duration_ms"] != want.ms || ev["channel"].(map[string]any)["id"] != "c7" {
			t.Errorf("ChannelDtmfReceived = %v, want digit %s %v ms", ev, want.digit, want.ms)
		}
	}
}

func TestHangupWithReason(t *testing.T) {
	s, hs := newResServer(t, Options{})
	ws := dialApp(t, s, hs, "app=hello", "hello")
	c := newCall(t, "c7", fakeMedia{make(chan media.Digit, 8)})
	out := enterStasis(t, s, c, "hello")
	ws.wait(t, "StasisStart")

	wantError(t, "DELETE", hs.URL+"/ari/channels/c7?reason=bogus", "ua", "", 400, "Invalid reason for hangup provided")
	wantError(t, "DELETE", hs.URL+"/ari/channels/c7?reason_code=abc", "ua", "", 400, "")
	wantError(t, "DELETE", hs.URL+"/ari/channels/c7?reason=busy", "ub", "", 404, "Channel not found")
	select {
	case <-c.Done():
		t.Fatal("a refused hang-up ended the call")
	default:
	}
	if code := req(t, "DELETE", hs.URL+"/ari/channels/c7?reason=busy", "ua", "", nil); code != 204 {
		t.Fatalf("hangup: %d, want 204", code)
	}
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the call did not end")
	}
	if cause := c.Cause(); cause == nil || cause.Q850 != 17 {
		t.Errorf("cause = %+v, want Q.850 17", cause)
	}
	if r := <-out; r.err == nil || r.res.Status == "SUCCESS" {
		t.Errorf("RunStasis after hang-up = %+v %v, want the call's end", r.res, r.err)
	}
	if ev := ws.wait(t, "ChannelHangupRequest"); ev["cause"] != float64(17) {
		t.Errorf("ChannelHangupRequest = %v", ev)
	}
	ws.wait(t, "StasisEnd")
	if ev := ws.wait(t, "ChannelDestroyed"); ev["cause"] != float64(17) || ev["cause_txt"] != "User busy" {
		t.Errorf("ChannelDestroyed = %v, want cause 17 User busy", ev)
	}
	for deadline := time.Now().Add(5 * time.Second); s.reg.channel("a", "c7") != nil; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("destroyed channel still listed")
		}
	}
	wantError(t, "GET", hs.URL+"/ari/channels/c7", "ua", "", 404, "Channel not found")

	// reason_code wins, as in Asterisk.
	c2 := newCall(t, "c9", fakeMedia{make(chan media.Digit, 8)})
	s.attach(c2)
	if code := req(t, "DELETE", hs.URL+"/ari/channels/c9?reason_code=21", "ua", "", nil); code != 204 {
		t.Fatalf("hangup reason_code: %d", code)
	}
	<-c2.Done()
	if cause := c2.Cause(); cause == nil || cause.Q850 != 21 {
		t.Errorf("reason_code=21 cause = %+v", cause)
	}
}

func TestNotFoundBodies(t *testing.T) {
	_, hs := newResServer(t, Options{RecordingsDir: t.TempDir()})
	for _, tc := range []struct{ method, path, msg string }{
		{"GET", "/channels/nope", "Channel not found"},
		{"DELETE", "/channels/nope", "Channel not found"},
		{"POST", "/channels/nope/answer", "Channel not found"},
		{"POST", "/channels/nope/play?media=tone:ring", "Channel not found"},
		{"GET", "/channels/nope/variable?variable=X", "Channel not found"},
		{"POST", "/channels/nope/variable?variable=X&value=1", "Channel not found"},
		{"GET", "/bridges/nope", "Bridge not found"},
		{"DELETE", "/bridges/nope", "Bridge not found"},
		{"POST", "/bridges/nope/play?media=tone:ring", "Bridge not found"},
		{"POST", "/bridges/nope/addChannel?channel=c1", "Bridge not found"},
		{"GET", "/playbacks/nope", "Playback not found"},
		{"DELETE", "/playbacks/nope", "Playback not found"},
		{"POST", "/playbacks/nope/control?operation=pause", "Playback not found"},
		{"GET", "/recordings/stored/nope", "Recording not found"},
		{"GET", "/recordings/stored/nope/file", "Recording not found"},
		{"DELETE", "/recordings/stored/nope", "Recording not found"},
		{"POST", "/recordings/stored/nope/copy?destinationRecordingName=x", "Recording not found"},
		{"GET", "/recordings/live/nope", "Recording not found"},
		{"POST", "/recordings/live/nope/stop", "Recording not found"},
		{"DELETE", "/recordings/live/nope", "Recording not found"},
	} {
		wantError(t, tc.method, hs.URL+"/ari"+tc.path, "ua", "", 404, tc.msg)
	}
}

func TestOutsideStasis409(t *testing.T) {
	s, hs := newResServer(t, Options{})
	s.attach(newCall(t, "c7", fakeMedia{make(chan media.Digit, 8)}))
	for _, tc := range []struct{ method, path string }{
		{"POST", "/answer"}, {"POST", "/ring"}, {"DELETE", "/ring"},
		{"POST", "/play?media=tone:ring"}, {"POST", "/play/p1?media=tone:ring"},
		{"POST", "/dtmf?dtmf=1"}, {"POST", "/mute"}, {"DELETE", "/mute"},
		{"POST", "/hold"}, {"DELETE", "/hold"}, {"POST", "/moh"}, {"DELETE", "/moh"},
		{"POST", "/silence"}, {"DELETE", "/silence"}, {"POST", "/continue"},
		{"POST", "/record?name=r&format=wav"},
	} {
		wantError(t, tc.method, hs.URL+"/ari/channels/c7"+tc.path, "ua", "", 409, notInStasis)
	}
	// The channel is still readable outside Stasis.
	var ch Channel
	if code := req(t, "GET", hs.URL+"/ari/channels/c7", "ua", "", &ch); code != 200 || ch.ID != "c7" || ch.State != "Up" {
		t.Errorf("get: %d %+v", code, ch)
	}
}

func TestBadRequests400(t *testing.T) {
	s, hs := newResServer(t, Options{})
	dial(t, hs, "app=hello")
	waitApp(t, s, "a", "hello")
	enterStasis(t, s, newCall(t, "c7", fakeMedia{make(chan media.Digit, 8)}), "hello")
	u := hs.URL + "/ari/channels/c7"
	for _, tc := range []struct{ method, path, body, msg string }{
		{"POST", "/play", `{"media": `, "Invalid JSON body"},
		{"POST", "/play", `[1, 2]`, "Invalid JSON body"},
		{"POST", "/variable", `{"variable": "X", "value": `, "Invalid JSON body"},
		{"POST", "/play", "", "Missing parameter media"},
		{"POST", "/play?media=http://example.com/a.wav", "", ""},
		{"POST", "/play?media=nocolon", "", ""},
		{"POST", "/play?media=sound:", "", ""},
		{"POST", "/play?media=tone:ring,bogus:x", "", ""},
		{"POST", "/play", `{"media": "file:/etc/passwd"}`, ""},
		{"POST", "/play?media=tone:ring&skipms=-1", "", ""},
		{"POST", "/play?media=tone:ring&offsetms=x", "", ""},
		{"POST", "/dtmf", "", "DTMF is required"},
		{"POST", "/dtmf?dtmf=12x", "", ""},
		{"POST", "/dtmf?dtmf=1&between=-5", "", ""},
		{"POST", "/mute?direction=sideways", "", "Invalid direction specified"},
		{"DELETE", "/mute?direction=up", "", "Invalid direction specified"},
		{"GET", "/variable", "", "Variable name is required"},
		{"POST", "/variable?value=1", "", "Variable name is required"},
	} {
		wantError(t, tc.method, u+tc.path, "ua", tc.body, 400, tc.msg)
	}
	// The same operations are accepted when well formed.
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/mute?direction=in", ""},
		{"DELETE", "/mute", ""},
		{"POST", "/dtmf", `{"dtmf": "12#", "between": 10, "duration": 10}`},
		{"POST", "/hold", ""},
		{"DELETE", "/hold", ""},
		{"POST", "/answer", ""},
		{"POST", "/silence", ""},
		{"DELETE", "/silence", ""},
	} {
		if code := req(t, tc.method, u+tc.path, "ua", tc.body, nil); code != 204 {
			t.Errorf("%s %s %s: %d, want 204", tc.method, tc.path, tc.body, code)
		}
	}
}

func TestChannelVariables(t *testing.T) {
	s, hs := newResServer(t, Options{})
	ws := dialApp(t, s, hs, "app=hello", "hello")
	enterStasis(t, s, newCall(t, "c7", fakeMedia{make(chan media.Digit, 8)}), "hello")
	ws.wait(t, "StasisStart")
	u := hs.URL + "/ari/channels/c7/variable"
	if code := req(t, "POST", u+"?variable=FOO&value=bar", "ua", "", nil); code != 204 {
		t.Fatalf("set: %d", code)
	}
	ev := ws.wait(t, "ChannelVarset")
	if ev["variable"] != "FOO" || ev["value"] != "bar" || ev["channel"].(map[string]any)["id"] != "c7" {
		t.Errorf("ChannelVarset = %v", ev)
	}
	// Parameters in a JSON body, as some clients send them.
	if code := req(t, "POST", u, "ua", `{"variable": "N", "value": 42}`, nil); code != 204 {
		t.Fatalf("set from body: %d", code)
	}
	if ev := ws.wait(t, "ChannelVarset"); ev["variable"] != "N" || ev["value"] != "42" {
		t.Errorf("ChannelVarset from body = %v", ev)
	}
	for name, want := range map[string]string{"FOO": "bar", "N": "42", "CALLERID(num)": "+15551234", "UNIQUEID": "c7", "EXTEN": "+15550100"} {
		var v Variable
		if code := req(t, "GET", u+"?variable="+name, "ua", "", &v); code != 200 || v.Value != want {
			t.Errorf("get %s: %d %+v, want %q", name, code, v, want)
		}
	}
	wantError(t, "GET", u+"?variable=NOPE", "ua", "", 404, "")
	// CHANNEL(language) sets the channel's language.
	req(t, "POST", u+"?variable=CHANNEL(language)&value=fr", "ua", "", nil)
	var ch Channel
	if req(t, "GET", hs.URL+"/ari/channels/c7", "ua", "", &ch); ch.Language != "fr" {
		t.Errorf("language after CHANNEL(language)=fr: %q", ch.Language)
	}
	// Tenant b neither reads nor writes them.
	wantError(t, "GET", u+"?variable=FOO", "ub", "", 404, "Channel not found")
	wantError(t, "POST", u+"?variable=FOO&value=evil", "ub", "", 404, "Channel not found")
	var v Variable
	if req(t, "GET", u+"?variable=FOO", "ua", "", &v); v.Value != "bar" {
		t.Errorf("FOO = %q after tenant b's attempt", v.Value)
	}
}

func TestBridgeLifecycle(t *testing.T) {
	s, hs := newResServer(t, Options{})
	all := dialApp(t, s, hs, "app=all&subscribeAll=true", "all")
	plain := dialApp(t, s, hs, "app=plain", "plain")

	var b Bridge
	if code := req(t, "POST", hs.URL+"/ari/bridges?type=mixing&name=room&bridgeId=b1", "ua", "", &b); code != 200 ||
		b.ID != "b1" || b.BridgeType != "mixing" || b.Name != "room" || b.BridgeClass != "stasis" || len(b.Channels) != 0 {
		t.Fatalf("create: %d %+v", code, b)
	}
	// BridgeCreated goes to the bridge's followers: at creation only the
	// applications subscribed to everything (as in Asterisk, the creator
	// is not subscribed to a bridge it creates).
	if ev := all.wait(t, "BridgeCreated"); ev["bridge"].(map[string]any)["id"] != "b1" {
		t.Errorf("BridgeCreated = %v", ev)
	}
	plain.none(t, 100*time.Millisecond)

	var h Bridge
	if code := req(t, "POST", hs.URL+"/ari/bridges/b2?type=holding", "ua", "", &h); code != 200 || h.ID != "b2" || h.BridgeType != "holding" {
		t.Fatalf("createWithId: %d %+v", code, h)
	}
	all.wait(t, "BridgeCreated")
	// createWithId on an existing bridge answers it.
	if code := req(t, "POST", hs.URL+"/ari/bridges/b2", "ua", "", &h); code != 200 || h.ID != "b2" || h.BridgeType != "holding" {
		t.Errorf("createWithId existing: %d %+v", code, h)
	}
	var list []Bridge
	if code := req(t, "GET", hs.URL+"/ari/bridges", "ua", "", &list); code != 200 || len(list) != 2 || list[0].ID != "b1" || list[1].ID != "b2" {
		t.Errorf("list: %d %+v", code, list)
	}
	if code := req(t, "GET", hs.URL+"/ari/bridges/b1", "ua", "", &b); code != 200 || b.ID != "b1" {
		t.Errorf("get: %d %+v", code, b)
	}
	wantError(t, "POST", hs.URL+"/ari/bridges?type=bogus", "ua", "", 400, "")
	wantError(t, "POST", hs.URL+"/ari/bridges?bridgeId=bad/id", "ua", "", 400, "")
	wantError(t, "POST", hs.URL+"/ari/bridges", "ua", `{"type": `, 400, "Invalid JSON body")

	// Channels: missing, unknown, outside Stasis, not bridgeable (no RTP).
	c7 := newCall(t, "c7", fakeMedia{make(chan media.Digit, 8)})
	s.attach(c7)
	wantError(t, "POST", hs.URL+"/ari/bridges/b1/addChannel", "ua", "", 400, "")
	wantError(t, "POST", hs.URL+"/ari/bridges/b1/addChannel?channel=nope", "ua", "", 400, "Channel not found")
	wantError(t, "POST", hs.URL+"/ari/bridges/b1/addChannel?channel=c7", "ua", "", 422, notInStasis)
	enterStasis(t, s, c7, "plain")
	plain.wait(t, "StasisStart")
	wantError(t, "POST", hs.URL+"/ari/bridges/b1/addChannel?channel=c7", "ua", "", 422, "")
	wantError(t, "POST", hs.URL+"/ari/bridges/b1/removeChannel?channel=c7", "ua", "", 422, "Channel not in this bridge")

	// Tenant b sees none of it, and cannot take the id.
	list = nil
	if code := req(t, "GET", hs.URL+"/ari/bridges", "ub", "", &list); code != 200 || len(list) != 0 {
		t.Errorf("tenant b list: %d %+v", code, list)
	}
	wantError(t, "GET", hs.URL+"/ari/bridges/b1", "ub", "", 404, "Bridge not found")
	wantError(t, "DELETE", hs.URL+"/ari/bridges/b1", "ub", "", 404, "Bridge not found")
	wantError(t, "POST", hs.URL+"/ari/bridges/b1/play?media=tone:ring", "ub", "", 404, "Bridge not found")
	// Bridge ids are per tenant: b's own b1 is another bridge.
	var other Bridge
	if code := req(t, "POST", hs.URL+"/ari/bridges/b1", "ub", "", &other); code != 200 || len(other.Channels) != 0 {
		t.Errorf("tenant b's own bridge b1: %d %+v", code, other)
	}

	if code := req(t, "DELETE", hs.URL+"/ari/bridges/b1", "ua", "", nil); code != 204 {
		t.Fatalf("destroy: %d", code)
	}
	if ev := all.wait(t, "BridgeDestroyed"); ev["bridge"].(map[string]any)["id"] != "b1" {
		t.Errorf("BridgeDestroyed = %v", ev)
	}
	wantError(t, "GET", hs.URL+"/ari/bridges/b1", "ua", "", 404, "Bridge not found")
	wantError(t, "DELETE", hs.URL+"/ari/bridges/b1", "ua", "", 404, "Bridge not found")
	if code := req(t, "DELETE", hs.URL+"/ari/bridges/b2", "ua", "", nil); code != 204 {
		t.Fatalf("destroy b2: %d", code)
	}
}

// writeRecording stores a WAV of n samples as tenant's recording name.
func writeRecording(t *testing.T, dir, tenant, name string, n int) []byte {
	t.Helper()
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = int16((i % 40) * 500)
	}
	data := media.EncodeWAV(pcm, 8000)
	path := filepath.Join(dir, tenant, name+".wav")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return data
}

func TestPlaybackLifecycle(t *testing.T) {
	dir := t.TempDir()
	writeRecording(t, dir, "a", "greet", 2400) // 300 ms
	s, hs := newResServer(t, Options{RecordingsDir: dir})
	ws := dialApp(t, s, hs, "app=hello", "hello")
	m := newPumpMedia(t)
	enterStasis(t, s, newCall(t, "c7", m), "hello")
	ws.wait(t, "StasisStart")
	u := hs.URL + "/ari/channels/c7/play"

	// A recording plays to its end.
	var pb Playback
	if code := req(t, "POST", u+"?media=recording:greet&playbackId=pb1", "ua", "", &pb); code != 201 ||
		pb.ID != "pb1" || pb.MediaURI != "recording:greet" || pb.TargetURI != "channel:c7" {
		t.Fatalf("play: %d %+v", code, pb)
	}
	if ev := ws.wait(t, "PlaybackStarted"); ev["playback"].(map[string]any)["id"] != "pb1" || ev["playback"].(map[string]any)["state"] != "playing" {
		t.Errorf("PlaybackStarted = %v", ev)
	}
	ev := ws.wait(t, "PlaybackFinished")
	if p := ev["playback"].(map[string]any); p["id"] != "pb1" || p["state"] != "done" {
		t.Errorf("PlaybackFinished = %v", ev)
	}
	wantError(t, "GET", hs.URL+"/ari/playbacks/pb1", "ua", "", 404, "Playback not found")
	m.mu.Lock()
	frames := m.frames
	m.mu.Unlock()
	if frames < 15 {
		t.Errorf("%d frames played, want the recording's 15", frames)
	}

	// A missing recording: accepted, then the playback fails.
	if code := req(t, "POST", u+"?media=recording:absent", "ua", "", &pb); code != 201 {
		t.Fatalf("play absent: %d", code)
	}
	ws.wait(t, "PlaybackStarted")
	if p := ws.wait(t, "PlaybackFinished")["playback"].(map[string]any); p["state"] != "failed" {
		t.Errorf("absent recording finished %v, want failed", p)
	}

	// A tone plays until stopped: get, control, stop.
	if code := req(t, "POST", u+"/pb2?media=tone:busy", "ua", "", &pb); code != 201 || pb.ID != "pb2" {
		t.Fatalf("playWithId: %d %+v", code, pb)
	}
	ws.wait(t, "PlaybackStarted")
	wantError(t, "POST", u+"/pb2?media=tone:ring", "ua", "", 409, "")
	pu := hs.URL + "/ari/playbacks/pb2"
	if code := req(t, "GET", pu, "ua", "", &pb); code != 200 || pb.State != "playing" || pb.MediaURI != "tone:busy" {
		t.Errorf("get playing: %d %+v", code, pb)
	}
	wantError(t, "GET", pu, "ub", "", 404, "Playback not found")
	wantError(t, "DELETE", pu, "ub", "", 404, "Playback not found")
	wantError(t, "POST", pu+"/control?operation=pause", "ub", "", 404, "Playback not found")
	wantError(t, "POST", pu+"/control", "ua", "", 400, "")
	wantError(t, "POST", pu+"/control?operation=rewind", "ua", "", 400, "")
	if code := req(t, "POST", pu+"/control?operation=pause", "ua", "", nil); code != 204 {
		t.Errorf("pause: %d", code)
	}
	if req(t, "GET", pu, "ua", "", &pb); pb.State != "paused" {
		t.Errorf("after pause: %+v", pb)
	}
	if code := req(t, "POST", pu+"/control?operation=unpause", "ua", "", nil); code != 204 {
		t.Errorf("unpause: %d", code)
	}
	if req(t, "GET", pu, "ua", "", &pb); pb.State != "playing" {
		t.Errorf("after unpause: %+v", pb)
	}
	// Parameters may come in a JSON body, as for every other operation.
	t.Run("control from body", func(t *testing.T) {
		var msg map[string]any
		code := req(t, "POST", pu+"/control", "ua", `{"operation": "pause"}`, &msg)
		if code == 204 {
			req(t, "POST", pu+"/control?operation=unpause", "ua", "", nil)
			return
		}
		t.Fatalf("POST /playbacks/{id}/control with body {\"operation\":\"pause\"}: %d %v, want 204 (ari/playbacks.go controlPlayback reads only the query string; wrap it in withParams and use p.get(\"operation\"))", code, msg)
	})
	// A second playback queues behind the tone; stopping it while queued
	// forgets it without events.
	if code := req(t, "POST", u+"?media=recording:greet&playbackId=pb3", "ua", "", &pb); code != 201 || pb.State != "queued" {
		t.Errorf("queued play: %d %+v", code, pb)
	}
	if code := req(t, "DELETE", hs.URL+"/ari/playbacks/pb3", "ua", "", nil); code != 204 {
		t.Errorf("stop queued: %d", code)
	}
	wantError(t, "GET", hs.URL+"/ari/playbacks/pb3", "ua", "", 404, "Playback not found")
	if code := req(t, "DELETE", pu, "ua", "", nil); code != 204 {
		t.Errorf("stop: %d", code)
	}
	if p := ws.wait(t, "PlaybackFinished")["playback"].(map[string]any); p["id"] != "pb2" || p["state"] != "done" {
		t.Errorf("stopped tone finished %v", p)
	}
	wantError(t, "GET", pu, "ua", "", 404, "Playback not found")
	// Nothing of pb3 was ever played.
	ws.none(t, 100*time.Millisecond)

	// A paused recording holds its position; unpaused it ends.
	writeRecording(t, dir, "a", "long", 30*8000) // 30 s: 1.5 s at the pump's pace
	if code := req(t, "POST", u+"?media=recording:long&playbackId=pb4", "ua", "", &pb); code != 201 {
		t.Fatalf("play long: %d", code)
	}
	ws.wait(t, "PlaybackStarted")
	time.Sleep(100 * time.Millisecond) // see "pause at PlaybackStarted" below
	if code := req(t, "POST", hs.URL+"/ari/playbacks/pb4/control?operation=pause", "ua", "", nil); code != 204 {
		t.Fatalf("pause long: %d", code)
	}
	if n := m.voicedDuring(300 * time.Millisecond); n > 0 {
		t.Errorf("paused playback sent %d frames of audio", n)
	}
	req(t, "POST", hs.URL+"/ari/playbacks/pb4/control?operation=unpause", "ua", "", nil)
	if n := m.voicedDuring(100 * time.Millisecond); n == 0 {
		t.Error("unpaused playback sends no audio")
	}
	if p := ws.wait(t, "PlaybackFinished")["playback"].(map[string]any); p["id"] != "pb4" || p["state"] != "done" {
		t.Errorf("long finished %v", p)
	}

	// An application pausing as soon as it learns the playback started
	// must get a paused playback.
	t.Run("pause at PlaybackStarted", func(t *testing.T) {
		if code := req(t, "POST", u+"?media=recording:long&playbackId=pb5", "ua", "", &pb); code != 201 {
			t.Fatalf("play long: %d", code)
		}
		ws.wait(t, "PlaybackStarted")
		if code := req(t, "POST", hs.URL+"/ari/playbacks/pb5/control?operation=pause", "ua", "", nil); code != 204 {
			t.Fatalf("pause: %d", code)
		}
		n := m.voicedDuring(300 * time.Millisecond)
		req(t, "DELETE", hs.URL+"/ari/playbacks/pb5", "ua", "", nil)
		ws.wait(t, "PlaybackFinished")
		if n > 0 {
			t.Fatalf("a pause right after PlaybackStarted is lost: %d frames of audio while paused (ari/playbacks.go play() publishes PlaybackStarted, then resolves the media and creates the media.Player; a controlPlayback before p.player is set only sets state=paused. Fix: in play(), when storing p.player under p.mu, call pl.Pause() if p.state == playPaused; the same holds for each following prompt of a media list)", n)
		}
	})
}

// voicedDuring counts the frames of audio (not silence) played in d,
// after 30 ms for what is in flight.
func (m *pumpMedia) voicedDuring(d time.Duration) int {
	time.Sleep(30 * time.Millisecond)
	m.mu.Lock()
	v := m.voiced
	m.mu.Unlock()
	time.Sleep(d)
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.voiced - v
}

func TestStoredRecordings(t *testing.T) {
	dir := t.TempDir()
	data := writeRecording(t, dir, "a", "msg", 800)
	writeRecording(t, dir, "a", "sub/deep", 160)
	writeRecording(t, dir, "b", "theirs", 160)
	_, hs := newResServer(t, Options{RecordingsDir: dir})
	u := hs.URL + "/ari/recordings/stored"

	var list []StoredRecording
	if code := req(t, "GET", u, "ua", "", &list); code != 200 || len(list) != 2 || list[0] != (StoredRecording{"msg", "wav"}) || list[1] != (StoredRecording{"sub/deep", "wav"}) {
		t.Errorf("list: %d %+v", code, list)
	}
	var rec StoredRecording
	if code := req(t, "GET", u+"/msg", "ua", "", &rec); code != 200 || rec != (StoredRecording{"msg", "wav"}) {
		t.Errorf("get: %d %+v", code, rec)
	}
	if code := req(t, "GET", u+"/sub%2Fdeep", "ua", "", &rec); code != 200 || rec.Name != "sub/deep" {
		t.Errorf("get a name with a slash (escaped): %d %+v", code, rec)
	}
	r, _ := http.NewRequest("GET", u+"/msg/file", nil)
	r.SetBasicAuth("ua", "pa")
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "audio/wav" || !bytes.Equal(body, data) {
		t.Errorf("file: %d %s, %d bytes (want %d)", resp.StatusCode, resp.Header.Get("Content-Type"), len(body), len(data))
	}

	if code := req(t, "POST", u+"/msg/copy?destinationRecordingName=copy1", "ua", "", &rec); code != 200 || rec.Name != "copy1" {
		t.Errorf("copy: %d %+v", code, rec)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "a", "copy1.wav")); !bytes.Equal(got, data) {
		t.Error("the copy differs from the original")
	}
	wantError(t, "POST", u+"/msg/copy?destinationRecordingName=copy1", "ua", "", 409, "")
	wantError(t, "POST", u+"/msg/copy", "ua", "", 400, "")
	wantError(t, "POST", u+"/msg/copy?destinationRecordingName=../b/stolen", "ua", "", 400, "")
	if _, err := os.Stat(filepath.Join(dir, "b", "stolen.wav")); err == nil {
		t.Error("a copy escaped the tenant's directory")
	}

	// Tenant b sees only its own.
	list = nil
	if code := req(t, "GET", u, "ub", "", &list); code != 200 || len(list) != 1 || list[0].Name != "theirs" {
		t.Errorf("tenant b list: %d %+v", code, list)
	}
	for _, p := range []string{"/msg", "/msg/file"} {
		wantError(t, "GET", u+p, "ub", "", 404, "Recording not found")
	}
	wantError(t, "DELETE", u+"/msg", "ub", "", 404, "Recording not found")
	wantError(t, "POST", u+"/msg/copy?destinationRecordingName=mine", "ub", "", 404, "Recording not found")
	wantError(t, "GET", u+"/theirs", "ua", "", 404, "Recording not found")

	if code := req(t, "DELETE", u+"/msg", "ua", "", nil); code != 204 {
		t.Errorf("delete: %d", code)
	}
	wantError(t, "GET", u+"/msg", "ua", "", 404, "Recording not found")
	if _, err := os.Stat(filepath.Join(dir, "a", "msg.wav")); err == nil {
		t.Error("deleted recording still on disk")
	}
	list = nil
	if req(t, "GET", u, "ua", "", &list); len(list) != 2 || list[0].Name != "copy1" {
		t.Errorf("list after delete: %+v", list)
	}
}

func TestTenantIsolationResources(t *testing.T) {
	s, hs := newResServer(t, Options{})
	dial(t, hs, "app=hello")
	waitApp(t, s, "a", "hello")
	c := newCall(t, "c7", fakeMedia{make(chan media.Digit, 8)})
	enterStasis(t, s, c, "hello")
	var chans []Channel
	if code := req(t, "GET", hs.URL+"/ari/channels", "ua", "", &chans); code != 200 || len(chans) != 1 || chans[0].ID != "c7" {
		t.Errorf("tenant a channels: %d %+v", code, chans)
	}
	chans = nil
	if code := req(t, "GET", hs.URL+"/ari/channels", "ub", "", &chans); code != 200 || len(chans) != 0 {
		t.Errorf("tenant b channels: %d %+v", code, chans)
	}
	for _, tc := range []struct{ method, path string }{
		{"GET", ""}, {"DELETE", ""}, {"POST", "/answer"}, {"POST", "/continue"}, {"POST", "/play?media=tone:ring"},
		{"POST", "/dtmf?dtmf=1"}, {"POST", "/mute"}, {"POST", "/hold"}, {"POST", "/moh"},
	} {
		wantError(t, tc.method, hs.URL+"/ari/channels/c7"+tc.path, "ub", "", 404, "Channel not found")
	}
	select {
	case <-c.Done():
		t.Fatal("tenant b hung up tenant a's call")
	default:
	}
	// Tenant b cannot subscribe to it either.
	dialB := func(query string) *websocket.Conn {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/ari/events?"+query,
			&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Basic dWI6cGI="}}}) // ub:pb
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ws.CloseNow() })
		return ws
	}
	dialB("app=spy")
	waitApp(t, s, "b", "spy")
	wantError(t, "POST", hs.URL+"/ari/applications/spy/subscription?eventSource=channel:c7", "ub", "", 422, "")
}

// fakeOriginator places calls that are up at once (Run is not called:
// the tests drive Stasis themselves).
type fakeOriginator struct {
	t     *testing.T
	mu    sync.Mutex
	calls []*call.Call
}

func (o *fakeOriginator) Originate(r OriginateRequest) (*call.Call, error) {
	if !strings.HasPrefix(r.Endpoint, "PJSIP/") {
		return nil, ErrEndpoint
	}
	c := call.New(context.Background(), call.Info{ID: uuid.NewString(), TenantID: r.Tenant, From: "+15550100", To: strings.TrimPrefix(r.Endpoint, "PJSIP/"),
		Outbound: true, Started: time.Now()}, call.Config{Media: fakeMedia{make(chan media.Digit, 8)}, State: call.StateUp})
	o.t.Cleanup(func() { c.Hangup(call.CauseNormal) })
	if r.Created != nil {
		r.Created(c)
	}
	o.mu.Lock()
	o.calls = append(o.calls, c)
	o.mu.Unlock()
	return c, nil
}

func TestOriginate(t *testing.T) {
	o := &fakeOriginator{t: t}
	s, hs := newResServer(t, Options{Originator: o})
	dialApp(t, s, hs, "app=hello", "hello")
	wantError(t, "POST", hs.URL+"/ari/channels?app=hello", "ua", "", 400, "")
	wantError(t, "POST", hs.URL+"/ari/channels?endpoint=PJSIP/100", "ua", "", 400, "")
	wantError(t, "POST", hs.URL+"/ari/channels?endpoint=SIP/100&app=hello", "ua", "", 400, "")
	wantError(t, "POST", hs.URL+"/ari/channels?endpoint=PJSIP/100&app=hello&timeout=x", "ua", "", 400, "")
	var ch Channel
	if code := req(t, "POST", hs.URL+"/ari/channels/o1?endpoint=PJSIP/100&app=hello", "ua", `{"variables": {"X": "1"}}`, &ch); code != 200 || ch.ID != "o1" {
		t.Fatalf("originateWithId: %d %+v", code, ch)
	}
	if !s.Hub().Subscribed("a", "hello", "channel:o1") {
		t.Error("the originating application does not follow its channel")
	}
	var v Variable
	if code := req(t, "GET", hs.URL+"/ari/channels/o1/variable?variable=X", "ua", "", &v); code != 200 || v.Value != "1" {
		t.Errorf("originate variables: %d %+v", code, v)
	}
	wantError(t, "POST", hs.URL+"/ari/channels?endpoint=PJSIP/100&app=hello&channelId=o1", "ua", "", 409, "")
	wantError(t, "POST", hs.URL+"/ari/channels?endpoint=PJSIP/100&app=hello&channelId=bad/id", "ua", "", 400, "")

	// Another tenant naming a's channel id must not get (or overwrite) it.
	t.Run("cross-tenant id", func(t *testing.T) {
		code := req(t, "POST", hs.URL+"/ari/channels?endpoint=PJSIP/200&app=spy&channelId=o1", "ub", `{"variables": {"X": "evil"}}`, &ch)
		var v Variable
		req(t, "GET", hs.URL+"/ari/channels/o1/variable?variable=X", "ua", "", &v)
		if code == 200 || v.Value != "1" {
			t.Fatalf("tenant b originating with tenant a's channel id o1: %d %+v, a's X now %q; want 409 (ari/channels.go originate checks only the caller's tenant, attach returns the existing channel of id o1 whatever its tenant)", code, ch, v.Value)
		}
	})
}

// TestStasisOnEndedCall: a call that ends as it enters Stasis: whether
// or not the application sees it, ChannelDestroyed is the channel's last
// event, after StasisEnd when there was a StasisStart.
func TestStasisOnEndedCall(t *testing.T) {
	s, hs := newResServer(t, Options{})
	ws := dialApp(t, s, hs, "app=hello&subscribeAll=true", "hello")
	for i := range 20 {
		c := newCall(t, "e"+string(rune('a'+i)), fakeMedia{make(chan media.Digit, 8)})
		c.Hangup(call.CauseCallerHangup)
		s.RunStasis(context.Background(), c, "hello", nil)
		var order []string
		destroyed := time.After(5 * time.Second)
		for settle := false; ; {
			select {
			case m := <-ws.ch:
				order = append(order, m["type"].(string))
				if m["type"] == "ChannelDestroyed" && !settle {
					settle, destroyed = true, time.After(100*time.Millisecond)
				}
				continue
			case <-destroyed:
			}
			if !settle {
				t.Fatalf("call %d: events %v, no ChannelDestroyed", i, order)
			}
			break
		}
		last := order[len(order)-1]
		start, end := slices.Index(order, "StasisStart"), slices.Index(order, "StasisEnd")
		if last != "ChannelDestroyed" || start >= 0 && (end < 0 || end > slices.Index(order, "ChannelDestroyed")) {
			t.Fatalf("call %d ended as it entered Stasis: events %v (ari/stasis.go: attach's goroutine runs ch.inStasis.Wait() as soon as the call is done, concurrently with RunStasis's ch.inStasis.Add(1), a sync.WaitGroup misuse: ChannelDestroyed can come before StasisStart)", i, order)
		}
	}
}
