package auth_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"hotline/auth"
)

func cheapHasher(t *testing.T) *auth.Hasher {
	t.Helper()
	h, err := auth.NewHasher(auth.CheapParams())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHashFormatAndVerify(t *testing.T) {
	ctx := context.Background()
	h := cheapHasher(t)
	enc, err := h.Hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	phc := regexp.MustCompile(`^\$argon2id\$v=19\$m=1024,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !phc.MatchString(enc) {
		t.Fatalf("hash %q is not the expected PHC string", enc)
	}
	p, salt, key, err := auth.ParseHash(enc)
	if err != nil || p != auth.CheapParams() || len(salt) != 16 || len(key) != 32 {
		t.Fatalf("ParseHash = %+v %d %d %v", p, len(salt), len(key), err)
	}
	if ok, err := h.Verify(ctx, "correct horse", enc); !ok || err != nil {
		t.Fatalf("right password: %v, %v", ok, err)
	}
	for _, wrong := range []string{"correct horsE", "correct horse ", "", strings.Repeat("x", auth.MaxPasswordLen+1)} {
		if ok, err := h.Verify(ctx, wrong, enc); ok || err != nil {
			t.Fatalf("wrong password %q: %v, %v", wrong, ok, err)
		}
	}
	again, _ := h.Hash(ctx, "correct horse")
	if again == enc {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
	// A hash keeps verifying after the hasher's parameters change.
	strong, err := auth.NewHasher(auth.Params{Memory: 2048, Time: 2, Threads: 2, SaltLen: 16, KeyLen: 32})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := strong.Verify(ctx, "correct horse", enc); !ok || err != nil {
		t.Fatalf("verify with other parameters: %v, %v", ok, err)
	}
	if _, err := h.Hash(ctx, strings.Repeat("x", auth.MaxPasswordLen+1)); err == nil {
		t.Fatal("hashed an over-long password")
	}
}

func TestParseHashErrors(t *testing.T) {
	const salt, key = "c2FsdHNhbHRzYWx0c2FsdA", "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"
	good := "$argon2id$v=19$m=1024,t=1,p=1$" + salt + "$" + key
	if _, _, _, err := auth.ParseHash(good); err != nil {
		t.Fatalf("good hash: %v", err)
	}
	for name, bad := range map[string]string{
		"empty":            "",
		"bcrypt":           "$2a$10$abcdefghijklmnopqrstuv",
		"argon2i":          "$argon2i$v=19$m=1024,t=1,p=1$" + salt + "$" + key,
		"old version":      "$argon2id$v=16$m=1024,t=1,p=1$" + salt + "$" + key,
		"no version":       "$argon2id$m=1024,t=1,p=1$" + salt + "$" + key,
		"params reordered": "$argon2id$v=19$t=1,m=1024,p=1$" + salt + "$" + key,
		"param missing":    "$argon2id$v=19$m=1024,t=1$" + salt + "$" + key,
		"param not number": "$argon2id$v=19$m=lots,t=1,p=1$" + salt + "$" + key,
		"negative":         "$argon2id$v=19$m=1024,t=-1,p=1$" + salt + "$" + key,
		"overflow":         "$argon2id$v=19$m=4294967296,t=1,p=1$" + salt + "$" + key,
		"memory too big":   "$argon2id$v=19$m=4194304,t=1,p=1$" + salt + "$" + key,
		"memory too small": "$argon2id$v=19$m=4,t=1,p=1$" + salt + "$" + key,
		"zero time":        "$argon2id$v=19$m=1024,t=0,p=1$" + salt + "$" + key,
		"zero threads":     "$argon2id$v=19$m=1024,t=1,p=0$" + salt + "$" + key,
		"too many threads": "$argon2id$v=19$m=1024,t=1,p=300$" + salt + "$" + key,
		"salt not base64":  "$argon2id$v=19$m=1024,t=1,p=1$!!!$" + key,
		"padded salt":      "$argon2id$v=19$m=1024,t=1,p=1$" + salt + "==$" + key,
		"short salt":       "$argon2id$v=19$m=1024,t=1,p=1$YWJj$" + key,
		"short key":        "$argon2id$v=19$m=1024,t=1,p=1$" + salt + "$YWJj",
		"extra field":      good + "$x",
	} {
		if _, _, _, err := auth.ParseHash(bad); err == nil {
			t.Errorf("%s: ParseHash(%q) succeeded", name, bad)
		}
		// A damaged hash never matches, whatever the password.
		if ok, err := cheapHasher(t).Verify(context.Background(), "pw", bad); ok || err == nil {
			t.Errorf("%s: Verify = %v, %v", name, ok, err)
		}
	}
}

func TestNewHasherRejectsBadParams(t *testing.T) {
	for _, p := range []auth.Params{
		{},
		{Memory: 1024, Time: 0, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 1024, Time: 1, Threads: 1, SaltLen: 4, KeyLen: 32},
		{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 8},
		{Memory: 8, Time: 1, Threads: 2, SaltLen: 16, KeyLen: 32},
	} {
		if _, err := auth.NewHasher(p); err == nil {
			t.Errorf("NewHasher(%+v) succeeded", p)
		}
	}
}

// TestDefaultParamsCost documents what a production hash costs here; the
// target is 50-100 ms on the 2-core servers.
func TestDefaultParamsCost(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	h, err := auth.NewHasher(auth.DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	enc, err := h.Hash(context.Background(), "password")
	if err != nil {
		t.Fatal(err)
	}
	best := time.Hour
	for range 3 {
		start := time.Now()
		if ok, _ := h.Verify(context.Background(), "password", enc); !ok {
			t.Fatal("verify failed")
		}
		best = min(best, time.Since(start))
	}
	t.Logf("argon2id %s: %v per verification", strings.Join(strings.Split(enc, "$")[1:4], "$"), best)
	if best < 10*time.Millisecond {
		t.Fatalf("a production hash takes only %v: too cheap to slow guessing", best)
	}
}
