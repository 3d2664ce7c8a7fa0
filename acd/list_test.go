package acd

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestListAgainstSortedSlice runs random inserts, removes and seeks against
// a sorted slice, checking every level's links after each operation.
func TestListAgainstSortedSlice(t *testing.T) {
	e := &Engine{rnd: 1}
	r := rand.New(rand.NewPCG(3, 3))
	var l list[int]
	nodes := make([]node[int], 500)
	for i := range nodes {
		newNode(e, &nodes[i], i)
	}
	var ref []int64 // keys in the list, sorted
	for step := range 20000 {
		n := &nodes[r.IntN(len(nodes))]
		if n.in {
			l.remove(n)
			i, _ := slices.BinarySearch(ref, n.key[0])
			ref = slices.Delete(ref, i, i+1)
		} else {
			n.key = key{r.Int64N(1 << 30), int64(n.val)}
			if _, found := slices.BinarySearch(ref, n.key[0]); found {
				continue
			}
			l.insert(n)
			i, _ := slices.BinarySearch(ref, n.key[0])
			ref = slices.Insert(ref, i, n.key[0])
		}
		if l.n != len(ref) {
			t.Fatalf("step %d: n = %d, want %d", step, l.n, len(ref))
		}
		for lvl := 0; lvl < l.level; lvl++ {
			var prev *node[int]
			for x := l.head.next[lvl]; x != nil; x = x.next[lvl] {
				if !x.in || len(x.next) <= lvl || (prev != nil && !prev.key.less(&x.key)) {
					t.Fatalf("step %d: level %d broken", step, lvl)
				}
				prev = x
			}
		}
		i := 0
		for x := l.first(); x != nil; x = x.next[0] {
			if x.key[0] != ref[i] {
				t.Fatalf("step %d: element %d is %d, want %d", step, i, x.key[0], ref[i])
			}
			i++
		}
		k := r.Int64N(1 << 30)
		got := l.seek(key{k})
		j, _ := slices.BinarySearch(ref, k)
		if (got == nil) != (j == len(ref)) || (got != nil && got.key[0] != ref[j]) {
			t.Fatalf("step %d: seek(%d) wrong", step, k)
		}
	}
}
