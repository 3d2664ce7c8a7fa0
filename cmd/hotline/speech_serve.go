package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"hotline/speech"
	"hotline/speech/pocketsphinx"
	"hotline/speech/vosk"
)

const speechServeUsage = "usage: hotline speech serve --listen ADDR|fd:N [--pool N] [--lm FILE] [--second-pass] [--model DIR] [--dict FILE] [--max-streams N]\n"

// speechServeCmd runs the dictation engine as a worker speaking the Vosk
// server protocol, so the server (or a real Vosk server in its place)
// transcribes calls out of process. It prints "listening on HOST:PORT"
// once it accepts connections: a parent started with --listen
// 127.0.0.1:0 reads the port from that line.
func speechServeCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("speech serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:2700", "address to serve the Vosk protocol on (port 0: any free port), or fd:N for a listening socket inherited as file descriptor N")
	pool := fs.Int("pool", 0, "decoders at most, ~90 MB each; a phrase holds one while it is spoken (default: the number of CPUs)")
	lm := fs.String("lm", "", "n-gram language model (default "+pocketsphinx.DefaultLM+")")
	model := fs.String("model", "", "acoustic model directory (default "+pocketsphinx.DefaultModelDir+")")
	dict := fs.String("dict", "", "pronunciation dictionary (default "+pocketsphinx.DefaultDictPath+")")
	maxStreams := fs.Int("max-streams", 0, "concurrent streams at most (default 256)")
	secondPass := fs.Bool("second-pass", false, "run the second search over each phrase: fewer word errors, ~20% more CPU, lines ~0.1-0.2 s later")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprint(stderr, speechServeUsage)
		return flag.ErrHelp
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	d, err := pocketsphinx.NewDictation(pocketsphinx.DictationConfig{
		ModelDir: *model, DictPath: *dict, LMPath: *lm, PoolSize: *pool, Logger: log,
		NoSecondPass: !*secondPass,
	})
	if err != nil {
		return fmt.Errorf("speech serve: %w", err)
	}
	defer d.Close()
	ln, err := listenOn(*listen)
	if err != nil {
		return fmt.Errorf("speech serve: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	engine := vosk.OpenFunc(func(o speech.TranscribeOptions) (vosk.Stream, error) { return d.Open(o) })
	mux.Handle("/", vosk.NewServerConfig(engine, log, vosk.ServerConfig{MaxConns: *maxStreams}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "listening on %s\n", ln.Addr())
	select {
	case err := <-served:
		return fmt.Errorf("speech serve: %w", err)
	case <-ctx.Done():
	}
	// Streams are hijacked connections, which Shutdown does not wait
	// for; closing them ends each client's stream with an error.
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("speech serve: shutdown: %w", err)
	}
	return nil
}
