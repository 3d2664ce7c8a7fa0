package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"hotline/auth"
	"hotline/config"
	"hotline/store"
)

const userUsage = `usage:
  hotline user add --tenant T --username U --role agent|supervisor|admin [--name "Display Name"] [--password-stdin]
  hotline user list --tenant T
  hotline user passwd --tenant T --username U [--password-stdin]
Without --password-stdin a random password is generated and printed once.
`

// userCmd manages users from the command line. Whoever can run it holds
// DATABASE_URL and so could edit the tables directly; it needs no login.
func userCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, userUsage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "add":
		return userAddCmd(ctx, args[1:], stdin, stdout, stderr)
	case "list":
		return userListCmd(ctx, args[1:], stdout, stderr)
	case "passwd":
		return userPasswdCmd(ctx, args[1:], stdin, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, userUsage)
		return nil
	}
	fmt.Fprintf(stderr, "hotline user: unknown command %q\n%s", args[0], userUsage)
	return flag.ErrHelp
}

// openAuth connects to DATABASE_URL; the caller closes the store.
func openAuth(ctx context.Context) (*store.Store, *auth.Service, error) {
	dbURL, err := databaseURL()
	if err != nil {
		return nil, nil, err
	}
	db, err := store.Open(ctx, dbURL)
	if err != nil {
		return nil, nil, err
	}
	svc, err := auth.New(db, auth.Config{})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, svc, nil
}

// readPassword takes the first line of stdin, so `echo pw | hotline ...`
// and a here-document both work and no terminal prompt is involved.
func readPassword(stdin io.Reader) (string, error) {
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("--password-stdin: stdin holds no password")
	}
	return pw, nil
}

// passwordFor reads or generates a password; generated tells the caller
// to show it.
func passwordFor(fromStdin bool, stdin io.Reader) (pw string, generated bool, err error) {
	if fromStdin {
		pw, err = readPassword(stdin)
		return pw, false, err
	}
	pw, err = auth.GeneratePassword()
	return pw, true, err
}

// explain turns store sentinels into messages that say what to do.
func explain(err error, tenant, username string) error {
	switch {
	case errors.Is(err, store.ErrExists):
		return fmt.Errorf("user %q already exists in tenant %q (change its password with `hotline user passwd`): %w", username, tenant, err)
	case errors.Is(err, store.ErrNotFound) && username == "":
		return fmt.Errorf("no tenant %q (tenants come from the config; `hotline serve` creates them): %w", tenant, err)
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("no user %q in tenant %q, or no such tenant: %w", username, tenant, err)
	}
	return err
}

func userAddCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tenant := fs.String("tenant", "", "tenant id (required)")
	username := fs.String("username", "", "login name (required)")
	role := fs.String("role", "", "agent, supervisor or admin (required)")
	name := fs.String("name", "", "display name")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin instead of generating one")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *tenant == "" || *username == "" || *role == "" || fs.NArg() > 0 {
		fmt.Fprint(stderr, userUsage)
		return flag.ErrHelp
	}
	pw, generated, err := passwordFor(*fromStdin, stdin)
	if err != nil {
		return err
	}
	nu := auth.NewUser{Username: *username, DisplayName: *name, Role: *role, Password: pw}
	if err := auth.ValidateNewUser(nu); err != nil {
		return err
	}
	db, svc, err := openAuth(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	u, err := svc.CreateUser(ctx, *tenant, nu)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return explain(err, *tenant, "")
		}
		return explain(err, *tenant, store.NormalizeUsername(*username))
	}
	fmt.Fprintf(stdout, "created %s/%s (%s) id %s\n", u.TenantID, u.Username, u.Role, u.ID)
	if generated {
		fmt.Fprintf(stdout, "password: %s\n(shown once; it is stored only as a hash)\n", pw)
	}
	return nil
}

func userListCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("user list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tenant := fs.String("tenant", "", "tenant id (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *tenant == "" || fs.NArg() > 0 {
		fmt.Fprint(stderr, userUsage)
		return flag.ErrHelp
	}
	db, svc, err := openAuth(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	users, err := svc.ListUsers(ctx, *tenant)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USERNAME\tROLE\tNAME\tSTATUS\tLAST LOGIN")
	for _, u := range users {
		status, last := "active", "never"
		if u.Disabled {
			status = "disabled"
		}
		if u.LastLoginAt != nil {
			last = u.LastLoginAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Username, u.Role, u.DisplayName, status, last)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write user list: %w", err)
	}
	if len(users) == 0 {
		fmt.Fprintf(stderr, "tenant %q has no users\n", *tenant)
	}
	return nil
}

func userPasswdCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("user passwd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tenant := fs.String("tenant", "", "tenant id (required)")
	username := fs.String("username", "", "login name (required)")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin instead of generating one")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *tenant == "" || *username == "" || fs.NArg() > 0 {
		fmt.Fprint(stderr, userUsage)
		return flag.ErrHelp
	}
	pw, generated, err := passwordFor(*fromStdin, stdin)
	if err != nil {
		return err
	}
	db, svc, err := openAuth(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := svc.SetPassword(ctx, *tenant, *username, pw); err != nil {
		return explain(err, *tenant, store.NormalizeUsername(*username))
	}
	fmt.Fprintf(stdout, "password of %s/%s changed; the user's sessions have ended\n", *tenant, store.NormalizeUsername(*username))
	if generated {
		fmt.Fprintf(stdout, "password: %s\n(shown once; it is stored only as a hash)\n", pw)
	}
	return nil
}

// demoUsers are the documented accounts of the demo tenants (README): the
// passwords are public, so these exist only for trying Hotline out. Their
// argon2id hashes (auth.DefaultParams) ship with them, so a fresh server
// starts without hashing (seconds of CPU on a busy machine, for every test
// server); TestDemoUserHashes checks they match.
func demoUsers(tenantID string) []auth.NewUser {
	switch tenantID {
	case "demo":
		return []auth.NewUser{
			{Username: "alice", DisplayName: "Alice", Role: auth.RoleAgent, Password: "alice-demo",
				PasswordHash: "$argon2id$v=19$m=65536,t=3,p=2$b37FelIB+z6LM8Z+EH0W2g$UUha6urRXaodRGorCHfMUMoTEr7m5Jqjiir3YeCjeCk"},
			{Username: "bob", DisplayName: "Bob", Role: auth.RoleAgent, Password: "bob-demo",
				PasswordHash: "$argon2id$v=19$m=65536,t=3,p=2$Rn2G7yVR4ZuFtY28fsdtKw$zO+unMW6CSRLQrvBKIQWWN+k4xUUTkIwIpSiEZNqQZE"},
			{Username: "sam", DisplayName: "Sam", Role: auth.RoleSupervisor, Password: "sam-demo",
				PasswordHash: "$argon2id$v=19$m=65536,t=3,p=2$uc+oPHLvk6jaDmSsG3XF1w$gljYC8GfAtNvp4Q6Mi7IVViGnVPcbRvDLfRvcm+E13s"},
		}
	case "acme":
		return []auth.NewUser{
			{Username: "carol", DisplayName: "Carol", Role: auth.RoleAgent, Password: "carol-demo",
				PasswordHash: "$argon2id$v=19$m=65536,t=3,p=2$qlRCyFL4KO7EG6NHg935xg$8KWiZOn5yCnqs1XK6r0Eq1m8xlOq/pnMa6Yq4TUeQwE"},
			{Username: "dave", DisplayName: "Dave", Role: auth.RoleSupervisor, Password: "dave-demo",
				PasswordHash: "$argon2id$v=19$m=65536,t=3,p=2$b7IxP1hJ2lDUPE+6x8KM7Q$AjSemt8sHW4CNOq8Rl0uF68GZC0YLDMirFyTjitDhxE"},
		}
	}
	return nil
}

// ensureDemoUsers gives the configured demo tenants their documented users
// when they have none. A tenant that already has users, demo or not, is
// left alone, so changed passwords and deleted accounts stay that way.
func ensureDemoUsers(ctx context.Context, svc *auth.Service, cfg *config.Config, log *slog.Logger) error {
	for _, t := range cfg.Tenants {
		users := demoUsers(t.ID)
		if users == nil {
			continue
		}
		created, err := svc.SeedUsers(ctx, t.ID, users)
		if err != nil {
			return fmt.Errorf("demo users of tenant %q: %w", t.ID, err)
		}
		if created {
			names := make([]string, len(users))
			for i, u := range users {
				names[i] = u.Username
			}
			log.Warn("created demo users with published passwords; serve with --demo-users=false where that matters",
				"tenant", t.ID, "users", strings.Join(names, ","))
		}
	}
	return nil
}
