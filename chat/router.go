package chat

import "slices"

// router is the chat distributor's decision core: which agent takes which
// waiting chat. Like acd.Engine it has no clock, no goroutines and no I/O;
// the Service's owner goroutine feeds it and carries out its assignments.
//
// Chats are few next to calls (an agent holds a handful) and wait in one
// line per tenant, so decisions walk the line and the agents instead of
// keeping the ACD's ordered indexes; a tenant with thousands of agents
// and chats waiting would want them.
type router struct {
	max    int // chats an agent may hold
	seq    uint64
	agents map[string]*slot
	line   []waiting // oldest first; re-queued chats go to the front
}

// slot is one agent as the chat distributor sees them.
type slot struct {
	id       string
	queues   []string
	eligible bool   // connected and not on break or offline
	open     int    // chats held
	last     uint64 // router.seq at their last assignment; 0: never
	since    uint64 // router.seq when they became eligible
}

type waiting struct {
	chat  string
	queue string
}

// assignment is a chat handed to an agent.
type assignment struct {
	chat, agent string
}

func newRouter(max int) *router {
	return &router{max: max, agents: map[string]*slot{}}
}

// setAgent adds or updates an agent: their queues and whether they may
// take chats now.
func (r *router) setAgent(id string, queues []string, eligible bool) {
	a := r.agents[id]
	if a == nil {
		a = &slot{id: id}
		r.agents[id] = a
	}
	a.queues = slices.Clone(queues)
	r.setEligible(id, eligible)
}

func (r *router) setEligible(id string, eligible bool) {
	a := r.agents[id]
	if a == nil {
		return
	}
	if eligible && !a.eligible {
		r.seq++
		a.since = r.seq
	}
	a.eligible = eligible
}

// removeAgent forgets an agent; the Service re-queues their chats.
func (r *router) removeAgent(id string) { delete(r.agents, id) }

// enqueue puts a chat at the end of the line.
func (r *router) enqueue(chat, queue string) {
	r.line = append(r.line, waiting{chat, queue})
}

// requeueFront puts chats (in the order given) ahead of every waiting one.
func (r *router) requeueFront(ws []waiting) {
	r.line = append(slices.Clone(ws), r.line...)
}

// withdraw takes a chat out of the line (the visitor left).
func (r *router) withdraw(chat string) bool {
	i := slices.IndexFunc(r.line, func(w waiting) bool { return w.chat == chat })
	if i < 0 {
		return false
	}
	r.line = slices.Delete(r.line, i, i+1)
	return true
}

// release is an agent's chat ending.
func (r *router) release(agent string) {
	if a := r.agents[agent]; a != nil && a.open > 0 {
		a.open--
	}
}

// position is a waiting chat's place (1-based) among the chats waiting
// for its queue; 0 when it is not waiting.
func (r *router) position(chat string) int {
	n := 0
	var q string
	for _, w := range r.line {
		if w.chat == chat {
			q = w.queue
			break
		}
	}
	for _, w := range r.line {
		if w.queue == q {
			n++
		}
		if w.chat == chat {
			return n
		}
	}
	return 0
}

// dispatch assigns waiting chats, in line order, while agents have room.
// A chat no agent of its queue can take does not hold up those behind it
// for other queues.
func (r *router) dispatch(out []assignment) []assignment {
	if !r.anyRoom() {
		return out
	}
	kept := r.line[:0]
	for i, w := range r.line {
		a := r.pick(w.queue)
		if a == nil {
			kept = append(kept, w)
			if !r.anyRoom() {
				kept = append(kept, r.line[i+1:]...)
				break
			}
			continue
		}
		r.seq++
		a.open++
		a.last = r.seq
		out = append(out, assignment{chat: w.chat, agent: a.id})
	}
	clear(r.line[len(kept):])
	r.line = kept
	return out
}

func (r *router) anyRoom() bool {
	for _, a := range r.agents {
		if a.eligible && a.open < r.max {
			return true
		}
	}
	return false
}

// pick is the eligible agent of queue with room: fewest open chats, then
// the longest since their last chat (or since they became eligible, for
// one who never had one), then id for a stable choice.
func (r *router) pick(queue string) *slot {
	var best *slot
	for _, a := range r.agents {
		if !a.eligible || a.open >= r.max || !slices.Contains(a.queues, queue) {
			continue
		}
		if best == nil || better(a, best) {
			best = a
		}
	}
	return best
}

func better(a, b *slot) bool {
	if a.open != b.open {
		return a.open < b.open
	}
	la, lb := max(a.last, a.since), max(b.last, b.since)
	if la != lb {
		return la < lb
	}
	return a.id < b.id
}
