package ivr

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Lookup asks a tenant's HTTP service for data about the call (an
// account's PIN check, a CRM record) and stores the JSON answer's fields
// as variables INTO.FIELD.
type Lookup struct {
	// URL is a ${var} template; values expanded after the first '?' of
	// the template are query-escaped, those before it (a base URL such as
	// ${crm}) are inserted as they are.
	URL    string
	Method string   // GET or POST
	Send   []string // POST: the variables sent as a JSON object
	// Timeout bounds the whole request, DefaultLookupTimeout by default.
	Timeout time.Duration
	Into    string
	// Failure is where the flow goes when the service cannot answer
	// (network error, timeout, non-2xx status, not a JSON object, body
	// too large); "": the step's Next.
	Failure string

	hasNext bool // next was given inside lookup, not beside it
}

// Lookup events. lookup: into, status, ms, and the stored fields by
// variable name (INTO.FIELD), secret values masked; lookup_failed: into,
// reason (and status when the service answered).
const (
	EventLookup       = "lookup"
	EventLookupFailed = "lookup_failed"
)

// maxLookupBody bounds what a lookup reads: the answers are a handful of
// fields, and a larger body is a misconfigured URL, not data to keep.
const maxLookupBody = 64 << 10

// maxLookupDepth is how deep nested objects are flattened into
// INTO.A.B variables.
const maxLookupDepth = 2

// lookupClient has no timeout of its own (each request carries the
// step's) and refuses redirects to another host, which could carry the
// query, PINs included, to a server the tenant did not name.
var lookupClient = &http.Client{
	CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return errors.New("too many redirects")
		}
		if req.URL.Host != via[0].URL.Host {
			return fmt.Errorf("redirect to another host (%s)", req.URL.Host)
		}
		return nil
	},
}

// lookup reads `lookup: {url, method, send, timeout, into, next, failure}`.
func (p *parser) lookup(s *Step, kf field, what string) *Lookup {
	what += ": lookup"
	lk := &Lookup{Method: http.MethodGet, Timeout: DefaultLookupTimeout}
	m, ok := p.keyed(kf.val, kf.line, what, "url", "method", "send", "timeout", "into", "next", "failure")
	if !ok {
		return lk
	}
	if f, ok := m["url"]; ok {
		if u, ok := p.str(f, what); ok {
			lk.URL = u
			p.lookupURL(f, u, what)
		}
	} else {
		p.missing(kf.line, what, "url")
	}
	if f, ok := m["method"]; ok {
		if meth, ok := p.str(f, what); ok {
			switch up := strings.ToUpper(meth); up {
			case http.MethodGet, http.MethodPost:
				lk.Method = up
			default:
				p.errorf(f.line, "%s: method must be GET or POST, not %q", what, meth)
			}
		}
	}
	if f, ok := m["send"]; ok {
		lk.Send = p.sendVars(f, what)
		if lk.Method != http.MethodPost {
			p.errorf(f.line, "%s: send is only used with method: POST", what)
		}
	}
	lk.Timeout = p.durationUpTo(m, "timeout", what, lk.Timeout, MaxLookupTimeout)
	lk.Into = required(p, m, "into", kf.line, what, "into", p.varName)
	if f, ok := m["next"]; ok {
		s.Next = p.ref(f, what)
		lk.hasNext = true
	}
	if f, ok := m["failure"]; ok {
		lk.Failure = p.ref(f, what)
	}
	return lk
}

// lookupURL checks what can be checked before the variables are known:
// the template itself, and the scheme when the URL starts with text.
func (p *parser) lookupURL(f field, u, what string) {
	if strings.TrimSpace(u) == "" {
		p.errorf(f.line, "%s: url needs a value", what)
		return
	}
	if err := checkTemplate(u); err != nil {
		p.errorf(f.line, "%s: url: %v", what, err)
		return
	}
	if strings.HasPrefix(u, "${") {
		return
	}
	scheme, _, _ := strings.Cut(u, "://")
	if scheme != "http" && scheme != "https" {
		p.errorf(f.line, "%s: url must start with http://, https:// or a ${var} holding such a base, not %q", what, u)
	}
}

func (p *parser) sendVars(f field, what string) []string {
	v := f.val
	if v.Kind != yaml.SequenceNode {
		p.errorf(f.line, "%s: send must be a list of variable names, not a %s", what, nodeKind(v))
		return nil
	}
	var out []string
	for _, n := range v.Content {
		n = deref(n)
		if n.Kind != yaml.ScalarNode || n.Tag == "!!null" || !varNameRE.MatchString(n.Value) {
			p.errorf(n.Line, "%s: send: invalid variable name %q (letters, digits and _, not starting with a digit; dots between parts)", what, n.Value)
			continue
		}
		out = append(out, n.Value)
	}
	return out
}

// expandURL expands a lookup's URL template, query-escaping the values
// that land in the query string so a caller's input cannot add
// parameters.
func expandURL(tpl string, vars map[string]string) string {
	base, query, hasQuery := strings.Cut(tpl, "?")
	out := expand(base, vars)
	if hasQuery {
		out += "?" + expandWith(query, vars, url.QueryEscape)
	}
	return out
}

// lookupFailure is why a lookup gave no data, short enough for the
// timeline and the INTO.error variable. It never holds the URL, whose
// query may carry a PIN.
type lookupFailure struct {
	reason string
	status int // 0: no answer
}

// lookup runs a lookup step. The request runs on the flow's goroutine
// under the call's context, so a hang-up cancels it.
func (r *runner) lookup(s *Step) (string, *Result, error) {
	lk := s.Lookup
	r.clearVars(lk.Into)
	start := time.Now()
	fields, status, fail := r.fetch(lk)
	ms := strconv.FormatInt(time.Since(start).Milliseconds(), 10)
	if r.ctx.Err() != nil {
		return "", nil, fmt.Errorf("lookup %s: %w", lk.Into, context.Cause(r.ctx))
	}
	if fail != nil {
		if status != 0 {
			r.vars[lk.Into+".status"] = strconv.Itoa(status)
		}
		r.vars[lk.Into+".error"] = fail.reason
		data := map[string]string{"into": lk.Into, "reason": fail.reason, "ms": ms}
		if status != 0 {
			data["status"] = strconv.Itoa(status)
		}
		r.emit(EventLookupFailed, s.Name, data)
		if lk.Failure != "" {
			return lk.Failure, nil, nil
		}
		return s.Next, nil, nil
	}
	data := map[string]string{"into": lk.Into, "status": strconv.Itoa(status), "ms": ms}
	for k, v := range fields {
		name := lk.Into + "." + k
		r.vars[name] = v
		if r.isSecret(v) {
			// A service echoing the PIN back makes the field as secret as
			// the PIN.
			r.markSecret(name, true)
		}
		data[name] = r.redact(v)
	}
	// The HTTP status wins over an answer's own "status" field: flows
	// rely on INTO.status meaning the same for every service.
	r.vars[lk.Into+".status"] = strconv.Itoa(status)
	delete(data, lk.Into+".status")
	r.emit(EventLookup, s.Name, data)
	return s.Next, nil, nil
}

// clearVars drops a previous lookup's INTO.* variables, so a retry that
// fails does not leave the last answer's fields looking current.
func (r *runner) clearVars(into string) {
	for k := range r.vars {
		if strings.HasPrefix(k, into+".") {
			delete(r.vars, k)
		}
	}
}

func (r *runner) fetch(lk *Lookup) (map[string]string, int, *lookupFailure) {
	ctx, cancel := context.WithTimeout(r.ctx, lk.Timeout)
	defer cancel()
	u, err := url.Parse(expandURL(lk.URL, r.vars))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, 0, &lookupFailure{reason: "bad url"}
	}
	var body io.Reader
	if lk.Method == http.MethodPost {
		send := make(map[string]string, len(lk.Send))
		for _, v := range lk.Send {
			send[v] = r.vars[v]
		}
		b, err := json.Marshal(send)
		if err != nil {
			return nil, 0, &lookupFailure{reason: "encode request"}
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, lk.Method, u.String(), body)
	if err != nil {
		return nil, 0, &lookupFailure{reason: "bad url"}
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	client := lookupClient
	if r.env.HTTPClient != nil {
		client = r.env.HTTPClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, &lookupFailure{reason: requestFailure(ctx, err)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxLookupBody+1))
	switch {
	case err != nil:
		return nil, resp.StatusCode, &lookupFailure{reason: requestFailure(ctx, err), status: resp.StatusCode}
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return nil, resp.StatusCode, &lookupFailure{reason: "HTTP " + strconv.Itoa(resp.StatusCode), status: resp.StatusCode}
	case len(data) > maxLookupBody:
		return nil, resp.StatusCode, &lookupFailure{reason: "answer larger than 64 KB", status: resp.StatusCode}
	}
	var obj map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil || obj == nil {
		return nil, resp.StatusCode, &lookupFailure{reason: "answer is not a JSON object", status: resp.StatusCode}
	}
	fields := map[string]string{}
	flatten(fields, "", obj, 1)
	return fields, resp.StatusCode, nil
}

// requestFailure names why a request failed without quoting it: net/http
// errors start with the method and the URL.
func requestFailure(ctx context.Context, err error) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return "timeout"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return "timeout"
		}
		err = ue.Err
	}
	msg := err.Error()
	if len(msg) > 120 {
		msg = msg[:120]
	}
	return "network: " + msg
}

// flatten stores obj's fields as strings: numbers and booleans in their
// JSON text, null as "", nested objects as A.B down to maxLookupDepth.
// Arrays, and fields whose names cannot be variable name parts, are
// skipped.
func flatten(out map[string]string, prefix string, obj map[string]any, depth int) {
	for k, v := range obj {
		if !varPartRE.MatchString(k) {
			continue
		}
		name := prefix + k
		switch v := v.(type) {
		case string:
			out[name] = v
		case json.Number:
			out[name] = v.String()
		case bool:
			out[name] = strconv.FormatBool(v)
		case nil:
			out[name] = ""
		case map[string]any:
			if depth < maxLookupDepth {
				flatten(out, name+".", v, depth+1)
			}
		}
	}
}

// isSecret reports whether v holds the value of a masked variable.
func (r *runner) isSecret(v string) bool {
	for name := range r.secret {
		if s := r.vars[name]; s != "" && strings.Contains(v, s) {
			return true
		}
	}
	return false
}

// redact masks the values of masked variables inside v.
func (r *runner) redact(v string) string {
	names := make([]string, 0, len(r.secret))
	for name := range r.secret {
		names = append(names, name)
	}
	// Longest first, so a value containing another is masked whole.
	sort.Slice(names, func(i, j int) bool { return len(r.vars[names[i]]) > len(r.vars[names[j]]) })
	for _, name := range names {
		if s := r.vars[name]; s != "" {
			v = strings.ReplaceAll(v, s, strings.Repeat("*", len(s)))
		}
	}
	return v
}
