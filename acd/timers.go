package acd

// Timers are a binary heap of deadlines with lazy cancellation: an entry
// carries the generation of its agent or call when it was set, and is
// dropped on firing if that generation has moved on. Cancelling is then
// free, and stale entries leave at their deadline, so the heap stays within
// the live timers plus the longest timeout's worth of dead ones.

type timerKind uint8

const (
	tRing      timerKind = iota + 1 // an offer's ring timeout (agent)
	tAgent                          // end of wrap-up or back-off (agent)
	tWiden                          // next skill widening step (call in queue)
	tQueueWait                      // the queue's max wait (call in queue)
	tDeadline                       // the call's own max wait (call, across queues)
	tAnnounce                       // next announcement (call in queue)
)

type timer struct {
	at   int64
	seq  uint64 // firing order among equal deadlines
	kind timerKind
	gen  uint64
	a    *agent
	c    *call
}

type timerHeap []timer

func (h timerHeap) before(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}

func (h *timerHeap) push(t timer) {
	*h = append(*h, t)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !s.before(i, p) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *timerHeap) pop() timer {
	s := *h
	t := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s[last] = timer{} // drop the pointers for the collector
	s = s[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(s) && s.before(l, m) {
			m = l
		}
		if r < len(s) && s.before(r, m) {
			m = r
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return t
}
