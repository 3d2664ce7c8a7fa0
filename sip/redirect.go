package sip

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"

	"hotline/call"
)

// ErrRedirectRefused is Redirect's error when the far end declines a
// REFER (the call goes on).
var ErrRedirectRefused = errors.New("sip: transfer refused")

// Redirect sends the far end to target (a SIP URI), as Asterisk's ARI
// redirect does on PJSIP: a 302 Moved Temporarily while an inbound call is
// unanswered, a REFER (blind transfer) once it is up. The call then ends
// with cause redirected. It implements call.Redirector.
func (d *dialog) Redirect(target string) error {
	var uri sipmsg.Uri
	if err := sipmsg.ParseUri(target, &uri); err != nil || uri.Host == "" {
		return fmt.Errorf("sip redirect: target %q is not a SIP URI", target)
	}
	if !d.outbound {
		d.ansMu.Lock()
		if d.final == 0 {
			if c := d.call.Cause(); c != nil {
				d.ansMu.Unlock()
				return c
			}
			res := sipmsg.NewResponseFromRequest(d.invite, 302, "Moved Temporarily", nil)
			res.AppendHeader(&sipmsg.ContactHeader{Address: uri})
			d.s.send(d.tx, res)
			d.final = 302
			d.ansMu.Unlock()
			d.call.Hangup(call.CauseRedirected)
			return nil
		}
		final := d.final
		d.ansMu.Unlock()
		if final != 200 {
			return errCallEnded
		}
	} else if d.call.State() != call.StateUp {
		return errors.New("sip redirect: an outbound call is redirected once answered")
	}
	refer := d.request(sipmsg.REFER, 0)
	refer.AppendHeader(sipmsg.NewHeader("Refer-To", "<"+uri.String()+">"))
	refer.AppendHeader(sipmsg.NewHeader("Referred-By", d.contact().Address.String()))
	refer.AppendHeader(d.contact())
	ctx, cancel := context.WithTimeout(d.call.Context(), 8*time.Second)
	defer cancel()
	opt := sipgo.ClientRequestAddVia
	if d.outbound {
		opt = sipgo.ClientRequestBuild // request added our Via
	}
	res, err := d.s.transact(ctx, refer, opt)
	switch {
	case err != nil:
		return fmt.Errorf("sip redirect: REFER: %w", err)
	case res.StatusCode >= 300:
		return fmt.Errorf("%w: REFER answered %d %s", ErrRedirectRefused, res.StatusCode, res.Reason)
	}
	// Accepted: the far end calls the target itself; our leg is done
	// (we do not wait for its NOTIFYs, as a blind transfer).
	d.call.Hangup(call.CauseRedirected)
	return nil
}
