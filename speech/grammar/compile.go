package grammar

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"hotline/speech"
)

// ErrEmpty is returned by Compile when nothing in the grammar can be said.
var ErrEmpty = errors.New("grammar: nothing to recognize (no phrases and no digits)")

// MissingWordsError lists the words Compile could not make recognizable.
type MissingWordsError struct{ Words []string }

func (e *MissingWordsError) Error() string {
	return "grammar: words not in the recognizer's dictionary: " + strings.Join(e.Words, ", ")
}

// AmbiguousError is a phrase that two choices share: whichever the
// recognizer returned, the IVR could not tell which option the caller meant.
type AmbiguousError struct {
	Phrase        string
	Choice, Other string
}

func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("grammar: phrase %q belongs to both choice %q and choice %q", e.Phrase, e.Other, e.Choice)
}

// Compiled is a grammar ready for a recognizer.
type Compiled struct {
	// JSGF is the grammar text; its only rule is the public <utt>.
	JSGF string
	// Key identifies the grammar's content (a hash of JSGF): recognizers
	// cache compiled searches under it.
	Key string
	// phrase (normalized words joined by one space) → choice name.
	phrases              map[string]string
	digits               bool
	minDigits, maxDigits int
}

// digitValue maps the spoken digit words; "oh" is how most people say 0
// inside a number.
var digitValue = map[string]byte{
	"zero": '0', "oh": '0', "one": '1', "two": '2', "three": '3', "four": '4',
	"five": '5', "six": '6', "seven": '7', "eight": '8', "nine": '9',
}

// Compile builds the JSGF grammar for g. Phrases are normalized (see
// Normalize); empty phrases are ignored and duplicates within a choice
// merged. Errors: *MissingWordsError, *AmbiguousError, ErrEmpty.
func Compile(g speech.Grammar, dict Dictionary) (*Compiled, error) {
	c := &Compiled{phrases: map[string]string{}, digits: g.Digits, minDigits: g.MinDigits, maxDigits: g.MaxDigits}
	if c.minDigits < 1 {
		c.minDigits = 1
	}
	if c.maxDigits > 0 && c.maxDigits < c.minDigits {
		return nil, fmt.Errorf("grammar: MaxDigits %d below MinDigits %d", g.MaxDigits, g.MinDigits)
	}
	var missing []string
	seenMissing := map[string]bool{}
	type rule struct{ alts []string }
	var rules []rule
	for _, ch := range g.Choices {
		var r rule
		for _, p := range ch.Phrases {
			words, miss := Normalize(p, dict)
			for _, m := range miss {
				if !seenMissing[m] {
					seenMissing[m] = true
					missing = append(missing, m)
				}
			}
			if len(miss) > 0 || len(words) == 0 {
				continue
			}
			key := strings.Join(words, " ")
			if other, dup := c.phrases[key]; dup {
				if other != ch.Name {
					return nil, &AmbiguousError{Phrase: key, Choice: ch.Name, Other: other}
				}
				continue
			}
			c.phrases[key] = ch.Name
			r.alts = append(r.alts, key)
		}
		if len(r.alts) > 0 {
			rules = append(rules, r)
		}
	}
	if len(missing) > 0 {
		return nil, &MissingWordsError{Words: missing}
	}
	if len(rules) == 0 && !g.Digits {
		return nil, ErrEmpty
	}

	// Every token is [a-z0-9'.-] after Normalize, none of which JSGF
	// treats as syntax, so no quoting is needed: a phrase with ; < | was
	// split at those characters before it got here.
	var b strings.Builder
	b.WriteString("#JSGF V1.0;\ngrammar hotline;\npublic <utt> = ")
	var top []string
	for i := range rules {
		top = append(top, "<c"+strconv.Itoa(i)+">")
	}
	if g.Digits {
		top = append(top, "<digits>")
	}
	b.WriteString(strings.Join(top, " | "))
	b.WriteString(";\n")
	for i, r := range rules {
		fmt.Fprintf(&b, "<c%d> = %s;\n", i, strings.Join(r.alts, " | "))
	}
	if g.Digits {
		b.WriteString("<d> = zero | oh | one | two | three | four | five | six | seven | eight | nine;\n")
		b.WriteString("<digits> = " + digitsRule(c.minDigits, c.maxDigits) + ";\n")
	}
	c.JSGF = b.String()
	sum := sha256.Sum256([]byte(c.JSGF))
	c.Key = hex.EncodeToString(sum[:8])
	return c, nil
}

// digitsRule is min mandatory <d> then either nested optionals up to max
// or a <d>* tail when unbounded. Nested [<d> [<d>]] rather than a flat list
// of optionals keeps the FSG small: a flat list has many paths per length.
func digitsRule(minD, maxD int) string {
	parts := make([]string, 0, minD+1)
	for range minD {
		parts = append(parts, "<d>")
	}
	switch {
	case maxD == 0:
		parts = append(parts, "<d>*")
	case maxD > minD:
		opt := strings.Repeat("[<d> ", maxD-minD) + strings.Repeat("]", maxD-minD)
		parts = append(parts, strings.ReplaceAll(opt, " ]", "]"))
	}
	return strings.Join(parts, " ")
}

// Result is what a hypothesis means for the grammar.
type Result struct {
	// Text: the words heard, digit words as digits ("4 2 7").
	Text   string
	Choice string
	Digits string
}

// Interpret maps a recognizer hypothesis (space-separated words) to the
// grammar's choice or digits. A hypothesis that is neither (which a
// grammar search should not produce) gives only Text.
func (c *Compiled) Interpret(hyp string) Result {
	words := strings.Fields(strings.ToLower(hyp))
	key := strings.Join(words, " ")
	if name, ok := c.phrases[key]; ok {
		return Result{Text: key, Choice: name}
	}
	if c.digits && len(words) > 0 {
		var d []byte
		for _, w := range words {
			v, ok := digitValue[w]
			if !ok {
				d = nil
				break
			}
			d = append(d, v)
		}
		if d != nil && len(d) >= c.minDigits && (c.maxDigits == 0 || len(d) <= c.maxDigits) {
			sp := make([]string, len(d))
			for i, v := range d {
				sp[i] = string(v)
			}
			return Result{Text: strings.Join(sp, " "), Digits: string(d)}
		}
	}
	return Result{Text: key}
}

// Phrases returns the grammar's normalized phrases, sorted (for logs and
// tests).
func (c *Compiled) Phrases() []string {
	out := make([]string, 0, len(c.phrases))
	for p := range c.phrases {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Dict is a pronunciation dictionary's word list (CMU format: "word PH
// ON ES", alternatives as "word(2) ..."). Only the words are kept: the
// recognizer loads the pronunciations itself.
type Dict struct{ words map[string]struct{} }

// LoadDict reads a CMU-format dictionary file.
func LoadDict(path string) (*Dict, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("grammar: load dictionary: %w", err)
	}
	defer f.Close()
	d, err := ReadDict(f)
	if err != nil {
		return nil, fmt.Errorf("grammar: load dictionary %s: %w", path, err)
	}
	return d, nil
}

// ReadDict reads a CMU-format dictionary.
func ReadDict(r io.Reader) (*Dict, error) {
	d := &Dict{words: make(map[string]struct{}, 140000)}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		w, _, ok := strings.Cut(line, " ")
		if !ok || w == "" || strings.HasPrefix(line, ";;;") {
			continue
		}
		if i := strings.IndexByte(w, '('); i > 0 {
			w = w[:i]
		}
		d.words[strings.ToLower(w)] = struct{}{}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(d.words) == 0 {
		return nil, errors.New("no words")
	}
	return d, nil
}

// Has implements Dictionary.
func (d *Dict) Has(w string) bool {
	_, ok := d.words[w]
	return ok
}

// Len is the number of distinct words.
func (d *Dict) Len() int { return len(d.words) }

// Missing implements speech.Vocabulary for a dictionary alone, without the
// recognizer: `hotline flow check` can name unrecognizable words with no
// decoder (and no cgo) loaded. The result matches the pocketsphinx
// engine's Missing for the same dictionary.
func (d *Dict) Missing(phrase string) []string {
	_, missing := Normalize(phrase, d)
	return missing
}

var _ speech.Vocabulary = (*Dict)(nil)
