package main

import (
	"context"
	"testing"

	"hotline/auth"
)

// TestDemoUserHashes: the hashes shipped with the demo accounts are
// hashes of their documented passwords, as strong as new ones.
func TestDemoUserHashes(t *testing.T) {
	h, err := auth.NewHasher(auth.DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	for _, tenant := range []string{"demo", "acme"} {
		for _, u := range demoUsers(tenant) {
			p, _, _, err := auth.ParseHash(u.PasswordHash)
			if err != nil {
				t.Fatalf("%s/%s: %v", tenant, u.Username, err)
			}
			if want := auth.DefaultParams(); p.Memory < want.Memory || p.Time < want.Time {
				t.Errorf("%s/%s: hash parameters %+v weaker than %+v", tenant, u.Username, p, want)
			}
			if ok, err := h.Verify(context.Background(), u.Password, u.PasswordHash); err != nil || !ok {
				t.Errorf("%s/%s: the shipped hash does not verify %q (%v)", tenant, u.Username, u.Password, err)
			}
		}
	}
}
