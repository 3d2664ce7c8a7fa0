package acd

// The ordered structures are intrusive skip lists: each agent membership and
// each call carries its own nodes, made once, so moving things between
// lists during a decision never allocates, and walking in order is a pointer
// chase (filtered walks skip ineligible agents cheaply). A skip list rather
// than a balanced tree because insert, remove and in-order walks are all
// that is needed, and it is a fraction of the code.

const maxLevel = 20 // 4^20 elements at p = 1/4: far beyond any tenant

// key orders a list's elements lexicographically. Every list puts a unique
// number in its last significant field, so keys never tie: removal finds an
// element by key alone and the order is deterministic.
type key [4]int64

func (a *key) less(b *key) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

type node[T any] struct {
	key  key
	val  T
	next []*node[T] // its height, fixed when the node is made
	in   bool
}

type list[T any] struct {
	head  node[T]
	level int
	n     int
}

func (l *list[T]) first() *node[T] {
	if l.head.next == nil {
		return nil
	}
	return l.head.next[0]
}

// path fills upd with the last node before k on every level.
func (l *list[T]) path(k *key, upd *[maxLevel]*node[T]) {
	if l.head.next == nil {
		l.head.next = make([]*node[T], maxLevel)
		l.level = 1
	}
	x := &l.head
	for i := l.level - 1; i >= 0; i-- {
		for y := x.next[i]; y != nil && y.key.less(k); y = x.next[i] {
			x = y
		}
		upd[i] = x
	}
}

func (l *list[T]) insert(n *node[T]) {
	if n.in {
		panic("acd: node inserted twice")
	}
	var upd [maxLevel]*node[T]
	l.path(&n.key, &upd)
	h := len(n.next)
	for ; l.level < h; l.level++ {
		upd[l.level] = &l.head
	}
	for i := 0; i < h; i++ {
		n.next[i] = upd[i].next[i]
		upd[i].next[i] = n
	}
	n.in = true
	l.n++
}

func (l *list[T]) remove(n *node[T]) {
	if !n.in {
		panic("acd: removing a node not in a list")
	}
	var upd [maxLevel]*node[T]
	l.path(&n.key, &upd)
	for i := 0; i < len(n.next) && i < l.level; i++ {
		if upd[i].next[i] == n {
			upd[i].next[i] = n.next[i]
		}
	}
	for l.level > 1 && l.head.next[l.level-1] == nil {
		l.level--
	}
	n.in = false
	l.n--
}

// seek returns the first node whose key is not less than k.
func (l *list[T]) seek(k key) *node[T] {
	var upd [maxLevel]*node[T]
	l.path(&k, &upd)
	return upd[0].next[0]
}

// height draws a node height with p = 1/4 from the engine's own generator,
// so runs are reproducible.
func (e *Engine) height() int {
	h := 1
	for h < maxLevel {
		e.rnd ^= e.rnd << 13
		e.rnd ^= e.rnd >> 7
		e.rnd ^= e.rnd << 17
		if e.rnd&3 != 0 {
			break
		}
		h++
	}
	return h
}

func newNode[T any](e *Engine, n *node[T], v T) {
	n.val = v
	n.next = make([]*node[T], e.height())
}
