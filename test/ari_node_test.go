package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"hotline/internal/testenv"
)

// TestARINodeClient is issue 7's Node client test: the npm `ari-client`
// (2.2.0, pinned in test/ari-node/package.json and package-lock.json),
// which builds its whole API from Hotline's Swagger documents, runs the
// small application test/ari-node/app.cjs as application "hello" while a
// caller dials the demo's ARI number. The application answers, plays
// sound:hello-world, lists channels, reads the server's info and its own
// application, creates a mixing bridge, puts the channel in it, destroys
// it, and hangs up. Asserted: the caller gets 200 then a BYE and hears the
// prompt while it plays; the application sees StasisStart (state Ring,
// args [demo]), PlaybackFinished (done), its own channel and application,
// the bridge with the channel, StasisEnd and ChannelDestroyed, and exits 0.
func TestARINodeClient(t *testing.T) {
	needNode(t)
	s := startServer(t, serverOptions{Name: "ari-node"})
	npmInstallDir(t, "ari-node", "ari-client")

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	app := startNodeApp(t, ctx, filepath.Join(repoRoot, "test", "ari-node", "app.cjs"), map[string]string{
		"ARI_URL":    fmt.Sprintf("http://127.0.0.1:%d", s.HTTPPort),
		"ARI_USER":   "demo",
		"ARI_PASS":   "demo-ari",
		"ARI_APP":    "hello", // the application +15550101 routes to
		"TIMEOUT_MS": "45000",
	})
	defer app.finish(t)

	connected := app.wait(t, "connected", 30*time.Second)
	var res struct{ Resources []string }
	_ = json.Unmarshal(connected.raw, &res)
	if got := strings.Join(res.Resources, ","); got != "asterisk,applications,channels,bridges,playbacks,events" {
		t.Errorf("resources ari-client built from the Swagger documents: %s", got)
	}
	app.wait(t, "ready", 15*time.Second)

	ua := newUA(t, s)
	s.report(t, ua.CallID)
	inv := make(chan *sipMsg, 1)
	go func() { inv <- ua.Invite(ariNumber, ua.offer(true, "sendrecv")) }()
	var answer *sipMsg
	select {
	case answer = <-inv:
	case <-app.exited:
		t.Fatalf("the Node application exited (%v) before the call was answered\n%s", app.err, app.log.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("no final response to the INVITE within 30s\n%s", app.log.String())
	}
	if answer.Code != 200 {
		t.Fatalf("INVITE %s: %s, want 200 (the application answers)\n%s", ariNumber, answer, app.log.String())
	}
	ua.Ack(ariNumber)
	ua.RTP.Start() // silence: keeps the media path alive

	start := app.wait(t, "StasisStart", 5*time.Second)
	var ss struct {
		Channel, State, Caller, Exten string
		Args                          []string
	}
	if err := json.Unmarshal(start.raw, &ss); err != nil {
		t.Fatal(err)
	}
	if ss.Channel == "" || ss.State != "Ring" || strings.Join(ss.Args, ",") != "demo" {
		t.Errorf("StasisStart: %s, want state Ring and args [demo]", start.raw)
	}
	if ss.Caller != ua.From || ss.Exten != ariNumber {
		t.Errorf("StasisStart: %s, want caller %s, exten %s", start.raw, ua.From, ariNumber)
	}

	played := app.wait(t, "PlaybackStarted", 10*time.Second)
	finished := app.wait(t, "PlaybackFinished", 15*time.Second)
	var pf struct{ Playback, State, Media string }
	_ = json.Unmarshal(finished.raw, &pf)
	if pf.State != "done" || pf.Media != "sound:hello-world" {
		t.Errorf("PlaybackFinished: %s, want state done, media sound:hello-world", finished.raw)
	}
	if play, ok := app.get("play"); !ok {
		t.Errorf("no answer to channel.play")
	} else {
		var p struct{ Playback, Requested, Target string }
		_ = json.Unmarshal(play.raw, &p)
		if p.Playback != p.Requested || p.Target != "channel:"+ss.Channel || p.Playback != pf.Playback {
			t.Errorf("channel.play: %s; PlaybackFinished %s: want the client's playback id and target channel:%s", play.raw, finished.raw, ss.Channel)
		}
	}

	if _, ok := ua.WaitBye(20 * time.Second); !ok {
		t.Fatalf("the caller got no BYE after the application hung up\n%s", app.log.String())
	}
	select {
	case <-app.exited:
	case <-time.After(15 * time.Second):
		t.Fatalf("the Node application did not exit after the call\n%s", app.log.String())
	}
	if app.err != nil {
		t.Fatalf("the Node application: %v\n%s", app.err, app.log.String())
	}

	// What the caller heard while hello-world played: between the arrival
	// times of the two events, widened by 200 ms each side for the RTP
	// path (Received is placed by RTP timestamp from the first packet on).
	rec, first := ua.RTP.Received()
	if first.IsZero() {
		t.Fatalf("the caller received no audio")
	}
	from := max(0, int(played.at.Sub(first).Seconds()*sampleRate)-1600)
	to := min(len(rec), int(finished.at.Sub(first).Seconds()*sampleRate)+1600)
	if to-from < 4000 {
		t.Fatalf("the caller received %d samples while hello-world played (samples %d-%d of %d), want about its length", max(0, to-from), from, to, len(rec))
	}
	win := rec[from:to]
	voiced := 0
	for i := 0; i+160 <= len(win); i += 160 {
		if rms(win[i:i+160]) > 300 {
			voiced++
		}
	}
	want, err := wavDuration("/usr/share/asterisk/sounds/en_US_f_Allison/hello-world.wav")
	if err != nil {
		want = 1400 * time.Millisecond
	}
	t.Logf("while hello-world (%v) played the caller received %d samples, rms %.0f, %d voiced 20 ms frames", want, len(win), rms(win), voiced)
	if float64(voiced)*0.02 < 0.4*want.Seconds() {
		t.Errorf("the caller heard %d voiced 20 ms frames (rms %.0f) while hello-world played, want at least %.1f s of speech", voiced, rms(win), 0.4*want.Seconds())
	}

	// What the read operations returned.
	if ev, ok := app.get("channels"); ok {
		var v struct {
			Channels []struct{ ID, State, Caller string }
		}
		_ = json.Unmarshal(ev.raw, &v)
		if len(v.Channels) != 1 || v.Channels[0].ID != ss.Channel || v.Channels[0].State != "Up" || v.Channels[0].Caller != ua.From {
			t.Errorf("channels.list: %s, want the caller's channel %s, Up", ev.raw, ss.Channel)
		}
	} else {
		t.Errorf("no channels.list result")
	}
	if ev, ok := app.get("info"); ok {
		var v struct {
			Version         string `json:"version"`
			DefaultLanguage string `json:"default_language"`
		}
		_ = json.Unmarshal(ev.raw, &v)
		if v.Version == "" || v.DefaultLanguage == "" {
			t.Errorf("asterisk.getInfo: %s, want system.version and config.default_language", ev.raw)
		}
	} else {
		t.Errorf("no asterisk.getInfo result")
	}
	if ev, ok := app.get("application"); ok {
		var v struct {
			Name       string   `json:"name"`
			ChannelIDs []string `json:"channel_ids"`
		}
		_ = json.Unmarshal(ev.raw, &v)
		if v.Name != "hello" || strings.Join(v.ChannelIDs, ",") != ss.Channel {
			t.Errorf("applications.get: %s, want hello with channel %s", ev.raw, ss.Channel)
		}
	} else {
		t.Errorf("no applications.get result")
	}
	if ev, ok := app.get("bridge"); ok {
		var v struct {
			ID         string   `json:"id"`
			BridgeType string   `json:"bridge_type"`
			Channels   []string `json:"channels"`
		}
		_ = json.Unmarshal(ev.raw, &v)
		if v.ID == "" || v.BridgeType != "mixing" || len(v.Channels) != 0 {
			t.Errorf("bridges.create: %s, want an empty mixing bridge", ev.raw)
		}
	} else {
		t.Errorf("no bridges.create result")
	}
	if ev, ok := app.get("bridgeAdd"); ok {
		var v struct{ Channels []string }
		_ = json.Unmarshal(ev.raw, &v)
		if strings.Join(v.Channels, ",") != ss.Channel {
			t.Errorf("bridge after addChannel: %s, want channel %s in it", ev.raw, ss.Channel)
		}
	} else {
		t.Errorf("no bridge.addChannel result")
	}
	if ev, ok := app.get("ChannelDestroyed"); ok {
		var v struct {
			Channel string `json:"channel"`
			Cause   int    `json:"cause"`
		}
		_ = json.Unmarshal(ev.raw, &v)
		if v.Channel != ss.Channel || v.Cause != 16 {
			t.Errorf("ChannelDestroyed: %s, want channel %s, cause 16 (normal clearing)", ev.raw, ss.Channel)
		}
	}
	for _, name := range []string{"bridgeDestroyed", "hungup", "StasisEnd", "ChannelDestroyed", "done"} {
		if _, ok := app.get(name); !ok {
			t.Errorf("the Node application printed no %q line", name)
		}
	}
	t.Logf("the Node application's events: %s", app.names())
}

// needNode skips (fails in CI) without node and npm.
func needNode(t *testing.T) {
	t.Helper()
	testenv.NeedTools(t, "Debian: apt-get install nodejs npm; scripts/deps.sh does it", "node", "npm")
}

// ---- the Node application ----

// nodeEvent is one JSON line the application printed, and when it
// arrived.
type nodeEvent struct {
	name string
	raw  json.RawMessage
	at   time.Time
}

// nodeApp is a running Node script that prints one JSON object with an
// "event" field per line.
type nodeApp struct {
	cmd    *exec.Cmd
	log    *logBuffer // stdout and stderr
	mu     sync.Mutex
	events []nodeEvent
	more   chan struct{} // signalled on each event
	exited chan struct{}
	err    error
}

func startNodeApp(t *testing.T, ctx context.Context, script string, env map[string]string) *nodeApp {
	t.Helper()
	cmd := exec.CommandContext(ctx, "node", script)
	cmd.Dir = filepath.Dir(script)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	a := &nodeApp{cmd: cmd, log: &logBuffer{}, more: make(chan struct{}, 1), exited: make(chan struct{})}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = a.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node %s: %v", script, err)
	}
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			at := time.Now()
			fmt.Fprintf(a.log, "%s %s\n", at.Format("15:04:05.000"), line)
			var head struct {
				Event string `json:"event"`
			}
			if json.Unmarshal([]byte(line), &head) != nil || head.Event == "" {
				continue
			}
			a.mu.Lock()
			a.events = append(a.events, nodeEvent{name: head.Event, raw: json.RawMessage(line), at: at})
			a.mu.Unlock()
			select {
			case a.more <- struct{}{}:
			default:
			}
		}
	}()
	go func() {
		<-scanned
		a.err = cmd.Wait()
		close(a.exited)
	}()
	return a
}

// get returns the first event called name so far.
func (a *nodeApp) get(name string) (nodeEvent, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, e := range a.events {
		if e.name == name {
			return e, true
		}
	}
	return nodeEvent{}, false
}

func (a *nodeApp) names() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, e := range a.events {
		out = append(out, e.name)
	}
	return strings.Join(out, " ")
}

// wait returns the first event called name, waiting up to timeout; an
// "error" line or the script's exit fails the test at once.
func (a *nodeApp) wait(t *testing.T, name string, timeout time.Duration) nodeEvent {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if e, ok := a.get(name); ok {
			return e
		}
		if e, ok := a.get("error"); ok {
			t.Fatalf("the Node application failed before %q: %s\n%s", name, e.raw, a.log.String())
		}
		select {
		case <-a.more:
		case <-a.exited:
			if e, ok := a.get(name); ok {
				return e
			}
			t.Fatalf("the Node application exited (%v) before %q\n%s", a.err, name, a.log.String())
		case <-deadline:
			t.Fatalf("the Node application printed no %q within %v\n%s", name, timeout, a.log.String())
		}
	}
}

// finish stops the script if it still runs and shows its output when the
// test failed (or runs verbose).
func (a *nodeApp) finish(t *testing.T) {
	select {
	case <-a.exited:
	case <-time.After(time.Second):
		_ = a.cmd.Process.Kill()
		<-a.exited
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("--- Node application output ---\n%s", a.log.String())
	}
}
