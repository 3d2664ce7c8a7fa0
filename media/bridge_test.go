package media

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// recordingForwarder copies what it is given, as a real consumer must.
type recordingForwarder struct {
	mu   sync.Mutex
	pts  []PayloadType
	tss  []uint32
	data [][]byte
}

func (f *recordingForwarder) ForwardRTP(pt PayloadType, ts uint32, marker bool, payload []byte) {
	f.mu.Lock()
	f.pts = append(f.pts, pt)
	f.tss = append(f.tss, ts)
	f.data = append(f.data, append([]byte(nil), payload...))
	f.mu.Unlock()
}

func (f *recordingForwarder) len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.pts)
}

func TestForwarderGetsAudioOnly(t *testing.T) {
	e, err := NewEngine(Config{IP: loopback})
	if err != nil {
		t.Fatal(err)
	}
	s := newSession(t, e, SessionConfig{CallID: "fwd"})
	src := netip.MustParseAddrPort("127.0.0.1:40000")
	s.SetRemote(Remote{Addr: src, Codec: PTPCMU, DTMFPT: 101})
	f := &recordingForwarder{}
	s.SetForwarder(f)
	mono := int64(time.Second)
	pay := bytes.Repeat([]byte{0x12}, 160)
	s.handlePacket(rtpPacket(PTPCMU, true, 1, 1000, 7, pay), src, mono)
	s.handlePacket(rtpPacket(101, true, 2, 1160, 7, eventPayload(5, false, 160)), src, mono)
	s.handlePacket(rtpPacket(ptCN, false, 3, 1160, 7, []byte{40}), src, mono)
	s.handlePacket(rtpPacket(PTPCMA, false, 4, 1320, 7, pay), src, mono)
	s.handlePacket(rtpPacket(96, false, 5, 1480, 7, pay), src, mono) // unknown: ignored
	if f.len() != 2 || f.pts[0] != PTPCMU || f.pts[1] != PTPCMA || f.tss[0] != 1000 || f.tss[1] != 1320 {
		t.Fatalf("forwarded pts %v tss %v", f.pts, f.tss)
	}
	if !bytes.Equal(f.data[0], pay) {
		t.Fatal("payload differs")
	}
	s.SetForwarder(nil)
	s.handlePacket(rtpPacket(PTPCMU, false, 6, 1640, 7, pay), src, mono)
	if f.len() != 2 {
		t.Fatal("forwarded after SetForwarder(nil)")
	}
}

func TestTranscodeG711(t *testing.T) {
	pcm := sine(440, 6000, 8000, 0.02)
	u, a := make([]byte, 160), make([]byte, 160)
	EncodePCMU(u, pcm)
	EncodePCMA(a, pcm)
	got := make([]byte, 160)
	TranscodeG711(got, u, PTPCMU, PTPCMA)
	back := make([]int16, 160)
	DecodePCMA(back, got)
	if amp := toneAmplitude(back, 440, 8000); amp < 5500 || amp > 6500 {
		t.Fatalf("µ→A 440 Hz amplitude %.0f", amp)
	}
	TranscodeG711(got, a, PTPCMA, PTPCMU)
	DecodePCMU(back, got)
	if amp := toneAmplitude(back, 440, 8000); amp < 5500 || amp > 6500 {
		t.Fatalf("A→µ 440 Hz amplitude %.0f", amp)
	}
	TranscodeG711(got, u, PTPCMU, PTPCMU)
	if !bytes.Equal(got, u) {
		t.Fatal("same law is not a copy")
	}
}

func frameOf(b byte) []byte { return bytes.Repeat([]byte{b}, frameSamples) }

func TestJitterBufferOrderLossAndLate(t *testing.T) {
	j := NewJitterBuffer()
	out := make([]byte, frameSamples)
	// Not primed: silence, and still "playing".
	j.Write(PTPCMU, 0, frameOf(1))
	if !j.FillPayload(out, PTPCMU) || out[0] != 0xFF {
		t.Fatalf("unprimed frame %x", out[0])
	}
	// Packet 160 lost; 320 arrives: the gap becomes silence.
	j.Write(PTPCMU, 320, frameOf(3))
	j.Write(PTPCMU, 320, frameOf(9)) // duplicate
	j.Write(PTPCMU, 0, frameOf(9))   // late
	for i, want := range []byte{1, 0xFF, 3} {
		if !j.FillPayload(out, PTPCMU) || out[0] != want || out[159] != want {
			t.Fatalf("frame %d = %x..%x, want %x", i, out[0], out[159], want)
		}
	}
	if st := j.Stats(); st.Late != 2 || st.Filled != frameSamples {
		t.Fatalf("stats %+v", st)
	}
	// Empty: an underrun plays silence and re-primes.
	if !j.FillPayload(out, PTPCMU) || out[0] != 0xFF || j.Stats().Underruns != 1 {
		t.Fatalf("underrun: %x %+v", out[0], j.Stats())
	}
	// A sender restarting its clock far away is followed, not filled.
	j.Write(PTPCMU, 1_000_000, frameOf(4))
	j.Write(PTPCMU, 1_000_160, frameOf(5))
	if j.Buffered() != 2*frameSamples {
		t.Fatalf("buffered %d after resync", j.Buffered())
	}
	j.FillPayload(out, PTPCMA)
	if want := alawEncTable[uint16(ulawDecTable[4])>>3]; out[0] != want {
		t.Fatalf("PCMA out %x, want %x", out[0], want)
	}
}

func TestJitterBufferOverflowKeepsNewest(t *testing.T) {
	j := NewJitterBuffer()
	for i := range 20 {
		j.Write(PTPCMU, uint32(i*frameSamples), frameOf(byte(i)))
	}
	if j.Buffered() != jitterCap {
		t.Fatalf("buffered %d, cap %d", j.Buffered(), jitterCap)
	}
	out := make([]byte, frameSamples)
	j.FillPayload(out, PTPCMU)
	if want := byte(20 - jitterCap/frameSamples); out[0] != want {
		t.Fatalf("oldest kept frame %d, want %d", out[0], want)
	}
	if st := j.Stats(); st.Dropped != uint64(20*frameSamples-jitterCap) {
		t.Fatalf("dropped %d", st.Dropped)
	}
}

func TestJitterBufferStopAndPCM(t *testing.T) {
	j := NewJitterBuffer()
	pcm := sine(1000, 6000, 8000, 0.1)
	for i := range 5 {
		b := make([]byte, frameSamples)
		EncodePCMA(b, pcm[i*frameSamples:(i+1)*frameSamples])
		j.Write(PTPCMA, uint32(i*frameSamples), b)
	}
	got := make([]int16, 4*frameSamples)
	if !j.ReadFrame(got) {
		t.Fatal("ReadFrame finished")
	}
	if amp := toneAmplitude(got, 1000, 8000); amp < 5000 {
		t.Fatalf("1 kHz amplitude %.0f", amp)
	}
	j.Stop()
	if j.FillPayload(make([]byte, frameSamples), PTPCMU) || j.ReadFrame(got) {
		t.Fatal("played after Stop")
	}
	j.Write(PTPCMU, 0, frameOf(1))
	if j.Buffered() != 0 {
		t.Fatal("accepted a write after Stop")
	}
	j.Reset()
	if !j.FillPayload(make([]byte, frameSamples), PTPCMU) {
		t.Fatal("not playing after Reset")
	}
}

// TestJitterBufferOnSessionNoTranscode: a PCMU stream written to the
// buffer leaves the session byte for byte, and swapping to music on hold
// and back works; Stop drops the buffer from the session.
func TestJitterBufferOnSessionNoTranscode(t *testing.T) {
	e := startEngine(t, Config{})
	s := newSession(t, e, SessionConfig{CallID: "jb"})
	p := newPeer(t)
	s.SetRemote(Remote{Addr: p.addr(), Codec: PTPCMU})
	j := NewJitterBuffer()
	s.SetSource(j)
	s.Start()

	var mark byte = 0x42
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the agent's packets, 20 ms apart
		defer wg.Done()
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		for i := 0; ; i++ {
			j.Write(PTPCMU, uint32(i*frameSamples), frameOf(mark))
			select {
			case <-stop:
				return
			case <-tk.C:
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()

	waitPayload := func(want byte) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Second)
		for time.Now().Before(deadline) {
			pk, ok := p.readRTP(t, time.Second)
			if ok && len(pk.Payload) == frameSamples && pk.Payload[0] == want && pk.Payload[159] == want {
				return
			}
		}
		t.Fatalf("no payload of %#x", want)
	}
	waitPayload(mark)

	moh := NewPlayer(NewPromptPCM(sine(600, 6000, 8000, 1)), true)
	s.SetSource(moh)
	deadline := time.Now().Add(2 * time.Second)
	for {
		pk, ok := p.readRTP(t, time.Second)
		if ok && !bytes.Equal(pk.Payload, frameOf(pk.Payload[0])) {
			break // music, not a constant frame
		}
		if time.Now().After(deadline) {
			t.Fatal("no music on hold")
		}
	}
	j.Reset()
	s.SetSource(j)
	moh.Stop()
	waitPayload(mark)

	j.Stop()
	time.Sleep(60 * time.Millisecond)
	for {
		if _, ok := p.readRTP(t, 100*time.Millisecond); !ok {
			break // nothing sent any more: the session dropped the buffer
		}
	}
}

// BenchmarkForwardPacket is the caller→agent path up to the consumer: the
// receive goroutine's per-packet work plus a forwarder copying the payload
// into a JitterBuffer (what a bridge to another RTP leg does).
func BenchmarkForwardPacket(b *testing.B) {
	e, err := NewEngine(Config{IP: loopback})
	if err != nil {
		b.Fatal(err)
	}
	s := newSession(b, e, SessionConfig{CallID: "bench"})
	src := netip.MustParseAddrPort("127.0.0.1:40000")
	s.SetRemote(Remote{Addr: src, Codec: PTPCMU, DTMFPT: 101})
	j := NewJitterBuffer()
	s.SetForwarder(jitterForwarder{j})
	payload := make([]byte, 160)
	EncodePCMU(payload, sine(440, 6000, 8000, 0.02))
	pkt := rtpPacket(0, false, 0, 0, 1234, payload)
	var seq uint16
	var ts uint32
	mono := int64(time.Second)
	out := make([]byte, frameSamples)
	b.ReportAllocs()
	for b.Loop() {
		seq++
		ts += 160
		mono += int64(20 * time.Millisecond)
		binary.BigEndian.PutUint16(pkt[2:], seq)
		binary.BigEndian.PutUint32(pkt[4:], ts)
		s.handlePacket(pkt, src, mono)
		j.FillPayload(out, PTPCMU) // keep it from filling up
	}
}

type jitterForwarder struct{ j *JitterBuffer }

func (f jitterForwarder) ForwardRTP(pt PayloadType, ts uint32, _ bool, p []byte) {
	f.j.Write(pt, ts, p)
}

// BenchmarkJitterBuffer is one packet in and one frame out, PCMU to PCMU
// (the no-transcode bridge) and PCMU to PCMA.
func BenchmarkJitterBuffer(b *testing.B) {
	for _, law := range []PayloadType{PTPCMU, PTPCMA} {
		name := "pcmu"
		if law == PTPCMA {
			name = "pcmu-to-pcma"
		}
		b.Run(name, func(b *testing.B) {
			j := NewJitterBuffer()
			in, out := frameOf(0x33), make([]byte, frameSamples)
			var ts uint32
			b.ReportAllocs()
			for b.Loop() {
				j.Write(PTPCMU, ts, in)
				ts += frameSamples
				j.FillPayload(out, law)
			}
		})
	}
}

// BenchmarkSendPacketJitter is the pacer's per-frame work with the agent's
// JitterBuffer as source (compare BenchmarkSendPacket with a Player).
func BenchmarkSendPacketJitter(b *testing.B) {
	e, err := NewEngine(Config{IP: loopback})
	if err != nil {
		b.Fatal(err)
	}
	s := newSession(b, e, SessionConfig{CallID: "bench"})
	sink := newPeer(b)
	s.SetRemote(Remote{Addr: sink.addr(), Codec: PTPCMU})
	j := NewJitterBuffer()
	s.SetSource(j)
	wall, mono := time.Now(), e.mono()
	s.handlePacket(rtpPacket(0, true, 1, 1, 1, make([]byte, 160)), sink.addr(), mono)
	s.tick(1, 0, mono, wall, false)
	in := frameOf(0x33)
	var ts uint32
	b.ReportAllocs()
	for b.Loop() {
		j.Write(PTPCMU, ts, in)
		ts += frameSamples
		s.tick(1, 0, mono, wall, false)
	}
}
