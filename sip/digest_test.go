package sip

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/icholy/digest"

	sipmsg "github.com/emiago/sipgo/sip"

	"hotline/call"
)

// hexHash is H(parts joined by ':') with the challenge's algorithm.
func hexHash(newHash func() hash.Hash, parts ...string) string {
	h := newHash()
	h.Write([]byte(strings.Join(parts, ":")))
	return hex.EncodeToString(h.Sum(nil))
}

// challengeOf is a 401/407 to inv with a digest challenge.
func challengeOf(inv *sipmsg.Request, code int, chal string) *sipmsg.Response {
	reason, name := "Unauthorized", "WWW-Authenticate"
	if code == 407 {
		reason, name = "Proxy Authentication Required", "Proxy-Authenticate"
	}
	res := sipmsg.NewResponseFromRequest(inv, code, reason, nil)
	res.To().Params.Add("tag", "auth1")
	res.AppendHeader(sipmsg.NewHeader(name, chal))
	return res
}

// expectAck reads the ACK of a failure response to inv: same branch and
// CSeq number as inv.
func expectAck(t *testing.T, peer *udpPeer, inv *sipmsg.Request) {
	t.Helper()
	m, _ := peer.recv(t, 5*time.Second, nil)
	ack, ok := m.(*sipmsg.Request)
	if !ok || ack.Method != sipmsg.ACK {
		t.Fatalf("want the ACK of the challenge, got %s", m.String())
	}
	b1, _ := ack.Via().Params.Get("branch")
	b2, _ := inv.Via().Params.Get("branch")
	if b1 != b2 || ack.CSeq().SeqNo != inv.CSeq().SeqNo {
		t.Errorf("ACK branch %s CSeq %d, INVITE branch %s CSeq %d", b1, ack.CSeq().SeqNo, b2, inv.CSeq().SeqNo)
	}
}

// TestDialDigest: a far end that challenges the INVITE (401 or 407, MD5
// or SHA-256) gets it again with credentials whose response hash is right
// for its nonce and realm, on a new branch with CSeq+1 and the same
// Call-ID and From tag; it answers, and the call is up.
func TestDialDigest(t *testing.T) {
	for _, tc := range []struct {
		code      int
		algorithm string
		newHash   func() hash.Hash
		header    string
	}{
		{401, "MD5", md5.New, "Authorization"},
		{407, "SHA-256", sha256.New, "Proxy-Authorization"},
	} {
		t.Run(fmt.Sprint(tc.code, tc.algorithm), func(t *testing.T) {
			rec := &cdrRecorder{}
			ts := startServer(t, func(s *Server) { s.rec = rec })
			peer := newPeer(t, 0)
			rtp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			defer rtp.Close()
			c, err := ts.Dial(DialRequest{TenantID: "t", Target: "sip:+15551234@" + peer.c.LocalAddr().String(), From: "+15550100",
				AuthUser: "acme", AuthPassword: "s3cret", AuthRealm: "carrier.example"})
			if err != nil {
				t.Fatal(err)
			}
			m, from := peer.recv(t, 5*time.Second, nil)
			inv1 := m.(*sipmsg.Request)
			if inv1.GetHeader(tc.header) != nil {
				t.Errorf("first INVITE already carries %s", tc.header)
			}
			const nonce = "dcd98b7102dd2f0e8b11d0f600bfb0c093"
			peer.send(t, from.String(), []byte(challengeOf(inv1, tc.code,
				fmt.Sprintf(`Digest realm="carrier.example", nonce="%s", opaque="5ccc069c", qop="auth", algorithm=%s`, nonce, tc.algorithm)).String()))
			expectAck(t, peer, inv1)

			m, from = peer.recv(t, 5*time.Second, nil)
			inv2, ok := m.(*sipmsg.Request)
			if !ok || inv2.Method != sipmsg.INVITE {
				t.Fatalf("want the INVITE again, got %s", m.String())
			}
			b1, _ := inv1.Via().Params.Get("branch")
			b2, _ := inv2.Via().Params.Get("branch")
			t1, _ := inv1.From().Params.Get("tag")
			t2, _ := inv2.From().Params.Get("tag")
			if b1 == b2 || inv2.CSeq().SeqNo != inv1.CSeq().SeqNo+1 || inv2.CallID().Value() != inv1.CallID().Value() || t1 != t2 {
				t.Errorf("second INVITE: branch %s->%s CSeq %d->%d Call-ID %s->%s tag %s->%s", b1, b2, inv1.CSeq().SeqNo, inv2.CSeq().SeqNo,
					inv1.CallID().Value(), inv2.CallID().Value(), t1, t2)
			}
			h := inv2.GetHeader(tc.header)
			if h == nil {
				t.Fatalf("second INVITE without %s:\n%s", tc.header, inv2.String())
			}
			cred, err := digest.ParseCredentials(h.Value())
			if err != nil {
				t.Fatalf("%s %q: %v", tc.header, h.Value(), err)
			}
			uri := inv2.Recipient.String()
			a1 := hexHash(tc.newHash, "acme", "carrier.example", "s3cret")
			a2 := hexHash(tc.newHash, "INVITE", uri)
			want := hexHash(tc.newHash, a1, nonce, fmt.Sprintf("%08x", cred.Nc), cred.Cnonce, "auth", a2)
			if cred.Username != "acme" || cred.Realm != "carrier.example" || cred.Nonce != nonce || cred.URI != uri ||
				cred.QOP != "auth" || cred.Opaque != "5ccc069c" || cred.Response != want || !strings.EqualFold(cred.Algorithm, tc.algorithm) {
				t.Errorf("credentials %q; want response %s for uri %s", h.Value(), want, uri)
			}
			if strings.Contains(inv2.String(), "s3cret") {
				t.Error("the password went on the wire")
			}

			sdp := fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n", rtp.LocalAddr().(*net.UDPAddr).Port)
			ok200 := sipmsg.NewResponseFromRequest(inv2, 200, "OK", []byte(sdp))
			ok200.To().Params.Add("tag", "uas1")
			ok200.AppendHeader(&sipmsg.ContactHeader{Address: sipmsg.Uri{Scheme: "sip", User: "callee", Host: "127.0.0.1", Port: peer.c.LocalAddr().(*net.UDPAddr).Port}})
			ok200.AppendHeader(sipmsg.NewHeader("Content-Type", "application/sdp"))
			peer.send(t, from.String(), []byte(ok200.String()))
			m, _ = peer.recv(t, 5*time.Second, nil)
			if ack, ok := m.(*sipmsg.Request); !ok || ack.Method != sipmsg.ACK || ack.CSeq().SeqNo != inv2.CSeq().SeqNo {
				t.Fatalf("want the ACK of the 200, got %s", m.String())
			}
			waitFor(t, 5*time.Second, func() bool { return c.State() == call.StateUp })

			// Our BYE, challenged too, goes again with credentials.
			c.Hangup(call.CauseNormal)
			m, from = peer.recv(t, 5*time.Second, nil)
			bye1 := m.(*sipmsg.Request)
			if bye1.Method != sipmsg.BYE {
				t.Fatalf("want BYE, got %s", m.String())
			}
			peer.send(t, from.String(), []byte(challengeOf(bye1, tc.code,
				fmt.Sprintf(`Digest realm="carrier.example", nonce="n2", qop="auth", algorithm=%s`, tc.algorithm)).String()))
			m, from = peer.recv(t, 5*time.Second, nil)
			bye2 := m.(*sipmsg.Request)
			if bye2.Method != sipmsg.BYE || bye2.GetHeader(tc.header) == nil || bye2.CSeq().SeqNo != bye1.CSeq().SeqNo+1 {
				t.Fatalf("want an authorized BYE, got %s", m.String())
			}
			peer.send(t, from.String(), []byte(sipmsg.NewResponseFromRequest(bye2, 200, "OK", nil).String()))
			e := rec.end(t, c.ID)
			if e.Cause != call.CauseNormal || e.SIPCode != 200 {
				t.Errorf("end: %s %d, want normal-clearing 200", e.Cause.Name, e.SIPCode)
			}
		})
	}
}

// TestDialDigestRejected: a second challenge, no credentials, or a realm
// that is not the trunk's fail the call as rejected with the challenge's
// code, after at most one retry.
func TestDialDigestRejected(t *testing.T) {
	for _, tc := range []struct {
		name       string
		user       string
		realm      string
		challenges int // INVITEs the far end challenges
	}{
		{"twice", "acme", "", 2},
		{"no credentials", "", "", 1},
		{"other realm", "acme", "other.example", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &cdrRecorder{}
			ts := startServer(t, func(s *Server) { s.rec = rec })
			peer := newPeer(t, 0)
			c, err := ts.Dial(DialRequest{Target: "sip:x@" + peer.c.LocalAddr().String(), AuthUser: tc.user, AuthPassword: "pw", AuthRealm: tc.realm})
			if err != nil {
				t.Fatal(err)
			}
			for i := range tc.challenges {
				m, from := peer.recv(t, 5*time.Second, nil)
				inv, ok := m.(*sipmsg.Request)
				if !ok || inv.Method != sipmsg.INVITE {
					t.Fatalf("INVITE %d: got %s", i+1, m.String())
				}
				if (i > 0) != (inv.GetHeader("Proxy-Authorization") != nil) {
					t.Errorf("INVITE %d: Proxy-Authorization %v", i+1, inv.GetHeader("Proxy-Authorization"))
				}
				peer.send(t, from.String(), []byte(challengeOf(inv, 407, `Digest realm="carrier.example", nonce="abc", qop="auth"`).String()))
				expectAck(t, peer, inv)
			}
			e := rec.end(t, c.ID)
			if e.Cause != call.CauseRejected || e.SIPCode != 407 || e.Cause.Q850 != 21 {
				t.Errorf("end: %s %d, want call-rejected 407", e.Cause.Name, e.SIPCode)
			}
			// No further INVITE.
			_ = peer.c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			buf := make([]byte, 65535)
			if n, _, err := peer.c.ReadFromUDP(buf); err == nil && strings.HasPrefix(string(buf[:n]), "INVITE ") {
				t.Errorf("INVITE after giving up:\n%s", buf[:n])
			}
		})
	}
}
