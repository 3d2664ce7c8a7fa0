package auth_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"hotline/auth"
	"hotline/store"
	"hotline/store/storetest"
)

// TestUserCLI drives `hotline user` as an operator would, through the
// built binary. It lives here because the CLI is a thin front end to this
// package's policy (hashing, validation, ending sessions), and these are
// the behaviours it must not lose.
func TestUserCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the hotline binary")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = "/usr/local/go/bin/go"
		if _, err := os.Stat(goTool); err != nil {
			t.Skip("no go tool to build the binary with")
		}
	}
	bin := filepath.Join(t.TempDir(), "hotline")
	if out, err := exec.Command(goTool, "build", "-o", bin, "hotline/cmd/hotline").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}

	ctx := testCtx(t)
	url := storetest.NewDB(t)
	db, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.SyncTenants(ctx, []store.Tenant{{ID: "demo", Name: "Demo"}}, nil); err != nil {
		t.Fatal(err)
	}
	svc, err := auth.New(db, auth.Config{Password: auth.CheapParams()})
	if err != nil {
		t.Fatal(err)
	}

	run := func(stdin string, args ...string) (code int, stdout, stderr string) {
		t.Helper()
		cmd := exec.CommandContext(ctx, bin, append([]string{"user"}, args...)...)
		cmd.Env = append(os.Environ(), "DATABASE_URL="+url)
		cmd.Stdin = strings.NewReader(stdin)
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode(), o.String(), e.String()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, o.String(), e.String()
	}
	login := func(user, pw string) error {
		_, err := svc.Login(ctx, "demo", user, pw, auth.Client{IP: "192.0.2.1"})
		return err
	}

	code, out, errOut := run("zoe-secret-1\n", "add", "--tenant", "demo", "--username", "Zoe", "--role", "supervisor", "--name", "Zoe Z", "--password-stdin")
	if code != 0 || !strings.Contains(out, "created demo/zoe (supervisor)") || strings.Contains(out, "zoe-secret-1") {
		t.Fatalf("add with stdin: %d %q %q", code, out, errOut)
	}
	if err := login("zoe", "zoe-secret-1"); err != nil {
		t.Fatalf("login with the stdin password: %v", err)
	}

	code, out, errOut = run("", "add", "--tenant", "demo", "--username", "yann", "--role", "agent")
	m := regexp.MustCompile(`(?m)^password: (\S+)$`).FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("add with generated password: %d %q %q", code, out, errOut)
	}
	if err := login("yann", m[1]); err != nil {
		t.Fatalf("login with the generated password: %v", err)
	}

	for _, c := range []struct {
		name  string
		code  int
		want  string
		stdin string
		args  []string
	}{
		{"duplicate", 1, "already exists", "", []string{"add", "--tenant", "demo", "--username", "ZOE", "--role", "agent"}},
		{"unknown tenant", 1, `no tenant "nope"`, "", []string{"add", "--tenant", "nope", "--username", "x", "--role", "agent"}},
		{"bad role", 1, "want agent, supervisor or admin", "", []string{"add", "--tenant", "demo", "--username", "x", "--role", "root"}},
		{"short password", 1, "at least 8", "short\n", []string{"add", "--tenant", "demo", "--username", "x", "--role", "agent", "--password-stdin"}},
		{"empty stdin", 1, "stdin holds no password", "", []string{"add", "--tenant", "demo", "--username", "x", "--role", "agent", "--password-stdin"}},
		{"missing flags", 2, "usage:", "", []string{"add", "--tenant", "demo"}},
		{"unknown subcommand", 2, "unknown command", "", []string{"remove"}},
		{"passwd of unknown user", 1, `no user "ghost"`, "password-1\n", []string{"passwd", "--tenant", "demo", "--username", "ghost", "--password-stdin"}},
	} {
		code, out, errOut := run(c.stdin, c.args...)
		if code != c.code || !strings.Contains(out+errOut, c.want) {
			t.Errorf("%s: exit %d, out %q, err %q; want exit %d and %q", c.name, code, out, errOut, c.code, c.want)
		}
	}

	code, out, _ = run("", "list", "--tenant", "demo")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[0], "USERNAME") ||
		!strings.Contains(lines[2], "zoe") || !strings.Contains(lines[2], "Zoe Z") || !strings.Contains(lines[2], "supervisor") {
		t.Fatalf("list: %d %q", code, out)
	}
	if strings.Contains(out, "$argon2id$") {
		t.Fatal("list shows password hashes")
	}

	sess, err := svc.Login(ctx, "demo", "zoe", "zoe-secret-1", auth.Client{})
	if err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := run("zoe-secret-2\n", "passwd", "--tenant", "demo", "--username", "zoe", "--password-stdin"); code != 0 {
		t.Fatalf("passwd: %d %q %q", code, out, errOut)
	}
	if login("zoe", "zoe-secret-1") == nil || login("zoe", "zoe-secret-2") != nil {
		t.Fatal("passwd did not replace the password")
	}
	if _, err := svc.Authenticate(ctx, sess.Token); !errors.Is(err, auth.ErrSessionInvalid) {
		t.Fatalf("session survived passwd: %v", err)
	}
}
