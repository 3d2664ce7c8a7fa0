package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"hotline/store"
	"hotline/store/storetest"
)

// server is one running `hotline serve` with its own database.
type server struct {
	Name     string
	SIPPort  int
	HTTPPort int
	RTPLo    int
	RTPHi    int
	DBURL    string
	Config   string // the config file it runs with
	DB       *store.Store

	cmd        *exec.Cmd
	args       []string // hotline's command line, for a restart
	log        *logBuffer
	exited     chan struct{}
	waitErr    error
	terminated bool
}

// serverOptions adjust the demo configuration for one server.
type serverOptions struct {
	Name string
	// RTPTimeout sets rtp.timeout (e.g. "2s"); empty keeps the demo's.
	RTPTimeout string
	// Edit changes the decoded configuration (maps and slices as
	// yaml.v3 decodes them) before it is written.
	Edit func(t testing.TB, cfg map[string]any)
	// RTPPorts is the size of the media port range (default 60).
	RTPPorts int
	// Transcripts keeps the demo's live transcripts on. Off by default:
	// most tests play tones, which a recognizer would take for endless
	// speech, at a CPU cost every parallel test would share.
	Transcripts bool
}

// logBuffer collects the server's output for failure reports.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// demoConfig reads configs/hotline.yaml with every path made absolute, so
// the copy works from any directory.
func demoConfig(t testing.TB) map[string]any {
	t.Helper()
	path := filepath.Join(repoRoot, "configs", "hotline.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read demo config: %v", err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	base := filepath.Dir(path)
	abs := func(p any) any {
		s, ok := p.(string)
		if !ok || s == "" || filepath.IsAbs(s) {
			return p
		}
		return filepath.Join(base, s)
	}
	for _, tv := range listOf(cfg["tenants"]) {
		tm, ok := tv.(map[string]any)
		if !ok {
			continue
		}
		tm["prompts"] = abs(tm["prompts"])
		if _, ok := tm["knowledge"]; ok {
			tm["knowledge"] = abs(tm["knowledge"])
		}
		if _, ok := tm["music"]; ok {
			tm["music"] = abs(tm["music"])
		}
		if flows, ok := tm["flows"].(map[string]any); ok {
			for k, v := range flows {
				flows[k] = abs(v)
			}
		}
	}
	return cfg
}

// pointCRM aims tenants' vars.crm that name the demo CRM on the default
// port (configs/hotline.yaml) at the test server's HTTP port.
func pointCRM(cfg map[string]any, httpPort int) {
	const shipped = "http://127.0.0.1:8080/"
	for _, tv := range listOf(cfg["tenants"]) {
		tm, _ := tv.(map[string]any)
		vars, _ := tm["vars"].(map[string]any)
		if crm, ok := vars["crm"].(string); ok && strings.HasPrefix(crm, shipped) {
			vars["crm"] = fmt.Sprintf("http://127.0.0.1:%d/%s", httpPort, strings.TrimPrefix(crm, shipped))
		}
	}
}

func listOf(v any) []any {
	l, _ := v.([]any)
	return l
}

// tenantOf finds a tenant's mapping in a decoded config.
func tenantOf(t testing.TB, cfg map[string]any, id string) map[string]any {
	t.Helper()
	for _, tv := range listOf(cfg["tenants"]) {
		if tm, ok := tv.(map[string]any); ok && tm["id"] == id {
			return tm
		}
	}
	t.Fatalf("config has no tenant %q", id)
	return nil
}

// demoPath is a file of the demo configuration, by its path relative to
// configs/.
func demoPath(rel string) string { return filepath.Join(repoRoot, "configs", rel) }

// startServer runs hotline with a fresh database and waits until /healthz
// says it takes calls. It is stopped (SIGTERM, clean exit checked) when t
// ends.
func startServer(t *testing.T, opt serverOptions) *server {
	t.Helper()
	if opt.Name == "" {
		opt.Name = "demo"
	}
	if opt.RTPPorts == 0 {
		opt.RTPPorts = 60
	}
	dir := t.TempDir()
	cfg := demoConfig(t)
	if opt.RTPTimeout != "" {
		rtp, _ := cfg["rtp"].(map[string]any)
		if rtp == nil {
			rtp = map[string]any{}
			cfg["rtp"] = rtp
		}
		rtp["timeout"] = opt.RTPTimeout
	}
	if !opt.Transcripts {
		if sp, ok := cfg["speech"].(map[string]any); ok {
			delete(sp, "transcribe")
		}
	}
	// The HTTP port is known before the config is written, so the demo
	// tenant's lookups reach this server's built-in demo CRM; an Edit may
	// still point vars.crm elsewhere.
	httpPort := allocPorts(t, 1, true)
	pointCRM(cfg, httpPort)
	if opt.Edit != nil {
		opt.Edit(t, cfg)
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, opt.Name+".yaml")
	if err := os.WriteFile(cfgPath, out, 0o644); err != nil {
		t.Fatal(err)
	}

	s := &server{
		Name:     opt.Name,
		SIPPort:  allocPorts(t, 1, true),
		HTTPPort: httpPort,
		Config:   cfgPath,
		log:      &logBuffer{},
		exited:   make(chan struct{}),
	}
	s.RTPLo = allocPorts(t, opt.RTPPorts, false)
	s.RTPHi = s.RTPLo + opt.RTPPorts - 1
	s.DBURL = storetest.NewDB(t)

	s.args = []string{"serve", "--config", cfgPath,
		"--sip", fmt.Sprintf("127.0.0.1:%d", s.SIPPort),
		"--http", fmt.Sprintf("127.0.0.1:%d", s.HTTPPort),
		"--rtp-ports", fmt.Sprintf("%d-%d", s.RTPLo, s.RTPHi),
		"--data", filepath.Join(dir, "data")}
	s.launch(t)
	// Cleanups run last-in first-out: the server stops before its
	// database is dropped (registered above by NewDB).
	t.Cleanup(func() { s.stop(t) })
	s.waitHealthy(t)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, err := store.Open(ctx, s.DBURL)
	if err != nil {
		t.Fatalf("open the server's database: %v", err)
	}
	s.DB = db
	t.Logf("hotline %s: sip 127.0.0.1:%d http %d rtp %d-%d", s.Name, s.SIPPort, s.HTTPPort, s.RTPLo, s.RTPHi)
	return s
}

// launch starts the hotline process with s.args.
func (s *server) launch(t *testing.T) {
	t.Helper()
	s.exited = make(chan struct{})
	s.waitErr = nil
	s.cmd = exec.Command(hotlineBin, s.args...)
	s.cmd.Env = append(os.Environ(), "DATABASE_URL="+s.DBURL)
	s.cmd.Stdout = s.log
	s.cmd.Stderr = s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start hotline: %v", err)
	}
	cmd, exited := s.cmd, s.exited
	go func() {
		s.waitErr = cmd.Wait()
		close(exited)
	}()
}

// kill9 kills the server as a crash would (SIGKILL: no cleanup at all).
func (s *server) kill9(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill -9 hotline: %v", err)
	}
	<-s.exited
}

// restart starts the server again on the same database, data directory
// and ports, as an operator would after a crash.
func (s *server) restart(t *testing.T) {
	t.Helper()
	fmt.Fprintf(s.log, "--- restart ---\n")
	s.launch(t)
	s.waitHealthy(t)
}

// waitHealthy waits until /healthz says the server takes calls.
func (s *server) waitHealthy(t *testing.T) {
	t.Helper()
	// Generous: a dozen race-built servers start at once on two cores
	// (main_test.go's -parallel), and a healthy one answers in ~2 s.
	const limit = 90 * time.Second
	deadline := time.Now().Add(limit)
	url := fmt.Sprintf("http://127.0.0.1:%d/healthz", s.HTTPPort)
	client := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-s.exited:
			t.Fatalf("hotline (%s) exited before it was healthy: %v\n%s", s.Name, s.waitErr, s.logTail(60))
		default:
		}
		if res, err := client.Get(url); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("hotline (%s) not healthy after %v\n%s", s.Name, limit, s.logTail(60))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// alive fails the test when the server has exited.
func (s *server) alive(t testing.TB) {
	t.Helper()
	select {
	case <-s.exited:
		t.Fatalf("hotline (%s) died: %v\n%s", s.Name, s.waitErr, s.logTail(80))
	default:
	}
}

// healthy checks the server is alive and /healthz answers 200.
func (s *server) healthy(t testing.TB) {
	t.Helper()
	s.alive(t)
	res, err := (&http.Client{Timeout: 2 * time.Second}).Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", s.HTTPPort))
	if err != nil {
		t.Fatalf("healthz: %v\n%s", err, s.logTail(40))
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %s\n%s", res.Status, s.logTail(40))
	}
}

// stop is the cleanup: terminate, unless the test did, then close the
// database handle.
func (s *server) stop(t testing.TB) {
	if s.DB != nil {
		defer s.DB.Close()
	}
	if s.terminated {
		return
	}
	s.terminate(t)
}

// terminate sends SIGTERM and checks that the server exits cleanly and in
// time, without a panic or data race in its output.
func (s *server) terminate(t testing.TB) {
	t.Helper()
	s.terminated = true
	select {
	case <-s.exited:
		t.Errorf("hotline (%s) had already exited: %v\n%s", s.Name, s.waitErr, s.logTail(80))
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
		t.Errorf("hotline (%s) did not exit within 15s of SIGTERM\n%s", s.Name, s.logTail(60))
		return
	}
	if s.waitErr != nil {
		t.Errorf("hotline (%s) exited with %v after SIGTERM\n%s", s.Name, s.waitErr, s.logTail(60))
	}
	log := s.log.String()
	for _, bad := range []string{"panic:", "DATA RACE", "fatal error:"} {
		if strings.Contains(log, bad) {
			t.Errorf("hotline (%s) output contains %q:\n%s", s.Name, bad, s.logTail(120))
		}
	}
	if testing.Verbose() || t.Failed() {
		if n := strings.Count(log, "level=ERROR"); n > 0 {
			t.Logf("hotline (%s) logged %d ERROR lines", s.Name, n)
		}
	}
}

// logTail is the last n lines of the server's output.
func (s *server) logTail(n int) string {
	lines := strings.Split(strings.TrimRight(s.log.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "--- hotline " + s.Name + " log (tail) ---\n" + strings.Join(lines, "\n")
}

// logFor is every line of the server's output that mentions one of ids
// (a SIP Call-ID, a call UUID).
func (s *server) logFor(ids ...string) string {
	var out []string
	for _, ln := range strings.Split(s.log.String(), "\n") {
		for _, id := range ids {
			if id != "" && strings.Contains(ln, id) {
				out = append(out, ln)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

// ---- the database ----

// findCall waits for the CDR of a SIP Call-ID to exist and, when ended is
// set, to be complete.
func (s *server) findCall(t testing.TB, sipCallID string, ended bool, timeout time.Duration) *store.CallRecord {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, err := s.DB.FindCallBySIPCallID(ctx, sipCallID)
		cancel()
		if err == nil && (!ended || c.EndedAt != nil) {
			return c
		}
		if err != nil {
			last = err
		} else {
			last = errors.New("call has no ended_at yet")
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %sCDR for SIP Call-ID %q after %v: %v\n%s\n%s", map[bool]string{true: "finished "}[ended],
				sipCallID, timeout, last, s.logFor(sipCallID), s.logTail(30))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// noCall checks that no CDR exists for a Call-ID.
func (s *server) noCall(t testing.TB, sipCallID string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if c, err := s.DB.FindCallBySIPCallID(ctx, sipCallID); err == nil {
		t.Errorf("a refused call left a CDR: %+v", *c)
	} else if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("find call: %v", err)
	}
}

// events reads a call's timeline.
func (s *server) events(t testing.TB, c *store.CallRecord) []store.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ev, err := s.DB.CallEvents(ctx, c.TenantID, c.ID)
	if err != nil {
		t.Fatalf("events of call %s: %v", c.ID, err)
	}
	return ev
}

// settledEvents waits until the timeline of an ended call stops growing
// (the CDR writer batches) and returns it.
func (s *server) settledEvents(t testing.TB, c *store.CallRecord) []store.Event {
	t.Helper()
	var prev []store.Event
	for i := 0; i < 30; i++ {
		ev := s.events(t, c)
		if i > 0 && len(ev) == len(prev) && hasKind(ev, "flow_end") {
			return ev
		}
		prev = ev
		time.Sleep(200 * time.Millisecond)
	}
	return prev
}

// report prints, when t has failed, what helps to see why: the CDR, the
// timeline and the server's log lines for the call.
func (s *server) report(t testing.TB, sipCallID string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if !t.Failed() {
			if testing.Verbose() {
				if c, err := s.DB.FindCallBySIPCallID(ctx, sipCallID); err == nil {
					t.Logf("CDR: %s", formatCDR(c))
				}
			}
			return
		}
		var b strings.Builder
		c, err := s.DB.FindCallBySIPCallID(ctx, sipCallID)
		if err != nil {
			fmt.Fprintf(&b, "CDR for %s: %v\n", sipCallID, err)
		} else {
			fmt.Fprintf(&b, "CDR: %s\n", formatCDR(c))
			if ev, err := s.DB.CallEvents(ctx, c.TenantID, c.ID); err == nil {
				b.WriteString(formatEvents(ev))
			} else {
				fmt.Fprintf(&b, "events: %v\n", err)
			}
		}
		ids := []string{sipCallID}
		if c != nil {
			ids = append(ids, c.ID.String())
		}
		fmt.Fprintf(&b, "--- hotline %s log lines for this call ---\n%s\n%s", s.Name, s.logFor(ids...), s.logTail(25))
		t.Log("\n" + b.String())
	})
}

func formatCDR(c *store.CallRecord) string {
	ts := func(p *time.Time) string {
		if p == nil {
			return "-"
		}
		return p.Sub(c.StartedAt).Round(time.Millisecond).String()
	}
	return fmt.Sprintf("id=%s tenant=%s from=%s to=%s codec=%s answered=+%s ended=+%s cause=%q side=%q sip=%d rtp sent=%d recv=%d lost=%d jitter=%.1fms path=%q",
		c.ID, c.TenantID, c.FromNumber, c.ToNumber, c.Codec, ts(c.AnsweredAt), ts(c.EndedAt), c.HangupCause, c.HangupSide, c.SIPCode,
		c.PacketsSent, c.PacketsReceived, c.PacketsLost, c.JitterMs, c.IVRPath)
}

func formatEvents(ev []store.Event) string {
	var b strings.Builder
	b.WriteString("call_events:\n")
	var t0 time.Time
	for i, e := range ev {
		if i == 0 {
			t0 = e.At
		}
		keys := make([]string, 0, len(e.Data))
		for k := range e.Data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var kv []string
		for _, k := range keys {
			kv = append(kv, k+"="+e.Data[k])
		}
		fmt.Fprintf(&b, "  %3d +%-8s %-14s %-16s %s\n", e.Seq, e.At.Sub(t0).Round(time.Millisecond), e.Kind, e.Step, strings.Join(kv, " "))
	}
	return b.String()
}

// ---- timeline queries ----

func hasKind(ev []store.Event, kind string) bool {
	for _, e := range ev {
		if e.Kind == kind {
			return true
		}
	}
	return false
}

func eventsOf(ev []store.Event, kind string) []store.Event {
	var out []store.Event
	for _, e := range ev {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// stepPath is the names of the steps entered, in order.
func stepPath(ev []store.Event) []string {
	var out []string
	for _, e := range eventsOf(ev, "step") {
		out = append(out, e.Step)
	}
	return out
}

// keyEvents are the key presses in a timeline: the "dtmf" events (every
// key received, as the call records them) when there are any, else the
// "digit" events (the keys the IVR read). Flushed keys are left out.
func keyEvents(ev []store.Event) []store.Event {
	kind := "digit"
	if hasKind(ev, "dtmf") {
		kind = "dtmf"
	}
	var out []store.Event
	for _, e := range eventsOf(ev, kind) {
		if e.Data["flushed"] != "true" {
			out = append(out, e)
		}
	}
	return out
}

// keysHeard lists the key presses as "key/source".
func keysHeard(ev []store.Event) []string {
	var out []string
	for _, e := range keyEvents(ev) {
		out = append(out, e.Data["key"]+"/"+e.Data["source"])
	}
	return out
}

// menuChoices lists "step:key->next" for each menu choice.
func menuChoices(ev []store.Event) []string {
	var out []string
	for _, e := range eventsOf(ev, "menu") {
		out = append(out, fmt.Sprintf("%s:%s->%s", e.Step, e.Data["choice"], e.Data["next"]))
	}
	return out
}

// writeYAML writes a decoded configuration back to a file.
func writeYAML(t testing.TB, dir, name string, v any) string {
	t.Helper()
	out, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// newDBURL is a fresh database for a command that may touch one.
func newDBURL(t testing.TB) string { return storetest.NewDB(t) }

// runHotline runs the binary to completion (at most 20 s) and returns its
// combined output and exit code.
func runHotline(t testing.TB, env []string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, hotlineBin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Errorf("hotline %s still running after 20s (killed)", strings.Join(args, " "))
		return out.String(), -1
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return out.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("run hotline: %v", err)
	}
	return out.String(), 0
}
