package media

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"
)

// BenchmarkSendPacket is the pacer's per-session work for one 20 ms frame
// of a Player on PCMU: lock, copy the pre-encoded payload, MarshalTo, and
// the send to a loopback socket (the syscall dominates). "latched" is the
// steady state of a call (socket connected to the peer that sends to us);
// "unlatched" is before the peer's first packet (sendto).
func BenchmarkSendPacket(b *testing.B) {
	for _, latched := range []bool{true, false} {
		name := "latched"
		if !latched {
			name = "unlatched"
		}
		b.Run(name, func(b *testing.B) {
			e, err := NewEngine(Config{IP: loopback})
			if err != nil {
				b.Fatal(err)
			}
			s := newSession(b, e, SessionConfig{CallID: "bench"})
			sink := newPeer(b) // never read: the kernel drops what overflows
			s.SetRemote(Remote{Addr: sink.addr(), Codec: PTPCMU, DTMFPT: 101})
			s.SetSource(NewPlayer(toneFrames(time.Second), true))
			wall := time.Now()
			mono := e.mono()
			if latched {
				s.handlePacket(rtpPacket(0, true, 1, 1, 1, make([]byte, 160)), sink.addr(), mono)
				s.tick(1, 0, mono, wall, false)
				if !s.connected.Load() {
					b.Fatal("not connected after latching")
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				s.tick(1, 0, mono, wall, false)
			}
			b.StopTimer()
			if st := s.Stats(); st.PacketsSent == 0 || st.SendErrors != 0 {
				b.Fatalf("stats %+v", st)
			}
		})
	}
}

// BenchmarkSendPacketTone is the same with a generic Source (ReadFrame and
// a G.711 encode per packet) for comparison with the Player fast path.
func BenchmarkSendPacketTone(b *testing.B) {
	e, err := NewEngine(Config{IP: loopback})
	if err != nil {
		b.Fatal(err)
	}
	s := newSession(b, e, SessionConfig{CallID: "bench"})
	sink := newPeer(b)
	s.SetRemote(Remote{Addr: sink.addr(), Codec: PTPCMU})
	s.SetSource(NewTone([]float64{440}, 0))
	wall := time.Now()
	mono := e.mono()
	b.ReportAllocs()
	for b.Loop() {
		s.tick(1, 0, mono, wall, false)
	}
}

// BenchmarkReceivePacket is the receive goroutine's work after the read:
// validation, header parse, latching, A.1/A.8 statistics and the digit
// checks, on a PCMU packet whose seq and timestamp advance every iteration.
func BenchmarkReceivePacket(b *testing.B) {
	for _, inband := range []bool{false, true} {
		name := "inband=off"
		if inband {
			name = "inband=on"
		}
		b.Run(name, func(b *testing.B) {
			e, err := NewEngine(Config{IP: loopback})
			if err != nil {
				b.Fatal(err)
			}
			s := newSession(b, e, SessionConfig{CallID: "bench", InbandDTMF: inband})
			src := netip.MustParseAddrPort("127.0.0.1:40000")
			s.SetRemote(Remote{Addr: src, Codec: PTPCMU, DTMFPT: 101})
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
			}
			b.StopTimer()
			if st := s.Stats(); st.PacketsLost != 0 || st.PacketsInvalid != 0 {
				b.Fatalf("stats %+v", st)
			}
		})
	}
}

// BenchmarkReceiveDTMFEvent covers the RFC 4733 path (a digit every
// 8 packets, so the de-dup and the channel send both run).
func BenchmarkReceiveDTMFEvent(b *testing.B) {
	e, err := NewEngine(Config{IP: loopback})
	if err != nil {
		b.Fatal(err)
	}
	s := newSession(b, e, SessionConfig{CallID: "bench"})
	src := netip.MustParseAddrPort("127.0.0.1:40000")
	s.SetRemote(Remote{Addr: src, Codec: PTPCMU, DTMFPT: 101})
	pkt := rtpPacket(101, false, 0, 0, 1234, eventPayload(5, false, 160))
	var seq uint16
	var ts uint32
	var i int
	mono := int64(time.Second)
	go func() { // a reader, as in production
		for range s.Digits() {
		}
	}()
	b.ReportAllocs()
	for b.Loop() {
		seq++
		i++
		if i%8 == 0 {
			ts += 1280
		}
		mono += int64(20 * time.Millisecond)
		binary.BigEndian.PutUint16(pkt[2:], seq)
		binary.BigEndian.PutUint32(pkt[4:], ts)
		if i%8 >= 5 {
			pkt[13] |= 0x80
		} else {
			pkt[13] &^= 0x80
		}
		s.handlePacket(pkt, src, mono)
	}
}

func BenchmarkGoertzel(b *testing.B) {
	d := NewDTMFDetector(8000)
	frame := dtmfTone('5', 20*time.Millisecond, 6000, 0)
	b.ReportAllocs()
	b.SetBytes(int64(len(frame) * 2))
	for b.Loop() {
		d.Process(frame)
	}
}

func BenchmarkEncodePCMU(b *testing.B) {
	src := sine(440, 6000, 8000, 0.02)
	dst := make([]byte, 160)
	b.ReportAllocs()
	for b.Loop() {
		EncodePCMU(dst, src)
	}
}
