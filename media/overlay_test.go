package media

import (
	"testing"
	"time"
)

// TestOverlayMixesOverSource: a whisper (overlay) is heard over what the
// session plays, alone when nothing plays, and stops when removed.
func TestOverlayMixesOverSource(t *testing.T) {
	t.Parallel()
	e := startEngine(t, Config{})
	s := newSession(t, e, SessionConfig{CallID: "overlay"})
	p := newPeer(t)
	s.SetRemote(Remote{Addr: p.addr(), Codec: PTPCMU, RTCPMux: true})
	s.Start()
	// listen collects about 200 ms of what the peer receives.
	listen := func() []int16 {
		var pcm []int16
		frame := make([]int16, 160)
		deadline := time.Now().Add(2 * time.Second)
		for len(pcm) < 1600 && time.Now().Before(deadline) {
			pk, ok := p.readRTP(t, 200*time.Millisecond)
			if !ok || len(pk.Payload) != 160 {
				continue
			}
			DecodePCMU(frame, pk.Payload)
			pcm = append(pcm, frame...)
		}
		return pcm
	}
	// drain skips what was sent before a change took effect.
	drain := func() {
		for end := time.Now().Add(100 * time.Millisecond); time.Now().Before(end); {
			p.readRTP(t, 60*time.Millisecond)
		}
	}
	whisper := NewPlayer(NewPromptPCM(sine(1000, 6000, 8000, 20)), true)
	s.SetOverlay(whisper)
	if x := listen(); toneAmplitude(x, 1000, 8000) < 2000 {
		t.Fatalf("overlay alone: 1 kHz amplitude %.0f", toneAmplitude(x, 1000, 8000))
	}
	s.SetSource(NewPlayer(NewPromptPCM(sine(440, 6000, 8000, 20)), true))
	drain()
	x := listen()
	if a, b := toneAmplitude(x, 440, 8000), toneAmplitude(x, 1000, 8000); a < 2000 || b < 2000 {
		t.Fatalf("source and overlay: 440 Hz %.0f, 1 kHz %.0f, want both", a, b)
	}
	s.SetOverlay(nil)
	drain()
	x = listen()
	if a, b := toneAmplitude(x, 440, 8000), toneAmplitude(x, 1000, 8000); a < 2000 || b > 300 {
		t.Fatalf("overlay removed: 440 Hz %.0f, 1 kHz %.0f", a, b)
	}
}
