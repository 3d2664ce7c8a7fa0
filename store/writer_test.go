package store_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"hotline/store"
	"hotline/store/storetest"
)

func newWriter(t testing.TB, s *store.Store, queue int) *store.Writer {
	w := store.NewWriter(s, slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo})), queue)
	w.MaxBackoff = 200 * time.Millisecond
	return w
}

// run starts w.Run and returns a stop func that cancels it and fails the
// test if Run reports lost records. Stop also runs at cleanup, before the
// store closes.
func run(t testing.TB, w *store.Writer) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- w.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-errc; err != nil {
				t.Errorf("Writer.Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func startWriter(t testing.TB, s *store.Store, queue int) (*store.Writer, func()) {
	w := newWriter(t, s, queue)
	return w, run(t, w)
}

func flush(t testing.TB, w *store.Writer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := w.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v (stats %+v)", err, w.Stats())
	}
}

// steps is the IVR walk every synthetic call takes; the repeated "menu"
// (an invalid key, say) must collapse in the derived ivr_path.
var steps = []string{"menu", "menu", "sales", "queue"}

// enqueueCall sends a complete call: start, answer, events, end.
func enqueueCall(w *store.Writer, tenant string, i int) uuid.UUID {
	id := uuid.New()
	start := time.Now().Add(-time.Minute).Truncate(time.Microsecond)
	w.CallStarted(store.CallStart{
		ID: id, TenantID: tenant, SIPCallID: fmt.Sprintf("call-%d@test", i),
		FromNumber: "+4930123", FromURI: "sip:+4930123@example.net", ToNumber: "+15550100",
		SourceAddr: "127.0.0.1:5070", Flow: "main", Codec: "PCMU", StartedAt: start,
	})
	w.CallAnswered(id, start.Add(2*time.Second))
	for j, step := range steps {
		w.Event(store.Event{CallID: id, At: start.Add(time.Duration(3+j) * time.Second), Kind: "step", Step: step,
			Data: map[string]string{"n": fmt.Sprint(j + 1)}})
	}
	w.CallEnded(store.CallEnd{
		ID: id, EndedAt: start.Add(32 * time.Second), HangupCause: "normal_clearing", HangupSide: store.HangupCaller,
		SIPCode: 200, PacketsSent: 1500, PacketsReceived: 1490, PacketsLost: 10, JitterMs: 1.5, MaxJitterMs: 7, MOS: 4.3,
	})
	return id
}

const itemsPerCall = 7 // start, answer, 4 events, end

func checkCall(t testing.TB, s *store.Store, tenant string, id uuid.UUID) {
	t.Helper()
	ctx := testCtx(t)
	c, err := s.GetCall(ctx, tenant, id)
	if err != nil {
		t.Fatalf("call %s: %v", id, err)
	}
	if c.EndedAt == nil || c.AnsweredAt == nil || c.Duration != 32*time.Second || c.Billsec != 30*time.Second ||
		c.HangupSide != store.HangupCaller || c.SIPCode != 200 || c.PacketsReceived != 1490 || c.MOS != 4.3 ||
		c.IVRPath != "menu>sales>queue" || c.Direction != "inbound" || c.Codec != "PCMU" {
		t.Fatalf("call %s stored as %+v", id, c)
	}
	ev, err := s.CallEvents(ctx, tenant, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev) != len(steps) {
		t.Fatalf("call %s has %d events, want %d", id, len(ev), len(steps))
	}
	for j, e := range ev {
		if e.Seq != j+1 || e.Step != steps[j] || e.Data["n"] != fmt.Sprint(j+1) || e.TenantID != tenant {
			t.Fatalf("call %s event %d = %+v", id, j, e)
		}
	}
}

func TestWriterOrderingAndBatching(t *testing.T) {
	for _, maxBatch := range []int{1, 5, 1000} {
		t.Run(fmt.Sprintf("MaxBatch=%d", maxBatch), func(t *testing.T) {
			s := withTenants(t)
			w := newWriter(t, s, 10000)
			w.MaxBatch = maxBatch
			calls := 300
			if maxBatch == 1 {
				calls = 20
			}
			// Everything is queued before Run starts, so batches are full and
			// a call's records straddle batch boundaries.
			ids := make([]uuid.UUID, calls)
			for i := range ids {
				ids[i] = enqueueCall(w, "acme", i)
			}
			run(t, w)
			flush(t, w)

			st := w.Stats()
			items := uint64(calls * itemsPerCall)
			if st.Written != items || st.Dropped != 0 || st.Failed != 0 {
				t.Fatalf("stats %+v, want %d written", st, items)
			}
			if want := (items + uint64(maxBatch) - 1) / uint64(maxBatch); st.Batches > want+1 {
				t.Fatalf("%d batches for %d items at MaxBatch %d, want about %d", st.Batches, items, maxBatch, want)
			}
			for _, id := range ids {
				checkCall(t, s, "acme", id)
			}
			list, err := s.ListCalls(testCtx(t), "acme", 1000)
			if err != nil || len(list) != calls {
				t.Fatalf("ListCalls = %d, %v", len(list), err)
			}
		})
	}
}

func TestWriterQueueOverflow(t *testing.T) {
	s := withTenants(t)
	w := newWriter(t, s, 5)
	var ids []uuid.UUID
	for i := range 8 {
		id := uuid.New()
		ids = append(ids, id)
		w.CallStarted(store.CallStart{ID: id, TenantID: "acme", SIPCallID: fmt.Sprint(i)})
	}
	// The events and end of a call whose start was dropped are dropped too,
	// instead of reaching the database and failing its foreign key.
	for _, id := range ids[5:] {
		w.Event(store.Event{CallID: id, Kind: "x"})
		w.CallEnded(store.CallEnd{ID: id})
	}
	if st := w.Stats(); st.Enqueued != 5 || st.Dropped != 9 {
		t.Fatalf("stats %+v, want 5 enqueued, 9 dropped", st)
	}
	run(t, w)
	flush(t, w)
	if st := w.Stats(); st.Written != 5 || st.Failed != 0 {
		t.Fatalf("stats %+v", st)
	}
	calls, err := s.ListCalls(testCtx(t), "acme", 100)
	if err != nil || len(calls) != 5 {
		t.Fatalf("ListCalls = %d, %v", len(calls), err)
	}
}

func TestWriterShutdownFlushes(t *testing.T) {
	s := withTenants(t)
	w := newWriter(t, s, 1000)
	var ids []uuid.UUID
	for i := range 50 {
		ids = append(ids, enqueueCall(w, "acme", i))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Run starts already cancelled: everything is written by the shutdown path
	if err := w.Run(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		checkCall(t, s, "acme", id)
	}
	// After Run, nothing is accepted, and that is counted.
	w.CallStarted(store.CallStart{ID: uuid.New(), TenantID: "acme"})
	if st := w.Stats(); st.Dropped != 1 {
		t.Fatalf("stats after stop %+v", st)
	}
	if err := w.Flush(testCtx(t)); err == nil {
		t.Fatal("Flush on a stopped writer succeeded")
	}
}

func TestWriterRejectsBadRecordsWithoutBlocking(t *testing.T) {
	s := withTenants(t)
	w := newWriter(t, s, 1000)
	good := uuid.New()
	bad := uuid.New()
	w.CallStarted(store.CallStart{ID: bad, TenantID: "no-such-tenant", SIPCallID: "bad"})
	w.CallStarted(store.CallStart{ID: good, TenantID: "acme", SIPCallID: "good",
		FromURI: "sip:\xff\xfe\x00caller@example.net"}) // invalid UTF-8 and NUL from the wire
	w.Event(store.Event{CallID: good, Kind: "dtmf", Data: map[string]string{"digit": "1\x00"}})
	w.CallEnded(store.CallEnd{ID: good, HangupSide: store.HangupAgent, HangupCause: "transfer"})
	run(t, w)
	flush(t, w)
	st := w.Stats()
	// Only the bad tenant's start is rejected; the records batched with it
	// are written.
	if st.Failed != 1 || st.Written != 3 {
		t.Fatalf("stats %+v, want exactly 1 failed", st)
	}
	c, err := s.GetCall(testCtx(t), "acme", good)
	if err != nil {
		t.Fatal(err)
	}
	if c.HangupSide != store.HangupAgent || !strings.HasPrefix(c.FromURI, "sip:") || strings.ContainsRune(c.FromURI, 0) {
		t.Fatalf("good call = %+v", c)
	}
	// A bad record in a batch of its own is discarded the same way.
	w.CallEnded(store.CallEnd{ID: good, HangupSide: "martian"})
	flush(t, w)
	if st := w.Stats(); st.Failed != 2 {
		t.Fatalf("stats %+v, want 2 failed", st)
	}
}

// proxy is a TCP relay that can be cut, to simulate the database host
// going away without touching the shared server.
type proxy struct {
	t      testing.TB
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
}

func newProxy(t testing.TB, target string) *proxy {
	p := &proxy{t: t, target: target, addr: "127.0.0.1:0", conns: map[net.Conn]bool{}}
	p.start()
	p.addr = p.ln.Addr().String()
	t.Cleanup(p.stop)
	return p
}

func (p *proxy) start() {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ln net.Listener
	var err error
	// The old socket can linger briefly after stop.
	for range 50 {
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatalf("proxy listen %s: %v", p.addr, err)
	}
	p.ln = ln
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			if p.ln != ln { // stopped meanwhile
				p.mu.Unlock()
				c.Close()
				up.Close()
				return
			}
			p.conns[c], p.conns[up] = true, true
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close(); c.Close() }()
			go func() { io.Copy(c, up); up.Close(); c.Close() }()
		}
	}()
}

func (p *proxy) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// viaProxy returns dbURL routed through a proxy to the same server.
func viaProxy(t testing.TB, dbURL string) (*proxy, string) {
	cfg, err := pgx.ParseConfig(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(cfg.Host, "/") {
		t.Skipf("DATABASE_URL uses a unix socket (%s); the outage test needs TCP", cfg.Host)
	}
	p := newProxy(t, net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port)))
	u := url.URL{Scheme: "postgres", Host: p.addr, Path: "/" + cfg.Database, RawQuery: "sslmode=disable&connect_timeout=3"}
	if cfg.Password != "" {
		u.User = url.UserPassword(cfg.User, cfg.Password)
	} else {
		u.User = url.User(cfg.User)
	}
	return p, u.String()
}

func TestWriterSurvivesDatabaseOutage(t *testing.T) {
	direct := withTenants(t)
	p, proxied := viaProxy(t, direct.Pool().Config().ConnString())
	s := open(t, proxied)
	w, _ := startWriter(t, s, 10000)

	before := enqueueCall(w, "acme", 0)
	flush(t, w)

	p.stop()
	var ids []uuid.UUID
	for i := range 100 {
		ids = append(ids, enqueueCall(w, "acme", i+1))
	}
	deadline := time.Now().Add(30 * time.Second)
	for w.Stats().Retries < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("writer never retried while the database was away: %+v", w.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// More calls arrive during the outage; they must queue, not block.
	t0 := time.Now()
	for i := range 100 {
		ids = append(ids, enqueueCall(w, "acme", i+101))
	}
	if d := time.Since(t0); d > time.Second {
		t.Fatalf("enqueueing blocked for %v during the outage", d)
	}
	p.start()
	flush(t, w)

	st := w.Stats()
	if st.Dropped != 0 || st.Failed != 0 || st.Written != uint64((len(ids)+1)*itemsPerCall) {
		t.Fatalf("stats after outage %+v", st)
	}
	checkCall(t, direct, "acme", before)
	for _, id := range ids {
		checkCall(t, direct, "acme", id)
	}
}

func TestWriterSurvivesTerminatedBackends(t *testing.T) {
	s := withTenants(t)
	w := newWriter(t, s, 100000)
	w.MaxBatch = 20
	run(t, w)

	killer, err := pgx.Connect(testCtx(t), s.Pool().Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer killer.Close(context.Background())

	var ids []uuid.UUID
	killed := 0
	for i := range 300 {
		ids = append(ids, enqueueCall(w, "acme", i))
		if i%30 == 0 {
			var n int
			if err := killer.QueryRow(testCtx(t), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
				WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			killed += n
		}
		time.Sleep(time.Millisecond)
	}
	flush(t, w)
	t.Logf("terminated %d backends; stats %+v", killed, w.Stats())
	if killed == 0 {
		t.Fatal("terminated no backends; the test did not test anything")
	}
	st := w.Stats()
	if st.Dropped != 0 || st.Failed != 0 || st.Written != uint64(len(ids)*itemsPerCall) {
		t.Fatalf("stats %+v", st)
	}
	for _, id := range ids {
		checkCall(t, s, "acme", id)
	}
}

func TestWriterShutdownWhileDatabaseDown(t *testing.T) {
	direct := withTenants(t)
	p, proxied := viaProxy(t, direct.Pool().Config().ConnString())
	s := open(t, proxied)
	w := newWriter(t, s, 100)
	w.ShutdownTimeout = 300 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- w.Run(ctx) }()

	p.stop()
	enqueueCall(w, "acme", 0)
	time.Sleep(200 * time.Millisecond)
	t0 := time.Now()
	cancel()
	err := <-errc
	if err == nil || !strings.Contains(err.Error(), "7 records unwritten") {
		t.Fatalf("Run = %v, want an error counting 7 lost records", err)
	}
	if d := time.Since(t0); d > 5*time.Second {
		t.Fatalf("shutdown took %v with a 300ms deadline", d)
	}
}

// BenchmarkWriter measures end-to-end CDR throughput: enqueue, batch,
// write, in rows per second (a call is 7 records: start, answer, 4 events,
// end).
func BenchmarkWriter(b *testing.B) {
	s := storetest.NewStore(b)
	if err := s.SyncTenants(testCtx(b), []store.Tenant{{ID: "acme", Name: "Acme"}}, nil); err != nil {
		b.Fatal(err)
	}
	w := newWriter(b, s, 100000)
	run(b, w)
	b.ResetTimer()
	t0 := time.Now()
	for i := 0; i < b.N; i++ {
		enqueueCall(w, "acme", i)
		// Keep the queue from overflowing: the benchmark measures the
		// writer, not the drop path.
		if i%5000 == 4999 {
			flush(b, w)
		}
	}
	flush(b, w)
	b.StopTimer()
	if st := w.Stats(); st.Dropped != 0 || st.Failed != 0 {
		b.Fatalf("stats %+v", st)
	}
	b.ReportMetric(float64(b.N*itemsPerCall)/time.Since(t0).Seconds(), "rows/s")
}

func TestWriterConcurrentProducers(t *testing.T) {
	s := withTenants(t)
	w, _ := startWriter(t, s, 100000)
	const producers, perProducer = 16, 25
	ids := make([][]uuid.UUID, producers)
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			tenant := "acme"
			if p%2 == 1 {
				tenant = "globex"
			}
			for i := range perProducer {
				ids[p] = append(ids[p], enqueueCall(w, tenant, p*1000+i))
			}
		})
	}
	wg.Wait()
	flush(t, w)
	if st := w.Stats(); st.Written != producers*perProducer*itemsPerCall || st.Failed != 0 || st.Dropped != 0 {
		t.Fatalf("stats %+v", st)
	}
	for p, list := range ids {
		tenant := "acme"
		if p%2 == 1 {
			tenant = "globex"
		}
		for _, id := range list {
			checkCall(t, s, tenant, id)
		}
	}
}
