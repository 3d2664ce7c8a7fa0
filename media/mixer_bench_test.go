package media

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// BenchmarkMixerTick is one 20 ms tick of a bridge of n legs: every leg
// receives a PCMU packet (decoded into its jitter buffer) and pulls its
// frame (the first pull mixes the round). "+play+tap" adds a bridge tone
// and a recording tap. Legs are the fake MixerLeg, so no sockets: this is
// the mixer's own cost.
func BenchmarkMixerTick(b *testing.B) {
	for _, c := range []struct {
		legs    int
		playTap bool
	}{{2, false}, {3, false}, {3, true}, {10, false}, {50, false}} {
		name := fmt.Sprintf("legs=%d", c.legs)
		if c.playTap {
			name += "+play+tap"
		}
		b.Run(name, func(b *testing.B) {
			m, clk := mixFakeMixer()
			if c.playTap {
				m.Play(NewTone([]float64{425}, 0))
				var sink int16
				m.Tap(func(f []int16) { sink += f[0] })
			}
			var legs []*mixLeg
			for range c.legs {
				l := &mixFakeLeg{}
				m.Add(l)
				legs = append(legs, l.fwd.(*mixLeg))
			}
			payload := make([]byte, frameSamples)
			EncodePCMU(payload, sine(440, 6000, 8000, 0.02))
			out := make([]int16, frameSamples)
			var ts uint32
			for range 2 {
				for _, p := range legs {
					p.ForwardRTP(PTPCMU, ts, false, payload)
				}
				ts += frameSamples
			}
			b.ReportAllocs()
			for b.Loop() {
				*clk += int64(frameDuration)
				for _, p := range legs {
					p.ForwardRTP(PTPCMU, ts, false, payload)
				}
				ts += frameSamples
				for _, p := range legs {
					p.ReadFrame(out)
				}
			}
			b.StopTimer()
			if st := legs[0].rx.st; st.Underruns > 1 || st.Dropped != 0 {
				b.Fatalf("input %+v", st)
			}
		})
	}
}

// BenchmarkMixerSessions is a two-party bridge of real sessions for one
// tick: each session handles a received packet (receive goroutine work,
// forwarder included) and sends its mixed frame to a loopback socket
// (pacer work, syscall included). Compare with BenchmarkForwardPacket plus
// BenchmarkSendPacketJitter, the JitterBuffer relay, times two.
func BenchmarkMixerSessions(b *testing.B) {
	e, err := NewEngine(Config{IP: loopback})
	if err != nil {
		b.Fatal(err)
	}
	m, clk := mixFakeMixer()
	var ss []*Session
	var srcs []netip.AddrPort
	for i := range 2 {
		s := newSession(b, e, SessionConfig{CallID: fmt.Sprint("bench", i)})
		sink := newPeer(b) // never read: the kernel drops what overflows
		s.SetRemote(Remote{Addr: sink.addr(), Codec: PTPCMU})
		m.Add(s)
		ss = append(ss, s)
		srcs = append(srcs, sink.addr())
	}
	payload := make([]byte, frameSamples)
	EncodePCMU(payload, sine(440, 6000, 8000, 0.02))
	wall, mono := time.Now(), e.mono()
	var seq uint16
	var ts uint32
	tick := func() {
		*clk += int64(frameDuration)
		seq++
		ts += frameSamples
		pkt := rtpPacket(0, false, seq, ts, 1234, payload)
		for i, s := range ss {
			s.handlePacket(pkt, srcs[i], mono)
		}
		for _, s := range ss {
			s.tick(1, 0, mono, wall, false)
		}
	}
	for range 3 {
		tick()
	}
	pkt := rtpPacket(0, false, seq, ts, 1234, payload)
	b.ReportAllocs()
	for b.Loop() {
		*clk += int64(frameDuration)
		seq++
		ts += frameSamples
		pkt[2], pkt[3] = byte(seq>>8), byte(seq)
		pkt[4], pkt[5], pkt[6], pkt[7] = byte(ts>>24), byte(ts>>16), byte(ts>>8), byte(ts)
		for i, s := range ss {
			s.handlePacket(pkt, srcs[i], mono)
		}
		for _, s := range ss {
			s.tick(1, 0, mono, wall, false)
		}
	}
	b.StopTimer()
	if st := ss[0].Stats(); st.PacketsSent == 0 || st.SendErrors != 0 {
		b.Fatalf("stats %+v", st)
	}
}
