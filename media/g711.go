package media

// G.711 is table driven: every RTP packet of a transcoded stream encodes or
// decodes 160 samples, and a table lookup is several times cheaper than the
// segment search of the reference algorithm. The tables are built once from
// the ITU/Sun reference algorithms below, so the output is bit exact with
// them. They are constant data, not settings, so package-level is fine.

const (
	ulawBias = 0x84
	ulawClip = 8159 // 14-bit magnitude clip of the reference encoder
)

var (
	// Index: uint16(sample) >> 2. The reference encoder drops the two low
	// bits before quantising, so 14 bits address every distinct result.
	ulawEncTable [1 << 14]byte
	// Index: uint16(sample) >> 3 (A-law works on 13 bits).
	alawEncTable [1 << 13]byte
	ulawDecTable [256]int16
	alawDecTable [256]int16
)

func init() {
	for i := range ulawEncTable {
		ulawEncTable[i] = linearToULaw(int16(uint16(i) << 2))
	}
	for i := range alawEncTable {
		alawEncTable[i] = linearToALaw(int16(uint16(i) << 3))
	}
	for i := range 256 {
		ulawDecTable[i] = uLawToLinear(byte(i))
		alawDecTable[i] = aLawToLinear(byte(i))
	}
}

// EncodePCMU encodes min(len(dst), len(src)) samples to G.711 µ-law.
func EncodePCMU(dst []byte, src []int16) {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, s := range src {
		dst[i] = ulawEncTable[uint16(s)>>2]
	}
}

// DecodePCMU decodes min(len(dst), len(src)) G.711 µ-law bytes.
func DecodePCMU(dst []int16, src []byte) {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, b := range src {
		dst[i] = ulawDecTable[b]
	}
}

// EncodePCMA encodes min(len(dst), len(src)) samples to G.711 A-law.
func EncodePCMA(dst []byte, src []int16) {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, s := range src {
		dst[i] = alawEncTable[uint16(s)>>3]
	}
}

// DecodePCMA decodes min(len(dst), len(src)) G.711 A-law bytes.
func DecodePCMA(dst []int16, src []byte) {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, b := range src {
		dst[i] = alawDecTable[b]
	}
}

// silenceByte is the code for a zero sample, used to pad short frames so a
// partial last frame never carries stale bytes from a previous packet.
func silenceByte(pt PayloadType) byte {
	if pt == PTPCMA {
		return 0xD5
	}
	return 0xFF
}

func encode(pt PayloadType, dst []byte, src []int16) {
	if pt == PTPCMA {
		EncodePCMA(dst, src)
		return
	}
	EncodePCMU(dst, src)
}

func decode(pt PayloadType, dst []int16, src []byte) {
	if pt == PTPCMA {
		DecodePCMA(dst, src)
		return
	}
	DecodePCMU(dst, src)
}

// Reference algorithms (after the public-domain Sun Microsystems g711.c).

func linearToULaw(pcm int16) byte {
	v := int(pcm) >> 2 // 14-bit
	var mask byte
	if v < 0 {
		v = -v
		mask = 0x7F
	} else {
		mask = 0xFF
	}
	if v > ulawClip {
		v = ulawClip
	}
	v += ulawBias >> 2
	seg := segment(v, ulawSegEnd[:])
	if seg >= 8 {
		return 0x7F ^ mask
	}
	uval := byte(seg<<4) | byte((v>>(seg+1))&0x0F)
	return uval ^ mask
}

var ulawSegEnd = [8]int{0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF}
var alawSegEnd = [8]int{0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF}

func segment(v int, table []int) int {
	for i, e := range table {
		if v <= e {
			return i
		}
	}
	return len(table)
}

func uLawToLinear(u byte) int16 {
	u = ^u
	t := (int(u&0x0F) << 3) + ulawBias
	t <<= (u & 0x70) >> 4
	if u&0x80 != 0 {
		return int16(ulawBias - t)
	}
	return int16(t - ulawBias)
}

func linearToALaw(pcm int16) byte {
	v := int(pcm) >> 3 // 13-bit
	var mask byte
	if v >= 0 {
		mask = 0xD5
	} else {
		mask = 0x55
		v = -v - 1
	}
	seg := segment(v, alawSegEnd[:])
	if seg >= 8 {
		return 0x7F ^ mask
	}
	aval := byte(seg << 4)
	if seg < 2 {
		aval |= byte(v>>1) & 0x0F
	} else {
		aval |= byte(v>>seg) & 0x0F
	}
	return aval ^ mask
}

func aLawToLinear(a byte) int16 {
	a ^= 0x55
	t := int(a&0x0F) << 4
	seg := int(a&0x70) >> 4
	switch seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t += 0x108
		t <<= seg - 1
	}
	if a&0x80 != 0 {
		return int16(t)
	}
	return int16(-t)
}
