package media

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// maxWAVBytes bounds what LoadWAV reads: prompts are loaded whole into
// memory, and a mistakenly configured multi-gigabyte file should fail
// with an error rather than take the node down. 256 MB is hours of audio.
const maxWAVBytes = 256 << 20

const (
	wavFormatPCM        = 0x0001
	wavFormatFloat      = 0x0003
	wavFormatALaw       = 0x0006
	wavFormatULaw       = 0x0007
	wavFormatExtensible = 0xFFFE
)

// ErrBadWAV is wrapped by every LoadWAV error caused by the file's content
// (as opposed to I/O), so callers can tell a bad upload from a missing file.
var ErrBadWAV = errors.New("invalid WAV file")

// LoadWAV reads a RIFF/WAVE file and returns it as an 8 kHz mono Prompt.
// Supported: integer PCM (8, 16, 24, 32 bit), IEEE float (32, 64 bit),
// G.711 µ-law and A-law, plain or WAVE_FORMAT_EXTENSIBLE, any channel count
// (averaged to mono) and any sample rate (resampled with a low-pass filter).
func LoadWAV(path string) (*Prompt, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("media: load WAV: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxWAVBytes+1))
	if err != nil {
		return nil, fmt.Errorf("media: load WAV %s: %w", path, err)
	}
	if len(data) > maxWAVBytes {
		return nil, fmt.Errorf("media: load WAV %s: %w: larger than %d bytes", path, ErrBadWAV, maxWAVBytes)
	}
	mono, rate, err := decodeWAV(data)
	if err != nil {
		return nil, fmt.Errorf("media: load WAV %s: %w", path, err)
	}
	return newPrompt(toInt16(resample(mono, rate, sampleRate))), nil
}

type wavFormat struct {
	tag        uint16
	channels   int
	rate       int
	blockAlign int
	bits       int
}

// decodeWAV returns the audio as one channel in 16-bit scale (float so that
// resampling does not requantise twice) and its sample rate.
func decodeWAV(b []byte) ([]float64, int, error) {
	if len(b) < 12 {
		return nil, 0, fmt.Errorf("%w: %d bytes is too short for a RIFF header", ErrBadWAV, len(b))
	}
	switch string(b[0:4]) {
	case "RIFF":
	case "RIFX", "RF64":
		return nil, 0, fmt.Errorf("%w: %s container is not supported, only little-endian RIFF", ErrBadWAV, b[0:4])
	default:
		return nil, 0, fmt.Errorf("%w: not a RIFF file", ErrBadWAV)
	}
	if string(b[8:12]) != "WAVE" {
		return nil, 0, fmt.Errorf("%w: RIFF type %q is not WAVE", ErrBadWAV, b[8:12])
	}

	var (
		fmtc    *wavFormat
		payload []byte
		hasData bool
	)
	for off := 12; off+8 <= len(b); {
		id := string(b[off : off+4])
		size := int(binary.LittleEndian.Uint32(b[off+4 : off+8]))
		body := b[off+8:]
		if size < 0 || size > len(body) {
			if id != "data" {
				return nil, 0, fmt.Errorf("%w: chunk %q claims %d bytes, only %d left", ErrBadWAV, id, size, len(body))
			}
			// Streaming writers leave the data size at 0 or 0xFFFFFFFF, and
			// truncated uploads are common: play what is there.
			size = len(body)
		}
		body = body[:size]
		switch id {
		case "fmt ":
			f, err := parseFmt(body)
			if err != nil {
				return nil, 0, err
			}
			fmtc = &f
		case "data":
			payload, hasData = body, true
		}
		if hasData && fmtc != nil {
			break
		}
		off += 8 + size + size&1 // chunks are padded to even sizes
	}
	if fmtc == nil {
		return nil, 0, fmt.Errorf("%w: no fmt chunk", ErrBadWAV)
	}
	if !hasData {
		return nil, 0, fmt.Errorf("%w: no data chunk", ErrBadWAV)
	}
	frames := len(payload) / fmtc.blockAlign
	if frames == 0 {
		return nil, 0, fmt.Errorf("%w: no audio samples", ErrBadWAV)
	}
	return downmix(payload[:frames*fmtc.blockAlign], fmtc, frames), fmtc.rate, nil
}

func parseFmt(b []byte) (wavFormat, error) {
	if len(b) < 16 {
		return wavFormat{}, fmt.Errorf("%w: fmt chunk is %d bytes, need 16", ErrBadWAV, len(b))
	}
	f := wavFormat{
		tag:        binary.LittleEndian.Uint16(b[0:2]),
		channels:   int(binary.LittleEndian.Uint16(b[2:4])),
		rate:       int(binary.LittleEndian.Uint32(b[4:8])),
		blockAlign: int(binary.LittleEndian.Uint16(b[12:14])),
		bits:       int(binary.LittleEndian.Uint16(b[14:16])),
	}
	if f.tag == wavFormatExtensible {
		if len(b) < 26 {
			return wavFormat{}, fmt.Errorf("%w: WAVE_FORMAT_EXTENSIBLE fmt chunk is %d bytes, need 26", ErrBadWAV, len(b))
		}
		// The first two bytes of the sub-format GUID are the classic tag.
		f.tag = binary.LittleEndian.Uint16(b[24:26])
	}
	if f.channels < 1 || f.channels > 32 {
		return wavFormat{}, fmt.Errorf("%w: %d channels", ErrBadWAV, f.channels)
	}
	if f.rate < 1000 || f.rate > 768000 {
		return wavFormat{}, fmt.Errorf("%w: sample rate %d Hz out of range", ErrBadWAV, f.rate)
	}
	ok := false
	switch f.tag {
	case wavFormatPCM:
		ok = f.bits == 8 || f.bits == 16 || f.bits == 24 || f.bits == 32
	case wavFormatFloat:
		ok = f.bits == 32 || f.bits == 64
	case wavFormatALaw, wavFormatULaw:
		ok = f.bits == 8
	}
	if !ok {
		return wavFormat{}, fmt.Errorf("%w: unsupported encoding (format tag 0x%04x, %d bits); use PCM, float or G.711", ErrBadWAV, f.tag, f.bits)
	}
	if want := f.channels * f.bits / 8; f.blockAlign != want {
		return wavFormat{}, fmt.Errorf("%w: block align %d, expected %d for %d channels of %d bits", ErrBadWAV, f.blockAlign, want, f.channels, f.bits)
	}
	return f, nil
}

func downmix(data []byte, f *wavFormat, frames int) []float64 {
	out := make([]float64, frames)
	bps := f.bits / 8
	scale := 1 / float64(f.channels)
	for i := range frames {
		frame := data[i*f.blockAlign:]
		var acc float64
		for c := range f.channels {
			acc += sampleAt(frame[c*bps:], f)
		}
		out[i] = acc * scale
	}
	return out
}

// sampleAt returns one sample in 16-bit scale.
func sampleAt(b []byte, f *wavFormat) float64 {
	switch f.tag {
	case wavFormatULaw:
		return float64(ulawDecTable[b[0]])
	case wavFormatALaw:
		return float64(alawDecTable[b[0]])
	case wavFormatFloat:
		if f.bits == 32 {
			return float64(math.Float32frombits(binary.LittleEndian.Uint32(b))) * 32768
		}
		return math.Float64frombits(binary.LittleEndian.Uint64(b)) * 32768
	}
	switch f.bits {
	case 8:
		return float64(int(b[0])-128) * 256
	case 16:
		return float64(int16(binary.LittleEndian.Uint16(b)))
	case 24:
		v := int32(uint32(b[0])<<8|uint32(b[1])<<16|uint32(b[2])<<24) >> 8
		return float64(v) / 256
	default:
		return float64(int32(binary.LittleEndian.Uint32(b))) / 65536
	}
}

// EncodeWAV returns a 16-bit mono RIFF/WAVE file of samples at rate; handy
// for recordings and for writing test fixtures.
func EncodeWAV(samples []int16, rate int) []byte {
	n := len(samples) * 2
	b := make([]byte, 44+n)
	copy(b[0:], "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+n))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], wavFormatPCM)
	binary.LittleEndian.PutUint16(b[22:], 1)
	binary.LittleEndian.PutUint32(b[24:], uint32(rate))
	binary.LittleEndian.PutUint32(b[28:], uint32(rate*2))
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(n))
	for i, s := range samples {
		binary.LittleEndian.PutUint16(b[44+2*i:], uint16(s))
	}
	return b
}
