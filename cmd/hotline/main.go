// Command hotline runs the Hotline call-center platform.
//
//	hotline serve --config FILE [--sip ADDR:PORT] [--http ADDR:PORT] [--rtp-ports LO-HI] [--data DIR]
//	hotline migrate
//	hotline flow check [--prompts DIR] FILE...
//	hotline user add|list|passwd ...
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch args[0] {
	case "serve":
		err = serveCmd(ctx, args[1:], stderr)
	case "migrate":
		err = migrateCmd(ctx, args[1:], stdout)
	case "flow":
		if len(args) < 2 || args[1] != "check" {
			fmt.Fprintln(stderr, "usage: hotline flow check [--prompts DIR] FILE...")
			return 2
		}
		return flowCheckCmd(args[2:], stdout, stderr)
	case "user":
		err = userCmd(ctx, args[1:], os.Stdin, stdout, stderr)
	case "speech":
		err = speechCmd(ctx, args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "hotline", version)
		return 0
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "hotline: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 2
		}
		fmt.Fprintln(stderr, "hotline:", err)
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage:
  hotline serve --config FILE [--sip ADDR:PORT] [--http ADDR:PORT] [--rtp-ports LO-HI] [--data DIR]
  hotline migrate
  hotline flow check [--prompts DIR] FILE...
  hotline user add --tenant T --username U --role agent|supervisor|admin [--name NAME] [--password-stdin]
  hotline user list --tenant T
  hotline user passwd --tenant T --username U [--password-stdin]
  hotline speech recognize --flow FILE --step NAME WAV... | say [-o OUT.wav] TEXT...
DATABASE_URL names the PostgreSQL database.
`)
}

func databaseURL() (string, error) {
	u := strings.TrimSpace(os.Getenv("DATABASE_URL"))
	if u == "" {
		return "", errors.New("DATABASE_URL is not set (make run starts a private PostgreSQL and sets it)")
	}
	return u, nil
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		lv = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: lv}))
}
