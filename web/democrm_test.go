package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func TestDemoCRMVerify(t *testing.T) {
	h := (&Server{}).Handler()
	for path, want := range map[string]bool{
		"/demo/crm/verify?account=12345678&pin=1234": true,
		"/demo/crm/verify?account=87654321&pin=1234": true,
		"/demo/crm/verify?account=12345678&pin=4321": false,
		"/demo/crm/verify?account=1234567&pin=1234":  false,
		"/demo/crm/verify?account=1234567x&pin=1234": false,
		"/demo/crm/verify?pin=1234":                  false,
		"/demo/crm/verify":                           false,
	} {
		rec := get(t, h, path)
		var got map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != 200 || len(got) != 1 || got["verified"] != want {
			t.Errorf("%s = %d %s (%v), want verified=%v", path, rec.Code, rec.Body, err, want)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: content type %q", path, ct)
		}
	}
	post := func(body string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", "/demo/crm/verify", strings.NewReader(body)))
		return rec
	}
	if rec := post(`{"account": "12345678", "pin": "1234"}`); rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != `{"verified":true}` {
		t.Errorf("POST = %d %s", rec.Code, rec.Body)
	}
	if rec := post(`not json`); rec.Code != 400 {
		t.Errorf("POST garbage = %d %s", rec.Code, rec.Body)
	}
}

func TestDemoCRMCustomer(t *testing.T) {
	h := (&Server{}).Handler()
	fetch := func(number string) (int, map[string]string) {
		rec := get(t, h, "/demo/crm/customer?number="+number)
		var c map[string]string
		if rec.Code == 200 {
			if err := json.Unmarshal(rec.Body.Bytes(), &c); err != nil {
				t.Fatalf("customer %s: %v in %s", number, err, rec.Body)
			}
		} else if !strings.Contains(rec.Body.String(), `"error"`) {
			t.Errorf("customer %s: %d without a JSON error: %s", number, rec.Code, rec.Body)
		}
		return rec.Code, c
	}
	code, a := fetch("%2B15550123")
	if code != 200 {
		t.Fatalf("customer = %d", code)
	}
	for _, k := range []string{"name", "segment", "customer_since", "cards", "balance", "city"} {
		if a[k] == "" {
			t.Errorf("field %s empty in %v", k, a)
		}
	}
	if len(a) != 6 {
		t.Errorf("fields = %v", a)
	}
	if !regexp.MustCompile(`^(Visa|Mastercard|Amex) ending \d{4}$`).MatchString(a["cards"]) ||
		!regexp.MustCompile(`^\d{1,3}(,\d{3})*\.\d{2}$`).MatchString(a["balance"]) ||
		!regexp.MustCompile(`^20[0-2]\d$`).MatchString(a["customer_since"]) {
		t.Errorf("customer = %v", a)
	}
	// The same number, however written, is the same customer; others
	// differ somewhere.
	if _, b := fetch("%2B1%20(555)%200123"); b["name"] != a["name"] || b["balance"] != a["balance"] {
		t.Errorf("same number, different customer: %v vs %v", a, b)
	}
	differ := 0
	for _, n := range []string{"%2B15550124", "%2B442079460000", "alice", "anonymous"} {
		_, c := fetch(n)
		if c["name"] != a["name"] || c["balance"] != a["balance"] {
			differ++
		}
	}
	if differ < 3 {
		t.Errorf("customers barely differ by number")
	}
	for _, n := range []string{"", "%20", "%2B"} {
		if code, _ := fetch(n); code != http.StatusNotFound {
			t.Errorf("number %q = %d, want 404", n, code)
		}
	}
	if rec := get(t, h, "/demo/crm/other"); rec.Code != 404 {
		t.Errorf("unknown resource = %d", rec.Code)
	}
}

func TestGroupThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 12: "12", 999: "999", 1000: "1,000", 1234567: "1,234,567", 49999: "49,999"} {
		if got := groupThousands(n); got != want {
			t.Errorf("groupThousands(%d) = %q, want %q", n, got, want)
		}
	}
}
