package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

type opKind uint8

const (
	opStart opKind = iota + 1
	opAnswer
	opEvent
	opEnd
	opFlush
	opQueueEntry
	opAgentState
	opQueueLog
	opDisposition
)

func (k opKind) String() string {
	switch k {
	case opStart:
		return "call start"
	case opAnswer:
		return "call answer"
	case opEvent:
		return "call event"
	case opEnd:
		return "call end"
	case opFlush:
		return "flush"
	case opQueueEntry:
		return "queue entry"
	case opAgentState:
		return "agent state"
	case opQueueLog:
		return "queue log"
	case opDisposition:
		return "disposition"
	}
	return "unknown"
}

// item is one queued write. Payloads are pointers so the queue's buffer
// stays small however large queueSize is.
type item struct {
	kind  opKind
	id    uuid.UUID // the call, for every kind but opFlush
	at    time.Time // opAnswer
	start *CallStart
	event *Event
	end   *CallEnd
	done  chan struct{} // opFlush

	// The ACD's rows (queues.go); rowID keys the append-only ones.
	rowID  uuid.UUID
	qentry *QueueEntry
	astate *AgentStateChange
	qlog   *QueueLogRow
	disp   *Disposition
}

// callState follows a live call through the enqueue side so events can be
// numbered and tagged with their tenant, and so the items of a call whose
// start was dropped are dropped too instead of failing foreign keys.
type callState struct {
	tenant  string
	seq     int
	dropped bool
}

// WriterStats are cumulative counters, for metrics and tests.
type WriterStats struct {
	Queued   int    // waiting in the queue now
	Enqueued uint64 // accepted into the queue
	Written  uint64 // committed to the database
	Dropped  uint64 // refused because the queue was full or the writer had stopped
	Failed   uint64 // rejected by the database (bad data) and discarded
	Retries  uint64 // batch attempts that failed and were retried
	Batches  uint64 // successful write round trips
}

// Writer records calls without ever making the call path wait for the
// database: its methods only enqueue, and Run writes in the background.
//
// The exported fields tune it; set them before calling Run.
type Writer struct {
	// MaxBatch caps the items written per round trip.
	MaxBatch int
	// MaxBackoff caps the pause between retries while the database is down.
	MaxBackoff time.Duration
	// AttemptTimeout bounds one batch write, so a hung connection is
	// abandoned and retried instead of stalling the queue.
	AttemptTimeout time.Duration
	// ShutdownTimeout is how long Run keeps writing after its context is
	// cancelled.
	ShutdownTimeout time.Duration

	s   *Store
	log *slog.Logger
	q   chan *item

	// mu makes "check stopped, number the event, enqueue" atomic, so events
	// of one call enter the queue in Seq order and nothing is enqueued after
	// Run's final drain.
	mu      sync.Mutex
	calls   map[uuid.UUID]*callState
	stopped bool

	running atomic.Bool
	exited  chan struct{}

	enqueued, written, dropped, failed, retries, batches atomic.Uint64
	lastDropLog                                          atomic.Int64 // unix nanos
}

// NewWriter returns a Writer whose queue holds queueSize items (a call is
// typically a start, an answer, an end and a dozen events). Start it with
// Run.
func NewWriter(s *Store, log *slog.Logger, queueSize int) *Writer {
	if log == nil {
		log = slog.Default()
	}
	if queueSize <= 0 {
		queueSize = 10000
	}
	return &Writer{
		MaxBatch:        1000,
		MaxBackoff:      5 * time.Second,
		AttemptTimeout:  15 * time.Second,
		ShutdownTimeout: 5 * time.Second,
		s:               s,
		log:             log.With("component", "cdr-writer"),
		q:               make(chan *item, queueSize),
		calls:           make(map[uuid.UUID]*callState),
		exited:          make(chan struct{}),
	}
}

// Stats returns the writer's counters.
func (w *Writer) Stats() WriterStats {
	return WriterStats{
		Queued:   len(w.q),
		Enqueued: w.enqueued.Load(),
		Written:  w.written.Load(),
		Dropped:  w.dropped.Load(),
		Failed:   w.failed.Load(),
		Retries:  w.retries.Load(),
		Batches:  w.batches.Load(),
	}
}

// CallStarted records a new call. It never blocks.
func (w *Writer) CallStarted(c CallStart) {
	if c.StartedAt.IsZero() {
		c.StartedAt = time.Now()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	st := &callState{tenant: c.TenantID}
	w.calls[c.ID] = st
	if !w.enqueueLocked(&item{kind: opStart, id: c.ID, start: &c}) {
		st.dropped = true
	}
}

// CallAnswered records the answer time of a started call. It never blocks.
func (w *Writer) CallAnswered(id uuid.UUID, at time.Time) {
	if at.IsZero() {
		at = time.Now()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if st := w.calls[id]; st != nil && st.dropped {
		w.drop(opAnswer)
		return
	}
	w.enqueueLocked(&item{kind: opAnswer, id: id, at: at})
}

// Event appends to a call's timeline. It never blocks.
func (w *Writer) Event(e Event) {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	st := w.calls[e.CallID]
	if st == nil {
		// An event for a call this writer did not start (e.g. after a
		// restart); still numbered, so auto-Seq stays unique.
		st = &callState{tenant: e.TenantID}
		w.calls[e.CallID] = st
	}
	if st.dropped {
		w.drop(opEvent)
		return
	}
	if e.TenantID == "" {
		e.TenantID = st.tenant
	}
	if e.Seq <= 0 {
		e.Seq = st.seq + 1
	}
	st.seq = max(st.seq, e.Seq)
	w.enqueueLocked(&item{kind: opEvent, id: e.CallID, event: &e})
}

// CallEnded completes a call's CDR. It never blocks.
func (w *Writer) CallEnded(e CallEnd) {
	if e.EndedAt.IsZero() {
		e.EndedAt = time.Now()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	st := w.calls[e.ID]
	delete(w.calls, e.ID)
	if st != nil && st.dropped {
		w.drop(opEnd)
		return
	}
	w.enqueueLocked(&item{kind: opEnd, id: e.ID, end: &e})
}

// enqueueLocked must be called with w.mu held. It reports whether the item
// was queued.
func (w *Writer) enqueueLocked(it *item) bool {
	if w.stopped {
		w.drop(it.kind)
		return false
	}
	select {
	case w.q <- it:
		w.enqueued.Add(1)
		return true
	default:
		w.drop(it.kind)
		return false
	}
}

// drop counts a lost item and logs at most every few seconds, so a long
// outage produces a readable log rather than one line per lost event.
func (w *Writer) drop(kind opKind) {
	n := w.dropped.Add(1)
	now := time.Now().UnixNano()
	last := w.lastDropLog.Load()
	if now-last < int64(5*time.Second) || !w.lastDropLog.CompareAndSwap(last, now) {
		return
	}
	w.log.Error("CDR queue full or writer stopped: dropping records",
		"kind", kind.String(), "dropped_total", n, "queue_capacity", cap(w.q))
}

// Flush waits until everything enqueued before the call has been written
// (or rejected by the database as invalid, see WriterStats.Failed).
func (w *Writer) Flush(ctx context.Context) error {
	done := make(chan struct{})
	select {
	case w.q <- &item{kind: opFlush, done: done}:
	case <-ctx.Done():
		return fmt.Errorf("store: flush: %w", ctx.Err())
	case <-w.exited:
		return errors.New("store: flush: writer has stopped")
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("store: flush: %w", ctx.Err())
	case <-w.exited:
		// Run may have closed done just before exiting.
		select {
		case <-done:
			return nil
		default:
			return errors.New("store: flush: writer stopped before writing everything")
		}
	}
}

// Run writes queued records until ctx is cancelled, then keeps writing for
// up to ShutdownTimeout. It returns nil if everything queued was written,
// and an error counting what was lost otherwise. Run may be called once.
func (w *Writer) Run(ctx context.Context) error {
	if !w.running.CompareAndSwap(false, true) {
		return errors.New("store: Writer.Run called twice")
	}
	defer close(w.exited)
	// Out-of-range settings would make the loops below spin or panic.
	w.MaxBatch = max(w.MaxBatch, 1)
	if w.MaxBackoff <= 0 {
		w.MaxBackoff = 5 * time.Second
	}
	if w.AttemptTimeout <= 0 {
		w.AttemptTimeout = 15 * time.Second
	}

	batch := make([]*item, 0, w.MaxBatch)
	for {
		select {
		case <-ctx.Done():
			return w.shutdown(ctx, nil)
		case it := <-w.q:
			batch = append(batch[:0], it)
			batch = w.fill(batch)
			if rest, err := w.process(ctx, batch); err != nil {
				return w.shutdown(ctx, rest)
			}
		}
	}
}

// fill takes whatever else is already queued, up to MaxBatch. It does not
// wait for more: under load the queue fills while the previous batch is
// written, which batches naturally without adding latency when idle.
func (w *Writer) fill(batch []*item) []*item {
	for len(batch) < w.MaxBatch {
		select {
		case it := <-w.q:
			batch = append(batch, it)
		default:
			return batch
		}
	}
	return batch
}

// process writes a batch, retrying until it succeeds or ctx ends, and then
// releases the Flush calls waiting in it. On error it returns the items not
// yet written, in order.
func (w *Writer) process(ctx context.Context, batch []*item) ([]*item, error) {
	data := make([]*item, 0, len(batch))
	var flushes []*item
	for _, it := range batch {
		if it.kind == opFlush {
			flushes = append(flushes, it)
		} else {
			data = append(data, it)
		}
	}
	rest, err := w.writeWithRetry(ctx, data)
	if err != nil {
		return append(rest, flushes...), err
	}
	for _, f := range flushes {
		close(f.done)
	}
	return nil, nil
}

// writeWithRetry never gives up on a transient failure: the database being
// down must not lose records while the queue has room. Invalid records are
// isolated and discarded so they cannot block the queue forever.
func (w *Writer) writeWithRetry(ctx context.Context, items []*item) ([]*item, error) {
	backoff := 50 * time.Millisecond
	attempts := 0
	for len(items) > 0 {
		err := w.attempt(ctx, items)
		if err == nil {
			w.written.Add(uint64(len(items)))
			w.batches.Add(1)
			if attempts > 0 {
				w.log.Info("database writes recovered", "failed_attempts", attempts)
			}
			return nil, nil
		}
		if ctx.Err() != nil {
			return items, ctx.Err()
		}
		if !isTransient(err) {
			items = w.writeOneByOne(ctx, items)
			if len(items) == 0 {
				return nil, nil
			}
			// A transient error interrupted the isolation; retry the rest.
		}
		attempts++
		w.retries.Add(1)
		w.log.Warn("writing CDRs failed, will retry", "error", err, "attempt", attempts,
			"batch", len(items), "queued", len(w.q), "retry_in", backoff)
		select {
		case <-ctx.Done():
			return items, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, w.MaxBackoff)
	}
	return nil, nil
}

// writeOneByOne finds the records the database rejects by writing each on
// its own. It returns the unwritten tail if a transient error stops it.
func (w *Writer) writeOneByOne(ctx context.Context, items []*item) []*item {
	for i, it := range items {
		err := w.attempt(ctx, items[i:i+1])
		switch {
		case err == nil:
			w.written.Add(1)
			w.batches.Add(1)
		case ctx.Err() != nil || isTransient(err):
			return items[i:]
		default:
			w.failed.Add(1)
			w.log.Error("database rejected CDR record; discarding it",
				"kind", it.kind.String(), "call_id", it.id, "error", err)
		}
	}
	return nil
}

func (w *Writer) attempt(ctx context.Context, items []*item) error {
	actx, cancel := context.WithTimeout(ctx, w.AttemptTimeout)
	defer cancel()
	return w.s.writeItems(actx, items)
}

// shutdown drains the queue and writes what it can before the deadline.
// The deadline is detached from ctx, which is already cancelled.
func (w *Writer) shutdown(ctx context.Context, pending []*item) error {
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()

drain:
	for {
		select {
		case it := <-w.q:
			pending = append(pending, it)
		default:
			break drain
		}
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.ShutdownTimeout)
	defer cancel()
	for len(pending) > 0 {
		n := min(len(pending), w.MaxBatch)
		rest, err := w.process(sctx, pending[:n])
		if err != nil {
			lost := 0
			for _, it := range append(rest, pending[n:]...) {
				if it.kind != opFlush {
					lost++
				}
			}
			w.log.Error("writer stopped with records unwritten", "lost", lost, "error", err)
			return fmt.Errorf("store: writer stopped with %d records unwritten: %w", lost, err)
		}
		pending = pending[n:]
	}
	return nil
}

// isTransient tells failures worth retrying (the database is unreachable,
// restarting, overloaded, or not migrated yet) from records it rejects.
func isTransient(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		// Network, timeout and pool errors: the data never got judged.
		return true
	}
	switch pgErr.Code[:2] {
	case "08", // connection exception
		"40", // serialization failure, deadlock
		"53", // insufficient resources
		"57", // operator intervention: admin shutdown, query cancelled
		"58": // system error
		return true
	}
	switch pgErr.Code {
	case "42P01", "42703": // undefined table/column: a deploy raced Migrate
		return true
	}
	return false
}

// writeItems writes a batch as one pipeline. pgx runs a batch without
// explicit BEGIN as one implicit transaction, so a batch is all-or-nothing
// at a single round trip. Statement order gives each call's start before
// its events before its end; every statement is idempotent (ON CONFLICT DO
// NOTHING, updates to fixed values) so retrying a batch whose commit was
// lost in transit writes nothing twice.
func (s *Store) writeItems(ctx context.Context, items []*item) error {
	var (
		starts  startCols
		answers answerCols
		events  eventCols
		ends    endCols
		acd     acdCols
		regions regionCols
		surveys surveyCols
	)
	answered := map[uuid.UUID]bool{}
	endAt := map[uuid.UUID]int{}
	for _, it := range items {
		switch it.kind {
		case opStart:
			starts.add(it.start)
		case opAnswer:
			// UPDATE ... FROM applies only one source row per target row,
			// so each call appears once; the first answer wins.
			if !answered[it.id] {
				answered[it.id] = true
				answers.ids = append(answers.ids, it.id)
				answers.at = append(answers.at, it.at)
			}
		case opEvent:
			if err := events.add(it.event); err != nil {
				return err
			}
			if it.event.Kind == EventRegion {
				regions.add(it.event)
			}
			if it.event.Kind == EventSurveyAnswer {
				surveys.add(it.event)
			}
		case opEnd:
			if i, dup := endAt[it.id]; dup {
				ends.set(i, it.end) // the last end wins
			} else {
				endAt[it.id] = len(ends.ids)
				ends.add(it.end)
			}
		case opQueueEntry, opAgentState, opQueueLog, opDisposition:
			acd.add(it)
		}
	}

	var b pgx.Batch
	if len(starts.ids) > 0 {
		b.Queue(`INSERT INTO calls (id, tenant_id, sip_call_id, direction, from_number, from_uri,
				to_number, source_addr, flow, codec, started_at, agent_id, queue)
			SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
				$7::text[], $8::text[], $9::text[], $10::text[], $11::timestamptz[], $12::text[], $13::text[])
			ON CONFLICT (id) DO NOTHING`,
			starts.ids, starts.tenants, starts.sipIDs, starts.dirs, starts.fromNums, starts.fromURIs,
			starts.toNums, starts.sources, starts.flows, starts.codecs, starts.at, starts.agents, starts.queues)
	}
	if len(answers.ids) > 0 {
		b.Queue(`UPDATE calls c SET answered_at = v.at, updated_at = now()
			FROM unnest($1::uuid[], $2::timestamptz[]) AS v(id, at)
			WHERE c.id = v.id AND c.answered_at IS NULL`, answers.ids, answers.at)
	}
	if len(events.callIDs) > 0 {
		b.Queue(`INSERT INTO call_events (tenant_id, call_id, seq, at, kind, step, data)
			SELECT t, c, s, a, k, st, d::jsonb
			FROM unnest($1::text[], $2::uuid[], $3::int[], $4::timestamptz[], $5::text[], $6::text[], $7::text[])
				AS v(t, c, s, a, k, st, d)
			ON CONFLICT (call_id, seq) DO NOTHING`,
			events.tenants, events.callIDs, events.seqs, events.at, events.kinds, events.steps, events.data)
	}
	if len(regions.ids) > 0 {
		// After the starts: a call's start row is in this batch or an
		// earlier one, since the queue keeps a call's items in order.
		b.Queue(`UPDATE calls c SET region = v.region, country = v.country, updated_at = now()
			FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) AS v(id, tenant, region, country)
			WHERE c.id = v.id AND c.tenant_id = v.tenant`,
			regions.ids, regions.tenants, regions.regions, regions.countries)
	}
	if len(ends.ids) > 0 {
		// The IVR path is derived here, after the batch's events are in,
		// so the REST API can show it without reassembling timelines.
		b.Queue(`UPDATE calls c SET
				answered_at = coalesce(c.answered_at, v.answered_at),
				ended_at = v.ended_at,
				hangup_cause = nullif(v.cause, ''),
				hangup_side = nullif(v.side, ''),
				sip_code = nullif(v.sip_code, 0),
				rtp_packets_sent = v.sent,
				rtp_packets_received = v.received,
				rtp_lost = v.lost,
				rtp_jitter_ms = v.jitter,
				rtp_max_jitter_ms = v.max_jitter,
				mos = nullif(v.mos, 0),
				ivr_path = coalesce(nullif(v.ivr_path, ''), (
					SELECT string_agg(step, '>' ORDER BY seq) FROM (
						SELECT seq, step, lag(step) OVER (ORDER BY seq) AS prev
						FROM call_events e WHERE e.call_id = c.id AND e.step <> ''
					) steps WHERE prev IS DISTINCT FROM step)),
				updated_at = now()
			FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[], $4::text[], $5::text[], $6::int[],
				$7::bigint[], $8::bigint[], $9::bigint[], $10::float8[], $11::float8[], $12::float8[], $13::text[])
				AS v(id, answered_at, ended_at, cause, side, sip_code, sent, received, lost, jitter, max_jitter, mos, ivr_path)
			WHERE c.id = v.id`,
			ends.ids, ends.answeredAt, ends.endedAt, ends.causes, ends.sides, ends.sipCodes,
			ends.sent, ends.received, ends.lost, ends.jitter, ends.maxJitter, ends.mos, ends.ivrPaths)
	}
	surveys.queue(&b)
	if err := acd.queue(&b); err != nil {
		return err
	}
	if b.Len() == 0 {
		return nil
	}
	if err := s.pool.SendBatch(ctx, &b).Close(); err != nil {
		return fmt.Errorf("write %d CDR records: %w", len(items), err)
	}
	return nil
}

// Column-wise buffers: one array parameter per column lets a whole batch go
// in one statement via unnest, whatever its size, with ON CONFLICT, which
// COPY cannot do.

type startCols struct {
	ids                                                               []uuid.UUID
	tenants, sipIDs, dirs, fromNums, fromURIs, toNums, sources, flows []string
	codecs                                                            []string
	at                                                                []time.Time
	agents, queues                                                    []string
}

func (c *startCols) add(s *CallStart) {
	dir := s.Direction
	if dir == "" {
		dir = "inbound"
	}
	c.ids = append(c.ids, s.ID)
	c.tenants = append(c.tenants, s.TenantID)
	c.sipIDs = append(c.sipIDs, cleanText(s.SIPCallID))
	c.dirs = append(c.dirs, dir)
	c.fromNums = append(c.fromNums, cleanText(s.FromNumber))
	c.fromURIs = append(c.fromURIs, cleanText(s.FromURI))
	c.toNums = append(c.toNums, cleanText(s.ToNumber))
	c.sources = append(c.sources, cleanText(s.SourceAddr))
	c.flows = append(c.flows, cleanText(s.Flow))
	c.codecs = append(c.codecs, cleanText(s.Codec))
	c.at = append(c.at, s.StartedAt)
	c.agents = append(c.agents, cleanText(s.AgentID))
	c.queues = append(c.queues, cleanText(s.Queue))
}

type answerCols struct {
	ids []uuid.UUID
	at  []time.Time
}

type eventCols struct {
	tenants            []string
	callIDs            []uuid.UUID
	seqs               []int32
	at                 []time.Time
	kinds, steps, data []string
}

func (c *eventCols) add(e *Event) error {
	data := "{}"
	if len(e.Data) > 0 {
		clean := make(map[string]string, len(e.Data))
		for k, v := range e.Data {
			clean[cleanText(k)] = cleanText(v)
		}
		raw, err := json.Marshal(clean)
		if err != nil {
			return fmt.Errorf("encode data of event %d of call %s: %w", e.Seq, e.CallID, err)
		}
		data = string(raw)
	}
	c.tenants = append(c.tenants, e.TenantID)
	c.callIDs = append(c.callIDs, e.CallID)
	c.seqs = append(c.seqs, int32(min(e.Seq, math.MaxInt32)))
	c.at = append(c.at, e.At)
	c.kinds = append(c.kinds, cleanText(e.Kind))
	c.steps = append(c.steps, cleanText(e.Step))
	c.data = append(c.data, data)
	return nil
}

// EventRegion is the timeline event that says where the caller is from
// (data region, country, number; tenant.EventRegion): the writer copies it
// to the call's region and country columns.
const EventRegion = "region"

// regionCols are the region events of a batch; UPDATE ... FROM applies one
// source row per call, so a call's last event in the batch wins.
type regionCols struct {
	ids                         []uuid.UUID
	tenants, regions, countries []string
	at                          map[uuid.UUID]int
}

func (c *regionCols) add(e *Event) {
	if c.at == nil {
		c.at = map[uuid.UUID]int{}
	}
	region, country := cleanText(e.Data["region"]), cleanText(e.Data["country"])
	if i, dup := c.at[e.CallID]; dup {
		c.regions[i], c.countries[i] = region, country
		return
	}
	c.at[e.CallID] = len(c.ids)
	c.ids = append(c.ids, e.CallID)
	c.tenants = append(c.tenants, e.TenantID)
	c.regions = append(c.regions, region)
	c.countries = append(c.countries, country)
}

type endCols struct {
	ids                     []uuid.UUID
	answeredAt              []*time.Time
	endedAt                 []time.Time
	causes, sides, ivrPaths []string
	sipCodes                []int32
	sent, received, lost    []int64
	jitter, maxJitter, mos  []float64
}

func (c *endCols) add(e *CallEnd) {
	c.ids = append(c.ids, e.ID)
	c.answeredAt = append(c.answeredAt, nil)
	c.endedAt = append(c.endedAt, time.Time{})
	c.causes = append(c.causes, "")
	c.sides = append(c.sides, "")
	c.ivrPaths = append(c.ivrPaths, "")
	c.sipCodes = append(c.sipCodes, 0)
	c.sent = append(c.sent, 0)
	c.received = append(c.received, 0)
	c.lost = append(c.lost, 0)
	c.jitter = append(c.jitter, 0)
	c.maxJitter = append(c.maxJitter, 0)
	c.mos = append(c.mos, 0)
	c.set(len(c.ids)-1, e)
}

func (c *endCols) set(i int, e *CallEnd) {
	c.answeredAt[i] = e.AnsweredAt
	c.endedAt[i] = e.EndedAt
	c.causes[i] = cleanText(e.HangupCause)
	c.sides[i] = e.HangupSide
	c.ivrPaths[i] = cleanText(e.IVRPath)
	c.sipCodes[i] = int32(max(min(e.SIPCode, math.MaxInt32), 0))
	c.sent[i] = clampInt64(e.PacketsSent)
	c.received[i] = clampInt64(e.PacketsReceived)
	c.lost[i] = e.PacketsLost
	c.jitter[i] = finite(e.JitterMs)
	c.maxJitter[i] = finite(e.MaxJitterMs)
	c.mos[i] = finite(e.MOS)
}

func clampInt64(v uint64) int64 {
	if v > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(v)
}

// finite maps NaN and ±Inf to 0: PostgreSQL would store them, but JSON
// cannot carry them and every CDR consumer downstream would choke.
func finite(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}
