package desk

import (
	"hotline/acd"
	"hotline/queue"
)

// AgentState is an agent's ACD state as their desk last heard it; false
// when the agent is not at a desk. Other channels of work (chats) read it
// when they connect and follow Config.OnState after.
func (d *Desk) AgentState(tenant string, id queue.AgentID) (acd.State, bool) {
	a := d.agent(tenant, id)
	if a == nil {
		return acd.StateOffline, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.state, a.loggedIn
}
