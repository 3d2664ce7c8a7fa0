package assist

import (
	"testing"
	"time"

	"hotline/call"
)

// The ask step's question reaches the agent's caller context in the
// caller's words, with the intent and what the robot did.
func TestLocalContextAsk(t *testing.T) {
	start := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	c := call.New(t.Context(), call.Info{ID: "c-2", TenantID: "demo", From: "+12125550100", To: "+15550100", Started: start},
		call.Config{Now: func() time.Time { return start }})
	c.Event("step", "ask_question", map[string]string{"kind": "ask"})
	c.Event("ask", "ask_question", map[string]string{"question": "uh what is my balance", "intent": "balance",
		"confidence": "0.42", "outcome": "queued", "answer": "", "reason": "low_confidence", "next": "queue_general"})
	cc := NewContextBuilder(ContextConfig{}).Local(c, start.Add(time.Second))
	if len(cc.Choices) != 1 {
		t.Fatalf("choices %+v", cc.Choices)
	}
	ch := cc.Choices[0]
	if ch.Kind != "ask" || ch.Input != "speech" || ch.Said != "uh what is my balance" || ch.Value != "balance" ||
		ch.Next != "queue_general" || ch.Detail["outcome"] != "queued" || ch.Detail["reason"] != "low_confidence" ||
		ch.Detail["confidence"] != "0.42" {
		t.Errorf("ask choice %+v", ch)
	}
	if _, ok := ch.Detail["answer"]; ok {
		t.Errorf("empty answer kind in %v", ch.Detail)
	}
}
