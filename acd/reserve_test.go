package acd

import "testing"

func TestReserve(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
	}{
		{"reserved agent is offered nothing; talked: wrap-up, then the waiting caller", []step{
			{0, login("a1", nil, "sales"), nil, nil},
			{sec, AgentReserved{Agent: "a1", Reason: "ari"}, []string{st("a1", StateAvailable, StateOnCall, "ari")}, nil},
			{2 * sec, enq("c1", "sales"), none(), nil},
			{3 * sec, AgentReserved{Agent: "a1"}, none(), ErrBadState},
			{4 * sec, AgentReleased{Agent: "a1", Talked: true}, []string{st("a1", StateOnCall, StateWrapUp, ReasonCallEnded)}, nil},
			{4 * sec, AgentReleased{Agent: "a1"}, none(), ErrBadState},
			{14 * sec, Tick{}, cat([]string{st("a1", StateWrapUp, StateAvailable, ReasonWrapUpExpired)}, offerTo("c1", "a1", "sales")), nil},
		}},
		{"not answered: free at once", []step{
			{0, login("a1", nil, "sales"), nil, nil},
			{sec, AgentReserved{Agent: "a1"}, []string{st("a1", StateAvailable, StateOnCall, ReasonReserved)}, nil},
			{2 * sec, AgentReleased{Agent: "a1"}, []string{st("a1", StateOnCall, StateAvailable, ReasonCallEnded)}, nil},
		}},
		{"lost: missed", []step{
			{0, login("a1", nil, "support"), nil, nil},
			{sec, AgentReserved{Agent: "a1"}, nil, nil},
			{2 * sec, AgentReleased{Agent: "a1", Talked: true, Lost: true}, []string{st("a1", StateOnCall, StateMissed, ReasonAgentLost)}, nil},
		}},
		{"break and logout asked meanwhile apply after", []step{
			{0, login("a1", nil, "support"), nil, nil},
			{0, login("b1", nil, "support"), nil, nil},
			{sec, AgentReserved{Agent: "a1"}, nil, nil},
			{sec, AgentReserved{Agent: "b1"}, nil, nil},
			{2 * sec, SetState{Agent: "a1", State: StateBreak, Reason: "lunch"}, none(), nil},
			{2 * sec, AgentLogout{Agent: "b1"}, none(), nil},
			{3 * sec, AgentReleased{Agent: "a1", Talked: true}, []string{st("a1", StateOnCall, StateBreak, "lunch")}, nil},
			{3 * sec, AgentReleased{Agent: "b1", Talked: true}, []string{st("b1", StateOnCall, StateOffline, ReasonLogout)}, nil},
		}},
		{"refusals", []step{
			{0, AgentReserved{Agent: "x"}, none(), ErrUnknownAgent},
			{0, AgentLogin{Agent: "a1", Queues: []Membership{{Queue: "sales"}}}, nil, nil},
			{sec, AgentReserved{Agent: "a1"}, none(), ErrBadState},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			runSteps(t, newEngine(t, twoQueues()), tc.steps)
		})
	}
}
