// Package queue runs a tenant's ACD: one owner goroutine per tenant
// connects waiting calls, logged-in agents and the acd decision core.
//
// Every input (a caller joining or hanging up, an agent logging in,
// answering or rejecting, the core's own timers) becomes a closure in the
// runtime's inbox, and the owner runs them one at a time, so the core needs
// no lock and sees events in one order, which the queue log records. Inputs
// never block their sender: a caller's goroutine or a WebSocket handler
// only appends to the inbox.
//
// The owner never plays audio or waits on a peer. A waiting caller's own
// goroutine (the flow's, in Runtime.Wait) plays hold music and the position
// announcements it is sent, and an offer or an answer interrupts them, so
// announcing never delays connecting a caller. An answered call is handed
// to the Connector on the caller's goroutine too; it blocks for the
// conversation, and its end starts the agent's wrap-up.
package queue
