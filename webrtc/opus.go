package webrtc

import (
	"fmt"
	"sync/atomic"

	"github.com/pion/rtp"
	pion "github.com/pion/webrtc/v4"

	"hotline/media"
)

// Opus toward the browser (Config.Opus). The caller side stays G.711 at
// 8 kHz; the leg converts at its edge, so the jitter buffer, the session
// and a patch to another agent's leg all keep carrying µ-law 20 ms frames
// with 8 kHz timestamps whatever each browser negotiated.
//
//	to the browser:   G.711 → PCM 8k → ×6 low-pass → Opus 20 ms → RTP (48 kHz clock)
//	from the browser: RTP → Opus (PLC/FEC on loss) → PCM 48k → low-pass ÷6 → µ-law → jitter buffer

const (
	opusRate = 48000
	opusPT   = 111 // what browsers use; pion maps it if the answer differs
	// Voice settings: 24 kbit/s is plenty for a narrowband source with
	// in-band FEC on top, complexity 5 halves the encoder's CPU against
	// the default 10 at no audible cost for telephone audio, and telling
	// the encoder to expect some loss makes it spend bits on FEC.
	opusBitrate    = 24000
	opusComplexity = 5
	opusLossPerc   = 5
	// 20 ms frames: 160 samples in, 960 on the 48 kHz RTP clock.
	opusFrame8  = 160
	opusFrame48 = opusFrame8 * rateFactor
	// The longest Opus packet is 120 ms; a browser sends 20 ms, but the
	// decoder buffers take anything legal without allocating.
	opusMaxFrame48 = 5760
	// opusMaxConceal: a gap of up to this many packets is concealed (PLC,
	// then FEC for the last one); a longer one is left to the jitter
	// buffer, which resynchronises rather than play seconds of PLC.
	opusMaxConceal = 5
	// maxG711 bounds one caller payload, as fwdBuf does for PCMU.
	maxG711 = 1500
)

// opusCapability: Opus is stereo in SDP by RFC 7587 whatever the content;
// we send mono. minptime and in-band FEC as browsers offer them.
func opusCapability() pion.RTPCodecCapability {
	return pion.RTPCodecCapability{MimeType: pion.MimeTypeOpus, ClockRate: opusRate, Channels: 2,
		SDPFmtpLine: "minptime=10;useinbandfec=1"}
}

func pcmuCapability() pion.RTPCodecCapability {
	return pion.RTPCodecCapability{MimeType: pion.MimeTypePCMU, ClockRate: 8000, Channels: 1}
}

// opusTx is the encoder side of a leg, used under Leg.fwdMu.
type opusTx struct {
	track *pion.TrackLocalStaticRTP
	enc   *opusEncoder // nil once freed by Close
	up    *upsampler

	pcm    [opusFrame8]int16 // one 20 ms frame being filled
	n      int               // samples in pcm
	ts     uint32            // 8 kHz timestamp of pcm[0]
	nextTS uint32            // expected timestamp of the next input
	from   source
	marker bool // the next frame starts a talkspurt

	in    [maxG711]int16
	pcm48 [opusFrame48]int16
}

// opusRx is the decoder side of a leg, used only by the track reader.
type opusRx struct {
	dec  *opusDecoder // nil once freed by Close
	down *downsampler

	nextSeq uint16
	haveSeq bool
	// The 8 kHz timeline: ref8 is where the 48 kHz timestamp ref48 lands.
	ref48, ref8 uint32
	haveTS      bool

	pcm48 [opusMaxFrame48]int16
	pcm8  [opusMaxFrame48 / rateFactor]int16
	ulaw  [opusMaxFrame48 / rateFactor]byte

	concealed, recovered, decodeErrs atomic.Uint64
}

// newOpusCodecs makes a leg's encoder, decoder, filters and Opus track.
func newOpusCodecs(callID string) (*opusTx, *opusRx, error) {
	track, err := pion.NewTrackLocalStaticRTP(opusCapability(), "audio", "hotline-"+callID)
	if err != nil {
		return nil, nil, fmt.Errorf("new opus track: %w", err)
	}
	enc, err := newOpusEncoder(opusBitrate, opusComplexity, opusLossPerc)
	if err != nil {
		return nil, nil, err
	}
	dec, err := newOpusDecoder()
	if err != nil {
		enc.close()
		return nil, nil, err
	}
	h := lowPass()
	return &opusTx{track: track, enc: enc, up: newUpsampler(&h, opusFrame8)},
		&opusRx{dec: dec, down: newDownsampler(&h, opusMaxFrame48)}, nil
}

// freeCodecs releases libopus's memory. The encoder goes under fwdMu, as
// a caller packet or a patched leg may be inside send; the decoder's only
// user, the track reader, has ended when this is called.
func (l *Leg) freeCodecs() {
	if l.tx != nil {
		l.fwdMu.Lock()
		l.tx.enc.close()
		l.tx.enc = nil
		l.fwdMu.Unlock()
	}
	if l.rx != nil {
		l.rx.dec.close()
		l.rx.dec = nil
	}
}

// sendOpusLocked encodes G.711 audio for the browser in 20 ms frames.
// Caller payloads are 20 ms nearly always, making this one frame per
// packet; other packet sizes are regrouped. Runs under fwdMu.
func (l *Leg) sendOpusLocked(from source, pt media.PayloadType, ts uint32, marker bool, payload []byte) {
	tx := l.tx
	if tx.enc == nil {
		return
	}
	k := min(len(payload), len(tx.in))
	in := tx.in[:k]
	if pt == media.PTPCMA {
		media.DecodePCMA(in, payload[:k])
	} else {
		media.DecodePCMU(in, payload[:k])
	}
	if tx.n > 0 && (from != tx.from || ts != tx.nextTS) {
		// The stream that filled the partial frame broke off (another
		// source, a jump of its clock): drop those few ms rather than
		// glue unrelated audio together.
		tx.n = 0
	}
	tx.from = from
	tx.nextTS = ts + uint32(k)
	tx.marker = tx.marker || marker
	for off := 0; off < k; {
		if tx.n == 0 {
			tx.ts = ts + uint32(off)
		}
		c := copy(tx.pcm[tx.n:], in[off:])
		tx.n += c
		off += c
		if tx.n < opusFrame8 {
			break
		}
		tx.n = 0
		tx.up.process(tx.pcm48[:], tx.pcm[:])
		nb, err := tx.enc.encode(tx.pcm48[:], l.fwdBuf[:])
		if err != nil {
			l.sendErrs.Add(1)
			continue
		}
		// The 8 kHz timeline maps onto the 48 kHz one by ×6, which
		// stays linear across uint32 wrap-around.
		l.writeLocked(tx.track, from, opusPT, tx.ts*rateFactor, opusFrame48, tx.marker, l.fwdBuf[:nb])
		tx.marker = false
	}
}

// opusIn decodes one Opus packet from the browser and delivers it as
// 8 kHz µ-law, concealing lost packets first. Runs on the track reader.
func (l *Leg) opusIn(h *rtp.Header, payload []byte) {
	rx := l.rx
	if rx.dec == nil {
		return
	}
	dur, err := opusPacketSamples(payload)
	if err != nil || dur > len(rx.pcm48) || dur%rateFactor != 0 {
		rx.decodeErrs.Add(1)
		return
	}
	if rx.haveSeq {
		gap := int16(h.SequenceNumber - rx.nextSeq)
		if gap < 0 {
			// Late or duplicate: the decoder's state has moved past it
			// (it was concealed already).
			return
		}
		if gap > 0 && gap <= opusMaxConceal {
			// Missing packets, assumed as long as this one: PLC for all
			// but the last, which this packet's FEC data rebuilds (libopus
			// falls back to PLC when the packet carries none).
			for k := int(gap); k >= 1; k-- {
				var data []byte
				if k == 1 {
					data = payload
				}
				n, err := rx.dec.decode(data, rx.pcm48[:dur], k == 1)
				if err != nil {
					rx.decodeErrs.Add(1)
					break
				}
				if k == 1 {
					rx.recovered.Add(1)
				} else {
					rx.concealed.Add(1)
				}
				l.deliverOpus(h.Timestamp-uint32(k*dur), false, n)
			}
		}
	}
	rx.nextSeq, rx.haveSeq = h.SequenceNumber+1, true
	n, err := rx.dec.decode(payload, rx.pcm48[:], false)
	if err != nil {
		rx.decodeErrs.Add(1)
		return
	}
	l.deliverOpus(h.Timestamp, h.Marker, n)
}

// deliverOpus converts n decoded 48 kHz samples to µ-law and delivers them
// with their 8 kHz timestamp.
func (l *Leg) deliverOpus(ts48 uint32, marker bool, n int) {
	rx := l.rx
	n -= n % rateFactor
	m := n / rateFactor
	rx.down.process(rx.pcm8[:m], rx.pcm48[:n])
	media.EncodePCMU(rx.ulaw[:m], rx.pcm8[:m])
	l.deliver(rx.to8k(ts48), marker, rx.ulaw[:m])
}

// to8k maps a 48 kHz timestamp onto the 8 kHz timeline by steps from the
// previous one, not as ts48/6: 2^32 is not a multiple of 6, so plain
// division would jump at the wrap of the 48 kHz clock (once a day).
func (rx *opusRx) to8k(ts48 uint32) uint32 {
	if !rx.haveTS {
		rx.haveTS = true
		rx.ref48, rx.ref8 = ts48, ts48/rateFactor
	}
	// Signed: concealed packets come just before the last one seen.
	// Opus frames are multiples of 2.5 ms (120 samples at 48 kHz), so
	// the steps divide exactly.
	rx.ref8 += uint32(int32(ts48-rx.ref48) / rateFactor)
	rx.ref48 = ts48
	return rx.ref8
}
