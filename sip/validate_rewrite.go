package sip

import (
	"bytes"
	"encoding/hex"
	"hash/fnv"
)

// Some valid messages parse in sipgo into values its transaction layer
// cannot use, and it answers them 400 itself (with an error log line each):
//
//   - LWS inside header parameters (RFC 3261 allows it around ";" and "=",
//     and around "/" in a Via's sent-protocol: RFC 4475 wsinv). sipgo keeps
//     it in parameter names ("branch  "), so it finds no branch and no From
//     tag, and it takes " TCP" for a Via's host.
//   - RFC 2543 requests (no branch) without a From tag (RFC 4475 inv2543):
//     sipgo's 2543 transaction matching needs the From tag.
//
// The filter hands sipgo a copy of such a message with those headers
// rewritten: Via, From and To without the optional LWS, and for a 2543
// request a branch made from what RFC 3261 17.2.3 matches 2543 requests on,
// so retransmissions, the ACK of a failure and a CANCEL find the
// transaction. Only these messages are copied; the rest pass untouched.

// cutComma splits at the first comma outside a quoted string.
func cutComma(v []byte) (first, rest []byte) {
	inQ := false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case inQ && c == '\\':
			i++
		case c == '"':
			inQ = !inQ
		case c == ',' && !inQ:
			return v[:i], v[i+1:]
		}
	}
	return v, nil
}

// hasLWS: SP or HTAB outside quoted strings.
func hasLWS(s []byte) bool {
	inQ := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case inQ && c == '\\':
			i++
		case c == '"':
			inQ = !inQ
		case (c == ' ' || c == '\t') && !inQ:
			return true
		}
	}
	return false
}

// appendNoLWS copies s without SP and HTAB outside quoted strings.
func appendNoLWS(dst, s []byte) []byte {
	inQ := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inQ && c == '\\' && i+1 < len(s):
			dst = append(dst, c, s[i+1])
			i++
			continue
		case c == '"':
			inQ = !inQ
		case (c == ' ' || c == '\t') && !inQ:
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

// viaCanonical: every via-parm is "name/version/transport SP sent-by;params"
// with that one SP as its only LWS (LWS around the commas between via-parms
// is fine). One pass: it runs on every Via of every message.
func viaCanonical(v []byte) bool {
	// The usual Via: one via-parm, no quotes, no tabs (v is trimmed).
	if bytes.IndexByte(v, ',') < 0 && bytes.IndexByte(v, '"') < 0 && bytes.IndexByte(v, '\t') < 0 {
		sp := bytes.IndexByte(v, ' ')
		if sp <= 0 {
			return true // no LWS at all
		}
		return bytes.IndexByte(v[sp+1:], ' ') < 0 && v[sp-1] != '/' && bytes.Count(v[:sp], []byte("/")) == 2
	}
	slashes, spaces, inQ, atStart := 0, 0, false, true
	for i := 0; i < len(v); i++ {
		c := v[i]
		if inQ {
			if c == '\\' {
				i++
			} else if c == '"' {
				inQ = false
			}
			continue
		}
		if c == ' ' || c == '\t' {
			j := i + 1
			for j < len(v) && (v[j] == ' ' || v[j] == '\t') {
				j++
			}
			if atStart || j == len(v) || v[j] == ',' {
				i = j - 1 // around a comma, or at the ends
				continue
			}
			if j-i != 1 || c != ' ' || spaces > 0 || slashes != 2 || v[i-1] == '/' {
				return false
			}
			spaces++
			continue
		}
		atStart = false
		switch c {
		case '"':
			inQ = true
		case '/':
			slashes++
		case ',':
			slashes, spaces, atStart = 0, 0, true
		}
	}
	return true
}

// appendCanonVia writes a Via value in canonical form.
func appendCanonVia(dst, v []byte) []byte {
	for first := true; len(v) > 0; first = false {
		var parm []byte
		parm, v = cutComma(v)
		parm = trimLWS(parm)
		if !first {
			dst = append(dst, ", "...)
		}
		i, slashes := 0, 0
		for ; i < len(parm) && slashes < 2; i++ {
			if c := parm[i]; c != ' ' && c != '\t' {
				dst = append(dst, c)
				if c == '/' {
					slashes++
				}
			}
		}
		for i < len(parm) && (parm[i] == ' ' || parm[i] == '\t') {
			i++
		}
		for ; i < len(parm) && parm[i] != ' ' && parm[i] != '\t'; i++ {
			dst = append(dst, parm[i]) // the transport
		}
		dst = append(dst, ' ')
		dst = appendNoLWS(dst, trimLWS(parm[i:]))
	}
	return dst
}

// addrParamsAt is where the header parameters of a From/To value start: past
// the '>' of a name-addr, else at the first ';' of an addr-spec.
func addrParamsAt(v []byte) int {
	inQ := false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case inQ && c == '\\':
			i++
		case c == '"':
			inQ = !inQ
		case inQ:
		case c == '<':
			if j := bytes.IndexByte(v[i:], '>'); j >= 0 {
				return i + j + 1
			}
			return len(v)
		case c == ';':
			return i
		}
	}
	return len(v)
}

func addrCanonical(v []byte) bool { return !hasLWS(v[addrParamsAt(v):]) }

func appendCanonAddr(dst, v []byte) []byte {
	k := addrParamsAt(v)
	return appendNoLWS(append(dst, v[:k]...), v[k:])
}

// param finds a header parameter by its exact name as sipgo reads it: LWS
// around ';' and '=' tolerated (the rewrite removes it), the last of equal
// names wins (sipgo's HeaderParams.Add), and in a Via nothing from a quoted
// value on is readable (sipgo's UnmarshalHeaderParams keys it by the rest of
// the line and loses the ';' after it).
func param(params []byte, name string, via bool) (val []byte, found bool) {
	for len(params) > 0 {
		var item []byte
		if i := bytes.IndexByte(params, ';'); i >= 0 {
			item, params = params[:i], params[i+1:]
		} else {
			item, params = params, nil
		}
		if via && bytes.IndexByte(item, '"') >= 0 {
			break
		}
		// A Via parameter's name ends at its first '=', an address
		// header's at its last (sipgo's two parsers differ).
		key, v := item, []byte(nil)
		i := bytes.IndexByte(item, '=')
		if !via {
			i = bytes.LastIndexByte(item, '=')
		}
		if i >= 0 {
			key, v = item[:i], trimLWS(item[i+1:])
		}
		if string(trimLWS(key)) == name {
			val, found = v, true
		}
	}
	return val, found
}

func hasParam(params []byte, name string) bool {
	_, ok := param(params, name, true)
	return ok
}

// viaHasBranch: the first via-parm has an RFC 3261 branch, by sipgo's test.
func viaHasBranch(v []byte) bool {
	parm, _ := cutComma(v)
	i := bytes.IndexByte(parm, ';')
	if i < 0 {
		return false
	}
	b, ok := param(parm[i+1:], "branch", true)
	return ok && len(b) > 7 && string(b[:7]) == "z9hG4bK"
}

func addrHasTag(v []byte) bool {
	// After a '>' all is parameters, even without a ';' (sipgo's way).
	_, ok := param(v[addrParamsAt(v):], "tag", false)
	return ok
}

// rewriteMessage returns a copy of msg (one message that passed the scan,
// header section ending at hdrEnd) with Via, From and To in canonical form,
// with a made-up branch on the top Via when branch2543, and with rport on
// it when rport (symmetric answers, RFC 3581).
func rewriteMessage(msg []byte, hdrEnd int, branch2543, rport bool) []byte {
	out := make([]byte, 0, len(msg)+64)
	line, pos, _ := nextLine(msg, 0)
	out = append(append(out, line...), "\r\n"...)
	ruri := line
	if _, p1, _, ok := split3(line); ok {
		ruri = p1
	}
	var fold []byte
	firstVia := true
	for pos < hdrEnd-2 {
		start := pos
		line, next, _ := nextLine(msg, pos)
		pos = next
		if pos < len(msg) && isContinuation(msg[pos]) {
			fold, pos, _ = foldLine(fold[:0], line, msg, pos)
			line = fold
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			out = append(out, msg[start:pos]...)
			continue
		}
		name := bytes.TrimSpace(line[:colon])
		value := bytes.TrimSpace(line[colon+1:])
		switch headerID(name) {
		case hVia:
			out = append(append(out, name...), ": "...)
			if firstVia && (branch2543 || rport) {
				parm, rest := cutComma(value)
				out = appendCanonVia(out, parm)
				if branch2543 {
					out = append(out, ";branch=z9hG4bK2543."...)
					out = append(out, branch2543Of(msg, ruri)...)
				}
				if i := bytes.IndexByte(parm, ';'); rport && (i < 0 || !hasParam(parm[i+1:], "rport")) {
					out = append(out, ";rport"...)
				}
				if len(rest) > 0 {
					out = appendCanonVia(append(out, ", "...), rest)
				}
			} else {
				out = appendCanonVia(out, value)
			}
			firstVia = false
		case hFrom, hTo:
			out = appendCanonAddr(append(append(out, name...), ": "...), value)
		default:
			out = append(out, msg[start:pos]...)
			continue
		}
		out = append(out, "\r\n"...)
	}
	return append(out, msg[pos:]...) // the blank line and the body
}

// branch2543Of hashes what RFC 3261 17.2.3 matches a 2543 request on,
// leaving out the method and the To tag, so that the INVITE, its
// retransmissions, the ACK of a failure and a CANCEL share it: Request-URI,
// Call-ID, From, CSeq number and top Via.
func branch2543Of(msg, ruri []byte) []byte {
	h := readRawHeaders(msg)
	f := fnv.New64a()
	f.Write(ruri)
	f.Write([]byte{0})
	f.Write(h.callID)
	f.Write([]byte{0})
	f.Write(appendCanonAddr(nil, h.from))
	f.Write([]byte{0})
	if num, _, ok := cseqParse(h.cseq); ok {
		var b [8]byte
		for i := range b {
			b[i] = byte(num >> (8 * i))
		}
		f.Write(b[:])
	}
	if len(h.vias) > 0 {
		parm, _ := cutComma(h.vias[0])
		f.Write(appendCanonVia(nil, parm))
	}
	var sum [8]byte
	return hex.AppendEncode(nil, f.Sum(sum[:0]))
}
