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
	// SideCallee is the far end of a call Hotline placed.
	SideCallee Side = "callee"
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
	CauseAgentHangup    = &Cause{Name: "agent-hangup", Q850: 16, Side: SideAgent}
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

// The causes an ARI hangup reason names (normal is CauseNormal), and those
// an outbound call's failure response maps to. Each carries the Q.850 code
// Asterisk uses for it and, as SIPCode, the response Asterisk's chan_pjsip
// (hangup_cause2sip) sends for that code when it refuses an unanswered call.
var (
	CauseBusy              = &Cause{Name: "busy", SIPCode: 486, Reason: "Busy Here", Q850: 17, Side: SideSystem}
	CauseNoUserResponse    = &Cause{Name: "no-user-response", SIPCode: 408, Reason: "Request Timeout", Q850: 18, Side: SideSystem} // ARI "timeout"
	CauseNoAnswer          = &Cause{Name: "no-answer", SIPCode: 480, Reason: "Temporarily Unavailable", Q850: 19, Side: SideSystem}
	CauseRejected          = &Cause{Name: "rejected", SIPCode: 403, Reason: "Forbidden", Q850: 21, Side: SideSystem}
	CauseUnallocated       = &Cause{Name: "unallocated", SIPCode: 404, Reason: "Not Found", Q850: 1, Side: SideSystem}
	CauseNumberIncomplete  = &Cause{Name: "number-incomplete", SIPCode: 484, Reason: "Address Incomplete", Q850: 28, Side: SideSystem}
	CauseNormalUnspecified = &Cause{Name: "normal-unspecified", SIPCode: 480, Reason: "Temporarily Unavailable", Q850: 31, Side: SideSystem}
	CauseCongestion        = &Cause{Name: "congestion", SIPCode: 503, Reason: "Service Unavailable", Q850: 34, Side: SideSystem}
	CauseFailure           = &Cause{Name: "failure", SIPCode: 500, Reason: "Server Internal Error", Q850: 38, Side: SideSystem}
	CauseCodecMismatch     = &Cause{Name: "codec-mismatch", SIPCode: 488, Reason: "Not Acceptable Here", Q850: 58, Side: SideSystem}
	CauseInterworking      = &Cause{Name: "interworking", SIPCode: 500, Reason: "Server Internal Error", Q850: 127, Side: SideSystem}
	// CauseAnsweredElsewhere has no SIPCode of its own: chan_pjsip sends
	// its default, 603 Decline.
	CauseAnsweredElsewhere = &Cause{Name: "answered-elsewhere", Q850: 26, Side: SideSystem}
	// CauseRemoteHangup: the far end of a call Hotline placed hung up (BYE).
	CauseRemoteHangup = &Cause{Name: "remote-hangup", Q850: 16, Side: SideCallee}
)

// CauseRedirected ends a call sent elsewhere (a 302, or a REFER the far
// end accepted); Q.850 23 is "redirection to new destination".
var CauseRedirected = &Cause{Name: "redirected", Q850: 23, Side: SideSystem}

// CauseOf finds the Cause in err's chain, or a server error when none.
func CauseOf(err error) *Cause {
	var c *Cause
	if errors.As(err, &c) {
		return c
	}
	return CauseServerError
}
