package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestIsTransient(t *testing.T) {
	cases := []struct {
		err  error
		want bool
	}{
		{&pgconn.PgError{Code: "57P01"}, true}, // admin shutdown
		{&pgconn.PgError{Code: "08006"}, true}, // connection failure
		{&pgconn.PgError{Code: "40P01"}, true}, // deadlock
		{&pgconn.PgError{Code: "53300"}, true}, // too many connections
		{&pgconn.PgError{Code: "42P01"}, true}, // table missing: not migrated yet
		{&pgconn.PgError{Code: "23503"}, false},
		{&pgconn.PgError{Code: "23514"}, false},
		{&pgconn.PgError{Code: "22021"}, false},
		{fmt.Errorf("write: %w", &pgconn.PgError{Code: "23505"}), false},
		{io.ErrUnexpectedEOF, true},
		{context.DeadlineExceeded, true},
		{errors.New("dial tcp: connection refused"), true},
	}
	for _, c := range cases {
		if got := isTransient(c.err); got != c.want {
			t.Errorf("isTransient(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

func TestValidSlug(t *testing.T) {
	for s, want := range map[string]bool{
		"demo": true, "acme-2": true, "a_b": true, "9lives": true,
		"": false, "-x": false, "Demo": false, "a b": false, "ä": false,
		"a123456789012345678901234567890123456789012345678901234567890123": false,
	} {
		if got := validSlug(s); got != want {
			t.Errorf("validSlug(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestLoadMigrations(t *testing.T) {
	migs, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(migs) == 0 || migs[0].version != 1 {
		t.Fatalf("migrations = %+v", migs)
	}
	for i := 1; i < len(migs); i++ {
		if migs[i].version <= migs[i-1].version {
			t.Fatalf("migrations out of order: %d after %d", migs[i].version, migs[i-1].version)
		}
	}
}

func TestCleanText(t *testing.T) {
	if got := cleanText("a\x00b\xffc"); got != "ab\uFFFDc" {
		t.Fatalf("cleanText = %q", got)
	}
	if got := cleanText("plain"); got != "plain" {
		t.Fatalf("cleanText = %q", got)
	}
}

func TestDecodeData(t *testing.T) {
	if got := decodeData([]byte(`{"a":"1"}`)); got["a"] != "1" {
		t.Fatalf("flat: %v", got)
	}
	if got := decodeData([]byte(`{"a":1,"b":{"c":true}}`)); got["a"] != "1" || got["b"] != `{"c":true}` {
		t.Fatalf("loose: %v", got)
	}
	if got := decodeData([]byte(`{}`)); got != nil {
		t.Fatalf("empty: %v", got)
	}
}
