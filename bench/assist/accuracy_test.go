package assistbench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"hotline/assist"
	"hotline/bench/speechset"
	"hotline/speech"
	"hotline/speech/pocketsphinx"
	"hotline/speech/speechtest"
)

const root = "../.."

// env reads a setting of the benchmark.
func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func gate(t *testing.T) {
	if os.Getenv("HOTLINE_ASSIST_BENCH") != "1" {
		t.Skip("set HOTLINE_ASSIST_BENCH=1 (make bench-assist) to run the agent-assist benchmark")
	}
}

// bench is what both tests load: the set, the knowledge bases and the
// checklists.
type bench struct {
	set   *renderings
	qs    []question
	kb    *assist.Base
	lists []assist.Checklist
}

func setup(t *testing.T) *bench {
	t.Helper()
	b := &bench{kb: assist.New()}
	var err error
	b.qs, err = loadQuestions(filepath.Join(root, "assist", "testdata", "paraphrases.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	b.set, err = ensureSet(context.Background(), env("HOTLINE_ASSIST_SET", filepath.Join(root, "var", "assistset")), b.qs, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	for tenant, dir := range map[string]string{"demo": filepath.Join(root, "configs", "kb", "demo"), "insurer": filepath.Join("testdata", "kb-insurer")} {
		arts, err := assist.LoadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		b.kb.SetFiles(tenant, arts)
	}
	b.lists, err = assist.LoadChecklists(filepath.Join(root, "configs", "kb", "demo"), assist.ChecklistRefs{})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// selected filters the voices by HOTLINE_ASSIST_VOICES (voice ids, comma
// separated; default all).
func selected(vs []speechset.Voice) []speechset.Voice {
	want := os.Getenv("HOTLINE_ASSIST_VOICES")
	if want == "" {
		return vs
	}
	var out []speechset.Voice
	for _, v := range vs {
		if slices.Contains(strings.Split(want, ","), voiceID(v)) {
			out = append(out, v)
		}
	}
	return out
}

func snrList(t *testing.T) []int {
	var out []int
	for _, f := range strings.Split(env("HOTLINE_ASSIST_SNRS", "0,20,10"), ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			t.Fatalf("HOTLINE_ASSIST_SNRS: %v", err)
		}
		out = append(out, n)
	}
	return out
}

// judged tells the voices whose numbers count (espeak-ng is reported
// apart: the notes found it a poor stand-in for callers).
func judged(v speechset.Voice) bool { return v.Engine != "espeak" }

func group(v speechset.Voice) string {
	if judged(v) {
		return "flite+festival"
	}
	return "espeak-ng"
}

// decode transcribes one stream whole.
func decode(d *pocketsphinx.Dictation, pcm []int16, vocab []string) ([]speech.Phrase, error) {
	st, err := d.Open(speech.TranscribeOptions{Vocabulary: vocab})
	if err != nil {
		return nil, err
	}
	return append(st.Write(pcm), st.Flush()...), nil
}

func hypWords(ps []speech.Phrase) []string {
	var out []string
	for _, p := range ps {
		out = append(out, words(p.Text)...)
	}
	return out
}

// parallel runs f(0..n-1) on workers goroutines.
func parallel(n, workers int, f func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				f(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// TestAssistAccuracy is the agent-assist accuracy benchmark (make
// bench-assist). It generates its set into var/assistset on first use
// (about a minute) and runs about 15 minutes on two cores.
//
//	HOTLINE_ASSIST_BENCH=1 go test -count=1 -timeout 60m -run '^TestAssistAccuracy$' -v ./bench/assist/
//
// Environment: HOTLINE_ASSIST_SET (the set's directory),
// HOTLINE_ASSIST_PARTS (questions,conversations,terms), HOTLINE_ASSIST_VOICES
// (voice ids, e.g. flite-kal,festival-hts), HOTLINE_ASSIST_SNRS (dB, 0 for
// no added noise; default 0,20,10), HOTLINE_ASSIST_SECOND_PASS=1 (the
// decoder's second pass, off in the workers by default),
// HOTLINE_ASSIST_INCREMENTAL=0 (phrases decoded whole).
func TestAssistAccuracy(t *testing.T) {
	gate(t)
	b := setup(t)
	workers := runtime.NumCPU()
	// Offline, the early decode (speculation) only costs CPU: phrases are
	// the same without it.
	d, err := pocketsphinx.NewDictation(pocketsphinx.DictationConfig{PoolSize: workers, NoSpeculation: true,
		NoSecondPass:  env("HOTLINE_ASSIST_SECOND_PASS", "0") != "1",
		NoIncremental: env("HOTLINE_ASSIST_INCREMENTAL", "1") == "0"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	parts := env("HOTLINE_ASSIST_PARTS", "questions,conversations,terms")
	snrs := snrList(t)
	var rep strings.Builder
	fmt.Fprintf(&rep, "Agent assist accuracy, %s\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&rep, "machine: %s; %d CPUs; PocketSphinx dictation (en-us LM), pool %d; SNRs %v (0 = no added noise); G.711 µ-law\n\n",
		cpuModel(), runtime.NumCPU(), workers, snrs)
	start := time.Now()
	if strings.Contains(parts, "questions") {
		b.questions(t, d, snrs, workers, &rep)
		t.Logf("questions done after %s", time.Since(start).Round(time.Second))
	}
	if strings.Contains(parts, "conversations") {
		b.conversations(t, d, snrs, workers, &rep)
		t.Logf("conversations done after %s", time.Since(start).Round(time.Second))
	}
	if strings.Contains(parts, "terms") {
		b.terms(t, d, snrs, workers, &rep)
		t.Logf("terms done after %s", time.Since(start).Round(time.Second))
	}
	fmt.Fprintf(&rep, "\nrun time %s\n", time.Since(start).Round(time.Second))
	writeReport(t, "assist-accuracy", rep.String())
}

func writeReport(t *testing.T, name, text string) {
	fmt.Print("\n" + text)
	dir := filepath.Join(root, "var", "bench")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name+"-"+time.Now().UTC().Format("20060102-150405")+".txt")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("report written to %s", path)
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func fileID(v speechset.Voice, text string) string {
	return voiceID(v) + "_" + strings.Join(words(text), "-")
}

// questionScore is what the matcher made of one text.
type questionScore struct {
	wer                          werTally
	intent, confRight, confWrong tally
	card                         tally
}

func (b *bench) scoreQuestion(s *questionScore, q question, ref, hyp []string) {
	art, _ := b.kb.Article("demo", q.Article)
	text := strings.Join(hyp, " ")
	s.wer.add(ref, hyp)
	in, _, conf := b.kb.Intent("demo", text)
	right := len(art.Intents) > 0 && in == art.Intents[0]
	s.intent.add(right)
	s.confRight.add(conf && right)
	s.confWrong.add(conf && !right)
	rs := b.kb.Match("demo", text, 1)
	s.card.add(len(rs) > 0 && rs[0].ID == q.Article)
}

// questions: caller questions of the demo bank by each voice and line.
func (b *bench) questions(t *testing.T, d *pocketsphinx.Dictation, snrs []int, workers int, rep *strings.Builder) {
	voices := selected(questionVoices)
	vocab := b.kb.Vocabulary("demo")
	type job struct {
		v   speechset.Voice
		snr int
		q   question
	}
	var jobs []job
	for _, v := range voices {
		for _, snr := range snrs {
			if !judged(v) && snr != 0 {
				continue // espeak-ng: clean only, reported apart
			}
			for _, q := range b.qs {
				jobs = append(jobs, job{v, snr, q})
			}
		}
	}
	hyps := make([][]string, len(jobs))
	errs := make([]error, len(jobs))
	parallel(len(jobs), workers, func(i int) {
		j := jobs[i]
		pcm, err := b.set.pcm(j.v, j.q.Text)
		if err == nil {
			var line []int16
			line, _, _, err = speechset.Telephone(fileID(j.v, j.q.Text), pcm, j.snr)
			if err == nil {
				var ps []speech.Phrase
				ps, err = decode(d, line, vocab)
				hyps[i] = hypWords(ps)
			}
		}
		errs[i] = err
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	byRow := map[string]*questionScore{}
	var order []string
	row := func(k string) *questionScore {
		if byRow[k] == nil {
			byRow[k] = &questionScore{}
			order = append(order, k)
		}
		return byRow[k]
	}
	var ref questionScore
	for _, q := range b.qs {
		b.scoreQuestion(&ref, q, words(q.Text), words(q.Text))
	}
	for i, j := range jobs {
		r := words(j.q.Text)
		b.scoreQuestion(row(voiceID(j.v)+"\t"+speechset.SNRLabel(j.snr)), j.q, r, hyps[i])
		b.scoreQuestion(row("all "+group(j.v)+"\t"+speechset.SNRLabel(j.snr)), j.q, r, hyps[i])
		if !judged(j.v) {
			continue
		}
		b.scoreQuestion(row("all flite+festival\tall"), j.q, r, hyps[i])
	}
	fmt.Fprintf(rep, "## Caller questions (demo bank: %d labelled paraphrases of %d articles, assist/testdata/paraphrases.tsv)\n\n", len(b.qs), countArticles(b.qs))
	fmt.Fprintf(rep, "intent = top intent of Base.Intent is the label's; confident = Intent's ok (what chooses a checklist), right or wrong; card P@1 = Base.Match's top article is the label. Recognizer vocabulary: the demo bank's.\n\n")
	var rows [][]string
	add := func(name, snr string, s *questionScore) {
		rows = append(rows, []string{name, snr, s.wer.String(), s.intent.String(), s.confRight.String(), s.confWrong.String(), s.card.String()})
	}
	add("script text (no recognizer)", "-", &ref)
	slices.SortStableFunc(order, func(x, y string) int { return strings.Compare(sortKey(x), sortKey(y)) })
	for _, k := range order {
		name, snr, _ := strings.Cut(k, "\t")
		add(name, snr, byRow[k])
	}
	table(rep, []string{"voice", "line", "WER", "intent", "confident right", "confident wrong", "card P@1"}, rows)
	rep.WriteString("\n")
	// The worst-recognized questions, for reading.
	n := 0
	for i, j := range jobs {
		if j.snr == 0 && judged(j.v) && n < 8 && speechtest.WordErrors(words(j.q.Text), hyps[i]) > len(words(j.q.Text))/2 {
			t.Logf("%s: %q -> %q", voiceID(j.v), j.q.Text, strings.Join(hyps[i], " "))
			n++
		}
	}
}

// sortKey orders rows: per voice, then the groups; lines clean, 20, 10.
func sortKey(k string) string {
	name, snr, _ := strings.Cut(k, "\t")
	prefix := "0"
	if strings.HasPrefix(name, "all ") {
		prefix = "1"
	}
	if strings.Contains(name, "espeak") {
		prefix += "1"
	}
	o := map[string]string{"clean": "0", "20dB": "1", "10dB": "2", "all": "3"}[snr]
	return prefix + name + o
}

func countArticles(qs []question) int {
	m := map[string]bool{}
	for _, q := range qs {
		m[q.Article] = true
	}
	return len(m)
}

// layout places a conversation's turns: each after the previous one
// ends, with a pause; returns the start of each turn and the length.
func layout(cv conversation, speechMs func(i int) int) ([]int, int) {
	return layoutPaused(cv, speechMs, 500)
}

// layoutPaused is layout with pauses of pause to pause+400 ms, fixed per
// turn.
func layoutPaused(cv conversation, speechMs func(i int) int, pause int) ([]int, int) {
	at := 500
	starts := make([]int, len(cv.Turns))
	for i := range cv.Turns {
		starts[i] = at
		at += speechMs(i) + pause + (i*137)%400
	}
	return starts, at + 1500
}

// convScore sums a row of the conversations table.
type convScore struct {
	wer                     werTally
	checklist, intent, card tally
	tp, fp, fn              int
}

func (s *convScore) add(cv conversation, r convResult) {
	s.checklist.add(r.checklist == cv.Checklist)
	s.intent.add(r.intent == cv.Intent)
	s.card.add(r.firstCard == cv.Article)
	for _, st := range r.ticked {
		if r.checklist == cv.Checklist && slices.Contains(cv.Ticks, st) {
			s.tp++
		} else {
			s.fp++
		}
	}
	for _, st := range cv.Ticks {
		if r.checklist != cv.Checklist || !slices.Contains(r.ticked, st) {
			s.fn++
		}
	}
}

func ratio(n, d int) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%% (%d/%d)", 100*float64(n)/float64(d), n, d)
}

// conversations: two-party calls through assist.Live.
func (b *bench) conversations(t *testing.T, d *pocketsphinx.Dictation, snrs []int, workers int, rep *strings.Builder) {
	type job struct {
		pair [2]speechset.Voice
		snr  int // -1: the script itself, no recognizer
		cv   conversation
	}
	var jobs []job
	for _, cv := range conversations {
		jobs = append(jobs, job{snr: -1, cv: cv})
	}
	for _, p := range pairs {
		if len(selected([]speechset.Voice{p[0]})) == 0 {
			continue
		}
		for _, snr := range snrs {
			if !judged(p[0]) && snr != 0 {
				continue // espeak-ng: clean only, reported apart
			}
			for _, cv := range conversations {
				jobs = append(jobs, job{p, snr, cv})
			}
		}
	}
	results := make([]convResult, len(jobs))
	wers := make([]werTally, len(jobs))
	errs := make([]error, len(jobs))
	parallel(len(jobs), workers, func(i int) {
		j := jobs[i]
		results[i], wers[i], errs[i] = b.conversation(d, j.pair, j.snr, j.cv)
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	rows := map[string]*convScore{}
	var order []string
	for i, j := range jobs {
		k := "script text (no recognizer)\t-"
		if j.snr >= 0 {
			k = voiceID(j.pair[0]) + " / " + voiceID(j.pair[1]) + "\t" + speechset.SNRLabel(j.snr)
		}
		for _, kk := range []string{k, groupKey(j.pair, j.snr)} {
			if kk == "" {
				continue
			}
			if rows[kk] == nil {
				rows[kk] = &convScore{}
				order = append(order, kk)
			}
			rows[kk].add(j.cv, results[i])
			rows[kk].wer.errs += wers[i].errs
			rows[kk].wer.words += wers[i].words
		}
		if r := results[i]; r.checklist != j.cv.Checklist || !slices.Equal(sorted(r.ticked), sorted(j.cv.Ticks)) {
			who := "script"
			if j.snr >= 0 {
				who = voiceID(j.pair[0]) + " " + speechset.SNRLabel(j.snr)
			}
			t.Logf("%s %s: checklist %q intent %q card %q ticked %v (want %v)", j.cv.ID, who,
				results[i].checklist, results[i].intent, results[i].firstCard, results[i].ticked, j.cv.Ticks)
		}
	}
	fmt.Fprintf(rep, "## Two-party conversations (%d scripted calls: lost card, change of address, balance; caller / agent voices)\n\n", len(conversations))
	rep.WriteString("Each side transcribed whole, lines handed to assist.Live in spoken order (its checklist, intent and cards code). checklist = the right checklist (or none, for balance calls); intent = the call's intent; first card = the first card shown is the label's article; ticks = auto-ticked steps against hand labels.\n\n")
	var out [][]string
	for _, k := range order {
		s := rows[k]
		name, snr, _ := strings.Cut(k, "\t")
		out = append(out, []string{name, snr, s.wer.String(), s.checklist.String(), s.intent.String(), s.card.String(),
			ratio(s.tp, s.tp+s.fp), ratio(s.tp, s.tp+s.fn)})
	}
	table(rep, []string{"voices", "line", "WER", "checklist", "intent", "first card", "tick precision", "tick recall"}, out)
	rep.WriteString("\n")
}

func groupKey(p [2]speechset.Voice, snr int) string {
	if snr < 0 || !judged(p[0]) {
		return ""
	}
	return "all flite+festival pairs\t" + speechset.SNRLabel(snr)
}

// conversation renders both sides of cv on the line and runs it through
// Live; snr < 0 replays the script as the transcript.
func (b *bench) conversation(d *pocketsphinx.Dictation, pair [2]speechset.Voice, snr int, cv conversation) (convResult, werTally, error) {
	var w werTally
	pcms := make([][]int16, len(cv.Turns))
	durs := make([]int, len(cv.Turns))
	for i, tn := range cv.Turns {
		if snr < 0 {
			durs[i] = 300 * len(words(tn.Text)) // about a word per 300 ms
			continue
		}
		v := pair[0]
		if tn.Agent {
			v = pair[1]
		}
		p, err := b.set.pcm(v, tn.Text)
		if err != nil {
			return convResult{}, w, err
		}
		pcms[i], durs[i] = p, speechset.SpeechMs(p)
	}
	starts, total := layout(cv, func(i int) int { return durs[i] })
	var mu sync.Mutex
	side := func(agent bool) sideDecoder {
		var ref []string
		var clips []speechset.Clip
		var script []speech.Phrase
		for i, tn := range cv.Turns {
			if tn.Agent != agent {
				continue
			}
			ref = append(ref, words(tn.Text)...)
			clips = append(clips, speechset.Clip{AtMs: starts[i], PCM: pcms[i]})
			script = append(script, speech.Phrase{Text: strings.Join(words(tn.Text), " "),
				Start: time.Duration(starts[i]) * time.Millisecond, End: time.Duration(starts[i]+durs[i]) * time.Millisecond})
		}
		return func(o speech.TranscribeOptions) ([]speech.Phrase, error) {
			if snr < 0 {
				return script, nil
			}
			name := "caller"
			if agent {
				name = "agent"
			}
			track, _, err := speechset.Track(cv.ID+"_"+voiceID(pair[0])+"_"+voiceID(pair[1])+"_"+name, total, clips, snr)
			if err != nil {
				return nil, err
			}
			ps, err := decode(d, track, o.Vocabulary)
			if err != nil {
				return nil, err
			}
			mu.Lock()
			w.add(ref, hypWords(ps))
			mu.Unlock()
			return ps, nil
		}
	}
	r, err := runLive(b.kb, b.lists, "demo", cv.ID, side(false), side(true))
	return r, w, err
}

// terms: the insurer's own terms, with and without its vocabulary.
func (b *bench) terms(t *testing.T, d *pocketsphinx.Dictation, snrs []int, workers int, rep *strings.Builder) {
	voices := selected(questionVoices)
	vocab := b.kb.Vocabulary("insurer")
	if st, err := d.Open(speech.TranscribeOptions{Vocabulary: vocab}); err == nil && len(st.MissingVocabulary()) > 0 {
		fmt.Fprintf(rep, "vocabulary words missing from the dictionary (skipped): %v\n", st.MissingVocabulary())
	}
	type job struct {
		v     speechset.Voice
		snr   int
		s     termSentence
		vocab bool
	}
	var jobs []job
	for _, v := range voices {
		for _, snr := range snrs {
			if !judged(v) && snr != 0 {
				continue
			}
			for _, s := range termSentences {
				for _, on := range []bool{false, true} {
					jobs = append(jobs, job{v, snr, s, on})
				}
			}
		}
	}
	hyps := make([][]string, len(jobs))
	errs := make([]error, len(jobs))
	parallel(len(jobs), workers, func(i int) {
		j := jobs[i]
		pcm, err := b.set.pcm(j.v, j.s.Text)
		if err == nil {
			var line []int16
			line, _, _, err = speechset.Telephone(fileID(j.v, j.s.Text), pcm, j.snr)
			if err == nil {
				var vv []string
				if j.vocab {
					vv = vocab
				}
				var ps []speech.Phrase
				ps, err = decode(d, line, vv)
				hyps[i] = hypWords(ps)
			}
		}
		errs[i] = err
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	type score struct {
		wer        werTally
		hits, card tally
	}
	rows := map[string]*score{}
	perTerm := map[string]*[2]tally{}
	var termOrder []string
	for i, j := range jobs {
		mode := "without"
		if j.vocab {
			mode = "with"
		}
		keys := []string{group(j.v) + "\t" + speechset.SNRLabel(j.snr) + "\t" + mode}
		if judged(j.v) {
			keys = append(keys, "flite+festival\tall\t"+mode)
		}
		for _, k := range keys {
			if rows[k] == nil {
				rows[k] = &score{}
			}
			s := rows[k]
			s.wer.add(words(j.s.Text), hyps[i])
			for _, term := range j.s.Terms {
				s.hits.add(hasTerm(hyps[i], term))
			}
			rs := b.kb.Match("insurer", strings.Join(hyps[i], " "), 1)
			s.card.add(len(rs) > 0 && rs[0].ID == j.s.Article)
		}
		if judged(j.v) {
			for _, term := range j.s.Terms {
				if perTerm[term] == nil {
					perTerm[term] = &[2]tally{}
					termOrder = append(termOrder, term)
				}
				k := 0
				if j.vocab {
					k = 1
				}
				perTerm[term][k].add(hasTerm(hyps[i], term))
			}
		}
	}
	nTerms := 0
	for _, s := range termSentences {
		nTerms += len(s.Terms)
	}
	fmt.Fprintf(rep, "## Tenant terms (an insurer's knowledge base, bench/assist/testdata/kb-insurer: %d sentences saying %d terms; vocabulary = Base.Vocabulary, %d entries)\n\n", len(termSentences), nTerms, len(vocab))
	rep.WriteString("term hits = the term's words heard in order and adjacent; card P@1 = Base.Match's top article on the insurer base.\n\n")
	var keys []string
	for k := range rows {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y string) int {
		gx, rx, _ := strings.Cut(x, "\t")
		gy, ry, _ := strings.Cut(y, "\t")
		if gx != gy {
			return strings.Compare(sortKey("all "+gx+"\tclean"), sortKey("all "+gy+"\tclean"))
		}
		// Lines clean, 20, 10, all; without the vocabulary first.
		return strings.Compare(sortKey("x\t"+strings.Split(rx, "\t")[0])+strings.Replace(rx, "without", "a", 1),
			sortKey("x\t"+strings.Split(ry, "\t")[0])+strings.Replace(ry, "without", "a", 1))
	})
	var out [][]string
	for _, k := range keys {
		f := strings.Split(k, "\t")
		s := rows[k]
		out = append(out, []string{f[0], f[1], f[2], s.hits.String(), s.wer.String(), s.card.String()})
	}
	table(rep, []string{"voices", "line", "vocabulary", "term hits", "WER", "card P@1"}, out)
	rep.WriteString("\nPer term (flite+festival voices, all lines): hits without / with the vocabulary\n\n")
	var tr [][]string
	for _, term := range termOrder {
		tr = append(tr, []string{term, perTerm[term][0].String(), perTerm[term][1].String()})
	}
	table(rep, []string{"term", "without", "with"}, tr)
	rep.WriteString("\n")
}

func sorted(l []string) []string {
	l = slices.Clone(l)
	slices.Sort(l)
	return l
}
