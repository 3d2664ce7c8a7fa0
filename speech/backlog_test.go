package speech

import "testing"

func TestBacklog(t *testing.T) {
	b := NewBacklog(5)
	if !b.Write([]int16{1, 2, 3}) || !b.Write([]int16{4, 5, 6, 7}) {
		t.Fatal("Write refused before Close")
	}
	if b.Dropped() != 2 || b.Len() != 5 {
		t.Fatalf("dropped %d, len %d; want 2, 5", b.Dropped(), b.Len())
	}
	select {
	case <-b.Wake():
	default:
		t.Fatal("no wake after Write")
	}
	got, closed := b.Take(nil, 2)
	if len(got) != 2 || got[0] != 1 || got[1] != 2 || closed {
		t.Fatalf("Take(2) = %v %v", got, closed)
	}
	b.Close()
	if b.Write([]int16{9}) || !b.Closed() {
		t.Fatal("Write accepted after Close")
	}
	got, closed = b.Take(got, 0)
	if len(got) != 3 || got[0] != 3 || got[2] != 5 || !closed {
		t.Fatalf("Take(all) = %v %v", got, closed)
	}
}
