// Package region tells where a caller is from by their number: a
// tenant's own table of number prefixes → region (longest prefix wins),
// and a built-in table of the ITU-T E.164 country calling codes → ISO
// 3166 country. Lookups walk a digit trie: no allocation, a few
// nanoseconds per digit.
package region

import (
	"fmt"
	"strings"
)

// Rule maps the numbers that start with Prefix (E.164, '+' optional) to
// Region.
type Rule struct {
	Prefix string
	Region string
}

// trie is a 10-ary digit trie; values index into a slice kept by its
// owner, -1 for none.
type trie struct {
	nodes []trieNode
}

type trieNode struct {
	child [10]int32 // 0: none (the root is never a child)
	val   int32
}

func newTrie() *trie { return &trie{nodes: []trieNode{{val: -1}}} }

// insert sets the value of digits, reporting the value it had (-1 none).
func (t *trie) insert(digits string, val int32) int32 {
	n := int32(0)
	for i := 0; i < len(digits); i++ {
		d := digits[i] - '0'
		next := t.nodes[n].child[d]
		if next == 0 {
			t.nodes = append(t.nodes, trieNode{val: -1})
			next = int32(len(t.nodes) - 1)
			t.nodes[n].child[d] = next
		}
		n = next
	}
	old := t.nodes[n].val
	t.nodes[n].val = val
	return old
}

// longest returns the value of the longest prefix of digits that has one
// and that prefix's length; -1 when none matches. Digits end at the first
// non-digit.
func (t *trie) longest(digits string) (val int32, n int) {
	val = -1
	node := int32(0)
	for i := 0; i < len(digits); i++ {
		d := digits[i] - '0'
		if d > 9 {
			break
		}
		node = t.nodes[node].child[d]
		if node == 0 {
			break
		}
		if v := t.nodes[node].val; v >= 0 {
			val, n = v, i+1
		}
	}
	return val, n
}

// Table is a tenant's prefix → region table. The zero value and nil match
// nothing. It is immutable once built, so safe for concurrent use.
type Table struct {
	t       *trie
	regions []string
}

// NewTable builds a table. Every problem is reported, one line each, in
// rule order: a prefix that is not an E.164 number prefix, a prefix given
// twice, an invalid region name.
func NewTable(rules []Rule) (*Table, error) {
	t := &Table{t: newTrie()}
	var errs []string
	for i, r := range rules {
		digits, ok := PrefixDigits(r.Prefix)
		if !ok {
			errs = append(errs, fmt.Sprintf("rule %d: prefix %q: want digits with an optional leading '+'", i+1, r.Prefix))
			continue
		}
		if !ValidName(r.Region) {
			errs = append(errs, fmt.Sprintf("rule %d: region %q: use letters, digits, '_' and '-' (at most 64)", i+1, r.Region))
			continue
		}
		if old := t.t.insert(digits, int32(len(t.regions))); old >= 0 {
			errs = append(errs, fmt.Sprintf("rule %d: prefix +%s given twice", i+1, digits))
			continue
		}
		t.regions = append(t.regions, r.Region)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("region: %s", strings.Join(errs, "; "))
	}
	return t, nil
}

// Lookup returns the region of the longest prefix of number (E.164, '+'
// optional) in the table.
func (t *Table) Lookup(number string) (string, bool) {
	if t == nil || t.t == nil {
		return "", false
	}
	v, _ := t.t.longest(strings.TrimPrefix(number, "+"))
	if v < 0 {
		return "", false
	}
	return t.regions[v], true
}

// Regions lists the table's distinct regions in rule order.
func (t *Table) Regions() []string {
	if t == nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, r := range t.regions {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

// Len is the number of rules.
func (t *Table) Len() int {
	if t == nil {
		return 0
	}
	return len(t.regions)
}

// PrefixDigits checks an E.164 prefix ("+1555", "44", "+1 555") and
// returns its digits. Spaces, '-', '.' and parentheses are ignored.
func PrefixDigits(prefix string) (string, bool) {
	s := strings.TrimSpace(prefix)
	s = strings.TrimPrefix(s, "+")
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return "", false
		}
	}
	d := b.String()
	if d == "" || len(d) > 15 || d[0] == '0' {
		return "", false
	}
	return d, true
}

// ValidName reports whether s may name a region: letters, digits, '_' and
// '-', at most 64 characters.
func ValidName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// builtin is the country-code trie, built once at start.
var builtin = func() *trie {
	t := newTrie()
	for i, c := range countryCodes {
		if t.insert(c.code, int32(i)) >= 0 {
			panic("region: country code " + c.code + " twice")
		}
	}
	return t
}()

// Country returns the ISO 3166-1 alpha-2 country of an E.164 number ('+'
// optional) and its country calling code ("1", "44", ...). iso is "" for
// a non-geographic code (international freephone, satellite, ...); ok is
// false when no calling code matches.
func Country(number string) (iso, code string, ok bool) {
	v, _ := builtin.longest(strings.TrimPrefix(number, "+"))
	if v < 0 {
		return "", "", false
	}
	c := countryCodes[v]
	return c.iso, callingCodeOf(c.code), true
}

// CallingCode returns the country calling code of an ISO country, e.g.
// "44" for GB; "" when unknown or shared by no number (XK has one).
func CallingCode(iso string) string {
	return isoCodes[strings.ToUpper(iso)]
}

// isoCodes maps each ISO country to its calling code (the first entry of
// the table that names it).
var isoCodes = func() map[string]string {
	m := map[string]string{}
	for _, c := range countryCodes {
		if _, ok := m[c.iso]; !ok && c.iso != "" {
			m[c.iso] = callingCodeOf(c.code)
		}
	}
	return m
}()

// Normalize turns a caller's number into E.164 with '+': separators go,
// "+…" stays as it is, and without a '+' the number is read by country's
// dialling rules (ISO code; "" reads every number without '+' as
// international without its '+'): the international prefix (00, 011 in
// the NANP, …) makes it international, the trunk prefix (0, 1 in the
// NANP, 8 in Russia) is swapped for the country code, and a NANP number
// of 10 digits gets +1. ok is false for anything that is not a number
// (anonymous callers, SIP names) or a national number too short to say
// (an extension).
func Normalize(number, country string) (string, bool) {
	var b [24]byte
	d := b[:0]
	plus := false
	for i := 0; i < len(number); i++ {
		c := number[i]
		switch {
		case c >= '0' && c <= '9':
			if len(d) == len(b) {
				return "", false
			}
			d = append(d, c)
		case c == '+' && len(d) == 0 && !plus:
			plus = true
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return "", false
		}
	}
	if len(d) == 0 {
		return "", false
	}
	digits := string(d)
	if plus || country == "" {
		if digits[0] == '0' {
			return "", false
		}
		return "+" + digits, true
	}
	country = strings.ToUpper(country)
	cc := CallingCode(country)
	if cc == "" {
		return "", false
	}
	if nanp[country] {
		switch {
		case strings.HasPrefix(digits, "011") && len(digits) > 4:
			return "+" + digits[3:], true
		case len(digits) == 11 && digits[0] == '1':
			return "+" + digits, true
		case len(digits) == 10:
			return "+1" + digits, true
		}
		return "", false
	}
	p, ok := dialPlans[country]
	if !ok {
		p = dialPlan{intl: "00", trunk: "0"}
	}
	switch {
	case strings.HasPrefix(digits, p.intl) && len(digits) > len(p.intl)+1:
		return "+" + digits[len(p.intl):], true
	case p.keepZero:
		return "+" + cc + digits, len(digits) >= 6
	case p.trunk != "" && strings.HasPrefix(digits, p.trunk):
		rest := digits[len(p.trunk):]
		return "+" + cc + rest, len(rest) >= 6
	case p.trunk == "" && len(digits) >= 6:
		return "+" + cc + digits, true
	}
	return "", false
}

// Match is where a number is from.
type Match struct {
	Number  string // E.164 with '+'; "" when the number could not be read
	Region  string // the tenant's region, else Country
	Country string // ISO 3166-1 alpha-2; "" unknown or non-geographic
	Code    string // the country calling code, "" unknown
}

// Resolver resolves a tenant's callers: their numbers normalised by the
// tenant's country, then the tenant's table, then the country codes.
type Resolver struct {
	table   *Table
	country string
}

// NewResolver builds a tenant's resolver; country (ISO, "" none) reads
// national numbers.
func NewResolver(rules []Rule, country string) (*Resolver, error) {
	if country != "" && CallingCode(country) == "" {
		return nil, fmt.Errorf("region: unknown country %q (want an ISO 3166 alpha-2 code such as US, GB, FR)", country)
	}
	t, err := NewTable(rules)
	if err != nil {
		return nil, err
	}
	return &Resolver{table: t, country: strings.ToUpper(country)}, nil
}

// Resolve says where number is from. The region is the tenant table's
// longest match, else the country's ISO code, else "". A nil Resolver
// uses the country codes only.
func (r *Resolver) Resolve(number string) Match {
	country := ""
	var t *Table
	if r != nil {
		country, t = r.country, r.table
	}
	e164, ok := Normalize(number, country)
	if !ok {
		return Match{}
	}
	m := Match{Number: e164}
	m.Country, m.Code, _ = Country(e164)
	if reg, ok := t.Lookup(e164); ok {
		m.Region = reg
	} else {
		m.Region = m.Country
	}
	return m
}

// Regions lists the tenant table's regions.
func (r *Resolver) Regions() []string {
	if r == nil {
		return nil
	}
	return r.table.Regions()
}
