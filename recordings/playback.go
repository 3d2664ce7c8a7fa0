package recordings

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// decryptReader presents an encrypted recording as the WAV file it holds,
// decrypting one chunk at a time, so http.ServeContent can answer range
// requests without the plaintext ever touching the disk. Seeking is
// arithmetic: every chunk but the last has the same sealed size.
type decryptReader struct {
	f          *os.File
	cc         *chunkCrypto
	header     [wavHeaderSize]byte
	dataLen    int64 // PCM bytes
	full       int64 // whole chunks
	lastSealed int64 // sealed size of a short final chunk, 0 if none
	pos        int64
	cur        int64 // index of the chunk in plain, -1 for none
	plain      []byte
	sealed     []byte
}

func (m *Manager) newDecryptReader(tenant string, f *os.File) (*decryptReader, error) {
	var hb [encHeaderSize]byte
	if _, err := io.ReadFull(f, hb[:]); err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	h, err := parseEncHeader(hb[:])
	if err != nil {
		return nil, err
	}
	cc, err := m.cryptoFor(tenant, h)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat: %w", err)
	}
	d := &decryptReader{f: f, cc: cc, cur: -1, plain: make([]byte, 0, chunkPlain), sealed: make([]byte, chunkSealed)}
	d.full, d.lastSealed = encLayout(st.Size())
	d.dataLen = d.full * chunkPlain
	if d.lastSealed > 0 {
		d.dataLen += d.lastSealed - gcmOverhead
	}
	if d.dataLen > maxWAVData {
		return nil, errors.New("recording longer than a WAV file can hold")
	}
	d.header = wavHeader(uint32(d.dataLen))
	return d, nil
}

// cryptoFor finds the tenant's key named by the header.
func (m *Manager) cryptoFor(tenant string, h *encHeader) (*chunkCrypto, error) {
	k := m.keys[tenant]
	if k == nil {
		return nil, fmt.Errorf("encrypted with key %s, but tenant %s has no key configured", h.keyID, tenant)
	}
	if k.id != h.keyID {
		return nil, fmt.Errorf("encrypted with key %s, but tenant %s's key is %s", h.keyID, tenant, k.id)
	}
	aead, err := fileAEAD(k.key, h)
	if err != nil {
		return nil, err
	}
	return newChunkCrypto(aead, h), nil
}

// Size is the length of the WAV stream.
func (d *decryptReader) Size() int64 { return wavHeaderSize + d.dataLen }

func (d *decryptReader) Read(p []byte) (int, error) {
	if d.pos >= d.Size() {
		return 0, io.EOF
	}
	if d.pos < wavHeaderSize {
		n := copy(p, d.header[d.pos:])
		d.pos += int64(n)
		return n, nil
	}
	off := d.pos - wavHeaderSize
	ci := off / chunkPlain
	if err := d.load(ci); err != nil {
		return 0, err
	}
	n := copy(p, d.plain[off-ci*chunkPlain:])
	d.pos += int64(n)
	return n, nil
}

func (d *decryptReader) load(ci int64) error {
	if d.cur == ci {
		return nil
	}
	n := int64(chunkSealed)
	if ci == d.full {
		n = d.lastSealed
	}
	buf := d.sealed[:n]
	if _, err := d.f.ReadAt(buf, encHeaderSize+ci*chunkSealed); err != nil {
		return fmt.Errorf("recordings: read chunk %d: %w", ci, err)
	}
	plain, err := d.cc.open(d.plain[:0], buf, uint64(ci))
	if err != nil {
		d.cur = -1
		return fmt.Errorf("recordings: decrypt: %w", err)
	}
	d.plain, d.cur = plain, ci
	return nil
}

func (d *decryptReader) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = d.pos + offset
	case io.SeekEnd:
		abs = d.Size() + offset
	default:
		return 0, errors.New("recordings: seek: bad whence")
	}
	if abs < 0 {
		return 0, errors.New("recordings: seek: negative position")
	}
	d.pos = abs
	return abs, nil
}

func (d *decryptReader) Close() error { return d.f.Close() }
