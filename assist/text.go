package assist

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// scanWords calls fn for each word of text (letters and digits;
// apostrophes inside a word are dropped, so "don't" is "dont") with its
// byte offsets and its stem, which is nil for stop words and for words
// over 64 bytes (a pasted URL or token: nothing a caller says). The stem
// lives in a buffer reused for the next word: fn copies what it keeps.
// Nothing here allocates, so the matcher's hot path can look stems up in
// its term map without making strings.
func scanWords(text string, fn func(start, end int, stem []byte)) {
	var word [64]byte
	i := 0
	for i < len(text) {
		r, size := utf8.DecodeRuneInString(text[i:])
		if !isWordRune(r) {
			i += size
			continue
		}
		start := i
		n := 0
		long := false
		for i < len(text) {
			r, size = utf8.DecodeRuneInString(text[i:])
			if r == '\'' || r == '’' {
				// Inside a word only: "caller's" -> "callers".
				if i+size < len(text) {
					if nr, _ := utf8.DecodeRuneInString(text[i+size:]); isWordRune(nr) {
						i += size
						continue
					}
				}
				break
			}
			if !isWordRune(r) {
				break
			}
			lr := unicode.ToLower(r)
			if n+utf8.RuneLen(lr) <= len(word) {
				n += utf8.EncodeRune(word[n:], lr)
			} else {
				long = true
			}
			i += size
		}
		if long || n == 0 {
			fn(start, i, nil)
			continue
		}
		fn(start, i, stemBytes(word[:n]))
	}
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// terms returns the stems of text's content words, in order.
func terms(text string) []string {
	var out []string
	scanWords(text, func(_, _ int, st []byte) {
		if st != nil {
			out = append(out, string(st))
		}
	})
	return out
}

// stemBytes stems a lower-cased word in place, or returns nil for a stop
// word.
func stemBytes(w []byte) []byte {
	if _, ok := stopWords[string(w)]; ok {
		return nil
	}
	if s, ok := irregular[string(w)]; ok {
		return append(w[:0], s...)
	}
	return stem(w)
}

// stem is a light English suffix stripper: plurals, -ing, -ed, -ly and a
// final -e, so "blocked", "blocking", "blocks" and "block" meet, and
// "change", "changed", "changing" too. It is deliberately weaker than a
// Porter stemmer: over-stemming merges words a bank's callers keep apart
// ("charges" and "charged" should meet, but "number" must not become
// "numb"). Non-ASCII words are left as they are.
func stem(w []byte) []byte {
	if len(w) <= 3 || !isASCII(w) {
		return w
	}
	switch {
	case hasSuffix(w, "sses"):
		w = w[:len(w)-2]
	case hasSuffix(w, "ies") && len(w) > 4:
		w = append(w[:len(w)-3], 'y')
	case hasSuffix(w, "s") && !hasSuffix(w, "ss") && !hasSuffix(w, "us") && !hasSuffix(w, "is"):
		w = w[:len(w)-1]
	}
	switch {
	case hasSuffix(w, "ing") && len(w) >= 6:
		w = undouble(w[:len(w)-3])
	case hasSuffix(w, "ed") && len(w) >= 5 && !hasSuffix(w, "eed"):
		w = undouble(w[:len(w)-2])
	case hasSuffix(w, "ly") && len(w) >= 6:
		w = w[:len(w)-2]
	}
	if hasSuffix(w, "e") && len(w) >= 5 && !hasSuffix(w, "ee") {
		w = w[:len(w)-1]
	}
	return w
}

func hasSuffix(w []byte, s string) bool {
	return len(w) >= len(s) && string(w[len(w)-len(s):]) == s
}

// undouble turns "stopp" (from "stopped") into "stop"; l, s and z stay
// doubled ("call", "address", "buzz").
func undouble(w []byte) []byte {
	n := len(w)
	if n >= 3 && w[n-1] == w[n-2] && !strings.ContainsRune("aeioulsz", rune(w[n-1])) {
		return w[:n-1]
	}
	return w
}

func isASCII(s []byte) bool {
	for _, c := range s {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// irregular forms callers use about cards and accounts, to the stem of
// their base form.
var irregular = map[string]string{
	"lost": "lose", "lose": "lose", "loses": "lose", "losing": "lose",
	"stole": "steal", "stolen": "steal", "steal": "steal", "steals": "steal", "stealing": "steal",
	"froze": "freez", "frozen": "freez", "freeze": "freez", "freezes": "freez", "freezing": "freez",
	"forgot": "forget", "forgotten": "forget", "forget": "forget", "forgetting": "forget",
	"paid": "pay", "pay": "pay", "pays": "pay", "paying": "pay",
	"sent": "send", "send": "send", "sending": "send",
	"bought": "buy", "buy": "buy", "buying": "buy",
	"withdrew": "withdraw", "withdrawn": "withdraw", "withdrawal": "withdraw", "withdrawals": "withdraw",
	"travelling": "travel", "travelled": "travel", "traveller": "travel", "travellers": "travel",
	"traveling": "travel", "traveled": "travel", "traveler": "travel", "travelers": "travel", "trip": "travel", "trips": "travel",
	"abroad": "abroad", "overseas": "abroad",
	"moved": "move", "moving": "move", "move": "move", "moves": "move",
	"taken": "take", "took": "take",
	"cards": "card", "pins": "pin",
	"gave": "give", "given": "give",
}

// stopWords carry no topic: pronouns, articles, auxiliaries, politeness
// and the fillers a recognizer writes for hesitations.
var stopWords = func() map[string]struct{} {
	m := map[string]struct{}{}
	for _, w := range strings.Fields(`a an the and or but if then so as at by for from in into of on onto to with without
		i me my mine myself we us our ours you your yours he him his she her they them their it its this that these those
		am is are was were be been being have has had having do does did doing done can could would should shall will may might must
		im ive id ill youre dont doesnt didnt cant couldnt wont wouldnt isnt arent wasnt werent hasnt havent
		not no yes yeah yep ok okay please thanks thank hi hello hey um uh er erm ah oh well just really very
		what which who whom whose when where why how there here some any all also too about up down out over again
		want wanted wants need needs needed like would know think get got gets getting let lets go
		help today now someone something somebody anything anyone one`) {
		m[w] = struct{}{}
	}
	return m
}()

// isStop reports whether a lower-case word is a stop word.
func isStop(w string) bool { _, ok := stopWords[w]; return ok }
