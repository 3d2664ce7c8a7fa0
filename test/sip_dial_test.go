package e2e

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hotline/call"
	"hotline/media"
	"hotline/sip"
)

// Outbound calls (sip.Server.Dial) and deferred answer (Route.DeferAnswer)
// against SIPp. The binary has no API that places calls yet (ARI originate
// comes next), so these run the sip.Server in the test process, on real
// sockets and a real media engine, with SIPp as the far end.

// dialRecorder keeps each call's CDR rows.
type dialRecorder struct {
	mu       sync.Mutex
	started  map[string]call.Info
	answered map[string]time.Time
	ended    map[string]sip.End
	changed  chan struct{}
}

func newDialRecorder() *dialRecorder {
	return &dialRecorder{started: map[string]call.Info{}, answered: map[string]time.Time{}, ended: map[string]sip.End{}, changed: make(chan struct{}, 1)}
}

func (r *dialRecorder) CallEvent(call.Event) {}
func (r *dialRecorder) CallStarted(i call.Info) {
	r.mu.Lock()
	r.started[i.ID] = i
	r.mu.Unlock()
}
func (r *dialRecorder) CallAnswered(id string, at time.Time) {
	r.mu.Lock()
	r.answered[id] = at
	r.mu.Unlock()
}
func (r *dialRecorder) CallEnded(c *call.Call, e sip.End) {
	r.mu.Lock()
	r.ended[c.ID] = e
	r.mu.Unlock()
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// end waits for the call's CDR end row.
func (r *dialRecorder) end(t *testing.T, id string, timeout time.Duration) sip.End {
	t.Helper()
	deadline := time.After(timeout)
	for {
		r.mu.Lock()
		e, ok := r.ended[id]
		r.mu.Unlock()
		if ok {
			return e
		}
		select {
		case <-r.changed:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("call %s: no CDR end within %v", id, timeout)
		}
	}
}

// anyEnd waits for the first CDR end row (inbound calls, whose id the
// test does not know).
func (r *dialRecorder) anyEnd(t *testing.T, timeout time.Duration) (string, sip.End) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		for id, e := range r.ended {
			r.mu.Unlock()
			return id, e
		}
		r.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no CDR end within %v", timeout)
	return "", sip.End{}
}

type dialRouterFunc func(src netip.Addr, did string) (*sip.Route, error)

func (f dialRouterFunc) Route(src netip.Addr, did string) (*sip.Route, error) { return f(src, did) }

// startDialServer serves a sip.Server on 127.0.0.1 for one test.
func startDialServer(t *testing.T, router sip.Router) (*sip.Server, *dialRecorder, int) {
	t.Helper()
	eng, err := media.NewEngine(media.Config{IP: netip.MustParseAddr("127.0.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	if router == nil {
		router = dialRouterFunc(func(netip.Addr, string) (*sip.Route, error) { return nil, call.CauseUnknownNumber })
	}
	rec := newDialRecorder()
	port := allocPorts(t, 1, true)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s, err := sip.New(sip.Config{Listen: fmt.Sprintf("127.0.0.1:%d", port), Logger: log, ShutdownTimeout: 5 * time.Second}, router, rec, eng)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	engDone := make(chan struct{})
	go func() { _ = eng.Run(ctx); close(engDone) }()
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx) }()
	select {
	case <-s.Ready():
	case err := <-served:
		t.Fatalf("serve: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("sip server not ready")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("sip server did not stop")
		}
		<-engDone
	})
	return s, rec, port
}

// dialUAS is SIPp waiting for one call, built-in uas scenario or a file
// under test/sipp/.
type dialUAS struct {
	Port     int
	done     chan struct{}
	exitCode int
	out      bytes.Buffer
	msgFile  string
	errFile  string
}

func startDialUAS(t *testing.T, scenario string, extra ...string) *dialUAS {
	t.Helper()
	u, dir := newDialUAS(t, 0)
	var args []string
	if scenario == "" {
		args = append(args, "-sn", "uas")
	} else {
		args = append(args, "-sf", renderScenario(t, scenario, dir, map[string]any{}))
	}
	u.start(t, dir, args, 1, 30*time.Second, extra...)
	return u
}

// newDialUAS is a dialUAS on port (0: a free one) with its directory,
// not started yet; the test skips without SIPp.
func newDialUAS(t *testing.T, port int) (u *dialUAS, dir string) {
	t.Helper()
	needSIPp(t)
	dir = t.TempDir()
	if port == 0 {
		port = allocPorts(t, 1, true)
	}
	return &dialUAS{
		Port:    port,
		done:    make(chan struct{}),
		msgFile: filepath.Join(dir, "messages.log"),
		errFile: filepath.Join(dir, "errors.log"),
	}, dir
}

// start runs SIPp as u from dir: the scenario's arguments, u's SIP port
// and a media port, calls calls (0: no limit) within timeout (SIPp's
// -timeout; the process gets 15 s more), then extra. It returns once SIPp
// has bound its SIP port, and the test's end stops it.
func (u *dialUAS) start(t *testing.T, dir string, scenario []string, calls int, timeout time.Duration, extra ...string) {
	t.Helper()
	mediaPort := allocPorts(t, 4, false)
	args := append(scenario,
		"-i", "127.0.0.1", "-p", fmt.Sprint(u.Port),
		"-mi", "127.0.0.1", "-mp", fmt.Sprint(mediaPort),
	)
	if calls > 0 {
		args = append(args, "-m", fmt.Sprint(calls))
	}
	args = append(args, "-nostdin",
		"-timeout", fmt.Sprintf("%ds", int(timeout.Seconds())), "-timeout_error",
		"-trace_msg", "-message_file", u.msgFile,
		"-trace_err", "-error_file", u.errFile,
	)
	args = append(args, extra...)
	ctx, cancel := context.WithTimeout(context.Background(), timeout+15*time.Second)
	cmd := exec.CommandContext(ctx, "sipp", args...)
	cmd.Dir = dir
	cmd.Stdout = &u.out
	cmd.Stderr = &u.out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start sipp: %v", err)
	}
	go func() {
		defer cancel()
		defer close(u.done)
		if err := cmd.Wait(); err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				u.exitCode = ee.ExitCode()
			} else {
				u.exitCode = -1
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-u.done
	})
	// Wait until SIPp has bound its SIP port (UDP or TCP).
	deadline := time.Now().Add(5 * time.Second)
	for portFree(u.Port, true) {
		if time.Now().After(deadline) {
			t.Fatal("sipp did not bind its port")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// wait waits for SIPp to finish and fails the test unless it passed.
func (u *dialUAS) wait(t *testing.T) string {
	t.Helper()
	select {
	case <-u.done:
	case <-time.After(40 * time.Second):
		t.Fatal("sipp did not finish")
	}
	msgs, _ := os.ReadFile(u.msgFile)
	if u.exitCode != 0 {
		errs, _ := os.ReadFile(u.errFile)
		t.Fatalf("sipp exit %d\n--- output ---\n%s\n--- errors ---\n%s\n--- messages ---\n%s",
			u.exitCode, tailLines(u.out.String(), 30), tailLines(string(errs), 40), tailLines(string(msgs), 150))
	}
	return string(msgs)
}

// dialStateLog records a call's state changes.
type dialStateLog struct {
	mu     sync.Mutex
	states []call.State
}

func dialWatchStates(c *call.Call) *dialStateLog {
	l := &dialStateLog{}
	c.Watch(func(s call.State) {
		l.mu.Lock()
		l.states = append(l.states, s)
		l.mu.Unlock()
	})
	l.mu.Lock()
	l.states = append([]call.State{c.State()}, l.states...)
	l.mu.Unlock()
	return l
}

func (l *dialStateLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b []string
	for _, s := range l.states {
		b = append(b, string(s))
	}
	return strings.Join(b, "→")
}

func (l *dialStateLog) has(s call.State) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, x := range l.states {
		if x == s {
			return true
		}
	}
	return false
}

func dialWaitState(t *testing.T, c *call.Call, want call.State, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for c.State() != want {
		if time.Now().After(deadline) {
			t.Fatalf("call state %s, want %s", c.State(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// dialSilence is two seconds of G.711 dialSilence to loop at the far end.
var dialSilence = media.NewPromptPCM(make([]int16, 16000))

// TestDialAnswered: SIPp answers (180, 200) and echoes RTP; the call
// goes Down→Ringing→Up, audio flows both ways, and Run returning sends the
// BYE SIPp waits for.
func TestDialAnswered(t *testing.T) {
	t.Parallel()
	s, rec, _ := startDialServer(t, nil)
	uas := startDialUAS(t, "dial_answer.xml", "-rtp_echo")
	ran := make(chan media.Stats, 1)
	c, err := s.Dial(sip.DialRequest{
		TenantID: "t1",
		Target:   fmt.Sprintf("sip:+15551234@127.0.0.1:%d", uas.Port),
		From:     "+15550100",
		FromName: "Hotline Test",
		Headers:  map[string]string{"X-Hotline-Test": "dial-answered"},
		Run: func(c *call.Call) {
			c.Media().SetSource(media.NewPlayer(dialSilence, true))
			deadline := time.Now().Add(5 * time.Second)
			for c.Media().Stats().PacketsReceived < 25 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			ran <- c.Media().Stats()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	states := dialWatchStates(c)
	if !c.Outbound || c.From != "+15550100" || c.To != "+15551234" || c.TenantID != "t1" {
		t.Errorf("info = %+v", c.Info)
	}
	e := rec.end(t, c.ID, 20*time.Second)
	msgs := uas.wait(t)
	st := <-ran
	if st.PacketsReceived < 25 || st.PacketsSent < 25 {
		t.Errorf("rtp: sent %d, received %d; want both ≥ 25", st.PacketsSent, st.PacketsReceived)
	}
	if got := states.String(); got != "Down→Ringing→Up" {
		t.Errorf("states %s, want Down→Ringing→Up", got)
	}
	if e.SIPCode != 200 || e.Cause != call.CauseNormal || e.Stats.PacketsReceived == 0 {
		t.Errorf("CDR end: code %d cause %s rx %d; want 200 normal-clearing rx > 0", e.SIPCode, e.Cause.Name, e.Stats.PacketsReceived)
	}
	if c.Answered().IsZero() {
		t.Error("call not marked answered")
	}
	for _, want := range []string{"X-Hotline-Test: dial-answered", `"Hotline Test" <sip:+15550100@`, "BYE sip:", "ACK sip:", "a=rtpmap:8 PCMA/8000", "telephone-event/8000"} {
		if !strings.Contains(msgs, want) {
			t.Errorf("SIPp did not see %q:\n%s", want, tailLines(msgs, 80))
		}
	}
}

// TestDialBusy: 486 ends the call with cause busy and SIP code 486.
func TestDialBusy(t *testing.T) {
	t.Parallel()
	s, rec, _ := startDialServer(t, nil)
	uas := startDialUAS(t, "dial_busy.xml")
	var ran atomic.Bool
	c, err := s.Dial(sip.DialRequest{Target: fmt.Sprintf("sip:+15551234@127.0.0.1:%d", uas.Port), From: "+15550100", Run: func(*call.Call) { ran.Store(true) }})
	if err != nil {
		t.Fatal(err)
	}
	e := rec.end(t, c.ID, 20*time.Second)
	uas.wait(t)
	if e.SIPCode != 486 || e.Cause != call.CauseBusy || c.Cause() != call.CauseBusy {
		t.Errorf("end: code %d cause %s; want 486 busy", e.SIPCode, e.Cause.Name)
	}
	if ran.Load() || !c.Answered().IsZero() || c.State() == call.StateUp {
		t.Errorf("a refused call ran or was answered (state %s)", c.State())
	}
}

// TestDialCancelWhileRinging: hanging up a ringing call sends CANCEL; the
// far end's 487 is ACKed and written to the CDR.
func TestDialCancelWhileRinging(t *testing.T) {
	t.Parallel()
	s, rec, _ := startDialServer(t, nil)
	uas := startDialUAS(t, "dial_cancel.xml")
	c, err := s.Dial(sip.DialRequest{Target: fmt.Sprintf("sip:+15551234@127.0.0.1:%d", uas.Port), From: "+15550100"})
	if err != nil {
		t.Fatal(err)
	}
	dialWaitState(t, c, call.StateRinging, 10*time.Second)
	c.Hangup(call.CauseNormal)
	e := rec.end(t, c.ID, 20*time.Second)
	msgs := uas.wait(t)
	if e.SIPCode != 487 || e.Cause != call.CauseNormal {
		t.Errorf("end: code %d cause %s; want 487 normal-clearing", e.SIPCode, e.Cause.Name)
	}
	if !strings.Contains(msgs, "CANCEL sip:+15551234@") {
		t.Errorf("no CANCEL:\n%s", tailLines(msgs, 60))
	}
}

// TestDialRingTimeout: a far end that rings past Timeout is cancelled with
// cause no-answer.
func TestDialRingTimeout(t *testing.T) {
	t.Parallel()
	s, rec, _ := startDialServer(t, nil)
	uas := startDialUAS(t, "dial_cancel.xml")
	start := time.Now()
	c, err := s.Dial(sip.DialRequest{Target: fmt.Sprintf("sip:+15551234@127.0.0.1:%d", uas.Port), Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	e := rec.end(t, c.ID, 20*time.Second)
	uas.wait(t)
	if e.Cause != call.CauseNoAnswer || e.SIPCode != 487 {
		t.Errorf("end: code %d cause %s; want 487 no-answer", e.SIPCode, e.Cause.Name)
	}
	if d := time.Since(start); d < time.Second || d > 10*time.Second {
		t.Errorf("ended after %v, want about 1 s", d)
	}
}

// TestDialRemoteHangup: the far end answers, then sends BYE; the call ends
// with cause remote-hangup and no BYE of ours.
func TestDialRemoteHangup(t *testing.T) {
	t.Parallel()
	s, rec, _ := startDialServer(t, nil)
	uas := startDialUAS(t, "dial_remote_bye.xml")
	c, err := s.Dial(sip.DialRequest{Target: fmt.Sprintf("sip:+15551234@127.0.0.1:%d", uas.Port), From: "+15550100",
		Run: func(c *call.Call) { <-c.Done() }})
	if err != nil {
		t.Fatal(err)
	}
	e := rec.end(t, c.ID, 20*time.Second)
	msgs := uas.wait(t)
	if e.SIPCode != 200 || e.Cause != call.CauseRemoteHangup {
		t.Errorf("end: code %d cause %s; want 200 remote-hangup", e.SIPCode, e.Cause.Name)
	}
	if strings.Contains(msgs, "BYE sip:callee") || strings.Count(msgs, "BYE ") > 1 {
		t.Errorf("Hotline sent a BYE of its own:\n%s", tailLines(msgs, 60))
	}
}

// TestDialBadTarget: Dial refuses what it cannot call.
func TestDialBadTarget(t *testing.T) {
	t.Parallel()
	s, _, _ := startDialServer(t, nil)
	for _, target := range []string{"", "tel:+15551234", "sip:+1555@127.0.0.1:5060;transport=sctp", "not a uri", "sip:x@host.invalid"} {
		if c, err := s.Dial(sip.DialRequest{Target: target}); err == nil {
			t.Errorf("Dial(%q) = %v, want an error", target, c.ID)
			c.Hangup(call.CauseNormal)
		}
	}
	if active := s.ActiveCalls(); active != 0 {
		t.Errorf("active calls %d after refused dials", active)
	}
}

// dialDeferRoute routes every number to run, answering left to it.
func dialDeferRoute(run func(c *call.Call)) sip.Router {
	return dialRouterFunc(func(netip.Addr, string) (*sip.Route, error) {
		return &sip.Route{TenantID: "t1", Flow: "ari", DeferAnswer: true, Run: run}, nil
	})
}

// TestDialDeferredAnswer: with DeferAnswer the flow runs unanswered (state
// Ring, caller hears nothing), rings, then answers; the caller sees 180
// then 200, and the BYE when the flow ends.
func TestDialDeferredAnswer(t *testing.T) {
	t.Parallel()
	var (
		mu      sync.Mutex
		errs    []string
		beforeA call.State
	)
	fail := func(f string, a ...any) { mu.Lock(); errs = append(errs, fmt.Sprintf(f, a...)); mu.Unlock() }
	_, rec, port := startDialServer(t, dialDeferRoute(func(c *call.Call) {
		if c.State() != call.StateRing || !c.Answered().IsZero() {
			fail("run started in state %s", c.State())
		}
		time.Sleep(200 * time.Millisecond)
		if err := c.Ring(); err != nil {
			fail("ring: %v", err)
		}
		time.Sleep(300 * time.Millisecond)
		st := c.State()
		mu.Lock()
		beforeA = st
		mu.Unlock()
		// Answer from another goroutine, as an HTTP handler would.
		errc := make(chan error, 2)
		go func() { errc <- c.Answer() }()
		go func() { errc <- c.Answer() }()
		for range 2 {
			if err := <-errc; err != nil {
				fail("answer: %v", err)
			}
		}
		if c.State() != call.StateUp {
			fail("state after answer %s", c.State())
		}
		time.Sleep(500 * time.Millisecond)
	}))
	res := (&server{SIPPort: port}).runSIPp(t, sippRun{Scenario: "dial_defer_uac.xml", Service: "+15550100", Timeout: 20 * time.Second})
	if res.ExitCode != 0 {
		t.Fatalf("SIPp:\n%s", res)
	}
	_, e := rec.anyEnd(t, 10*time.Second)
	mu.Lock()
	defer mu.Unlock()
	for _, e := range errs {
		t.Error(e)
	}
	if beforeA != call.StateRing {
		t.Errorf("state after Ring %s, want Ring", beforeA)
	}
	if e.SIPCode != 200 || e.Cause != call.CauseNormal {
		t.Errorf("end: code %d cause %s; want 200 normal-clearing", e.SIPCode, e.Cause.Name)
	}
	if i180, i200 := strings.Index(res.Messages, "SIP/2.0 180"), strings.Index(res.Messages, "SIP/2.0 200"); i180 < 0 || i200 < i180 {
		t.Errorf("want 180 then 200:\n%s", tailLines(res.Messages, 80))
	}
}

// TestDialDeferredRefused: a deferred flow that ends without answering
// gets the response its hangup cause maps to.
func TestDialDeferredRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		cause *call.Cause // nil: Run just returns (normal clearing)
		code  int
	}{
		{"busy", call.CauseBusy, 486},
		{"no-answer", call.CauseNoAnswer, 480},
		{"congestion", call.CauseCongestion, 503},
		{"unallocated", call.CauseUnallocated, 404},
		{"normal", nil, 603},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, rec, port := startDialServer(t, dialDeferRoute(func(c *call.Call) {
				time.Sleep(100 * time.Millisecond)
				if tc.cause != nil {
					c.Hangup(tc.cause)
				}
			}))
			res := (&server{SIPPort: port}).runSIPp(t, sippRun{Scenario: "dial_defer_refused.xml", Service: "+15550100",
				Timeout: 20 * time.Second, Data: map[string]any{"Code": tc.code}})
			if res.ExitCode != 0 {
				t.Fatalf("SIPp:\n%s", res)
			}
			_, e := rec.anyEnd(t, 10*time.Second)
			want := tc.cause
			if want == nil {
				want = call.CauseNormal
			}
			if e.SIPCode != tc.code || e.Cause != want {
				t.Errorf("end: code %d cause %s; want %d %s", e.SIPCode, e.Cause.Name, tc.code, want.Name)
			}
		})
	}
}

// TestDialTCP: ;transport=tcp places the call over TCP; in-dialog requests
// (ACK, BYE) follow on TCP.
func TestDialTCP(t *testing.T) {
	t.Parallel()
	s, rec, _ := startDialServer(t, nil)
	uas := startDialUAS(t, "", "-t", "t1")
	c, err := s.Dial(sip.DialRequest{
		Target: fmt.Sprintf("sip:+15551234@127.0.0.1:%d;transport=tcp", uas.Port),
		From:   "+15550100",
		Run:    func(c *call.Call) { time.Sleep(300 * time.Millisecond) },
	})
	if err != nil {
		t.Fatal(err)
	}
	e := rec.end(t, c.ID, 20*time.Second)
	msgs := uas.wait(t)
	if e.SIPCode != 200 || e.Cause != call.CauseNormal {
		t.Errorf("end: code %d cause %s; want 200 normal-clearing", e.SIPCode, e.Cause.Name)
	}
	for _, want := range []string{"INVITE sip:+15551234@127.0.0.1:", "SIP/2.0/TCP", "ACK sip:", "BYE sip:", "transport=tcp"} {
		if !strings.Contains(msgs, want) {
			t.Errorf("SIPp did not see %q:\n%s", want, tailLines(msgs, 80))
		}
	}
}

// TestDialDigest: SIPp as a carrier that challenges the INVITE with 401
// and checks the Authorization of the second one with verifyauth: the
// trunk's credentials get the call answered (SIPp answers 403 to a wrong
// response, so a bad hash fails the test); a wrong password ends the call
// rejected with the carrier's 403.
func TestDialDigest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, password string
		code           int
		cause          *call.Cause
	}{
		{"right password", "s3cret", 200, call.CauseNormal},
		{"wrong password", "s3cre7", 403, call.CauseRejected},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, rec, _ := startDialServer(t, nil)
			uas := startDialUAS(t, "dial_digest.xml")
			c, err := s.Dial(sip.DialRequest{
				Target:   fmt.Sprintf("sip:+15551234@127.0.0.1:%d", uas.Port),
				From:     "+15550100",
				AuthUser: "acme", AuthPassword: tc.password, AuthRealm: "carrier.example",
				Run: func(c *call.Call) { time.Sleep(200 * time.Millisecond) },
			})
			if err != nil {
				t.Fatal(err)
			}
			e := rec.end(t, c.ID, 20*time.Second)
			msgs := uas.wait(t)
			if e.SIPCode != tc.code || e.Cause != tc.cause {
				t.Errorf("CDR end: code %d cause %s; want %d %s\n%s", e.SIPCode, e.Cause.Name, tc.code, tc.cause.Name, tailLines(msgs, 80))
			}
			for _, want := range []string{"SIP/2.0 401 Unauthorized", `Authorization: Digest username="acme"`, `realm="carrier.example"`, "qop=auth"} {
				if !strings.Contains(msgs, want) {
					t.Errorf("SIPp did not see %q:\n%s", want, tailLines(msgs, 80))
				}
			}
			if strings.Contains(msgs, tc.password) {
				t.Error("the password went on the wire")
			}
		})
	}
}
