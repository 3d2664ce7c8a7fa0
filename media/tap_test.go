package media

import (
	"context"
	"encoding/binary"
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"
)

func TestPCMTapDecodesAudioOnly(t *testing.T) {
	e, err := NewEngine(Config{IP: loopback})
	if err != nil {
		t.Fatal(err)
	}
	s := newSession(t, e, SessionConfig{CallID: "tap"})
	src := netip.MustParseAddrPort("127.0.0.1:40000")
	s.SetRemote(Remote{Addr: src, Codec: PTPCMU, DTMFPT: 101})
	q := NewPCMQueue(8)
	s.SetPCMTap(q)
	fwd := &recordingForwarder{}
	s.SetForwarder(fwd)                // both taps see the audio
	pcm := sine(440, 6000, 8000, 0.04) // 320 samples: one 40 ms packet
	u, a := make([]byte, len(pcm)), make([]byte, 160)
	EncodePCMU(u, pcm)
	EncodePCMA(a, pcm[:160])
	mono := int64(time.Second)
	s.handlePacket(rtpPacket(PTPCMU, true, 1, 1000, 7, u), src, mono)
	s.handlePacket(rtpPacket(101, true, 2, 1320, 7, eventPayload(5, false, 160)), src, mono)
	s.handlePacket(rtpPacket(ptCN, false, 3, 1320, 7, []byte{40}), src, mono)
	s.handlePacket(rtpPacket(PTPCMA, false, 4, 1480, 7, a), src, mono)

	var got [][]int16
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	stop := errors.New("enough")
	err = q.Drain(ctx, func(p []int16) error {
		got = append(got, slices.Clone(p))
		if len(got) == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("Drain = %v after %d frames, want 3 frames", err, len(got))
	}
	want := make([]int16, 320)
	DecodePCMU(want, u)
	wantA := make([]int16, 160)
	DecodePCMA(wantA, a)
	if !slices.Equal(got[0], want[:160]) || !slices.Equal(got[1], want[160:]) || !slices.Equal(got[2], wantA) {
		t.Fatal("tapped PCM differs from the decoded payloads")
	}
	if fwd.len() != 2 {
		t.Fatalf("forwarder got %d packets, want 2", fwd.len())
	}
	s.SetPCMTap(nil)
	s.handlePacket(rtpPacket(PTPCMU, false, 5, 1640, 7, u), src, mono)
	if len(q.full) != 0 {
		t.Fatal("tapped after SetPCMTap(nil)")
	}
}

func TestPCMQueueDropsWhenFull(t *testing.T) {
	q := NewPCMQueue(2)
	frame := make([]int16, 160)
	for range 5 {
		q.TapPCM(frame) // nobody drains: must not block
	}
	if q.Dropped() != 3 {
		t.Fatalf("dropped %d, want 3", q.Dropped())
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err := q.Drain(ctx, func([]int16) error {
		if n++; n == 2 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || n != 2 {
		t.Fatalf("Drain = %v after %d frames", err, n)
	}
	q.TapPCM(frame) // frames went back to the free list
	if q.Dropped() != 3 {
		t.Fatalf("dropped %d after draining, want still 3", q.Dropped())
	}
}

// BenchmarkReceivePacketPCMTap is BenchmarkReceivePacket with a listener
// attached: decode plus a queue hand-off per packet, still no allocation.
func BenchmarkReceivePacketPCMTap(b *testing.B) {
	e, err := NewEngine(Config{IP: loopback})
	if err != nil {
		b.Fatal(err)
	}
	s := newSession(b, e, SessionConfig{CallID: "bench"})
	src := netip.MustParseAddrPort("127.0.0.1:40000")
	s.SetRemote(Remote{Addr: src, Codec: PTPCMU, DTMFPT: 101})
	q := NewPCMQueue(50)
	s.SetPCMTap(q)
	payload := make([]byte, 160)
	EncodePCMU(payload, sine(440, 6000, 8000, 0.02))
	pkt := rtpPacket(0, false, 0, 0, 1234, payload)
	var seq uint16
	var ts uint32
	mono := int64(time.Second)
	b.ReportAllocs()
	for b.Loop() {
		seq++
		ts += 160
		mono += int64(20 * time.Millisecond)
		binary.BigEndian.PutUint16(pkt[2:], seq)
		binary.BigEndian.PutUint32(pkt[4:], ts)
		s.handlePacket(pkt, src, mono)
		// Consume like a recognizer would, so the queue does not just
		// drop (which would not measure the hand-off).
		f := <-q.full
		q.free <- f
	}
}
