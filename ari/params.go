package ari

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// params are an ARI request's parameters. Asterisk takes them from the
// query string and, for POST and PUT, also from a JSON object body (clients
// differ in which they use); "variables" is the body's map of channel
// variables.
type params struct {
	q    url.Values
	body map[string]any
	vars map[string]string
}

// maxBody bounds a request body: ARI bodies are small objects.
const maxBody = 1 << 20

// readParams parses the query and a JSON body; a malformed body or query
// is an error the handler answers with 400.
func readParams(w http.ResponseWriter, r *http.Request) (params, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return params{}, fmt.Errorf("malformed query string")
	}
	p := params{q: q}
	if r.Body == nil || r.ContentLength == 0 {
		return p, nil
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return params{}, fmt.Errorf("request body: %w", err)
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return p, nil
	}
	if err := json.Unmarshal(data, &p.body); err != nil {
		return params{}, errors.New("Invalid JSON body")
	}
	if v, ok := p.body["variables"]; ok {
		m, ok := v.(map[string]any)
		if !ok {
			return params{}, errors.New("variables must be an object")
		}
		p.vars = map[string]string{}
		for k, x := range m {
			p.vars[k] = scalar(x)
		}
	}
	return p, nil
}

func scalar(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func (p params) get(name string) string {
	if v := p.q.Get(name); v != "" {
		return v
	}
	if v, ok := p.body[name]; ok {
		if l, isList := v.([]any); isList {
			parts := make([]string, len(l))
			for i, x := range l {
				parts[i] = scalar(x)
			}
			return strings.Join(parts, ",")
		}
		return scalar(v)
	}
	return ""
}

// list reads a parameter that allows several values: repeated, comma
// separated, or a JSON array.
func (p params) list(name string) []string {
	var out []string
	add := func(s string) {
		for part := range strings.SplitSeq(s, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	for _, v := range p.q[name] {
		add(v)
	}
	if len(out) == 0 {
		if v, ok := p.body[name]; ok {
			if l, isList := v.([]any); isList {
				for _, x := range l {
					out = append(out, scalar(x))
				}
			} else {
				add(scalar(v))
			}
		}
	}
	return out
}

func (p params) intParam(name string, def int) (int, error) {
	v := p.get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%s: not an integer", name)
	}
	return n, nil
}

func (p params) boolParam(name string, def bool) (bool, error) {
	v := p.get(name)
	if v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s: not a boolean", name)
	}
	return b, nil
}

// withParams wraps a handler that needs parsed parameters; a malformed
// request gets Asterisk's 400 body.
func withParams(h func(w http.ResponseWriter, r *http.Request, p params)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := readParams(w, r)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		h(w, r, p)
	}
}
