package sip_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"

	"hotline/call"
	"hotline/media"
	"hotline/sip"
)

// BenchmarkInviteTo200 drives a real sip.Server (sipgo transactions, dialog,
// SDP answer, a real media.Engine session per call) over UDP on loopback
// from a raw socket: INVITE, read 100/180/200, ACK, BYE, read the BYE's 200.
// One op is one whole call. The route's flow blocks until the call ends, so
// the call is up between the 200 and our BYE, as in production.
//
// allocs/op and B/op count the whole process, so they are the server's
// allocations per call (the client sends pre-built INVITEs and writes ACK
// and BYE into per-slot buffers, and allocates nothing per call).
//
// inflight=1 is the latency of one call at a time (INVITE to BYE's 200,
// four round trips of the transaction layer); inflight=32 keeps 32 calls
// in progress and measures setup throughput on the available cores.
//
//	go test -run '^$' -bench InviteTo200 -benchmem ./sip/
func BenchmarkInviteTo200(b *testing.B) {
	for _, inflight := range []int{1, 32} {
		b.Run("inflight="+strconv.Itoa(inflight), func(b *testing.B) {
			benchInvite(b, inflight)
		})
	}
}

// benchRouter sends every call to a flow that waits for the hang-up.
type benchRouter struct{}

func (benchRouter) Route(src netip.Addr, did string) (*sip.Route, error) {
	return &sip.Route{
		TenantID: "bench",
		Flow:     "main",
		Run:      func(c *call.Call) { <-c.Done() },
	}, nil
}

// nopRecorder drops the CDR: the benchmark measures SIP and media setup,
// store has its own benchmark (BenchmarkWriter).
type nopRecorder struct{}

func (nopRecorder) CallEvent(call.Event)           {}
func (nopRecorder) CallStarted(call.Info)          {}
func (nopRecorder) CallAnswered(string, time.Time) {}
func (nopRecorder) CallEnded(*call.Call, sip.End)  {}

type benchServer struct {
	srv  *sip.Server
	addr *net.UDPAddr
	stop func()
}

// freePort finds a port free for both UDP and TCP on 127.0.0.1 (the server
// listens on both with one address).
func freePort(b *testing.B) int {
	b.Helper()
	for range 20 {
		u, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			b.Fatal(err)
		}
		p := u.LocalAddr().(*net.UDPAddr).Port
		t, err := net.Listen("tcp4", "127.0.0.1:"+strconv.Itoa(p))
		u.Close()
		if err != nil {
			continue
		}
		t.Close()
		return p
	}
	b.Fatal("no free port for UDP and TCP")
	return 0
}

func startBenchServer(b *testing.B) *benchServer {
	b.Helper()
	quiet := slog.New(slog.DiscardHandler)
	// A port range as in production (one bind per call; a kernel-chosen
	// port costs two). Ports other programs hold are skipped.
	eng, err := media.NewEngine(media.Config{
		IP:         netip.MustParseAddr("127.0.0.1"),
		PortMin:    40000,
		PortMax:    49999,
		RTPTimeout: time.Minute,
		Logger:     quiet,
	})
	if err != nil {
		b.Fatal(err)
	}
	port := freePort(b)
	srv, err := sip.New(sip.Config{
		Listen: "127.0.0.1:" + strconv.Itoa(port),
		Logger: quiet,
		// No limits: the benchmark measures the call path, not the 503s.
	}, benchRouter{}, nopRecorder{}, eng)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 2)
	go func() { errc <- eng.Run(ctx) }()
	go func() { errc <- srv.Serve(ctx) }()
	select {
	case <-srv.Ready():
	case err := <-errc:
		cancel()
		b.Fatalf("server did not start: %v", err)
	case <-time.After(5 * time.Second):
		cancel()
		b.Fatal("server did not start in 5s")
	}
	return &benchServer{
		srv:  srv,
		addr: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port},
		stop: func() {
			cancel()
			for range 2 {
				select {
				case <-errc:
				case <-time.After(10 * time.Second):
					return
				}
			}
		},
	}
}

// Per-call client state.
const (
	stInvite = iota // INVITE sent, waiting for its 200
	stUp            // ACK sent, call held (hold mode)
	stBye           // BYE sent, waiting for its 200
	stDone
)

type benchClient struct {
	b      *testing.B
	conn   *net.UDPConn
	local  string // ip:port of the client socket
	remote string // ip:port of the server
	run    string // distinguishes b.N rounds (Call-IDs stay unique)
	invite [][]byte
	state  []uint8
	totag  [][]byte // To tag of each call's 200
	ack    []byte   // scratch for ACK/BYE
	rx     []byte
	hold   bool // on a 200 to an INVITE: ACK only, the call stays up
}

var benchRound int

func newBenchClient(b *testing.B, server *net.UDPAddr, n int) *benchClient {
	b.Helper()
	conn, err := net.DialUDP("udp4", nil, server)
	if err != nil {
		b.Fatal(err)
	}
	_ = conn.SetReadBuffer(4 << 20)
	_ = conn.SetWriteBuffer(4 << 20)
	benchRound++
	c := &benchClient{
		b:      b,
		conn:   conn,
		local:  conn.LocalAddr().String(),
		remote: server.String(),
		run:    fmt.Sprintf("%d-%d", time.Now().UnixNano()%1e9, benchRound),
		invite: make([][]byte, n),
		state:  make([]uint8, n),
		totag:  make([][]byte, n),
		ack:    make([]byte, 0, 1024),
		rx:     make([]byte, 65536),
	}
	// Pre-built INVITEs, each with its own Call-ID, branch and From tag.
	// The SDP points RTP at the discard port: the flow plays nothing.
	for i := range n {
		sdp := "v=0\r\n" +
			"o=bench 1 1 IN IP4 127.0.0.1\r\n" +
			"s=bench\r\n" +
			"c=IN IP4 127.0.0.1\r\n" +
			"t=0 0\r\n" +
			"m=audio 9 RTP/AVP 0 8 101\r\n" +
			"a=rtpmap:0 PCMU/8000\r\n" +
			"a=rtpmap:8 PCMA/8000\r\n" +
			"a=rtpmap:101 telephone-event/8000\r\n" +
			"a=fmtp:101 0-15\r\n" +
			"a=ptime:20\r\n" +
			"a=sendrecv\r\n"
		msg := "INVITE sip:+15550100@" + server.String() + " SIP/2.0\r\n" +
			"Via: SIP/2.0/UDP " + c.local + ";branch=z9hG4bK-" + c.run + "-" + strconv.Itoa(i) + "-i;rport\r\n" +
			"Max-Forwards: 70\r\n" +
			"From: <sip:+15557001234@" + c.local + ">;tag=f" + strconv.Itoa(i) + "\r\n" +
			"To: <sip:+15550100@" + server.String() + ">\r\n" +
			"Call-ID: bench-" + c.run + "-" + strconv.Itoa(i) + "\r\n" +
			"CSeq: 1 INVITE\r\n" +
			"Contact: <sip:+15557001234@" + c.local + ">\r\n" +
			"Content-Type: application/sdp\r\n" +
			"Content-Length: " + strconv.Itoa(len(sdp)) + "\r\n" +
			"\r\n" + sdp
		c.invite[i] = []byte(msg)
		c.totag[i] = make([]byte, 0, 64)
	}
	return c
}

func (c *benchClient) send(p []byte) {
	if _, err := c.conn.Write(p); err != nil {
		c.b.Fatalf("send: %v", err)
	}
}

// sendInDialog sends ACK or BYE in call i's dialog. The ACK of a 2xx is
// its own transaction (new branch); both carry the To tag.
func (c *benchClient) sendInDialog(i int, methods ...string) {
	for _, m := range methods {
		cseq := "1 ACK"
		br := "-a"
		if m == "BYE" {
			cseq, br = "2 BYE", "-b"
		}
		p := c.ack[:0]
		p = append(p, m...)
		p = append(p, " sip:hotline@"...)
		p = append(p, c.remote...)
		p = append(p, " SIP/2.0\r\nVia: SIP/2.0/UDP "...)
		p = append(p, c.local...)
		p = append(p, ";branch=z9hG4bK-"...)
		p = append(p, c.run...)
		p = append(p, '-')
		p = strconv.AppendInt(p, int64(i), 10)
		p = append(p, br...)
		p = append(p, ";rport\r\nMax-Forwards: 70\r\nFrom: <sip:+15557001234@"...)
		p = append(p, c.local...)
		p = append(p, ">;tag=f"...)
		p = strconv.AppendInt(p, int64(i), 10)
		p = append(p, "\r\nTo: <sip:+15550100@"...)
		p = append(p, c.remote...)
		p = append(p, ">;tag="...)
		p = append(p, c.totag[i]...)
		p = append(p, "\r\nCall-ID: bench-"...)
		p = append(p, c.run...)
		p = append(p, '-')
		p = strconv.AppendInt(p, int64(i), 10)
		p = append(p, "\r\nCSeq: "...)
		p = append(p, cseq...)
		p = append(p, "\r\nContent-Length: 0\r\n\r\n"...)
		c.ack = p
		c.send(p)
	}
}

// header returns the value of the first header named name (long form, as
// sipgo writes them) in a SIP message, or nil.
func header(msg []byte, name string) []byte {
	for len(msg) > 0 {
		line := msg
		if i := bytes.Index(msg, []byte("\r\n")); i >= 0 {
			line, msg = msg[:i], msg[i+2:]
		} else {
			msg = nil
		}
		if len(line) == 0 {
			return nil // end of headers
		}
		if len(line) > len(name) && line[len(name)] == ':' && string(line[:len(name)]) == name {
			return bytes.TrimSpace(line[len(name)+1:])
		}
	}
	return nil
}

// handle processes one response; it returns true when call i completed.
func (c *benchClient) handle(msg []byte) (int, bool) {
	b := c.b
	if !bytes.HasPrefix(msg, []byte("SIP/2.0 ")) || len(msg) < 12 {
		b.Fatalf("unexpected message from server:\n%s", msg)
	}
	code, err := strconv.Atoi(string(msg[8:11]))
	if err != nil {
		b.Fatalf("bad status line:\n%s", msg)
	}
	cid := header(msg, "Call-ID")
	prefix := "bench-" + c.run + "-"
	if !bytes.HasPrefix(cid, []byte(prefix)) {
		// A late retransmission from an earlier round.
		return -1, false
	}
	i, err := strconv.Atoi(string(cid[len(prefix):]))
	if err != nil || i < 0 || i >= len(c.state) {
		b.Fatalf("response for unknown Call-ID %q", cid)
	}
	if code < 200 {
		return i, false
	}
	if code >= 300 {
		b.Fatalf("call %d refused: %s", i, bytes.SplitN(msg, []byte("\r\n"), 2)[0])
	}
	cseq := header(msg, "CSeq")
	switch {
	case bytes.HasSuffix(cseq, []byte("INVITE")):
		if c.state[i] != stInvite {
			return i, false // 200 retransmitted before our ACK arrived
		}
		to := header(msg, "To")
		j := bytes.Index(to, []byte(";tag="))
		if j < 0 {
			b.Fatalf("200 without To tag:\n%s", msg)
		}
		tag := to[j+5:]
		if k := bytes.IndexByte(tag, ';'); k >= 0 {
			tag = tag[:k]
		}
		c.totag[i] = append(c.totag[i][:0], tag...)
		if c.hold {
			c.state[i] = stUp
			c.sendInDialog(i, "ACK")
			return i, true
		}
		c.state[i] = stBye
		c.sendInDialog(i, "ACK", "BYE")
	case bytes.HasSuffix(cseq, []byte("BYE")):
		if c.state[i] != stBye {
			return i, false
		}
		c.state[i] = stDone
		return i, true
	}
	return i, false
}

func benchInvite(b *testing.B, inflight int) {
	s := startBenchServer(b)
	defer s.stop()
	// Warm up sipgo, the port allocator and the runtime outside the timer.
	warm := newBenchClient(b, s.addr, 64)
	warm.drive(64, inflight)
	warm.conn.Close()

	c := newBenchClient(b, s.addr, b.N)
	defer c.conn.Close()
	b.ReportAllocs()
	b.ResetTimer()
	t0 := time.Now()
	c.drive(b.N, inflight)
	// The server finishes a call (media close, CDR end) just after its
	// 200 to our BYE: wait for that work so it is counted.
	for deadline := time.Now().Add(10 * time.Second); s.srv.ActiveCalls() > 0; {
		if time.Now().After(deadline) {
			b.Fatalf("%d calls still active 10s after the last BYE", s.srv.ActiveCalls())
		}
		time.Sleep(100 * time.Microsecond)
	}
	elapsed := time.Since(t0)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "calls/s")
}

// drive runs n calls with up to inflight of them in progress at once.
func (c *benchClient) drive(n, inflight int) {
	b := c.b
	next, done := 0, 0
	for ; next < min(inflight, n); next++ {
		c.send(c.invite[next])
	}
	reads := 0
	for done < n {
		if reads%256 == 0 {
			_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		}
		reads++
		m, err := c.conn.Read(c.rx)
		if err != nil {
			pending := 0
			for _, st := range c.state[:next] {
				if st != stDone {
					pending++
				}
			}
			b.Fatalf("read after %d/%d calls (%d pending): %v", done, n, pending, err)
		}
		if _, finished := c.handle(c.rx[:m]); finished {
			done++
			if next < n {
				c.send(c.invite[next])
				next++
			}
		}
	}
}

// byeAll hangs up every held call, up to inflight at a time.
func (c *benchClient) byeAll(inflight int) {
	b := c.b
	var up []int
	for i, st := range c.state {
		if st == stUp {
			up = append(up, i)
		}
	}
	next, done := 0, 0
	for ; next < min(inflight, len(up)); next++ {
		c.state[up[next]] = stBye
		c.sendInDialog(up[next], "BYE")
	}
	for done < len(up) {
		_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		m, err := c.conn.Read(c.rx)
		if err != nil {
			b.Fatalf("hang-up: read after %d/%d calls: %v", done, len(up), err)
		}
		if _, finished := c.handle(c.rx[:m]); finished {
			done++
			if next < len(up) {
				c.state[up[next]] = stBye
				c.sendInDialog(up[next], "BYE")
				next++
			}
		}
	}
}

func waitActive(b *testing.B, s *sip.Server, want int64) {
	b.Helper()
	for deadline := time.Now().Add(10 * time.Second); s.ActiveCalls() != want; {
		if time.Now().After(deadline) {
			b.Fatalf("%d calls active, want %d", s.ActiveCalls(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

type memPoint struct {
	heap, stack uint64 // live heap after a full GC; goroutine stacks
	goroutines  int
}

func measureMem() memPoint {
	runtime.GC()
	runtime.GC() // the second one finishes sweeping what the first freed
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memPoint{heap: ms.HeapAlloc, stack: ms.StackInuse, goroutines: runtime.NumGoroutine()}
}

func heapProfile(b *testing.B, suffix string) {
	prefix := os.Getenv("HOTLINE_BENCH_HEAPPROFILE")
	if prefix == "" {
		return
	}
	f, err := os.Create(prefix + "." + suffix + ".pb.gz")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkCallMemory is the memory of the SIP and media side of a call
// (no IVR: the flow only waits), measured in the process that serves it:
//
//   - heap-B/call, stack-B/call, goroutines/call: 1000 calls up at once
//     (answered, ACKed, media session started), after a full GC, over the
//     idle server.
//   - retained-B/call: once all of them have hung up (our BYE, the server's
//     200) and the server has closed them, what stays live per finished
//     call: finished transactions wait out their timers (Timer J, 64*T1 =
//     32 s on UDP) before the transaction layer forgets them. At R calls/s
//     this is held R*32 times over.
//
// HOTLINE_BENCH_HEAPPROFILE=PREFIX writes PREFIX.held.pb.gz and
// PREFIX.retained.pb.gz (go tool pprof -sample_index=inuse_space).
//
//	go test -run '^$' -bench CallMemory -benchtime 3x ./sip/
func BenchmarkCallMemory(b *testing.B) {
	const calls = 1000
	s := startBenchServer(b)
	defer s.stop()
	warm := newBenchClient(b, s.addr, 64)
	warm.drive(64, 32)
	warm.conn.Close()
	waitActive(b, s.srv, 0)

	var heap, stack, gor, retained float64
	for i := 0; i < b.N; i++ {
		c := newBenchClient(b, s.addr, calls)
		c.hold = true
		m0 := measureMem()
		c.drive(calls, 32)
		waitActive(b, s.srv, calls)
		m1 := measureMem()
		if i == 0 {
			heapProfile(b, "held")
		}
		c.byeAll(32)
		waitActive(b, s.srv, 0)
		m2 := measureMem()
		if i == 0 {
			heapProfile(b, "retained")
		}
		c.conn.Close()
		heap += (float64(m1.heap) - float64(m0.heap)) / calls
		stack += (float64(m1.stack) - float64(m0.stack)) / calls
		gor += float64(m1.goroutines-m0.goroutines) / calls
		retained += (float64(m2.heap) - float64(m0.heap)) / calls
	}
	n := float64(b.N)
	b.ReportMetric(heap/n, "heap-B/call")
	b.ReportMetric(stack/n, "stack-B/call")
	b.ReportMetric(gor/n, "goroutines/call")
	b.ReportMetric(retained/n, "retained-B/call")
}
