package recordings

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// The audio format is fixed: the media path is G.711 at 8 kHz, so a wider
// format would only store interpolated samples.
const (
	SampleRate   = 8000
	Channels     = 2   // left: caller, right: agent
	FrameSamples = 160 // one 20 ms frame per channel
	// sampleBytes is one stereo sample frame (WAV "block align").
	sampleBytes  = Channels * 2
	frameBytes   = FrameSamples * sampleBytes // 640: one 20 ms stereo frame
	samplesPerMs = SampleRate / 1000

	wavHeaderSize = 44
	// maxWAVData keeps the RIFF sizes inside 32 bits (about 37 hours).
	maxWAVData = 0xFFFFFFFF - 36
)

// wavHeader is the canonical 44-byte header of 16-bit stereo PCM at 8 kHz
// with dataLen bytes of samples. The two length fields (at 4 and 40) are
// the only ones that change as the file grows.
func wavHeader(dataLen uint32) [wavHeaderSize]byte {
	var h [wavHeaderSize]byte
	copy(h[0:], "RIFF")
	binary.LittleEndian.PutUint32(h[4:], 36+dataLen)
	copy(h[8:], "WAVE")
	copy(h[12:], "fmt ")
	binary.LittleEndian.PutUint32(h[16:], 16) // fmt chunk size
	binary.LittleEndian.PutUint16(h[20:], 1)  // PCM
	binary.LittleEndian.PutUint16(h[22:], Channels)
	binary.LittleEndian.PutUint32(h[24:], SampleRate)
	binary.LittleEndian.PutUint32(h[28:], SampleRate*sampleBytes) // byte rate
	binary.LittleEndian.PutUint16(h[32:], sampleBytes)            // block align
	binary.LittleEndian.PutUint16(h[34:], 16)                     // bits per sample
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], dataLen)
	return h
}

// checkWAVHeader accepts only the header this package writes (the length
// fields aside): anything else in the recordings directory is not ours to
// repair or serve.
func checkWAVHeader(b []byte) error {
	if len(b) < wavHeaderSize {
		return errors.New("wav header: short file")
	}
	want := wavHeader(0)
	for _, r := range [][2]int{{0, 4}, {8, 40}} {
		if !bytes.Equal(b[r[0]:r[1]], want[r[0]:r[1]]) {
			return fmt.Errorf("wav header: bytes %d-%d are not 8 kHz 16-bit stereo PCM", r[0], r[1])
		}
	}
	return nil
}

// The encrypted format: a 64-byte plaintext header, then AES-256-GCM
// sealed chunks of chunkPlain bytes of PCM each (the last may be shorter).
//
//	0:4   magic "HLRC"          4     version (1)
//	5     channels (2)          6     bits per sample (16)
//	7     key id length         8:12  sample rate (LE)
//	12:16 chunk plaintext size  16:32 salt (random, per file)
//	32:40 nonce prefix (random) 40:64 key id (ASCII, zero padded)
//
// Each file has its own key, HKDF-SHA256(tenant key, salt), so nonces of
// different files can never collide under one key; the nonce is the
// prefix and the chunk's index (big-endian uint32). The additional data
// is the whole header followed by the chunk's index (big-endian uint64):
// a chunk cannot be moved to another position or another file, and the
// header cannot be edited, without failing authentication.
const (
	encMagic      = "HLRC"
	encVersion    = 1
	encHeaderSize = 64
	maxKeyIDLen   = 24
	// chunkPlain is half a second of audio: a crash loses at most the
	// chunk being filled, and seeking decrypts at most 16 kB to serve a
	// range.
	chunkPlain  = SampleRate / 2 * sampleBytes
	gcmOverhead = 16
	chunkSealed = chunkPlain + gcmOverhead
	// chunkFrames is how many 20 ms frames fill a chunk.
	chunkFrames = chunkPlain / frameBytes
	hkdfInfo    = "hotline recording v1"
)

type encHeader struct {
	raw    [encHeaderSize]byte
	keyID  string
	salt   []byte // raw[16:32]
	prefix []byte // raw[32:40]
}

func newEncHeader(keyID string, random []byte) (*encHeader, error) {
	if len(keyID) == 0 || len(keyID) > maxKeyIDLen {
		return nil, fmt.Errorf("key id %q: must be 1 to %d bytes", keyID, maxKeyIDLen)
	}
	if len(random) != 24 {
		return nil, errors.New("encrypted header: need 24 random bytes")
	}
	h := &encHeader{keyID: keyID}
	copy(h.raw[0:], encMagic)
	h.raw[4] = encVersion
	h.raw[5] = Channels
	h.raw[6] = 16
	h.raw[7] = byte(len(keyID))
	binary.LittleEndian.PutUint32(h.raw[8:], SampleRate)
	binary.LittleEndian.PutUint32(h.raw[12:], chunkPlain)
	copy(h.raw[16:40], random)
	copy(h.raw[40:], keyID)
	h.salt, h.prefix = h.raw[16:32], h.raw[32:40]
	return h, nil
}

func parseEncHeader(b []byte) (*encHeader, error) {
	if len(b) < encHeaderSize {
		return nil, errors.New("encrypted header: short file")
	}
	if string(b[0:4]) != encMagic {
		return nil, errors.New("encrypted header: bad magic")
	}
	if b[4] != encVersion {
		return nil, fmt.Errorf("encrypted header: unsupported version %d", b[4])
	}
	if b[5] != Channels || b[6] != 16 || binary.LittleEndian.Uint32(b[8:]) != SampleRate ||
		binary.LittleEndian.Uint32(b[12:]) != chunkPlain {
		return nil, errors.New("encrypted header: unsupported audio or chunk format")
	}
	n := int(b[7])
	if n == 0 || n > maxKeyIDLen {
		return nil, errors.New("encrypted header: bad key id length")
	}
	h := &encHeader{keyID: string(b[40 : 40+n])}
	copy(h.raw[:], b[:encHeaderSize])
	h.salt, h.prefix = h.raw[16:32], h.raw[32:40]
	return h, nil
}

// fileAEAD derives the file's key from the tenant's.
func fileAEAD(tenantKey []byte, h *encHeader) (cipher.AEAD, error) {
	k, err := hkdf.Key(sha256.New, tenantKey, h.salt, hkdfInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("derive file key: %w", err)
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, fmt.Errorf("file cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("file cipher: %w", err)
	}
	return aead, nil
}

// chunkCrypto holds the per-chunk nonce and additional data in buffers
// made once per file, so sealing a chunk allocates nothing.
type chunkCrypto struct {
	aead  cipher.AEAD
	nonce [12]byte
	ad    [encHeaderSize + 8]byte
}

func newChunkCrypto(aead cipher.AEAD, h *encHeader) *chunkCrypto {
	c := &chunkCrypto{aead: aead}
	copy(c.nonce[:8], h.prefix)
	copy(c.ad[:], h.raw[:])
	return c
}

func (c *chunkCrypto) set(idx uint64) {
	binary.BigEndian.PutUint32(c.nonce[8:], uint32(idx))
	binary.BigEndian.PutUint64(c.ad[encHeaderSize:], idx)
}

// seal appends the sealed chunk idx to dst.
func (c *chunkCrypto) seal(dst, plain []byte, idx uint64) []byte {
	c.set(idx)
	return c.aead.Seal(dst, c.nonce[:], plain, c.ad[:])
}

// open appends chunk idx's plaintext to dst, or fails when the chunk is
// torn, altered, moved or sealed under another key.
func (c *chunkCrypto) open(dst, sealed []byte, idx uint64) ([]byte, error) {
	c.set(idx)
	out, err := c.aead.Open(dst, c.nonce[:], sealed, c.ad[:])
	if err != nil {
		return nil, fmt.Errorf("chunk %d: %w", idx, err)
	}
	return out, nil
}

// encLayout splits an encrypted file's size into whole chunks and the
// length of a final short chunk (0 when none or when the tail is too short
// to be one).
func encLayout(size int64) (full int64, lastSealed int64) {
	body := size - encHeaderSize
	if body <= 0 {
		return 0, 0
	}
	full, rem := body/chunkSealed, body%chunkSealed
	if rem > gcmOverhead {
		return full, rem
	}
	return full, 0
}
