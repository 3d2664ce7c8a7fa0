package call

import (
	"errors"
	"fmt"
)

// Side says who ended a call.
type Side string

const (
	SideCaller Side = "caller"
	SideSystem Side = "system"
	SideAgent  Side = "agent"
)

// Cause is why a call ended or was refused. One value carries every view of
// it (the SIP response, the CDR cause, the Q.850 code ARI reports and the
// metric label), so those never disagree.
type Cause struct {
	Name    string // CDR cause and metric label
	SIPCode int    // response for an unanswered call; 0 when the call was answered
	Reason  string // SIP reason phrase
	Q850    int
	Side    Side
}

func (c *Cause) Error() string {
	if c.SIPCode != 0 {
		return fmt.Sprintf("%s (%d %s)", c.Name, c.SIPCode, c.Reason)
	}
	return c.Name
}

// With returns a copy of c with a more specific reason phrase, e.g. which
// check refused the call.
func (c *Cause) With(reason string) *Cause {
	cp := *c
	cp.Reason = reason
	return &cp
}

// The causes Hotline knows. Names are stable: reports and metrics use them.
var (
	CauseCallerHangup   = &Cause{Name: "caller-hangup", Q850: 16, Side: SideCaller}
	CauseNormal         = &Cause{Name: "normal-clearing", Q850: 16, Side: SideSystem}
	CauseFlowHangup     = &Cause{Name: "flow-hangup", Q850: 16, Side: SideSystem}
	CauseCancelled      = &Cause{Name: "caller-cancel", SIPCode: 487, Reason: "Request Terminated", Q850: 16, Side: SideCaller}
	CauseRTPTimeout     = &Cause{Name: "rtp-timeout", Q850: 41, Side: SideSystem}
	CauseACKTimeout     = &Cause{Name: "ack-timeout", Q850: 41, Side: SideSystem}
	CauseShutdown       = &Cause{Name: "shutdown", SIPCode: 503, Reason: "Service Unavailable", Q850: 41, Side: SideSystem}
	CauseForbidden      = &Cause{Name: "forbidden-source", SIPCode: 403, Reason: "Forbidden", Q850: 21, Side: SideSystem}
	CauseUnknownNumber  = &Cause{Name: "unknown-number", SIPCode: 404, Reason: "Not Found", Q850: 1, Side: SideSystem}
	CauseNoCodec        = &Cause{Name: "no-common-codec", SIPCode: 488, Reason: "Not Acceptable Here", Q850: 65, Side: SideSystem}
	CauseOverload       = &Cause{Name: "overload", SIPCode: 503, Reason: "Service Unavailable", Q850: 42, Side: SideSystem}
	CauseNoMediaPorts   = &Cause{Name: "no-media-ports", SIPCode: 503, Reason: "Service Unavailable", Q850: 47, Side: SideSystem}
	CauseBadRequest     = &Cause{Name: "bad-request", SIPCode: 400, Reason: "Bad Request", Q850: 95, Side: SideSystem}
	CauseFlowError      = &Cause{Name: "flow-error", Q850: 41, Side: SideSystem}
	CauseServerError    = &Cause{Name: "server-error", SIPCode: 500, Reason: "Server Internal Error", Q850: 41, Side: SideSystem}
	CauseSessionExpired = &Cause{Name: "session-expired", Q850: 102, Side: SideSystem}
)

// CauseOf finds the Cause in err's chain, or a server error when none.
func CauseOf(err error) *Cause {
	var c *Cause
	if errors.As(err, &c) {
		return c
	}
	return CauseServerError
}
