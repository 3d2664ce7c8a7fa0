package ivr

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// lookupFlow gathers a masked PIN, looks it up at ${crm} and branches on
// the answer.
const lookupFlow = `
start: acct
steps:
  acct:
    set: {account: "12&34 5"}
    next: pin
  pin:
    gather: {prompt: enter_pin, digits: 4, into: pin, mask: true}
    next: verify_pin
  verify_pin:
    lookup:
      url: "${crm}/verify?account=${account}&pin=${pin}"
      timeout: 300ms
      into: verify
      next: checked
      failure: unavailable
  checked:
    branch: {var: verify.verified, cases: {"true": ok}, default: wrong}
  ok:
    say: "Hello ${verify.name}"
    next: bye
  wrong:
    hangup: rejected
  unavailable:
    hangup: unavailable
  bye:
    hangup: true
`

// crmServer answers like a tenant's service; handler replaces the default
// answer. It records the requests it saw.
type crmServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []*http.Request
	body []string
}

func newCRM(t *testing.T, handler http.HandlerFunc) *crmServer {
	t.Helper()
	c := &crmServer{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.reqs = append(c.reqs, r)
		c.body = append(c.body, string(b))
		c.mu.Unlock()
		handler(w, r)
	}))
	t.Cleanup(c.Close)
	return c
}

func jsonAnswer(v string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, v)
	}
}

func TestLookupSuccess(t *testing.T) {
	crm := newCRM(t, jsonAnswer(`{"verified": true, "name": "Ann Lee", "tries": 2, "ratio": 0.5,
		"vip": false, "gone": null, "cards": ["a", "b"], "bad key": "x",
		"address": {"city": "Lyon", "geo": {"lat": 1}}, "echo": "pin 1234", "status": "active"}`))
	f := mustParse(t, lookupFlow)
	synth := &fakeSynth{}
	res, _, rec := run(t, f, "1234", Env{Vars: map[string]string{"crm": crm.URL}, Synthesizer: synth})
	if res.Reason != EndHangup || res.Cause != CauseNormal {
		t.Fatalf("result = %+v\n%s", res, strings.Join(rec.events, "\n"))
	}
	if len(crm.reqs) != 1 {
		t.Fatalf("requests = %d", len(crm.reqs))
	}
	req := crm.reqs[0]
	if req.Method != http.MethodGet || req.URL.Path != "/verify" || req.URL.RawQuery != "account=12%2634+5&pin=1234" {
		t.Errorf("request %s %s", req.Method, req.URL)
	}
	if q := req.URL.Query(); q.Get("account") != "12&34 5" || q.Get("pin") != "1234" {
		t.Errorf("query = %v", q)
	}
	want := map[string]string{
		"verify.verified": "true", "verify.name": "Ann Lee", "verify.tries": "2", "verify.ratio": "0.5",
		"verify.vip": "false", "verify.gone": "", "verify.address.city": "Lyon", "verify.status": "200",
		"verify.echo": "pin 1234",
	}
	for k, v := range want {
		if got, ok := res.Vars[k]; !ok || got != v {
			t.Errorf("%s = %q (set %v), want %q", k, got, ok, v)
		}
	}
	for _, k := range []string{"verify.cards", "verify.bad key", "verify.address.geo.lat", "verify.address.geo", "verify.error"} {
		if _, ok := res.Vars[k]; ok {
			t.Errorf("%s is set", k)
		}
	}
	ev := rec.only(EventLookup)
	if len(ev) != 1 {
		t.Fatalf("lookup events = %v", ev)
	}
	for _, kv := range []string{"into=verify", "status=200", "verify.name=Ann Lee", "verify.verified=true",
		"verify.address.city=Lyon", "verify.echo=********", " ms="} {
		if !strings.Contains(ev[0], kv) {
			t.Errorf("lookup event %q lacks %q", ev[0], kv)
		}
	}
	equal(t, "said", synth.texts, []string{"Hello Ann Lee"})
	for _, e := range rec.events {
		if strings.Contains(e, "1234") {
			t.Errorf("the PIN leaked into event %q", e)
		}
	}
}

// A PIN copied with set, branched on or spoken stays out of the timeline,
// and so does a POST's body.
func TestLookupSecretNeverInEvents(t *testing.T) {
	crm := newCRM(t, jsonAnswer(`{"verified": false, "pin": "9876"}`))
	f := mustParse(t, `
start: pin
steps:
  pin:
    gather: {prompt: enter_pin, digits: 4, into: pin, mask: true}
    next: copy
  copy:
    set: {code: "x${pin}x", plain: "hello"}
    next: post
  post:
    lookup: {url: "${crm}/check?code=${code}", method: post, send: [pin, code], into: v}
    next: said
  said:
    say: "you typed ${pin} and ${v.pin}"
    next: route
  route:
    branch: {var: code, cases: {"x9876x": bye}, default: bye}
  bye:
    hangup: true
`)
	res, _, rec := run(t, f, "9876", Env{Vars: map[string]string{"crm": crm.URL}})
	if res.Vars["code"] != "x9876x" || res.Vars["v.pin"] != "9876" || res.Vars["v.verified"] != "false" {
		t.Errorf("vars = %v", res.Vars)
	}
	if len(crm.reqs) != 1 || crm.reqs[0].Method != http.MethodPost || crm.reqs[0].Header.Get("Content-Type") != "application/json" {
		t.Fatalf("requests = %v", crm.reqs)
	}
	var sent map[string]string
	if err := json.Unmarshal([]byte(crm.body[0]), &sent); err != nil || sent["pin"] != "9876" || sent["code"] != "x9876x" || len(sent) != 2 {
		t.Errorf("POST body %q (%v)", crm.body[0], err)
	}
	for _, e := range rec.events {
		if strings.Contains(e, "9876") {
			t.Errorf("the PIN leaked into event %q", e)
		}
	}
	equal(t, "set", rec.only(EventSet), []string{"set copy code=****** plain=hello"})
}

func TestLookupFailures(t *testing.T) {
	slow := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		reason  string
		status  string
	}{
		{"timeout", slow, "timeout", ""},
		{"500", func(w http.ResponseWriter, r *http.Request) { http.Error(w, `{"error":"down"}`, 500) }, "HTTP 500", "500"},
		{"404", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, "HTTP 404", "404"},
		{"not JSON", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html>hi</html>") }, "answer is not a JSON object", "200"},
		{"JSON array", jsonAnswer(`[1,2]`), "answer is not a JSON object", "200"},
		{"too large", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `{"a": "%s"}`, strings.Repeat("x", 70<<10))
		}, "answer larger than 64 KB", "200"},
		{"redirect to another host", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://example.invalid/verify", http.StatusFound)
		}, "network: redirect to another host (example.invalid)", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			crm := newCRM(t, tt.handler)
			f := mustParse(t, lookupFlow)
			start := time.Now()
			res, _, rec := run(t, f, "1234", Env{Vars: map[string]string{"crm": crm.URL}})
			if res.Reason != EndHangup || res.Cause != CauseUnavailable {
				t.Errorf("result = %+v, want the failure step", res)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v", d)
			}
			if res.Vars["verify.error"] != tt.reason || res.Vars["verify.status"] != tt.status {
				t.Errorf("verify.error %q status %q, want %q %q", res.Vars["verify.error"], res.Vars["verify.status"], tt.reason, tt.status)
			}
			ev := rec.only(EventLookupFailed)
			if len(ev) != 1 || !strings.Contains(ev[0], "reason="+tt.reason) || !strings.Contains(ev[0], "into=verify") {
				t.Errorf("events = %v", ev)
			}
			if len(rec.only(EventLookup)) != 0 {
				t.Errorf("lookup event on failure")
			}
			for _, e := range rec.events {
				if strings.Contains(e, "1234") || strings.Contains(e, crm.URL) {
					t.Errorf("event %q holds the PIN or the URL", e)
				}
			}
		})
	}
}

func TestLookupFailureWithoutStepGoesNext(t *testing.T) {
	f := mustParse(t, `
start: l
steps:
  l:
    lookup: {url: "http://127.0.0.1:1/x", into: r}
    next: done
  done:
    hangup: busy
`)
	res, _, rec := run(t, f, "", Env{})
	if res.Cause != CauseBusy || !strings.HasPrefix(res.Vars["r.error"], "network: ") {
		t.Errorf("result %+v, error %q", res, res.Vars["r.error"])
	}
	equal(t, "path", rec.path(), []string{"l", "done"})
}

// A retried lookup does not keep the previous answer's fields.
func TestLookupClearsPreviousAnswer(t *testing.T) {
	var n int
	crm := newCRM(t, func(w http.ResponseWriter, r *http.Request) {
		n++
		if n == 1 {
			io.WriteString(w, `{"verified": false}`)
			return
		}
		w.WriteHeader(503)
	})
	f := mustParse(t, `
start: a
steps:
  a:
    lookup: {url: "${crm}/v", into: v}
    next: b
  b:
    play: p
    next: c
  c:
    lookup: {url: "${crm}/v", into: v, next: d}
  d:
    hangup: true
`)
	res, _, _ := run(t, f, "", Env{Vars: map[string]string{"crm": crm.URL}})
	if _, ok := res.Vars["v.verified"]; ok || res.Vars["v.error"] != "HTTP 503" || res.Vars["v.status"] != "503" {
		t.Errorf("vars = %v", res.Vars)
	}
}

// The caller hanging up cancels the request at once.
func TestLookupHangupCancels(t *testing.T) {
	canceled := make(chan struct{})
	crm := newCRM(t, func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
		close(canceled)
	})
	f := mustParse(t, `
start: l
steps:
  l:
    lookup: {url: "${crm}/slow", into: r, timeout: 10s, failure: f}
    next: f
  f:
    hangup: true
`)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	rec := &recorder{}
	start := time.Now()
	res, err := f.Run(ctx, newFake(""), Env{Vars: map[string]string{"crm": crm.URL}, Events: rec})
	if err != nil || res.Reason != EndCallerHangup || !res.CallerHungUp {
		t.Errorf("Run = %+v, %v", res, err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v", d)
	}
	select {
	case <-canceled:
	case <-time.After(3 * time.Second):
		t.Error("the service did not see the request canceled")
	}
	if len(rec.only(EventLookup, EventLookupFailed)) != 0 {
		t.Errorf("events = %v", rec.events)
	}
}

func TestExpandURL(t *testing.T) {
	vars := map[string]string{"crm": "http://h:8080/demo/crm", "a": "1 2&b=3", "p": "x/y"}
	for tpl, want := range map[string]string{
		"${crm}/verify?account=${a}&pin=${p}": "http://h:8080/demo/crm/verify?account=1+2%26b%3D3&pin=x%2Fy",
		"${crm}/c/${p}":                       "http://h:8080/demo/crm/c/x/y",
		"http://x/?q=${missing}":              "http://x/?q=",
	} {
		if got := expandURL(tpl, vars); got != want {
			t.Errorf("expandURL(%q) = %q, want %q", tpl, got, want)
		}
	}
}

func TestParseLookup(t *testing.T) {
	f := mustParse(t, src(`
start: a
steps:
  a:
    lookup:
      url: "${crm}/customer?number=${caller}"
      method: post
      send: [caller, verify.name]
      timeout: 10s
      into: customer
      next: b
      failure: c
  b:
    lookup: {url: "https://crm.example/x", into: x}
    next: c
  c:
    branch: {var: customer.name, cases: {"": e}, default: d}
  d:
    set: {greeting: "hi ${customer.name}", x.y: "1"}
    next: e
  e:
    hangup: true
`))
	lk := f.Steps["a"].Lookup
	if lk.Method != "POST" || lk.Timeout != 10*time.Second || lk.Into != "customer" || lk.Failure != "c" ||
		strings.Join(lk.Send, ",") != "caller,verify.name" || f.Steps["a"].Next != "b" {
		t.Errorf("lookup a = %+v next %q", lk, f.Steps["a"].Next)
	}
	lb := f.Steps["b"].Lookup
	if lb.Method != "GET" || lb.Timeout != DefaultLookupTimeout || lb.Failure != "" || f.Steps["b"].Next != "c" {
		t.Errorf("lookup b = %+v", lb)
	}
	if got := f.Steps["a"].targets(); strings.Join(got, ",") != "b,c" {
		t.Errorf("targets = %v", got)
	}
}

func TestLookupDiagnostics(t *testing.T) {
	f, diags := ParseFlow("bad.yaml", []byte(src(`
start: a
steps:
  a:
    lookup:
      method: PUT
      send: [x]
      timeout: 11s
      next: nowhere
      failure: gone
  b:
    lookup: {url: "ftp://x/${bad name}", into: "1x", timeout: 2}
    next: c
  c:
    lookup: {url: "ftp://x/", into: ok, method: get, send: [ok]}
  d:
    lookup: {url: "http://x/", into: ok, next: e, failure: a}
    next: e
    failure: e
  e:
    lookup: {url: "http://x/", into: ok, failure: a}
    next: e
`)), CheckOptions{})
	if f != nil {
		t.Fatal("flow with errors was returned")
	}
	checkDiags(t, diags, []want{
		{4, `step a: lookup: missing url`},
		{4, `step a: lookup: missing into`},
		{5, `step a: lookup: method must be GET or POST, not "PUT"`},
		{6, `step a: lookup: send is only used with method: POST`},
		{7, `step a: lookup: timeout must be at most 10s, not 11s`},
		{8, `step a: lookup: next: unknown step "nowhere"`},
		{9, `step a: lookup: failure: unknown step "gone"`},
		{11, `step b: lookup: url: invalid variable name "bad name" in ${...}`},
		{11, `step b: lookup: into: invalid variable name "1x"`},
		{11, `step b: lookup: timeout: invalid duration "2"`},
		{13, `step c: missing next (a lookup step needs to know where to go)`},
		{14, `step c: lookup: url must start with http://, https:// or a ${var}`},
		{14, `step c: lookup: send is only used with method: POST`},
		{17, `step d: next given twice (here and inside lookup)`},
		{18, `step d: failure given twice (here and inside lookup)`},
		{19, `steps e -> e loop without playing a prompt or waiting for input`},
	})
}

// `hotline flow check` (CheckFiles) reports lookup mistakes as FILE:LINE.
func TestCheckFilesLookup(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crm.yaml")
	if err := os.WriteFile(path, []byte(src(`
start: l
steps:
  l:
    lookup:
      url: "${crm}/customer?number=${caller number}"
      method: DELETE
      into: customer
      next: done
  done:
    hangup: true
`)), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	n := CheckFiles([]string{path}, CheckOptions{}, &out)
	want := path + `:5: step l: lookup: url: invalid variable name "caller number" in ${...}` + "\n" +
		path + `:6: step l: lookup: method must be GET or POST, not "DELETE"` + "\n"
	if n != 2 || out.String() != want {
		t.Errorf("CheckFiles = %d:\n%s\nwant 2:\n%s", n, out.String(), want)
	}
}
