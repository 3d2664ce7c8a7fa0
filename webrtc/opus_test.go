//go:build cgo

package webrtc

import (
	"context"
	"errors"
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
)

func TestOpusBridgeBothWays(t *testing.T) {
	sess, call, br, leg, _ := setupWith(t, browserCfg{freq: 1000, codec: browserOpus}, true)
	if c := leg.Codec(); c != "opus" {
		t.Fatalf("codec %q, want opus", c)
	}
	leg.Attach(sess)
	assertTone(t, "Opus browser hears caller", br.got.recentAfterReset(t, 4000, 5*time.Second), 440, 1000)
	assertTone(t, "caller hears Opus browser", call.got.recentAfterReset(t, 4000, 5*time.Second), 1000, 440)

	st := leg.Stats()
	// Two waits of at least 0.5 s each: 25 packets both ways is a floor
	// that a loaded machine still meets.
	if st.PacketsToAgent < 25 || st.PacketsFromAgent < 25 || st.SendErrors != 0 || st.OpusDecodeErrors != 0 {
		t.Fatalf("stats %+v", st)
	}
	// 24 kbit/s is 60 bytes per 20 ms; PCMU would be 160.
	if per := st.BytesToAgent / st.PacketsToAgent; per >= 160 {
		t.Fatalf("%d bytes per packet toward the browser: not Opus", per)
	}
	t.Logf("stats %+v", st)
}

// A browser that cannot do Opus (or whose answer drops it) gets PCMU.
func TestOpusFallbackToPCMU(t *testing.T) {
	sess, call, br, leg, _ := setupWith(t, browserCfg{freq: 1000, codec: browserPCMUOnly}, true)
	if c := leg.Codec(); c != "pcmu" {
		t.Fatalf("codec %q, want pcmu", c)
	}
	leg.Attach(sess)
	assertTone(t, "PCMU browser hears caller", br.got.recentAfterReset(t, 4000, 5*time.Second), 440, 1000)
	assertTone(t, "caller hears PCMU browser", call.got.recentAfterReset(t, 4000, 5*time.Second), 1000, 440)
	if st := leg.Stats(); st.BytesToAgent/max(st.PacketsToAgent, 1) != 160 || st.SendErrors != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestOpusAnswerWithNeither(t *testing.T) {
	br := newBrowser(t)
	leg, err := New(Config{CallID: "c3", Opus: true, Loopback: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer leg.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	offer, err := leg.Offer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ans := br.answer(t, offer, leg)
	// A browser with neither codec: both mappings name something else.
	bad := strings.NewReplacer("a=rtpmap:111 opus/48000/2", "a=rtpmap:111 ISAC/16000",
		"a=rtpmap:0 PCMU/8000", "a=rtpmap:0 PCMA/8000").Replace(ans)
	if bad == ans || !strings.Contains(ans, "opus/48000/2") {
		t.Fatalf("could not rewrite answer:\n%s", ans)
	}
	if err := leg.SetAnswer(bad); !errors.Is(err, ErrNoCommonCodec) {
		t.Fatalf("SetAnswer without PCMU or Opus: %v, want ErrNoCommonCodec", err)
	}
	if err := leg.SetAnswer(ans); err != nil {
		t.Fatalf("good answer after a bad one: %v", err)
	}
	if c := leg.Codec(); c != "opus" {
		t.Fatalf("codec %q, want opus", c)
	}
}

// A consultation between an Opus agent and a PCMU agent, then the caller
// back with the Opus agent: the patch carries µ-law, each leg converts.
func TestOpusPatchWithPCMULeg(t *testing.T) {
	sess, call, brA, legA, _ := setupWith(t, browserCfg{freq: 1000, codec: browserOpus}, true)
	legA.Attach(sess)
	assertTone(t, "A hears caller", brA.got.recentAfterReset(t, 4000, 5*time.Second), 440, 1000)

	brB := newBrowserTone(t, nil, 700)
	legB, _ := connectBrowser(t, brB)
	legA.Detach()
	legA.Patch(legB)
	assertTone(t, "PCMU B hears Opus A", brB.got.recentAfterReset(t, 4000, 5*time.Second), 1000, 440)
	assertTone(t, "Opus A hears PCMU B", brA.got.recentAfterReset(t, 4000, 5*time.Second), 700, 440)

	// The consultation ends; A takes the caller back (the timeline toward
	// A's browser switches source again).
	legA.Unpatch()
	legA.Attach(sess)
	assertTone(t, "A hears caller again", brA.got.recentAfterReset(t, 4000, 5*time.Second), 440, 700)
	assertTone(t, "caller hears A again", call.got.recentAfterReset(t, 4000, 5*time.Second), 1000, 700)
	if st := legA.Stats(); st.SendErrors != 0 || st.OpusDecodeErrors != 0 {
		t.Fatalf("A stats %+v", st)
	}
}

// opusPackets encodes n 20 ms packets of a freq tone at 48 kHz, as a
// browser would send them (FEC on, expecting loss).
func opusPackets(t testing.TB, freq float64, n int) [][]byte {
	t.Helper()
	enc, err := newOpusEncoder(24000, 5, 20)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.close()
	pcm := make([]int16, opusFrame48)
	out := make([][]byte, n)
	buf := make([]byte, 1500)
	for i := range out {
		for j := range pcm {
			pcm[j] = int16(8000 * math.Sin(2*math.Pi*freq*float64(i*opusFrame48+j)/opusRate))
		}
		k, err := enc.encode(pcm, buf)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = append([]byte(nil), buf[:k]...)
	}
	return out
}

// Lost packets from the browser are concealed (PLC, FEC for the last of a
// gap) instead of becoming silence in the jitter buffer.
func TestOpusLossConcealment(t *testing.T) {
	leg, err := New(Config{CallID: "c4", Opus: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer leg.Close()
	leg.attached.Store(true) // as Attach does, without a session

	pkts := opusPackets(t, 440, 200)
	lost := map[int]bool{50: true, 90: true, 120: true, 121: true, 122: true}
	var (
		out   []int16
		frame [160]int16
	)
	for i, p := range pkts {
		if !lost[i] {
			h := rtp.Header{Version: 2, PayloadType: opusPT, SequenceNumber: uint16(1000 + i), Timestamp: uint32(5000 + i*opusFrame48)}
			leg.opusIn(&h, p)
		}
		if i < 2 {
			continue // the jitter buffer starts playing at 40 ms
		}
		leg.jb.ReadFrame(frame[:])
		out = append(out, frame[:]...)
	}
	st := leg.Stats()
	if st.OpusRecovered != 3 || st.OpusConcealed != 2 || st.OpusDecodeErrors != 0 {
		t.Fatalf("stats %+v, want 3 recovered by FEC and 2 concealed", st)
	}
	// No silence inserted for any loss; the one underrun allowed is the
	// 60 ms burst, longer than the 40 ms the buffer holds: its concealed
	// audio can only be made when the next packet arrives.
	if st.Jitter.Filled != 0 || st.Jitter.Underruns > 1 {
		t.Fatalf("jitter buffer had to repair: %+v", st.Jitter)
	}
	// Around the losses the tone goes on.
	assertTone(t, "through the losses", out[40*160:130*160], 440, 1000)
}

// The filters: images and aliases at least 60 dB down, the telephone band
// flat, and streaming in 20 ms pieces the same as one block.
func TestResampleFilters(t *testing.T) {
	h := lowPass()
	tone := func(freq, rate float64, n int) []int16 {
		x := make([]int16, n)
		for i := range x {
			x[i] = int16(8000 * math.Sin(2*math.Pi*freq*float64(i)/rate))
		}
		return x
	}
	db := func(a float64) float64 { return 20 * math.Log10(a/8000) }

	up := func(in []int16, chunk int) []int16 {
		u := newUpsampler(&h, chunk)
		out := make([]int16, len(in)*rateFactor)
		for off := 0; off < len(in); off += chunk {
			u.process(out[off*rateFactor:], in[off:off+chunk])
		}
		return out
	}
	for _, f := range []float64{300, 1000, 3400} {
		y := up(tone(f, 8000, 8000), 160)[4800:] // past the filter's start
		if g := db(goertzelAt(y, f, opusRate)); math.Abs(g) > 0.5 {
			t.Errorf("up: %v Hz gain %.2f dB", f, g)
		}
		for _, img := range []float64{8000 - f, 8000 + f, 16000 - f} {
			if g := db(goertzelAt(y, img, opusRate)); g > -60 {
				t.Errorf("up: image of %v Hz at %v Hz only %.1f dB down", f, img, g)
			}
		}
	}
	x := tone(1000, 8000, 1600)
	a, b := up(x, 160), up(x, 1600)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("up: chunked output differs at %d: %d vs %d", i, a[i], b[i])
		}
	}

	down := func(in []int16, chunk int) []int16 {
		d := newDownsampler(&h, chunk)
		out := make([]int16, len(in)/rateFactor)
		for off := 0; off < len(in); off += chunk {
			d.process(out[off/rateFactor:], in[off:off+chunk])
		}
		return out
	}
	for _, f := range []float64{300, 1000, 3400} {
		y := down(tone(f, opusRate, 48000), opusFrame48)[800:]
		if g := db(goertzel(y, f)); math.Abs(g) > 0.5 {
			t.Errorf("down: %v Hz gain %.2f dB", f, g)
		}
	}
	// Above 4 kHz nothing may fold back: 5 kHz would land on 3 kHz,
	// 6.5 kHz on 1.5 kHz, 9 kHz on 1 kHz.
	for _, f := range []float64{5000, 6500, 9000} {
		alias := math.Abs(f - 8000*math.Round(f/8000))
		y := down(tone(f, opusRate, 48000), opusFrame48)[800:]
		if g := db(goertzel(y, alias)); g > -60 {
			t.Errorf("down: %v Hz folds to %v Hz at %.1f dB", f, alias, g)
		}
	}
	x = tone(1000, opusRate, 9600)
	a, b = down(x, opusFrame48), down(x, 9600)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("down: chunked output differs at %d: %d vs %d", i, a[i], b[i])
		}
	}
}

// Our host candidates carry the public IP; a loopback candidate (when
// asked for) stays as it is, for agents on this host.
func TestPublicIPInCandidates(t *testing.T) {
	pub := netip.MustParseAddr("203.0.113.7")
	leg, err := New(Config{CallID: "c5", PublicIP: pub, Loopback: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer leg.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	offer, err := leg.Offer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n, loop := 0, 0
	for line := range strings.SplitSeq(offer, "\r\n") {
		if !strings.HasPrefix(line, "a=candidate:") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 8 || f[7] != "host" {
			continue
		}
		addr, err := netip.ParseAddr(f[4])
		if err != nil || !addr.Is4() {
			continue
		}
		switch {
		case addr == pub:
			n++
		case addr.IsLoopback():
			loop++
		default:
			t.Errorf("IPv4 host candidate with the private address: %q", line)
		}
	}
	if n == 0 || loop == 0 {
		t.Fatalf("%d candidates with the public IP, %d loopback:\n%s", n, loop, offer)
	}
}

// BenchmarkForwardToBrowserOpus is BenchmarkForwardToBrowser for a
// browser that took Opus: G.711 decode, ×6 upsampling, Opus encode, SRTP
// and the send, per 20 ms packet. cpu-ms/s is the CPU one leg spends per
// second of caller audio (50 packets).
func BenchmarkForwardToBrowserOpus(b *testing.B) {
	_, _, br, leg, _ := setupWith(b, browserCfg{freq: 1000, codec: browserOpus}, true)
	br.collect.Store(false)
	leg.attached.Store(true)
	payload := toneULaw(440, 160, 0)
	var ts uint32
	b.ReportAllocs()
	for b.Loop() {
		ts += 160
		leg.ForwardRTP(0, ts, false, payload)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)*50/1e6, "cpu-ms/s")
	if st := leg.Stats(); st.SendErrors != 0 {
		b.Fatalf("send errors: %+v", st)
	}
}

// BenchmarkOpusFromBrowser is the browser→caller path once a packet is
// read: Opus decode, low-pass and decimation to 8 kHz, µ-law, jitter
// buffer.
func BenchmarkOpusFromBrowser(b *testing.B) {
	leg, err := New(Config{CallID: "b", Opus: true, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	defer leg.Close()
	leg.attached.Store(true)
	pkts := opusPackets(b, 1000, 50)
	var (
		h     rtp.Header
		frame [160]int16
		i     int
	)
	b.ReportAllocs()
	for b.Loop() {
		h.SequenceNumber++
		h.Timestamp += opusFrame48
		leg.opusIn(&h, pkts[i%len(pkts)])
		leg.jb.ReadFrame(frame[:])
		i++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)*50/1e6, "cpu-ms/s")
	if st := leg.Stats(); st.OpusDecodeErrors != 0 {
		b.Fatalf("stats %+v", st)
	}
}

// BenchmarkResample is one 20 ms frame through each filter: 160 samples
// up to 960, and 960 down to 160.
func BenchmarkResample(b *testing.B) {
	h := lowPass()
	in8, out48 := make([]int16, opusFrame8), make([]int16, opusFrame48)
	out8 := make([]int16, opusFrame8)
	b.Run("up", func(b *testing.B) {
		u := newUpsampler(&h, opusFrame8)
		b.ReportAllocs()
		for b.Loop() {
			u.process(out48, in8)
		}
	})
	b.Run("down", func(b *testing.B) {
		d := newDownsampler(&h, opusFrame48)
		b.ReportAllocs()
		for b.Loop() {
			d.process(out8, out48)
		}
	})
}

// BenchmarkOpusEncode is the encoder alone at the leg's settings, on one
// 20 ms frame of a tone.
func BenchmarkOpusEncode(b *testing.B) {
	enc, err := newOpusEncoder(opusBitrate, opusComplexity, opusLossPerc)
	if err != nil {
		b.Fatal(err)
	}
	defer enc.close()
	pcm := make([]int16, opusFrame48)
	for j := range pcm {
		pcm[j] = int16(8000 * math.Sin(2*math.Pi*440*float64(j)/opusRate))
	}
	out := make([]byte, 1500)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := enc.encode(pcm, out); err != nil {
			b.Fatal(err)
		}
	}
}
