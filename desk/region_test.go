package desk

import (
	"context"
	"testing"
	"time"

	"hotline/queue"
)

// The offer message carries the caller's region; a profile's regions ride
// in its skills (queue.RegionSkill) and log in fine.
func TestOfferCarriesRegion(t *testing.T) {
	rt := startRuntime(t)
	d := New(Config{Grace: 100 * time.Millisecond})
	defer d.Close()
	ctx := context.Background()
	out := newFakeOut()
	s, err := d.Open(ctx, rt, Identity{ID: "u1", Username: "alice", Tenant: "t1"},
		Profile{Queues: []string{"general"}, Skills: map[string]int{queue.RegionSkill("west"): 1}}, out)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out.wait(t, "hello", nil)
	if err := s.a.Offer(ctx, queue.OfferInfo{CallID: "c1", Caller: "+15551234", Queue: "general", Region: "west"}); err != nil {
		t.Fatal(err)
	}
	if m := out.wait(t, "offer", nil); m["region"] != "west" || m["call"] != "c1" {
		t.Fatalf("offer = %v", m)
	}
}
