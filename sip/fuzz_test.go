package sip

import (
	"bytes"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	sipmsg "github.com/emiago/sipgo/sip"
)

// filterServer is a Server that is never served: enough for readFilter,
// which finds no connection to answer on and so only counts.
func filterServer(tb testing.TB) *Server {
	tb.Helper()
	s, err := New(Config{Listen: "127.0.0.1:5060", Logger: slog.New(slog.DiscardHandler)}, testRouter{}, &testRecorder{}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

var (
	fuzzLocal  = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5060}
	fuzzRemote = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2), Port: 5060}
	udpProps   = sipmsg.TransportReadProps{Transport: "UDP", LocalAddr: fuzzLocal, RemoteAddr: fuzzRemote}
)

// corpusSeeds are the torture messages, and a few PROTOS cases when the
// suite is there.
func corpusSeeds(tb testing.TB) [][]byte {
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*.dat"))
	more, _ := filepath.Glob(filepath.Join(corpusDir, "rfc5118", "*.dat"))
	var seeds [][]byte
	for _, f := range append(files, more...) {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	return seeds
}

var extraSeeds = []string{
	"",
	"\r\n\r\n",
	"INVITE sip:a@b SIP/2.0\r\n\r\n",
	"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a\r\n\r\n",
	"OPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\nCSeq: 1 OPTIONS\n\n",
	"OPTIONS sip:[::1 SIP/2.0\r\nVia: SIP/2.0/UDP [::1;rport\r\nTo: \"a\\\r\nb\" <sip:a>\r\nRoute: <sip:a>, <sip:b:x>,\r\n\r\n",
	"BYE sip:a@b:5060;transport=tcp?x=y SIP/2.0\r\nv: SIP/2.0/TCP h:1;branch=z9hG4bKx, SIP/2.0/UDP [::1]:5\r\nf: <sip:a@b>;tag=1\r\nt: sip:*\r\ni: x\r\nCSeq: 4294967296 BYE\r\nl: 3\r\n\r\nabc",
	// Found by fuzzing: sipgo parses these, but its transaction key would
	// find no branch and no From tag.
	"REGISTER sip:0 SIP/2.0\r\nT::00\r\nF::00\r\nCAll-ID:0\r\nCSeq:0 REGISTER\r\nV:0/0/0 0;branch=z9hG4bK\"0000000000000000000000\"0000\r\n\r\n",
	"REGISTER sip:0 SIP/2.0\r\nT::00\r\nF:<:00>0tag \r\nCAll-ID:0\r\nCSeq:0 REGISTER\r\nV:0/0/0 0\r\n\r\n",
	"REGISTER sip:0 SIP/2.0\r\nV:0/0/0 000000;\r\nF::00\r\nT::00\r\nCAll-ID:0\r\nCSeq:0 REGISTER\r\n\r\n",
	"OPTIONS sip:0 SIP/2.0\r\nT::00\r\nF::00\r\nV:// ,0000000\r\nCAll-ID:0\r\nCSeq:0 OPTIONS\r\n\r\n",
	"OPTIONS sip:0 SIP/2.0\r\nT::00\r\nF:AA:\r\nV:0/0/0 0:\r\nCAll-ID:0\r\nCSeq:0 OPTIONS\r\n\r\n",
	"INVITE sip:0 SIP/2.0\r\nT::00\r\nf::000\r\nCAll-ID:0000000000000000000\r\nCseq:0 INVITE\r\nV:000/ 00000/000 000000000;\n ,//0 0\r\n\r\n",
	"INVITE sip:0 SIP/2.0\r\nT:AAA:\r\nF:<AAA:>0\r\ni:0\r\nCSeq:0 INVITE\r\nV:0/0/0 0;0=\"\r\n\r\n0",
	"INVITE sip:0 SIP/2.0\r\nT::000\r\nF::00;tag==\r\nCAll-ID:0\r\nCSeq:0 INVITE\r\nV:0/0/0 0\r\n\r\n0",
}

// FuzzReadFilter: the filter never panics, and whatever it lets through is
// something sipgo parses (so sipgo never drops, logs and leaves a sender
// unanswered). Cut in two, the same bytes on a stream give sipgo nothing it
// cannot parse either. `go test` runs the seeds only.
func FuzzReadFilter(f *testing.F) {
	for _, b := range corpusSeeds(f) {
		f.Add(b, uint16(len(b)/2))
	}
	for _, s := range extraSeeds {
		f.Add([]byte(s), uint16(len(s)/3))
		f.Add([]byte(s), uint16(len(s)/3+1)) // symmetric mode too
	}
	s := filterServer(f)
	f.Fuzz(func(t *testing.T, data []byte, cut uint16) {
		s.filter().symmetric = cut%2 == 1
		in := append([]byte(nil), data...)
		out, err := s.readFilter(udpProps, in)
		if err != nil {
			t.Fatalf("filter error: %v", err)
		}
		if !bytes.Equal(in, data) {
			t.Fatalf("filter changed its input")
		}
		if len(out) > 0 {
			msg, err := sipmsg.ParseMessage(append([]byte(nil), out...))
			if err != nil {
				t.Fatalf("passed a datagram sipgo cannot parse: %v\n%q", err, out)
			}
			// sipgo's transaction key needs an RFC 3261 branch or a From
			// tag; without either it answers 400 itself and logs an error.
			if req, ok := msg.(*sipmsg.Request); ok {
				branch, _ := req.Via().Params.Get("branch")
				_, tag := req.From().Params.Get("tag")
				if !(strings.HasPrefix(branch, "z9hG4bK") && len(branch) > 7) && !tag {
					t.Fatalf("passed a request without branch or From tag:\n%q", out)
				}
			}
		}
		r := scanMessage(data, false)
		if r.code != 0 && r.kind == kindRequest {
			h := readRawHeaders(data)
			if h.answerable() {
				checkAnswerFraming(t, buildAnswer(nil, &h, r.code, r.reason, fuzzRemote.AddrPort(), "Hotline"))
			}
		}

		// The stream: two chunks from one connection.
		props := sipmsg.TransportReadProps{Transport: "TCP",
			LocalAddr:  &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5060},
			RemoteAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 3), Port: 40000 + int(cut)}}
		par := sipmsg.NewParser().NewSIPStream()
		k := min(int(cut), len(data))
		for _, chunk := range [][]byte{data[:k], data[k:]} {
			out, _ := s.readFilter(props, chunk)
			if len(out) == 0 {
				continue
			}
			err := par.ParseSIPStream(out, func(sipmsg.Message) {})
			if err != nil && err != sipmsg.ErrParseSipPartial {
				t.Fatalf("passed stream bytes sipgo cannot parse: %v\n%q", err, out)
			}
		}
		// Each input is a connection of its own.
		fs := s.filter()
		fs.mu.Lock()
		clear(fs.streams)
		fs.mu.Unlock()
	})
}

// checkAnswerFraming: an answer is one header section, CRLF lines, no stray
// CR or LF, ending with Content-Length: 0 and the blank line.
func checkAnswerFraming(t *testing.T, ans []byte) {
	t.Helper()
	if !bytes.HasSuffix(ans, []byte("Content-Length: 0\r\n\r\n")) || bytes.Count(ans, []byte("\r\n\r\n")) != 1 {
		t.Fatalf("answer framing: %q", ans)
	}
	for _, line := range strings.Split(string(ans[:len(ans)-4]), "\r\n") {
		if strings.ContainsAny(line, "\r\n") {
			t.Fatalf("stray CR/LF in answer line %q", line)
		}
	}
}

// TestScanMatchesSipgo: on every corpus message and PROTOS case the scan
// refuses everything sipgo fails to parse, and says so (sipgoFail) exactly
// when sipgo fails.
func TestScanMatchesSipgo(t *testing.T) {
	seeds := corpusSeeds(t)
	for _, s := range extraSeeds {
		seeds = append(seeds, []byte(s))
	}
	if _, err := os.Stat(protosTgz); err == nil {
		seeds = append(seeds, extractProtos(t)...)
	}
	for i, b := range seeds {
		if len(b) > int(sipmsg.TransportBufferReadSize) {
			b = b[:sipmsg.TransportBufferReadSize] // what the UDP read gives
		}
		r := scanMessage(b, false)
		_, err := sipmsg.ParseMessage(append([]byte(nil), b...))
		if err != nil && r.code == 0 {
			t.Errorf("seed %d: sipgo fails (%v), the scan passes: %q", i, err, trunc(b))
		}
		if (err != nil) != r.sipgoFail {
			t.Errorf("seed %d: sipgo error %v, scan sipgoFail %v (%s): %q", i, err, r.sipgoFail, r.reason, trunc(b))
		}
	}
	t.Logf("%d messages", len(seeds))
}

func trunc(b []byte) []byte { return b[:min(len(b), 200)] }

// A typical carrier INVITE: 10 headers, two Vias, an SDP offer.
var benchInvite = "INVITE sip:+15550100@198.51.100.10:5060;user=phone SIP/2.0\r\n" +
	"Via: SIP/2.0/UDP 203.0.113.7:5060;branch=z9hG4bK-524287-1---6b5c2c1e0a1f3b2d;rport\r\n" +
	"Via: SIP/2.0/UDP 10.20.30.40:5060;branch=z9hG4bK4f8a2c1d;received=10.20.30.40\r\n" +
	"Max-Forwards: 69\r\n" +
	"Record-Route: <sip:203.0.113.7;lr;ftag=as5b2c7d1e>\r\n" +
	"Contact: <sip:+14155550123@203.0.113.7:5060;transport=udp>\r\n" +
	"To: <sip:+15550100@198.51.100.10;user=phone>\r\n" +
	"From: \"ACME CORP\" <sip:+14155550123@203.0.113.7;user=phone>;tag=as5b2c7d1e\r\n" +
	"Call-ID: 3c2e9f6a1b7d4e5f8a9b0c1d2e3f4a5b@203.0.113.7\r\n" +
	"CSeq: 102 INVITE\r\n" +
	"Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, SUBSCRIBE, NOTIFY, INFO, PUBLISH, MESSAGE\r\n" +
	"Supported: replaces, timer\r\n" +
	"Session-Expires: 1800;refresher=uac\r\n" +
	"Min-SE: 90\r\n" +
	"P-Asserted-Identity: <sip:+14155550123@203.0.113.7;user=phone>\r\n" +
	"Content-Type: application/sdp\r\n" +
	"Content-Length: " + strconv.Itoa(len(benchSDP)) + "\r\n" +
	"\r\n" + benchSDP

const benchSDP = "v=0\r\n" +
	"o=carrier 1234567890 1234567890 IN IP4 203.0.113.7\r\n" +
	"s=Talk\r\n" +
	"c=IN IP4 203.0.113.7\r\n" +
	"t=0 0\r\n" +
	"m=audio 31000 RTP/AVP 0 8 18 101\r\n" +
	"a=rtpmap:0 PCMU/8000\r\n" +
	"a=rtpmap:8 PCMA/8000\r\n" +
	"a=rtpmap:18 G729/8000\r\n" +
	"a=rtpmap:101 telephone-event/8000\r\n" +
	"a=fmtp:101 0-16\r\n" +
	"a=ptime:20\r\n" +
	"a=sendrecv\r\n"

func TestBenchInviteValid(t *testing.T) {
	if r := scanMessage([]byte(benchInvite), false); r.code != 0 || r.rewrite || r.hdrEnd+r.clen != len(benchInvite) {
		t.Fatalf("benchmark INVITE: %+v", r)
	}
	if _, err := sipmsg.ParseMessage([]byte(benchInvite)); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkReadFilter is the filter's cost on the hot path (a valid INVITE
// datagram, passed through), next to sipgo's own parse of it.
func BenchmarkReadFilter(b *testing.B) {
	s := filterServer(b)
	msg := []byte(benchInvite)
	b.Run("udp", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(msg)))
		for b.Loop() {
			if out, _ := s.readFilter(udpProps, msg); len(out) != len(msg) {
				b.Fatal("refused")
			}
		}
	})
	b.Run("tcp", func(b *testing.B) {
		props := sipmsg.TransportReadProps{Transport: "TCP",
			LocalAddr:  &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5060},
			RemoteAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 3), Port: 5060}}
		b.ReportAllocs()
		b.SetBytes(int64(len(msg)))
		for b.Loop() {
			if out, _ := s.readFilter(props, msg); len(out) != len(msg) {
				b.Fatal("refused")
			}
		}
	})
	b.Run("sipgo-parse", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(msg)))
		p := sipmsg.NewParser()
		for b.Loop() {
			if _, err := p.ParseSIP(msg); err != nil {
				b.Fatal(err)
			}
		}
	})
}
