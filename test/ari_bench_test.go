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
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestARIBench measures ARI REST operations per second against a real
// server with real SIP calls (docs/benchmarks.md, "ARI"). It runs only
// with HOTLINE_ARI_BENCH=1 (make bench):
//
//	HOTLINE_ARI_BENCH=1 go test -count=1 -run '^TestARIBench$' -v ./test/
//
// Outbound: an application (plain HTTP + the events WebSocket) places
// HOTLINE_ARI_BENCH_CALLS calls (default 2000), HOTLINE_ARI_BENCH_CONC at a
// time (default 10), to a SIPp UAS (-rtp_echo) through an outbound trunk:
// originate, wait StasisStart (the UAS answered), play tone:ring, wait
// PlaybackStarted, hang up, wait ChannelDestroyed.
//
// Inbound: SIPp calls +15550101 (routed to the application)
// HOTLINE_ARI_BENCH_IN_CALLS times (default 2000) at HOTLINE_ARI_BENCH_IN_RATE
// calls/s (default 400); the application answers, plays tone:ring, waits
// PlaybackStarted and hangs up; SIPp answers the BYE.
//
// It logs each REST operation's latency (p50/p95/p99/max), REST ops/s,
// calls/s and the CPU the server and SIPp used; any failed operation or
// call fails the test.
func TestARIBench(t *testing.T) {
	if os.Getenv("HOTLINE_ARI_BENCH") != "1" {
		t.Skip("set HOTLINE_ARI_BENCH=1 (make bench) to run the ARI benchmark")
	}
	needSIPp(t)
	calls := envInt("HOTLINE_ARI_BENCH_CALLS", 2000)
	conc := envInt("HOTLINE_ARI_BENCH_CONC", 10)
	inCalls := envInt("HOTLINE_ARI_BENCH_IN_CALLS", 2000)
	inRate := envInt("HOTLINE_ARI_BENCH_IN_RATE", 400)

	uas := startBenchUAS(t, calls)
	s := startServer(t, serverOptions{Name: "ari-bench", RTPPorts: 400, Edit: func(t testing.TB, cfg map[string]any) {
		demo := cfg["tenants"].([]any)[0].(map[string]any)
		trunks := demo["trunks"].(map[string]any)
		trunks["outbound"] = []any{map[string]any{"name": "uas", "address": fmt.Sprintf("127.0.0.1:%d", uas.Port)}}
		if lg, ok := cfg["log"].(map[string]any); ok {
			lg["level"] = "warn" // a log line per call event is not what we measure
		}
	}})
	app := connectBenchApp(t, s, "hello")
	idle0 := procCPU(s.cmd.Process.Pid)
	time.Sleep(2 * time.Second)
	t.Logf("server idle (demo config, application connected): %.1f%% of a core", 100*(procCPU(s.cmd.Process.Pid)-idle0).Seconds()/2)

	t.Run("outbound", func(t *testing.T) {
		m := newBenchMetrics()
		cpu0, app0, load0 := procCPU(s.cmd.Process.Pid), procCPU(os.Getpid()), loadAvg()
		uasCPU := sampleCPU(uas.pid)
		var next atomic.Int64
		start := time.Now()
		var wg sync.WaitGroup
		for range conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := next.Add(1)
					if i > int64(calls) {
						return
					}
					if err := app.outboundCall(m, int(i)); err != nil {
						m.fail(err)
					}
				}
			}()
		}
		wg.Wait()
		elapsed := time.Since(start)
		m.report(t, fmt.Sprintf("outbound: %d calls, %d in flight, to SIPp UAS", calls, conc), elapsed,
			procCPU(s.cmd.Process.Pid)-cpu0, 0, procCPU(os.Getpid())-app0, load0)
		select {
		case <-uas.done:
			t.Logf("SIPp UAS CPU over the run: %.2f s", uasCPU().Seconds())
			if uas.err != nil {
				t.Errorf("SIPp UAS: %v\n%s", uas.err, tailLines(uas.out.String(), 30))
			}
		case <-time.After(10 * time.Second):
			uasCPU()
			t.Errorf("SIPp UAS did not finish its %d calls:\n%s", calls, tailLines(uas.out.String(), 30))
		}
	})

	t.Run("inbound", func(t *testing.T) {
		m := newBenchMetrics()
		var wg sync.WaitGroup
		app.mu.Lock()
		app.onStart = func(id string, evs chan benchEvent) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := app.inboundCall(m, id, evs); err != nil {
					m.fail(err)
				}
			}()
		}
		app.mu.Unlock()
		cpu0, app0, load0 := procCPU(s.cmd.Process.Pid), procCPU(os.Getpid()), loadAvg()
		start := time.Now()
		res := runBenchUAC(t, s, inCalls, inRate)
		wg.Wait()
		elapsed := time.Since(start)
		m.report(t, fmt.Sprintf("inbound: %d SIPp calls offered at %d/s to %s", inCalls, inRate, ariNumber), elapsed,
			procCPU(s.cmd.Process.Pid)-cpu0, res.cpu, procCPU(os.Getpid())-app0, load0)
		if res.exit != 0 {
			t.Errorf("SIPp UAC exit %d:\n%s\n%s", res.exit, tailLines(res.out, 30), tailLines(res.errs, 40))
		}
		if got := m.count("answer"); got != inCalls {
			t.Errorf("answered %d calls of %d", got, inCalls)
		}
	})
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// benchMetrics collects REST latencies per operation and failures.
type benchMetrics struct {
	mu    sync.Mutex
	lat   map[string][]time.Duration
	fails []string
}

func newBenchMetrics() *benchMetrics { return &benchMetrics{lat: map[string][]time.Duration{}} }

func (m *benchMetrics) add(op string, d time.Duration) {
	m.mu.Lock()
	m.lat[op] = append(m.lat[op], d)
	m.mu.Unlock()
}

func (m *benchMetrics) fail(err error) {
	m.mu.Lock()
	m.fails = append(m.fails, err.Error())
	m.mu.Unlock()
}

func (m *benchMetrics) count(op string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.lat[op])
}

// restOps are the operations that are REST requests (the others are
// waits for events).
var restOps = []string{"originate", "answer", "play", "hangup"}

func (m *benchMetrics) report(t *testing.T, title string, elapsed, serverCPU, sippCPU, appCPU time.Duration, load0 string) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s, %.2f s wall; load average before %s, after %s\n", title, elapsed.Seconds(), load0, loadAvg())
	fmt.Fprintf(&b, "| step | n | p50 ms | p95 ms | p99 ms | max ms |\n| --- | --- | --- | --- | --- | --- |\n")
	rest, callsDone := 0, len(m.lat["hangup"])
	var ops []string
	for op := range m.lat {
		ops = append(ops, op)
	}
	slices.SortFunc(ops, func(a, b string) int { return stepOrder(a) - stepOrder(b) })
	for _, op := range ops {
		l := slices.Clone(m.lat[op])
		slices.Sort(l)
		if slices.Contains(restOps, op) {
			rest += len(l)
		}
		fmt.Fprintf(&b, "| %s | %d | %.2f | %.2f | %.2f | %.2f |\n", op, len(l), ms(pct(l, 0.50)), ms(pct(l, 0.95)), ms(pct(l, 0.99)), ms(l[len(l)-1]))
	}
	fmt.Fprintf(&b, "REST ops: %d in %.2f s = %.0f ops/s; calls: %d = %.1f calls/s; failed: %d\n",
		rest, elapsed.Seconds(), float64(rest)/elapsed.Seconds(), callsDone, float64(callsDone)/elapsed.Seconds(), len(m.fails))
	fmt.Fprintf(&b, "CPU: server %.2f s (%.0f%% of a core, %.2f ms per call), SIPp %.2f s (%.0f%%), this test's application %.2f s (%.0f%%)\n",
		serverCPU.Seconds(), 100*serverCPU.Seconds()/elapsed.Seconds(), ms(serverCPU)/float64(max(callsDone, 1)),
		sippCPU.Seconds(), 100*sippCPU.Seconds()/elapsed.Seconds(), appCPU.Seconds(), 100*appCPU.Seconds()/elapsed.Seconds())
	t.Log(b.String())
	if len(m.fails) > 0 {
		t.Errorf("%d failures, first: %s", len(m.fails), strings.Join(m.fails[:min(5, len(m.fails))], "\n"))
	}
}

func stepOrder(op string) int {
	for i, o := range []string{"originate", "originate→StasisStart", "answer", "play", "play→PlaybackStarted", "hangup", "hangup→ChannelDestroyed", "call"} {
		if o == op {
			return i
		}
	}
	return 100
}

func pct(l []time.Duration, p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	return l[min(len(l)-1, int(float64(len(l))*p))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// procCPU is the user + system CPU a process has used (0 when gone).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:]) // after "pid (comm) "
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.Atoi(f[11])
	k, _ := strconv.Atoi(f[12])
	return time.Duration(u+k) * 10 * time.Millisecond // USER_HZ 100
}

// sampleCPU follows a process's CPU every 100 ms until stop is called,
// which returns the last figure (a process that exited keeps it).
func sampleCPU(pid int) (stop func() time.Duration) {
	done := make(chan struct{})
	var last atomic.Int64
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			if c := procCPU(pid); c > 0 {
				last.Store(int64(c))
			}
			select {
			case <-done:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return func() time.Duration {
		close(done)
		<-finished
		return time.Duration(last.Load())
	}
}

func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// benchEvent is the part of an ARI event the benchmark needs.
type benchEvent struct {
	Type    string `json:"type"`
	Channel struct {
		ID    string `json:"id"`
		State string `json:"state"`
	} `json:"channel"`
	Playback struct {
		ID        string `json:"id"`
		TargetURI string `json:"target_uri"`
	} `json:"playback"`
}

func (e benchEvent) channel() string {
	if e.Channel.ID != "" {
		return e.Channel.ID
	}
	return strings.TrimPrefix(e.Playback.TargetURI, "channel:")
}

// benchApp is an ARI application over plain HTTP and one events
// WebSocket: one goroutine reads the events and hands each channel's to
// the goroutine driving that channel.
type benchApp struct {
	t    *testing.T
	name string
	base string
	hc   *http.Client

	mu      sync.Mutex
	chans   map[string]chan benchEvent
	onStart func(id string, evs chan benchEvent) // a StasisStart for a channel nobody follows
}

func connectBenchApp(t *testing.T, s *server, name string) *benchApp {
	t.Helper()
	a := &benchApp{t: t, name: name, base: fmt.Sprintf("http://127.0.0.1:%d/ari", s.HTTPPort),
		hc:    &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
		chans: map[string]chan benchEvent{}}
	ctx, cancel := context.WithCancel(context.Background())
	dctx, dcancel := context.WithTimeout(ctx, 5*time.Second)
	defer dcancel()
	ws, _, err := websocket.Dial(dctx, fmt.Sprintf("ws://127.0.0.1:%d/ari/events?app=%s", s.HTTPPort, name),
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Basic ZGVtbzpkZW1vLWFyaQ=="}}}) // demo:demo-ari
	if err != nil {
		cancel()
		t.Fatalf("events websocket: %v", err)
	}
	readDone := make(chan struct{})
	t.Cleanup(func() {
		cancel()
		ws.CloseNow()
		<-readDone
	})
	go func() {
		defer close(readDone)
		for {
			_, data, err := ws.Read(ctx)
			if err != nil {
				if ctx.Err() == nil {
					t.Errorf("events websocket: %v", err)
				}
				return
			}
			var ev benchEvent
			if err := json.Unmarshal(data, &ev); err != nil {
				t.Errorf("event %q: %v", data, err)
				continue
			}
			id := ev.channel()
			a.mu.Lock()
			evs := a.chans[id]
			if evs == nil && ev.Type == "StasisStart" && a.onStart != nil {
				evs = make(chan benchEvent, 64)
				a.chans[id] = evs
				a.onStart(id, evs)
			}
			a.mu.Unlock()
			if evs != nil {
				evs <- ev
			}
		}
	}()
	// The application exists once the hub registered it.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if code, _ := ariGet(t, s, "/applications/"+name); code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("application %s never registered", name)
		}
	}
	return a
}

func (a *benchApp) follow(id string) chan benchEvent {
	evs := make(chan benchEvent, 64)
	a.mu.Lock()
	a.chans[id] = evs
	a.mu.Unlock()
	return evs
}

func (a *benchApp) forget(id string) {
	a.mu.Lock()
	delete(a.chans, id)
	a.mu.Unlock()
}

// rest does one request and times it; want is the expected status.
func (a *benchApp) rest(m *benchMetrics, op, method, path string, want int) error {
	req, err := http.NewRequest(method, a.base+path, nil)
	if err != nil {
		return err
	}
	req.SetBasicAuth("demo", "demo-ari")
	start := time.Now()
	resp, err := a.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d %s, want %d", method, path, resp.StatusCode, body, want)
	}
	m.add(op, d)
	return nil
}

// wait reads a channel's events until one of type typ; the channel's
// destruction before it is an error.
func wait(evs chan benchEvent, id, typ string, timeout time.Duration) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case ev := <-evs:
			if ev.Type == typ {
				return nil
			}
			if ev.Type == "ChannelDestroyed" {
				return fmt.Errorf("channel %s destroyed while waiting for %s", id, typ)
			}
		case <-timer.C:
			return fmt.Errorf("channel %s: no %s within %v", id, typ, timeout)
		}
	}
}

func (a *benchApp) outboundCall(m *benchMetrics, i int) error {
	id := fmt.Sprintf("bench-out-%d-%s", i, randHex(3))
	evs := a.follow(id)
	defer a.forget(id)
	start := time.Now()
	if err := a.rest(m, "originate", "POST", fmt.Sprintf("/channels?endpoint=PJSIP/%%2B1555765%04d@uas&app=%s&channelId=%s&callerId=%%2B15550101", i%10000, a.name, id), 200); err != nil {
		return err
	}
	if err := wait(evs, id, "StasisStart", 10*time.Second); err != nil {
		return err
	}
	m.add("originate→StasisStart", time.Since(start))
	return a.playAndHangup(m, id, evs, start)
}

func (a *benchApp) inboundCall(m *benchMetrics, id string, evs chan benchEvent) error {
	defer a.forget(id)
	start := time.Now()
	if err := a.rest(m, "answer", "POST", "/channels/"+id+"/answer", 204); err != nil {
		return err
	}
	return a.playAndHangup(m, id, evs, start)
}

func (a *benchApp) playAndHangup(m *benchMetrics, id string, evs chan benchEvent, start time.Time) error {
	t0 := time.Now()
	if err := a.rest(m, "play", "POST", "/channels/"+id+"/play?media=tone:ring", 201); err != nil {
		return err
	}
	if err := wait(evs, id, "PlaybackStarted", 10*time.Second); err != nil {
		return err
	}
	m.add("play→PlaybackStarted", time.Since(t0))
	t1 := time.Now()
	if err := a.rest(m, "hangup", "DELETE", "/channels/"+id, 204); err != nil {
		return err
	}
	if err := wait(evs, id, "ChannelDestroyed", 10*time.Second); err != nil {
		return err
	}
	m.add("hangup→ChannelDestroyed", time.Since(t1))
	m.add("call", time.Since(start))
	return nil
}

// benchUAS is SIPp's built-in UAS answering n calls, echoing RTP.
type benchUAS struct {
	Port int
	pid  int
	done chan struct{}
	err  error
	out  strings.Builder
}

func startBenchUAS(t *testing.T, n int) *benchUAS {
	t.Helper()
	u := &benchUAS{Port: allocPorts(t, 1, false), done: make(chan struct{})}
	mediaPort := allocPorts(t, 4, false)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	cmd := exec.CommandContext(ctx, "sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", fmt.Sprint(u.Port),
		"-mi", "127.0.0.1", "-mp", fmt.Sprint(mediaPort), "-rtp_echo", "-m", fmt.Sprint(n), "-nostdin",
		"-timeout", "300s", "-timeout_error", "-trace_err", "-error_file", filepath.Join(dir, "errors.log"))
	cmd.Dir = dir
	cmd.Stdout = &u.out
	cmd.Stderr = &u.out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start sipp uas: %v", err)
	}
	u.pid = cmd.Process.Pid
	go func() {
		defer cancel()
		u.err = cmd.Wait()
		close(u.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-u.done
	})
	time.Sleep(300 * time.Millisecond) // SIPp binds its socket
	return u
}

// benchUACScenario calls, waits for the application to answer and to hang
// up, and answers the BYE.
const benchUACScenario = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="hotline ari bench caller">
  <send retrans="500">
    <![CDATA[

      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "bench" <sip:+15557001234@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:+15557001234@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=bench 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=bench
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-16

    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true" rrs="true"/>
  <send>
    <![CDATA[

      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "bench" <sip:+15557001234@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: <sip:+15557001234@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv request="BYE" timeout="30000"/>
  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:+15557001234@[local_ip]:[local_port]>
      Content-Length: 0

    ]]>
  </send>
  <ResponseTimeRepartition value="10, 20, 50, 100, 200, 500"/>
</scenario>
`

type uacResult struct {
	exit      int
	out, errs string
	cpu       time.Duration
}

// runBenchUAC places n calls to the application's number at rate per
// second and waits for SIPp to finish.
func runBenchUAC(t *testing.T, s *server, n, rate int) uacResult {
	t.Helper()
	dir := t.TempDir()
	scen := filepath.Join(dir, "ari_bench_uac.xml")
	if err := os.WriteFile(scen, []byte(benchUACScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	errFile := filepath.Join(dir, "errors.log")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sipp", "-sf", scen, "-s", ariNumber, fmt.Sprintf("127.0.0.1:%d", s.SIPPort),
		"-i", "127.0.0.1", "-bind_local", "-p", fmt.Sprint(allocPorts(t, 1, false)),
		"-mi", "127.0.0.1", "-mp", fmt.Sprint(allocPorts(t, 4, false)),
		"-m", fmt.Sprint(n), "-r", fmt.Sprint(rate), "-l", fmt.Sprint(max(4*rate, 50)),
		"-nostdin", "-timeout", "240s", "-timeout_error", "-trace_err", "-error_file", errFile)
	cmd.Dir = dir
	var out strings.Builder
	cmd.Stdout = &out
	cmd.Stderr = &out
	var res uacResult
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sipp uac: %v", err)
	}
	stopCPU := sampleCPU(cmd.Process.Pid) // SIPp is gone once Wait returns
	err := cmd.Wait()
	res.cpu = stopCPU()
	if ee, ok := err.(*exec.ExitError); ok {
		res.exit = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("sipp uac: %v", err)
	}
	res.out = out.String()
	if b, err := os.ReadFile(errFile); err == nil {
		res.errs = string(b)
	}
	return res
}
