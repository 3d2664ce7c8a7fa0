package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBrowserSoftphone is issue 3's end-to-end test with a real browser:
// headless Chromium (Debian's, driven by playwright-core from
// test/browser/agent.test.mjs) logs in as demo/alice on the page that
// `hotline serve` ships, goes Available, and takes a call that this test
// places as a SIP caller pressing 0. Audio is checked both ways: the
// caller's 440 Hz reaches the browser (measured in the page with WebAudio)
// and the browser's fake microphone, a 1 kHz tone, reaches the caller
// (Goertzel on the decoded PCMU). Hold must replace the agent's voice with
// music on hold; unhold brings it back. Mute silences the agent's tone for
// the caller, and a keypad key reaches the caller as an RFC 4733 event.
// A supervisor's Chromium on /wallboard sees alice on the call and listens
// in. Then an attended transfer with a second Chromium (demo/bob, 700 Hz):
// alice consults bob (each hears the other, the caller hears music),
// completes, and wraps up; the caller and bob hear each other, and bob's
// hang-up sends the caller a BYE.
//
// Screenshots of the desk go to $HOTLINE_BROWSER_OUT when set (kept), else
// to the test's temporary directory.
func TestBrowserSoftphone(t *testing.T) {
	srv, b := startBrowserServer(t, serverOptions{Name: "browser"})
	base, out, chromium := b.base, b.out, b.chromium
	checkPageServed(t, base)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	agent := startAgentScript(t, ctx, map[string]string{
		"HOTLINE_URL": base, "OUT_DIR": out, "CHROMIUM": chromium,
		"AGENT_TENANT": "demo", "AGENT_USER": "alice", "AGENT_PASSWORD": "alice-demo",
		"TONE_HZ": "1000", "SIP_PORT": fmt.Sprint(srv.SIPPort),
	})
	defer agent.finish(t)

	// The colleague of the attended transfer: bob, whose microphone plays
	// 700 Hz, on break until alice has the call.
	colleague := startAgentScript(t, ctx, map[string]string{
		"HOTLINE_URL": base, "OUT_DIR": out, "CHROMIUM": chromium, "ROLE": "consultee",
		"AGENT_TENANT": "demo", "AGENT_USER": "bob", "AGENT_PASSWORD": "bob-demo", "TONE_HZ": "700",
	})
	defer colleague.finish(t)

	// A supervisor on the wallboard page.
	super := startAgentScript(t, ctx, map[string]string{
		"HOTLINE_URL": base, "OUT_DIR": out, "CHROMIUM": chromium, "ROLE": "wallboard",
		"AGENT_TENANT": "demo", "AGENT_USER": "sam", "AGENT_PASSWORD": "sam-demo",
	})
	defer super.finish(t)

	agent.expect(t, "available", 60*time.Second)
	colleague.expect(t, "ready", 60*time.Second)
	super.expect(t, "ready", 60*time.Second)

	// The caller: the demo number, 0 for an agent, then a 440 Hz tone.
	ua := newUA(t, srv)
	srv.report(t, ua.CallID)
	if res := ua.Invite(demoNumber, ua.offer(true, "sendrecv")); res.Code != 200 {
		t.Fatalf("INVITE: %s, want 200", res)
	}
	ua.Ack(demoNumber)
	ua.RTP.Start()
	time.Sleep(menuOpens(t))
	ua.RTP.SendDigit('0')
	time.Sleep(300 * time.Millisecond)
	ua.RTP.Play(sineWave(440, 150*time.Second, 8000))
	agent.send(t, "call "+ua.From)

	offer := agent.expect(t, "offer", 45*time.Second)
	t.Logf("offer card: %s", offer)
	talking := agent.expect(t, "talking", 30*time.Second)
	var heard struct {
		Heard float64 `json:"heard"`
		Codec string  `json:"codec"`
	}
	if err := json.Unmarshal(talking, &heard); err != nil {
		t.Fatalf("talking event %s: %v", talking, err)
	}
	t.Logf("the browser hears %.1f Hz (codec %s)", heard.Heard, heard.Codec)
	if math.Abs(heard.Heard-440) > 15 {
		t.Errorf("the browser hears %.1f Hz, want the caller's 440 Hz", heard.Heard)
	}
	if !strings.HasPrefix(strings.ToUpper(heard.Codec), "PCMU") {
		t.Errorf("the browser negotiated %q, want PCMU", heard.Codec)
	}

	super.send(t, "oncall "+ua.From)
	board := super.expect(t, "board", 30*time.Second)
	t.Logf("the wallboard: %s", board)
	if !strings.Contains(string(board), "Alice") || !strings.Contains(string(board), `"general"`) {
		t.Errorf("the wallboard %s: want alice's row and the general queue", board)
	}
	super.send(t, "listen")
	var listening struct {
		Heard float64 `json:"heard"`
	}
	_ = json.Unmarshal(super.expect(t, "listening", 30*time.Second), &listening)
	t.Logf("the supervisor listening in hears %.1f Hz", listening.Heard)
	if math.Abs(listening.Heard-440) > 15 && math.Abs(listening.Heard-1000) > 15 {
		t.Errorf("listening in, the supervisor hears %.1f Hz, want the caller's 440 Hz or alice's 1000 Hz", listening.Heard)
	}
	super.expect(t, "stopped", 15*time.Second)

	tone := callerHears(t, ua, 1500*time.Millisecond)
	t.Logf("the caller hears, talking: %s", tone)
	if tone.at1k < 0.5 || tone.at1k < 5*tone.at440 {
		t.Errorf("the caller does not hear the agent's 1 kHz tone: %s", tone)
	}

	agent.send(t, "hold")
	agent.expect(t, "held", 15*time.Second)
	held := callerHears(t, ua, 2*time.Second)
	t.Logf("the caller hears, on hold: %s", held)
	if held.at1k > 0.1 {
		t.Errorf("on hold the caller still hears the agent's 1 kHz tone: %s", held)
	}
	if held.rms < 100 {
		t.Errorf("on hold the caller hears silence, want music: %s", held)
	}

	agent.send(t, "unhold")
	agent.expect(t, "unheld", 15*time.Second)
	back := callerHears(t, ua, 1500*time.Millisecond)
	t.Logf("the caller hears, after unhold: %s", back)
	if back.at1k < 0.5 {
		t.Errorf("after unhold the caller does not hear the agent again: %s", back)
	}

	agent.send(t, "mute")
	agent.expect(t, "muted", 15*time.Second)
	muted := callerHears(t, ua, 1500*time.Millisecond)
	t.Logf("the caller hears, muted: %s", muted)
	if muted.at1k > 0.1 && muted.rms > 50 {
		t.Errorf("muted, the caller still hears the agent's tone: %s", muted)
	}
	agent.send(t, "unmute")
	agent.expect(t, "unmuted", 15*time.Second)
	if again := callerHears(t, ua, 1500*time.Millisecond); again.at1k < 0.5 {
		t.Errorf("unmuted, the caller does not hear the agent: %s", again)
	}

	events := ua.RTP.ReceivedEvents()
	agent.send(t, "dtmf")
	agent.expect(t, "dtmf_sent", 15*time.Second)
	for end := time.Now().Add(3 * time.Second); ua.RTP.ReceivedEvents() == events && time.Now().Before(end); {
		time.Sleep(50 * time.Millisecond)
	}
	if ua.RTP.ReceivedEvents() == events {
		t.Errorf("the agent pressed 5 on the keypad; the caller got no RFC 4733 event")
	}

	// Attended transfer to bob: consult (the caller hears music, alice and
	// bob hear each other), complete (the caller and bob talk), bob hangs up.
	colleague.send(t, "available")
	colleague.expect(t, "available", 30*time.Second)
	agent.send(t, "consult bob")
	co := colleague.expect(t, "consult_offer", 30*time.Second)
	t.Logf("bob's offer card: %s", co)
	if !strings.Contains(string(co), "Consult from") || !strings.Contains(string(co), ua.From) {
		t.Errorf("bob's offer card %s: want a consult from alice about %s", co, ua.From)
	}
	hz := func(raw json.RawMessage) float64 {
		var v struct {
			Heard float64 `json:"heard"`
		}
		_ = json.Unmarshal(raw, &v)
		return v.Heard
	}
	if got := hz(colleague.expect(t, "consult_talking", 30*time.Second)); math.Abs(got-1000) > 15 {
		t.Errorf("consulting, bob hears %.1f Hz, want alice's 1000 Hz", got)
	}
	if got := hz(agent.expect(t, "consulting", 30*time.Second)); math.Abs(got-700) > 15 {
		t.Errorf("consulting, alice hears %.1f Hz, want bob's 700 Hz", got)
	}
	waiting := callerHears(t, ua, 2*time.Second)
	t.Logf("the caller hears, during the consultation: %s, 700 Hz %.2f", waiting, powerShare(lastSamples(ua, 8000), 700))
	if waiting.at1k > 0.1 || waiting.rms < 100 {
		t.Errorf("during the consultation the caller should hear music, not alice: %s", waiting)
	}
	agent.send(t, "complete")
	if got := hz(colleague.expect(t, "transferred", 30*time.Second)); math.Abs(got-440) > 15 {
		t.Errorf("after the transfer bob hears %.1f Hz, want the caller's 440 Hz", got)
	}
	done := agent.expect(t, "done", 30*time.Second)
	t.Logf("alice done: %s", done)
	time.Sleep(500 * time.Millisecond)
	if s := powerShare(lastSamples(ua, 8000), 700); s < 0.5 {
		t.Errorf("after the transfer the caller does not hear bob's 700 Hz (share %.2f)", s)
	}
	colleague.send(t, "hangup")
	if _, ok := ua.WaitBye(15 * time.Second); !ok {
		t.Errorf("bob hung up but the caller got no BYE")
	}
	colleague.expect(t, "done", 30*time.Second)
	for _, shot := range []string{"desk-offer.png", "desk-call.png", "desk-held.png", "desk-consult.png", "desk-transferred.png", "desk-wrapup.png", "wallboard.png"} {
		if _, err := os.Stat(filepath.Join(out, shot)); err != nil {
			t.Errorf("screenshot: %v", err)
		}
	}
	t.Logf("screenshots in %s", out)
}

// ---- prerequisites ----

// needBrowser returns Chromium's path, checking node and npm too: missing
// ones skip outside CI and fail in CI.
func needBrowser(t *testing.T) string {
	t.Helper()
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	var missing []string
	if _, err := os.Stat(chromium); err != nil {
		missing = append(missing, chromium)
	}
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		msg := fmt.Sprintf("%s missing (Debian: apt-get install chromium nodejs npm; scripts/deps.sh does it)", strings.Join(missing, ", "))
		if inCI() {
			t.Fatalf("%s, and CI=true", msg)
		}
		t.Skipf("%s; skipping outside CI", msg)
	}
	return chromium
}

// checkPageServed: the softphone page and its module are served.
func checkPageServed(t *testing.T, base string) {
	t.Helper()
	for path, want := range map[string]string{"/": "Agent sign-in", "/static/app.js": "hotlineTest"} {
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Fatalf("GET %s: %s, body without %q", path, res.Status, want)
		}
	}
}

// npmInstall puts playwright-core (pinned in test/browser/package.json
// and package-lock.json) into test/browser/node_modules, once.
func npmInstall(t *testing.T) { npmInstallDir(t, "browser", "playwright-core") }

// browserEnv is what a browser test hands its script: the server's URL,
// Chromium, and where screenshots go.
type browserEnv struct {
	base, chromium, out string
}

// vars is the script's environment: HOTLINE_URL, OUT_DIR and CHROMIUM,
// then extra.
func (b browserEnv) vars(extra map[string]string) map[string]string {
	env := map[string]string{"HOTLINE_URL": b.base, "OUT_DIR": b.out, "CHROMIUM": b.chromium}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// newBrowserEnv readies a browser test on srv, chromium being
// needBrowser's answer (asked before anything starts, so that a missing
// browser skips early): playwright-core installed, and the screenshot
// directory, $HOTLINE_BROWSER_OUT when set (kept), else the test's
// temporary one.
func newBrowserEnv(t *testing.T, chromium string, srv *server) browserEnv {
	t.Helper()
	npmInstall(t)
	out := os.Getenv("HOTLINE_BROWSER_OUT")
	if out == "" {
		out = t.TempDir()
	} else if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	return browserEnv{base: fmt.Sprintf("http://127.0.0.1:%d", srv.HTTPPort), chromium: chromium, out: out}
}

// startBrowserServer is the start of a browser test that needs nothing
// before its server: needBrowser, startServer, newBrowserEnv.
func startBrowserServer(t *testing.T, opt serverOptions) (*server, browserEnv) {
	t.Helper()
	chromium := needBrowser(t)
	srv := startServer(t, opt)
	return srv, newBrowserEnv(t, chromium, srv)
}

// runPageScript runs a script that takes no commands (runBrowserScript)
// for at most timeout and returns its events: a "fail" event, or no
// "done", fails t, naming what was tested. The script's output is logged
// at the end when t has failed or runs verbose.
func runPageScript(t *testing.T, timeout time.Duration, script, what string, env map[string]string) map[string]json.RawMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	events, log := runBrowserScript(t, ctx, script, env)
	t.Cleanup(func() {
		if t.Failed() || testing.Verbose() {
			t.Logf("--- browser script output ---\n%s", log)
		}
	})
	if fail, ok := events["fail"]; ok {
		t.Fatalf("%s: %s", what, fail)
	}
	if _, ok := events["done"]; !ok {
		t.Fatalf("the browser script did not finish")
	}
	return events
}

// checkPageCSP: GET path answers 200 under the pages' CSP, which lets
// scripts come from the server only.
func checkPageCSP(t *testing.T, base, path string) {
	t.Helper()
	res, err := http.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(res.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Fatalf("GET %s: %s, CSP %q", path, res.Status, res.Header.Get("Content-Security-Policy"))
	}
}

// npmInstallDir runs `npm ci` in test/DIR once: a node_modules already
// holding the locked version of pkg is left alone. Without the registry it
// skips, or fails in CI.
func npmInstallDir(t *testing.T, dir, pkg string) {
	t.Helper()
	path := filepath.Join(repoRoot, "test", dir)
	var lock struct {
		Packages map[string]struct {
			Version string `json:"version"`
		} `json:"packages"`
	}
	data, err := os.ReadFile(filepath.Join(path, "package-lock.json"))
	if err != nil {
		t.Fatalf("test/%s/package-lock.json: %v", dir, err)
	}
	if err := json.Unmarshal(data, &lock); err != nil {
		t.Fatalf("test/%s/package-lock.json: %v", dir, err)
	}
	want := lock.Packages["node_modules/"+pkg].Version
	var have struct {
		Version string `json:"version"`
	}
	if data, err := os.ReadFile(filepath.Join(path, "node_modules", pkg, "package.json")); err == nil {
		_ = json.Unmarshal(data, &have)
	}
	if want != "" && have.Version == want {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--prefer-offline")
	cmd.Dir = path
	cmd.Env = append(os.Environ(), "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		msg := fmt.Sprintf("npm ci in test/%s failed (%v): %s %s must be installed from the npm registry once; is it reachable (offline?)\n%s", dir, err, pkg, want, out)
		if inCI() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

// ---- the node script ----

// agentScript is the running node process with its event lines.
type agentScript struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	events chan [2]string // name, JSON
	log    *logBuffer     // everything it printed
	exited chan struct{}
	err    error
}

func startAgentScript(t *testing.T, ctx context.Context, env map[string]string) *agentScript {
	t.Helper()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(repoRoot, "test", "browser", "agent.test.mjs"))
	cmd.Dir = filepath.Join(repoRoot, "test", "browser")
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	a := &agentScript{cmd: cmd, events: make(chan [2]string, 32), log: &logBuffer{}, exited: make(chan struct{})}
	var err error
	if a.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = a.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node: %v", err)
	}
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(a.log, line)
			if rest, ok := strings.CutPrefix(line, "@@"); ok {
				name, data, _ := strings.Cut(rest, " ")
				a.events <- [2]string{name, data}
			}
		}
	}()
	go func() {
		<-scanned
		a.err = cmd.Wait()
		close(a.events)
		close(a.exited)
	}()
	return a
}

func (a *agentScript) send(t *testing.T, line string) {
	t.Helper()
	if _, err := io.WriteString(a.stdin, line+"\n"); err != nil {
		t.Fatalf("tell the browser %q: %v\n%s", line, err, a.log.String())
	}
}

// expect waits for the next event, which must be name, and returns its
// JSON.
func (a *agentScript) expect(t *testing.T, name string, timeout time.Duration) json.RawMessage {
	t.Helper()
	select {
	case ev, ok := <-a.events:
		if !ok {
			t.Fatalf("the browser script exited (%v) before %q\n%s", a.err, name, a.log.String())
		}
		if ev[0] != name {
			t.Fatalf("browser: %s %s, want %q\n%s", ev[0], ev[1], name, a.log.String())
		}
		return json.RawMessage(ev[1])
	case <-time.After(timeout):
		t.Fatalf("browser: no %q within %v\n%s", name, timeout, a.log.String())
	}
	return nil
}

// finish waits for the script to end (telling it to abort if the test
// failed) and reports its output when the test failed.
func (a *agentScript) finish(t *testing.T) {
	if t.Failed() {
		_, _ = io.WriteString(a.stdin, "abort the Go side failed\n")
	}
	_ = a.stdin.Close()
	select {
	case <-a.exited:
	case <-time.After(20 * time.Second):
		_ = a.cmd.Process.Kill()
		<-a.exited
		t.Errorf("the browser script did not exit within 20s")
	}
	if a.err != nil && !t.Failed() {
		t.Errorf("the browser script: %v\n%s", a.err, a.log.String())
	} else if t.Failed() || testing.Verbose() {
		t.Logf("--- browser script output ---\n%s", a.log.String())
	}
}

// ---- what the caller hears ----

type toneLevels struct {
	at1k, at440 float64 // share of the signal's power at 1 kHz, 440 Hz
	rms         float64
	n           int
}

func (l toneLevels) String() string {
	return fmt.Sprintf("1 kHz %.2f, 440 Hz %.2f of the power, rms %.0f over %d samples", l.at1k, l.at440, l.rms, l.n)
}

// callerHears waits d and measures the audio the caller received in that
// time (the newest second of it, less the last 100 ms still in flight).
func callerHears(t *testing.T, ua *sipUA, d time.Duration) toneLevels {
	t.Helper()
	before, _ := ua.RTP.Received()
	time.Sleep(d)
	rec, _ := ua.RTP.Received()
	end := len(rec) - 800
	start := max(len(before), end-8000)
	if end-start < 4000 {
		t.Fatalf("the caller received only %d new samples in %v", max(0, end-start), d)
	}
	win := rec[start:end]
	return toneLevels{at1k: powerShare(win, 1000), at440: powerShare(win, 440), rms: rmsOf(win), n: len(win)}
}

// lastSamples is the most recent n samples the caller received.
func lastSamples(ua *sipUA, n int) []int16 {
	rec, _ := ua.RTP.Received()
	return rec[max(0, len(rec)-n):]
}

// powerShare is the Goertzel power at f as a share of the window's power:
// about 1 for a pure tone at f, about 0 for anything else.
func powerShare(s []int16, f float64) float64 {
	n := len(s)
	k := math.Round(float64(n) * f / sampleRate)
	w := 2 * math.Pi * k / float64(n)
	coeff := 2 * math.Cos(w)
	var s1, s2, energy float64
	for _, v := range s {
		x := float64(v)
		energy += x * x
		s0 := x + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	if energy == 0 {
		return 0
	}
	p := s1*s1 + s2*s2 - coeff*s1*s2
	return 2 * p / (float64(n) * energy)
}

func rmsOf(s []int16) float64 {
	var sum float64
	for _, v := range s {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum / float64(max(1, len(s))))
}

// sineWave is d of a tone at f Hz, at half scale.
func sineWave(f float64, d time.Duration, rate int) []int16 {
	out := make([]int16, int(d.Seconds()*float64(rate)))
	for i := range out {
		out[i] = int16(12000 * math.Sin(2*math.Pi*f*float64(i)/float64(rate)))
	}
	return out
}

// ReceivedEvents counts the RTP packets that were not audio (RFC 4733
// events) received so far.
func (r *rtpStream) ReceivedEvents() int {
	r.rxMu.Lock()
	defer r.rxMu.Unlock()
	return r.rxEvents
}

// TestBrowserOpus: with webrtc.opus on, Chromium negotiates Opus and the
// tones still cross both ways, transcoded by the server (G.711 8 kHz to
// Opus 48 kHz and back). The caller is baresip: the agent's tone is found
// in baresip's recording of the call, and the server's stereo recording
// has the caller's tone on the left and the agent's on the right.
func TestBrowserOpus(t *testing.T) {
	chromium := needBrowser(t)
	srv := startServer(t, serverOptions{Name: "browser-opus", Edit: func(t testing.TB, cfg map[string]any) {
		w, _ := cfg["webrtc"].(map[string]any)
		if w == nil {
			w = map[string]any{}
			cfg["webrtc"] = w
		}
		w["opus"] = true
	}})
	base := fmt.Sprintf("http://127.0.0.1:%d", srv.HTTPPort)
	npmInstall(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	agent := startAgentScript(t, ctx, map[string]string{
		"HOTLINE_URL": base, "OUT_DIR": t.TempDir(), "CHROMIUM": chromium, "SHORT": "1",
		"AGENT_TENANT": "demo", "AGENT_USER": "alice", "AGENT_PASSWORD": "alice-demo", "TONE_HZ": "1000",
	})
	defer agent.finish(t)
	agent.expect(t, "available", 60*time.Second)

	// The caller is baresip, whose microphone plays 440 Hz and whose
	// sndfile module records what it hears.
	user := fmt.Sprintf("+1555810%04d", rand.IntN(10000))
	b := startBaresipMic(t, user, sineWave(440, 60*time.Second, 8000))
	b.command("dial", fmt.Sprintf("sip:%s@127.0.0.1:%d", demoNumber, srv.SIPPort))
	b.waitEvent("CALL_ESTABLISHED", 10*time.Second)
	time.Sleep(menuOpens(t))
	b.command("sndcode", "0")
	agent.send(t, "call "+user)
	agent.expect(t, "offer", 45*time.Second)
	var heard struct {
		Heard float64 `json:"heard"`
		Codec string  `json:"codec"`
	}
	if err := json.Unmarshal(agent.expect(t, "talking", 30*time.Second), &heard); err != nil {
		t.Fatal(err)
	}
	t.Logf("the browser hears %.1f Hz (codec %s)", heard.Heard, heard.Codec)
	if !strings.HasPrefix(strings.ToLower(heard.Codec), "opus") {
		t.Errorf("the browser negotiated %q, want opus", heard.Codec)
	}
	if math.Abs(heard.Heard-440) > 15 {
		t.Errorf("the browser hears %.1f Hz, want the caller's 440 Hz", heard.Heard)
	}
	time.Sleep(2 * time.Second)
	agent.send(t, "hangup")
	b.waitEvent("CALL_CLOSED", 15*time.Second)
	agent.expect(t, "done", 30*time.Second)
	b.command("quit", "")

	// The end of baresip's recording is the agent talking: 1 kHz.
	rec, rate, _ := b.recording()
	if rate != sampleRate {
		rec = resampleTo8k(rec, rate)
	}
	if len(rec) < 2*sampleRate {
		t.Fatalf("baresip recorded only %d samples", len(rec))
	}
	tail := rec[len(rec)-3*sampleRate/2 : len(rec)-sampleRate/2]
	share := powerShare(tail, 1000)
	t.Logf("baresip's recording, last second of the call: 1 kHz %.2f of the power, rms %.0f", share, rmsOf(tail))
	if share < 0.5 {
		t.Errorf("baresip did not hear the agent's 1 kHz tone through Opus (share %.2f)", share)
	}

	// The call's recording: baresip's 440 Hz on the left, the browser's
	// 1 kHz on the right.
	sam := apiLogin(t, srv, "demo", "sam", "sam-demo")
	c := srv.callByCaller(t, user, 10*time.Second)
	callID := c.ID.String()
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		var v struct {
			Recording recMeta `json:"recording"`
		}
		if code := sam.get(t, "/api/v1/calls/"+callID+"/recording/meta", &v); code == 200 && v.Recording.Status == "complete" {
			break
		}
	}
	left, right := fetchStereo(t, sam, "/api/v1/calls/"+callID+"/recording")
	if n := len(left); n < 2*sampleRate {
		t.Fatalf("the recording has %d samples, want the ~2 s of conversation", n)
	}
	mid := len(left)/2 - sampleRate/4
	wantTone(t, "recording, left (baresip)", left[mid:mid+sampleRate/2], 440, 1000)
	wantTone(t, "recording, right (the agent in Chromium)", right[mid:mid+sampleRate/2], 1000, 440)
}
