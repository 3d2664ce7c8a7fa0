package ari

import (
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
)

// compatRow is one row of the compatibility table in docs/ari.md.
type compatRow struct {
	Resource, Method, Path, Status, Notes string
	Line                                  int
}

func (r compatRow) key() string { return r.Method + " " + r.Path }

// readCompatTable parses the "Compatibility table" section of
// docs/ari.md: | resource | method | path | status | notes |.
func readCompatTable(t *testing.T) []compatRow {
	t.Helper()
	data, err := os.ReadFile("../docs/ari.md")
	if err != nil {
		t.Fatal(err)
	}
	var rows []compatRow
	in, header := false, false
	for i, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "## ") {
			if in {
				break
			}
			in = strings.TrimSpace(line) == "## Compatibility table"
			continue
		}
		if !in || !strings.HasPrefix(strings.TrimSpace(line), "|") {
			continue
		}
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		for j := range cells {
			cells[j] = strings.TrimSpace(cells[j])
		}
		if !header {
			if strings.Join(cells, ",") != "resource,method,path,status,notes" {
				t.Fatalf("docs/ari.md:%d: compatibility table header %q, want | resource | method | path | status | notes |", i+1, line)
			}
			header = true
			continue
		}
		if strings.Trim(strings.Join(cells, ""), "- :") == "" {
			continue // the separator row
		}
		if len(cells) != 5 {
			t.Errorf("docs/ari.md:%d: %d cells, want 5: %q", i+1, len(cells), line)
			continue
		}
		rows = append(rows, compatRow{Resource: cells[0], Method: cells[1], Path: strings.Trim(cells[2], "`"),
			Status: cells[3], Notes: cells[4], Line: i + 1})
	}
	if len(rows) == 0 {
		t.Fatal("docs/ari.md: no compatibility table rows")
	}
	return rows
}

// TestCompatibilityTableListsAsteriskOperations: the table has exactly one
// row per operation of Asterisk 18's ARI, and a known status.
func TestCompatibilityTableListsAsteriskOperations(t *testing.T) {
	rows := readCompatTable(t)
	want := map[string]asteriskOp{}
	for _, op := range asteriskOps {
		k := op.Method + " " + op.Path
		if _, dup := want[k]; dup {
			t.Fatalf("asteriskOps lists %s twice", k)
		}
		want[k] = op
	}
	seen := map[string]int{}
	for _, r := range rows {
		if l, dup := seen[r.key()]; dup {
			t.Errorf("docs/ari.md:%d: %s already on line %d", r.Line, r.key(), l)
		}
		seen[r.key()] = r.Line
		op, ok := want[r.key()]
		switch {
		case !ok:
			t.Errorf("docs/ari.md:%d: %s is not an Asterisk 18 ARI operation", r.Line, r.key())
		case op.Resource != r.Resource:
			t.Errorf("docs/ari.md:%d: %s belongs to %s, not %s", r.Line, r.key(), op.Resource, r.Resource)
		}
		if r.Status != "implemented" && r.Status != "501" {
			t.Errorf("docs/ari.md:%d: status %q, want implemented or 501", r.Line, r.Status)
		}
	}
	for _, op := range asteriskOps {
		if _, ok := seen[op.Method+" "+op.Path]; !ok {
			t.Errorf("docs/ari.md: no row for %s %s %s (%s)", op.Resource, op.Method, op.Path, op.Nickname)
		}
	}
}

// servedOp is an operation of our Swagger documents.
type servedOp struct{ Resource, Nickname string }

// servedOperations walks /ari/api-docs/resources.json and every document
// it lists, as a Swagger client does.
func servedOperations(t *testing.T, base string) map[string]servedOp {
	t.Helper()
	var listing struct {
		APIs []struct{ Path string }
	}
	if code := do(t, "GET", base+"/ari/api-docs/resources.json", "ua", "pa", &listing); code != 200 || len(listing.APIs) == 0 {
		t.Fatalf("resources.json: %d %+v", code, listing)
	}
	served := map[string]servedOp{}
	for _, api := range listing.APIs {
		var doc struct {
			ResourcePath string
			APIs         []struct {
				Path       string
				Operations []struct{ HTTPMethod, Nickname string }
			}
		}
		docPath := strings.Replace(api.Path, "{format}", "json", 1)
		if code := do(t, "GET", base+"/ari"+docPath, "ua", "pa", &doc); code != 200 {
			t.Fatalf("%s: %d", docPath, code)
		}
		resource := strings.TrimSuffix(strings.TrimPrefix(docPath, "/api-docs/"), ".json")
		for _, a := range doc.APIs {
			for _, op := range a.Operations {
				k := op.HTTPMethod + " " + a.Path
				if _, dup := served[k]; dup {
					t.Errorf("%s: %s documented twice", docPath, k)
				}
				served[k] = servedOp{Resource: resource, Nickname: op.Nickname}
			}
		}
	}
	return served
}

// TestCompatibilityTableMatchesServer: every row marked implemented is in
// our Swagger documents (same method and path, same resource and
// nickname), every 501 row is not, and answers 501 Not implemented.
func TestCompatibilityTableMatchesServer(t *testing.T) {
	_, hs := newTestServer(t)
	served := servedOperations(t, hs.URL)
	nick := map[string]string{}
	for _, op := range asteriskOps {
		nick[op.Method+" "+op.Path] = op.Nickname
	}
	param := regexp.MustCompile(`\{[^}]+\}`)
	for _, r := range readCompatTable(t) {
		op, isServed := served[r.key()]
		switch r.Status {
		case "implemented":
			if !isServed {
				t.Errorf("docs/ari.md:%d: %s marked implemented, but not in the Swagger documents", r.Line, r.key())
				continue
			}
			if op.Resource != r.Resource || nick[r.key()] != "" && op.Nickname != nick[r.key()] {
				t.Errorf("%s: documented as %s.%s, Asterisk has %s.%s", r.key(), op.Resource, op.Nickname, r.Resource, nick[r.key()])
			}
		case "501":
			if isServed {
				t.Errorf("docs/ari.md:%d: %s marked 501, but the Swagger documents list it (%s.%s)", r.Line, r.key(), op.Resource, op.Nickname)
				continue
			}
			t.Run(r.Method+r.Path, func(t *testing.T) {
				path := param.ReplaceAllStringFunc(r.Path, func(p string) string {
					if p == "{channelId}" {
						return "c1" // an existing channel: no handler may take it
					}
					return "x1"
				})
				var msg map[string]any
				code := do(t, r.Method, hs.URL+"/ari"+path+"?"+url.Values{"app": {"hello"}, "endpoint": {"PJSIP/1@t"}}.Encode(), "ua", "pa", &msg)
				if code == 501 && msg["message"] == "Not implemented" {
					return
				}
				t.Errorf("%s %s answers %d %v, want 501 {\"message\":\"Not implemented\"}", r.Method, path, code, msg)
			})
		}
	}
}

// TestServedOperationsAreAsterisk: every operation of our documents is an
// Asterisk 18 ARI operation (method and path): nothing invented.
func TestServedOperationsAreAsterisk(t *testing.T) {
	_, hs := newTestServer(t)
	known := map[string]bool{}
	for _, op := range asteriskOps {
		known[op.Method+" "+op.Path] = true
	}
	for k, op := range servedOperations(t, hs.URL) {
		if !known[k] {
			t.Errorf("%s (%s.%s) is in our Swagger documents but not an Asterisk 18 ARI operation", k, op.Resource, op.Nickname)
		}
	}
}
