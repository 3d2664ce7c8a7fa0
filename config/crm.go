package config

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// TenantCRM is a tenant's CRM lookup for the agent's caller context
// (docs/assist.md, "Caller context"): an HTTP GET answered by a JSON
// object whose members are shown beside the softphone before the agent
// answers. URL is a template: ${caller} (the caller's number), ${dnis}
// (the number dialled), ${call}, ${tenant} and the tenant's vars.
type TenantCRM struct {
	URL string `yaml:"url"`
	// Timeout bounds the lookup (default 2s, at most 10s); past it the
	// agent sees "CRM unavailable" and the call goes on.
	Timeout Duration `yaml:"timeout"`
	// Fields, when given, are the answer's members shown, in this order;
	// otherwise all are, in the answer's order.
	Fields []string `yaml:"fields"`
}

// Bounds of a CRM lookup's timeout.
const (
	DefaultCRMTimeout = 2 * time.Second
	MaxCRMTimeout     = 10 * time.Second
)

// crmBuiltins are the variables a CRM URL may use besides the tenant's.
var crmBuiltins = []string{"caller", "dnis", "call", "tenant"}

// checkCRM validates t.CRM and fills its default timeout.
func checkCRM(t *Tenant, at func(keys ...string) int, bad func(line int, format string, args ...any)) {
	c := &t.CRM
	if c.URL == "" {
		if len(c.Fields) > 0 || c.Timeout != 0 {
			bad(at("crm"), "tenant %s: crm has fields or a timeout but no url", t.ID)
		}
		return
	}
	switch d := time.Duration(c.Timeout); {
	case d == 0:
		c.Timeout = Duration(DefaultCRMTimeout)
	case d < 0 || d > MaxCRMTimeout:
		bad(at("crm", "timeout"), "tenant %s: crm.timeout %v: want more than 0 and at most %v (the agent waits for it)", t.ID, d, MaxCRMTimeout)
	}
	if u, ok := t.crmSampleURL(at, bad); ok {
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			bad(at("crm", "url"), "tenant %s: crm.url %q: want an http:// or https:// URL once its variables are filled", t.ID, c.URL)
		}
	}
	seen := map[string]bool{}
	for j, f := range c.Fields {
		switch {
		case strings.TrimSpace(f) == "" || len(f) > 64:
			bad(at("crm", "fields", strconv.Itoa(j)), "tenant %s: crm.fields: %q: want a field name of 1-64 characters", t.ID, f)
		case seen[f]:
			bad(at("crm", "fields", strconv.Itoa(j)), "tenant %s: crm.fields: %q listed twice", t.ID, f)
		}
		seen[f] = true
	}
}

// crmSampleURL fills the CRM URL template with sample values, reporting
// variables the tenant does not have and unclosed ${.
func (t *Tenant) crmSampleURL(at func(keys ...string) int, bad func(line int, format string, args ...any)) (string, bool) {
	var sb strings.Builder
	rest, ok := t.CRM.URL, true
	for {
		i := strings.Index(rest, "${")
		if i < 0 {
			sb.WriteString(rest)
			return sb.String(), ok
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			bad(at("crm", "url"), "tenant %s: crm.url %q: ${ without a closing }", t.ID, t.CRM.URL)
			return "", false
		}
		sb.WriteString(rest[:i])
		name := rest[i+2 : i+j]
		if v, isVar := t.Vars[name]; isVar && !isCRMBuiltin(name) {
			sb.WriteString(v)
		} else if isCRMBuiltin(name) {
			sb.WriteString("1")
		} else {
			bad(at("crm", "url"), "tenant %s: crm.url: unknown variable ${%s} (want caller, dnis, call, tenant or one of the tenant's vars)", t.ID, name)
			ok = false
		}
		rest = rest[i+j+1:]
	}
}

func isCRMBuiltin(name string) bool { return slices.Contains(crmBuiltins, name) }
