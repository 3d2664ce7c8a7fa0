package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id's cost parameters. They are written into every hash,
// so changing them affects new hashes only and old ones keep verifying.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over the memory
	Threads uint8
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultParams is the production setting: RFC 9106's second recommended
// option (64 MiB, 3 passes) with 2 lanes, about 60 ms on a 2-core server.
// The memory cost, not the time, is what makes GPU guessing expensive.
func DefaultParams() Params {
	return Params{Memory: 64 * 1024, Time: 3, Threads: 2, SaltLen: 16, KeyLen: 32}
}

// CheapParams costs well under a millisecond. It is for tests only: a hash
// made with it falls to brute force quickly.
func CheapParams() Params {
	return Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// Limits on parameters read back from stored hashes, so a tampered or
// corrupt row cannot make one login allocate gigabytes or spin for minutes.
const (
	maxMemoryKiB = 1 << 20 // 1 GiB
	maxTime      = 64
	maxThreads   = 64
	minSaltLen   = 8
	maxSaltLen   = 64
	minKeyLen    = 16
	maxKeyLen    = 64
)

// MaxPasswordLen bounds the input: argon2 would accept megabytes, and a
// request body of them would be hashed before it could be refused.
const MaxPasswordLen = 1024

func (p Params) validate() error {
	switch {
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("t=%d: want 1-%d", p.Time, maxTime)
	case p.Threads < 1 || p.Threads > maxThreads:
		return fmt.Errorf("p=%d: want 1-%d", p.Threads, maxThreads)
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemoryKiB:
		// argon2 needs at least 8 KiB per lane.
		return fmt.Errorf("m=%d: want %d-%d KiB", p.Memory, 8*uint32(p.Threads), maxMemoryKiB)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("salt of %d bytes: want %d-%d", p.SaltLen, minSaltLen, maxSaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("hash of %d bytes: want %d-%d", p.KeyLen, minKeyLen, maxKeyLen)
	}
	return nil
}

// Hasher hashes and verifies passwords with argon2id.
type Hasher struct {
	params Params
	// slots bounds concurrent hashes: each holds Params.Memory for its
	// duration, and a burst of logins must not exhaust RAM. Past the number
	// of cores more parallelism only adds latency anyway.
	slots chan struct{}
	// dummy is verified against when the user does not exist, so that an
	// unknown username costs as much as a wrong password and response times
	// do not reveal which usernames exist.
	dummy string
}

// NewHasher returns a Hasher making hashes with p.
func NewHasher(p Params) (*Hasher, error) {
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("auth: argon2id parameters: %w", err)
	}
	h := &Hasher{params: p, slots: make(chan struct{}, max(1, runtime.NumCPU()))}
	salt, key := make([]byte, p.SaltLen), make([]byte, p.KeyLen)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("auth: dummy hash: %w", err)
	}
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("auth: dummy hash: %w", err)
	}
	h.dummy = encodeHash(p, salt, key)
	return h, nil
}

// Params returns the parameters new hashes are made with.
func (h *Hasher) Params() Params { return h.params }

// Hash returns password's PHC string:
// $argon2id$v=19$m=65536,t=3,p=2$<salt>$<hash> (unpadded standard base64).
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if len(password) > MaxPasswordLen {
		return "", fmt.Errorf("auth: hash password: longer than %d bytes", MaxPasswordLen)
	}
	salt := make([]byte, h.params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: hash password: salt: %w", err)
	}
	key, err := h.derive(ctx, password, h.params, salt)
	if err != nil {
		return "", fmt.Errorf("auth: hash password: %w", err)
	}
	return encodeHash(h.params, salt, key), nil
}

// Verify reports whether password matches the PHC string encoded, using
// the parameters recorded in it. A malformed encoded is an error, never a
// match.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (bool, error) {
	p, salt, want, err := ParseHash(encoded)
	if err != nil {
		return false, err
	}
	if len(password) > MaxPasswordLen {
		return false, nil
	}
	got, err := h.derive(ctx, password, p, salt)
	if err != nil {
		return false, fmt.Errorf("auth: verify password: %w", err)
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// verifyDummy spends what verifying a real user's password would.
func (h *Hasher) verifyDummy(ctx context.Context, password string) error {
	_, err := h.Verify(ctx, password, h.dummy)
	return err
}

func (h *Hasher) derive(ctx context.Context, password string, p Params, salt []byte) ([]byte, error) {
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for a hashing slot: %w", context.Cause(ctx))
	}
	defer func() { <-h.slots }()
	return argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen), nil
}

func encodeHash(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// ParseHash decodes an argon2id PHC string. It is strict (parameters in
// the order m, t, p; version 19; no padding) because the strings are only
// ever made by Hash, and anything else in the column is a sign of damage.
func ParseHash(encoded string) (p Params, salt, key []byte, err error) {
	fail := func(format string, args ...any) (Params, []byte, []byte, error) {
		return Params{}, nil, nil, fmt.Errorf("auth: parse password hash: "+format, args...)
	}
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" {
		return fail("want $argon2id$v=19$m=..,t=..,p=..$salt$hash, got %d fields", len(parts)-1)
	}
	if parts[1] != "argon2id" {
		return fail("algorithm %q: want argon2id", parts[1])
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return fail("version %q: want v=%d", parts[2], argon2.Version)
	}
	kv := strings.Split(parts[3], ",")
	if len(kv) != 3 {
		return fail("parameters %q: want m=..,t=..,p=..", parts[3])
	}
	var vals [3]uint64
	for i, name := range []string{"m", "t", "p"} {
		k, v, ok := strings.Cut(kv[i], "=")
		if !ok || k != name {
			return fail("parameter %d %q: want %s=N", i+1, kv[i], name)
		}
		// Bit size 32 rejects values that would silently wrap in uint32.
		n, perr := strconv.ParseUint(v, 10, 32)
		if perr != nil {
			return fail("parameter %s=%q: %v", name, v, perr)
		}
		vals[i] = n
	}
	if vals[2] > maxThreads {
		return fail("p=%d: want 1-%d", vals[2], maxThreads)
	}
	p = Params{Memory: uint32(vals[0]), Time: uint32(vals[1]), Threads: uint8(vals[2])}
	if salt, err = base64.RawStdEncoding.Strict().DecodeString(parts[4]); err != nil {
		return fail("salt: %v", err)
	}
	if key, err = base64.RawStdEncoding.Strict().DecodeString(parts[5]); err != nil {
		return fail("hash: %v", err)
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	if err := p.validate(); err != nil {
		return fail("%v", err)
	}
	return p, salt, key, nil
}
