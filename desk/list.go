package desk

import (
	"slices"
	"strings"

	"hotline/acd"
)

// AgentStatus is an agent known to the desk, as other parts list it (ARI's
// endpoints): their username, whether their page is connected and logged
// in, and their ACD state.
type AgentStatus struct {
	Username string
	Online   bool
	State    acd.State
}

// AgentsOf lists a tenant's agents that have opened a desk, by username.
func (d *Desk) AgentsOf(tenant string) []AgentStatus {
	d.mu.Lock()
	var agents []*Agent
	for k, a := range d.agents {
		if k.tenant == tenant {
			agents = append(agents, a)
		}
	}
	d.mu.Unlock()
	out := make([]AgentStatus, 0, len(agents))
	for _, a := range agents {
		a.mu.Lock()
		out = append(out, AgentStatus{Username: a.id.Username, Online: a.sess != nil && a.loggedIn, State: a.state})
		a.mu.Unlock()
	}
	slices.SortFunc(out, func(x, y AgentStatus) int { return strings.Compare(x.Username, y.Username) })
	return out
}
