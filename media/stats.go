package media

import "time"

// rxStats is the receive-side accounting of a session, guarded by rxMu.
type rxStats struct {
	seq seqState // current stream (SSRC)

	// Earlier streams of this call (the peer's SSRC changed, e.g. after a
	// transfer on its side), so the CDR figures cover the whole call.
	prevExpected, prevReceived uint64

	packets, bytes uint64
	maxJitter      float64
	invalid        uint64
	ignored        uint64
	digitsDropped  uint64

	// From the peer's RTCP.
	lastSR     uint32 // middle 32 bits of the NTP time of its last SR
	lastSRAt   int64  // engine mono time it arrived
	remoteLoss float64
	rttMs      float64
}

// seqState is RFC 3550 appendix A.1/A.3/A.8 for one SSRC.
type seqState struct {
	init        bool
	ssrc        uint32
	baseSeq     uint32
	maxSeq      uint16
	cycles      uint32
	badSeq      uint32
	received    uint64
	expPrior    uint64
	recvPrior   uint64
	transit     uint32
	haveTransit bool
	jitter      float64 // timestamp units
}

const (
	seqMod      = 1 << 16
	maxDropout  = 3000
	maxMisorder = 100
)

func (st *rxStats) update(ssrc uint32, seq uint16, ts uint32, audio bool, mono int64) {
	q := &st.seq
	if !q.init || ssrc != q.ssrc {
		if q.init {
			st.prevExpected += q.expected()
			st.prevReceived += q.received
		}
		*q = seqState{init: true, ssrc: ssrc}
		q.initSeq(seq)
	}
	if q.updateSeq(seq) {
		q.received++
	}
	if audio {
		// A.8 in timestamp units. RFC 4733 event packets repeat their
		// timestamp and would read as jitter, so only audio counts.
		arrival := uint32(mono / (int64(time.Second) / sampleRate))
		transit := arrival - ts
		if q.haveTransit {
			d := int32(transit - q.transit)
			if d < 0 {
				d = -d
			}
			q.jitter += (float64(d) - q.jitter) / 16
			st.maxJitter = max(st.maxJitter, q.jitter)
		}
		q.transit, q.haveTransit = transit, true
	}
}

// initSeq is A.1 init_seq. Probation is not used: the source was already
// vetted by latching, and counting from the first packet keeps short calls'
// figures exact.
func (q *seqState) initSeq(seq uint16) {
	q.baseSeq = uint32(seq)
	q.maxSeq = seq
	q.badSeq = seqMod + 1
	q.cycles = 0
	q.received = 0
	q.expPrior = 0
	q.recvPrior = 0
}

// updateSeq is A.1 update_seq; false means the packet is not counted.
func (q *seqState) updateSeq(seq uint16) bool {
	udelta := seq - q.maxSeq
	switch {
	case udelta < maxDropout:
		if seq < q.maxSeq {
			q.cycles += seqMod
		}
		q.maxSeq = seq
	case uint32(udelta) <= seqMod-maxMisorder:
		if uint32(seq) == q.badSeq {
			// Two sequential packets after a big jump: the sender
			// restarted its sequence; resynchronise.
			q.initSeq(seq)
		} else {
			q.badSeq = (uint32(seq) + 1) & (seqMod - 1)
			return false
		}
	default:
		// Duplicate or reordered: counted as received (A.3 allows the
		// resulting negative loss).
	}
	return true
}

func (q *seqState) extMax() uint32 { return q.cycles + uint32(q.maxSeq) }

func (q *seqState) expected() uint64 {
	return uint64(q.extMax()) - uint64(q.baseSeq) + 1
}

// reportBlock computes an RTCP reception report (A.3) and advances the
// interval counters. ok is false before any packet arrived.
func (st *rxStats) reportBlock(mono int64) (rb receptionBlock, ok bool) {
	q := &st.seq
	if !q.init {
		return rb, false
	}
	expected := q.expected()
	lost := int64(expected) - int64(q.received)
	lost = min(max(lost, -0x800000), 0x7FFFFF) // 24-bit signed field
	expInterval := expected - q.expPrior
	recvInterval := q.received - q.recvPrior
	q.expPrior, q.recvPrior = expected, q.received
	var fraction uint8
	if lostInterval := int64(expInterval) - int64(recvInterval); expInterval > 0 && lostInterval > 0 {
		fraction = uint8(min(lostInterval<<8/int64(expInterval), 255))
	}
	rb = receptionBlock{
		ssrc:     q.ssrc,
		fraction: fraction,
		lost:     uint32(lost) & 0xFFFFFF,
		extMax:   q.extMax(),
		jitter:   uint32(q.jitter),
	}
	if st.lastSRAt != 0 {
		rb.lsr = st.lastSR
		// DLSR in 1/65536 s.
		rb.dlsr = uint32((mono - st.lastSRAt) * 65536 / int64(time.Second))
	}
	return rb, true
}

type receptionBlock struct {
	ssrc     uint32
	fraction uint8
	lost     uint32
	extMax   uint32
	jitter   uint32
	lsr      uint32
	dlsr     uint32
}

// estimateMOS is the simplified ITU-T G.107 E-model commonly used for VoIP
// monitoring: G.711 starts at R = 93.2; delay (one way, plus a jitter
// buffer estimated as twice the jitter, plus 10 ms of codec delay) and loss
// (2.5 R points per percent) reduce it; R maps to MOS with the G.107
// formula.
func estimateMOS(lossPct, jitterMs, latencyMs float64) float64 {
	eff := latencyMs + 2*jitterMs + 10
	var r float64
	if eff < 160 {
		r = 93.2 - eff/40
	} else {
		r = 93.2 - (eff-120)/10
	}
	r -= 2.5 * lossPct
	r = min(max(r, 0), 100)
	mos := 1 + 0.035*r + 0.000007*r*(r-60)*(100-r)
	return min(max(mos, 1), 4.5)
}
