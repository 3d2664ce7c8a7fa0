package store_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
)

// A number's previous calls: its own tenant's only, newest first, before
// the given time, with the answering agent, the disposition and the
// summary; calls placed to the number count, calls from other numbers do
// not.
func TestPreviousCalls(t *testing.T) {
	ctx := testCtx(t)
	s := withTenants(t)
	alice, bob := uuid.NewString(), uuid.NewString()
	for _, u := range []struct{ id, tenant, name string }{{alice, "acme", "alice"}, {bob, "acme", "bob"}} {
		if _, err := s.Pool().Exec(ctx, `INSERT INTO users (id, tenant_id, username, role, password_hash)
			VALUES ($1, $2, $3, 'agent', '$test')`, u.id, u.tenant, u.name); err != nil {
			t.Fatal(err)
		}
	}
	const number = "+12125550100"
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	type row struct {
		tenant, dir, from, to string
		ago                   time.Duration
		talk                  time.Duration // 0: unanswered
		agent                 string        // outbound calls' agent
	}
	insert := func(r row) uuid.UUID {
		t.Helper()
		id := uuid.New()
		started := now.Add(-r.ago)
		var answered *time.Time
		if r.talk > 0 && r.dir != "inbound" {
			a := started.Add(5 * time.Second)
			answered = &a
		}
		ended := started.Add(30*time.Second + r.talk)
		if _, err := s.Pool().Exec(ctx, `INSERT INTO calls (id, tenant_id, sip_call_id, direction, from_number, to_number,
			started_at, answered_at, ended_at, agent_id, queue) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			id, r.tenant, id.String(), r.dir, r.from, r.to, started, answered, ended, r.agent, ""); err != nil {
			t.Fatal(err)
		}
		return id
	}
	entry := func(tenant string, call uuid.UUID, queue string, at time.Time, agent string) {
		t.Helper()
		var answered *time.Time
		var agentID *string
		if agent != "" {
			a := at.Add(10 * time.Second)
			answered, agentID = &a, &agent
		}
		if _, err := s.Pool().Exec(ctx, `INSERT INTO queue_entries (id, tenant_id, call_id, queue, entered_at, answered_at, agent_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, uuid.New(), tenant, call, queue, at, answered, agentID); err != nil {
			t.Fatal(err)
		}
	}
	dispose := func(tenant string, call uuid.UUID, user, code, note string, at time.Time) {
		t.Helper()
		if _, err := s.Pool().Exec(ctx, `INSERT INTO dispositions (id, tenant_id, call_id, user_id, code, note, at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, uuid.New(), tenant, call, user, code, note, at); err != nil {
			t.Fatal(err)
		}
	}

	// Oldest first; the two most recent are after "before".
	old := insert(row{tenant: "acme", dir: "inbound", from: number, to: "+15550100", ago: 10 * 24 * time.Hour, talk: time.Minute})
	entry("acme", old, "cards", now.Add(-10*24*time.Hour), "")
	entry("acme", old, "general", now.Add(-10*24*time.Hour+time.Minute), alice) // overflowed, then answered
	dispose("acme", old, alice, "follow_up", "call back about the card", now.Add(-10*24*time.Hour+5*time.Minute))
	dispose("acme", old, alice, "resolved", "card replaced", now.Add(-10*24*time.Hour+6*time.Minute)) // the later one counts
	if _, err := s.Pool().Exec(ctx, `INSERT INTO call_summaries (tenant_id, call_id, intent, summary, disposition)
		VALUES ('acme', $1, 'lost_card', 'Caller lost a card; blocked and replaced.', 'resolved')`, old); err != nil {
		t.Fatal(err)
	}
	abandoned := insert(row{tenant: "acme", dir: "inbound", from: number, to: "+15550100", ago: 5 * 24 * time.Hour})
	entry("acme", abandoned, "accounts", now.Add(-5*24*time.Hour), "")
	placed := insert(row{tenant: "acme", dir: "outbound", from: "+15550100", to: number, ago: 2 * 24 * time.Hour, talk: 2 * time.Minute, agent: bob})
	insert(row{tenant: "acme", dir: "inbound", from: "+19995550000", to: "+15550100", ago: time.Hour})    // another caller
	insert(row{tenant: "globex", dir: "inbound", from: number, to: "+15550200", ago: 3 * 24 * time.Hour}) // another tenant
	insert(row{tenant: "acme", dir: "inbound", from: number, to: "+15550100", ago: 0})                    // this call: not before itself
	insert(row{tenant: "acme", dir: "inbound", from: number, to: "+15550100", ago: -time.Hour})           // later

	got, err := s.PreviousCalls(ctx, "acme", number, now, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].ID != placed || got[1].ID != abandoned || got[2].ID != old {
		t.Fatalf("previous calls %+v, want placed, abandoned, old", got)
	}
	p := got[0]
	if p.Direction != "outbound" || !p.Answered || p.Agent != "bob" || p.AgentID != bob || p.Duration != 150*time.Second || p.Code != "" {
		t.Errorf("placed call %+v", p)
	}
	a := got[1]
	if a.Direction != "inbound" || a.Answered || a.Queue != "accounts" || a.Agent != "" || a.Code != "" || a.Summary != "" {
		t.Errorf("abandoned call %+v", a)
	}
	o := got[2]
	if !o.Answered || o.Queue != "general" || o.Agent != "alice" || o.Code != "resolved" || o.Note != "card replaced" ||
		o.Intent != "lost_card" || o.Summary != "Caller lost a card; blocked and replaced." || o.Duration != 90*time.Second ||
		!o.StartedAt.Equal(now.Add(-10*24*time.Hour)) {
		t.Errorf("old call %+v", o)
	}

	// The limit keeps the newest.
	if got, err := s.PreviousCalls(ctx, "acme", number, now, 2); err != nil || len(got) != 2 || got[1].ID != abandoned {
		t.Errorf("limit 2: %+v, %v", got, err)
	}
	// Tenant isolation: globex sees its own call only, acme's agents never.
	g, err := s.PreviousCalls(ctx, "globex", number, now, 5)
	if err != nil || len(g) != 1 || g[0].Agent != "" || g[0].Code != "" {
		t.Errorf("globex: %+v, %v", g, err)
	}
	if g, err := s.PreviousCalls(ctx, "nobody", number, now, 5); err != nil || len(g) != 0 {
		t.Errorf("unknown tenant: %+v, %v", g, err)
	}
	// Anonymous callers have no history.
	if g, err := s.PreviousCalls(ctx, "acme", "anonymous", now, 5); err != nil || g != nil {
		t.Errorf("anonymous: %+v, %v", g, err)
	}
}
