package config

import "time"

// QueueCallback lets a queue's waiting callers ask to be called back
// without losing their place in line (docs/callbacks.md).
type QueueCallback struct {
	// Key is the DTMF key that asks for a callback while waiting ("*").
	Key string `yaml:"key"`
	// Retries is how many more tries follow a first one that is busy or
	// not answered (default 3; 0: one try only).
	Retries *int `yaml:"retries"`
	// RetryGap is the least time between two tries (default 60s).
	RetryGap Duration `yaml:"retry_gap"`
	// RingTimeout is how long the caller's phone rings per try (default 30s).
	RingTimeout Duration `yaml:"ring_timeout"`
	// Expiry drops a callback not reached this long after it was asked
	// for (default 4h; disposition "expired").
	Expiry Duration `yaml:"expiry"`
	// Trunk is the outbound trunk the callbacks go over ("": the queue's
	// trunk, else the tenant's first outbound trunk).
	Trunk string `yaml:"trunk"`
	// Speech: saying "call me back" while waiting asks too. Default: on
	// when the server recognizes speech (speech.engine is not none).
	Speech *bool `yaml:"speech"`
}

// Callback defaults.
const (
	DefaultCallbackKey         = "*"
	DefaultCallbackRetries     = 3
	DefaultCallbackRetryGap    = 60 * time.Second
	DefaultCallbackRingTimeout = 30 * time.Second
	DefaultCallbackExpiry      = 4 * time.Hour
)

// checkQueueCallback validates a queue's callback block and fills its
// defaults. Callbacks are placed over an outbound trunk, so the tenant
// must have one.
func checkQueueCallback(t *Tenant, q *Queue, at func(keys ...string) int, bad func(line int, format string, args ...any)) {
	cb := q.Callback
	if cb == nil {
		return
	}
	switch {
	case cb.Key == "":
		cb.Key = DefaultCallbackKey
	case len(cb.Key) != 1 || !(cb.Key[0] >= '0' && cb.Key[0] <= '9' || cb.Key[0] == '*' || cb.Key[0] == '#'):
		bad(at("callback", "key"), "tenant %s: queue %s: callback key %q: want one of 0-9, * or #", t.ID, q.Name, cb.Key)
	}
	if cb.Retries == nil {
		n := DefaultCallbackRetries
		cb.Retries = &n
	} else if *cb.Retries < 0 || *cb.Retries > 20 {
		bad(at("callback", "retries"), "tenant %s: queue %s: callback retries %d: want 0-20", t.ID, q.Name, *cb.Retries)
	}
	for _, d := range []struct {
		key string
		v   *Duration
		def time.Duration
	}{{"retry_gap", &cb.RetryGap, DefaultCallbackRetryGap}, {"ring_timeout", &cb.RingTimeout, DefaultCallbackRingTimeout},
		{"expiry", &cb.Expiry, DefaultCallbackExpiry}} {
		switch {
		case *d.v < 0:
			bad(at("callback", d.key), "tenant %s: queue %s: callback %s must not be negative", t.ID, q.Name, d.key)
		case *d.v == 0:
			*d.v = Duration(d.def)
		}
	}
	switch {
	case cb.Trunk != "" && t.OutboundTrunkNamed(cb.Trunk) == nil:
		bad(at("callback", "trunk"), "tenant %s: queue %s: callback trunk %q is not one of the tenant's outbound trunks", t.ID, q.Name, cb.Trunk)
	case len(t.Trunks.Outbound) == 0:
		bad(at("callback"), "tenant %s: queue %s: callbacks need an outbound trunk (trunks.outbound)", t.ID, q.Name)
	}
}

// checkCallbackSpeech fills each callback queue's speech default from the
// server's recognizer (engine) and rejects speech asked for without one.
func checkCallbackSpeech(t *Tenant, engine string, at func(j int, keys ...string) int, bad func(line int, format string, args ...any)) {
	for j := range t.Queues {
		q := &t.Queues[j]
		cb := q.Callback
		if cb == nil {
			continue
		}
		has := engine != "" && engine != SpeechNone
		switch {
		case cb.Speech == nil:
			cb.Speech = &has
		case *cb.Speech && !has:
			bad(at(j, "callback", "speech"), "tenant %s: queue %s: callback speech needs a recognizer (speech.engine: %s)", t.ID, q.Name, SpeechPocketSphinx)
		}
	}
}
