package assist

import (
	"math"
	"sort"
	"strings"
)

// Scoring constants (docs/knowledge.md, "Scoring").
const (
	// An article's score is PhraseShare × its best phrase's score plus
	// (1 − PhraseShare) × its keyword score, both in [0, 1].
	PhraseShare = 0.55
	// MinCover is the share of a phrase's idf-weighted words a text must
	// contain for the phrase to count: "card stolen" covers "my card was
	// stolen" fully, "card" alone about half of it.
	MinCover = 0.5
	// A phrase's score is its cover × (AdjacencyBase + (1 − AdjacencyBase) ×
	// the share of its word pairs heard next to each other, in either
	// order, one wrong or extra word in between allowed).
	AdjacencyBase = 0.75
	// SingleWordPhrase scales a one-word phrase, which says less than a
	// phrase of several words heard together.
	SingleWordPhrase = 0.7

	// Best's confidence rule: the top article scores at least MinConfident
	// and leads the runner-up by at least MinMargin.
	MinConfident = 0.4
	MinMargin    = 0.05

	// MaxLimit bounds the results of one call.
	MaxLimit = 50
)

// Result is one matching article with the reasons for its score.
type Result struct {
	ID      string   `json:"id"`
	Title   string   `json:"title"`
	Intents []string `json:"intents"`
	Tags    []string `json:"tags"`
	Origin  string   `json:"origin"`

	Score        float64 `json:"score"`
	PhraseScore  float64 `json:"phrase_score"`
	KeywordScore float64 `json:"keyword_score"`
	// Phrases are the article's phrases the text covers (cover ≥
	// MinCover), best first.
	Phrases []PhraseMatch `json:"phrases"`
	// Keywords are the text's words found in the article, with their
	// weights: idf × field weight (× fuzzy weight).
	Keywords []KeywordMatch `json:"keywords"`
	// Words are the text's words that matched, and Spans their byte
	// offsets in the text ([start, end)), to highlight a transcript.
	Words []string `json:"words"`
	Spans [][2]int `json:"spans"`
	// TitleParts and Snippet are the title and the body's best sentence in
	// pieces, the matched words marked: a page shows them as text with
	// <mark> around the marked pieces.
	TitleParts []Segment `json:"title_parts"`
	Snippet    []Segment `json:"snippet"`
}

// PhraseMatch explains one phrase's part of a score.
type PhraseMatch struct {
	Phrase string  `json:"phrase"`
	Score  float64 `json:"score"`
	// Cover is the share of the phrase's idf-weighted words the text has;
	// Adjacency the share of its word pairs heard together.
	Cover     float64 `json:"cover"`
	Adjacency float64 `json:"adjacency"`
}

// KeywordMatch explains one word's part of the keyword score.
type KeywordMatch struct {
	Word   string  `json:"word"`  // as in the text
	Term   string  `json:"term"`  // the index's stem it matched
	Field  string  `json:"field"` // keyword, phrase, title or body (the best it is in)
	IDF    float64 `json:"idf"`
	Weight float64 `json:"weight"` // idf × field weight × (fuzzy weight)
	Fuzzy  bool    `json:"fuzzy,omitempty"`
}

// Segment is a piece of text, marked when it matched.
type Segment struct {
	Text string `json:"text"`
	Mark bool   `json:"mark,omitempty"`
}

// Match returns the tenant's articles that best answer text (what the
// caller said, as transcribed), best first, at most limit.
func (b *Base) Match(tenant, text string, limit int) []Result {
	return b.run(tenant, text, limit, false)
}

// Search is Match for the agent's search box: words of titles and bodies
// count too, so an agent finds an article by what it says as well as by
// what callers say.
func (b *Base) Search(tenant, query string, limit int) []Result {
	return b.run(tenant, query, limit, true)
}

// Best is the one article to answer text with (a chat bot's reply), and
// whether it is confident: the top score is at least MinConfident and
// leads the runner-up by MinMargin. An adapter to the chat's
// Answer(ctx, tenant, text) (BotAnswer, bool) only copies fields.
func (b *Base) Best(tenant, text string) (Result, bool) {
	rs := b.run(tenant, text, 2, false)
	if len(rs) == 0 {
		return Result{}, false
	}
	return rs[0], confident(rs)
}

// Body returns an article's body (for Best's adapter: results carry only
// a snippet).
func (b *Base) Body(tenant, id string) string {
	a, _ := b.Article(tenant, id)
	return a.Body
}

func confident(rs []Result) bool {
	if len(rs) == 0 || rs[0].Score < MinConfident {
		return false
	}
	return len(rs) == 1 || rs[0].Score-rs[1].Score >= MinMargin
}

// Intent returns the intent text most likely asks about (from the
// intents of the matching articles), its confidence (the best score of an
// article answering it) and whether that is confident by Best's rule
// (against the best article answering another intent).
func (b *Base) Intent(tenant, text string) (intent string, confidence float64, ok bool) {
	rs := b.run(tenant, text, 10, false)
	var second float64
	for _, r := range rs {
		for _, in := range r.Intents {
			switch {
			case intent == "":
				intent, confidence = in, r.Score
			case in != intent && second == 0:
				second = r.Score
			}
		}
	}
	if intent == "" {
		return "", 0, false
	}
	return intent, confidence, confidence >= MinConfident && confidence-second >= MinMargin
}

// qword is one content word of a query.
type qword struct {
	start, end int
	term       int32 // -1: unknown to the index
	w          float32
}

type cand struct {
	art   int32
	score float32
}

// scratch is a query's working memory, pooled per index so that a match
// allocates only its results.
type scratch struct {
	acc      []float32 // per article: keyword weight
	pscore   []float32 // per article: best phrase score
	touched  []int32
	pacc     []float32 // per phrase: covered idf
	ptouched []int32
	q        []qword
	distinct []int32 // index into q of each distinct known term
	order    []int32 // distinct, rarest term first
	top      []cand
}

func (b *Base) run(tenant, text string, limit int, search bool) []Result {
	x := b.index(tenant)
	if x == nil || len(x.arts) == 0 {
		return nil
	}
	if limit <= 0 || limit > MaxLimit {
		limit = MaxLimit
	}
	s := x.scratch.Get().(*scratch)
	defer x.scratch.Put(s)
	s.q, s.distinct, s.touched, s.ptouched, s.top = s.q[:0], s.distinct[:0], s.touched[:0], s.ptouched[:0], s.top[:0]

	// The query's content words, each resolved to an index term.
	var qIDF float32
	scanWords(text, func(start, end int, st []byte) {
		if st == nil {
			return
		}
		id, w := x.lookup(st)
		s.q = append(s.q, qword{start: start, end: end, term: id, w: w})
	})
	for i, qw := range s.q {
		if qw.term < 0 {
			qIDF += x.unknownIDF
			continue
		}
		dup := false
		for _, j := range s.distinct {
			if s.q[j].term == qw.term {
				dup = true
				break
			}
		}
		if !dup {
			s.distinct = append(s.distinct, int32(i))
			qIDF += x.idf[qw.term] * qw.w
		}
	}
	if len(s.distinct) == 0 {
		return nil
	}
	// Rare terms first: they find the candidates. A common term (in over a
	// tenth of a large base) then only adds to the articles already found,
	// looked up per article, instead of walking its long postings; an
	// article with nothing but common words in common with the text is
	// no answer when others share rarer words with it.
	order := append(s.order[:0], s.distinct...)
	for i := 1; i < len(order); i++ {
		for k := i; k > 0 && x.df(s.q[order[k]].term) < x.df(s.q[order[k-1]].term); k-- {
			order[k], order[k-1] = order[k-1], order[k]
		}
	}
	s.order = order
	for _, j := range order {
		qw := s.q[j]
		wi := x.idf[qw.term] * qw.w
		if df := x.df(qw.term); df > x.common && len(s.touched) > 0 && len(s.touched) < df {
			s.addCommon(x, qw.term, wi, search)
			continue
		}
		for _, p := range x.post[qw.term] {
			if s.acc[p.art] == 0 {
				s.touched = append(s.touched, p.art)
			}
			s.acc[p.art] += wi * fieldWeight(p.field, search)
		}
		if search {
			for _, p := range x.bodyPost[qw.term] {
				if s.acc[p.art] == 0 {
					s.touched = append(s.touched, p.art)
				}
				s.acc[p.art] += wi * weightBody
			}
		}
		for _, ph := range x.phPost[qw.term] {
			if s.pacc[ph] == 0 {
				s.ptouched = append(s.ptouched, ph)
			}
			s.pacc[ph] += wi
		}
	}
	for _, ph := range s.ptouched {
		p := &x.phrases[ph]
		cover := s.pacc[ph] / p.total
		s.pacc[ph] = 0
		if cover < MinCover {
			continue
		}
		if sc := phraseScore(p, cover, s.q); sc > s.pscore[p.art] {
			s.pscore[p.art] = sc
		}
	}
	for _, a := range s.touched {
		kw := s.acc[a] / qIDF
		if kw > 1 {
			kw = 1
		}
		sc := PhraseShare*s.pscore[a] + (1-PhraseShare)*kw
		s.acc[a], s.pscore[a] = 0, 0
		s.top = pushTop(s.top, cand{art: a, score: sc}, limit, x)
	}
	out := make([]Result, 0, len(s.top))
	for _, c := range s.top {
		out = append(out, x.explain(c, text, s.q, s.distinct, qIDF, search))
	}
	return out
}

// addCommon adds a common term's weight to the articles already touched
// and to their phrases that have it.
func (s *scratch) addCommon(x *index, term int32, wi float32, search bool) {
	for _, a := range s.touched {
		fw := fieldWeight(x.fieldOf(a, term), search)
		if fw == 0 {
			continue
		}
		s.acc[a] += wi * fw
		for _, ph := range x.artPh[a] {
			if containsID(x.phrases[ph].uniq, term) {
				if s.pacc[ph] == 0 {
					s.ptouched = append(s.ptouched, ph)
				}
				s.pacc[ph] += wi
			}
		}
	}
}

// lookup resolves a query stem: the index's term (weight 1), else a term
// one letter away (weightFuzzy), else -1.
func (x *index) lookup(st []byte) (int32, float32) {
	if id, ok := x.terms[string(st)]; ok {
		return id, 1
	}
	if id, ok := x.surface[string(st)]; ok {
		return id, 1
	}
	if len(st) < minFuzzy || len(st) > 40 {
		return -1, 0
	}
	// Symmetric delete: the query with a letter more (its deletions are
	// terms), a letter less (it is a term's deletion) or one different
	// (a deletion of each is the same).
	best, bestIDF := int32(-1), float32(0)
	consider := func(id int32) {
		if x.idf[id] > bestIDF || (x.idf[id] == bestIDF && id < best) {
			best, bestIDF = id, x.idf[id]
		}
	}
	for _, id := range x.deletes[string(st)] {
		consider(id)
	}
	var buf [40]byte
	for i := range st {
		d := append(append(buf[:0], st[:i]...), st[i+1:]...)
		if id, ok := x.terms[string(d)]; ok {
			consider(id)
		}
		if id, ok := x.surface[string(d)]; ok {
			consider(id)
		}
		for _, id := range x.deletes[string(d)] {
			consider(id)
		}
	}
	if best < 0 {
		return -1, 0
	}
	return best, weightFuzzy
}

// phraseScore is a covered phrase's score: cover, a bonus for its words
// heard together, less for one-word phrases.
func phraseScore(p *phrase, cover float32, q []qword) float32 {
	adj := adjacency(p, q)
	sc := cover * (AdjacencyBase + (1-AdjacencyBase)*adj)
	if len(p.seq) == 1 {
		sc *= SingleWordPhrase
	}
	if sc > 1 {
		sc = 1
	}
	return sc
}

// adjacency is the share of a phrase's consecutive word pairs that the
// query has close together: at most one word apart, in either order
// ("stolen card" and "my card was stolen" say the same).
func adjacency(p *phrase, q []qword) float32 {
	pairs := len(p.seq) - 1
	if pairs <= 0 {
		return 1
	}
	found := 0
	for i := 0; i < pairs; i++ {
		a, b := p.seq[i], p.seq[i+1]
	pair:
		for j := range q {
			if q[j].term != a {
				continue
			}
			for k := max(0, j-2); k < len(q) && k <= j+2; k++ {
				if k != j && q[k].term == b {
					found++
					break pair
				}
			}
		}
	}
	return float32(found) / float32(pairs)
}

// pushTop keeps the best limit candidates, best first; ties go to the
// smaller id so results are stable.
func pushTop(top []cand, c cand, limit int, x *index) []cand {
	better := func(a, b cand) bool {
		if a.score != b.score {
			return a.score > b.score
		}
		return x.arts[a.art].ID < x.arts[b.art].ID
	}
	if len(top) == limit && !better(c, top[len(top)-1]) {
		return top
	}
	i := sort.Search(len(top), func(i int) bool { return better(c, top[i]) })
	if len(top) < limit {
		top = append(top, cand{})
	}
	copy(top[i+1:], top[i:len(top)-1])
	top[i] = c
	return top
}

// explain builds a result: the score's parts and the highlights. It runs
// for the returned articles only.
func (x *index) explain(c cand, text string, q []qword, distinct []int32, qIDF float32, search bool) Result {
	a := &x.arts[c.art]
	r := Result{ID: a.ID, Title: a.Title, Intents: a.Intents, Tags: a.Tags, Origin: a.Origin, Score: round(c.score)}
	var kwSum float32
	matched := make([]int32, 0, len(distinct))
	for _, j := range distinct {
		qw := q[j]
		f := x.fieldOf(c.art, qw.term)
		fw := fieldWeight(f, search)
		if fw == 0 {
			continue
		}
		w := x.idf[qw.term] * qw.w * fw
		kwSum += w
		matched = append(matched, qw.term)
		r.Keywords = append(r.Keywords, KeywordMatch{
			Word: text[qw.start:qw.end], Term: x.names[qw.term], Field: fieldName(f),
			IDF: round(x.idf[qw.term]), Weight: round(w), Fuzzy: qw.w < 1,
		})
	}
	sort.SliceStable(r.Keywords, func(i, j int) bool { return r.Keywords[i].Weight > r.Keywords[j].Weight })
	if qIDF > 0 {
		r.KeywordScore = round(min(1, kwSum/qIDF))
	}
	for _, pid := range x.artPh[c.art] {
		p := &x.phrases[pid]
		var covered float32
		for _, id := range p.uniq {
			for _, j := range distinct {
				if q[j].term == id {
					covered += x.idf[id] * q[j].w
					break
				}
			}
		}
		cover := covered / p.total
		if cover < MinCover {
			continue
		}
		sc := phraseScore(p, cover, q)
		r.Phrases = append(r.Phrases, PhraseMatch{Phrase: p.text, Score: round(sc), Cover: round(cover), Adjacency: round(adjacency(p, q))})
	}
	sort.SliceStable(r.Phrases, func(i, j int) bool { return r.Phrases[i].Score > r.Phrases[j].Score })
	if len(r.Phrases) > 0 {
		r.PhraseScore = r.Phrases[0].Score
	}
	if len(r.Phrases) > 3 {
		r.Phrases = r.Phrases[:3]
	}
	for _, qw := range q {
		if qw.term >= 0 && containsID(matched, qw.term) {
			r.Spans = append(r.Spans, [2]int{qw.start, qw.end})
			w := text[qw.start:qw.end]
			if !containsString(r.Words, w) {
				r.Words = append(r.Words, w)
			}
		}
	}
	r.TitleParts = x.mark(a.Title, matched)
	r.Snippet = x.mark(bestSentence(x.sents[c.art], matched), matched)
	return r
}

// mark splits text into segments, marking words whose stem is one of
// terms.
func (x *index) mark(text string, terms []int32) []Segment {
	if text == "" {
		return nil
	}
	var segs []Segment
	last := 0
	scanWords(text, func(start, end int, st []byte) {
		if st == nil {
			return
		}
		id, ok := x.terms[string(st)]
		if !ok || !containsID(terms, id) {
			return
		}
		if start > last {
			segs = appendSeg(segs, text[last:start], false)
		}
		segs = appendSeg(segs, text[start:end], true)
		last = end
	})
	if last < len(text) {
		segs = appendSeg(segs, text[last:], false)
	}
	return segs
}

// appendSeg merges a marked word into the previous marked segment when
// only spaces separate them ("lost card" is one <mark>).
func appendSeg(segs []Segment, t string, mark bool) []Segment {
	n := len(segs)
	if mark && n >= 2 && segs[n-2].Mark && !segs[n-1].Mark && strings.TrimSpace(segs[n-1].Text) == "" {
		segs[n-2].Text += segs[n-1].Text + t
		return segs[:n-1]
	}
	return append(segs, Segment{Text: t, Mark: mark})
}

// snippetLen is the most of a body a result shows.
const snippetLen = 220

// bestSentence is the body's sentence with the most matched words (the
// first on a tie), cut to snippetLen at a word boundary.
func bestSentence(sents []sentence, terms []int32) string {
	best, bestN := "", -1
	for _, sent := range sents {
		n := 0
		for _, id := range sent.terms {
			if containsID(terms, id) {
				n++
			}
		}
		if n > bestN {
			best, bestN = sent.text, n
		}
	}
	if len(best) > snippetLen {
		cut := strings.LastIndexByte(best[:snippetLen], ' ')
		if cut < snippetLen/2 {
			cut = snippetLen
			for cut > 0 && best[cut]&0xC0 == 0x80 { // not inside a UTF-8 rune
				cut--
			}
		}
		best = best[:cut] + "…"
	}
	return best
}

func splitSentences(body string) []string {
	var out []string
	start := 0
	for i := 0; i < len(body); i++ {
		c := body[i]
		end := c == '\n' || ((c == '.' || c == '!' || c == '?') && (i+1 == len(body) || body[i+1] == ' ' || body[i+1] == '\n'))
		if !end {
			continue
		}
		if s := strings.TrimSpace(body[start : i+1]); s != "" {
			out = append(out, s)
		}
		start = i + 1
	}
	if s := strings.TrimSpace(body[start:]); s != "" {
		out = append(out, s)
	}
	return out
}

func containsID(ids []int32, id int32) bool {
	for _, v := range ids {
		if v == id {
			return true
		}
	}
	return false
}

func containsString(l []string, s string) bool {
	for _, v := range l {
		if v == s {
			return true
		}
	}
	return false
}

func round(f float32) float64 { return math.Round(float64(f)*1000) / 1000 }
