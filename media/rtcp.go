package media

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/pion/rtcp"
)

// RTCP is built and parsed by hand into per-session buffers: pion/rtcp's
// Marshal and Unmarshal allocate, and RTCP shares the receive path with
// RTP. rtcp.Header and rtcp.ReceptionReport value parsing do not allocate
// and are used for reading.

const ntpEpochOffset = 2208988800 // seconds from 1900 to 1970

func ntpTime(t time.Time) uint64 {
	secs := uint64(t.Unix()) + ntpEpochOffset
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second)
	return secs<<32 | frac
}

// sendRTCP sends a compound SR or RR plus SDES CNAME (RFC 3550 requires the
// CNAME in every compound packet). Called by the pacer with s.mu held.
func (s *Session) sendRTCP(wall time.Time, mono int64) {
	s.rxMu.Lock()
	rb, haveRB := s.st.reportBlock(mono)
	s.rxMu.Unlock()

	b := s.ctl[:]
	rc := byte(0)
	if haveRB {
		rc = 1
	}
	var off int
	if s.sent != s.sentAtRTCP {
		s.sentAtRTCP = s.sent
		b[0], b[1] = 0x80|rc, byte(rtcp.TypeSenderReport)
		binary.BigEndian.PutUint32(b[4:], s.ssrc)
		binary.BigEndian.PutUint64(b[8:], ntpTime(wall))
		binary.BigEndian.PutUint32(b[16:], s.ts)
		binary.BigEndian.PutUint32(b[20:], uint32(s.sent))
		binary.BigEndian.PutUint32(b[24:], uint32(s.sentOctets))
		off = 28
	} else {
		b[0], b[1] = 0x80|rc, byte(rtcp.TypeReceiverReport)
		binary.BigEndian.PutUint32(b[4:], s.ssrc)
		off = 8
	}
	if haveRB {
		r := b[off:]
		binary.BigEndian.PutUint32(r[0:], rb.ssrc)
		binary.BigEndian.PutUint32(r[4:], uint32(rb.fraction)<<24|rb.lost)
		binary.BigEndian.PutUint32(r[8:], rb.extMax)
		binary.BigEndian.PutUint32(r[12:], rb.jitter)
		binary.BigEndian.PutUint32(r[16:], rb.lsr)
		binary.BigEndian.PutUint32(r[20:], rb.dlsr)
		off += 24
	}
	binary.BigEndian.PutUint16(b[2:], uint16(off/4-1))

	// SDES: one chunk, CNAME item, null-terminated and padded to 32 bits.
	sdes := off
	b[off], b[off+1] = 0x81, byte(rtcp.TypeSourceDescription)
	binary.BigEndian.PutUint32(b[off+4:], s.ssrc)
	b[off+8], b[off+9] = 1, byte(len(s.cname))
	off += 10 + copy(b[off+10:], s.cname[:])
	for pad := 4 - off%4; pad > 0; pad-- {
		b[off] = 0
		off++
	}
	binary.BigEndian.PutUint16(b[sdes+2:], uint16((off-sdes)/4-1))

	if _, err := s.write(b[:off]); err != nil {
		s.sendErrs++
	}
}

// handleRTCP reads reports about our stream from a (possibly compound)
// RTCP packet. Runs on the receive goroutine; allocation free.
func (s *Session) handleRTCP(b []byte, src netip.AddrPort, mono int64) {
	// Only the latched peer may move our statistics or keep the call
	// alive; before latching anything is accepted for statistics.
	fromPeer := src == s.rxSrc
	if s.rxSrc.IsValid() && !fromPeer {
		s.countIgnored()
		return
	}
	var sawReport bool
	for len(b) >= 4 {
		var h rtcp.Header
		if err := h.Unmarshal(b); err != nil {
			s.countInvalid()
			return
		}
		size := (int(h.Length) + 1) * 4
		if size > len(b) {
			s.countInvalid()
			return
		}
		pkt := b[:size]
		b = b[size:]
		var blocks int
		switch h.Type {
		case rtcp.TypeSenderReport:
			if len(pkt) < 28 {
				s.countInvalid()
				return
			}
			s.rxMu.Lock()
			s.st.lastSR = binary.BigEndian.Uint32(pkt[10:14])
			s.st.lastSRAt = mono
			s.rxMu.Unlock()
			blocks = 28
		case rtcp.TypeReceiverReport:
			if len(pkt) < 8 {
				s.countInvalid()
				return
			}
			blocks = 8
		default:
			continue
		}
		sawReport = true
		for i := 0; i < int(h.Count) && blocks+24 <= len(pkt); i, blocks = i+1, blocks+24 {
			var rr rtcp.ReceptionReport
			if rr.Unmarshal(pkt[blocks:]) != nil || rr.SSRC != s.ssrc {
				continue
			}
			s.applyReport(&rr)
		}
	}
	if sawReport && fromPeer {
		s.lastRx.Store(mono)
	}
}

func (s *Session) applyReport(rr *rtcp.ReceptionReport) {
	var rtt float64
	if rr.LastSenderReport != 0 {
		// RFC 3550 6.4.1: RTT = A - LSR - DLSR in 1/65536 s.
		now := uint32(ntpTime(time.Now()) >> 16)
		if d := now - rr.LastSenderReport - rr.Delay; d < 10*65536 {
			rtt = float64(d) * 1000 / 65536
		}
	}
	s.rxMu.Lock()
	s.st.remoteLoss = float64(rr.FractionLost) / 256
	if rtt > 0 {
		s.st.rttMs = rtt
	}
	s.rxMu.Unlock()
}
