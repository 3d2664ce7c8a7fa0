package queue

import "fmt"

// AgentHangup is what a Connector returns when the agent ended the
// conversation while the caller is still on the line: the caller's wait
// ends as answered, and Result.AgentHungUp lets the flow ask them a
// satisfaction survey (docs/surveys.md). Agent is who had the caller last
// (after an attended transfer, the agent it went to).
type AgentHangup struct{ Agent AgentID }

func (e *AgentHangup) Error() string { return fmt.Sprintf("agent %s hung up", e.Agent) }
