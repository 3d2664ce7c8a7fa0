package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSpeechWorkerRestart: the server prepares its tenants' vocabularies on
// its speech worker at start, and again on the worker it restarts after
// the worker died, so a crash does not leave the next calls' first
// phrases waiting for a search to be built.
func TestSpeechWorkerRestart(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverOptions{Name: "speech-worker", Transcripts: true})
	needRecognizer(t, srv)
	const prepared = `msg="speech: vocabulary prepared"`
	const restarting = "speech worker exited; restarting"
	// waitLog waits for what in the server's log after the first after.
	waitLog := func(after, what string) {
		t.Helper()
		for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			log := srv.log.String()
			if i := strings.Index(log, after); i >= 0 && strings.Contains(log[i:], what) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %q after %q in the server's log:\n%s", what, after, srv.logTail(30))
			}
		}
	}
	waitLog("", prepared)
	pid := speechWorkerOf(t, srv.cmd.Process.Pid)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitLog("", restarting)
	waitLog(restarting, prepared)
}

// speechWorkerOf is the pid of the `hotline speech serve` child of the
// process parent (read from /proc: no procps needed).
func speechWorkerOf(t *testing.T, parent int) int {
	t.Helper()
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		stat, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so split after ')'.
		_, rest, ok := strings.Cut(string(stat), ") ")
		f := strings.Fields(rest)
		if !ok || len(f) < 2 || f[1] != strconv.Itoa(parent) {
			continue
		}
		cmdline, _ := os.ReadFile(d + "/cmdline")
		if strings.Contains(string(cmdline), "speech\x00serve") {
			pid, _ := strconv.Atoi(filepath.Base(d))
			return pid
		}
	}
	t.Fatalf("no speech worker among the children of %d", parent)
	return 0
}
