package pocketsphinx

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"hotline/internal/testenv"
	"hotline/speech"
	"hotline/speech/speechtest"
)

// insurerTerms is an insurer's vocabulary as its knowledge base would give
// it: product names and the trade's words. "zyxplan" is not in the
// dictionary.
var insurerTerms = []string{
	"endorsement", "surrender value", "annuity", "deductible", "beneficiary",
	"Evergreen Shield", "Harbor Plus", "no claims bonus", "policy rider", "lapse", "zyxplan",
}

// termSentences say the terms as callers and agents would; the term each
// holds is the part after the bar.
var termSentences = []string{
	"i need an endorsement on my policy|endorsement",
	"what is the surrender value of my plan|surrender value",
	"when does my annuity start paying|annuity",
	"how much is the deductible for the car|deductible",
	"i want to change the beneficiary|beneficiary",
	"i have the evergreen shield cover|evergreen shield",
	"is harbor plus cheaper|harbor plus",
	"will i keep my no claims bonus|no claims bonus",
	"can i add a policy rider|policy rider",
	"my policy will lapse next month|lapse",
}

func TestArpaOf(t *testing.T) {
	got := arpaOf([][]string{{"surrender", "value"}, {"annuity"}})
	for _, want := range []string{"ngram 1=5\nngram 2=5", "-99.0 <s>", "surrender value", "<s> annuity", "annuity </s>", "\\end\\"} {
		if !strings.Contains(got, want) {
			t.Errorf("ARPA lacks %q:\n%s", want, got)
		}
	}
}

// A vocabulary stream builds its search, reports the missing word, and
// still transcribes.
func TestDictationVocabulary(t *testing.T) {
	d := dictation(t)
	st, err := d.Open(speech.TranscribeOptions{Vocabulary: insurerTerms})
	if err != nil {
		t.Fatal(err)
	}
	if m := st.MissingVocabulary(); len(m) != 1 || m[0] != "zyxplan" {
		t.Errorf("missing %q, want zyxplan", m)
	}
	pcm := telephone(t, fliteVoices[1], "what is the surrender value of my plan")
	got := append(st.Write(pcm), st.Flush()...)
	if len(got) != 1 || !strings.Contains(got[0].Text, "value") {
		t.Errorf("got %+v", got)
	}
}

// TestVocabularyBench measures how often the terms are recognized with
// and without the vocabulary, across voices and weights, and whether the
// bias puts terms into sentences that have none. Run with
// HOTLINE_TRANSCRIBE_BENCH=1 go test ./speech/pocketsphinx -run TestVocabularyBench -v
func TestVocabularyBench(t *testing.T) {
	if os.Getenv("HOTLINE_TRANSCRIBE_BENCH") == "" {
		t.Skip("set HOTLINE_TRANSCRIBE_BENCH=1")
	}
	d := dictation(t)
	type clip struct {
		voice, text, term string
		pcm               []int16
	}
	var clips, controls []clip
	for _, v := range fliteVoices {
		for _, s := range termSentences {
			text, term, _ := strings.Cut(s, "|")
			clips = append(clips, clip{v.name, text, term, telephone(t, v, text)})
		}
		for _, s := range speechtest.CallSentences {
			controls = append(controls, clip{v.name, s, "", telephone(t, v, s)})
		}
	}
	termWords := map[string]bool{}
	for _, term := range insurerTerms {
		for _, w := range strings.Fields(strings.ToLower(term)) {
			termWords[w] = true
		}
	}
	var cpu, audio time.Duration
	transcribe := func(c clip, vocab []string) string {
		st, err := d.Open(speech.TranscribeOptions{Vocabulary: vocab})
		if err != nil {
			t.Fatal(err)
		}
		runtime.LockOSThread()
		start := threadCPU()
		ps := append(st.Write(c.pcm), st.Flush()...)
		cpu += threadCPU() - start
		runtime.UnlockOSThread()
		audio += time.Duration(len(c.pcm)) * time.Second / speech.SampleRate
		var out []string
		for _, p := range ps {
			out = append(out, p.Text)
		}
		return " " + strings.Join(out, " ") + " "
	}
	for _, weight := range []float64{0, 1e-20, 1e-12, 1e-6, 0.05} {
		cpu, audio = 0, 0
		var vocab []string
		if weight > 0 {
			d.cfg.VocabularyWeight = weight
			vocab = insurerTerms
		}
		found := map[string]int{}
		total := map[string]int{}
		hits, errs, words := 0, 0, 0
		for _, c := range clips {
			got := transcribe(c, vocab)
			total[c.voice]++
			if strings.Contains(got, " "+c.term+" ") {
				found[c.voice]++
				hits++
			} else if weight == 0 || weight == 1e-6 {
				t.Logf("w=%g %s: %q -> %q", weight, c.voice, c.text, strings.TrimSpace(got))
			}
			errs += speechtest.WordErrors(strings.Fields(c.text), strings.Fields(got))
			words += len(strings.Fields(c.text))
		}
		inserted, cErrs, cWords := 0, 0, 0
		for _, c := range controls {
			got := transcribe(c, vocab)
			for _, w := range strings.Fields(got) {
				if termWords[w] && !strings.Contains(" "+c.text+" ", " "+w+" ") {
					inserted++
				}
			}
			cErrs += speechtest.WordErrors(strings.Fields(c.text), strings.Fields(got))
			cWords += len(strings.Fields(c.text))
		}
		var per []string
		for _, v := range fliteVoices {
			per = append(per, fmt.Sprintf("%s %d/%d", v.name, found[v.name], total[v.name]))
		}
		t.Logf("weight %g: terms recognized %d/%d (%s); WER term sentences %.0f%%; control sentences WER %.0f%%, term words inserted %d; RTF %.3f",
			weight, hits, len(clips), strings.Join(per, ", "), 100*float64(errs)/float64(words), 100*float64(cErrs)/float64(cWords), inserted,
			cpu.Seconds()/audio.Seconds())
	}
	d.cfg.VocabularyWeight = 1e-6
}

// Building a vocabulary search costs once per decoder; later phrases
// switch to it.
func TestVocabularySearchCost(t *testing.T) {
	d := dictation(t)
	dec, err := d.acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer d.release(dec)
	v, err := d.prepareVocabulary([]string{"annuity", "surrender value", "cost probe"})
	if err != nil {
		t.Fatal(err)
	}
	before := rssKB(t)
	start := time.Now()
	if err := dec.useBiasedLM(v.key, dictationSearch, v.arpa, 1e-6); err != nil {
		t.Fatal(err)
	}
	built := time.Since(start)
	start = time.Now()
	if err := dec.useBiasedLM(v.key, dictationSearch, v.arpa, 1e-6); err != nil {
		t.Fatal(err)
	}
	t.Logf("vocabulary search: built in %v (RSS +%d MB), reused in %v", built, (rssKB(t)-before)/1024, time.Since(start))
}

// A vocabulary opened once (a server preparing its tenants' at start) is
// built into every decoder before a phrase needs it: the idle ones at
// once, the ones the pool creates afterwards as they are created.
func TestVocabularyPrepared(t *testing.T) {
	testenv.NeedFiles(t, "apt-get install pocketsphinx-en-us", DefaultModelDir, DefaultLM)
	d, err := NewDictation(DictationConfig{PoolSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	// Right after the start: one decoder, the other still loading.
	st, err := d.Open(speech.TranscribeOptions{Vocabulary: insurerTerms})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	d.warming.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for d.Stats().Decoders < 2 && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	for {
		a, errA := d.acquire(ctx)
		b, errB := d.acquire(ctx)
		if errA != nil || errB != nil {
			t.Fatalf("decoders: %v %v", errA, errB)
		}
		ok := a.has(st.vocab.key) && b.has(st.vocab.key)
		d.release(a)
		d.release(b)
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatal("the vocabulary's search is not in every decoder")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// A phrase whose onset finds only decoders without its vocabulary's
// search does not build one there (which would hold the stream's audio
// back while the phrase is spoken): it is decoded whole at its end, and
// the search is built into the idle decoders beside it.
func TestVocabularyNotBuiltAtOnset(t *testing.T) {
	d := dictation(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, errA := d.acquire(ctx)
	b, errB := d.acquire(ctx)
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	// Opened while no decoder is idle: the warm-up finds none.
	st, err := d.Open(speech.TranscribeOptions{Vocabulary: []string{"beneficiary", "policy rider", "gold plan"}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	d.warming.Wait()
	key := st.vocab.key
	if a.has(key) || b.has(key) {
		t.Fatal("a decoder has the search already")
	}
	d.release(a)
	defer d.release(b)
	pcm := append(telephone(t, fliteVoices[1], "i lost my credit card"), make([]int16, 4000)...)
	ps := feedFrames(st, pcm)
	if len(ps) != 1 || !strings.Contains(ps[0].Text, "card") {
		t.Errorf("phrase: %+v", ps)
	}
	if st.incremental != 0 {
		t.Errorf("%d phrase(s) decoded as they arrived on a decoder without the search", st.incremental)
	}
	d.warming.Wait()
	got, err := d.acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer d.release(got)
	if !got.has(key) {
		t.Error("the idle decoder has no search for the vocabulary after the phrase")
	}
}
