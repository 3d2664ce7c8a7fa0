package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	ari "github.com/CyCoreSystems/ari/v5"
	"github.com/CyCoreSystems/ari/v5/client/native"
)

const ariNumber = "+15550101" // demo: straight to application "hello"

// ariFlowNumber runs ariFlow, which hands the call to "hello" in a step.
const ariFlowNumber = "+15550109"

const ariFlow = `tenant: demo
start: to_app
steps:
  to_app:
    stasis: {app: hello, args: ["${caller}", flow], next: after_app, failed: goodbye}
  after_app:
    play: account_thanks
    next: to_absent
  labelled:
    play: lost_card
    next: to_absent
  to_absent:
    stasis: {app: absent, failed: goodbye}
  goodbye:
    play: goodbye
    next: hangup
  hangup:
    hangup: {cause: normal}
`

// ariEvents collects every event an application receives, in order.
type ariEvents struct {
	mu  sync.Mutex
	all []ari.Event
	sub ari.Subscription
}

func collectARI(cl ari.Client) *ariEvents {
	e := &ariEvents{sub: cl.Bus().Subscribe(nil, ari.Events.All)}
	go func() {
		for ev := range e.sub.Events() {
			e.mu.Lock()
			e.all = append(e.all, ev)
			e.mu.Unlock()
		}
	}()
	return e
}

// wait returns the first event (from index from on) that matches.
func (e *ariEvents) wait(t *testing.T, what string, timeout time.Duration, match func(ari.Event) bool) ari.Event {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		e.mu.Lock()
		for _, ev := range e.all {
			if match(ev) {
				e.mu.Unlock()
				return ev
			}
		}
		e.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %s within %v; events: %s", what, timeout, e.types(""))
	return nil
}

// channelOf is the channel an event is about ("" for none): the
// library's Keys() also lists every member of an event's bridge.
func channelOf(ev ari.Event) string {
	switch x := ev.(type) {
	case *ari.StasisStart:
		return x.Channel.ID
	case *ari.StasisEnd:
		return x.Channel.ID
	case *ari.ChannelStateChange:
		return x.Channel.ID
	case *ari.ChannelDtmfReceived:
		return x.Channel.ID
	case *ari.ChannelHangupRequest:
		return x.Channel.ID
	case *ari.ChannelDestroyed:
		return x.Channel.ID
	case *ari.ChannelEnteredBridge:
		return x.Channel.ID
	case *ari.ChannelLeftBridge:
		return x.Channel.ID
	case *ari.ChannelVarset:
		return x.Channel.ID
	case *ari.PlaybackStarted:
		return strings.TrimPrefix(x.Playback.TargetURI, "channel:")
	case *ari.PlaybackFinished:
		return strings.TrimPrefix(x.Playback.TargetURI, "channel:")
	}
	return ""
}

// types lists the event types seen about channel id ("" for all).
func (e *ariEvents) types(channel string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, ev := range e.all {
		if channel == "" || channelOf(ev) == channel {
			s := ev.GetType()
			switch x := ev.(type) {
			case *ari.ChannelStateChange:
				s += "(" + x.Channel.State + ")"
			case *ari.ChannelDtmfReceived:
				s += "(" + x.Digit + ")"
			}
			out = append(out, s)
		}
	}
	return strings.Join(out, " ")
}

// channels are the ids of the channels that had an event of type typ.
func (e *ariEvents) channels(typ string) map[string]bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[string]bool{}
	for _, ev := range e.all {
		if ev.GetType() == typ {
			out[channelOf(ev)] = true
		}
	}
	return out
}

func isType(typ string) func(ari.Event) bool {
	return func(ev ari.Event) bool { return ev.GetType() == typ }
}

func forChannel(typ, id string) func(ari.Event) bool {
	return func(ev ari.Event) bool { return ev.GetType() == typ && channelOf(ev) == id }
}

// connectARI connects the unmodified native client as the demo tenant.
func connectARI(t *testing.T, s *server, app string) ari.Client {
	t.Helper()
	var cl ari.Client
	var err error
	done := make(chan struct{})
	go func() { // native.Connect retries forever on failure; bound it
		defer close(done)
		cl, err = native.Connect(&native.Options{
			Application:  app,
			Username:     "demo",
			Password:     "demo-ari",
			URL:          fmt.Sprintf("http://127.0.0.1:%d/ari", s.HTTPPort),
			WebsocketURL: fmt.Sprintf("ws://127.0.0.1:%d/ari/events", s.HTTPPort),
		})
	}()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatalf("native.Connect did not return; server log:\n%s", s.log)
	}
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	// No cl.Close(): v5.3.1's Close races with its own listener (see
	// TestARIFoundation).
	return cl
}

// sippUAS runs SIPp's built-in UAS for one call, echoing the RTP it gets
// (-rtp_echo): what the bridge sends it comes back.
type sippUAS struct {
	Port int
	done chan struct{}
	err  error
	out  strings.Builder
	msgs string
}

func startSIPpUAS(t *testing.T) *sippUAS {
	t.Helper()
	needSIPp(t)
	u := &sippUAS{Port: allocPorts(t, 1, false), done: make(chan struct{})}
	mediaPort := allocPorts(t, 4, false)
	dir := t.TempDir()
	msgFile := filepath.Join(dir, "messages.log")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	cmd := exec.CommandContext(ctx, "sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", fmt.Sprint(u.Port),
		"-mi", "127.0.0.1", "-mp", fmt.Sprint(mediaPort), "-rtp_echo", "-m", "1", "-nostdin",
		"-timeout", "80s", "-timeout_error", "-trace_msg", "-message_file", msgFile)
	cmd.Dir = dir
	cmd.Stdout = &u.out
	cmd.Stderr = &u.out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start sipp uas: %v", err)
	}
	go func() {
		defer cancel()
		u.err = cmd.Wait()
		if b, err := os.ReadFile(msgFile); err == nil {
			u.msgs = string(b)
		}
		close(u.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-u.done
	})
	time.Sleep(300 * time.Millisecond) // SIPp binds its socket
	return u
}

// answeredCaller places a call from the Go UA to the ARI number, waits for
// its StasisStart, and has the application answer it (the UA ACKs).
func answeredCaller(t *testing.T, s *server, cl ari.Client, ev *ariEvents) (*sipUA, *ari.ChannelHandle) {
	t.Helper()
	ua := newUA(t, s)
	s.report(t, ua.CallID)
	inv := make(chan *sipMsg, 1)
	go func() { inv <- ua.Invite(ariNumber, ua.offer(true, "sendrecv")) }()
	start := ev.wait(t, "StasisStart of the caller", 15*time.Second, func(e ari.Event) bool {
		x, ok := e.(*ari.StasisStart)
		return ok && x.Channel.Caller.Number == ua.From
	}).(*ari.StasisStart)
	h := cl.Channel().Get(ari.NewKey(ari.ChannelKey, start.Channel.ID))
	if err := h.Answer(); err != nil {
		t.Fatalf("answer: %v", err)
	}
	if r := <-inv; r.Code != 200 {
		t.Fatalf("INVITE: %s", r)
	}
	ua.Ack(ariNumber)
	return ua, h
}

// ariGet does an authenticated GET below /ari.
func ariGet(t *testing.T, s *server, path string) (int, []byte) {
	return ariDo(t, s, "GET", path)
}

// ariPost does an authenticated POST below /ari.
func ariPost(t *testing.T, s *server, path string) (int, []byte) {
	return ariDo(t, s, "POST", path)
}

func ariDo(t *testing.T, s *server, method, path string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, fmt.Sprintf("http://127.0.0.1:%d/ari%s", s.HTTPPort, path), nil)
	req.SetBasicAuth("demo", "demo-ari")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestARICall drives calls from an unmodified ARI application
// (CyCoreSystems/ari/v5): a SIPp caller dials the demo's ARI number, the
// application answers, plays sound:hello-world, gets the caller's RFC 4733
// keys and hangs up; then a caller is bridged with a call the application
// originates to a SIPp UAS, audio goes both ways through the bridge, the
// bridge is recorded, and everyone is hung up. Events arrive in Asterisk's
// order.
func TestARICall(t *testing.T) {
	needSIPp(t)
	uas, uas2 := startSIPpUAS(t), startSIPpUAS(t)
	s := startServer(t, serverOptions{Name: "ari-call", Edit: func(t testing.TB, cfg map[string]any) {
		demo := cfg["tenants"].([]any)[0].(map[string]any)
		trunks := demo["trunks"].(map[string]any)
		trunks["outbound"] = []any{map[string]any{"name": "uas", "address": fmt.Sprintf("127.0.0.1:%d", uas.Port)},
			map[string]any{"name": "uas2", "address": fmt.Sprintf("127.0.0.1:%d", uas2.Port)}}
		// acme gets an ARI user of its own, to show it sees nothing of demo's.
		// A flow with stasis steps: the application gives the call back
		// to the flow, then a second application that is not connected
		// fails over.
		flow := filepath.Join(t.TempDir(), "ari-flow.yaml")
		if err := os.WriteFile(flow, []byte(ariFlow), 0o644); err != nil {
			t.Fatal(err)
		}
		demo["flows"].(map[string]any)["ari"] = flow
		demo["numbers"] = append(demo["numbers"].([]any), map[string]any{"number": ariFlowNumber, "flow": "ari"})
		acme := cfg["tenants"].([]any)[1].(map[string]any)
		acme["ari"] = map[string]any{"users": []any{map[string]any{"username": "acme", "password": "acme-ari"}}}
	}})

	// Nobody connected: the number's caller is turned away.
	res := s.runSIPp(t, sippRun{Scenario: "reject.xml", Service: ariNumber,
		Data: map[string]any{"Formats": "0 101", "Attrs": offerPCMUEvents, "Code": 480}})
	if res.ExitCode != 0 {
		t.Fatalf("a call to %s without application was not refused with 480:\n%s", ariNumber, res)
	}

	cl := connectARI(t, s, "hello")
	ev := collectARI(cl)

	t.Run("answer play dtmf hangup", func(t *testing.T) {
		key1, keyHash := dtmfCaptureFile('1'), dtmfCaptureFile('#')
		sippDone := make(chan *sippResult, 1)
		go func() {
			d := uacData("0 101", offerPCMUEvents, 0,
				pauseFor(2500*time.Millisecond), playPcap(key1), pauseFor(800*time.Millisecond), playPcap(keyHash))
			d["ServerHangsUp"] = true
			d["ByeTimeout"] = 30000
			sippDone <- s.runSIPp(t, sippRun{Scenario: "uac.xml", Service: ariNumber, Data: d})
		}()
		start := ev.wait(t, "StasisStart", 15*time.Second, isType("StasisStart")).(*ari.StasisStart)
		id := start.Channel.ID
		if start.Channel.State != "Ring" || strings.Join(start.Args, ",") != "demo" || start.Channel.Dialplan.Exten != ariNumber {
			t.Errorf("StasisStart = %+v", start)
		}
		h := cl.Channel().Get(ari.NewKey(ari.ChannelKey, id))
		if err := h.Answer(); err != nil {
			t.Fatalf("answer: %v", err)
		}
		ev.wait(t, "ChannelStateChange Up", 5*time.Second, func(e ari.Event) bool {
			x, ok := e.(*ari.ChannelStateChange)
			return ok && x.Channel.ID == id && x.Channel.State == "Up"
		})
		// Bad requests get Asterisk's answers, and the call goes on.
		base := fmt.Sprintf("http://127.0.0.1:%d/ari", s.HTTPPort)
		for _, c := range []struct {
			user, method, path, body string
			code                     int
			msg                      string
		}{
			{"demo", "POST", "/channels/" + id + "/play", `{"media": "sound:hello-world"`, 400, "Invalid JSON body"},
			{"demo", "POST", "/channels/" + id + "/play?media=video:cat", "", 400, ""},
			{"demo", "POST", "/channels/" + id + "/dtmf", "", 400, "DTMF is required"},
			{"demo", "POST", "/channels/" + id + "/mute?direction=sideways", "", 400, "Invalid direction specified"},
			{"demo", "DELETE", "/channels/" + id + "?reason=tired", "", 400, "Invalid reason for hangup provided"},
			{"demo", "POST", "/channels/nosuchchannel/answer", "", 404, "Channel not found"},
			{"demo", "GET", "/playbacks/nosuchplayback", "", 404, "Playback not found"},
			{"demo", "POST", "/bridges/nosuchbridge/addChannel?channel=" + id, "", 404, "Bridge not found"},
			{"demo", "POST", "/bridges/nosuchbridge/addChannel", "", 400, "Missing parameter channel"},
			{"wrong", "GET", "/channels/" + id, "", 401, "Authentication required"},
			{"acme", "GET", "/channels/" + id, "", 404, "Channel not found"},
			{"acme", "DELETE", "/channels/" + id, "", 404, "Channel not found"},
			{"acme", "POST", "/channels/" + id + "/play?media=sound:hello-world", "", 404, "Channel not found"},
		} {
			req, _ := http.NewRequest(c.method, base+c.path, strings.NewReader(c.body))
			if c.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			req.SetBasicAuth(c.user, c.user+"-ari")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body struct{ Message string }
			json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if resp.StatusCode != c.code || c.msg != "" && body.Message != c.msg || body.Message == "" {
				t.Errorf("%s %s %s as %s: %d %q, want %d %q", c.method, c.path, c.body, c.user, resp.StatusCode, body.Message, c.code, c.msg)
			}
		}
		var acmeList []any
		req, _ := http.NewRequest("GET", base+"/channels", nil)
		req.SetBasicAuth("acme", "acme-ari")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			json.NewDecoder(resp.Body).Decode(&acmeList)
			resp.Body.Close()
		}
		if len(acmeList) != 0 {
			t.Errorf("acme's channel list shows demo's calls: %v", acmeList)
		}
		if _, err := h.Play("hello-pb", "sound:hello-world"); err != nil {
			t.Fatalf("play: %v", err)
		}
		fin := ev.wait(t, "PlaybackFinished", 10*time.Second, isType("PlaybackFinished")).(*ari.PlaybackFinished)
		if fin.Playback.State != "done" || fin.Playback.MediaURI != "sound:hello-world" {
			t.Errorf("PlaybackFinished = %+v", fin.Playback)
		}
		ev.wait(t, "ChannelDtmfReceived #", 15*time.Second, func(e ari.Event) bool {
			x, ok := e.(*ari.ChannelDtmfReceived)
			return ok && x.Digit == "#"
		})
		if err := h.Hangup(); err != nil {
			t.Fatalf("hangup: %v", err)
		}
		ev.wait(t, "ChannelDestroyed", 10*time.Second, forChannel("ChannelDestroyed", id))
		if r := <-sippDone; r.ExitCode != 0 {
			t.Fatalf("SIPp caller:\n%s", r)
		}
		want := "StasisStart ChannelStateChange(Up) PlaybackStarted PlaybackFinished ChannelDtmfReceived(1) ChannelDtmfReceived(#) ChannelHangupRequest StasisEnd ChannelDestroyed"
		if got := ev.types(id); got != want {
			t.Errorf("events of the caller's channel:\n got %s\nwant %s", got, want)
		}
	})

	t.Run("originate bridge record", func(t *testing.T) {
		ua, caller := answeredCaller(t, s, cl, ev)
		callerID := caller.ID()
		ua.RTP.Play(pcmSine(440, 60*time.Second))
		ua.RTP.Start()

		out, err := cl.Channel().Originate(nil, ari.OriginateRequest{Endpoint: "PJSIP/+15557654321@uas", App: "hello", AppArgs: "outbound", CallerID: "+15550101"})
		if err != nil {
			t.Fatalf("originate: %v", err)
		}
		outID := out.ID()
		ev.wait(t, "StasisStart of the originated call", 15*time.Second, forChannel("StasisStart", outID))

		br, err := cl.Bridge().Create(ari.NewKey(ari.BridgeKey, "b-"+randHex(4)), "mixing", "talk")
		if err != nil {
			t.Fatalf("bridge create: %v", err)
		}
		for _, id := range []string{callerID, outID} {
			if err := br.AddChannel(id); err != nil {
				t.Fatalf("add %s: %v", id, err)
			}
		}
		rec, err := br.Record("ari-e2e-"+randHex(4), &ari.RecordingOptions{Format: "wav"})
		if err != nil {
			t.Fatalf("record: %v", err)
		}
		// The caller's 440 Hz goes through the bridge to the SIPp leg,
		// which echoes it back: hearing it proves both directions of the
		// originated leg (the mixer never returns a caller's own voice).
		callerHearsTone(t, "the caller hears its tone echoed through the originated leg", ua, 440)
		time.Sleep(time.Second)
		if err := rec.Stop(); err != nil {
			t.Fatalf("stop recording: %v", err)
		}
		ev.wait(t, "RecordingFinished", 5*time.Second, isType("RecordingFinished"))
		code, wav := ariGet(t, s, "/recordings/stored/"+rec.ID()+"/file")
		if code != 200 {
			t.Fatalf("recording file: %d %s", code, wav)
		}
		path := filepath.Join(t.TempDir(), "rec.wav")
		os.WriteFile(path, wav, 0o600)
		pcm, _, err := readWAV(path)
		if err != nil || len(pcm) < 8000 {
			t.Fatalf("recording: %d samples, %v", len(pcm), err)
		}
		wantTone(t, "the bridge recording", pcm[len(pcm)-8000:], 440)

		if err := br.Delete(); err != nil {
			t.Fatalf("bridge delete: %v", err)
		}
		for _, id := range []string{callerID, outID} {
			if err := cl.Channel().Hangup(ari.NewKey(ari.ChannelKey, id), "normal"); err != nil {
				t.Errorf("hangup %s: %v", id, err)
			}
			ev.wait(t, "ChannelDestroyed", 10*time.Second, forChannel("ChannelDestroyed", id))
		}
		if _, ok := ua.WaitBye(10 * time.Second); !ok {
			t.Errorf("the caller got no BYE")
		}
		select {
		case <-uas.done:
			if uas.err != nil {
				t.Errorf("SIPp UAS: %v\n%s\n%s", uas.err, uas.out.String(), tailLines(uas.msgs, 80))
			}
		case <-time.After(10 * time.Second):
			t.Errorf("SIPp UAS did not finish its call")
		}
		wantCaller := "StasisStart ChannelStateChange(Up) ChannelEnteredBridge ChannelLeftBridge ChannelHangupRequest StasisEnd ChannelDestroyed"
		if got := ev.types(callerID); got != wantCaller {
			t.Errorf("events of the caller's channel:\n got %s\nwant %s", got, wantCaller)
		}
		// SIPp's UAS sends 180 and 200 back to back; sipgo may hand us the
		// 200 first, and a late 180 does not take an answered call back to
		// Ringing: the Ringing step is there when the 180 came first.
		wantOut := "ChannelStateChange(Up) StasisStart ChannelEnteredBridge ChannelLeftBridge ChannelHangupRequest StasisEnd ChannelDestroyed"
		if got := strings.TrimPrefix(ev.types(outID), "ChannelStateChange(Ringing) "); got != wantOut {
			t.Errorf("events of the originated channel:\n got %s\nwant %s", got, wantOut)
		}
	})

	t.Run("snoop listen and whisper", func(t *testing.T) {
		ua, caller := answeredCaller(t, s, cl, ev)
		ua.RTP.Play(pcmSine(440, 60*time.Second))
		ua.RTP.Start()
		// Alone in the application, the caller hears nothing (no audio is
		// sent at all).
		before, _ := ua.RTP.Received()
		time.Sleep(time.Second)
		if got, _ := ua.RTP.Received(); len(got) > len(before) && toneAmp(got[len(before):], 440) > 300 {
			t.Fatalf("the caller hears 440 Hz before any snoop")
		}

		// A supervisor's line (the SIPp UAS, which echoes what it hears)
		// listens to the caller and whispers back: the caller hears its own
		// tone only through the snoop (spy in, whisper out).
		snoop, err := caller.Snoop("snoop-"+randHex(4), &ari.SnoopOptions{App: "hello", Spy: ari.DirectionIn, Whisper: ari.DirectionOut})
		if err != nil {
			t.Fatalf("snoop: %v", err)
		}
		ev.wait(t, "StasisStart of the snoop", 10*time.Second, forChannel("StasisStart", snoop.ID()))
		sup, err := cl.Channel().Originate(nil, ari.OriginateRequest{Endpoint: "PJSIP/+15557650000@uas2", App: "hello", CallerID: "+15550101"})
		if err != nil {
			t.Fatalf("originate: %v", err)
		}
		ev.wait(t, "StasisStart of the supervisor's line", 15*time.Second, forChannel("StasisStart", sup.ID()))
		br, err := cl.Bridge().Create(ari.NewKey(ari.BridgeKey, "snoop-"+randHex(4)), "mixing", "coach")
		if err != nil {
			t.Fatalf("bridge: %v", err)
		}
		for _, id := range []string{snoop.ID(), sup.ID()} {
			if err := br.AddChannel(id); err != nil {
				t.Fatalf("add %s: %v", id, err)
			}
		}
		callerHearsTone(t, "the caller hears the whisper (its tone, spied and echoed by the supervisor's line)", ua, 440)

		// The caller hangs up: the snoop goes with it.
		if code := ua.Bye(ariNumber); code != 200 {
			t.Errorf("BYE: %d", code)
		}
		ev.wait(t, "ChannelDestroyed of the snoop", 10*time.Second, forChannel("ChannelDestroyed", snoop.ID()))
		if err := sup.Hangup(); err != nil {
			t.Errorf("hangup supervisor line: %v", err)
		}
		ev.wait(t, "ChannelDestroyed of the supervisor's line", 10*time.Second, forChannel("ChannelDestroyed", sup.ID()))
		br.Delete()
	})

	t.Run("redirect", func(t *testing.T) {
		// Unanswered: the caller gets a 302 to the trunk's address.
		before := ev.channels("StasisStart")
		done := make(chan *sippResult, 1)
		go func() {
			done <- s.runSIPp(t, sippRun{Scenario: "reject.xml", Service: ariNumber,
				Data: map[string]any{"Formats": "0 101", "Attrs": offerPCMUEvents, "Code": 302}})
		}()
		start := ev.wait(t, "StasisStart of the SIPp caller", 15*time.Second, func(e ari.Event) bool {
			x, ok := e.(*ari.StasisStart)
			return ok && x.Channel.Caller.Number == "+15557001234" && !before[x.Channel.ID]
		}).(*ari.StasisStart)
		// ari/v5 has no redirect: the plain REST call.
		if code, body := ariPost(t, s, "/channels/"+start.Channel.ID+"/redirect?endpoint=PJSIP/%2B15559876@uas"); code != 204 {
			t.Fatalf("redirect: %d %s", code, body)
		}
		r := <-done
		if r.ExitCode != 0 || !strings.Contains(r.Messages, fmt.Sprintf("Contact: <sip:+15559876@127.0.0.1:%d>", uas.Port)) {
			t.Fatalf("the caller did not get a 302 to the trunk:\n%s", r)
		}
		ev.wait(t, "ChannelDestroyed", 10*time.Second, forChannel("ChannelDestroyed", start.Channel.ID))

		// Answered: a REFER (blind transfer), then our leg ends.
		ua, h := answeredCaller(t, s, cl, ev)
		if code, body := ariPost(t, s, "/channels/"+h.ID()+"/redirect?endpoint=PJSIP/%2B15559876@uas"); code != 204 {
			t.Fatalf("redirect (REFER): %d %s", code, body)
		}
		if _, ok := ua.WaitBye(10 * time.Second); !ok {
			t.Fatalf("no BYE after the accepted REFER")
		}
		if refers := ua.Received("REFER"); len(refers) == 0 || refers[0].Header("Refer-To") != fmt.Sprintf("<sip:+15559876@127.0.0.1:%d>", uas.Port) {
			t.Errorf("REFERs received: %v, want one to the trunk", refers)
		}
		destroyed := ev.wait(t, "ChannelDestroyed", 10*time.Second, forChannel("ChannelDestroyed", h.ID())).(*ari.ChannelDestroyed)
		if destroyed.Cause != 23 {
			t.Errorf("ChannelDestroyed cause %d, want 23 (redirected)", destroyed.Cause)
		}
	})

	t.Run("stasis step continues the flow", func(t *testing.T) {
		ua := newUA(t, s)
		s.report(t, ua.CallID)
		if r := ua.Invite(ariFlowNumber, ua.offer(true, "sendrecv")); r.Code != 200 {
			t.Fatalf("INVITE: %s", r)
		}
		ua.Ack(ariFlowNumber)
		ua.RTP.Start()
		start := ev.wait(t, "StasisStart from the flow", 15*time.Second, func(e ari.Event) bool {
			x, ok := e.(*ari.StasisStart)
			return ok && x.Channel.Caller.Number == ua.From
		}).(*ari.StasisStart)
		id := start.Channel.ID
		if start.Channel.State != "Up" || strings.Join(start.Args, ",") != ua.From+",flow" {
			t.Errorf("StasisStart = %+v (the flow answered the call; args from the step)", start)
		}
		h := cl.Channel().Get(ari.NewKey(ari.ChannelKey, id))
		if err := h.SetVariable("CHOICE", "lost"); err != nil {
			t.Fatalf("set variable: %v", err)
		}
		if v, err := h.GetVariable("CHOICE"); err != nil || v != "lost" {
			t.Errorf("variable CHOICE = %q, %v", v, err)
		}
		// Back to the flow, at the step the label names.
		if code, body := ariPost(t, s, "/channels/"+id+"/continue?label=labelled"); code != 204 {
			t.Fatalf("continue: %d %s", code, body)
		}
		ev.wait(t, "StasisEnd", 5*time.Second, forChannel("StasisEnd", id))
		// Out of the application: its REST calls are refused, the call goes on.
		if code, body := ariPost(t, s, "/channels/"+id+"/answer"); code != 409 || !strings.Contains(string(body), "not in Stasis") {
			t.Errorf("answer outside Stasis: %d %s, want 409", code, body)
		}
		if _, ok := ua.WaitBye(30 * time.Second); !ok {
			t.Fatalf("the flow did not end the call")
		}
		c := s.findCall(t, ua.CallID, true, 10*time.Second)
		var path []string
		for _, e := range s.settledEvents(t, c) {
			switch e.Kind {
			case "stasis", "stasis_end":
				path = append(path, e.Kind+":"+e.Data["app"]+":"+e.Data["status"]+":"+e.Data["next"])
			case "prompt":
				path = append(path, "play:"+e.Data["prompt"])
			}
		}
		want := "stasis:hello:: stasis_end:hello:SUCCESS:labelled play:lost_card stasis:absent:: stasis_end:absent:FAILED:goodbye play:goodbye"
		if got := strings.Join(path, " "); got != want {
			t.Errorf("the flow's path:\n got %s\nwant %s", got, want)
		}
		if got := ev.types(id); got != "StasisStart ChannelVarset StasisEnd" {
			t.Errorf("events of the channel: %s", got)
		}
	})
}
