package sip

import "hotline/call"

// finalResponse is the failure response that refuses an unanswered inbound
// call ending with cause: the cause's own SIP code when it has one, else
// the code Asterisk's chan_pjsip (hangup_cause2sip) sends for its Q.850
// code, and for a code it does not map 603 Decline, as
// ast_sip_session_terminate does with response 0.
func finalResponse(c *call.Cause) (int, string) {
	if c.SIPCode >= 300 {
		return c.SIPCode, c.Reason
	}
	switch c.Q850 {
	case 1, 2, 3: // unallocated, no route to transit network, no route to destination
		return 404, "Not Found"
	case 34, 42: // congestion, switch congestion
		return 503, "Service Unavailable"
	case 18: // no user response
		return 408, "Request Timeout"
	case 19, 20: // no answer, subscriber absent (unregistered)
		return 480, "Temporarily Unavailable"
	case 21: // call rejected
		return 403, "Forbidden"
	case 22: // number changed
		return 410, "Gone"
	case 31: // normal, unspecified
		return 480, "Temporarily Unavailable"
	case 28: // invalid number format
		return 484, "Address Incomplete"
	case 17: // user busy
		return 486, "Busy Here"
	case 38: // network out of order (AST_CAUSE_FAILURE)
		return 500, "Server Internal Error"
	case 29: // facility rejected
		return 501, "Not Implemented"
	case 66: // channel type not implemented
		return 503, "Service Unavailable"
	case 27: // destination out of order
		return 502, "Bad Gateway"
	case 58: // bearer capability not available
		return 488, "Not Acceptable Here"
	case 127: // interworking
		return 500, "Server Internal Error"
	}
	return 603, "Decline"
}

// causeOfStatus is why an outbound call failed, from the far end's final
// response. The common codes follow Hotline's choices (480 and 408 are no
// answer, 404 and 484 unallocated, 403 and 603 rejected, 500 and 503
// congestion); the rest follow Asterisk's chan_pjsip (hangup_sip2cause).
func causeOfStatus(code int) *call.Cause {
	switch code {
	case 486, 600:
		return call.CauseBusy
	case 480, 408, 483:
		return call.CauseNoAnswer
	case 404, 484, 485, 604:
		return call.CauseUnallocated
	case 401, 403, 407, 603:
		// 401/407: digest authentication is not implemented yet.
		return call.CauseRejected
	case 410:
		return causeNumberChanged
	case 420:
		return causeNoRoute
	case 488, 606:
		return call.CauseCodecMismatch
	case 500, 503:
		return call.CauseCongestion
	case 501:
		return causeFacilityRejected
	case 502:
		return causeDestOutOfOrder
	case 504:
		return causeTimerExpired
	}
	switch {
	case code >= 500 && code < 600:
		return call.CauseCongestion
	case code >= 400:
		return call.CauseInterworking
	}
	return call.CauseFailure
}

// Causes only a far end's response gives (Asterisk's hangup_sip2cause).
var (
	causeNumberChanged    = &call.Cause{Name: "number-changed", SIPCode: 410, Reason: "Gone", Q850: 22, Side: call.SideSystem}
	causeNoRoute          = &call.Cause{Name: "no-route-destination", SIPCode: 404, Reason: "Not Found", Q850: 3, Side: call.SideSystem}
	causeFacilityRejected = &call.Cause{Name: "facility-rejected", SIPCode: 501, Reason: "Not Implemented", Q850: 29, Side: call.SideSystem}
	causeDestOutOfOrder   = &call.Cause{Name: "destination-out-of-order", SIPCode: 502, Reason: "Bad Gateway", Q850: 27, Side: call.SideSystem}
	causeTimerExpired     = &call.Cause{Name: "recovery-on-timer-expire", SIPCode: 504, Reason: "Server Time-out", Q850: 102, Side: call.SideSystem}
)
