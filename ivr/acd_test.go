package ivr

import (
	"context"
	"testing"
	"time"
)

// fakeACD answers every Wait with res (or err) and remembers the request.
type fakeACD struct {
	res QueueResult
	err error
	got []QueueRequest
}

func (a *fakeACD) Wait(_ context.Context, req QueueRequest) (QueueResult, error) {
	a.got = append(a.got, req)
	return a.res, a.err
}

func TestQueueWithACD(t *testing.T) {
	const flow = `
start: q
steps:
  q:
    queue: {name: sales, music: jazz, timeout: 2m, timeout_step: later}
  later:
    play: call_back_later
    next: bye
  voicemail:
    play: leave_a_message
    next: bye
  bye:
    hangup: true
`
	for _, tt := range []struct {
		name     string
		acd      fakeACD
		reason   EndReason
		played   []string
		hungUp   bool
		timeouts []string
	}{
		{name: "answered ends the flow", acd: fakeACD{res: QueueResult{Outcome: QueueAnswered}}, reason: EndQueue},
		{name: "exit to the ACD's step", acd: fakeACD{res: QueueResult{Outcome: QueueExit, Step: "voicemail", Reason: "max-wait"}},
			reason: EndHangup, played: []string{"leave_a_message"},
			timeouts: []string{"queue_timeout q next=voicemail outcome=exit reason=max-wait"}},
		{name: "exit without a step takes timeout_step", acd: fakeACD{res: QueueResult{Outcome: QueueExit, Reason: "timeout"}},
			reason: EndHangup, played: []string{"call_back_later"},
			timeouts: []string{"queue_timeout q next=later outcome=exit reason=timeout"}},
		{name: "rejected takes timeout_step", acd: fakeACD{res: QueueResult{Outcome: QueueRejected, Reason: "queue-full"}},
			reason: EndHangup, played: []string{"call_back_later"},
			timeouts: []string{"queue_timeout q next=later outcome=rejected reason=queue-full"}},
		{name: "caller hangs up", acd: fakeACD{err: ErrHangup}, reason: EndQueue, hungUp: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := mustParse(t, flow)
			acd := tt.acd
			res, ch, rec := run(t, f, "", Env{ACD: &acd})
			if res.Reason != tt.reason || res.CallerHungUp != tt.hungUp {
				t.Errorf("result = %+v", res)
			}
			equal(t, "played", ch.played, tt.played)
			equal(t, "music", ch.music, nil)
			equal(t, "timeouts", rec.only(EventQueueTimeout), tt.timeouts)
			want := QueueRequest{Step: "q", Queue: "sales", Music: "jazz", Timeout: 2 * time.Minute, TimeoutStep: "later"}
			if len(acd.got) != 1 || acd.got[0] != want {
				t.Errorf("requests = %+v, want [%+v]", acd.got, want)
			}
		})
	}
}

// The queue step hands the ACD the region variable as it is when the
// caller joins: set for every call, and changed by a set step here.
func TestQueueCarriesRegion(t *testing.T) {
	const flow = `
start: where
steps:
  where:
    branch: {var: region, cases: {GB: to_europe}, default: q}
  to_europe:
    set: {region: europe}
    next: q
  q:
    queue: sales
`
	for region, want := range map[string]string{"GB": "europe", "west": "west", "": ""} {
		f := mustParse(t, flow)
		acd := &fakeACD{res: QueueResult{Outcome: QueueAnswered}}
		run(t, f, "", Env{ACD: acd, Vars: map[string]string{"region": region}})
		if len(acd.got) != 1 || acd.got[0].Region != want {
			t.Errorf("region %q: requests = %+v, want region %q", region, acd.got, want)
		}
	}
}
