package assist

import (
	"math"
	"sort"
	"strings"
	"sync"
)

// commonMin is the least document frequency that makes a term common:
// bases of a few thousand articles walk every posting.
const commonMin = 1000

// minFuzzy is the shortest word matched to one a letter away: shorter
// words have too many neighbours ("pin", "pen", "bin").
const minFuzzy = 4

// Fields a term of an article can come from, as bits.
const (
	fieldKeyword uint8 = 1 << iota
	fieldPhrase
	fieldTitle
	fieldBody
)

// Field weights: how much a matched term counts, by the best field it is
// in. Keywords and phrases are written to be matched; titles mostly are;
// bodies are explanations, so their words count only in the agent's
// search (and little), never in live matching.
const (
	weightKeyword = 1.0
	weightPhrase  = 0.9
	weightTitle   = 0.7
	weightBody    = 0.35
	// weightFuzzy scales a query word matched to an index term one letter
	// away.
	weightFuzzy = 0.7
)

func fieldWeight(f uint8, search bool) float32 {
	switch {
	case f&fieldKeyword != 0:
		return weightKeyword
	case f&fieldPhrase != 0:
		return weightPhrase
	case f&fieldTitle != 0:
		return weightTitle
	case search && f&fieldBody != 0:
		return weightBody
	}
	return 0
}

func fieldName(f uint8) string {
	switch {
	case f&fieldKeyword != 0:
		return "keyword"
	case f&fieldPhrase != 0:
		return "phrase"
	case f&fieldTitle != 0:
		return "title"
	case f&fieldBody != 0:
		return "body"
	}
	return ""
}

type posting struct {
	art   int32
	field uint8
}

type phrase struct {
	art   int32
	text  string
	seq   []int32 // term ids in order (stop words left out)
	uniq  []int32 // distinct term ids
	total float32 // sum of idf over uniq
}

// sentence is one sentence of a body with its terms.
type sentence struct {
	text  string
	terms []int32
}

// artTerm is one distinct term of an article, for explaining a match.
type artTerm struct {
	id    int32
	field uint8
}

// index is one tenant's immutable search structure.
type index struct {
	arts     []Article
	byID     map[string]int32
	terms    map[string]int32 // stem -> term id
	names    []string         // term id -> stem
	idf      []float32
	post     [][]posting // term id -> articles having it in a keyword, phrase or title
	bodyPost [][]posting // term id -> articles having it in the body only (Search's)
	phPost   [][]int32   // term id -> phrases containing it
	phrases  []phrase
	artTerms [][]artTerm  // article -> its terms, sorted by id
	artPh    [][]int32    // article -> its phrases
	sents    [][]sentence // article -> its body's sentences, for snippets
	// surface maps the words of the articles as written (lower-cased) to
	// their terms, so a misspelt "stollen" finds "stolen", whose stem is
	// "steal".
	surface map[string]int32
	// deletes maps each term and surface word of 4+ bytes with one byte removed to the
	// terms it came from (symmetric-delete spelling correction).
	deletes map[string][]int32
	// unknownIDF is what a query word the index does not know counts
	// towards the query's total (it is information no article explains).
	unknownIDF float32
	// common is the document frequency above which a term only scores
	// the articles rarer terms found (see Base.run).
	common  int
	scratch sync.Pool
}

func buildIndex(arts []Article) *index {
	x := &index{
		arts:    arts,
		byID:    make(map[string]int32, len(arts)),
		terms:   map[string]int32{},
		surface: map[string]int32{},
	}
	termID := func(s string) int32 {
		if id, ok := x.terms[s]; ok {
			return id
		}
		id := int32(len(x.names))
		x.terms[s] = id
		x.names = append(x.names, s)
		x.post = append(x.post, nil)
		x.bodyPost = append(x.bodyPost, nil)
		x.phPost = append(x.phPost, nil)
		return id
	}
	x.artTerms = make([][]artTerm, len(arts))
	x.artPh = make([][]int32, len(arts))
	x.sents = make([][]sentence, len(arts))
	for ai := range arts {
		a := &arts[ai]
		x.byID[a.ID] = int32(ai)
		fields := map[int32]uint8{}
		mark := func(text string, f uint8) []int32 {
			var seq []int32
			scanWords(text, func(start, end int, st []byte) {
				if st == nil {
					return
				}
				id := termID(string(st))
				fields[id] |= f
				seq = append(seq, id)
				if w := strings.ToLower(text[start:end]); w != x.names[id] {
					if _, ok := x.surface[w]; !ok {
						x.surface[w] = id
					}
				}
			})
			return seq
		}
		for _, k := range a.Keywords {
			mark(k, fieldKeyword)
		}
		mark(a.Title, fieldTitle)
		for _, sent := range splitSentences(a.Body) {
			x.sents[ai] = append(x.sents[ai], sentence{text: sent, terms: mark(sent, fieldBody)})
		}
		for _, p := range a.Phrases {
			seq := mark(p, fieldPhrase)
			if len(seq) == 0 {
				continue
			}
			pid := int32(len(x.phrases))
			x.phrases = append(x.phrases, phrase{art: int32(ai), text: p, seq: seq, uniq: uniqIDs(seq)})
			x.artPh[ai] = append(x.artPh[ai], pid)
		}
		ts := make([]artTerm, 0, len(fields))
		for id, f := range fields {
			ts = append(ts, artTerm{id: id, field: f})
			if f == fieldBody {
				x.bodyPost[id] = append(x.bodyPost[id], posting{art: int32(ai), field: f})
			} else {
				x.post[id] = append(x.post[id], posting{art: int32(ai), field: f})
			}
		}
		sort.Slice(ts, func(i, j int) bool { return ts[i].id < ts[j].id })
		x.artTerms[ai] = ts
	}
	n := float64(len(arts))
	x.idf = make([]float32, len(x.names))
	for id := range x.names {
		x.idf[id] = float32(math.Log(1 + n/float64(len(x.post[id])+len(x.bodyPost[id]))))
	}
	x.unknownIDF = float32(math.Log(1+n)) / 2
	x.common = max(commonMin, len(arts)/10)
	for pid := range x.phrases {
		p := &x.phrases[pid]
		for _, id := range p.uniq {
			p.total += x.idf[id]
			x.phPost[id] = append(x.phPost[id], int32(pid))
		}
	}
	x.deletes = map[string][]int32{}
	addDeletes := func(s string, id int32) {
		if len(s) < minFuzzy || !isASCII([]byte(s)) {
			return
		}
		for i := 0; i < len(s); i++ {
			d := s[:i] + s[i+1:]
			if l := x.deletes[d]; !containsID(l, id) {
				x.deletes[d] = append(l, id)
			}
		}
	}
	for id, s := range x.names {
		addDeletes(s, int32(id))
	}
	for s, id := range x.surface {
		addDeletes(s, id)
	}
	x.scratch.New = func() any {
		return &scratch{acc: make([]float32, len(arts)), pscore: make([]float32, len(arts)), pacc: make([]float32, len(x.phrases))}
	}
	return x
}

func uniqIDs(seq []int32) []int32 {
	out := make([]int32, 0, len(seq))
	for _, id := range seq {
		dup := false
		for _, o := range out {
			if o == id {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, id)
		}
	}
	return out
}

// df is a term's document frequency.
func (x *index) df(term int32) int { return len(x.post[term]) + len(x.bodyPost[term]) }

// fieldOf returns the fields of an article a term is in (0: none).
func (x *index) fieldOf(art int32, term int32) uint8 {
	ts := x.artTerms[art]
	i := sort.Search(len(ts), func(i int) bool { return ts[i].id >= term })
	if i < len(ts) && ts[i].id == term {
		return ts[i].field
	}
	return 0
}
