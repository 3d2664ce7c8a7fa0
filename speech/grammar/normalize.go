// Package grammar turns a speech.Grammar into the JSGF text a grammar-based
// recognizer compiles, and maps what the recognizer heard back to the
// grammar's choices and digits.
//
// It is pure Go so that `hotline flow check` and the unit tests can use it
// without the recognizer's C library: the only thing it needs from the
// engine is a Dictionary (which words it can recognize).
package grammar

import (
	"strconv"
	"strings"
	"unicode"
)

// Dictionary tells which words a recognizer can hear. Words are lower case.
type Dictionary interface {
	Has(word string) bool
}

// Normalize turns a phrase as a flow author wrote it ("Lost card!",
// "press 24", "ATM") into the recognizer's words ("lost card",
// "press twenty four", "atm"), and returns the words no rule could make
// recognizable.
//
// The rules, in order, per whitespace- or punctuation-separated token:
//   - lower case; punctuation is a separator, except an apostrophe or a
//     hyphen inside a word ("don't", "e-mail") which is kept when the
//     dictionary has the word that way;
//   - numbers are spelled out ("24" → "twenty four", "2nd" → "second",
//     "3.5" → "three point five", "0800" → "zero eight zero zero");
//     "&" is "and", "%" is "percent";
//   - a word the dictionary lacks is tried without its apostrophe, split at
//     its hyphens, and, when it was written in capitals ("IBAN"), spelled
//     letter by letter;
//   - anything else is missing. The words are not guessed with
//     letter-to-sound rules: a wrong guessed pronunciation fails silently
//     on every call, while a missing word fails once, at flow check, with
//     its file and line, and the author can rephrase it.
//
// With a nil dict every word is accepted (useful for tests of the pure
// text rules).
func Normalize(phrase string, dict Dictionary) (words, missing []string) {
	for _, tok := range tokenize(phrase) {
		for _, w := range expandToken(tok) {
			ws, ok := resolve(w, dict)
			if !ok {
				missing = append(missing, strings.ToLower(w))
				continue
			}
			words = append(words, ws...)
		}
	}
	return words, missing
}

// tokenize splits on everything but letters, digits and the characters that
// can sit inside a word or number (' - . , for "don't", "e-mail", "3.5",
// "1,000"); those are trimmed from the token's ends afterwards. Symbols
// that mean words (& %) become their own tokens.
func tokenize(s string) []string {
	var toks []string
	var cur strings.Builder
	flush := func() {
		t := strings.Trim(cur.String(), "'-.,’")
		if t != "" {
			toks = append(toks, t)
		}
		cur.Reset()
	}
	for _, r := range s {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			cur.WriteRune(r)
		case r == '\'' || r == '’':
			cur.WriteRune('\'')
		case r == '-' || r == '.' || r == ',':
			cur.WriteRune(r)
		case r == '&':
			flush()
			toks = append(toks, "and")
		case r == '%':
			flush()
			toks = append(toks, "percent")
		default:
			flush()
		}
	}
	flush()
	return toks
}

// expandToken spells numbers; other tokens come back unchanged (case
// kept, resolve needs it to spot acronyms).
func expandToken(tok string) []string {
	if !containsDigit(tok) {
		return []string{tok}
	}
	lower := strings.ToLower(tok)
	// Ordinals: 1st 2nd 3rd 4th 21st.
	for _, suf := range []string{"st", "nd", "rd", "th"} {
		if n, ok := strings.CutSuffix(lower, suf); ok && isDigits(n) {
			if v, err := strconv.ParseInt(n, 10, 64); err == nil && v < 1e12 {
				return ordinal(spellInt(v))
			}
		}
	}
	// Thousands separators only in the canonical 1,000 form; other commas
	// separate ("1,2" is "one two").
	if isGrouped(lower) {
		lower = strings.ReplaceAll(lower, ",", "")
	}
	var out []string
	for _, part := range strings.FieldsFunc(lower, func(r rune) bool { return r == ',' || r == '-' }) {
		out = append(out, spellNumberish(part)...)
	}
	return out
}

// spellNumberish spells "24", "3.5", "0800" and mixed tokens ("b12" → "b
// twelve").
func spellNumberish(s string) []string {
	if intPart, frac, ok := strings.Cut(s, "."); ok && isDigits(intPart) && isDigits(frac) {
		out := spellNumberish(intPart)
		out = append(out, "point")
		for _, d := range frac {
			out = append(out, digitWords[d-'0'])
		}
		return out
	}
	if isDigits(s) {
		// A leading zero or a long run is read digit by digit, the way
		// people say phone and account numbers.
		if (len(s) > 1 && s[0] == '0') || len(s) > 12 {
			out := make([]string, 0, len(s))
			for _, d := range s {
				out = append(out, digitWords[d-'0'])
			}
			return out
		}
		v, _ := strconv.ParseInt(s, 10, 64)
		return spellInt(v)
	}
	// Letters and digits mixed: split into runs.
	var out []string
	start := 0
	for i := 1; i <= len(s); i++ {
		if i == len(s) || isDigitByte(s[i]) != isDigitByte(s[i-1]) {
			run := s[start:i]
			if isDigits(run) {
				out = append(out, spellNumberish(run)...)
			} else {
				run = strings.Trim(run, ".")
				if run != "" {
					out = append(out, run)
				}
			}
			start = i
		}
	}
	return out
}

// resolve finds the dictionary words for one token.
func resolve(tok string, dict Dictionary) ([]string, bool) {
	w := strings.ToLower(tok)
	if dict == nil || dict.Has(w) {
		return []string{w}, true
	}
	if strings.ContainsRune(w, '\'') {
		if alt := strings.ReplaceAll(w, "'", ""); dict.Has(alt) {
			return []string{alt}, true
		}
	}
	if strings.ContainsAny(w, "-.") {
		var out []string
		ok := true
		for _, part := range strings.FieldsFunc(tok, func(r rune) bool { return r == '-' || r == '.' }) {
			ws, good := resolve(part, dict)
			ok = ok && good
			out = append(out, ws...)
		}
		if ok && len(out) > 0 {
			return out, true
		}
	}
	if isAcronym(tok) {
		out := make([]string, 0, len(tok))
		for _, r := range w {
			l := string(r)
			if !dict.Has(l) {
				return nil, false
			}
			out = append(out, l)
		}
		return out, true
	}
	return nil, false
}

func isAcronym(tok string) bool {
	if len(tok) < 2 || len(tok) > 6 {
		return false
	}
	for _, r := range tok {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

func containsDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if isDigitByte(s[i]) {
			return true
		}
	}
	return false
}

func isDigitByte(b byte) bool { return b >= '0' && b <= '9' }

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigitByte(s[i]) {
			return false
		}
	}
	return true
}

// isGrouped reports "1,000" / "12,345,678": groups of three after the first.
func isGrouped(s string) bool {
	parts := strings.Split(s, ",")
	if len(parts) < 2 || !isDigits(parts[0]) || len(parts[0]) > 3 || parts[0][0] == '0' {
		return false
	}
	for _, p := range parts[1:] {
		if len(p) != 3 || !isDigits(p) {
			return false
		}
	}
	return true
}

var digitWords = [10]string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}

var teens = [10]string{"ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"}

var tens = [10]string{"", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"}

// spellInt spells 0 ≤ v < 10^12 the American way, without "and"
// ("one hundred five"): callers say both, and a grammar must pick one.
func spellInt(v int64) []string {
	if v == 0 {
		return []string{"zero"}
	}
	var out []string
	for _, sc := range []struct {
		n    int64
		name string
	}{{1e9, "billion"}, {1e6, "million"}, {1e3, "thousand"}} {
		if v >= sc.n {
			out = append(out, spellBelow1000(v/sc.n)...)
			out = append(out, sc.name)
			v %= sc.n
		}
	}
	return append(out, spellBelow1000(v)...)
}

func spellBelow1000(v int64) []string {
	var out []string
	if v >= 100 {
		out = append(out, digitWords[v/100], "hundred")
		v %= 100
	}
	switch {
	case v >= 20:
		out = append(out, tens[v/10])
		if v%10 != 0 {
			out = append(out, digitWords[v%10])
		}
	case v >= 10:
		out = append(out, teens[v-10])
	case v > 0:
		out = append(out, digitWords[v])
	}
	return out
}

var ordinalWords = map[string]string{
	"zero": "zeroth", "one": "first", "two": "second", "three": "third", "four": "fourth",
	"five": "fifth", "six": "sixth", "seven": "seventh", "eight": "eighth", "nine": "ninth",
	"ten": "tenth", "eleven": "eleventh", "twelve": "twelfth", "thirteen": "thirteenth",
	"fourteen": "fourteenth", "fifteen": "fifteenth", "sixteen": "sixteenth",
	"seventeen": "seventeenth", "eighteen": "eighteenth", "nineteen": "nineteenth",
	"twenty": "twentieth", "thirty": "thirtieth", "forty": "fortieth", "fifty": "fiftieth",
	"sixty": "sixtieth", "seventy": "seventieth", "eighty": "eightieth", "ninety": "ninetieth",
	"hundred": "hundredth", "thousand": "thousandth", "million": "millionth", "billion": "billionth",
}

// ordinal turns the last word of a spelled cardinal into its ordinal.
func ordinal(words []string) []string {
	last := len(words) - 1
	words[last] = ordinalWords[words[last]]
	return words
}
