// Package acd is the automatic call distributor's decision core: queues,
// agents, skills, strategies, agent states, offers, overflow and the live
// numbers a wallboard shows.
//
// The core is a state machine with no clock, no goroutines and no I/O. One
// Engine serves one tenant; its owner (a goroutine that also owns the
// tenant's timers and sockets) feeds it events with Handle and carries out
// the actions it returns: ring a softphone, stop ringing, move a caller to
// another queue or back to a flow step, play an announcement, tell the agent
// desktop about a state change. Time comes in with every event, so tests and
// replays of the queue event log are exact.
//
// Decisions are local. After every event the engine is "settled": no idle
// agent is eligible for a call that could be offered to them. So when a call
// arrives only that call needs an agent, and when an agent becomes free only
// that agent needs a call; neither scans the whole tenant. Idle agents sit in
// per-queue skip lists ordered by the queue's strategy, and waiting calls in
// per-queue groups of identical skill requirements ordered by priority then
// place in line, so a decision costs a walk over a few list heads.
//
// Places in line are order keys, not timestamps: a call entered at a position
// gets a key between its neighbours, a call whose offer was not answered gets
// a key ahead of every other call of its priority, and a call that overflows
// keeps its key, so it is placed by age in the new queue.
//
// Region preference (QueueConfig.PreferRegion) rides the same machinery:
// an agent's regions are pseudo-skills, and a caller's region is a
// requirement the call carries for the queue's RegionWait, then drops like
// a skill widening step, so the call keeps its place and the settled
// invariant holds throughout.
//
// Due timers (ring timeouts, wrap-up and back-off ends, skill widening, max
// wait, announcements) run at the start of every Handle, before its event, so
// the state an event sees is the state at its time; Tick carries no other
// work. NextDeadline tells the owner when to call Handle with Tick next.
package acd
