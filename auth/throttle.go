package auth

import (
	"sync"
	"time"
)

// ThrottleConfig sets how a Throttle slows down guessing.
type ThrottleConfig struct {
	// Free is how many attempts a key gets before lockouts begin.
	Free int
	// Base is the lockout after the Free-th failed attempt; each further
	// failure doubles it, up to Max.
	Base time.Duration
	Max  time.Duration
	// Forget clears a key's record once it has had no attempt for this
	// long, so a user who mistyped last week starts afresh.
	Forget time.Duration
}

// DefaultUserThrottle applies per (tenant, username): 5 tries, then 30 s,
// 1 min, 2 min ... up to 15 min between tries, which makes online guessing
// hopeless while a locked-out agent waits minutes, not hours.
func DefaultUserThrottle() ThrottleConfig {
	return ThrottleConfig{Free: 5, Base: 30 * time.Second, Max: 15 * time.Minute, Forget: time.Hour}
}

// DefaultIPThrottle applies per client address. It is looser than the
// per-user rule because a call centre's agents usually share one office
// NAT address, and one agent's typos must not lock out the floor; it
// catches one address spraying guesses across many usernames.
func DefaultIPThrottle() ThrottleConfig {
	return ThrottleConfig{Free: 20, Base: 30 * time.Second, Max: 15 * time.Minute, Forget: time.Hour}
}

func (c ThrottleConfig) withDefaults(d ThrottleConfig) ThrottleConfig {
	if c.Free <= 0 {
		c.Free = d.Free
	}
	if c.Base <= 0 {
		c.Base = d.Base
	}
	if c.Max < c.Base {
		c.Max = max(d.Max, c.Base)
	}
	if c.Forget <= 0 {
		c.Forget = d.Forget
	}
	return c
}

// Throttle counts login attempts per key in memory. State is lost on
// restart, which is acceptable: a restart is rare and costs an attacker
// nothing they could not get by waiting out the Forget window.
//
// Attempts are counted when they start, not when they fail, so a burst of
// concurrent guesses cannot all slip through before the first one fails;
// a successful login then gives its attempt back.
type Throttle struct {
	cfg ThrottleConfig
	now func() time.Time

	mu        sync.Mutex
	keys      map[string]*strikes
	lastSweep time.Time
}

type strikes struct {
	n     int       // attempts counted
	last  time.Time // latest attempt
	until time.Time // locked until
}

// NewThrottle returns a Throttle reading time from now.
func NewThrottle(cfg ThrottleConfig, now func() time.Time) *Throttle {
	if now == nil {
		now = time.Now
	}
	return &Throttle{cfg: cfg.withDefaults(DefaultUserThrottle()), now: now, keys: map[string]*strikes{}}
}

// lockout is the wait after the n-th counted attempt.
func (t *Throttle) lockout(n int) time.Duration {
	if n < t.cfg.Free {
		return 0
	}
	shift := n - t.cfg.Free
	if shift >= 32 {
		return t.cfg.Max
	}
	d := t.cfg.Base << shift
	if d <= 0 || d > t.cfg.Max {
		return t.cfg.Max
	}
	return d
}

// Acquire counts an attempt for key. While the key is locked out it counts
// nothing and returns how long to wait, with ok false.
func (t *Throttle) Acquire(key string) (wait time.Duration, ok bool) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sweepLocked(now)
	s := t.keys[key]
	if s != nil && now.Sub(s.last) >= t.cfg.Forget && !now.Before(s.until) {
		s = nil
	}
	if s == nil {
		s = &strikes{}
		t.keys[key] = s
	}
	if now.Before(s.until) {
		return s.until.Sub(now), false
	}
	s.n++
	s.last = now
	if d := t.lockout(s.n); d > 0 {
		s.until = now.Add(d)
	}
	return 0, true
}

// Release gives back an attempt that turned out not to be a failed guess
// (a successful login, or a server error), lifting a lockout it caused.
func (t *Throttle) Release(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.keys[key]
	if s == nil {
		return
	}
	s.n = max(s.n-1, 0)
	if s.n < t.cfg.Free {
		s.until = time.Time{}
	} else {
		s.until = s.last.Add(t.lockout(s.n))
	}
}

// Reset forgets key, as after a successful login by its user.
func (t *Throttle) Reset(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.keys, key)
}

// Len returns the number of keys held, for tests and metrics.
func (t *Throttle) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.keys)
}

// Sweep drops keys that are neither locked nor remembered any more.
func (t *Throttle) Sweep() {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lastSweep = time.Time{}
	t.sweepLocked(now)
}

// sweepLocked runs at most once a minute from Acquire, which bounds the
// map by the attempts of the last Forget window whatever the caller does.
func (t *Throttle) sweepLocked(now time.Time) {
	if now.Sub(t.lastSweep) < time.Minute {
		return
	}
	t.lastSweep = now
	for k, s := range t.keys {
		if now.Sub(s.last) >= t.cfg.Forget && !now.Before(s.until) {
			delete(t.keys, k)
		}
	}
}
