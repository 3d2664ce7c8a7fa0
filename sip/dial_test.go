package sip

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"hotline/call"
	"hotline/media"
)

// mediaSilence loops silence.
func mediaSilence() media.Source {
	return media.NewPlayer(media.NewPromptPCM(make([]int16, 8000)), true)
}

// cdrRecorder keeps the CDR end rows by call id.
type cdrRecorder struct {
	mu    sync.Mutex
	ended map[string]End
}

func (r *cdrRecorder) CallEvent(call.Event)           {}
func (r *cdrRecorder) CallStarted(call.Info)          {}
func (r *cdrRecorder) CallAnswered(string, time.Time) {}
func (r *cdrRecorder) CallEnded(c *call.Call, e End) {
	r.mu.Lock()
	if r.ended == nil {
		r.ended = map[string]End{}
	}
	r.ended[c.ID] = e
	r.mu.Unlock()
}

func (r *cdrRecorder) end(t *testing.T, id string) End {
	t.Helper()
	var e End
	waitFor(t, 10*time.Second, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		var ok bool
		if id == "" {
			for _, e = range r.ended {
				return true
			}
			return false
		}
		e, ok = r.ended[id]
		return ok
	})
	return e
}

// recv reads the next SIP message the peer gets, skipping anything the
// filter says to.
func (p *udpPeer) recv(t *testing.T, timeout time.Duration, skip func(sipmsg.Message) bool) (sipmsg.Message, *net.UDPAddr) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	buf := make([]byte, 65535)
	for {
		_ = p.c.SetReadDeadline(deadline)
		n, from, err := p.c.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("peer: no message within %v: %v", timeout, err)
		}
		msg, err := sipmsg.ParseMessage(append([]byte(nil), buf[:n]...))
		if err != nil {
			t.Fatalf("peer: unparseable message: %v\n%s", err, buf[:n])
		}
		if skip != nil && skip(msg) {
			continue
		}
		return msg, from
	}
}

func isRequest(m sipmsg.Message, method sipmsg.RequestMethod) bool {
	r, ok := m.(*sipmsg.Request)
	return ok && r.Method == method
}

func TestFinalResponseFollowsAsterisk(t *testing.T) {
	for _, tc := range []struct {
		cause *call.Cause
		code  int
	}{
		{call.CauseBusy, 486},
		{call.CauseNoAnswer, 480},
		{call.CauseNoUserResponse, 408},
		{call.CauseRejected, 403},
		{call.CauseUnallocated, 404},
		{call.CauseCongestion, 503},
		{call.CauseNumberIncomplete, 484},
		{call.CauseCodecMismatch, 488},
		{call.CauseNormal, 603},            // 16: unmapped, ast_sip_session_terminate's default
		{call.CauseFlowError, 603},         // 41: unmapped too
		{call.CauseAnsweredElsewhere, 603}, // 26
		{call.CauseShutdown, 503},          // its own code
		{&call.Cause{Name: "x", Q850: 42}, 503},
		{&call.Cause{Name: "x", Q850: 38}, 500},
		{&call.Cause{Name: "x", Q850: 22}, 410},
	} {
		if code, reason := finalResponse(tc.cause); code != tc.code || reason == "" {
			t.Errorf("%s (Q.850 %d): %d %q, want %d", tc.cause.Name, tc.cause.Q850, code, reason, tc.code)
		}
		// The exported causes agree with the mapping of their own code.
		if tc.cause.SIPCode != 0 {
			if code, _ := finalResponse(&call.Cause{Q850: tc.cause.Q850}); code != tc.cause.SIPCode && tc.cause != call.CauseShutdown {
				t.Errorf("%s: SIPCode %d but Q.850 %d maps to %d", tc.cause.Name, tc.cause.SIPCode, tc.cause.Q850, code)
			}
		}
	}
}

func TestCauseOfStatus(t *testing.T) {
	for code, want := range map[int]*call.Cause{
		486: call.CauseBusy, 600: call.CauseBusy,
		480: call.CauseNoAnswer, 408: call.CauseNoAnswer,
		404: call.CauseUnallocated, 484: call.CauseUnallocated, 604: call.CauseUnallocated,
		403: call.CauseRejected, 603: call.CauseRejected, 401: call.CauseRejected, 407: call.CauseRejected,
		503: call.CauseCongestion, 500: call.CauseCongestion, 599: call.CauseCongestion,
		488: call.CauseCodecMismatch, 606: call.CauseCodecMismatch,
		415: call.CauseInterworking, 699: call.CauseInterworking,
	} {
		if got := causeOfStatus(code); got != want {
			t.Errorf("%d: %s, want %s", code, got.Name, want.Name)
		}
	}
}

func TestSplitRoutes(t *testing.T) {
	got := splitRoutes(`<sip:p1.example.com;lr>, "a,b" <sip:p2;lr>,<sip:p3;lr>`)
	want := []string{"<sip:p1.example.com;lr>", `"a,b" <sip:p2;lr>`, "<sip:p3;lr>"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("splitRoutes = %q, want %q", got, want)
	}
}

// TestDialInDialog: a raw UAS answers an outbound call through a record-
// routing proxy; the ACK follows the route set to the Contact and is
// repeated for a retransmitted 200; the far end's re-INVITE, INFO and BYE
// find the outbound dialog.
func TestDialInDialog(t *testing.T) {
	rec := &cdrRecorder{}
	ts := startServer(t, func(s *Server) { s.rec = rec })
	peer := newPeer(t, 0)
	peerAddr := peer.c.LocalAddr().String()
	rtp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rtp.Close()

	c, err := ts.Dial(DialRequest{TenantID: "t", Target: "sip:+15551234@" + peerAddr, From: "+15550100", FromName: "Hot Line",
		Headers: map[string]string{"X-Campaign": "42"}, Run: func(c *call.Call) { <-c.Done() }})
	if err != nil {
		t.Fatal(err)
	}
	if c.State() != call.StateDown || !c.Outbound {
		t.Fatalf("new outbound call: state %s outbound %v", c.State(), c.Outbound)
	}
	m, from := peer.recv(t, 5*time.Second, nil)
	inv, ok := m.(*sipmsg.Request)
	if !ok || inv.Method != sipmsg.INVITE {
		t.Fatalf("want INVITE, got %s", m.String())
	}
	// Sent from the listening socket, with a Via the answer can follow.
	if from.Port != ts.port {
		t.Errorf("INVITE from port %d, want the listener's %d", from.Port, ts.port)
	}
	if v := inv.Via(); v == nil || v.Host != "127.0.0.1" || v.Port != ts.port {
		t.Errorf("Via %v", inv.Via())
	}
	if h := inv.GetHeader("X-Campaign"); h == nil || h.Value() != "42" {
		t.Errorf("X-Campaign: %v", h)
	}
	if f := inv.From(); f.DisplayName != "Hot Line" || f.Address.User != "+15550100" {
		t.Errorf("From %s", f.Value())
	}
	body := string(inv.Body())
	if !strings.Contains(body, "m=audio ") || !strings.Contains(body, "RTP/AVP 0 8 101") {
		t.Errorf("offer:\n%s", body)
	}

	ringing := sipmsg.NewResponseFromRequest(inv, 180, "Ringing", nil)
	ringing.To().Params.Add("tag", "uas1")
	peer.send(t, from.String(), []byte(ringing.String()))
	waitFor(t, 5*time.Second, func() bool { return c.State() == call.StateRinging })

	sdp := fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %d RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n", rtp.LocalAddr().(*net.UDPAddr).Port)
	ok200 := sipmsg.NewResponseFromRequest(inv, 200, "OK", []byte(sdp))
	ok200.To().Params.Add("tag", "uas1")
	ok200.AppendHeader(sipmsg.NewHeader("Record-Route", "<sip:"+peerAddr+";lr>"))
	ok200.AppendHeader(&sipmsg.ContactHeader{Address: sipmsg.Uri{Scheme: "sip", User: "callee", Host: "127.0.0.1", Port: 5}})
	ok200.AppendHeader(sipmsg.NewHeader("Content-Type", "application/sdp"))
	peer.send(t, from.String(), []byte(ok200.String()))

	for i := range 2 {
		m, _ = peer.recv(t, 5*time.Second, func(m sipmsg.Message) bool { return !isRequest(m, sipmsg.ACK) })
		ack := m.(*sipmsg.Request)
		if ack.Recipient.User != "callee" || ack.Recipient.Port != 5 {
			t.Errorf("ACK %d to %s, want the Contact", i, ack.Recipient.String())
		}
		if r := ack.GetHeader("Route"); r == nil || !strings.Contains(r.Value(), peerAddr) {
			t.Errorf("ACK %d Route %v", i, r)
		}
		if tag, _ := ack.To().Params.Get("tag"); tag != "uas1" || ack.CSeq().SeqNo != inv.CSeq().SeqNo {
			t.Errorf("ACK %d: To tag %q CSeq %d", i, tag, ack.CSeq().SeqNo)
		}
		if i == 0 {
			waitFor(t, 5*time.Second, func() bool { return c.State() == call.StateUp })
			// A lost ACK: the 200 comes again and is ACKed again.
			peer.send(t, from.String(), []byte(ok200.String()))
		}
	}

	// Audio to the address in the answer, in the answer's codec.
	buf := make([]byte, 1500)
	_ = rtp.SetReadDeadline(time.Now().Add(3 * time.Second))
	c.Media().SetSource(mediaSilence())
	n, _, err := rtp.ReadFromUDP(buf)
	if err != nil || n < 12 || buf[1]&0x7f != 8 {
		t.Errorf("no PCMA from Hotline: n=%d err=%v", n, err)
	}

	// The far end's requests in the dialog: To carries our From tag.
	ourTag, _ := inv.From().Params.Get("tag")
	inDialog := func(method sipmsg.RequestMethod, seq int, body string) *sipmsg.Response {
		var b strings.Builder
		fmt.Fprintf(&b, "%s sip:hotline@127.0.0.1:%d SIP/2.0\r\n", method, ts.port)
		fmt.Fprintf(&b, "Via: SIP/2.0/UDP %s;branch=z9hG4bK-%s-%d;rport\r\n", peerAddr, method, seq)
		fmt.Fprintf(&b, "From: <sip:+15551234@%s>;tag=uas1\r\n", peerAddr)
		fmt.Fprintf(&b, "To: <sip:+15550100@127.0.0.1>;tag=%s\r\n", ourTag)
		fmt.Fprintf(&b, "Call-ID: %s\r\nCSeq: %d %s\r\nMax-Forwards: 70\r\n", inv.CallID().Value(), seq, method)
		fmt.Fprintf(&b, "Contact: <sip:callee@%s>\r\n", peerAddr)
		if body != "" {
			b.WriteString("Content-Type: application/sdp\r\n")
		}
		fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
		peer.send(t, ts.udp, []byte(b.String()))
		m, _ := peer.recv(t, 5*time.Second, func(m sipmsg.Message) bool {
			r, ok := m.(*sipmsg.Response)
			return !ok || r.IsProvisional() || r.CSeq().MethodName != method
		})
		return m.(*sipmsg.Response)
	}
	hold := strings.Replace(sdp, "a=rtpmap:101", "a=sendonly\r\na=rtpmap:101", 1)
	if res := inDialog(sipmsg.INVITE, 1, hold); res.StatusCode != 200 || !strings.Contains(string(res.Body()), "a=recvonly") {
		t.Errorf("re-INVITE: %d\n%s", res.StatusCode, res.Body())
	}
	if res := inDialog(sipmsg.INFO, 2, ""); res.StatusCode != 200 {
		t.Errorf("INFO: %d", res.StatusCode)
	}
	if res := inDialog(sipmsg.BYE, 3, ""); res.StatusCode != 200 {
		t.Errorf("BYE: %d", res.StatusCode)
	}
	e := rec.end(t, c.ID)
	if e.Cause != call.CauseRemoteHangup || e.SIPCode != 200 {
		t.Errorf("end: %s %d, want remote-hangup 200", e.Cause.Name, e.SIPCode)
	}
	// No BYE of ours follows the far end's.
	_ = peer.c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	for {
		n, _, err := peer.c.ReadFromUDP(buf)
		if err != nil {
			break
		}
		if strings.HasPrefix(string(buf[:n]), "BYE ") {
			t.Error("Hotline sent BYE after the far end's")
		}
	}
	waitFor(t, 5*time.Second, func() bool { return ts.ActiveCalls() == 0 })
}

// TestDialHangupBeforeProvisional: a call hung up before the far end sent
// anything is cancelled once a provisional response comes.
func TestDialHangupBeforeProvisional(t *testing.T) {
	rec := &cdrRecorder{}
	ts := startServer(t, func(s *Server) { s.rec = rec })
	peer := newPeer(t, 0)
	c, err := ts.Dial(DialRequest{Target: "sip:x@" + peer.c.LocalAddr().String()})
	if err != nil {
		t.Fatal(err)
	}
	m, from := peer.recv(t, 5*time.Second, nil)
	inv := m.(*sipmsg.Request)
	// Hung up before any provisional response: the CANCEL waits for one
	// (RFC 3261 9.1).
	c.Hangup(call.CauseNormal)
	time.Sleep(100 * time.Millisecond)
	trying := sipmsg.NewResponseFromRequest(inv, 100, "Trying", nil)
	peer.send(t, from.String(), []byte(trying.String()))
	m, _ = peer.recv(t, 5*time.Second, func(m sipmsg.Message) bool { return isRequest(m, sipmsg.INVITE) })
	cancel, ok := m.(*sipmsg.Request)
	if !ok || cancel.Method != sipmsg.CANCEL {
		t.Fatalf("want CANCEL, got %s", m.String())
	}
	if cancel.Via().Params.String() != inv.Via().Params.String() || cancel.CSeq().SeqNo != inv.CSeq().SeqNo {
		t.Errorf("CANCEL Via %s CSeq %d; INVITE Via %s CSeq %d", cancel.Via().Value(), cancel.CSeq().SeqNo, inv.Via().Value(), inv.CSeq().SeqNo)
	}
	peer.send(t, from.String(), []byte(sipmsg.NewResponseFromRequest(cancel, 200, "OK", nil).String()))
	term := sipmsg.NewResponseFromRequest(inv, 487, "Request Terminated", nil)
	term.To().Params.Add("tag", "uas2")
	peer.send(t, from.String(), []byte(term.String()))
	e := rec.end(t, c.ID)
	if e.Cause != call.CauseNormal || e.SIPCode != 487 {
		t.Errorf("end: %s %d, want normal-clearing 487", e.Cause.Name, e.SIPCode)
	}
}

// deferRouter sends every call to run with answering deferred.
type deferRouter struct{ run func(c *call.Call) }

func (r deferRouter) Route(netip.Addr, string) (*Route, error) {
	return &Route{TenantID: "t", Flow: "ari", DeferAnswer: true, Run: r.run}, nil
}

// TestDeferredAnswerCancel: a caller that gives up before the flow answers
// gets 487 (the transaction layer's), the call ends caller-cancel, and a
// late Answer fails without sending anything.
func TestDeferredAnswerCancel(t *testing.T) {
	rec := &cdrRecorder{}
	answerErr := make(chan error, 1)
	ts := startServer(t, func(s *Server) {
		s.rec = rec
		s.router = deferRouter{run: func(c *call.Call) {
			if err := c.Ring(); err != nil {
				t.Errorf("ring: %v", err)
			}
			<-c.Done()
			answerErr <- c.Answer()
		}}
	})
	peer := newPeer(t, 0)
	invite := testRequest("INVITE", "+15550100", peer.c.LocalAddr().String(), testSDP)
	peer.send(t, ts.udp, []byte(invite))
	m, _ := peer.recv(t, 5*time.Second, func(m sipmsg.Message) bool {
		r, ok := m.(*sipmsg.Response)
		return !ok || r.StatusCode != 180
	})
	inv, err := sipmsg.ParseMessage([]byte(invite))
	if err != nil {
		t.Fatal(err)
	}
	req := inv.(*sipmsg.Request)
	cancel := sipmsg.NewRequest(sipmsg.CANCEL, req.Recipient)
	for _, h := range []sipmsg.Header{req.Via(), req.From(), req.To(), req.CallID()} {
		cancel.AppendHeader(sipmsg.HeaderClone(h))
	}
	cancel.AppendHeader(&sipmsg.CSeqHeader{SeqNo: req.CSeq().SeqNo, MethodName: sipmsg.CANCEL})
	mf := sipmsg.MaxForwardsHeader(70)
	cancel.AppendHeader(&mf)
	cancel.SetBody(nil)
	_ = m
	peer.send(t, ts.udp, []byte(cancel.String()))
	var codes []int
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && !containsInt(codes, 487) {
		m, _ := peer.recv(t, time.Until(deadline), nil)
		if r, ok := m.(*sipmsg.Response); ok {
			codes = append(codes, r.StatusCode)
		}
	}
	if !containsInt(codes, 487) || containsInt(codes, 200) && !containsInt(codes, 487) {
		t.Errorf("responses %v, want 487", codes)
	}
	e := rec.end(t, "")
	if e.Cause != call.CauseCancelled || e.SIPCode != 487 {
		t.Errorf("end: %s %d, want caller-cancel 487", e.Cause.Name, e.SIPCode)
	}
	if err := <-answerErr; err == nil {
		t.Error("Answer after CANCEL succeeded")
	}
}

// TestDeferredAnswerRace: Answer from several goroutines at once answers
// once; the caller gets one 200 (and its retransmissions), no failure.
func TestDeferredAnswerRace(t *testing.T) {
	rec := &cdrRecorder{}
	ts := startServer(t, func(s *Server) {
		s.rec = rec
		s.router = deferRouter{run: func(c *call.Call) {
			var wg sync.WaitGroup
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := c.Answer(); err != nil {
						t.Errorf("answer: %v", err)
					}
				}()
			}
			wg.Wait()
			time.Sleep(200 * time.Millisecond)
		}}
	})
	peer := newPeer(t, 0)
	invite := testRequest("INVITE", "+15550100", peer.c.LocalAddr().String(), testSDP)
	peer.send(t, ts.udp, []byte(invite))
	m, _ := peer.recv(t, 5*time.Second, func(m sipmsg.Message) bool {
		r, ok := m.(*sipmsg.Response)
		return !ok || r.IsProvisional()
	})
	ok200 := m.(*sipmsg.Response)
	if ok200.StatusCode != 200 {
		t.Fatalf("final %d, want 200", ok200.StatusCode)
	}
	// ACK, then expect our BYE when the flow ends.
	req, _ := sipmsg.ParseMessage([]byte(invite))
	inv := req.(*sipmsg.Request)
	tag, _ := ok200.To().Params.Get("tag")
	ack := strings.Replace(strings.Replace(invite, "INVITE sip:", "ACK sip:", 1), "CSeq: 1 INVITE", "CSeq: 1 ACK", 1)
	ack = strings.Replace(ack, "To: <sip:+15550100@127.0.0.1>", "To: <sip:+15550100@127.0.0.1>;tag="+tag, 1)
	ack = ack[:strings.Index(ack, "Content-Type")] + "Content-Length: 0\r\n\r\n"
	peer.send(t, ts.udp, []byte(ack))
	m, _ = peer.recv(t, 5*time.Second, func(m sipmsg.Message) bool { return !isRequest(m, sipmsg.BYE) })
	bye := m.(*sipmsg.Request)
	peer.send(t, ts.udp, []byte(sipmsg.NewResponseFromRequest(bye, 200, "OK", nil).String()))
	e := rec.end(t, "")
	if e.SIPCode != 200 || e.Cause != call.CauseNormal {
		t.Errorf("end: %s %d", e.Cause.Name, e.SIPCode)
	}
	_ = inv
	if n := ts.metrics.Responses[200].Load(); n < 1 {
		t.Errorf("200s counted: %d", n)
	}
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
