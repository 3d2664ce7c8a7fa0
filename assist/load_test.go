package assist

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadDemoAndAcme(t *testing.T) {
	demo, err := LoadDir(demoDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(demo) < 10 || len(demo) > 20 {
		t.Errorf("demo has %d articles, want 10-20", len(demo))
	}
	for _, a := range demo {
		if a.File == "" || a.Line == 0 || a.Origin != OriginFile || len(a.Phrases) < 3 || len(a.Intents) == 0 {
			t.Errorf("article %s: %+v", a.ID, a)
		}
	}
	if acme, err := LoadDir("../configs/kb/acme"); err != nil || len(acme) < 2 {
		t.Errorf("acme: %d articles, %v", len(acme), err)
	}
}

// TestParseFileErrors: each malformed file gives exactly these
// FILE:LINE: messages.
func TestParseFileErrors(t *testing.T) {
	for _, c := range []struct {
		name, src string
		want      []string
	}{
		{"missing title", `
- id: a
  phrases: [lost card]
`, []string{"f.yaml:2: article a needs a title"}},
		{"empty phrases", `- id: a
  title: A
  phrases: []
- id: b
  title: B
`, []string{"f.yaml:3: article a needs phrases: what callers say when it is the answer",
			"f.yaml:4: article b needs phrases: what callers say when it is the answer"}},
		{"empty phrase", `- id: a
  title: A
  phrases:
    - lost card
    - ""
    - the my a
`, []string{`f.yaml:5: article a: phrase 2 is empty`,
			`f.yaml:6: article a: phrase "the my a" has only stop words (a, my, the, please...), so it can never match`}},
		{"unknown field", `- id: a
  title: A
  phrases: [x y]
  answer: no such field
`, []string{`f.yaml:4: unknown field "answer" (want id, title, body, phrases, keywords, intents or tags)`}},
		{"bad YAML", `- id: a
  title: "unclosed
  phrases: [x]
`, []string{"f.yaml:2: bad YAML: found unexpected end of stream"}},
		{"wrong types", `- id: a
  title: [not, text]
  phrases: lost card
- just text
`, []string{`f.yaml:2: title must be text, found a list`,
			`f.yaml:3: phrases must be a list of text ([a, b] or - lines), found "lost card"`,
			`f.yaml:4: an article must be a mapping (id, title, body, phrases, keywords, intents, tags), found "just text"`}},
		{"not a list", `id: a
title: A
`, []string{"f.yaml:1: want a list of articles (- id: ..., title: ..., phrases: [...]), found a mapping"}},
		{"empty file", "# nothing yet\n", []string{"f.yaml: no articles: want a list of articles (- id: ..., title: ..., phrases: [...])"}},
		{"bad id and intent", `- id: Lost Card
  title: A
  phrases: [lost card]
  intents: [ok, Not OK]
`, []string{`f.yaml:1: id "Lost Card": want lower-case letters, digits, '.', '_' or '-' (at most 64, starting with a letter or digit)`,
			`f.yaml:4: article Lost Card: intent "Not OK": want lower-case letters, digits, '_', '.' or '-'`}},
		{"field twice", `- id: a
  title: A
  title: B
  phrases: [x y]
`, []string{`f.yaml:3: field "title" given twice (first at line 2)`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, errs := ParseFile("f.yaml", []byte(c.src))
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
			}
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(c.want, "\n  "))
			}
		})
	}
}

func TestLoadDirDuplicates(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := write("a.yaml", "- id: x\n  title: X\n  phrases: [lost card]\n")
	b := write("b.yml", "- id: y\n  title: Y\n  phrases: [pin]\n\n- id: x\n  title: X again\n  phrases: [stolen card]\n")
	write("notes.txt", "not an article file")
	_, err := LoadDir(dir)
	want := b + `:5: duplicate article id "x" (first at ` + a + `:1)`
	if err == nil || err.Error() != want {
		t.Errorf("LoadDir: %v\nwant %s", err, want)
	}
	var out bytes.Buffer
	if n := CheckFiles([]string{a, b, filepath.Join(dir, "missing.yaml")}, &out); n != 2 {
		t.Errorf("CheckFiles found %d problems:\n%s", n, &out)
	}
	if !strings.Contains(out.String(), want) || !strings.Contains(out.String(), "missing.yaml: no such file or directory") {
		t.Errorf("CheckFiles printed:\n%s", &out)
	}
	if _, err := LoadDir(filepath.Join(dir, "nope")); err == nil {
		t.Error("LoadDir of a missing directory succeeded")
	}
}

func TestIsKnowledgeFile(t *testing.T) {
	flow := []byte("tenant: demo\nstart: a\n")
	list := []byte("- id: a\n  phrases: [x]\n")
	for _, c := range []struct {
		path string
		data []byte
		want bool
	}{
		{"configs/kb/demo/cards.yaml", flow, true},
		{"configs/flows/demo-main.yaml", flow, false},
		{"/tmp/x/articles.yaml", list, true},
		{"/tmp/x/broken.yaml", []byte("a: [\n"), false},
		{"/tmp/x/checklist.yaml", []byte("- id: a\n  title: A\n"), false},
	} {
		if got := IsKnowledgeFile(c.path, c.data); got != c.want {
			t.Errorf("IsKnowledgeFile(%s) = %v", c.path, got)
		}
	}
}

type fakeVocab map[string]bool

func (v fakeVocab) Missing(phrase string) []string {
	var out []string
	for _, w := range strings.Fields(strings.ToLower(phrase)) {
		if !v[w] {
			out = append(out, w)
		}
	}
	return out
}

// TestCheckFilesVocabulary: words the recognizer lacks are warnings at
// the article's line, not counted as problems.
func TestCheckFilesVocabulary(t *testing.T) {
	p := filepath.Join(t.TempDir(), "kb.yaml")
	if err := os.WriteFile(p, []byte("- id: a\n  title: A\n  phrases: [lost card]\n- id: b\n  title: B\n  phrases: [lost card]\n  keywords: [hotlist]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if n := CheckFiles([]string{p}, &out, fakeVocab{"lost": true, "card": true}); n != 0 {
		t.Errorf("%d problems", n)
	}
	want := p + `:4: warning: article b: the recognizer does not know "hotlist" in "hotlist": callers saying it will not match` + "\n"
	if out.String() != want {
		t.Errorf("printed %q, want %q", out.String(), want)
	}
}
