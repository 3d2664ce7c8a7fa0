package ivr

import (
	"bufio"
	"fmt"
	"hotline/internal/testenv"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"hotline/speech/grammar"
)

// tenantPrompts reads configs/prompts/PROMPTS.txt (tenant<TAB>name<TAB>text),
// the list the recordings are made from, so a flow cannot use a prompt
// nobody will record.
func tenantPrompts(t *testing.T) map[string]map[string]bool {
	t.Helper()
	file, err := os.Open("../configs/prompts/PROMPTS.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	out := map[string]map[string]bool{}
	sc := bufio.NewScanner(file)
	for n := 1; sc.Scan(); n++ {
		parts := strings.Split(sc.Text(), "\t")
		if len(parts) != 3 || parts[0] == "" || parts[1] == "" || strings.TrimSpace(parts[2]) == "" {
			t.Fatalf("PROMPTS.txt:%d: want tenant<TAB>name<TAB>text, got %q", n, sc.Text())
		}
		if out[parts[0]] == nil {
			out[parts[0]] = map[string]bool{}
		}
		if out[parts[0]][parts[1]] {
			t.Errorf("PROMPTS.txt:%d: duplicate prompt %s/%s", n, parts[0], parts[1])
		}
		out[parts[0]][parts[1]] = true
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func loadDemo(t *testing.T, file, tenant string) *Flow {
	t.Helper()
	prompts := tenantPrompts(t)[tenant]
	f, err := LoadFlow(filepath.Join("../configs/flows", file), CheckOptions{PromptExists: func(p string) bool { return prompts[p] }})
	if err != nil {
		t.Fatal(err)
	}
	if f.Tenant != tenant || len(f.Warnings) != 0 {
		t.Fatalf("tenant %q, warnings %v", f.Tenant, f.Warnings)
	}
	return f
}

// demoPINs are the PINs the demo tests type, as whole numbers (the account
// number 12345678 is not secret).
var demoPINs = regexp.MustCompile(`(^|[^0-9])(1234|0000|9999)([^0-9]|$)`)

// demoCRM answers PIN checks like the built-in demo CRM (web/democrm.go,
// which this package cannot import): PIN 1234 verifies any 8-digit
// account. It returns the base URL a tenant's crm variable holds.
func demoCRM(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/demo/crm/verify" {
			http.NotFound(w, r)
			return
		}
		q := r.URL.Query()
		ok := len(q.Get("account")) == 8 && q.Get("pin") == "1234"
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"verified": %t}`, ok)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/demo/crm"
}

func TestShippedFlowsCheckClean(t *testing.T) {
	paths, _ := filepath.Glob("../configs/flows/*.yaml")
	if len(paths) < 2 {
		t.Fatalf("flows found: %v", paths)
	}
	var out strings.Builder
	if n := CheckFiles(paths, CheckOptions{}, &out); n != 0 || out.Len() != 0 {
		t.Errorf("%d errors:\n%s", n, out.String())
	}
}

func TestDemoBank(t *testing.T) {
	f := loadDemo(t, "demo-main.yaml", "demo")
	// The demo tenant's zone in configs/hotline.yaml.
	newYork, _ := time.LoadLocation("America/New_York")
	tests := []struct {
		name, script string
		now          string // UTC; default a weekday morning
		holidays     []string
		reason       EndReason
		queue        string
		played       []string
		path         []string
		identity     string // the identity variable at the end
		crmDown      bool   // the tenant's service does not answer
	}{
		{name: "lost card", script: "1 1 12345678# 1234", reason: EndQueue, queue: "cards",
			played: []string{"welcome", "main_menu", "cards_menu", "lost_card", "account_number", "enter_pin"},
			path: []string{"welcome", "check_hours", "main_menu", "cards_menu", "lost_card", "lost_card_account",
				"enter_pin", "verify_pin", "pin_checked", "pin_verified", "queue_cards"},
			identity: "verified"},
		{name: "lost card, wrong PIN then right", script: "1 1 12345678# 0000 1234", reason: EndQueue, queue: "cards",
			played: []string{"welcome", "main_menu", "cards_menu", "lost_card", "account_number", "enter_pin", "pin_wrong", "enter_pin"},
			path: []string{"welcome", "check_hours", "main_menu", "cards_menu", "lost_card", "lost_card_account",
				"enter_pin", "verify_pin", "pin_checked", "pin_wrong", "pin_retry", "pin_wrong_retry",
				"enter_pin", "verify_pin", "pin_checked", "pin_verified", "queue_cards"},
			identity: "verified"},
		{name: "lost card, two wrong PINs queue anyway", script: "1 1 12345678# 0000 9999", reason: EndQueue, queue: "cards",
			played: []string{"welcome", "main_menu", "cards_menu", "lost_card", "account_number", "enter_pin", "pin_wrong", "enter_pin", "pin_wrong"},
			path: []string{"welcome", "check_hours", "main_menu", "cards_menu", "lost_card", "lost_card_account",
				"enter_pin", "verify_pin", "pin_checked", "pin_wrong", "pin_retry", "pin_wrong_retry",
				"enter_pin", "verify_pin", "pin_checked", "pin_wrong", "pin_wrong_again", "queue_cards"}},
		{name: "lost card, CRM down queues anyway", script: "1 1 12345678# 1234", crmDown: true, reason: EndQueue, queue: "cards",
			played: []string{"welcome", "main_menu", "cards_menu", "lost_card", "account_number", "enter_pin"},
			path: []string{"welcome", "check_hours", "main_menu", "cards_menu", "lost_card", "lost_card_account",
				"enter_pin", "verify_pin", "queue_cards"}},
		{name: "lost card, no account number queues anyway", script: "1 1 - -", reason: EndQueue, queue: "cards",
			played: []string{"welcome", "main_menu", "cards_menu", "lost_card", "account_number", "no_input", "account_number", "no_input"},
			path:   []string{"welcome", "check_hours", "main_menu", "cards_menu", "lost_card", "lost_card_account", "queue_cards"}},
		{name: "other card question", script: "1 2", reason: EndQueue, queue: "cards",
			played: []string{"welcome", "main_menu", "cards_menu"}},
		{name: "back to main menu then agent", script: "1 9 0", reason: EndQueue, queue: "general",
			played: []string{"welcome", "main_menu", "cards_menu", "main_menu"},
			path:   []string{"welcome", "check_hours", "main_menu", "cards_menu", "main_menu", "queue_general"}},
		{name: "account number", script: "2 12345678#", reason: EndQueue, queue: "accounts",
			played: []string{"welcome", "main_menu", "account_number", "account_thanks"}},
		{name: "account number too short, then right", script: "2 1234# 87654321", reason: EndQueue, queue: "accounts",
			played: []string{"welcome", "main_menu", "account_number", "account_invalid", "account_number", "account_thanks"}},
		{name: "agent", script: "0", reason: EndQueue, queue: "general",
			played: []string{"welcome", "main_menu"}},
		{name: "menu failure says goodbye", script: "5 - 7", reason: EndHangup,
			played: []string{"welcome", "main_menu", "invalid", "main_menu", "no_input", "main_menu", "invalid", "goodbye"}},
		{name: "midnight is open (24:00)", script: "0", now: "2026-03-03T04:59:30Z", reason: EndQueue, queue: "general",
			played: []string{"welcome", "main_menu"}},
		{name: "tenant holiday is closed", script: "", now: "2026-12-25T15:00:00Z", holidays: []string{"2026-12-25"}, reason: EndHangup,
			played: []string{"welcome", "closed"},
			path:   []string{"welcome", "check_hours", "closed", "hangup"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := utc("2026-03-02T14:15:00Z")
			if tt.now != "" {
				now = utc(tt.now)
			}
			crm := demoCRM(t)
			if tt.crmDown {
				crm = "http://127.0.0.1:1/demo/crm"
			}
			res, ch, rec := run(t, f, tt.script, Env{
				Now:      func() time.Time { return now },
				Location: newYork,
				Holidays: tt.holidays,
				Vars:     map[string]string{"caller": "+33100000000", "crm": crm},
			})
			if res.Reason != tt.reason || res.Queue != tt.queue {
				t.Errorf("result = %+v, want %s %s", res, tt.reason, tt.queue)
			}
			if tt.reason == EndHangup && res.Cause != CauseNormal {
				t.Errorf("cause = %q", res.Cause)
			}
			equal(t, "played", ch.played, tt.played)
			if tt.path != nil {
				equal(t, "path", rec.path(), tt.path)
			}
			if res.Vars["identity"] != tt.identity {
				t.Errorf("identity = %q, want %q", res.Vars["identity"], tt.identity)
			}
			for _, e := range rec.events {
				if strings.HasPrefix(tt.name, "lost card") && demoPINs.MatchString(e) {
					t.Errorf("a PIN leaked into event %q", e)
				}
			}
			if tt.queue == "accounts" && len(res.Vars["account"]) != 8 {
				t.Errorf("account = %q", res.Vars["account"])
			}
			if tt.reason == EndQueue {
				equal(t, "music", ch.music, []string{"moh"})
			}
		})
	}
}

func TestAcmeShop(t *testing.T) {
	f := loadDemo(t, "acme-main.yaml", "acme")
	for script, queue := range map[string]string{"1": "orders", "2": "returns", "0": "general", "3 1": "orders"} {
		res, ch, _ := run(t, f, script, Env{})
		if res.Reason != EndQueue || res.Queue != queue {
			t.Errorf("%q: result = %+v, want queue %s", script, res, queue)
		}
		if ch.played[0] != "welcome" {
			t.Errorf("%q: played %v", script, ch.played)
		}
	}
	res, ch, _ := run(t, f, "- - -", Env{})
	if res.Reason != EndHangup || ch.played[len(ch.played)-1] != "goodbye" {
		t.Errorf("failure: %+v, played %v", res, ch.played)
	}
}

// debianDict is the recognizer's dictionary as Debian's pocketsphinx-en-us
// installs it.
const debianDict = "/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict"

// dictVocab checks words the way the recognizer will see them.
type dictVocab struct{ d *grammar.Dict }

func (v dictVocab) Missing(p string) []string { _, m := grammar.Normalize(p, v.d); return m }

// The shipped flows' phrases must all be recognizable, and every menu's
// grammar must compile (no phrase shared by two options after the
// recognizer's normalisation).
func TestShippedFlowsSpeech(t *testing.T) {
	d, err := grammar.LoadDict(debianDict)
	if err != nil {
		testenv.Missing(t, "no recognizer dictionary: %v (apt-get install pocketsphinx-en-us)", err)
	}
	paths, _ := filepath.Glob("../configs/flows/*.yaml")
	for _, path := range paths {
		f, err := LoadFlow(path, CheckOptions{Vocabulary: dictVocab{d}})
		if err != nil {
			t.Fatal(err)
		}
		menus := 0
		for name, s := range f.Steps {
			if s.Menu == nil && s.Gather == nil {
				continue
			}
			g, err := f.MenuGrammar(name)
			if err != nil {
				t.Errorf("%s: %v", path, err)
				continue
			}
			if _, err := grammar.Compile(g, d); err != nil {
				t.Errorf("%s: step %s: grammar: %v", path, name, err)
			}
			menus++
		}
		if menus == 0 {
			t.Errorf("%s: no menu or gather", path)
		}
	}
}
