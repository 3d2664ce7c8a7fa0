package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	pion "github.com/pion/webrtc/v4"
	pionmedia "github.com/pion/webrtc/v4/pkg/media"
)

// apiClient is a logged-in user of the HTTP API.
type apiClient struct {
	srv    *server
	cookie *http.Cookie
	base   string
}

func apiLogin(t testing.TB, srv *server, tenant, user, pass string) *apiClient {
	t.Helper()
	base := fmt.Sprintf("http://127.0.0.1:%d", srv.HTTPPort)
	body, _ := json.Marshal(map[string]string{"tenant": tenant, "username": user, "password": pass})
	res, err := http.Post(base+"/api/v1/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("login %s/%s: %v", tenant, user, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("login %s/%s: %s", tenant, user, res.Status)
	}
	for _, c := range res.Cookies() {
		if c.Name == "hotline_session" {
			return &apiClient{srv: srv, cookie: c, base: base}
		}
	}
	t.Fatalf("login %s/%s: no session cookie", tenant, user)
	return nil
}

// get fetches path and decodes a JSON body into v (when not nil).
func (c *apiClient) get(t testing.TB, path string, v any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.base+path, nil)
	if c != nil && c.cookie != nil {
		req.AddCookie(c.cookie)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	if v != nil && res.StatusCode == http.StatusOK {
		if err := json.NewDecoder(res.Body).Decode(v); err != nil {
			t.Fatalf("GET %s: decode: %v", path, err)
		}
	}
	return res.StatusCode
}

// deskClient is an agent's desk WebSocket as the browser page uses it.
type deskClient struct {
	t    testing.TB
	name string
	conn *websocket.Conn
	msgs chan map[string]any
	done chan struct{}
}

func wsURL(srv *server) string {
	return fmt.Sprintf("ws://127.0.0.1:%d/api/v1/agent/ws", srv.HTTPPort)
}

func dialDesk(ctx context.Context, srv *server, c *apiClient, origin string) (*websocket.Conn, *http.Response, error) {
	return dialWS(ctx, wsURL(srv), c, origin)
}

func dialWS(ctx context.Context, url string, c *apiClient, origin string) (*websocket.Conn, *http.Response, error) {
	h := http.Header{}
	if c != nil {
		h.Set("Cookie", c.cookie.String())
	}
	if origin != "" {
		h.Set("Origin", origin)
	}
	return websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: h})
}

// demoDesk logs a demo-tenant agent in (password USER-demo), opens their
// desk and waits for hello; available also makes them Available, else they
// stay on the login break.
func demoDesk(t testing.TB, srv *server, user string, available bool) *deskClient {
	t.Helper()
	d := openDesk(t, srv, apiLogin(t, srv, "demo", user, user+"-demo"), user)
	d.expect("hello", 5*time.Second, nil)
	if available {
		d.send(map[string]any{"type": "state", "state": "available"})
		d.expectState("available", 5*time.Second)
	}
	return d
}

func openDesk(t testing.TB, srv *server, c *apiClient, name string) *deskClient {
	t.Helper()
	return openWS(t, srv, wsURL(srv), c, name)
}

// openWS opens one of our WebSockets (the desk, the wallboard) as c.
func openWS(t testing.TB, srv *server, url string, c *apiClient, name string) *deskClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := dialWS(ctx, url, c, fmt.Sprintf("http://127.0.0.1:%d", srv.HTTPPort))
	if err != nil {
		t.Fatalf("%s: open desk: %v", name, err)
	}
	d := &deskClient{t: t, name: name, conn: conn, msgs: make(chan map[string]any, 256), done: make(chan struct{})}
	go func() {
		defer close(d.done)
		defer close(d.msgs)
		for {
			_, data, err := conn.Read(context.Background())
			if err != nil {
				return
			}
			var m map[string]any
			if json.Unmarshal(data, &m) != nil {
				t.Errorf("%s: server sent non-JSON %q", name, data)
				continue
			}
			d.msgs <- m
		}
	}()
	t.Cleanup(d.close)
	return d
}

func (d *deskClient) close() {
	d.conn.CloseNow()
	<-d.done
}

func (d *deskClient) send(m map[string]any) {
	d.t.Helper()
	b, _ := json.Marshal(m)
	d.sendRaw(string(b))
}

func (d *deskClient) sendRaw(s string) {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.conn.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
		d.t.Fatalf("%s: send %s: %v", d.name, s, err)
	}
}

// expect skips messages until one matches typ (and, when given, the
// predicate), failing after timeout.
func (d *deskClient) expect(typ string, timeout time.Duration, match func(map[string]any) bool) map[string]any {
	d.t.Helper()
	deadline := time.After(timeout)
	var seen []string
	for {
		select {
		case m, ok := <-d.msgs:
			if !ok {
				d.t.Fatalf("%s: socket closed while waiting for %s (seen %v)", d.name, typ, seen)
			}
			b, _ := json.Marshal(m)
			seen = append(seen, string(b))
			if m["type"] == typ && (match == nil || match(m)) {
				return m
			}
		case <-deadline:
			d.t.Fatalf("%s: no %s within %v; seen %s", d.name, typ, timeout, strings.Join(seen, "\n"))
		}
	}
}

func (d *deskClient) expectState(state string, timeout time.Duration) {
	d.t.Helper()
	d.expect("state", timeout, func(m map[string]any) bool { return m["state"] == state })
}

// fakeBrowser is a pion PeerConnection in the role of the agent's
// Chromium: it answers our offer (PCMU), sends a 1 kHz tone (or what
// play queued) and keeps what it hears.
type fakeBrowser struct {
	pc    *pion.PeerConnection
	mu    sync.Mutex
	got   []int16
	queue []int16 // played before the tone resumes
	stop  context.CancelFunc
	wg    sync.WaitGroup
}

func newFakeBrowser(t testing.TB) *fakeBrowser { return newFakeBrowserTone(t, 1000) }

// newFakeBrowserMic is a fake browser whose microphone is silent but for
// the speech queued with play: an agent who only talks when told to.
func newFakeBrowserMic(t testing.TB) *fakeBrowser { return newFakeBrowserTone(t, 0) }

// newFakeBrowserTone is a fake browser whose microphone plays freq.
func newFakeBrowserTone(t testing.TB, freq float64) *fakeBrowser {
	t.Helper()
	var me pion.MediaEngine
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	var se pion.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	api := pion.NewAPI(pion.WithMediaEngine(&me), pion.WithSettingEngine(se), pion.WithInterceptorRegistry(&interceptor.Registry{}))
	pc, err := api.NewPeerConnection(pion.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	b := &fakeBrowser{pc: pc}
	track, err := pion.NewTrackLocalStaticSample(pion.RTPCodecCapability{MimeType: pion.MimeTypePCMU, ClockRate: 8000, Channels: 1}, "mic", "agent")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTrack(track); err != nil {
		t.Fatal(err)
	}
	pc.OnTrack(func(tr *pion.TrackRemote, _ *pion.RTPReceiver) {
		buf := make([]byte, 1500)
		var h rtp.Header
		for {
			n, _, err := tr.Read(buf)
			if err != nil {
				return
			}
			hl, err := h.Unmarshal(buf[:n])
			if err != nil {
				continue
			}
			b.mu.Lock()
			for _, x := range buf[hl:n] {
				b.got = append(b.got, ulawDecode(x))
			}
			if len(b.got) > 80000 {
				b.got = append(b.got[:0], b.got[len(b.got)-16000:]...)
			}
			b.mu.Unlock()
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	b.stop = cancel
	b.wg.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			frame := ulawTone(freq, 160, i*160)
			b.mu.Lock()
			for j := 0; j < len(frame) && len(b.queue) > 0; j++ {
				frame[j], b.queue = ulawEncode(b.queue[0]), b.queue[1:]
			}
			b.mu.Unlock()
			_ = track.WriteSample(pionmedia.Sample{Data: frame, Duration: 20 * time.Millisecond})
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	})
	t.Cleanup(func() {
		b.stop()
		b.wg.Wait()
		b.pc.Close()
	})
	return b
}

// play queues pcm on the microphone, sent in real time in place of the
// tone.
func (b *fakeBrowser) play(pcm []int16) {
	b.mu.Lock()
	b.queue = append(b.queue, pcm...)
	b.mu.Unlock()
}

// answer takes our offer and returns the browser's answer with its
// candidates (no trickle).
func (b *fakeBrowser) answer(t testing.TB, offer string) string {
	t.Helper()
	if !strings.Contains(offer, "PCMU/8000") {
		t.Fatalf("offer without PCMU:\n%s", offer)
	}
	if err := b.pc.SetRemoteDescription(pion.SessionDescription{Type: pion.SDPTypeOffer, SDP: offer}); err != nil {
		t.Fatal(err)
	}
	ans, err := b.pc.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := pion.GatheringCompletePromise(b.pc)
	if err := b.pc.SetLocalDescription(ans); err != nil {
		t.Fatal(err)
	}
	<-gathered
	return b.pc.LocalDescription().SDP
}

// recent waits for n fresh samples and returns them.
func (b *fakeBrowser) recent(t testing.TB, n int, timeout time.Duration) []int16 {
	t.Helper()
	b.mu.Lock()
	b.got = b.got[:0]
	b.mu.Unlock()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		b.mu.Lock()
		if len(b.got) >= n {
			out := append([]int16(nil), b.got[len(b.got)-n:]...)
			b.mu.Unlock()
			return out
		}
		b.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("browser: fewer than %d samples within %v", n, timeout)
	return nil
}

// callerRecent waits for n fresh samples at the SIP caller's RTP socket.
func callerRecent(t testing.TB, ua *sipUA, n int, timeout time.Duration) []int16 {
	t.Helper()
	start, _ := ua.RTP.Received()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		rec, _ := ua.RTP.Received()
		if len(rec) >= len(start)+n {
			return rec[len(rec)-n:]
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("caller: fewer than %d new samples within %v", n, timeout)
	return nil
}

// toneAmp is the amplitude of freq in x (Goertzel; a sine of amplitude A
// gives about A).
func toneAmp(x []int16, freq float64) float64 {
	w := 2 * math.Pi * freq / sampleRate
	c := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range x {
		s1, s2 = float64(v)+c*s1-s2, s1
	}
	p := s1*s1 + s2*s2 - c*s1*s2
	return 2 * math.Sqrt(math.Max(p, 0)) / float64(len(x))
}

// wantTone checks that want is strong in x and dominates the others.
func wantTone(t testing.TB, what string, x []int16, want float64, others ...float64) float64 {
	t.Helper()
	a := toneAmp(x, want)
	if a < 1500 {
		t.Fatalf("%s: %v Hz amplitude %.0f, want a tone", what, want, a)
	}
	for _, f := range others {
		if o := toneAmp(x, f); o*5 > a {
			t.Fatalf("%s: %v Hz amplitude %.0f not dominant over %v Hz (%.0f)", what, want, a, f, o)
		}
	}
	t.Logf("%s: %v Hz amplitude %.0f", what, want, a)
	return a
}

// callerHearsTone waits (up to 10 s) for the caller to hear a tone at
// want: right after "connected" the agent's first packets may still be on
// their way, more so on a loaded machine.
func callerHearsTone(t testing.TB, what string, ua *sipUA, want float64, others ...float64) float64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		x := callerRecent(t, ua, 4000, 10*time.Second)
		if toneAmp(x, want) >= 1500 || time.Now().After(deadline) {
			return wantTone(t, what, x, want, others...)
		}
	}
}

func rms(x []int16) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(max(len(x), 1)))
}

func ulawTone(freq float64, n, offset int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = ulawEncode(int16(8000 * math.Sin(2*math.Pi*freq*float64(offset+i)/sampleRate)))
	}
	return b
}

func pcmSine(freq float64, d time.Duration) []int16 {
	n := int(d.Seconds() * sampleRate)
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(8000 * math.Sin(2*math.Pi*freq*float64(i)/sampleRate))
	}
	return s
}

// agentCall is a demo call answered by an agent through a fake browser.
type agentCall struct {
	ua      *sipUA       // the caller, sending 440 Hz
	agent   *deskClient  // the agent's desk
	browser *fakeBrowser // the agent's browser, sending 1 kHz
	id      string       // the call's id
	talk    float64      // the agent's tone level at the caller
	// connected is when the agent's desk said "connected": the bridge,
	// and the call's recording, start then.
	connected time.Time
}

// answerCall places a demo call to the general queue and has agent (at
// their desk and available) answer it, then waits until the two hear each
// other.
func answerCall(t testing.TB, srv *server, agent *deskClient) agentCall {
	t.Helper()
	c := agentCall{ua: queueCall(t, srv), agent: agent}
	offer := agent.expect("offer", 20*time.Second, nil)
	c.id, _ = offer["call"].(string)
	c.browser = pickUp(t, agent, c.id)
	c.connected = time.Now()
	wantTone(t, agent.name+" hears the caller", c.browser.recent(t, 4000, 10*time.Second), 440, 1000)
	c.talk = callerHearsTone(t, "the caller hears "+agent.name, c.ua, 1000, 440)
	return c
}

// pickUp has agent answer the offered call id through a fake browser
// (sending 1 kHz) and returns the browser once the desk says connected.
func pickUp(t testing.TB, agent *deskClient, id string) *fakeBrowser {
	t.Helper()
	agent.send(map[string]any{"type": "answer", "call": id})
	wo := agent.expect("webrtc_offer", 10*time.Second, nil)
	b := newFakeBrowser(t)
	agent.send(map[string]any{"type": "webrtc_answer", "call": id, "sdp": b.answer(t, wo["sdp"].(string))})
	agent.expect("connected", 10*time.Second, nil)
	return b
}

// queueCall places a demo call that presses 0 (the general queue) while
// sending a 440 Hz tone.
func queueCall(t testing.TB, srv *server) *sipUA {
	t.Helper()
	return queueCallFrom(t, srv, "")
}

// queueCallFrom is queueCall from the number from ("" keeps newUA's):
// the number picks the caller's region and CRM record.
func queueCallFrom(t testing.TB, srv *server, from string) *sipUA {
	t.Helper()
	ua := dialDemo(t, srv, from, pcmSine(440, 90*time.Second))
	ua.RTP.SendDigit('0')
	return ua
}

// dialDemo calls the demo number from from ("" keeps newUA's), sending
// play (silence when nil) from the start, and returns once the main
// menu is open for a key.
func dialDemo(t testing.TB, srv *server, from string, play []int16) *sipUA {
	t.Helper()
	ua := newUA(t, srv)
	if from != "" {
		ua.From = from
	}
	srv.report(t, ua.CallID)
	if res := ua.Invite(demoNumber, ua.offer(true, "sendrecv")); res.Code != 200 {
		t.Fatalf("INVITE: %s, want 200", res)
	}
	ua.Ack(demoNumber)
	ua.RTP.Play(play)
	ua.RTP.Start()
	time.Sleep(menuOpens(t))
	return ua
}
