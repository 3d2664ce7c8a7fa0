package web

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// The demo CRM stands in for a tenant's customer service so the demo
// flow's lookup steps (PIN check) and the agents' caller-context panel work
// without any external system. Everything it answers is made up: no
// customer data exists behind it, and it has no authentication. Tenants
// reach it through their `crm` variable (configs/hotline.yaml,
// docs/flows.md "HTTP lookups").
//
//	GET  /demo/crm/verify?account=A&pin=P   {"verified": true|false}
//	POST /demo/crm/verify  {"account": A, "pin": P}   the same
//	GET  /demo/crm/customer?number=N        a made-up customer, 404 for a blank number
const demoCRMPath = "/demo/crm/"

// demoPIN verifies any 8-digit account.
const demoPIN = "1234"

func (s *Server) demoCRMRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+demoCRMPath+"verify", demoVerify)
	mux.HandleFunc("POST "+demoCRMPath+"verify", demoVerify)
	mux.HandleFunc("GET "+demoCRMPath+"customer", demoCustomer)
	mux.HandleFunc(demoCRMPath, func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "demo CRM: no such resource (verify, customer)")
	})
}

func demoVerify(w http.ResponseWriter, r *http.Request) {
	account, pin := r.URL.Query().Get("account"), r.URL.Query().Get("pin")
	if r.Method == http.MethodPost {
		var body struct{ Account, Pin string }
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&body); err != nil {
			writeError(w, http.StatusBadRequest, "demo CRM: want a JSON object {account, pin}")
			return
		}
		account, pin = body.Account, body.Pin
	}
	writeJSON(w, http.StatusOK, map[string]bool{"verified": isDigits(account, 8) && pin == demoPIN})
}

func isDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// demoCustomer is a made-up customer, the same for the same number so a
// repeat caller looks like one.
type demoCustomerView struct {
	Name          string `json:"name"`
	Segment       string `json:"segment"`
	CustomerSince string `json:"customer_since"`
	Cards         string `json:"cards"`
	Balance       string `json:"balance"`
	City          string `json:"city"`
}

var (
	demoFirst    = []string{"Ann", "Ben", "Carla", "David", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Keiko", "Liam", "Maya", "Noah", "Olga", "Pablo"}
	demoLast     = []string{"Lee", "Martin", "Okafor", "Schmidt", "Rossi", "Dubois", "Tanaka", "Silva", "Novak", "Larsen", "Haddad", "Walsh"}
	demoSegments = []string{"Standard", "Silver", "Gold", "Platinum"}
	demoCardKind = []string{"Visa", "Mastercard", "Amex"}
	demoCities   = []string{"New York", "Boston", "Chicago", "Denver", "Austin", "Seattle", "Miami", "Portland"}
)

func demoCustomer(w http.ResponseWriter, r *http.Request) {
	number := demoNumberKey(r.URL.Query().Get("number"))
	if number == "" {
		writeError(w, http.StatusNotFound, "demo CRM: no customer for a blank number")
		return
	}
	writeJSON(w, http.StatusOK, makeDemoCustomer(number))
}

// demoNumberKey keeps the characters that identify a number, so
// "+1 (555) 0100" and "+15550100" are the same customer.
func demoNumberKey(n string) string {
	var b strings.Builder
	for _, c := range strings.TrimSpace(n) {
		switch {
		case c >= '0' && c <= '9', c == '+' && b.Len() == 0:
			b.WriteRune(c)
		case c == ' ', c == '-', c == '(', c == ')', c == '.':
		default:
			// Not a phone number (a SIP user name, "anonymous"): keep it
			// whole, it still names one caller.
			return strings.ToLower(strings.TrimSpace(n))
		}
	}
	if strings.Trim(b.String(), "+") == "" {
		return ""
	}
	return b.String()
}

func makeDemoCustomer(number string) demoCustomerView {
	sum := sha256.Sum256([]byte(number))
	pick := func(i int, n int) int { return int(binary.BigEndian.Uint32(sum[i*4:]) % uint32(n)) }
	cents := int(binary.BigEndian.Uint32(sum[24:]) % 5_000_000)
	return demoCustomerView{
		Name:          demoFirst[pick(0, len(demoFirst))] + " " + demoLast[pick(1, len(demoLast))],
		Segment:       demoSegments[pick(2, len(demoSegments))],
		CustomerSince: fmt.Sprint(2005 + pick(3, 20)),
		Cards:         fmt.Sprintf("%s ending %04d", demoCardKind[pick(4, len(demoCardKind))], pick(5, 10000)),
		Balance:       fmt.Sprintf("%s.%02d", groupThousands(cents/100), cents%100),
		City:          demoCities[pick(6, len(demoCities))],
	}
}

// groupThousands writes n with commas: 1234567 -> "1,234,567".
func groupThousands(n int) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
