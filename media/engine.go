package media

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// PayloadType is an RTP payload type number.
type PayloadType = uint8

// Static G.711 payload types (RFC 3551).
const (
	PTPCMU PayloadType = 0
	PTPCMA PayloadType = 8
	ptCN   PayloadType = 13 // comfort noise: accepted as liveness, not played
)

var (
	// ErrNoPorts is returned (wrapped) by NewSession when every even port
	// of the range is taken; SIP should answer 503 rather than 500.
	ErrNoPorts = errors.New("no free RTP port")
	// ErrClosed is returned (wrapped) for operations on a closed session.
	ErrClosed = errors.New("media session closed")
	// ErrNoDTMF is returned (wrapped) by SendDigit when the remote did not
	// negotiate telephone-event.
	ErrNoDTMF = errors.New("no telephone-event payload type negotiated")
)

// Config for an Engine. Everything is per engine (no package globals), so
// several tenants or tests can run engines with different settings side by
// side.
type Config struct {
	// IP is the local bind address for RTP sockets; zero means 0.0.0.0.
	IP netip.Addr
	// PortMin..PortMax (inclusive) is the RTP port range. Only even ports
	// are used, so RTP/RTCP pairs stay conventional and port+1 stays free
	// for peers that insist on sending RTCP there. Both zero lets the
	// kernel choose (tests, outbound-only nodes).
	PortMin, PortMax int
	// RTPTimeout: no RTP received for this long while not on hold fires
	// SessionConfig.OnTimeout; 0 disables.
	RTPTimeout time.Duration
	// HoldTimeout: the same while the peer has put us on hold; 0 disables.
	HoldTimeout time.Duration
	// Shards is the number of pacer goroutines; 0 means GOMAXPROCS.
	Shards int
	// Logger receives session lifecycle events (never per-packet logs).
	Logger *slog.Logger
}

// Engine owns the RTP port range and the pacers that clock every session.
type Engine struct {
	cfg    Config
	log    *slog.Logger
	epoch  time.Time // monotonic origin for the int64 clocks in sessions
	ports  *portAllocator
	shards []*shard

	checkTicks int // pacer ticks between RTP timeout checks

	next      atomic.Uint32
	active    atomic.Int64
	running   atomic.Bool
	callbacks sync.WaitGroup // OnTimeout handlers; Run waits for them
}

// NewEngine validates cfg and prepares the port allocator and shards. Sessions
// can be created before Run; they are clocked once Run is going.
func NewEngine(cfg Config) (*Engine, error) {
	if !cfg.IP.IsValid() {
		cfg.IP = netip.IPv4Unspecified()
	}
	cfg.IP = cfg.IP.Unmap()
	if cfg.RTPTimeout < 0 || cfg.HoldTimeout < 0 {
		return nil, fmt.Errorf("media: config: negative timeout (rtp %v, hold %v)", cfg.RTPTimeout, cfg.HoldTimeout)
	}
	if cfg.Shards < 0 {
		return nil, fmt.Errorf("media: config: shards %d < 0", cfg.Shards)
	}
	if cfg.Shards == 0 {
		cfg.Shards = runtime.GOMAXPROCS(0)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ports, err := newPortAllocator(cfg.IP, cfg.PortMin, cfg.PortMax)
	if err != nil {
		return nil, err
	}
	e := &Engine{
		cfg:        cfg,
		log:        cfg.Logger.With("component", "media"),
		epoch:      time.Now(),
		ports:      ports,
		shards:     make([]*shard, cfg.Shards),
		checkTicks: timeoutCheckTicks(cfg.RTPTimeout, cfg.HoldTimeout),
	}
	for i := range e.shards {
		e.shards[i] = &shard{}
	}
	return e, nil
}

// timeoutCheckTicks checks timeouts about once a second (a scan of every
// session per tick would be wasted work), but at least four times per
// timeout so short timeouts still fire close to on time.
func timeoutCheckTicks(ds ...time.Duration) int {
	every := time.Second
	for _, d := range ds {
		if d > 0 {
			every = min(every, d/4)
		}
	}
	return max(1, int(every/frameDuration))
}

// ActiveSessions is the number of sessions created and not yet closed.
func (e *Engine) ActiveSessions() int { return int(e.active.Load()) }

// mono is the engine's monotonic clock in nanoseconds.
func (e *Engine) mono() int64 { return int64(time.Since(e.epoch)) }

// Run clocks the sessions until ctx is done: Shards goroutines, each with
// one 20 ms ticker walking its sessions. One shared pacer per CPU instead of
// a goroutine and a ticker per call keeps timer and scheduler load flat as
// calls grow. Run does not close sessions; their owners do.
func (e *Engine) Run(ctx context.Context) error {
	if !e.running.CompareAndSwap(false, true) {
		return errors.New("media: engine is already running")
	}
	defer e.running.Store(false)
	var wg sync.WaitGroup
	for i, sh := range e.shards {
		// Stagger the shards over the 20 ms so their bursts of sends do
		// not line up on the same instant.
		offset := frameDuration * time.Duration(i) / time.Duration(len(e.shards))
		wg.Go(func() { e.runShard(ctx, sh, offset) })
	}
	wg.Wait()
	e.callbacks.Wait()
	return nil
}

const (
	// maxCatchUp is how many missed frames a late tick makes up with a
	// burst. Beyond that (a long stall) bursting would flood the peer's
	// jitter buffer, so the timestamps jump instead, with a marker.
	maxCatchUp = 5
)

func (e *Engine) runShard(ctx context.Context, sh *shard, offset time.Duration) {
	if offset > 0 {
		t := time.NewTimer(offset)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
	t := time.NewTicker(frameDuration)
	defer t.Stop()
	start := time.Now()
	var done int64 // frames clocked since start
	sinceCheck := 0
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			// A time.Ticker drops ticks when the walk overruns, so the
			// number of frames due comes from the wall clock: the RTP
			// timestamps must follow real time, not the tick count.
			due := int64((now.Sub(start) + frameDuration/2) / frameDuration)
			n := max(due-done, 1)
			done += n
			send, skip := int(n), 0
			if n > maxCatchUp {
				send, skip = 1, int(n-1)
			}
			sinceCheck += int(n)
			check := sinceCheck >= e.checkTicks
			if check {
				sinceCheck = 0
			}
			sh.tick(e, send, skip, check)
		}
	}
}

// shard is one pacer's set of sessions. Sessions sit in a slice (cheap to
// walk, swap-remove on close); the tick copies it to a scratch slice so
// Close and Start never wait for a whole walk.
type shard struct {
	mu       sync.Mutex
	sessions []*Session
	scratch  []*Session // used only by the shard's goroutine
}

func (sh *shard) add(s *Session) {
	sh.mu.Lock()
	s.shardIdx = len(sh.sessions)
	sh.sessions = append(sh.sessions, s)
	sh.mu.Unlock()
}

func (sh *shard) remove(s *Session) {
	sh.mu.Lock()
	if i := s.shardIdx; i >= 0 && i < len(sh.sessions) && sh.sessions[i] == s {
		last := len(sh.sessions) - 1
		sh.sessions[i] = sh.sessions[last]
		sh.sessions[i].shardIdx = i
		sh.sessions[last] = nil
		sh.sessions = sh.sessions[:last]
	}
	s.shardIdx = -1
	sh.mu.Unlock()
}

func (sh *shard) tick(e *Engine, send, skip int, check bool) {
	sh.mu.Lock()
	sh.scratch = append(sh.scratch[:0], sh.sessions...)
	sh.mu.Unlock()
	wall := time.Now()
	mono := int64(wall.Sub(e.epoch))
	for _, s := range sh.scratch {
		s.tick(send, skip, mono, wall, check)
	}
	clear(sh.scratch) // do not keep closed sessions reachable until the next tick
}

// portAllocator hands out even ports round robin. Round robin (rather than
// lowest free) delays reuse of a just-freed port, so late packets of an
// ended call do not land in a new one. The search is bounded by the number
// of ports and wraps, so it can neither loop forever nor miss free ports
// below the cursor.
type portAllocator struct {
	mu       sync.Mutex
	ip       netip.Addr
	network  string
	min, max int // even bounds; 0,0 = kernel chooses
	next     int
	used     []uint64 // one bit per even port
	inUse    int
}

func newPortAllocator(ip netip.Addr, lo, hi int) (*portAllocator, error) {
	a := &portAllocator{ip: ip, network: "udp4"}
	if ip.Is6() {
		a.network = "udp6"
	}
	if lo == 0 && hi == 0 {
		return a, nil
	}
	if lo < 1 || hi > 65535 || lo > hi {
		return nil, fmt.Errorf("media: config: RTP port range %d-%d is invalid", lo, hi)
	}
	lo += lo & 1
	hi -= hi & 1
	if lo > hi {
		return nil, fmt.Errorf("media: config: RTP port range %d-%d has no even port", lo, hi)
	}
	a.min, a.max, a.next = lo, hi, lo
	a.used = make([]uint64, ((hi-lo)/2)/64+1)
	return a, nil
}

func (a *portAllocator) listen(port int) (*net.UDPConn, error) {
	return net.ListenUDP(a.network, net.UDPAddrFromAddrPort(netip.AddrPortFrom(a.ip, uint16(port))))
}

func (a *portAllocator) allocate() (*net.UDPConn, int, error) {
	if a.min == 0 {
		// Learn a free port, then bind it explicitly: only an explicit
		// bind survives disconnecting a connected UDP socket (Linux
		// unbinds kernel-chosen ports on AF_UNSPEC connect).
		var err error
		for range 8 {
			var c *net.UDPConn
			if c, err = a.listen(0); err != nil {
				break
			}
			p := c.LocalAddr().(*net.UDPAddr).Port
			c.Close()
			if c, err = a.listen(p); err == nil {
				return c, p, nil
			}
		}
		return nil, 0, fmt.Errorf("listen on %s: %w", a.ip, err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	count := (a.max-a.min)/2 + 1
	var lastErr error
	for range count {
		p := a.next
		a.next += 2
		if a.next > a.max {
			a.next = a.min
		}
		i := (p - a.min) / 2
		if a.used[i/64]&(1<<(i%64)) != 0 {
			continue
		}
		c, err := a.listen(p)
		if err != nil {
			// Taken by another process: skip it, keep searching.
			lastErr = err
			continue
		}
		a.used[i/64] |= 1 << (i % 64)
		a.inUse++
		return c, p, nil
	}
	if lastErr != nil {
		return nil, 0, fmt.Errorf("%w in %d-%d (%d used by this engine; last bind error: %v)", ErrNoPorts, a.min, a.max, a.inUse, lastErr)
	}
	return nil, 0, fmt.Errorf("%w in %d-%d (all %d used by this engine)", ErrNoPorts, a.min, a.max, a.inUse)
}

func (a *portAllocator) release(p int) {
	if a.min == 0 || p < a.min || p > a.max {
		return
	}
	a.mu.Lock()
	i := (p - a.min) / 2
	if a.used[i/64]&(1<<(i%64)) != 0 {
		a.used[i/64] &^= 1 << (i % 64)
		a.inUse--
	}
	a.mu.Unlock()
}
