package sip

import (
	"bytes"
	"net/netip"
	"unicode/utf8"
)

// This file is the read filter's message check: one pass over the raw bytes
// of a datagram (or of one complete header section on a stream) that
//
//   - predicts whether sipgo's parser will accept the message, by following
//     sipgo v1.7.3's own rules for the start line, line framing, folding and
//     the headers it parses (Via, From, To, Contact, Call-ID, CSeq,
//     Max-Forwards, Content-Length, Content-Type, Route, Record-Route,
//     Refer-To, Referred-By); sipgo drops what it cannot parse without a
//     word to the sender, so whatever it would drop is answered here;
//   - applies the RFC 3261 checks sipgo does not make (RFC 4475 torture
//     cases): method token, SIP version (505), Request-URI scheme (416),
//     headers in the Request-URI, IPv6 references, required headers, single
//     valued headers given twice, CSeq range and method, Content-Length,
//     a top Via a response can be routed and matched by, Require (420), and
//     for INVITE the body type (415) and Accept (406);
//   - flags the valid messages sipgo would misread, for the filter to pass
//     on rewritten (validate_rewrite.go).
//
// The scan allocates nothing for a well-formed message; the only copies are
// of folded header lines, which sipgo folds the same way.

// msgKind is what the first line says the message is.
type msgKind uint8

const (
	kindRequest msgKind = iota
	kindResponse
)

// maxMessage is sipgo's ParseMaxMessageLength.
const maxMessage = 65535

// maxCSeq is the largest CSeq sipgo accepts (RFC 3261 8.1.1.5: < 2**31).
const maxCSeq = 1<<31 - 1

// scanResult is the verdict on one message.
type scanResult struct {
	kind msgKind
	// code is 0 when the message may go on to sipgo; otherwise the status
	// to answer a request with (responses are never answered, only
	// dropped).
	code   int
	reason string
	// close: on a stream the message boundary is lost (no usable
	// Content-Length) and the connection must be closed.
	close bool
	// hdrEnd is the offset just past the blank line ending the header
	// section; 0 when there is none.
	hdrEnd int
	// clen is the Content-Length, -1 when absent or unusable.
	clen int
	// sipgoFail: sipgo's parser would reject the message.
	sipgoFail bool
	// rewrite: the message is valid but must reach sipgo rewritten
	// (validate_rewrite.go); branch2543: with a made-up branch.
	rewrite, branch2543 bool
}

// Check priorities: a lower class wins over a higher one.
const (
	prioVersion  = iota + 1 // 505
	prioSyntax              // 400: framing, start line, headers
	prioScheme              // 416
	prioMismatch            // 400/501: CSeq method
	prioRequire             // 420
	prioContent             // 415, 406
)

// Header identities.
type hdrID uint8

const (
	hOther hdrID = iota
	hVia
	hFrom
	hTo
	hCallID
	hCSeq
	hMaxForwards
	hContentLength
	hContentType
	hContact
	hRoute
	hRecordRoute
	hReferTo
	hReferredBy
	hRequire
	hAccept
	numHdr
)

var hdrNames = [numHdr]string{
	hOther: "", hVia: "Via", hFrom: "From", hTo: "To", hCallID: "Call-ID", hCSeq: "CSeq",
	hMaxForwards: "Max-Forwards", hContentLength: "Content-Length", hContentType: "Content-Type",
	hContact: "Contact", hRoute: "Route", hRecordRoute: "Record-Route", hReferTo: "Refer-To",
	hReferredBy: "Referred-By", hRequire: "Require", hAccept: "Accept",
}

// Reason phrases, built once so the scan never formats strings.
var (
	reasonMalformed [numHdr]string
	reasonMissing   [numHdr]string
	reasonMultiple  [numHdr]string
)

func init() {
	for id := hVia; id < numHdr; id++ {
		reasonMalformed[id] = "Bad Request (malformed " + hdrNames[id] + ")"
		reasonMissing[id] = "Bad Request (missing " + hdrNames[id] + ")"
		reasonMultiple[id] = "Bad Request (multiple " + hdrNames[id] + ")"
	}
}

// scanState carries the scan's findings until the verdict.
type scanState struct {
	r      scanResult
	prio   int
	count  [numHdr]int
	stream bool

	method     []byte // request method, as sent
	topVia     []byte
	from       []byte
	cseqMethod []byte
	cseqSeen   bool
	cseqOK     bool
	contentTyp []byte
	acceptSeen bool // a non-empty Accept
	acceptSDP  bool // some Accept admits application/sdp
	require    bool // a Require names an option we lack
	clValid    bool
}

func (st *scanState) fail(prio, code int, reason string) {
	if st.prio == 0 || prio < st.prio {
		st.prio, st.r.code, st.r.reason = prio, code, reason
	}
}

func (st *scanState) sipgoFails(reason string) {
	st.r.sipgoFail = true
	st.fail(prioSyntax, 400, reason)
}

// scanMessage checks one message. On a datagram data is the whole datagram
// (leading CRLFs already stripped); on a stream it is one header section
// with its blank line, and the body is not in view.
func scanMessage(data []byte, stream bool) scanResult {
	var folded []byte // folded header lines (rare: allocated on first use)
	st := scanState{stream: stream}
	st.r.clen = -1
	if len(data) > maxMessage {
		st.sipgoFails("Message Too Large")
		st.r.code, st.r.close = 513, true
	}

	// Start line, classified as sipgo does.
	first := data
	if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
		first = data[:i]
	}
	line, pos, ok := nextLine(data, 0)
	if !ok {
		st.sipgoFails("Bad Request (malformed start line)")
		line = first
	}
	st.startLine(line)
	if !ok {
		return st.verdict(data, 0)
	}

	// Header lines, as sipgo's parseHeadersOnly reads them.
	for {
		line, next, ok := nextLine(data, pos)
		if !ok {
			st.sipgoFails("Bad Request (incomplete header section)")
			st.r.close = true
			return st.verdict(data, 0)
		}
		pos = next
		if len(line) == 0 {
			break
		}
		if pos < len(data) && isContinuation(data[pos]) {
			// Append only: earlier folded lines stay referenced.
			start := len(folded)
			var fok bool
			folded, pos, fok = foldLine(folded, line, data, pos)
			line = folded[start:]
			if !fok {
				st.sipgoFails("Bad Request (malformed folded header)")
				st.r.close = true
				return st.verdict(data, 0)
			}
		}
		st.header(line)
	}
	return st.verdict(data, pos)
}

// nextLine is sipgo's: a line ends at the first CR, which must be followed
// by LF.
func nextLine(data []byte, pos int) (line []byte, next int, ok bool) {
	rest := data[pos:]
	i := bytes.IndexByte(rest, '\r')
	if i < 0 || i+1 >= len(rest) || rest[i+1] != '\n' {
		return nil, pos, false
	}
	return rest[:i], pos + i + 2, true
}

func isContinuation(c byte) bool { return c == ' ' || c == '\t' }

// foldLine joins continuation lines the way sipgo's foldHeaderLine does:
// trailing blanks of each piece dropped, leading blanks of continuations
// dropped, pieces joined by one space.
func foldLine(buf, line, data []byte, pos int) ([]byte, int, bool) {
	buf = append(buf, trimBlanksRight(line)...)
	for pos < len(data) && isContinuation(data[pos]) {
		cont, next, ok := nextLine(data, pos)
		if !ok {
			return buf, pos, false
		}
		for len(cont) > 0 && isContinuation(cont[0]) {
			cont = cont[1:]
		}
		buf = append(buf, ' ')
		buf = append(buf, trimBlanksRight(cont)...)
		pos = next
	}
	return buf, pos, true
}

func trimBlanksRight(b []byte) []byte {
	for len(b) > 0 && isContinuation(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// split3 is sipgo's: three parts around the first two spaces.
func split3(line []byte) (p0, p1, p2 []byte, ok bool) {
	i := bytes.IndexByte(line, ' ')
	if i < 0 {
		return
	}
	p0, line = line[:i], line[i+1:]
	i = bytes.IndexByte(line, ' ')
	if i < 0 {
		return
	}
	return p0, line[:i], line[i+1:], true
}

// sipgoIsRequest is sipgo's isRequest on split3's parts.
func sipgoIsRequest(p2 []byte) bool {
	return len(p2) >= 3 && bytes.IndexByte(p2, ' ') < 0 && isSIPWord(p2[:3])
}

func isSIPWord(b []byte) bool { return string(b) == "SIP" || string(b) == "sip" }

// startLine checks the first line: sipgo's split3, isRequest, isResponse,
// then ours.
func (st *scanState) startLine(line []byte) {
	p0, p1, p2, ok := split3(line)
	looksResponse := len(line) >= 4 && eqFold(line[:4], "sip/")
	switch {
	case ok && sipgoIsRequest(p2) && !looksResponse:
		st.r.kind = kindRequest
		st.requestLine(p0, p1, p2)
	case ok && sipgoIsRequest(p2):
		// "SIP/2.0 ... SIP/x": sipgo would read a request. Never answer it.
		st.r.kind = kindResponse
		st.fail(prioSyntax, 400, "malformed status line")
	case ok && len(p0) >= 3 && isSIPWord(p0[:3]):
		st.r.kind = kindResponse
		if _, ok := parseUint(p1, 16); !ok {
			st.sipgoFails("malformed status code")
		}
		if string(p0) != "SIP/2.0" || len(p1) != 3 || p1[0] < '1' || p1[0] > '6' || !allDigits(p1) {
			st.fail(prioSyntax, 400, "malformed status line")
		}
	case looksResponse:
		st.r.kind = kindResponse
		st.sipgoFails("malformed status line")
	default:
		// sipgo takes it for neither request nor response.
		st.r.kind = kindRequest
		st.sipgoFails("Bad Request (malformed Request-Line)")
		if ok && len(p0) > 0 && len(p1) > 0 && isSIPVersion(p2) {
			st.fail(prioVersion, 505, "Version Not Supported")
		}
	}
}

func (st *scanState) requestLine(p0, p1, p2 []byte) {
	st.method = p0
	if string(p2) != "SIP/2.0" && string(p2) != "sip/2.0" {
		if isSIPVersion(p2) {
			st.fail(prioVersion, 505, "Version Not Supported")
		} else {
			st.fail(prioSyntax, 400, "Bad Request (malformed SIP-Version)")
		}
	}
	if len(p0) == 0 || !allToken(p0) {
		st.fail(prioSyntax, 400, "Bad Request (malformed method)")
	}
	st.requestURI(p1)
}

// isSIPVersion: "SIP" "/" 1*DIGIT "." 1*DIGIT, case-insensitively.
func isSIPVersion(b []byte) bool {
	if len(b) < 7 || !eqFold(b[:4], "sip/") {
		return false
	}
	b = b[4:]
	dot := bytes.IndexByte(b, '.')
	return dot > 0 && dot < len(b)-1 && allDigits(b[:dot]) && allDigits(b[dot+1:])
}

func (st *scanState) requestURI(u []byte) {
	parses, wild := uriOK(u)
	parses = parses && !wild
	if !parses {
		st.r.sipgoFail = true
	}
	colon := bytes.IndexByte(u, ':')
	if colon <= 0 || !isScheme(u[:colon]) {
		st.fail(prioSyntax, 400, "Bad Request (malformed Request-URI)")
		return
	}
	scheme := u[:colon]
	switch {
	case eqFold(scheme, "sip"), eqFold(scheme, "sips"):
	case eqFold(scheme, "tel"):
		if !parses {
			st.fail(prioSyntax, 400, "Bad Request (malformed Request-URI)")
		}
		return
	default:
		// RFC 3261 8.2.2.1. sipgo rejects schemes with other than
		// letters; it is still a well-formed URI we do not serve.
		st.fail(prioScheme, 416, "Unsupported URI Scheme")
		return
	}
	if !parses {
		st.fail(prioSyntax, 400, "Bad Request (malformed Request-URI)")
		return
	}
	rest := u[colon+1:]
	if len(rest) >= 2 && rest[0] == '/' && rest[1] == '/' {
		rest = rest[2:]
	}
	host := rest
	for i, c := range rest {
		if c == '[' {
			break
		}
		if c == '@' {
			host = rest[i+1:]
			break
		}
	}
	if len(host) == 0 || host[0] == ';' || host[0] == '?' || host[0] == ':' {
		st.fail(prioSyntax, 400, "Bad Request (Request-URI without host)")
		return
	}
	if host[0] == '[' {
		end := bytes.IndexByte(host, ']')
		if end < 0 || !validIPv6(host[1:end]) {
			st.fail(prioSyntax, 400, "Bad Request (malformed IPv6 reference)")
			return
		}
		host = host[end+1:]
	}
	// RFC 3261 19.1.5: headers are not allowed in a Request-URI.
	if bytes.IndexByte(host, '?') >= 0 {
		st.fail(prioSyntax, 400, "Bad Request (headers in Request-URI)")
	}
}

func validIPv6(b []byte) bool {
	if len(b) < 2 || len(b) > 45 || bytes.IndexByte(b, ':') < 0 || bytes.IndexByte(b, '%') >= 0 {
		return false
	}
	a, err := netip.ParseAddr(string(b))
	return err == nil && a.Is6()
}

// isScheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
func isScheme(b []byte) bool {
	if len(b) == 0 || !isLetter(b[0]) {
		return false
	}
	for _, c := range b[1:] {
		if !isLetter(c) && !isDigit(c) && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// header checks one (unfolded) header line.
func (st *scanState) header(line []byte) {
	colon := bytes.IndexByte(line, ':')
	if colon < 0 {
		st.sipgoFails("Bad Request (header line without colon)")
		return
	}
	// The same trimming as sipgo's ParseHeader.
	name := bytes.TrimSpace(line[:colon])
	value := bytes.TrimSpace(line[colon+1:])
	id := headerID(name)
	if id == hOther {
		return
	}
	st.count[id]++
	ok := true
	switch id {
	case hVia:
		ok = viaOK(value)
		if ok && !viaCanonical(value) {
			st.r.rewrite = true
		}
		if st.count[id] == 1 {
			st.topVia = value
		}
	case hFrom, hTo, hReferredBy:
		var wild bool
		ok, wild = addrOK(value)
		ok = ok && !wild
		if ok && id != hReferredBy && !addrCanonical(value) {
			st.r.rewrite = true
		}
		if id == hFrom && st.count[id] == 1 {
			st.from = value
		}
	case hContact:
		ok = contactOK(value)
	case hRoute, hRecordRoute, hReferTo:
		ok = routeOK(value)
	case hCallID:
		ok = len(value) > 0
	case hContentType:
		ok = len(value) > 0
		if st.count[id] == 1 {
			st.contentTyp = value
		}
	case hMaxForwards:
		_, ok = parseUint(value, 32)
	case hContentLength:
		var n uint64
		n, ok = parseUint(value, 32)
		st.clValid = ok
		if ok {
			st.r.clen = int(n)
		} else {
			st.r.clen = -1
		}
	case hCSeq:
		var num uint64
		var method []byte
		num, method, ok = cseqParse(value)
		if !st.cseqSeen {
			st.cseqSeen, st.cseqOK, st.cseqMethod = true, ok, method
		}
		if !ok && num > maxCSeq {
			st.sipgoFails("Bad Request (CSeq number out of range)")
			return
		}
	case hRequire:
		if unsupportedRequire(value) {
			st.require = true
		}
	case hAccept:
		nonEmpty, sdp := acceptsSDP(value)
		st.acceptSeen = st.acceptSeen || nonEmpty
		st.acceptSDP = st.acceptSDP || sdp
	}
	if !ok {
		st.sipgoFails(reasonMalformed[id])
	}
}

// verdict applies the checks that need the whole header section. hdrEnd is
// the offset past the blank line, 0 when the section is broken.
func (st *scanState) verdict(data []byte, hdrEnd int) scanResult {
	st.r.hdrEnd = hdrEnd
	if hdrEnd == 0 {
		st.r.close = true
		return st.done()
	}
	for _, id := range [...]hdrID{hVia, hFrom, hTo, hCallID, hCSeq} {
		if st.count[id] == 0 {
			st.fail(prioSyntax, 400, reasonMissing[id])
		}
	}
	for _, id := range [...]hdrID{hFrom, hTo, hCallID, hCSeq, hMaxForwards, hContentLength, hContentType} {
		if st.count[id] > 1 {
			st.fail(prioSyntax, 400, reasonMultiple[id])
		}
	}
	// Framing: Content-Length.
	switch {
	case st.count[hContentLength] > 1:
		st.r.clen = -1
		st.r.close = true
	case st.count[hContentLength] == 1 && !st.clValid:
		st.r.close = true
	case st.count[hContentLength] == 0 && st.stream:
		// RFC 3261 18.3: mandatory on streams; sipgo closes.
		st.r.sipgoFail = true
		st.r.close = true
		st.fail(prioSyntax, 400, reasonMissing[hContentLength])
	case st.count[hContentLength] == 0:
		st.r.clen = len(data) - hdrEnd // the rest of the datagram
	case st.stream:
		if hdrEnd+st.r.clen > maxMessage {
			st.r.sipgoFail = true
			st.r.close = true
			st.fail(prioSyntax, 513, "Message Too Large")
		}
	default:
		if st.r.clen > len(data)-hdrEnd {
			st.r.sipgoFail = true
			st.fail(prioSyntax, 400, "Bad Request (Content-Length larger than datagram)")
		}
	}
	if st.r.kind == kindRequest && st.method != nil {
		st.requestChecks()
	}
	return st.done()
}

func (st *scanState) requestChecks() {
	if st.count[hVia] > 0 && !viaSane(st.topVia) {
		st.fail(prioSyntax, 400, reasonMalformed[hVia])
	}
	// sipgo's transaction key: an RFC 3261 branch, else the From tag.
	if st.count[hVia] > 0 && st.count[hFrom] > 0 && !viaHasBranch(st.topVia) && !addrHasTag(st.from) {
		st.r.rewrite, st.r.branch2543 = true, true
	}
	if st.cseqSeen && st.cseqOK && !bytes.Equal(trimLWS(st.cseqMethod), st.method) {
		if knownMethod(st.method) {
			st.fail(prioMismatch, 400, "Bad Request (CSeq method does not match)")
		} else {
			// RFC 4475 3.1.2.18: an unknown method is refused as such.
			st.fail(prioMismatch, 501, "Not Implemented")
		}
	}
	if st.require && string(st.method) != "ACK" && string(st.method) != "CANCEL" {
		st.fail(prioRequire, 420, "Bad Extension")
	}
	if string(st.method) != "INVITE" {
		return
	}
	// The body checks dialog.go makes too, made before routing.
	if st.r.clen > 0 && st.contentTyp != nil &&
		(len(st.contentTyp) < 15 || !eqFold(st.contentTyp[:15], "application/sdp")) {
		st.fail(prioContent, 415, "Unsupported Media Type")
	}
	if st.acceptSeen && !st.acceptSDP {
		st.fail(prioContent, 406, "Not Acceptable")
	}
}

func (st *scanState) done() scanResult {
	if st.r.sipgoFail && st.r.code == 0 {
		st.r.code, st.r.reason = 400, "Bad Request"
	}
	if st.r.code == 0 {
		st.r.reason = ""
	}
	return st.r
}

// viaSane: the top via-parm is token "/" token "/" token LWS host
// [":" port] [";" params] (with LWS where RFC 3261 allows it). sipgo takes far
// less for a Via, but then its transaction key or the route of the answer
// may come from garbage.
func viaSane(v []byte) bool {
	p, _ := cutComma(v)
	p = trimLWS(p)
	for _, c := range p {
		// Printable ASCII: sipgo trims Unicode spaces where RFC 3261 has
		// none, and then misreads what follows.
		if (c < 0x20 || c > 0x7e) && c != '\t' {
			return false
		}
	}
	for k := 0; k < 3; k++ {
		n := 0
		for n < len(p) && tokenChar[p[n]] {
			n++
		}
		if n == 0 {
			return false
		}
		p = p[n:]
		if k < 2 {
			if p = trimLWS(p); len(p) == 0 || p[0] != '/' {
				return false
			}
			p = trimLWS(p[1:])
		}
	}
	if len(p) == 0 || p[0] != ' ' && p[0] != '\t' {
		return false
	}
	// sent-by: host [ ":" port ], then the parameters.
	p = trimLWS(p)
	if len(p) > 0 && p[0] == '[' {
		end := bytes.IndexByte(p, ']')
		if end < 2 {
			return false
		}
		p = p[end+1:]
	} else {
		n := 0
		for n < len(p) && (isLetter(p[n]) || isDigit(p[n]) || p[n] == '.' || p[n] == '-' || p[n] == '_') {
			n++
		}
		if n == 0 {
			return false
		}
		p = p[n:]
	}
	if p = trimLWS(p); len(p) > 0 && p[0] == ':' {
		p = trimLWS(p[1:])
		n := 0
		for n < len(p) && isDigit(p[n]) {
			n++
		}
		if n == 0 || n > 5 {
			return false
		}
		p = p[n:]
	}
	// Parameters: none empty (sipgo misreads ";;branch=").
	for p = trimLWS(p); len(p) > 0; {
		if p[0] != ';' {
			return false
		}
		p = trimLWS(p[1:])
		if len(p) == 0 || p[0] == ';' || p[0] == '=' {
			return false
		}
		i := bytes.IndexByte(p, ';')
		if i < 0 {
			break
		}
		if bytes.IndexByte(p[:i], '"') >= 0 {
			break // a quoted value: no further checks
		}
		p = p[i:]
	}
	return true
}

// Methods Hotline's stack knows by name; anything else is unknown (501).
func knownMethod(m []byte) bool {
	switch string(m) {
	case "INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "PRACK", "SUBSCRIBE",
		"NOTIFY", "PUBLISH", "INFO", "REFER", "MESSAGE", "UPDATE":
		return true
	}
	return false
}

// headerID is sipgo's headerToLower plus its parser table lookup, with the
// two generic headers the checks read.
func headerID(name []byte) hdrID {
	if len(name) == 1 {
		switch name[0] | 0x20 {
		case 'v':
			return hVia
		case 'f':
			return hFrom
		case 't':
			return hTo
		case 'i':
			return hCallID
		case 'l':
			return hContentLength
		case 'c':
			return hContentType
		case 'm':
			return hContact
		}
		return hOther
	}
	switch len(name) {
	case 2:
		if eqFold(name, "to") {
			return hTo
		}
	case 3:
		if eqFold(name, "via") {
			return hVia
		}
	case 4:
		if eqFold(name, "from") {
			return hFrom
		}
		if eqFold(name, "cseq") {
			return hCSeq
		}
	case 5:
		if eqFold(name, "route") {
			return hRoute
		}
	case 6:
		if eqFold(name, "accept") {
			return hAccept
		}
	case 7:
		if eqFold(name, "call-id") {
			return hCallID
		}
		if eqFold(name, "contact") {
			return hContact
		}
		if eqFold(name, "require") {
			return hRequire
		}
	case 8:
		if eqFold(name, "refer-to") {
			return hReferTo
		}
	case 11:
		if eqFold(name, "referred-by") {
			return hReferredBy
		}
	case 12:
		if eqFold(name, "record-route") {
			return hRecordRoute
		}
		if eqFold(name, "content-type") {
			return hContentType
		}
		if eqFold(name, "max-forwards") {
			return hMaxForwards
		}
	case 14:
		if eqFold(name, "content-length") {
			return hContentLength
		}
	}
	return hOther
}

// --- sipgo's parsers, as predicates -------------------------------------

// uriOK is sipgo's ParseUri: whether it succeeds, and whether the result is
// the wildcard.
func uriOK(s []byte) (ok, wildcard bool) {
	if len(s) == 0 {
		return false, false
	}
	if len(s) < 3 {
		if len(s) == 1 && s[0] == '*' {
			return true, true
		}
		return false, false
	}
	i := 0
	for ; i < len(s) && s[i] != ':'; i++ {
		if !isLetter(s[i]) {
			return false, false
		}
	}
	if i == len(s) {
		return false, false
	}
	if !eqFold(s[:i], "sip") && !eqFold(s[:i], "sips") {
		return true, false // other schemes stay opaque
	}
	rest := s[i+1:]
	if len(rest) >= 2 && rest[0] == '/' && rest[1] == '/' {
		rest = rest[2:]
	}
	for j, c := range rest {
		if c == '[' {
			return uriHostOK(rest[j:])
		}
		if c == '@' {
			return uriHostOK(rest[j+1:])
		}
	}
	return uriHostOK(rest)
}

func uriHostOK(s []byte) (ok, wildcard bool) {
	for i, c := range s {
		switch c {
		case '[':
			return uriIPv6OK(s[i:]), false
		case ':':
			return uriPortOK(s[i+1:]), false
		case ';', '?':
			return true, false
		}
	}
	return true, len(s) == 1 && s[0] == '*'
}

func uriIPv6OK(s []byte) bool {
	end := bytes.IndexByte(s[:min(len(s), 42)], ']')
	if end <= 0 {
		return false
	}
	if end+1 == len(s) {
		return true
	}
	if s[end+1] == ':' {
		return uriPortOK(s[end+2:])
	}
	return true
}

func uriPortOK(s []byte) bool {
	for i, c := range s {
		if c == ';' || c == '?' {
			return atoiOK(s[:i])
		}
	}
	return atoiOK(s)
}

// addrOK is sipgo's ParseAddressValue.
func addrOK(s []byte) (ok, wildcard bool) {
	if len(s) == 0 {
		return false, false
	}
	for i, c := range s {
		switch c {
		case '"':
			return addrQuotedOK(s[i+1:])
		case '<':
			return addrBracketOK(s[i+1:])
		case ';':
			return addrURIOK(s)
		}
	}
	return addrURIOK(s)
}

func addrQuotedOK(s []byte) (ok, wildcard bool) {
	escaped := false
	for i, c := range s {
		if c == '\\' {
			escaped = !escaped
			continue
		}
		if escaped {
			if c == '\n' || c == '\r' {
				return false, false
			}
			escaped = false
			continue
		}
		if c == '"' {
			rest := s[i+1:]
			for j, c := range rest {
				if c == '<' {
					return addrBracketOK(rest[j+1:])
				}
				if c == ';' {
					return addrURIOK(rest[j+1:])
				}
			}
			return false, false
		}
	}
	return false, false
}

func addrBracketOK(s []byte) (ok, wildcard bool) {
	if len(s) == 0 {
		return false, false
	}
	if i := bytes.IndexByte(s, '>'); i >= 0 {
		return uriOK(s[:i])
	}
	return false, false
}

func addrURIOK(s []byte) (ok, wildcard bool) {
	if len(s) == 0 {
		return false, false
	}
	if i := bytes.IndexByte(s, ';'); i >= 0 {
		return uriOK(s[:i])
	}
	return uriOK(s)
}

// contactOK is sipgo's Contact parser with ParseHeader's comma loop.
func contactOK(s []byte) bool {
	for {
		inB, inQ := false, false
		end, comma := len(s), -1
	scan:
		for i, c := range s {
			switch {
			case c == '<' && !inQ:
				inB = true
			case c == '>' && !inQ:
				inB = false
			case c == '"':
				inQ = !inQ
			case !inQ && !inB && c == ',':
				end, comma = i, i
				break scan
			}
		}
		if ok, _ := addrOK(s[:end]); !ok {
			return false
		}
		if comma < 0 {
			return true
		}
		s = s[comma+1:]
	}
}

// routeOK is sipgo's parseRouteAddress (Route, Record-Route, Refer-To)
// with ParseHeader's comma loop. sipgo parses an address only when it meets
// a comma or a final rune outside brackets and quotes.
func routeOK(s []byte) bool {
	for {
		inB, inQ := false, false
		last := len(s) - 1
		comma := -1
	scan:
		for i, c := range s {
			if c == '<' && !inQ {
				inB = true
				continue
			}
			if c == '>' && !inQ {
				inB = false
			} else if c == '"' {
				inQ = !inQ
			}
			if inQ || inB {
				continue
			}
			switch {
			case c == ',':
				if ok, _ := addrOK(s[:i]); !ok {
					return false
				}
				comma = i
				break scan
			case i == last && (c < utf8.RuneSelf || lastRuneStart(s) == last):
				if ok, _ := addrOK(s); !ok {
					return false
				}
				break scan
			}
		}
		if comma < 0 {
			return true
		}
		s = s[comma+1:]
	}
}

// lastRuneStart is where `for i := range string(b)` sees its last rune.
func lastRuneStart(b []byte) int {
	last := 0
	for i := 0; i < len(b); {
		_, n := utf8.DecodeRune(b[i:])
		last = i
		i += n
	}
	return last
}

// viaOK is sipgo's Via parser with ParseHeader's comma loop.
func viaOK(text []byte) bool {
	for {
		s := text
		i := bytes.IndexByte(s, '/')
		if i < 0 {
			return false
		}
		s = s[i+1:]
		if i = bytes.IndexByte(s, '/'); i < 0 {
			return false
		}
		s = s[i+1:]
		if i = bytes.IndexAny(s, " \t"); i < 0 {
			return false
		}
		s = s[i+1:]
		var params []byte
		if len(s) > 0 && s[0] == '[' {
			end := bytes.IndexByte(s, ']')
			if end < 0 {
				return false
			}
			rest := s[end+1:]
			if len(rest) == 0 {
				return true
			}
			switch rest[0] {
			case ':':
				semi := bytes.IndexByte(rest, ';')
				port := rest[1:]
				if semi >= 0 {
					port = rest[1:semi]
				}
				if !atoiOK(bytes.TrimSpace(port)) || semi < 0 {
					return true
				}
				params = rest[semi+1:]
			case ';':
				params = rest[1:]
			default:
				return true
			}
		} else {
			colon, end := 0, len(s)
			for j, c := range s {
				if c == ';' {
					end = j
					break
				}
				if c == ':' {
					colon = j
				}
			}
			if colon > 0 && !atoiOK(s[colon+1:end]) {
				return true
			}
			if end == len(s) {
				return true
			}
			params = s[end+1:]
		}
		comma := bytes.IndexByte(params, ',')
		if comma <= 0 {
			return true
		}
		text = params[comma+1:]
	}
}

// cseqParse is sipgo's CSeq parser; num is set when the number is all
// digits, even when too large.
func cseqParse(v []byte) (num uint64, method []byte, ok bool) {
	ind := bytes.IndexAny(v, " \t")
	if ind < 1 || len(v)-ind < 2 {
		return 0, nil, false
	}
	n, ok := parseUint(v[:ind], 32)
	if !ok {
		if allDigits(v[:ind]) {
			return maxCSeq + 1, nil, false
		}
		return 0, nil, false
	}
	if n > maxCSeq {
		return n, nil, false
	}
	return n, v[ind+1:], true
}

// parseUint is strconv.ParseUint(s, 10, bits) without the allocation.
func parseUint(s []byte, bits uint) (uint64, bool) {
	if len(s) == 0 {
		return 0, false
	}
	limit := uint64(1)<<bits - 1
	var n uint64
	for _, c := range s {
		if !isDigit(c) {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (limit-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// atoiOK is whether strconv.Atoi(s) succeeds on a 64-bit platform.
func atoiOK(s []byte) bool {
	neg := false
	if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	n, ok := parseUint(s, 64)
	if !ok {
		return false
	}
	if neg {
		return n <= 1<<63
	}
	return n <= 1<<63-1
}

// --- RFC 3261 header checks ---------------------------------------------

// unsupportedRequire: a Require value names an option tag we lack.
func unsupportedRequire(v []byte) bool {
	found := false
	eachItem(v, func(tag []byte) {
		if !optionSupported(tag) {
			found = true
		}
	})
	return found
}

func optionSupported(tag []byte) bool {
	for name := range supportedOptions {
		if len(name) == len(tag) && eqFold(tag, name) {
			return true
		}
	}
	return false
}

// acceptsSDP reads an Accept value: whether it names anything, and whether
// one of its media ranges admits application/sdp.
func acceptsSDP(v []byte) (nonEmpty, sdp bool) {
	eachItem(v, func(item []byte) {
		nonEmpty = true
		if i := bytes.IndexByte(item, ';'); i >= 0 {
			item = trimLWS(item[:i])
		}
		if eqFold(item, "application/sdp") || eqFold(item, "application/*") || string(item) == "*/*" {
			sdp = true
		}
	})
	return nonEmpty, sdp
}

// eachItem calls f with each non-empty, trimmed element of a comma list.
func eachItem(v []byte, f func([]byte)) {
	for len(v) > 0 {
		item := v
		if i := bytes.IndexByte(v, ','); i >= 0 {
			item, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		if item = trimLWS(item); len(item) > 0 {
			f(item)
		}
	}
}

// --- bytes ---------------------------------------------------------------

func trimLWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	return trimBlanksRight(b)
}

// eqFold reports whether b equals lower (ASCII lower case) ignoring ASCII
// case.
func eqFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool  { return '0' <= c && c <= '9' }

func allDigits(b []byte) bool {
	for _, c := range b {
		if !isDigit(c) {
			return false
		}
	}
	return len(b) > 0
}

// token chars of RFC 3261 25.1.
var tokenChar = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "-.!%*_+`'~" {
		t[c] = true
	}
	return t
}()

func allToken(b []byte) bool {
	for _, c := range b {
		if !tokenChar[c] {
			return false
		}
	}
	return true
}
