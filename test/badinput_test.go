package e2e

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

// 5. Bad input: each is refused or survived, and the server keeps serving
// after each (OPTIONS answered 200, /healthz 200); a normal call completes
// at the end.
func testBadInput(t *testing.T, srv *server) {
	stillServing := func(t *testing.T) {
		t.Helper()
		srv.healthy(t)
		probe := newUA(t, srv)
		if code := probe.Options(); code != 200 {
			t.Fatalf("OPTIONS after bad input: %d, want 200", code)
		}
	}

	t.Run("ForbiddenSource", func(t *testing.T) {
		if !portFreeOn("127.0.0.2") {
			t.Skip("cannot bind 127.0.0.2 on this machine")
		}
		res := srv.runSIPp(t, sippRun{
			Scenario: "reject.xml", Service: demoNumber, LocalIP: "127.0.0.2",
			Data: map[string]any{"Formats": "0 101", "Attrs": offerPCMUEvents, "Code": 403},
		})
		if res.ExitCode != 0 {
			t.Fatalf("a call from 127.0.0.2 (not in the trunk allow list) was not refused with 403:\n%s", res)
		}
		srv.noCall(t, res.CallID)
		stillServing(t)
	})

	t.Run("UnknownNumber", func(t *testing.T) {
		res := srv.runSIPp(t, sippRun{
			Scenario: "reject.xml", Service: "+15559999",
			Data: map[string]any{"Formats": "0 101", "Attrs": offerPCMUEvents, "Code": 404},
		})
		if res.ExitCode != 0 {
			t.Fatalf("a call to +15559999 (no tenant's number) was not refused with 404:\n%s", res)
		}
		srv.noCall(t, res.CallID)
		stillServing(t)
	})

	t.Run("OnlyG729", func(t *testing.T) {
		res := srv.runSIPp(t, sippRun{
			Scenario: "reject.xml", Service: demoNumber,
			Data: map[string]any{"Formats": "18", "Attrs": []string{"a=rtpmap:18 G729/8000", "a=fmtp:18 annexb=no"}, "Code": 488},
		})
		if res.ExitCode != 0 {
			t.Fatalf("an offer of G.729 only was not refused with 488:\n%s", res)
		}
		stillServing(t)
	})

	t.Run("GarbageToSIPPort", func(t *testing.T) {
		conn, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: srv.SIPPort})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		for _, d := range garbageSIP() {
			_, _ = conn.Write(d)
		}
		time.Sleep(300 * time.Millisecond)
		stillServing(t)
	})

	t.Run("MalformedRequestAnswered", func(t *testing.T) {
		// A broken request that still says where to answer gets a final
		// response instead of silence (which would leave the sender
		// retransmitting): 400 for a bad CSeq, 505 for another SIP version.
		ua := newUA(t, srv)
		for _, c := range []struct {
			name string
			code int
			mod  func(string) string
		}{
			{"bad CSeq", 400, func(m string) string { return strings.Replace(m, "CSeq: 1 INVITE", "CSeq: banana INVITE", 1) }},
			{"SIP/3.0", 505, func(m string) string { return strings.Replace(m, " SIP/2.0\r\n", " SIP/3.0\r\n", 1) }},
		} {
			callID := "e2e-malformed-" + randHex(6)
			msg := fmt.Sprintf("INVITE sip:%s@127.0.0.1:%d SIP/2.0\r\n%sFrom: <sip:x@127.0.0.1>;tag=%s\r\nTo: <sip:%s@127.0.0.1>\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
				demoNumber, srv.SIPPort, ua.via("z9hG4bK"+randHex(8)), randHex(4), demoNumber, callID)
			ua.send([]byte(c.mod(msg)))
			got := 0
			timeout := time.After(3 * time.Second)
		wait:
			for {
				select {
				case m := <-ua.msgs:
					if !m.Request && m.Header("call-id") == callID && m.Code >= 200 {
						got = m.Code
						break wait
					}
				case <-timeout:
					break wait
				}
			}
			if got != c.code {
				t.Errorf("INVITE with %s: final response %d, want %d (0: none within 3s)", c.name, got, c.code)
			}
			srv.noCall(t, callID)
		}
		stillServing(t)
	})

	t.Run("GarbageToRTPPort", func(t *testing.T) {
		ua := newUA(t, srv)
		srv.report(t, ua.CallID)
		res := ua.Invite(demoNumber, ua.offer(true, "sendrecv"))
		if res.Code != 200 {
			t.Fatalf("INVITE: %s", res)
		}
		ua.Ack(demoNumber)
		ua.RTP.Start()
		rtpAddr := ua.RTP.Remote()
		if rtpAddr == nil || rtpAddr.Port < srv.RTPLo || rtpAddr.Port > srv.RTPHi {
			t.Fatalf("server RTP address %v outside its range %d-%d", rtpAddr, srv.RTPLo, srv.RTPHi)
		}
		// From a stranger's socket and from the caller's own (which passes
		// the source latch, so the parser sees every byte).
		stranger, err := net.DialUDP("udp4", nil, rtpAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer stranger.Close()
		junk := garbageRTP()
		for round := 0; round < 3; round++ {
			for _, d := range junk {
				_, _ = stranger.Write(d)
				_, _ = ua.RTP.Conn().WriteToUDP(d, rtpAddr)
			}
			time.Sleep(200 * time.Millisecond)
		}
		// The call goes on: a key still works (0: agent).
		time.Sleep(max(0, menuOpens(t)-600*time.Millisecond))
		ua.RTP.SendDigit('0')
		c := srv.findCall(t, ua.CallID, false, 5*time.Second)
		deadline := time.Now().Add(8 * time.Second)
		for !hasKind(srv.events(t, c), "queue") {
			if time.Now().After(deadline) {
				t.Fatalf("after the garbage, the key 0 did not take the call to the queue")
			}
			time.Sleep(200 * time.Millisecond)
		}
		time.Sleep(time.Second)
		if code := ua.Bye(demoNumber); code != 200 {
			t.Errorf("BYE: %d", code)
		}
		c = srv.findCall(t, ua.CallID, true, 10*time.Second)
		ev := srv.settledEvents(t, c)
		checkCallerHungUp(t, c)
		if got := menuChoices(ev); !slices.Equal(got, []string{"main_menu:0->queue_general"}) {
			t.Errorf("menu choices = %v, want [main_menu:0->queue_general]", got)
		}
		if keys := keysHeard(ev); !slices.Equal(keys, []string{"0/rfc4733"}) {
			t.Errorf("keys received = %v, want the one real key press [0/rfc4733] (garbage must not make digits)", keys)
		}
		if rec, _ := ua.RTP.Received(); len(rec) < 2*sampleRate {
			t.Errorf("the caller received only %v of audio", samplesDuration(len(rec), sampleRate))
		}
		stillServing(t)
	})

	t.Run("CallStillCompletes", func(t *testing.T) {
		res := srv.mustSIPp(t, sippRun{
			Scenario: "uac.xml", Service: demoNumber,
			Data: uacData("0 101", offerPCMUEvents, 0, pauseFor(2*time.Second)),
		})
		c := srv.findCall(t, res.CallID, true, 10*time.Second)
		checkCallerHungUp(t, c)
		if c.PacketsSent == 0 {
			t.Errorf("no audio sent to the caller")
		}
	})
}

func portFreeOn(ip string) bool {
	c, err := net.ListenPacket("udp4", ip+":0")
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// garbageSIP is datagrams no SIP stack should choke on.
func garbageSIP() [][]byte {
	var out [][]byte
	for _, n := range []int{1, 3, 17, 200, 1400, 8000} {
		out = append(out, randomBytes(n))
	}
	full := "INVITE sip:+15550100@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKjunk\r\nFrom: <sip:x@127.0.0.1>;tag=1\r\nTo: <sip:+15550100@127.0.0.1>\r\nCall-ID: junk@127.0.0.1\r\nCSeq: 1 INVITE\r\nContent-Length: 10\r\n\r\nv=0\r\n"
	for _, cut := range []int{7, 20, 60, 120, len(full) - 3} {
		out = append(out, []byte(full[:cut]))
	}
	out = append(out,
		[]byte("\r\n\r\n"),
		[]byte(strings.Repeat("A", 1200)),
		[]byte("SIP/2.0 200 OK\r\n\r\n"),
		[]byte("INVITE sip:x SIP/2.0\r\nContent-Length: 99999\r\n\r\n"),
		[]byte("INVITE sip:x SIP/2.0\r\nCSeq: banana\r\nVia: \r\n\r\n"),
		[]byte("OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bK1\r\n"+strings.Repeat("X-Junk: y\r\n", 300)+"\r\n"),
		append([]byte("INVITE sip:\x00\xff\xfe SIP/2.0\r\n"), randomBytes(100)...),
	)
	return out
}

// garbageRTP is datagrams that look more or less like RTP, each broken in
// its own way.
func garbageRTP() [][]byte {
	var out [][]byte
	for n := 0; n < 12; n++ {
		b := randomBytes(n)
		if n > 0 {
			b[0] = 0x80
		}
		out = append(out, b) // truncated headers
	}
	for _, n := range []int{13, 50, 172, 1400, 4000} {
		out = append(out, randomBytes(n)) // random (mostly wrong version)
	}
	hdr := func(b0, b1 byte, n int) []byte {
		b := make([]byte, max(n, 12))
		b[0], b[1] = b0, b1
		binary.BigEndian.PutUint16(b[2:], 100)
		binary.BigEndian.PutUint32(b[8:], 0xdeadbeef)
		return b[:n]
	}
	out = append(out,
		hdr(0x8F, 0, 20), // 15 CSRCs announced, 2 present
		hdr(0x90, 0, 14), // extension bit, no extension header
		func() []byte { // extension longer than the packet
			b := hdr(0x90, 0, 20)
			binary.BigEndian.PutUint16(b[14:], 500)
			return b
		}(),
		func() []byte { // padding longer than the packet
			b := hdr(0xA0, 0, 30)
			b[29] = 200
			return b
		}(),
		func() []byte { // padding count zero
			b := hdr(0xA0, 0, 30)
			b[29] = 0
			return b
		}(),
		hdr(0x80, 101, 12), // telephone-event without payload
		hdr(0x80, 101, 14), // truncated event
		func() []byte { // event code out of range
			b := hdr(0x80, 101, 16)
			b[12], b[13] = 200, 0x8A
			return b
		}(),
		hdr(0x80, 0, 12),    // PCMU without payload
		hdr(0x80, 0x7F, 40), // unknown payload type
		hdr(0x80, 200, 8),   // RTCP SR, truncated
		func() []byte { // RTCP with a length far beyond the packet
			b := hdr(0x81, 201, 12)
			binary.BigEndian.PutUint16(b[2:], 0xFFFF)
			return b
		}(),
		hdr(0x40, 0, 172), // RTP version 1
	)
	return out
}
