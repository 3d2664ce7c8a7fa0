package sip

import (
	"bytes"
	"encoding/hex"
	"hash/fnv"
	"net/netip"
	"strconv"
)

// rawHeaders are the lines of a message the filter answers statelessly,
// read leniently (LF or CRLF line ends, folding) since the message may be
// broken in any way.
type rawHeaders struct {
	method  []byte
	vias    [][]byte
	from    []byte
	to      []byte
	callID  []byte
	cseq    []byte
	require [][]byte
}

// maxAnswerVias bounds the Via lines copied into an answer.
const maxAnswerVias = 70

func readRawHeaders(msg []byte) (h rawHeaders) {
	var unfold []byte // only for folded lines
	line, rest := cutLine(msg)
	if sp := bytes.IndexByte(line, ' '); sp > 0 {
		h.method = line[:sp]
	}
	for len(rest) > 0 {
		line, rest = cutLine(rest)
		if len(line) == 0 {
			break // end of the header section
		}
		if len(rest) > 0 && isContinuation(rest[0]) {
			unfold = append(unfold[len(unfold):], trimBlanksRight(line)...)
			for len(rest) > 0 && isContinuation(rest[0]) {
				var cont []byte
				cont, rest = cutLine(rest)
				unfold = append(unfold, ' ')
				unfold = append(unfold, trimLWS(cont)...)
			}
			line = unfold
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			continue
		}
		value := bytes.TrimSpace(line[colon+1:])
		switch headerID(bytes.TrimSpace(line[:colon])) {
		case hVia:
			if len(h.vias) < maxAnswerVias {
				h.vias = append(h.vias, value)
			}
		case hFrom:
			h.from = firstOf(h.from, value)
		case hTo:
			h.to = firstOf(h.to, value)
		case hCallID:
			h.callID = firstOf(h.callID, value)
		case hCSeq:
			h.cseq = firstOf(h.cseq, value)
		case hRequire:
			h.require = append(h.require, value)
		}
	}
	return h
}

func firstOf(have, v []byte) []byte {
	if have != nil {
		return have
	}
	return v
}

// cutLine splits at the first LF, dropping a CR before it.
func cutLine(b []byte) (line, rest []byte) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		line, rest = b, nil
	} else {
		line, rest = b[:i], b[i+1:]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, rest
}

// answerable: a request we may answer. Never an ACK (RFC 3261 17.2.3), and
// only with a Via to match and route the answer by.
func (h *rawHeaders) answerable() bool {
	return string(h.method) != "ACK" && len(h.vias) > 0 && usableVia(h.vias[0]) != nil
}

// usableVia is a Via value, or its first via-parm, that parses; nil if
// neither does. Answers carry only what the sender can parse back.
func usableVia(v []byte) []byte {
	if viaOK(v) {
		return v
	}
	if first, _ := cutComma(v); viaOK(first) {
		return first
	}
	return nil
}

func usableAddr(v []byte) bool {
	ok, wild := addrOK(v)
	return ok && !wild
}

// buildAnswer writes a stateless response to a request the filter refuses,
// copying Via, From, To, Call-ID and CSeq (RFC 3261 8.2.6.2), with a To tag,
// and received/rport on the top Via (RFC 3261 18.2.1, RFC 3581).
func buildAnswer(dst []byte, h *rawHeaders, code int, reason string, src netip.AddrPort, server string) []byte {
	dst = append(dst, "SIP/2.0 "...)
	dst = strconv.AppendInt(dst, int64(code), 10)
	dst = append(dst, ' ')
	dst = append(dst, reason...)
	dst = append(dst, "\r\n"...)
	for i, v := range h.vias {
		if v = usableVia(v); v == nil {
			continue
		}
		dst = append(dst, "Via: "...)
		if i == 0 {
			dst = appendTopVia(dst, appendCanonVia(nil, v), src)
		} else {
			dst = appendValue(dst, v)
		}
		dst = append(dst, "\r\n"...)
	}
	if h.from != nil && usableAddr(h.from) {
		dst = append(dst, "From: "...)
		dst = appendValue(dst, appendCanonAddr(nil, h.from))
		dst = append(dst, "\r\n"...)
	}
	if h.to != nil && usableAddr(h.to) {
		dst = append(dst, "To: "...)
		dst = appendValue(dst, appendCanonAddr(nil, h.to))
		if !hasTag(h.to) {
			dst = append(dst, ";tag="...)
			dst = append(dst, h.tag()...)
		}
		dst = append(dst, "\r\n"...)
	}
	if h.callID != nil {
		dst = append(dst, "Call-ID: "...)
		dst = appendValue(dst, h.callID)
		dst = append(dst, "\r\n"...)
	}
	if _, _, ok := cseqParse(h.cseq); ok {
		dst = append(dst, "CSeq: "...)
		dst = appendValue(dst, h.cseq)
		dst = append(dst, "\r\n"...)
	}
	switch code {
	case 420:
		dst = append(dst, "Unsupported: "...)
		n := 0
		for _, v := range h.require {
			eachItem(v, func(tag []byte) {
				if optionSupported(tag) {
					return
				}
				if n > 0 {
					dst = append(dst, ", "...)
				}
				dst = appendValue(dst, tag)
				n++
			})
		}
		dst = append(dst, "\r\n"...)
	case 501, 405:
		dst = append(dst, "Allow: "+allowMethods+"\r\n"...)
	case 415:
		dst = append(dst, "Accept: application/sdp\r\n"...)
	case 406:
		dst = append(dst, "Warning: 399 hotline \"Only application/sdp bodies are supported\"\r\n"...)
	}
	if server != "" {
		dst = append(dst, "Server: "...)
		dst = append(dst, server...)
		dst = append(dst, "\r\n"...)
	}
	return append(dst, "Content-Length: 0\r\n\r\n"...)
}

// appendValue copies a header value, blanking stray CRs so the answer's
// framing cannot be broken by what the request held.
func appendValue(dst, v []byte) []byte {
	start := len(dst)
	dst = append(dst, v...)
	for i := start; i < len(dst); i++ {
		if dst[i] == '\r' || dst[i] == '\n' {
			dst[i] = ' '
		}
	}
	return dst
}

// appendTopVia copies the top Via value, filling an empty rport with the
// source port and adding received when the sent-by host is not the source
// address.
func appendTopVia(dst, v []byte, src netip.AddrPort) []byte {
	if !src.IsValid() {
		return appendValue(dst, v)
	}
	// The first via-parm ends at a comma outside quotes.
	end := len(v)
	inQ := false
	for i, c := range v {
		if c == '"' {
			inQ = !inQ
		} else if c == ',' && !inQ {
			end = i
			break
		}
	}
	parm, rest := v[:end], v[end:]
	sentBy, params := parm, []byte(nil)
	if i := bytes.IndexByte(parm, ';'); i >= 0 {
		sentBy, params = parm[:i], parm[i:]
	}
	dst = appendValue(dst, sentBy)
	hasReceived := false
	for len(params) > 0 {
		// params is ";name[=value]..."
		next := bytes.IndexByte(params[1:], ';')
		p := params
		if next >= 0 {
			p, params = params[:next+1], params[next+1:]
		} else {
			params = nil
		}
		name := trimLWS(p[1:])
		if i := bytes.IndexByte(name, '='); i >= 0 {
			name = trimLWS(name[:i])
		}
		switch {
		case eqFold(name, "received"):
			hasReceived = true
			dst = appendValue(dst, p)
		case eqFold(name, "rport") && bytes.IndexByte(p, '=') < 0:
			dst = append(dst, ";rport="...)
			dst = strconv.AppendUint(dst, uint64(src.Port()), 10)
		default:
			dst = appendValue(dst, p)
		}
	}
	if !hasReceived && !sentByIs(sentBy, src.Addr()) {
		dst = append(dst, ";received="...)
		dst = src.Addr().Unmap().AppendTo(dst)
	}
	return appendValue(dst, rest)
}

// sentByIs: the Via's sent-by host is the address a.
func sentByIs(sentBy []byte, a netip.Addr) bool {
	// "SIP/2.0/UDP host[:port]"
	i := bytes.IndexAny(sentBy, " \t")
	if i < 0 {
		return false
	}
	host := trimLWS(sentBy[i+1:])
	if len(host) > 0 && host[0] == '[' {
		end := bytes.IndexByte(host, ']')
		if end < 0 {
			return false
		}
		host = host[1:end]
	} else if c := bytes.IndexByte(host, ':'); c >= 0 {
		host = host[:c]
	}
	h, err := netip.ParseAddr(string(trimLWS(host)))
	return err == nil && h.Unmap() == a.Unmap()
}

// hasTag: a To value with a tag parameter (after the URI).
func hasTag(to []byte) bool {
	if i := bytes.LastIndexByte(to, '>'); i >= 0 {
		to = to[i:]
	}
	for {
		i := bytes.IndexByte(to, ';')
		if i < 0 {
			return false
		}
		to = trimLWS(to[i+1:])
		if len(to) >= 3 && eqFold(to[:3], "tag") && bytes.IndexByte(trimLWS(to[3:]), '=') == 0 {
			return true
		}
	}
}

// tag is a To tag that is the same for every retransmission of a request,
// so a stateless answer is stable.
func (h *rawHeaders) tag() []byte {
	f := fnv.New64a()
	f.Write(h.callID)
	f.Write(h.from)
	f.Write(h.cseq)
	f.Write(h.to)
	var sum [8]byte
	return hex.AppendEncode(nil, f.Sum(sum[:0]))
}
