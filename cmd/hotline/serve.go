package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"hotline/assist"
	"hotline/auth"
	"hotline/call"
	"hotline/config"
	"hotline/desk"
	"hotline/ivr"
	"hotline/media"
	"hotline/queue"
	"hotline/recordings"
	"hotline/sip"
	"hotline/speech"
	"hotline/speech/espeak"
	"hotline/speech/grammar"
	"hotline/speech/pocketsphinx"
	"hotline/store"
	"hotline/tenant"
	"hotline/web"
	"hotline/webrtc"
)

func serveCmd(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "configs/hotline.yaml", "configuration file")
	sipAddr := fs.String("sip", "", "SIP listen address ADDR:PORT (UDP and TCP); overrides the file")
	httpAddr := fs.String("http", "", "HTTP listen address ADDR:PORT; overrides the file")
	rtpPorts := fs.String("rtp-ports", "", "RTP port range LO-HI; overrides the file")
	dataDir := fs.String("data", "", "data directory; overrides the file")
	inband := fs.Bool("inband-dtmf", true, "detect DTMF tones in callers' audio")
	webrtcPorts := fs.String("webrtc-ports", "", "UDP port range LO-HI for agents' WebRTC media; overrides the file")
	webrtcLoopback := fs.Bool("webrtc-loopback", true, "also offer 127.0.0.1 ICE candidates (agents on this host, tests)")
	demoUsers := fs.Bool("demo-users", true, "give the demo and acme tenants their documented users when they have none")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	if *sipAddr != "" {
		cfg.SIP.Listen = *sipAddr
	}
	if *httpAddr != "" {
		cfg.HTTP.Listen = *httpAddr
	}
	if *rtpPorts != "" {
		lo, hi, err := config.ParsePortRange(*rtpPorts)
		if err != nil {
			return fmt.Errorf("--rtp-ports: %w", err)
		}
		cfg.RTP.PortMin, cfg.RTP.PortMax = lo, hi
	}
	if *dataDir != "" {
		cfg.Data = *dataDir
	}
	log := newLogger(stderr, cfg.Log.Level)

	dbURL, err := databaseURL()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.Data, 0o755); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	// The ACD's rows go to the CDR writer, made once the database is open;
	// config errors are reported before connecting to it.
	acdSink := &lateSink{}
	deskCfg := desk.Config{Loopback: *webrtcLoopback, Logger: log.With("component", "desk")}
	deskCfg.PortMin, deskCfg.PortMax = uint16(cfg.WebRTC.PortMin), uint16(cfg.WebRTC.PortMax)
	deskCfg.Opus, deskCfg.PublicIP = cfg.WebRTC.Opus, cfg.WebRTC.PublicAddr
	for _, srv := range cfg.WebRTC.ICEServers {
		deskCfg.ICEServers = append(deskCfg.ICEServers, webrtc.ICEServer{URLs: srv.URLs, Username: srv.Username, Credential: srv.Credential})
	}
	if *webrtcPorts != "" {
		lo, hi, err := config.ParsePortRange(*webrtcPorts)
		if err != nil {
			return fmt.Errorf("--webrtc-ports: %w", err)
		}
		deskCfg.PortMin, deskCfg.PortMax = uint16(lo), uint16(hi)
	}
	// The recordings manager needs the database, opened below.
	recs := &lateRecorders{}
	if cfg.Recordings.On() {
		deskCfg.Recorders = recs
	}
	// Chats follow the agents' ACD states through the desk.
	chatStore := &lateChatStore{}
	// The chat bot and the agents' Knowledge panel share one base, filled
	// below once the database (API-made articles) is open.
	kbBase := assist.New()
	chats, err := newChats(cfg, chatStore, kbBase, log.With("component", "chat"))
	if err != nil {
		return err
	}
	deskCfg.OnState = chats.AgentState
	// Live transcripts of agent calls (docs/transcripts.md); lines are
	// stored once the database is open, before any call is answered.
	checklists, err := loadChecklists(cfg)
	if err != nil {
		return err
	}
	trStore := &lateAssistStore{}
	trans, err := startAssist(cfg.Speech.Transcribe, kbBase, checklists, trStore, log.With("component", "assist"))
	if err != nil {
		return err
	}
	defer trans.close()
	deskCfg.Assist = trans.live
	// The caller context beside the softphone (docs/assist.md): previous
	// calls come from the database once it is open, before any offer.
	history := &lateHistory{}
	deskCfg.Context = newCallerContexts(cfg, history, log.With("component", "context"))
	agentDesk := desk.New(deskCfg)
	defer agentDesk.Close()
	// Speech engines close after the calls (deferred before them).
	voice := startServeSpeech(cfg.Speech, log.With("component", "speech"), serveSpeechEngines{
		recognizer:  servePocketSphinx,
		synthesizer: serveEspeak,
	})
	defer voice.close()
	// Ask steps (docs/flows.md) hear callers through the transcripts' workers.
	askStore := &lateAskStore{}
	reg, err := tenant.Load(cfg, tenant.Options{
		InbandDTMF: *inband, ACDSink: acdSink, Connector: agentDesk, Logger: log.With("component", "acd"),
		Recognizer: voice.recognizer, Synthesizer: voice.synthesizer, Vocabulary: voice.vocabulary,
		Ask: askServices(trans, kbBase, askStore),
	})
	if err != nil {
		return fmt.Errorf("load tenants: %w", err)
	}

	db, err := store.Open(ctx, dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	chatStore.db = db
	trStore.db = db
	askStore.db = db
	history.db = db
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	if err := syncTenants(ctx, db, cfg); err != nil {
		return err
	}
	authSvc, err := auth.New(db, auth.Config{Logger: log.With("component", "auth")})
	if err != nil {
		return err
	}
	if *demoUsers {
		if err := ensureDemoUsers(ctx, authSvc, cfg, log); err != nil {
			return err
		}
	}
	if n, err := db.CloseOpenCalls(ctx, "server-restart"); err != nil {
		return err
	} else if n > 0 {
		log.Warn("closed calls left open by a previous run", "calls", n)
	}
	var recManager *recordings.Manager
	if cfg.Recordings.On() {
		recManager, err = startRecordings(ctx, cfg, db, log.With("component", "recordings"))
		if err != nil {
			return err
		}
		defer recManager.Close()
		recs.m = recManager
	}

	var mediaIP netip.Addr
	if cfg.RTP.IP != "" {
		mediaIP = netip.MustParseAddr(cfg.RTP.IP)
	}
	eng, err := media.NewEngine(media.Config{
		IP:          mediaIP,
		PortMin:     cfg.RTP.PortMin,
		PortMax:     cfg.RTP.PortMax,
		RTPTimeout:  time.Duration(cfg.RTP.Timeout),
		HoldTimeout: time.Duration(cfg.RTP.HoldTimeout),
		Logger:      log.With("component", "media"),
	})
	if err != nil {
		return err
	}
	writer := store.NewWriter(db, log.With("component", "cdr"), 65536)
	acdSink.Writer = writer
	var extIP netip.Addr
	if cfg.SIP.ExternalIP != "" {
		extIP = netip.MustParseAddr(cfg.SIP.ExternalIP)
	}
	quality := newCallQuality()
	sipSrv, err := sip.New(sip.Config{
		Listen:     cfg.SIP.Listen,
		ExternalIP: extIP,
		UserAgent:  cfg.SIP.UserAgent,
		MaxCalls:   cfg.Limits.MaxCalls,
		MaxCPS:     cfg.Limits.MaxCPS,
		Logger:     log.With("component", "sip"),
	}, reg, recorder{w: writer, q: quality}, eng)
	if err != nil {
		return err
	}
	promReg := prometheus.NewRegistry()
	promReg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	promReg.MustRegister(newSIPCollector(sipSrv, eng))
	promReg.MustRegister(newACDCollector(reg))
	quality.register(promReg)
	promReg.MustRegister(trans.latency)
	httpSrv := &web.Server{
		Addr:     cfg.HTTP.Listen,
		Status:   status{sipSrv},
		Registry: promReg,
		Logger:   log.With("component", "http"),
		Version:  version,
		Auth:     authSvc,
		Desk:     agentDesk,
		ACD:      acds{reg},
		Calls:    db,
		Chat:     chats,
		// Live transcripts of agent calls (docs/transcripts.md).
		Transcripts: db,
	}
	if recManager != nil {
		httpSrv.Recordings = recManager
		httpSrv.AnswerClips = recManager // learned answers' clips (docs/answers.md)
	}
	httpSrv.Answers = db
	if httpSrv.Knowledge, err = loadKnowledge(ctx, cfg, kbBase, db, log.With("component", "kb")); err != nil {
		return err
	}
	trans.setVocabularies(tenantVocabularies(kbBase))
	ariSrv, err := newARI(cfg, version, reg, sipSrv, agentDesk, log.With("component", "ari"))
	if err != nil {
		return err
	}
	reg.SetStasis(ariSrv)
	enableOutbound(agentDesk, cfg, reg, sipSrv) // click to call (docs/outbound.md)
	// Callbacks keep a caller's place in line (docs/callbacks.md).
	enableCallbacks(cfg, reg, sipSrv, db, voice.synthesizer, voice.recognizer)
	httpSrv.ARI = ariSrv
	if err := httpSrv.Listen(); err != nil {
		return err
	}

	// Calls end before the CDR writer stops, so their last rows are written.
	writerCtx, stopWriter := context.WithCancel(context.Background())
	defer stopWriter()
	writerDone := make(chan error, 1)
	go func() { writerDone <- writer.Run(writerCtx) }()
	// The ACDs stop after the calls (and before the writer), so a shutdown
	// ends queued calls with the shutdown cause, not by sending them back
	// to their flows.
	acdCtx, stopACD := context.WithCancel(context.Background())
	defer stopACD()
	acdDone := make(chan error, 1)
	go func() { acdDone <- reg.Run(acdCtx) }()

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return eng.Run(gctx) })
	g.Go(func() error { return sipSrv.Serve(gctx) })
	g.Go(func() error { return httpSrv.Serve(gctx) })
	g.Go(func() error { return authSvc.Run(gctx) })
	g.Go(func() error { restoreCallbacks(gctx, cfg, reg, db, log.With("component", "callbacks")); return nil })
	g.Go(func() error { return chats.Run(gctx) })
	if recManager != nil {
		g.Go(func() error { recManager.RunSweeper(gctx, time.Hour); return nil })
	}
	log.Info("hotline serving", "sip", cfg.SIP.Listen, "http", cfg.HTTP.Listen, "rtp", fmt.Sprintf("%d-%d", cfg.RTP.PortMin, cfg.RTP.PortMax), "tenants", len(cfg.Tenants))
	err = g.Wait()
	// The calls have ended: their recordings close before the manager.
	agentDesk.Close()
	trans.close() // the last lines are stored
	stopACD()
	if aerr := <-acdDone; aerr != nil {
		log.Error("acd", "error", aerr)
	}
	waitCallbacks(reg)
	fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_ = writer.Flush(fctx)
	cancel()
	stopWriter()
	<-writerDone
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func syncTenants(ctx context.Context, db *store.Store, cfg *config.Config) error {
	var ts []store.Tenant
	var ns []store.Number
	for _, t := range cfg.Tenants {
		ts = append(ts, store.Tenant{ID: t.ID, Name: t.Name, Timezone: t.Timezone})
		for _, n := range t.Numbers {
			ns = append(ns, store.Number{Number: n.Number, TenantID: t.ID, Flow: cmp.Or(n.Flow, tenant.AppFlow(n.App))})
		}
	}
	return db.SyncTenants(ctx, ts, ns)
}

// lateSink lets tenants be loaded before the database is opened; Writer is
// set before any call can reach a queue.
type lateSink struct{ *store.Writer }

// acds shows the tenants' ACDs to the web server.
type acds struct{ reg *tenant.Registry }

func (a acds) ACD(tenantID string) *queue.Runtime {
	if t, ok := a.reg.Tenant(tenantID); ok {
		return t.ACD
	}
	return nil
}

// QueueThresholds implements web.QueueThresholds: the reports use the
// queue's configured service-level threshold and short-abandon time.
func (a acds) QueueThresholds(tenantID, queue string) (time.Duration, time.Duration, bool) {
	t, ok := a.reg.Tenant(tenantID)
	if !ok {
		return 0, 0, false
	}
	return t.QueueThresholds(queue)
}

func (a acds) AgentProfile(tenantID, username string) desk.Profile {
	t, ok := a.reg.Tenant(tenantID)
	if !ok {
		return desk.Profile{}
	}
	p := t.AgentProfile(username)
	return desk.Profile{Skills: p.Skills, Queues: p.Queues, RingTimeout: t.RingTimeout}
}

type status struct{ s *sip.Server }

func (st status) Ready() bool {
	select {
	case <-st.s.Ready():
		return true
	default:
		return false
	}
}
func (st status) ActiveCalls() int64 { return st.s.ActiveCalls() }

// recorder turns call life-cycle events into CDR and timeline rows.
type recorder struct {
	w *store.Writer
	q *callQuality
}

func (r recorder) CallStarted(i call.Info) {
	id, _ := uuid.Parse(i.ID)
	dir := "inbound"
	switch {
	case i.Callback:
		dir = "callback"
	case i.Outbound:
		dir = "outbound"
	}
	r.w.CallStarted(store.CallStart{
		ID: id, TenantID: i.TenantID, SIPCallID: i.SIPCallID, FromNumber: i.From, FromURI: i.FromURI,
		ToNumber: i.To, SourceAddr: i.SourceAddr, Flow: i.Flow, Codec: i.Codec, StartedAt: i.Started, Direction: dir,
		AgentID: i.Agent, Queue: i.Queue,
	})
}

func (r recorder) CallAnswered(id string, at time.Time) {
	u, _ := uuid.Parse(id)
	r.w.CallAnswered(u, at)
}

func (r recorder) CallEvent(e call.Event) {
	id, _ := uuid.Parse(e.CallID)
	r.w.Event(store.Event{CallID: id, TenantID: e.TenantID, Seq: e.Seq, At: e.At, Kind: e.Kind, Step: e.Step, Data: e.Data})
}

func (r recorder) CallEnded(c *call.Call, end sip.End) {
	r.q.observe(c.TenantID, end.Stats)
	id, _ := uuid.Parse(c.ID)
	var answered *time.Time
	if a := c.Answered(); !a.IsZero() {
		answered = &a
	}
	r.w.CallEnded(store.CallEnd{
		ID: id, AnsweredAt: answered, EndedAt: end.At,
		HangupCause: end.Cause.Name, HangupSide: string(end.Cause.Side), SIPCode: end.SIPCode,
		PacketsSent: end.Stats.PacketsSent, PacketsReceived: end.Stats.PacketsReceived,
		PacketsLost: end.Stats.PacketsLost, JitterMs: end.Stats.JitterMs, MaxJitterMs: end.Stats.MaxJitterMs,
		MOS: end.Stats.MOS,
	})
}

// sipCollector exports live figures without keeping a second copy.
type sipCollector struct {
	s        *sip.Server
	eng      *media.Engine
	active   *prometheus.Desc
	sessions *prometheus.Desc
	resp     *prometheus.Desc
	reqs     *prometheus.Desc
}

func newSIPCollector(s *sip.Server, eng *media.Engine) *sipCollector {
	return &sipCollector{
		s: s, eng: eng,
		active:   prometheus.NewDesc("hotline_active_calls", "Calls in progress.", nil, nil),
		sessions: prometheus.NewDesc("hotline_media_sessions", "RTP sessions open.", nil, nil),
		resp:     prometheus.NewDesc("hotline_sip_responses_total", "SIP responses sent, by status code.", []string{"code"}, nil),
		reqs:     prometheus.NewDesc("hotline_sip_requests_total", "SIP requests received, by method.", []string{"method"}, nil),
	}
}

func (c *sipCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.active
	ch <- c.sessions
	ch <- c.resp
	ch <- c.reqs
}

func (c *sipCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(c.active, prometheus.GaugeValue, float64(c.s.ActiveCalls()))
	ch <- prometheus.MustNewConstMetric(c.sessions, prometheus.GaugeValue, float64(c.eng.ActiveSessions()))
	m := c.s.SIPMetrics()
	for code := range m.Responses {
		if v := m.Responses[code].Load(); v > 0 {
			ch <- prometheus.MustNewConstMetric(c.resp, prometheus.CounterValue, float64(v), strconv.Itoa(code))
		}
	}
	m.Requests.Range(func(k, v any) bool {
		ch <- prometheus.MustNewConstMetric(c.reqs, prometheus.CounterValue, float64(v.(interface{ Load() uint64 }).Load()), k.(string))
		return true
	})
}

func migrateCmd(ctx context.Context, args []string, stdout io.Writer) error {
	dbURL, err := databaseURL()
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	applied, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(stdout, "database is up to date")
	}
	for _, v := range applied {
		fmt.Fprintf(stdout, "applied migration %04d\n", v)
	}
	return nil
}

func flowCheckCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("flow check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	prompts := fs.String("prompts", "", "directory of the tenant's prompts (WAV); when set, prompt names are checked too")
	dict := fs.String("speech-dict", "auto", "the recognizer's pronunciation dictionary: menu phrases' words are checked against it; auto: "+flowCheckDefaultDict+" when installed; none: no check")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: hotline flow check [--prompts DIR] [--speech-dict FILE|auto|none] FILE...")
		return 2
	}
	var opts ivr.CheckOptions
	if *prompts != "" {
		lib, err := tenant.LoadPrompts(*prompts)
		if err != nil {
			fmt.Fprintln(stderr, "hotline:", err)
			return 1
		}
		opts.PromptExists = func(name string) bool { _, ok := lib[name]; return ok }
	}
	if *dict == "auto" {
		// The check needs only the word list, so it runs wherever the
		// recognizer's model is installed, without starting a decoder.
		*dict = "none"
		if _, err := os.Stat(flowCheckDefaultDict); err == nil {
			*dict = flowCheckDefaultDict
		}
	}
	if *dict != "none" && *dict != "" {
		d, err := grammar.LoadDict(*dict)
		if err != nil {
			fmt.Fprintln(stderr, "hotline: --speech-dict:", err)
			return 1
		}
		opts.Vocabulary = flowCheckVocabulary{d}
	}
	flows, kbProblems := splitKnowledgeFiles(fs.Args(), opts.Vocabulary, stdout)
	flows, cfgProblems := splitConfigFiles(flows, opts.Vocabulary, stdout)
	if n := ivr.CheckFiles(flows, opts, stdout); n+kbProblems+cfgProblems > 0 {
		return 1
	}
	return 0
}

// flowCheckDefaultDict is Debian's pocketsphinx-en-us dictionary.
const flowCheckDefaultDict = pocketsphinx.DefaultDictPath

// flowCheckVocabulary checks phrases against a pronunciation dictionary with the
// recognizer's own normalisation rules, without loading the recognizer.
type flowCheckVocabulary struct{ d *grammar.Dict }

func (v flowCheckVocabulary) Missing(phrase string) []string {
	_, missing := grammar.Normalize(phrase, v.d)
	return missing
}

// serveSpeechEngines build the engines the configuration can name; a nil
// constructor is an engine this binary does not have.
type serveSpeechEngines struct {
	recognizer  func(config.Speech, *slog.Logger) (serveRecognizer, error)
	synthesizer func(config.Speech, *slog.Logger) (speech.Synthesizer, error)
}

// serveRecognizer is an engine that also knows its vocabulary and must be
// closed.
type serveRecognizer interface {
	speech.Recognizer
	speech.Vocabulary
	io.Closer
}

func servePocketSphinx(cfg config.Speech, log *slog.Logger) (serveRecognizer, error) {
	e, err := pocketsphinx.New(pocketsphinx.Config{ModelDir: cfg.Model, DictPath: cfg.Dict, PoolSize: cfg.Pool, Logger: log})
	if err != nil {
		return nil, err
	}
	return e, nil
}

func serveEspeak(cfg config.Speech, _ *slog.Logger) (speech.Synthesizer, error) {
	s, err := espeak.New(espeak.Config{Voice: cfg.Voice})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// serveVoices is what startServeSpeech could start; nil fields are missing engines.
type serveVoices struct {
	recognizer  speech.Recognizer
	vocabulary  speech.Vocabulary
	synthesizer speech.Synthesizer
	closers     []io.Closer
}

func (v serveVoices) close() {
	for _, c := range v.closers {
		_ = c.Close()
	}
}

// startServeSpeech starts the configured engines. An engine that cannot start
// (a missing model, a library not installed) is a warning, never a reason
// to refuse calls: menus keep their keypad, which every flow has.
func startServeSpeech(cfg config.Speech, log *slog.Logger, ctors serveSpeechEngines) serveVoices {
	var v serveVoices
	switch {
	case cfg.Engine != config.SpeechPocketSphinx:
	case ctors.recognizer == nil:
		log.Warn("speech recognition is configured but not built into this binary; menus take keys only", "engine", cfg.Engine)
	default:
		rec, err := ctors.recognizer(cfg, log)
		if err != nil {
			log.Warn("speech recognition could not start; menus take keys only", "engine", cfg.Engine, "model", cfg.Model, "error", err)
			break
		}
		v.recognizer, v.vocabulary = rec, rec
		v.closers = append(v.closers, rec)
		log.Info("speech recognition ready", "engine", cfg.Engine, "model", cfg.Model, "pool", cfg.Pool)
	}
	switch {
	case cfg.Synthesizer != config.SpeechEspeak:
	case ctors.synthesizer == nil:
		log.Warn("speech synthesis is configured but not built into this binary; say steps are skipped", "synthesizer", cfg.Synthesizer)
	default:
		syn, err := ctors.synthesizer(cfg, log)
		if err != nil {
			log.Warn("speech synthesis could not start; say steps are skipped", "synthesizer", cfg.Synthesizer, "error", err)
			break
		}
		v.synthesizer = syn
		if c, ok := syn.(io.Closer); ok {
			v.closers = append(v.closers, c)
		}
		log.Info("speech synthesis ready", "synthesizer", cfg.Synthesizer, "voice", cfg.Voice)
	}
	return v
}

// lateRecorders lets the desk, made before the database is open, start
// recordings once the manager exists.
type lateRecorders struct{ m *recordings.Manager }

func (l *lateRecorders) Start(meta recordings.Meta) (*recordings.Recorder, error) {
	if l.m == nil {
		return nil, errors.New("recordings are not ready")
	}
	return l.m.Start(meta)
}

// startRecordings opens the recordings tree and repairs what a killed
// process left (before calls are taken).
func startRecordings(ctx context.Context, cfg *config.Config, db *store.Store, log *slog.Logger) (*recordings.Manager, error) {
	dir := cfg.Recordings.Dir
	if dir == "" {
		dir = filepath.Join(cfg.Data, "recordings")
	}
	tenants := map[string]recordings.TenantConfig{}
	for _, t := range cfg.Tenants {
		tenants[t.ID] = recordings.TenantConfig{
			RetentionDays: t.Recording.RetentionDays, KeyFile: t.Recording.KeyFile, KeyEnv: t.Recording.KeyEnv,
		}
	}
	m, err := recordings.New(recordings.Config{
		Dir: dir, DefaultRetentionDays: cfg.Recordings.RetentionDays, Tenants: tenants, Store: db, Logger: log,
	})
	if err != nil {
		return nil, fmt.Errorf("recordings: %w", err)
	}
	rep, err := m.Repair(ctx)
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("recordings: repair: %w", err)
	}
	if rep.Repaired > 0 || rep.Missing > 0 || rep.Failed > 0 {
		log.Warn("recordings left by a previous run repaired", "repaired", rep.Repaired, "missing", rep.Missing, "failed", rep.Failed)
	}
	return m, nil
}
