// Package assist is the agent-assist knowledge base: each tenant's
// articles (from files under configs/kb/<tenant>/ and from the admin API),
// an index over them, and the matcher that puts the articles answering
// what a caller says at the top of the agent's page.
//
// Matching works from key phrases and keywords, not verbatim text: the
// offline recognizer gets about four words in ten wrong on telephone
// speech, so a phrase counts when most of its (idf-weighted) words are
// heard, in any order, with a bonus when they are heard next to each
// other; words are stemmed, stop words ignored, and a word the index does
// not know is matched to one a letter away (chat typos). Every result
// says why it matched (docs/knowledge.md, "Scoring").
package assist

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// Article is one knowledge-base entry.
type Article struct {
	ID    string `json:"id" yaml:"id"`
	Title string `json:"title" yaml:"title"`
	Body  string `json:"body" yaml:"body"`
	// Phrases are what callers say when this article is the answer ("I
	// lost my credit card"); the matcher's main signal.
	Phrases []string `json:"phrases" yaml:"phrases"`
	// Keywords are single terms that point here (a product name,
	// "endorsement"); they also go into the tenant's recognizer vocabulary.
	Keywords []string `json:"keywords" yaml:"keywords"`
	// Intents this article answers (lost_card); Intent picks among them.
	Intents []string `json:"intents" yaml:"intents"`
	Tags    []string `json:"tags" yaml:"tags"`

	// Where the article comes from: "file" (read-only through the API) or
	// "api" (stored in the database). File and Line point at its entry.
	Origin string `json:"origin" yaml:"-"`
	File   string `json:"file,omitempty" yaml:"-"`
	Line   int    `json:"line,omitempty" yaml:"-"`
}

// Origins of articles.
const (
	OriginFile = "file"
	OriginAPI  = "api"
)

// Limits of article text, in characters; the database checks the same.
const (
	MaxID       = 64
	MaxTitle    = 200
	MaxBody     = 20000
	MaxPhrase   = 200
	MaxPhrases  = 100
	MaxKeywords = 100
	MaxLabel    = 64 // an intent or a tag
)

var (
	idPattern     = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)
	intentPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*$`)
)

// Problem is one thing wrong with an article; Field names what (id,
// title, phrases[2]...) so a file loader can point at its line.
type Problem struct {
	Field string
	Index int // in a list field; -1 for the field as a whole
	Msg   string
}

// Check validates an article's content (not its uniqueness) and returns
// every problem; nil means it is fine. It trims surrounding space in
// place, and drops empty keywords, tags and intents.
func Check(a *Article) []Problem {
	var ps []Problem
	add := func(field string, i int, format string, args ...any) {
		ps = append(ps, Problem{Field: field, Index: i, Msg: fmt.Sprintf(format, args...)})
	}
	a.ID = strings.TrimSpace(a.ID)
	a.Title = strings.TrimSpace(a.Title)
	a.Body = strings.TrimSpace(a.Body)
	switch {
	case a.ID == "":
		add("id", -1, "article needs an id")
	case len(a.ID) > MaxID || !idPattern.MatchString(a.ID):
		add("id", -1, "id %q: want lower-case letters, digits, '.', '_' or '-' (at most %d, starting with a letter or digit)", a.ID, MaxID)
	}
	switch {
	case a.Title == "":
		add("title", -1, "article %s needs a title", a.ID)
	case utf8.RuneCountInString(a.Title) > MaxTitle:
		add("title", -1, "article %s: title longer than %d characters", a.ID, MaxTitle)
	}
	if utf8.RuneCountInString(a.Body) > MaxBody {
		add("body", -1, "article %s: body longer than %d characters", a.ID, MaxBody)
	}
	phrases := 0
	for i, p := range a.Phrases {
		p = strings.TrimSpace(p)
		a.Phrases[i] = p
		switch {
		case p == "":
			add("phrases", i, "article %s: phrase %d is empty", a.ID, i+1)
		case utf8.RuneCountInString(p) > MaxPhrase:
			add("phrases", i, "article %s: phrase %d is longer than %d characters", a.ID, i+1, MaxPhrase)
		case len(terms(p)) == 0:
			add("phrases", i, "article %s: phrase %q has only stop words (a, my, the, please...), so it can never match", a.ID, p)
		default:
			phrases++
		}
	}
	switch {
	case len(a.Phrases) == 0:
		add("phrases", -1, "article %s needs phrases: what callers say when it is the answer", a.ID)
	case len(a.Phrases) > MaxPhrases:
		add("phrases", -1, "article %s: more than %d phrases", a.ID, MaxPhrases)
	}
	a.Keywords = compact(a.Keywords)
	if len(a.Keywords) > MaxKeywords {
		add("keywords", -1, "article %s: more than %d keywords", a.ID, MaxKeywords)
	}
	for i, k := range a.Keywords {
		if utf8.RuneCountInString(k) > MaxPhrase {
			add("keywords", i, "article %s: keyword %d is longer than %d characters", a.ID, i+1, MaxPhrase)
		}
	}
	a.Intents = compact(a.Intents)
	if len(a.Intents) > MaxKeywords {
		add("intents", -1, "article %s: more than %d intents", a.ID, MaxKeywords)
	}
	for i, in := range a.Intents {
		if len(in) > MaxLabel || !intentPattern.MatchString(in) {
			add("intents", i, "article %s: intent %q: want lower-case letters, digits, '_', '.' or '-'", a.ID, in)
		}
	}
	a.Tags = compact(a.Tags)
	if len(a.Tags) > MaxKeywords {
		add("tags", -1, "article %s: more than %d tags", a.ID, MaxKeywords)
	}
	for i, t := range a.Tags {
		if utf8.RuneCountInString(t) > MaxLabel {
			add("tags", i, "article %s: tag %d is longer than %d characters", a.ID, i+1, MaxLabel)
		}
	}
	return ps
}

// compact trims the strings and drops empty ones and repeats.
func compact(in []string) []string {
	out := in[:0]
	seen := map[string]bool{}
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s == "" || seen[s] {
			continue
		}
		seen[s] = true
		out = append(out, s)
	}
	return out
}

// Base holds every tenant's knowledge base. Readers (Match, Search...) take
// the current index without a lock; a change builds a new index and swaps
// it in, so a reader sees the old or the new base, never half of one.
type Base struct {
	mu      sync.Mutex // serialises changes
	tenants atomic.Pointer[map[string]*tenantBase]
}

type tenantBase struct {
	files  []Article
	stored []Article
	idx    *index
}

// New returns an empty base.
func New() *Base {
	b := &Base{}
	m := map[string]*tenantBase{}
	b.tenants.Store(&m)
	return b
}

func (b *Base) get(tenant string) *tenantBase {
	return (*b.tenants.Load())[tenant]
}

// index returns the tenant's current index (nil when it has none).
func (b *Base) index(tenant string) *index {
	if t := b.get(tenant); t != nil {
		return t.idx
	}
	return nil
}

// SetFiles replaces the tenant's file articles (LoadDir's) and rebuilds
// its index.
func (b *Base) SetFiles(tenant string, articles []Article) {
	b.update(tenant, func(t *tenantBase) { t.files = withOrigin(articles, OriginFile) })
}

// SetStored replaces the tenant's API articles (from the database) and
// rebuilds its index. A stored article whose id a file article has is
// left out: files win, and the API refuses to create such an id.
func (b *Base) SetStored(tenant string, articles []Article) {
	b.update(tenant, func(t *tenantBase) { t.stored = withOrigin(articles, OriginAPI) })
}

func withOrigin(in []Article, origin string) []Article {
	out := make([]Article, len(in))
	copy(out, in)
	for i := range out {
		out[i].Origin = origin
	}
	return out
}

func (b *Base) update(tenant string, change func(*tenantBase)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	old := *b.tenants.Load()
	t := &tenantBase{}
	if o := old[tenant]; o != nil {
		*t = *o
	}
	change(t)
	t.idx = buildIndex(merge(t.files, t.stored))
	m := make(map[string]*tenantBase, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[tenant] = t
	b.tenants.Store(&m)
}

func merge(files, stored []Article) []Article {
	out := make([]Article, 0, len(files)+len(stored))
	seen := make(map[string]bool, len(files))
	for _, a := range files {
		seen[a.ID] = true
		out = append(out, a)
	}
	for _, a := range stored {
		if !seen[a.ID] {
			out = append(out, a)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Articles returns the tenant's articles sorted by id (a copy).
func (b *Base) Articles(tenant string) []Article {
	idx := b.index(tenant)
	if idx == nil {
		return nil
	}
	out := make([]Article, len(idx.arts))
	copy(out, idx.arts)
	return out
}

// Article returns one of the tenant's articles.
func (b *Base) Article(tenant, id string) (Article, bool) {
	idx := b.index(tenant)
	if idx == nil {
		return Article{}, false
	}
	i, ok := idx.byID[id]
	if !ok {
		return Article{}, false
	}
	return idx.arts[i], true
}

// Vocabulary returns the tenant's own terms for the speech recognizer:
// its articles' keywords and phrases, lower-cased, without repeats, sorted.
// Multi-word entries are kept whole so a grammar can use them as phrases.
func (b *Base) Vocabulary(tenant string) []string {
	idx := b.index(tenant)
	if idx == nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		s = strings.Join(strings.Fields(strings.ToLower(s)), " ")
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, a := range idx.arts {
		for _, k := range a.Keywords {
			add(k)
		}
		for _, p := range a.Phrases {
			add(p)
		}
	}
	sort.Strings(out)
	return out
}

// Tenants lists the tenants that have a base.
func (b *Base) Tenants() []string {
	m := *b.tenants.Load()
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
