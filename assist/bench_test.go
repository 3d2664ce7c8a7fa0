package assist

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// synthArticles makes n articles over a vocabulary of 8,000 made-up words
// with a Zipf-like spread (a few words common to many articles, most
// rare), plus the demo bank's articles, so the benchmark's index has the
// size and the skew of a large real base.
func synthArticles(tb testing.TB, n int) []Article {
	rng := rand.New(rand.NewPCG(42, 42))
	syll := []string{"ka", "lo", "mi", "ne", "ru", "ta", "sp", "or", "en", "il", "ba", "co", "de", "fu", "gi", "ho"}
	vocab := make([]string, 8000)
	for i := range vocab {
		var b strings.Builder
		for j := 0; j < 2+i%3; j++ {
			b.WriteString(syll[rng.IntN(len(syll))])
		}
		fmt.Fprintf(&b, "%d", i)
		vocab[i] = b.String()
	}
	zipf := rand.NewZipf(rand.New(rand.NewPCG(7, 7)), 1.1, 2, uint64(len(vocab)-1))
	words := func(k int) string {
		w := make([]string, k)
		for i := range w {
			w[i] = vocab[zipf.Uint64()]
		}
		return strings.Join(w, " ")
	}
	arts := make([]Article, 0, n)
	if tb != nil {
		demo, err := LoadDir(demoDir)
		if err != nil {
			tb.Fatal(err)
		}
		arts = append(arts, demo...)
	}
	for i := len(arts); i < n; i++ {
		a := Article{ID: fmt.Sprintf("a%05d", i), Title: words(5), Body: words(60), Keywords: strings.Fields(words(4)), Intents: []string{fmt.Sprintf("intent%d", i%300)}}
		for range 5 {
			a.Phrases = append(a.Phrases, "I want to "+words(4))
		}
		arts = append(arts, a)
	}
	return arts
}

func BenchmarkBuildIndex10k(b *testing.B) {
	arts := synthArticles(b, 10000)
	b.ReportAllocs()
	for b.Loop() {
		buildIndex(arts)
	}
}

// benchQueries are caller utterances against the 10k base: a phrase of a
// synthetic article said with extra words, and the demo's questions.
func benchQueries(arts []Article) []string {
	rng := rand.New(rand.NewPCG(3, 3))
	var qs []string
	for range 200 {
		a := arts[rng.IntN(len(arts))]
		qs = append(qs, "yes hello so "+a.Phrases[rng.IntN(len(a.Phrases))]+" please today")
	}
	qs = append(qs, "I think I lost my credit card yesterday at the station", "my card was stolen", "how much money do I have")
	return qs
}

func BenchmarkMatch10k(b *testing.B) {
	arts := synthArticles(b, 10000)
	kb := New()
	kb.SetFiles("t", arts)
	qs := benchQueries(arts)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		kb.Match("t", qs[i%len(qs)], 5)
		i++
	}
}

func BenchmarkSearch10k(b *testing.B) {
	arts := synthArticles(b, 10000)
	kb := New()
	kb.SetFiles("t", arts)
	qs := benchQueries(arts)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		kb.Search("t", qs[i%len(qs)], 10)
		i++
	}
}

// BenchmarkMatchDemo is the demo bank's base (16 articles): the cost for a
// typical tenant.
func BenchmarkMatchDemo(b *testing.B) {
	kb := demoBase(b)
	b.ReportAllocs()
	for b.Loop() {
		kb.Match("demo", "I think I lost my credit card yesterday at the station", 5)
	}
}

// TestPrecisionIn10k checks that the demo questions still find their
// article when the base holds 10,000 other articles.
func TestPrecisionIn10k(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 10,000-article index")
	}
	kb := New()
	kb.SetFiles("demo", synthArticles(t, 10000))
	set := paraphrases(t)
	p, p3, _ := precision(kb, set, 0, 0)
	t.Logf("among 10,000 articles, clean text: precision@1 %.3f, in the top 3 %.3f", p, p3)
	var noisy, noisy3 float64
	const draws = 5
	for seed := uint64(1); seed <= draws; seed++ {
		n, n3, _ := precision(kb, set, 0.4, seed)
		noisy += n / draws
		noisy3 += n3 / draws
	}
	t.Logf("among 10,000 articles, 40%% word errors: precision@1 %.3f, in the top 3 %.3f", noisy, noisy3)
	if p < 0.85 {
		t.Errorf("precision@1 %.3f among 10,000 articles, want at least 0.85", p)
	}
}

// TestCommonTermPruning: in a large base, common terms only score the
// articles rarer terms found; the top answer is (nearly always) the one a
// full walk of every posting gives.
func TestCommonTermPruning(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 10,000-article index")
	}
	arts := synthArticles(t, 10000)
	kb := New()
	kb.SetFiles("t", arts)
	qs := benchQueries(arts)
	pruned := make([]string, len(qs))
	for i, q := range qs {
		if rs := kb.Match("t", q, 1); len(rs) > 0 {
			pruned[i] = rs[0].ID
		}
	}
	kb.index("t").common = len(arts) + 1 // walk every posting
	same := 0
	for i, q := range qs {
		if rs := kb.Match("t", q, 1); len(rs) > 0 && rs[0].ID == pruned[i] {
			same++
		}
	}
	share := float64(same) / float64(len(qs))
	t.Logf("top answer with pruning = without: %d of %d", same, len(qs))
	if share < 0.95 {
		t.Errorf("pruning changed the top answer for %d of %d queries", len(qs)-same, len(qs))
	}
}
