package config

import (
	"errors"
	"fmt"
	"strings"
)

// Calls Hotline places for a tenant (ARI originate, click to call from the
// agent page, callbacks) go out over one of the tenant's outbound trunks.
// This file holds what they share: which characters a number may put into
// a Request-URI, the URI of a number at a trunk, and which trunk and
// caller ID a queue's calls use (docs/outbound.md).

// MaxDialNumber bounds a number an agent dials: E.164 has 15 digits, and
// carriers take a few more for prefixes and extensions.
const MaxDialNumber = 32

// Dialable keeps what goes into a SIP URI's user part to the characters a
// number can have (digits, letters, + * # . _ -): nothing that could break
// the request it goes into. ARI applications may dial such a string.
func Dialable(number string) bool {
	if number == "" || len(number) > 64 {
		return false
	}
	for _, r := range number {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || strings.ContainsRune("+*#._-", r)) {
			return false
		}
	}
	return true
}

// CheckPhoneNumber is the stricter check of a number a person typed or a
// caller ID: digits with an optional leading +, at most MaxDialNumber
// digits. The error says what is wrong, for the person who typed it.
func CheckPhoneNumber(number string) error {
	digits := strings.TrimPrefix(number, "+")
	switch {
	case number == "":
		return errors.New("the number is empty")
	case digits == "":
		return errors.New("the number has no digits after +")
	case len(digits) > MaxDialNumber:
		return fmt.Errorf("the number is too long (%d digits; at most %d)", len(digits), MaxDialNumber)
	}
	for i, r := range digits {
		if r < '0' || r > '9' {
			return fmt.Errorf("the number may only hold digits and a leading +; %q at position %d is not allowed", r, i+1+len(number)-len(digits))
		}
	}
	return nil
}

// URI is the SIP URI of number at the trunk (transport parameter for TCP).
// number must be Dialable.
func (o *OutboundTrunk) URI(number string) string {
	target := "sip:" + number + "@" + o.Address
	if o.Transport == "tcp" {
		target += ";transport=tcp"
	}
	return target
}

// OutboundTrunkNamed is the tenant's outbound trunk called name, or nil.
func (t *Tenant) OutboundTrunkNamed(name string) *OutboundTrunk {
	for i := range t.Trunks.Outbound {
		if t.Trunks.Outbound[i].Name == name {
			return &t.Trunks.Outbound[i]
		}
	}
	return nil
}

// ErrNoOutboundTrunk: the tenant has no outbound trunk to place a call over.
var ErrNoOutboundTrunk = errors.New("no outbound trunk is configured for this tenant")

// OutboundRoute is the trunk and caller ID number of a call the tenant
// places on behalf of queue ("": none): the queue's trunk when it names
// one, else the tenant's first outbound trunk; the queue's caller_id,
// else the trunk's (may be ""). An unknown queue is an error, so a typo
// does not silently send the wrong caller ID.
func (t *Tenant) OutboundRoute(queue string) (*OutboundTrunk, string, error) {
	var q *Queue
	if queue != "" {
		for i := range t.Queues {
			if t.Queues[i].Name == queue {
				q = &t.Queues[i]
			}
		}
		if q == nil {
			return nil, "", fmt.Errorf("no queue %q", queue)
		}
	}
	var trunk *OutboundTrunk
	switch {
	case q != nil && q.Trunk != "":
		if trunk = t.OutboundTrunkNamed(q.Trunk); trunk == nil {
			return nil, "", fmt.Errorf("queue %s: no outbound trunk %q", queue, q.Trunk)
		}
	case len(t.Trunks.Outbound) > 0:
		trunk = &t.Trunks.Outbound[0]
	default:
		return nil, "", ErrNoOutboundTrunk
	}
	callerID := trunk.CallerID
	if q != nil && q.CallerID != "" {
		callerID = q.CallerID
	}
	return trunk, callerID, nil
}

// checkQueueOutbound validates a queue's outbound fields: its trunk must
// be one of the tenant's outbound trunks, its caller ID a phone number.
func checkQueueOutbound(t *Tenant, q *Queue, at func(key string) int, bad func(line int, format string, args ...any)) {
	if q.Trunk != "" && t.OutboundTrunkNamed(q.Trunk) == nil {
		bad(at("trunk"), "tenant %s: queue %s: trunk %q is not one of the tenant's outbound trunks", t.ID, q.Name, q.Trunk)
	}
	if q.CallerID != "" {
		if err := CheckPhoneNumber(q.CallerID); err != nil {
			bad(at("caller_id"), "tenant %s: queue %s: caller_id %q: %v", t.ID, q.Name, q.CallerID, err)
		}
	}
}
