package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
	"time"
)

// sippRun is one SIPp call from a scenario under test/sipp/. Scenarios are
// Go templates ({{.Name}}) for what only the test knows (pauses computed
// from the prompts, pcap files made for the test); SIPp's own [keywords]
// are left alone.
type sippRun struct {
	Scenario string         // file name under test/sipp/
	Service  string         // the dialled number (-s)
	LocalIP  string         // -i, default 127.0.0.1
	Data     map[string]any // template data
	Timeout  time.Duration  // whole run, default 60s
}

type sippResult struct {
	CallID   string
	ExitCode int
	Output   string
	Messages string // -trace_msg
	Errors   string // -trace_err
	Duration time.Duration
}

func (r *sippResult) String() string {
	return fmt.Sprintf("sipp exit %d after %v (Call-ID %s)\n--- sipp output ---\n%s\n--- sipp unexpected messages ---\n%s\n--- sipp messages ---\n%s",
		r.ExitCode, r.Duration.Round(time.Millisecond), r.CallID, tailLines(r.Output, 30), tailLines(r.Errors, 60), tailLines(r.Messages, 200))
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[... %d lines ...]", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// renderScenario expands a scenario template into dir.
func renderScenario(t testing.TB, name, dir string, data map[string]any) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("sipp", name))
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := template.New(name).Option("missingkey=error").Parse(string(src))
	if err != nil {
		t.Fatalf("scenario %s: %v", name, err)
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, data); err != nil {
		t.Fatalf("scenario %s: %v", name, err)
	}
	out := filepath.Join(dir, name)
	if err := os.WriteFile(out, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// needSIPp skips (or, in CI, fails) a test when SIPp or the pcap files of
// Debian's sip-tester package are missing.
func needSIPp(t testing.TB) {
	t.Helper()
	needTools(t, "sipp")
	needFiles(t, filepath.Join(sippShare, "g711a.pcap"), dtmfCaptureFile('1'))
}

// runSIPp runs one call and returns how it went; it does not judge the
// exit code (some tests expect failures).
func (s *server) runSIPp(t testing.TB, r sippRun) *sippResult {
	t.Helper()
	needSIPp(t)
	dir := t.TempDir()
	if r.LocalIP == "" {
		r.LocalIP = "127.0.0.1"
	}
	if r.Timeout == 0 {
		r.Timeout = 60 * time.Second
	}
	if r.Data == nil {
		r.Data = map[string]any{}
	}
	scen := renderScenario(t, r.Scenario, dir, r.Data)
	res := &sippResult{CallID: fmt.Sprintf("e2e-sipp-%s-%s", strings.TrimSuffix(r.Scenario, ".xml"), randHex(6))}
	sipPort := allocPorts(t, 1, false)
	mediaPort := allocPorts(t, 4, false)
	msgFile := filepath.Join(dir, "messages.log")
	errFile := filepath.Join(dir, "errors.log")
	args := []string{
		"-sf", scen,
		"-s", r.Service,
		fmt.Sprintf("127.0.0.1:%d", s.SIPPort),
		"-i", r.LocalIP, "-bind_local",
		"-p", fmt.Sprint(sipPort),
		"-mi", r.LocalIP,
		"-mp", fmt.Sprint(mediaPort),
		"-m", "1", "-l", "1",
		"-cid_str", res.CallID,
		"-nostdin",
		"-timeout", fmt.Sprintf("%ds", int(r.Timeout.Seconds())), "-timeout_error",
		"-trace_msg", "-message_file", msgFile,
		"-trace_err", "-error_file", errFile,
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.Timeout+15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sipp", args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	start := time.Now()
	err := cmd.Run()
	res.Duration = time.Since(start)
	res.Output = out.String()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			res.ExitCode = ee.ExitCode()
		} else {
			t.Fatalf("run sipp: %v\n%s", err, res.Output)
		}
	}
	if b, err := os.ReadFile(msgFile); err == nil {
		res.Messages = string(b)
	}
	if b, err := os.ReadFile(errFile); err == nil {
		res.Errors = string(b)
	}
	return res
}

// mustSIPp runs a call that must complete as scripted (exit code 0).
func (s *server) mustSIPp(t testing.TB, r sippRun) *sippResult {
	t.Helper()
	res := s.runSIPp(t, r)
	s.report(t, res.CallID)
	if res.ExitCode != 0 {
		t.Fatalf("SIPp scenario %s failed:\n%s", r.Scenario, res)
	}
	return res
}
