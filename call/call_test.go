package call

import (
	"context"
	"errors"
	"testing"
	"time"

	"hotline/media"
)

type fakeMedia struct {
	digits chan media.Digit
	src    chan media.Source
}

func newFakeMedia() *fakeMedia {
	return &fakeMedia{digits: make(chan media.Digit, 8), src: make(chan media.Source, 8)}
}
func (f *fakeMedia) SetSource(s media.Source)            { f.src <- s }
func (f *fakeMedia) Digits() <-chan media.Digit          { return f.digits }
func (f *fakeMedia) SendDigit(rune, time.Duration) error { return nil }
func (f *fakeMedia) SetInbandDTMF(bool)                  {}
func (f *fakeMedia) Stats() media.Stats                  { return media.Stats{} }

type lib map[string]*media.Prompt

func (l lib) Prompt(n string) (*media.Prompt, bool) { p, ok := l[n]; return p, ok }

type sink struct{ events []Event }

func (s *sink) CallEvent(e Event) { s.events = append(s.events, e) }

func newTestCall(t *testing.T) (*Call, *fakeMedia, *sink) {
	m := newFakeMedia()
	ev := &sink{}
	long := media.NewPromptPCM(make([]int16, 8000*60))
	c := New(context.Background(), Info{ID: "c1", TenantID: "demo"}, Config{Media: m, Prompts: lib{"long": long}, Events: ev})
	return c, m, ev
}

func TestPlayBargeInKeepsDigit(t *testing.T) {
	c, m, _ := newTestCall(t)
	m.digits <- media.Digit{Key: '5', Source: "inband"}
	done := make(chan error, 1)
	go func() { done <- c.Play(context.Background(), "long", true) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("a key did not stop an interruptible prompt")
	}
	k, ok, err := c.ReadDigit(context.Background(), time.Millisecond)
	if k != '5' || !ok || err != nil || c.LastDigitSource() != "inband" {
		t.Fatalf("ReadDigit = %q %v %v (source %q)", k, ok, err, c.LastDigitSource())
	}
	// The player was put on the session and taken off again.
	if s := <-m.src; s == nil {
		t.Fatal("no player set")
	}
	if s := <-m.src; s != nil {
		t.Fatal("player left on the session")
	}
}

func TestReadDigitTimeoutFlushAndHangup(t *testing.T) {
	c, m, _ := newTestCall(t)
	if _, ok, err := c.ReadDigit(context.Background(), 10*time.Millisecond); ok || err != nil {
		t.Fatalf("timeout: ok=%v err=%v", ok, err)
	}
	m.digits <- media.Digit{Key: '1'}
	c.FlushDigits()
	if _, ok, _ := c.ReadDigit(context.Background(), 10*time.Millisecond); ok {
		t.Fatal("flushed digit was read")
	}
	go c.Hangup(CauseRTPTimeout)
	_, _, err := c.ReadDigit(context.Background(), time.Minute)
	if !errors.Is(err, CauseRTPTimeout) || c.Cause() != CauseRTPTimeout {
		t.Fatalf("err = %v, cause = %v", err, c.Cause())
	}
	c.Hangup(CauseCallerHangup) // first cause wins
	if c.Cause() != CauseRTPTimeout {
		t.Fatal("cause overwritten")
	}
	if err := c.Play(context.Background(), "missing", false); err == nil {
		t.Fatal("missing prompt played")
	}
}

func TestEventsAreNumbered(t *testing.T) {
	c, _, ev := newTestCall(t)
	c.Event("step", "a", nil)
	c.Event("step", "b", nil)
	if len(ev.events) != 2 || ev.events[0].Seq != 1 || ev.events[1].Seq != 2 || ev.events[1].TenantID != "demo" {
		t.Fatalf("events = %+v", ev.events)
	}
}
