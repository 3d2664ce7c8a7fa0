package web

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestChatAddrLimit: one address holds at most per_address chats and
// starts at most that many in a burst, refilled at twice that per minute;
// other addresses and other tenants are not affected.
func TestChatAddrLimit(t *testing.T) {
	var l chatAddrLimit
	now := time.Unix(1_800_000_000, 0)
	r := httptest.NewRequest("GET", "/chat/ws", nil)
	r.RemoteAddr = "192.0.2.7:50000"
	var releases []func()
	for i := range 3 {
		rel, why := l.take(r, "demo", 3, now)
		if rel == nil {
			t.Fatalf("chat %d refused: %s", i+1, why)
		}
		releases = append(releases, rel)
	}
	if rel, why := l.take(r, "demo", 3, now); rel != nil || !strings.Contains(why, "too many chats open") {
		t.Fatalf("a 4th open chat: admitted=%v %q", rel != nil, why)
	}
	other := httptest.NewRequest("GET", "/chat/ws", nil)
	other.RemoteAddr = "198.51.100.9:40000"
	if rel, why := l.take(other, "demo", 3, now); rel == nil {
		t.Fatalf("another address refused: %s", why)
	}
	if rel, why := l.take(r, "acme", 3, now); rel == nil {
		t.Fatalf("the same address on another tenant refused: %s", why)
	}
	releases[0]()
	releases[0]() // twice is once
	if rel, why := l.take(r, "demo", 3, now); rel != nil || !strings.Contains(why, "wait a minute") {
		t.Fatalf("a slot free but the burst spent: admitted=%v %q", rel != nil, why)
	}
	if rel, why := l.take(r, "demo", 3, now.Add(30*time.Second)); rel == nil {
		t.Fatalf("after 30 s (3 starts refilled): %s", why)
	}
}
