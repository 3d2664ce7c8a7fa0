package grammar

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"hotline/speech"
)

// setDict is a tiny dictionary so these tests need no installed model.
type setDict map[string]bool

func (d setDict) Has(w string) bool { return d[w] }

func dictOf(words string) setDict {
	d := setDict{}
	for _, w := range strings.Fields(words) {
		d[w] = true
	}
	return d
}

var testDict = dictOf(`lost card my is stolen balance agent talk to an operator don't e mail
	email press twenty four seven three point five zero eight first second twenty-first
	one two hundred thousand and percent a t m b c x`)

func TestNormalize(t *testing.T) {
	cases := []struct {
		in      string
		words   string
		missing []string
	}{
		{"Lost card!", "lost card", nil},
		{"  LOST   card?? ", "lost card", nil},
		{"don't", "don't", nil},
		{"Don’t", "don't", nil}, // typographic apostrophe
		{"press 24", "press twenty four", nil},
		{"7", "seven", nil},
		{"3.5", "three point five", nil},
		{"0800", "zero eight zero zero", nil},
		{"1,200", "one thousand two hundred", nil},
		{"2nd", "second", nil},
		{"100%", "one hundred percent", nil},
		{"e-mail", "e mail", nil}, // not in dict hyphenated: split
		{"ATM", "a t m", nil},     // acronym spelled
		{"BCX", "b c x", nil},
		{"lost; card <x> | y", "lost card x", []string{"y"}},
		{"my card is lost, quickly", "my card is lost", []string{"quickly"}},
		{"", "", nil},
		{"?!", "", nil},
	}
	for _, c := range cases {
		w, m := Normalize(c.in, testDict)
		if got := strings.Join(w, " "); got != c.words || !reflect.DeepEqual(m, c.missing) {
			t.Errorf("Normalize(%q) = %q missing %q, want %q missing %q", c.in, got, m, c.words, c.missing)
		}
	}
}

func TestSpellInt(t *testing.T) {
	cases := map[int64]string{
		0: "zero", 5: "five", 13: "thirteen", 40: "forty", 99: "ninety nine", 105: "one hundred five",
		1000: "one thousand", 2024: "two thousand twenty four", 1000001: "one million one",
		999999999999: "nine hundred ninety nine billion nine hundred ninety nine million nine hundred ninety nine thousand nine hundred ninety nine",
	}
	for v, want := range cases {
		if got := strings.Join(spellInt(v), " "); got != want {
			t.Errorf("spellInt(%d) = %q, want %q", v, got, want)
		}
	}
}

func TestCompileChoices(t *testing.T) {
	g := speech.Grammar{Choices: []speech.Choice{
		{Name: "1", Phrases: []string{"Lost card!", "my card is lost", "lost card", ""}},
		{Name: "2", Phrases: []string{"balance"}},
		{Name: "0", Phrases: []string{"agent", "talk to an operator; <now> | please"}},
	}}
	d := dictOf("lost card my is balance agent talk to an operator now please")
	c, err := Compile(g, d)
	if err != nil {
		t.Fatal(err)
	}
	want := "#JSGF V1.0;\ngrammar hotline;\npublic <utt> = <c0> | <c1> | <c2>;\n" +
		"<c0> = lost card | my card is lost;\n<c1> = balance;\n<c2> = agent | talk to an operator now please;\n"
	if c.JSGF != want {
		t.Errorf("JSGF:\n%s\nwant:\n%s", c.JSGF, want)
	}
	for hyp, choice := range map[string]string{"lost card": "1", "MY CARD IS LOST": "1", "balance": "2", "talk to an operator now please": "0", "card": ""} {
		if r := c.Interpret(hyp); r.Choice != choice {
			t.Errorf("Interpret(%q) = %+v, want choice %q", hyp, r, choice)
		}
	}
	c2, _ := Compile(g, d)
	if c2.Key != c.Key || len(c.Key) != 16 {
		t.Errorf("key not stable: %q %q", c.Key, c2.Key)
	}
}

func TestCompileOddCharactersCannotBreakGrammar(t *testing.T) {
	g := speech.Grammar{Choices: []speech.Choice{{Name: "x", Phrases: []string{`a;b<c>|d(e)[f]{g}*h+i/j\k"l=m#n`}}}}
	c, err := Compile(g, nil)
	if err != nil {
		t.Fatal(err)
	}
	body := strings.SplitN(c.JSGF, "\n", 4)[3]
	if !strings.Contains(body, "<c0> = a b c d e f g h i j k l m n;") {
		t.Errorf("odd characters not split into words:\n%s", c.JSGF)
	}
	for _, line := range strings.Split(strings.TrimSpace(body), "\n") {
		_, rhs, _ := strings.Cut(line, " = ")
		if strings.ContainsAny(strings.TrimSuffix(rhs, ";"), ";<>|()[]{}*+/\\\"=#") {
			t.Errorf("JSGF syntax leaked into a phrase: %q", line)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	d := dictOf("lost card balance")
	_, err := Compile(speech.Grammar{Choices: []speech.Choice{{Name: "1", Phrases: []string{"lost card", "lost plastic thingy"}}}}, d)
	var mw *MissingWordsError
	if !errors.As(err, &mw) || !reflect.DeepEqual(mw.Words, []string{"plastic", "thingy"}) {
		t.Errorf("missing words: err = %v", err)
	}
	_, err = Compile(speech.Grammar{Choices: []speech.Choice{{Name: "1", Phrases: []string{"lost card"}}, {Name: "2", Phrases: []string{"Lost  card."}}}}, d)
	var amb *AmbiguousError
	if !errors.As(err, &amb) || amb.Phrase != "lost card" {
		t.Errorf("duplicate across choices: err = %v", err)
	}
	if _, err = Compile(speech.Grammar{Choices: []speech.Choice{{Name: "1", Phrases: []string{"", "!!"}}}}, d); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty phrases: err = %v", err)
	}
	if _, err = Compile(speech.Grammar{Digits: true, MinDigits: 4, MaxDigits: 2}, d); err == nil {
		t.Error("max < min accepted")
	}
}

func TestDigits(t *testing.T) {
	cases := []struct {
		min, max int
		rule     string
	}{
		{0, 0, "<d> <d>*"},
		{3, 3, "<d> <d> <d>"},
		{1, 3, "<d> [<d> [<d>]]"},
		{2, 0, "<d> <d> <d>*"},
	}
	for _, c := range cases {
		if got := digitsRule(max(c.min, 1), c.max); got != c.rule {
			t.Errorf("digitsRule(%d,%d) = %q, want %q", c.min, c.max, got, c.rule)
		}
	}
	c, err := Compile(speech.Grammar{Digits: true, MinDigits: 3, MaxDigits: 4,
		Choices: []speech.Choice{{Name: "back", Phrases: []string{"go back"}}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for hyp, want := range map[string]Result{
		"four two seven":     {Text: "4 2 7", Digits: "427"},
		"oh eight zero nine": {Text: "0 8 0 9", Digits: "0809"},
		"four two":           {Text: "four two"}, // too short
		"go back":            {Text: "go back", Choice: "back"},
	} {
		if got := c.Interpret(hyp); got != want {
			t.Errorf("Interpret(%q) = %+v, want %+v", hyp, got, want)
		}
	}
}

func TestReadDict(t *testing.T) {
	d, err := ReadDict(strings.NewReader(";;; comment\nzero Z IH R OW\nzero(2) Z IY R OW\ndon't D OW N T\n\n"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 2 || !d.Has("zero") || !d.Has("don't") || d.Has("zero(2)") {
		t.Errorf("dict = %v", d.words)
	}
}

func TestDictMissing(t *testing.T) {
	d, _ := ReadDict(strings.NewReader("lost L AO S T\ncard K AA R D\n"))
	if m := d.Missing("Lost card!"); len(m) != 0 {
		t.Errorf("Missing = %q", m)
	}
	if m := d.Missing("lost wallet"); !reflect.DeepEqual(m, []string{"wallet"}) {
		t.Errorf("Missing = %q", m)
	}
}
