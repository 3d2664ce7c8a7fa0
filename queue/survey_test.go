package queue

import (
	"context"
	"slices"
	"testing"
	"time"

	"hotline/acd"
	"hotline/call"
)

// hangupConnector talks briefly, then the agent hangs up (as desk.Connect
// reports it), naming who has the caller by then.
type hangupConnector struct{ by AgentID }

func (c hangupConnector) Connect(ctx context.Context, _ *call.Call, _ AgentID) error {
	select {
	case <-ctx.Done():
		return nil
	case <-time.After(20 * time.Millisecond):
		return &AgentHangup{Agent: c.by}
	}
}

// An agent's hang-up ends the wait as answered with AgentHungUp and the
// agent named by the connector (after an attended transfer, the one who
// took the caller); any other end of the talk leaves it false.
func TestAgentHangupIsReported(t *testing.T) {
	for _, tt := range []struct {
		name string
		conn Connector
		want bool
		by   AgentID
	}{
		{"agent hung up", hangupConnector{by: "bob"}, true, "bob"},
		{"talk ended otherwise", &talkConnector{talk: 20 * time.Millisecond}, false, "alice"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sink := &fakeSink{}
			rt := start(t, Config{ACD: oneQueue(acd.QueueConfig{Name: "general", RingTimeout: ring}), Sink: sink, Connector: tt.conn})
			login(t, rt, "alice", newPhone(t, rt, "alice", answer), "general")
			c := enter(t, rt, Entry{Queue: "general"})
			c.wait(t, 3*time.Second)
			if c.err != nil || c.res.Outcome != Answered || c.res.AgentHungUp != tt.want || c.res.Agent != tt.by {
				t.Fatalf("Wait = %+v, %v; want answered, AgentHungUp %v, agent %s", c.res, c.err, tt.want, tt.by)
			}
			want := []string{"enter", "offer", "connect", "complete_agent"}
			eventually(t, "queue log", func() bool { return len(sink.logEvents(c.id())) >= len(want) })
			if got := sink.logEvents(c.id()); !slices.Equal(got, want) {
				t.Errorf("queue log %v, want %v", got, want)
			}
		})
	}
}
