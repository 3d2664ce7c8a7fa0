package chat

import (
	"fmt"
	"slices"
	"testing"
)

func assigned(as []assignment) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.chat+">"+a.agent)
	}
	return out
}

func TestRouterCapacityAndOrder(t *testing.T) {
	r := newRouter(3)
	r.setAgent("alice", []string{"cards"}, true)
	for i := 1; i <= 5; i++ {
		r.enqueue(fmt.Sprint("c", i), "cards")
	}
	got := assigned(r.dispatch(nil))
	want := []string{"c1>alice", "c2>alice", "c3>alice"}
	if !slices.Equal(got, want) {
		t.Fatalf("assigned %v, want %v", got, want)
	}
	if p := r.position("c5"); p != 2 {
		t.Errorf("c5 at %d, want 2", p)
	}
	// A chat ending frees one place: the oldest waiting chat takes it.
	r.release("alice")
	if got := assigned(r.dispatch(nil)); !slices.Equal(got, []string{"c4>alice"}) {
		t.Errorf("after a release: %v", got)
	}
}

func TestRouterFewestThenLongestSinceLast(t *testing.T) {
	r := newRouter(3)
	r.setAgent("alice", []string{"cards"}, true)
	r.setAgent("bob", []string{"cards", "accounts"}, true)
	r.setAgent("carol", []string{"accounts"}, true)
	for i := 1; i <= 4; i++ {
		r.enqueue(fmt.Sprint("c", i), "cards")
	}
	// alice became eligible first: she gets the first; then fewest open.
	got := assigned(r.dispatch(nil))
	want := []string{"c1>alice", "c2>bob", "c3>alice", "c4>bob"}
	if !slices.Equal(got, want) {
		t.Fatalf("assigned %v, want %v", got, want)
	}
	// A queue no agent has room in does not hold up another queue.
	r.setEligible("carol", false)
	r.enqueue("x1", "accounts")
	r.enqueue("c5", "cards")
	r.enqueue("c6", "cards")
	got = assigned(r.dispatch(nil))
	if !slices.Equal(got, []string{"x1>bob", "c5>alice"}) {
		t.Errorf("assigned %v, want x1 to bob, c5 to alice, c6 waiting (both full)", got)
	}
	if p := r.position("c6"); p != 1 {
		t.Errorf("c6 at %d", p)
	}
}

func TestRouterIneligibleAndRequeueFront(t *testing.T) {
	r := newRouter(2)
	r.setAgent("alice", []string{"cards"}, false) // on break
	r.enqueue("c1", "cards")
	r.enqueue("c2", "cards")
	if got := r.dispatch(nil); len(got) != 0 {
		t.Fatalf("an agent on break got %v", got)
	}
	r.setAgent("bob", []string{"cards"}, true)
	if got := assigned(r.dispatch(nil)); !slices.Equal(got, []string{"c1>bob", "c2>bob"}) {
		t.Fatalf("assigned %v", got)
	}
	r.enqueue("c3", "cards")
	// bob logs out: his chats go ahead of c3, in their order.
	r.removeAgent("bob")
	r.requeueFront([]waiting{{"c1", "cards"}, {"c2", "cards"}})
	r.setEligible("alice", true)
	if got := assigned(r.dispatch(nil)); !slices.Equal(got, []string{"c1>alice", "c2>alice"}) {
		t.Fatalf("after the re-queue: %v", got)
	}
	if !r.withdraw("c3") || r.withdraw("c3") || len(r.line) != 0 {
		t.Errorf("withdraw: line %v", r.line)
	}
}
