package media

import (
	"net/netip"
	"testing"
)

// FuzzHandlePacket: no datagram may panic the receive path.
func FuzzHandlePacket(f *testing.F) {
	f.Add(rtpPacket(0, true, 1, 160, 7, make([]byte, 160)))
	f.Add(rtpPacket(101, false, 2, 160, 7, eventPayload(5, true, 800)))
	f.Add([]byte{0x81, 201, 0, 7, 0, 0, 0, 7, 1, 2, 3, 4, 64, 0, 0, 1, 0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0x80, 200, 0, 6, 0, 0, 0, 7, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1})
	f.Add([]byte{0xB3, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0xBE, 0xDE, 0, 1, 0x10, 1, 0, 0, 2})
	e, err := NewEngine(Config{IP: loopback})
	if err != nil {
		f.Fatal(err)
	}
	s, err := e.NewSession(SessionConfig{CallID: "fuzz", InbandDTMF: true})
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	src := netip.MustParseAddrPort("127.0.0.1:9")
	s.SetRemote(Remote{Addr: src, Codec: PTPCMA, DTMFPT: 101, RTCPMux: true})
	var mono int64
	f.Fuzz(func(t *testing.T, b []byte) {
		mono += 20e6
		s.handlePacket(b, src, mono)
		for len(s.digits) > 0 {
			<-s.digits
		}
	})
}

// FuzzDecodeWAV: uploads are untrusted; bad ones must fail cleanly.
func FuzzDecodeWAV(f *testing.F) {
	f.Add(EncodeWAV(sine(440, 1000, 16000, 0.01), 16000))
	f.Add(EncodeWAV(sine(440, 1000, 8000, 0.01), 8000))
	f.Fuzz(func(t *testing.T, b []byte) {
		x, rate, err := decodeWAV(b)
		if err != nil {
			return
		}
		if len(x) > 1<<16 || rate > 96000 {
			return // keep iterations fast
		}
		_ = resample(x, rate, sampleRate)
	})
}
