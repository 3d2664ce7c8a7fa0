package desk

import (
	"hotline/call"
	"hotline/queue"
)

// agentHangup is how Connect ends when the agent hung up on a caller who
// is still on the line: a *queue.AgentHangup naming the agent holding the
// call now (a survey may follow, docs/surveys.md); nil otherwise.
func (t *talk) agentHangup(c *call.Call) error {
	if t.endedBy() != byAgent || c.Context().Err() != nil {
		return nil
	}
	_, owner := t.current()
	return &queue.AgentHangup{Agent: owner.id.ID}
}
