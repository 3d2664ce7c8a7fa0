package acd

import "testing"

func TestConsult(t *testing.T) {
	connected := func() []step {
		return []step{
			{0, login("a1", nil, "sales"), nil, nil},
			{0, login("b1", nil, "sales"), nil, nil},
			{sec, enq("c1", "sales"), nil, nil},
			{2 * sec, OfferAnswered{Call: "c1", Agent: "a1"}, nil, nil},
		}
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"consult, then hand over: a1 to wrap-up, b1 has the call", append(connected(),
			step{3 * sec, ConsultStarted{Call: "c1", Target: "b1"}, []string{st("b1", StateAvailable, StateOnCall, ReasonConsult)}, nil},
			// b1 is reserved: a new caller waits rather than interrupting the consultation.
			step{4 * sec, enq("c2", "sales"), none(), nil},
			step{5 * sec, CallHandedOver{Call: "c1", Target: "b1"}, []string{
				st("b1", StateOnCall, StateOnCall, ReasonTransferred),
				st("a1", StateOnCall, StateWrapUp, ReasonCallEnded),
			}, nil},
			step{6 * sec, CallHandedOver{Call: "c1", Target: "b1"}, none(), ErrBadState},
			// The call now ends on b1.
			step{9 * sec, CallEnded{Call: "c1"}, []string{st("b1", StateOnCall, StateWrapUp, ReasonCallEnded)}, nil},
		)},
		{"consult cancelled: b1 free at once, no wrap-up", append(connected(),
			step{3 * sec, ConsultStarted{Call: "c1", Target: "b1"}, nil, nil},
			step{4 * sec, enq("c2", "sales"), none(), nil},
			step{5 * sec, ConsultEnded{Target: "b1"}, cat(
				[]string{st("b1", StateOnCall, StateAvailable, ReasonConsultEnded)},
				offerTo("c2", "b1", "sales")), nil},
			step{6 * sec, ConsultEnded{Target: "b1"}, none(), ErrBadState},
		)},
		{"caller hangs up mid-consultation: both agents released", append(connected(),
			step{3 * sec, ConsultStarted{Call: "c1", Target: "b1"}, nil, nil},
			step{5 * sec, CallEnded{Call: "c1"}, []string{
				st("b1", StateOnCall, StateAvailable, ReasonConsultEnded),
				st("a1", StateOnCall, StateWrapUp, ReasonCallEnded),
			}, nil},
		)},
		{"break asked during a consultation applies after it", append(connected(),
			step{3 * sec, ConsultStarted{Call: "c1", Target: "b1"}, nil, nil},
			step{4 * sec, SetState{Agent: "b1", State: StateBreak, Reason: "lunch"}, none(), nil},
			step{5 * sec, ConsultEnded{Target: "b1"}, []string{st("b1", StateOnCall, StateBreak, "lunch")}, nil},
		)},
		{"refusals", append(connected(),
			step{3 * sec, ConsultStarted{Call: "c1", Target: "a1"}, none(), ErrInvalid},
			step{3 * sec, ConsultStarted{Call: "nope", Target: "b1"}, none(), ErrUnknownCall},
			step{3 * sec, SetState{Agent: "b1", State: StateBreak}, nil, nil},
			step{3 * sec, ConsultStarted{Call: "c1", Target: "b1"}, none(), ErrBadState},
			step{3 * sec, CallHandedOver{Call: "c1", Target: "b1"}, none(), ErrBadState},
		)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			runSteps(t, newEngine(t, twoQueues()), tc.steps)
		})
	}
}

func TestConsultView(t *testing.T) {
	e := newEngine(t, twoQueues())
	for _, ev := range []Event{login("a1", nil, "sales"), login("b1", nil, "sales"), enq("c1", "sales"),
		OfferAnswered{Call: "c1", Agent: "a1"}, ConsultStarted{Call: "c1", Target: "b1"}} {
		mustHandle(t, e, t0, ev)
	}
	v, _ := e.Agent("b1")
	if v.Consult != "c1" || v.Call != "" || v.State != StateOnCall || v.Reason != ReasonConsult {
		t.Fatalf("consulted agent's view %+v", v)
	}
	mustHandle(t, e, t0.Add(sec), CallHandedOver{Call: "c1", Target: "b1"})
	v, _ = e.Agent("b1")
	if v.Consult != "" || v.Call != "c1" || v.Queue != "sales" || v.CallsToday != 1 {
		t.Fatalf("after hand-over %+v", v)
	}
}
