package config

import (
	"strings"
	"testing"
)

func TestNumberApp(t *testing.T) {
	ok := good + strings.Join([]string{
		"      - number: \"+1 555 0101\"",
		"        app: hello",
		"        args: [demo, 42, \"\"]",
		"      - {number: \"+15550102\", app: my-app.v2_b}",
	}, "\n")
	c, err := Parse("h.yaml", []byte(ok))
	if err != nil {
		t.Fatal(err)
	}
	ns := c.Tenants[0].Numbers
	if len(ns) != 3 || ns[1].Number != "+15550101" || ns[1].App != "hello" || ns[1].Flow != "" ||
		strings.Join(ns[1].Args, "|") != "demo|42|" || ns[2].App != "my-app.v2_b" || len(ns[2].Args) != 0 {
		t.Fatalf("numbers = %+v", ns)
	}
}

func TestNumberAppErrors(t *testing.T) {
	bad := good + strings.Join([]string{
		"      - number: \"+15550101\"", // 12
		"        flow: main",
		"        app: hello",            // 14: both
		"      - number: \"+15550102\"", // 15: neither
		"        args: [x]",
		"      - {number: \"+15550103\", app: \"hello world\"}",                  // 17
		"      - {number: \"+15550104\", app: hello, answer_delay: 2s}",          // 18
		"      - {number: \"+15550105\", flow: main, args: [x]}",                 // 19
		"      - {number: \"+15550106\", app: \"$x\"}",                           // 20
		"      - {number: \"+15550107\", app: " + strings.Repeat("a", 129) + "}", // 21
	}, "\n")
	_, err := Parse("h.yaml", []byte(bad))
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{
		"h.yaml:14: tenant demo: number +15550101 has both flow and app; give one",
		"h.yaml:15: tenant demo: number +15550102 needs a flow or an app",
		`h.yaml:17: tenant demo: number +15550103: invalid application name "hello world"`,
		"h.yaml:18: tenant demo: number +15550104: answer_delay is for flows",
		"h.yaml:19: tenant demo: number +15550105: args are for an app, not a flow",
		`h.yaml:20: tenant demo: number +15550106: invalid application name "$x"`,
		"h.yaml:21: tenant demo: number +15550107: invalid application name",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != 7 {
		t.Errorf("%d errors, want 7:\n%v", n, err)
	}
}

func TestDemoConfigRoutesNumberToApp(t *testing.T) {
	c, err := Load("../configs/hotline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tn := range c.Tenants {
		for _, n := range tn.Numbers {
			if n.Number == "+15550101" {
				if tn.ID != "demo" || n.App != "hello" || n.Flow != "" {
					t.Fatalf("+15550101 = tenant %s %+v, want demo's application hello", tn.ID, n)
				}
				return
			}
		}
	}
	t.Fatal("+15550101 is not configured")
}
