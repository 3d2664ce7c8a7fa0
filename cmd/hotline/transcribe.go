package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"hotline/assist"
	"hotline/config"
	"hotline/speech/vosk"
	"hotline/store"
)

// transcripts is the live transcript service of `hotline serve`: the
// assist.Live that desks start per call, the Vosk-protocol client it
// transcribes through, and the local worker processes when no remote
// servers are configured.
type transcripts struct {
	live    *assist.Live
	workers []*speechWorker
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	once    sync.Once
	// latency is end of phrase -> line, registered on /metrics by serve.
	latency prometheus.Histogram
	// asr is the transcripts' client, shared with the IVR's ask steps; nil when off.
	asr  *vosk.Client
	urls []string
	ctx  context.Context // ends at close: the workers and their preparing

	log     *slog.Logger
	vocabMu sync.Mutex
	vocabs  [][]string // the tenants' vocabularies, for the workers to prepare
	closing bool       // set under vocabMu before wg is waited for
}

// startAssist starts agent assist: checklists always (from the IVR path
// and the agent's ticks), the live transcript when cfg enables it.
func startAssist(cfg config.Transcribe, kb *assist.Base, checklists map[string][]assist.Checklist, st assist.Store, log *slog.Logger) (*transcripts, error) {
	latency := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "hotline_transcript_latency_seconds",
		Help:    "From the end of a phrase to its transcript line on the server (end-of-speech wait, transport, recognition).",
		Buckets: []float64{.25, .4, .5, .6, .7, .8, .9, 1, 1.25, 1.5, 2, 3, 5},
	})
	lcfg := assist.LiveConfig{Store: st, Knowledge: kb, Logger: log,
		Checklists: func(tenant string) []assist.Checklist { return checklists[tenant] },
		OnLatency:  func(d time.Duration) { latency.Observe(d.Seconds()) }}
	ctx, cancel := context.WithCancel(context.Background())
	t := &transcripts{cancel: cancel, latency: latency, ctx: ctx, log: log}
	if !cfg.Enabled {
		t.live = assist.NewLive(lcfg)
		return t, nil
	}
	urls := cfg.Servers
	if len(urls) == 0 {
		self, err := os.Executable()
		if err != nil {
			cancel()
			return nil, fmt.Errorf("transcripts: find our own binary for the speech workers: %w", err)
		}
		for i := range cfg.Workers {
			w, err := newSpeechWorker(self, cfg, log.With("worker", i), t.prepare)
			if err != nil {
				cancel()
				t.stopWorkers()
				return nil, err
			}
			t.workers = append(t.workers, w)
			urls = append(urls, w.url)
			t.wg.Go(func() { w.run(ctx) })
		}
	}
	client, err := vosk.New(vosk.Config{URLs: urls, Logger: log})
	if err != nil {
		cancel()
		t.wg.Wait()
		t.stopWorkers()
		return nil, fmt.Errorf("transcripts: %w", err)
	}
	lcfg.Transcriber, t.asr, t.urls = client, client, urls
	t.live = assist.NewLive(lcfg)
	log.Info("live transcripts on", "servers", urls, "local_workers", len(t.workers))
	return t, nil
}

// prepareTimeout bounds one server's preparing, which waits while a
// starting worker loads its model.
const prepareTimeout = time.Minute

// setVocabularies hands the tenants' vocabularies to every transcript
// server to prepare (vosk.Prepare), so that the first phrase of the first
// call does not wait while a worker builds its tenant's search; a local
// worker that restarts is given them again when it listens.
func (t *transcripts) setVocabularies(vocabs [][]string) {
	if t == nil || t.asr == nil {
		return
	}
	t.vocabMu.Lock()
	t.vocabs = vocabs
	t.vocabMu.Unlock()
	for _, u := range t.urls {
		t.prepare(u)
	}
}

// prepare gives the server at url the vocabularies known so far, beside
// the caller.
func (t *transcripts) prepare(url string) {
	t.vocabMu.Lock()
	defer t.vocabMu.Unlock()
	vocabs := t.vocabs
	if len(vocabs) == 0 || t.closing {
		return
	}
	t.wg.Go(func() {
		ctx, cancel := context.WithTimeout(t.ctx, prepareTimeout)
		defer cancel()
		for _, v := range vocabs {
			if err := vosk.Prepare(ctx, url, v); err != nil {
				if t.ctx.Err() == nil {
					t.log.Warn("transcripts: a server did not prepare a vocabulary; its first phrases with it will be late",
						"url", url, "err", err)
				}
				return
			}
		}
	})
}

// close stops the transcripts after the calls have ended: lines still
// queued are stored, then the workers stop.
func (t *transcripts) close() {
	if t == nil {
		return
	}
	t.once.Do(func() {
		t.live.Close()
		t.vocabMu.Lock()
		t.closing = true
		t.vocabMu.Unlock()
		t.cancel()
		t.wg.Wait()
		t.stopWorkers()
	})
}

func (t *transcripts) stopWorkers() {
	for _, w := range t.workers {
		w.ln.Close()
	}
}

// speechWorker is one local `hotline speech serve` process. Its socket is
// opened here and handed down, so its address stays the same when the
// process is restarted after a crash, and no port is raced for.
type speechWorker struct {
	bin  string
	args []string
	ln   *net.TCPListener
	url  string
	log  *slog.Logger
	// ready is called with url each time the process listens.
	ready func(url string)
}

func newSpeechWorker(bin string, cfg config.Transcribe, log *slog.Logger, ready func(string)) (*speechWorker, error) {
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("transcripts: speech worker socket: %w", err)
	}
	args := []string{"speech", "serve", "--listen", "fd:3"}
	if cfg.Pool > 0 {
		args = append(args, "--pool", strconv.Itoa(cfg.Pool))
	}
	if cfg.LM != "" {
		args = append(args, "--lm", cfg.LM)
	}
	if cfg.SecondPass {
		args = append(args, "--second-pass")
	}
	return &speechWorker{bin: bin, args: args, ln: ln, url: "ws://" + ln.Addr().String() + "/", log: log, ready: ready}, nil
}

// run keeps the worker process running until ctx ends, restarting it
// with a growing pause if it exits (a crash costs the calls in progress
// their transcript, not the server).
func (w *speechWorker) run(ctx context.Context) {
	pause := time.Second
	for ctx.Err() == nil {
		started := time.Now()
		err := w.once(ctx)
		if ctx.Err() != nil {
			return
		}
		if time.Since(started) > time.Minute {
			pause = time.Second
		}
		w.log.Error("speech worker exited; restarting", "error", err, "in", pause)
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, 30*time.Second)
	}
}

func (w *speechWorker) once(ctx context.Context) error {
	f, err := w.ln.File()
	if err != nil {
		return fmt.Errorf("speech worker socket: %w", err)
	}
	defer f.Close()
	cmd := exec.Command(w.bin, w.args...)
	cmd.ExtraFiles = []*os.File{f} // fd 3
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	// The worker dies with us even if we are killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start speech worker: %w", err)
	}
	go w.relay(out)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		return nil
	}
}

// relay logs the worker's stdout (its "listening on" line).
func (w *speechWorker) relay(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		w.log.Info("speech worker: " + sc.Text())
		if strings.HasPrefix(sc.Text(), "listening on ") && w.ready != nil {
			w.ready(w.url)
		}
	}
}

// lateAssistStore lets agent assist start before the database is opened;
// db is set before any call is answered.
type lateAssistStore struct{ db *store.Store }

var errAssistNoDB = errors.New("assist: the database is not open")

func (l *lateAssistStore) SaveTranscript(ctx context.Context, lines []assist.StoredLine) error {
	if l.db == nil {
		return errAssistNoDB
	}
	rows := make([]store.TranscriptLine, 0, len(lines))
	for _, sl := range lines {
		id, err := uuid.Parse(sl.CallID)
		if err != nil {
			continue // not a call of ours (calls have UUIDs)
		}
		row := store.TranscriptLine{TenantID: sl.TenantID, CallID: id, Side: sl.Side, AgentID: sl.AgentID,
			StartMS: sl.StartMS, EndMS: sl.EndMS, At: sl.At, Text: sl.Text}
		// The batch is stored whole or not at all: one bad line must not
		// cost the others.
		if row.Validate() != nil {
			continue
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return nil
	}
	return l.db.AddTranscriptLines(ctx, rows)
}

func (l *lateAssistStore) SaveChecklist(ctx context.Context, tenantID, callID string, s *assist.ChecklistState) error {
	if l.db == nil {
		return errAssistNoDB
	}
	id, err := uuid.Parse(callID)
	if err != nil {
		return nil // not a call of ours
	}
	steps := make([]store.ChecklistStep, len(s.Steps))
	for i, st := range s.Steps {
		steps[i] = store.ChecklistStep{Checklist: s.Checklist, Step: st.ID, Position: i, Done: st.Done, By: st.By,
			AgentID: st.AgentID, Evidence: st.Evidence, At: st.At}
	}
	return l.db.SaveChecklist(ctx, tenantID, id, steps)
}

func (l *lateAssistStore) SaveSummary(ctx context.Context, s assist.Summary) error {
	if l.db == nil {
		return errAssistNoDB
	}
	id, err := uuid.Parse(s.CallID)
	if err != nil {
		return nil
	}
	return l.db.SaveSummary(ctx, store.CallSummary{TenantID: s.TenantID, CallID: id, Intent: s.Intent, Checklist: s.Checklist,
		StepsDone: s.StepsDone, StepsTotal: s.StepsTotal, KeyPhrases: s.KeyPhrases, Summary: s.Text})
}

// ProposeAnswer offers the agent's reply as the intent's standard answer
// for a supervisor to review (docs/answers.md); a call's
// second reply to the same question while the first is open is dropped.
func (l *lateAssistStore) ProposeAnswer(ctx context.Context, p assist.Proposal) error {
	if l.db == nil {
		return errAssistNoDB
	}
	id, err := uuid.Parse(p.CallID)
	if err != nil {
		return nil // not a call of ours
	}
	_, err = l.db.ProposeAnswer(ctx, store.AnswerProposal{TenantID: p.TenantID, Intent: p.Intent, CallID: id, AgentID: p.AgentID,
		Question: p.Question, Answer: p.Answer, StartMS: p.StartMS, EndMS: p.EndMS})
	return err
}

// listenOn listens on addr, or takes over the socket a parent handed down
// as "fd:N" (the server starts its local speech workers so).
func listenOn(addr string) (net.Listener, error) {
	n, ok := strings.CutPrefix(addr, "fd:")
	if !ok {
		return net.Listen("tcp", addr)
	}
	fd, err := strconv.Atoi(n)
	if err != nil || fd < 3 {
		return nil, fmt.Errorf("--listen %s: want fd:N with N >= 3", addr)
	}
	f := os.NewFile(uintptr(fd), "listener")
	if f == nil {
		return nil, fmt.Errorf("--listen %s: no such file descriptor", addr)
	}
	defer f.Close() // FileListener dups it
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("--listen %s: %w", addr, err)
	}
	return ln, nil
}
