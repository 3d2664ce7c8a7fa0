// Package e2e holds Hotline's end-to-end tests: the real binary, a fresh
// PostgreSQL database per server, and real SIP peers (SIPp, baresip) plus a
// small SIP/RTP caller written here for what those peers cannot do.
//
//	cd /work/main && DATABASE_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable go test -count=1 ./test/ -v
//
// Missing peers (sipp, baresip) skip their tests on a developer machine and
// fail them in CI (CI=true), where .ci/run installs them.
package e2e

import (
	"flag"
	"fmt"
	"hotline/internal/testenv"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

var (
	// hotlineBin is the binary built once by TestMain.
	hotlineBin string
	// repoRoot is the module root (the parent of this directory).
	repoRoot string
)

func TestMain(m *testing.M) {
	flag.Parse()
	// These tests mostly wait on calls in progress, so more of them run at
	// once than there are CPUs (go test's default -parallel). An explicit
	// -parallel wins.
	explicit := false
	flag.Visit(func(f *flag.Flag) {
		if f.Name == "test.parallel" {
			explicit = true
		}
	})
	if !explicit {
		_ = flag.Set("test.parallel", fmt.Sprint(max(12, runtime.GOMAXPROCS(0))))
	}
	root, err := filepath.Abs("..")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	repoRoot = root
	tmp, err := os.MkdirTemp("", "hotline-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	hotlineBin = filepath.Join(tmp, "hotline")
	args := []string{"build", "-o", hotlineBin}
	// Under -race (as `make test` runs) the server is built with the race
	// detector too; HOTLINE_E2E_RACE=1 asks for it in a plain run.
	if raceEnabled || os.Getenv("HOTLINE_E2E_RACE") != "" {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "./cmd/hotline")...)
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build ./cmd/hotline failed: %v\n%s", err, out)
		os.RemoveAll(tmp)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(tmp)
	os.Exit(code)
}

// inCI reports whether missing tools must fail rather than skip.
func inCI() bool { return testenv.InCI() }

// needTools skips the test when a peer program is missing, except in CI.
func needTools(t testing.TB, names ...string) {
	t.Helper()
	testenv.NeedTools(t, "apt-get install sip-tester baresip", names...)
}

// needFiles is needTools for data files that packages ship (SIPp's pcaps).
func needFiles(t testing.TB, paths ...string) {
	t.Helper()
	testenv.NeedFiles(t, "Debian's sip-tester ships it", paths...)
}

// ---- ports ----

// Ports are handed out from one counter so that servers, SIPp and baresip
// instances running in parallel never pick the same ones; each is checked
// free (UDP, and TCP where asked) before it is handed out. The start is
// spread by process id so two test runs on one machine rarely meet.
var (
	portMu   sync.Mutex
	nextPort = 16000 + (os.Getpid()%16)*500
)

const portCeiling = 30000

func portFree(p int, tcp bool) bool {
	u, err := net.ListenPacket("udp4", fmt.Sprintf("127.0.0.1:%d", p))
	if err != nil {
		return false
	}
	u.Close()
	if tcp {
		l, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			return false
		}
		l.Close()
	}
	return true
}

// allocPorts returns the first of n consecutive free ports.
func allocPorts(t testing.TB, n int, tcp bool) int {
	t.Helper()
	portMu.Lock()
	defer portMu.Unlock()
	for tries := 0; tries < 2000; tries++ {
		if nextPort+n > portCeiling {
			nextPort = 16000
		}
		base := nextPort
		ok := true
		for p := base; p < base+n; p++ {
			if !portFree(p, tcp) {
				ok = false
				nextPort = p + 1
				break
			}
		}
		if ok {
			nextPort = base + n
			return base
		}
	}
	t.Fatalf("no %d free consecutive ports below %d", n, portCeiling)
	return 0
}
