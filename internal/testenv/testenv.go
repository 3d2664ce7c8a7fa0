// Package testenv decides what a test does when something it needs from
// the machine (a Debian package's program, model or data) is missing:
// outside CI it skips, so a developer without the package can still run
// the rest; in CI (CI=true, where .ci/run installs everything through
// scripts/deps.sh) it fails, so a broken install cannot pass as skipped
// tests.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// InCI reports whether the tests run in CI.
func InCI() bool { return os.Getenv("CI") == "true" }

// Missing skips t with msg, or fails it in CI.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatalf("%s, and CI=true: .ci/run (scripts/deps.sh) must install it", msg)
	}
	t.Skipf("%s; skipping outside CI", msg)
}

// NeedTools calls Missing for the first program not on PATH; hint says
// how to install them (e.g. "apt-get install flite").
func NeedTools(t testing.TB, hint string, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			Missing(t, "%s is not installed (%s)", n, hint)
		}
	}
}

// NeedFiles calls Missing for the first path that does not exist.
func NeedFiles(t testing.TB, hint string, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			Missing(t, "%v (%s)", err, hint)
		}
	}
}
