package region

import (
	"strings"
	"testing"
)

func TestTableLongestPrefix(t *testing.T) {
	tab, err := NewTable([]Rule{
		{"+1", "nanp"}, {"+1555", "west"}, {"+15550", "west-core"}, {"44", "uk"}, {"+44 20", "london"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"+15550100", "west-core", true},
		{"15551234", "west", true},
		{"+12125550100", "nanp", true},
		{"+442079460000", "london", true},
		{"+441619460000", "uk", true},
		{"+33123456789", "", false},
		{"", "", false},
		{"+", "", false},
		{"+1x", "nanp", true}, // digits end at the first non-digit
	} {
		got, ok := tab.Lookup(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("Lookup(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
	if got := tab.Regions(); strings.Join(got, ",") != "nanp,west,west-core,uk,london" {
		t.Errorf("Regions = %v", got)
	}
	var nilTab *Table
	if _, ok := nilTab.Lookup("+1"); ok {
		t.Error("nil table matched")
	}
}

func TestTableErrors(t *testing.T) {
	_, err := NewTable([]Rule{{"+1555", "west"}, {"1555", "east"}, {"+1a", "x"}, {"", "x"}, {"+0", "x"}, {"+1", "bad name"}})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"rule 2: prefix +1555 given twice", "rule 3", "rule 4", "rule 5", `rule 6: region "bad name"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestCountry(t *testing.T) {
	for _, c := range []struct{ in, iso, code string }{
		{"+12125550100", "US", "1"},
		{"+14165550100", "CA", "1"},
		{"+18765550100", "JM", "1"},
		{"+442079460000", "GB", "44"},
		{"+441534123456", "JE", "44"},
		{"+33123456789", "FR", "33"},
		{"+4930123456", "DE", "49"},
		{"+8610123456", "CN", "86"},
		{"+74951234567", "RU", "7"},
		{"+77011234567", "KZ", "7"},
		{"+358181234", "AX", "358"},
		{"+358912345", "FI", "358"},
		{"+2693123456", "KM", "269"},
		{"+262269123456", "YT", "262"},
		{"+262262123456", "RE", "262"},
		{"+59991234567", "CW", "599"},
		{"+5997123456", "BQ", "599"},
		{"+80012345678", "", "800"},
		{"+3906698123", "VA", "39"},
		{"+390612345", "IT", "39"},
		{"+6189164123", "CX", "61"},
		{"+61212345678", "AU", "61"},
		{"+998901234567", "UZ", "998"},
		{"+383441234", "XK", "383"},
	} {
		iso, code, ok := Country(c.in)
		if !ok || iso != c.iso || code != c.code {
			t.Errorf("Country(%q) = %q, %q, %v; want %q, %q", c.in, iso, code, ok, c.iso, c.code)
		}
	}
	for _, in := range []string{"", "+", "+0", "+28", "+999", "abc"} {
		if iso, code, ok := Country(in); ok {
			t.Errorf("Country(%q) = %q, %q, true; want no match", in, iso, code)
		}
	}
}

// TestCountryTable checks the table's shape: codes are digits, entries are
// unique, every refinement sits under a calling code of the table, and
// every calling code is 1-3 digits.
func TestCountryTable(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range countryCodes {
		if _, ok := PrefixDigits(c.code); !ok {
			t.Errorf("code %q is not digits", c.code)
		}
		if seen[c.code] {
			t.Errorf("code %q twice", c.code)
		}
		seen[c.code] = true
		if c.iso != "" && (len(c.iso) != 2 || strings.ToUpper(c.iso) != c.iso) {
			t.Errorf("code %s: ISO %q", c.code, c.iso)
		}
	}
	for _, c := range countryCodes {
		cc := callingCodeOf(c.code)
		if len(cc) < 1 || len(cc) > 3 || !seen[cc] {
			t.Errorf("code %s: calling code %q is not in the table", c.code, cc)
		}
	}
	// Every zone's two-digit codes are in the table as codes, never
	// shadowed by a three-digit code of the same start.
	for code := range seen {
		if len(code) == 3 && seen[code[:2]] && callingCodeOf(code) != code[:2] {
			t.Errorf("three-digit code %s under two-digit code %s", code, code[:2])
		}
	}
	if n := len(seen); n < 250 {
		t.Errorf("only %d codes", n)
	}
}

func TestNormalize(t *testing.T) {
	for _, c := range []struct {
		in, country, want string
		ok                bool
	}{
		{"+1 (555) 010-0100", "", "+15550100100", true},
		{"15550100", "", "+15550100", true},
		{"2125550100", "US", "+12125550100", true},
		{"12125550100", "US", "+12125550100", true},
		{"01144207946000", "US", "+44207946000", true},
		{"5550100", "US", "", false},
		{"02079460000", "GB", "+442079460000", true},
		{"00331234567890", "GB", "+331234567890", true},
		{"0612345678", "FR", "+33612345678", true},
		{"0612345678", "IT", "+390612345678", true},
		{"84951234567", "RU", "+74951234567", true},
		{"810441234567", "RU", "+441234567", true},
		{"612345678", "ES", "+34612345678", true},
		{"+44 20 7946 0000", "US", "+442079460000", true},
		{"anonymous", "US", "", false},
		{"", "", "", false},
		{"0123", "", "", false},
		{"+1234567890123456789012345", "", "", false},
		{"2125550100", "ZZ", "", false},
	} {
		got, ok := Normalize(c.in, c.country)
		if got != c.want || ok != c.ok {
			t.Errorf("Normalize(%q, %q) = %q, %v; want %q, %v", c.in, c.country, got, ok, c.want, c.ok)
		}
	}
}

func TestResolver(t *testing.T) {
	r, err := NewResolver([]Rule{{"+1555", "west"}, {"+1212", "east"}}, "us")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		in   string
		want Match
	}{
		{"+15550100", Match{Number: "+15550100", Region: "west", Country: "US", Code: "1"}},
		{"2125550100", Match{Number: "+12125550100", Region: "east", Country: "US", Code: "1"}},
		{"4165550100", Match{Number: "+14165550100", Region: "CA", Country: "CA", Code: "1"}},
		{"011442079460000", Match{Number: "+442079460000", Region: "GB", Country: "GB", Code: "44"}},
		{"sipp", Match{}},
	} {
		if got := r.Resolve(c.in); got != c.want {
			t.Errorf("Resolve(%q) = %+v; want %+v", c.in, got, c.want)
		}
	}
	var none *Resolver
	if got := none.Resolve("+33123456789"); got.Region != "FR" || got.Country != "FR" {
		t.Errorf("nil resolver: %+v", got)
	}
	if _, err := NewResolver(nil, "XX"); err == nil {
		t.Error("unknown country accepted")
	}
}

func BenchmarkTableLookup(b *testing.B) {
	rules := make([]Rule, 0, 2000)
	for i := range 2000 {
		rules = append(rules, Rule{Prefix: "+1" + itoa(200+i%800) + itoa(i), Region: "r" + itoa(i%50)})
	}
	tab, err := NewTable(rules)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		tab.Lookup("+12125550100")
	}
}

func BenchmarkCountry(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Country("+442079460000")
	}
}

func BenchmarkResolve(b *testing.B) {
	r, _ := NewResolver([]Rule{{"+1555", "west"}, {"+1212", "east"}}, "US")
	b.ReportAllocs()
	for b.Loop() {
		r.Resolve("2125550100")
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}
