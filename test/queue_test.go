package e2e

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"hotline/store"
)

// TestQueueAnnouncement: a caller presses 0 for the general queue with no
// agent logged in, hears hold music and, every announce_every, their
// position; hanging up leaves a queue entry with outcome abandoned.
func TestQueueAnnouncement(t *testing.T) {
	t.Parallel()
	const every = 3 * time.Second
	srv := startServer(t, serverOptions{Name: "queue", Edit: func(t testing.TB, cfg map[string]any) {
		for _, q := range listOf(tenantOf(t, cfg, "demo")["queues"]) {
			if qm := q.(map[string]any); qm["name"] == "general" {
				qm["announce_every"] = every.String()
			}
		}
	}})
	ua := newUA(t, srv)
	srv.report(t, ua.CallID)
	if res := ua.Invite(demoNumber, ua.offer(true, "sendrecv")); res.Code != 200 {
		t.Fatalf("INVITE: %s, want 200", res)
	}
	ua.Ack(demoNumber)
	ua.RTP.Start()
	time.Sleep(menuOpens(t))
	ua.RTP.SendDigit('0')

	c := srv.findCall(t, ua.CallID, false, 5*time.Second)
	var queued, announced *store.Event
	deadline := time.Now().Add(8*time.Second + every)
	for announced == nil && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		ev := srv.events(t, c)
		if q := eventsOf(ev, "queue"); len(q) > 0 && queued == nil {
			queued = &q[0]
		}
		if a := eventsOf(ev, "announce"); len(a) > 0 {
			announced = &a[0]
		}
	}
	if queued == nil || announced == nil {
		t.Fatalf("queued %v, announced %v: want both within %v", queued != nil, announced != nil, 8*time.Second+every)
	}
	if queued.Data["queue"] != "general" || announced.Data["position"] != "1" || announced.Data["queue"] != "general" {
		t.Errorf("queue event %v, announce event %v: want general, position 1", queued.Data, announced.Data)
	}
	if d := announced.At.Sub(queued.At); d < every-500*time.Millisecond || d > every+time.Second {
		t.Errorf("announced %v after queueing, want about %v", d, every)
	}
	// Let the announcement play out, then a little music after it.
	time.Sleep(3 * time.Second)
	if code := ua.Bye(demoNumber); code != 200 {
		t.Errorf("BYE: %d, want 200", code)
	}
	c = srv.findCall(t, ua.CallID, true, 10*time.Second)
	checkCallerHungUp(t, c)

	rec, _ := ua.RTP.Received()
	moh := mustPrompt(t, demoPath(filepath.Join("prompts", "moh.wav")))
	if m := matchAudio(moh[:min(len(moh), 2*sampleRate)], rec, samplesDuration(len(rec), sampleRate)); m.NCC < 0.8 {
		t.Errorf("the caller did not hear the hold music: %s", m)
	}
	pos := mustPrompt(t, promptPath("you_are_number"))
	m := matchAudio(pos, rec, samplesDuration(len(rec), sampleRate))
	t.Logf("position prompt in the caller's audio: %s", m)
	if m.NCC < 0.8 {
		t.Errorf("the caller did not hear the position announcement: %s", m)
	}

	// The queue entry is written asynchronously after the hang-up.
	var entries []store.QueueEntry
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var err error
		entries, err = srv.DB.QueueEntries(ctx, "demo", c.ID)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) == 1 && entries[0].Outcome != "" {
			break
		}
	}
	if len(entries) != 1 {
		t.Fatalf("queue entries %+v, want one", entries)
	}
	e := entries[0]
	if e.Queue != "general" || e.Outcome != store.OutcomeAbandoned || e.LeftAt.IsZero() || e.Wait < every {
		t.Errorf("queue entry %+v: want general, abandoned after more than %v", e, every)
	}
}
