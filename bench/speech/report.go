package speechbench

import (
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"hotline/bench/speechset"
)

// Thresholds are the IVR's two confidence cuts: below Reject the answer
// is treated as no match (reprompt), below Confirm the IVR asks "did you
// say ...?", at or above Confirm it acts on the answer.
type Thresholds struct {
	Reject, Confirm float64
}

// Outcome is what the IVR does with one result under some Thresholds.
type Outcome uint8

const (
	Accepted     Outcome = iota + 1 // acted on; right for in-grammar items
	AcceptedBad                     // acted on the wrong choice, or on out-of-grammar audio
	Confirmed                       // asked to confirm the right choice
	ConfirmedBad                    // asked to confirm a wrong choice or out-of-grammar audio
	Rejected                        // no match: reprompt (the right outcome for out-of-grammar)
	Failed                          // the engine returned an error
)

// Classify applies th to r.
func Classify(r Result, th Thresholds) Outcome {
	if r.Err != nil {
		return Failed
	}
	ans := r.Answer()
	if ans == "" || r.Final.NoSpeech || r.Final.Confidence < th.Reject {
		return Rejected
	}
	right := r.Item.InGrammar() && ans == r.Item.Expect
	if r.Final.Confidence < th.Confirm {
		if right {
			return Confirmed
		}
		return ConfirmedBad
	}
	if right {
		return Accepted
	}
	return AcceptedBad
}

// group is a named subset of results.
type group struct {
	name string
	rs   []Result
}

func groupBy(rs []Result, key func(Result) string) []group {
	idx := map[string]int{}
	var gs []group
	for _, r := range rs {
		k := key(r)
		i, ok := idx[k]
		if !ok {
			i = len(gs)
			idx[k] = i
			gs = append(gs, group{name: k})
		}
		gs[i].rs = append(gs[i].rs, r)
	}
	sort.Slice(gs, func(i, j int) bool { return gs[i].name < gs[j].name })
	return gs
}

// Groups of a report: each engine family, the speech of all engines but
// espeak-ng (what tuning is judged on: espeak-ng voices score far below
// callers), and everything.
func summaryGroups(rs []Result) []group {
	gs := groupBy(rs, func(r Result) string { return r.Item.Family() })
	var humanlike []Result
	for _, r := range rs {
		if f := r.Item.Family(); f != "espeak" && f != "synthetic" {
			humanlike = append(humanlike, r)
		}
	}
	return append(gs, group{"flite + festival", humanlike}, group{"all", rs})
}

func pct(n, d int) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(d))
}

// Counts tallies outcomes of in-grammar and out-of-grammar items.
type Counts struct {
	In, Out       int
	InBy, OutBy   map[Outcome]int
	Top1          int // in-grammar items whose answer was right, whatever the confidence
	Failed        int
	NotEndpointed int // the harness had to close the stream
}

// Count classifies rs under th.
func Count(rs []Result, th Thresholds) Counts {
	c := Counts{InBy: map[Outcome]int{}, OutBy: map[Outcome]int{}}
	for _, r := range rs {
		o := Classify(r, th)
		if o == Failed {
			c.Failed++
		}
		if !r.Endpointed {
			c.NotEndpointed++
		}
		if r.Item.InGrammar() {
			c.In++
			c.InBy[o]++
			if r.Err == nil && r.Answer() == r.Item.Expect {
				c.Top1++
			}
		} else {
			c.Out++
			c.OutBy[o]++
		}
	}
	return c
}

// latencies returns the in-grammar/OOG speech items' latencies, sorted.
func latencies(rs []Result) []time.Duration {
	var ls []time.Duration
	for _, r := range rs {
		if r.Err == nil && r.Item.SpeechEndMs > 0 {
			ls = append(ls, r.Latency)
		}
	}
	slices.Sort(ls)
	return ls
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(len(sorted)-1, i))]
}

func msStr(d time.Duration) string { return fmt.Sprintf("%d", d.Milliseconds()) }

// WriteSummary prints the outcome table per engine family under th.
func WriteSummary(w io.Writer, rs []Result, th Thresholds) {
	fmt.Fprintf(w, "Thresholds: reject below %.2f, confirm below %.2f.\n\n", th.Reject, th.Confirm)
	fmt.Fprintln(w, "| voices | in-grammar | top-1 right | **accepted right** | accepted wrong | confirm right | confirm wrong | rejected | out-of-grammar | **OOG accepted** | OOG confirm | OOG rejected | not endpointed | errors | decision after end detected, p50 / p95 / p99 ms |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, g := range summaryGroups(rs) {
		c := Count(g.rs, th)
		ls := latencies(g.rs)
		fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %s | %s | %s | %d | %s | %s | %s | %d | %d | %s / %s / %s |\n",
			g.name, c.In, pct(c.Top1, c.In),
			pct(c.InBy[Accepted], c.In), pct(c.InBy[AcceptedBad], c.In), pct(c.InBy[Confirmed], c.In),
			pct(c.InBy[ConfirmedBad], c.In), pct(c.InBy[Rejected], c.In),
			c.Out, pct(c.OutBy[AcceptedBad], c.Out), pct(c.OutBy[ConfirmedBad], c.Out), pct(c.OutBy[Rejected], c.Out),
			c.NotEndpointed, c.Failed,
			msStr(percentile(ls, .50)), msStr(percentile(ls, .95)), msStr(percentile(ls, .99)))
	}
	fmt.Fprintln(w)
}

// WriteBySNR prints top-1 and outcomes per line condition, engines but
// espeak-ng.
func WriteBySNR(w io.Writer, rs []Result, th Thresholds) {
	fmt.Fprintln(w, "| SNR (flite + festival, noise items included) | in-grammar | top-1 right | accepted right | accepted wrong | confirm | rejected | OOG accepted | OOG confirm |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	var sel []Result
	for _, r := range rs {
		if r.Item.Family() != "espeak" {
			sel = append(sel, r)
		}
	}
	for _, snr := range speechset.SNRs {
		var g []Result
		for _, r := range sel {
			if r.Item.SNR == snr {
				g = append(g, r)
			}
		}
		c := Count(g, th)
		fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %s | %s | %s | %s |\n", speechset.SNRLabel(snr), c.In, pct(c.Top1, c.In),
			pct(c.InBy[Accepted], c.In), pct(c.InBy[AcceptedBad], c.In), pct(c.InBy[Confirmed]+c.InBy[ConfirmedBad], c.In),
			pct(c.InBy[Rejected], c.In), pct(c.OutBy[AcceptedBad], c.Out), pct(c.OutBy[ConfirmedBad], c.Out))
	}
	fmt.Fprintln(w)
}

// WriteTradeoff prints, for single thresholds t (accept at or above t,
// reject below), what is accepted: the false accept versus correct curve
// the IVR's defaults are chosen from.
func WriteTradeoff(w io.Writer, rs []Result, ts []float64) {
	gs := summaryGroups(rs)
	var sel []group
	for _, g := range gs {
		if g.name == "flite + festival" || g.name == "espeak" {
			sel = append(sel, g)
		}
	}
	fmt.Fprint(w, "| accept at confidence >= |")
	for _, g := range sel {
		fmt.Fprintf(w, " %s: right accepted | wrong accepted | OOG accepted |", g.name)
	}
	fmt.Fprintln(w)
	fmt.Fprint(w, "| --- |")
	for range sel {
		fmt.Fprint(w, " --- | --- | --- |")
	}
	fmt.Fprintln(w)
	for _, t := range ts {
		fmt.Fprintf(w, "| %.2f |", t)
		for _, g := range sel {
			c := Count(g.rs, Thresholds{Reject: t, Confirm: t})
			fmt.Fprintf(w, " %s | %s | %s |", pct(c.InBy[Accepted], c.In), pct(c.InBy[AcceptedBad], c.In), pct(c.OutBy[AcceptedBad], c.Out))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
}

// WriteGrid prints outcomes of several (reject, confirm) pairs on the
// flite + festival speech plus the noise items.
func WriteGrid(w io.Writer, rs []Result, ths []Thresholds) {
	var sel []Result
	for _, r := range rs {
		if r.Item.Family() != "espeak" {
			sel = append(sel, r)
		}
	}
	fmt.Fprintln(w, "| reject below | confirm below | accepted right | accepted wrong | confirm right | confirm wrong | rejected | OOG accepted | OOG confirm | OOG rejected |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, th := range ths {
		c := Count(sel, th)
		fmt.Fprintf(w, "| %.2f | %.2f | %s | %s | %s | %s | %s | %s | %s | %s |\n", th.Reject, th.Confirm,
			pct(c.InBy[Accepted], c.In), pct(c.InBy[AcceptedBad], c.In), pct(c.InBy[Confirmed], c.In),
			pct(c.InBy[ConfirmedBad], c.In), pct(c.InBy[Rejected], c.In),
			pct(c.OutBy[AcceptedBad], c.Out), pct(c.OutBy[ConfirmedBad], c.Out), pct(c.OutBy[Rejected], c.Out))
	}
	fmt.Fprintln(w)
}

// WritePhrases prints top-1 accuracy per spoken text (in-grammar) or the
// accept rate (out-of-grammar), engines but espeak-ng, worst first: where
// a grammar's phrases need work.
func WritePhrases(w io.Writer, rs []Result) {
	type row struct {
		text, grammar, expect string
		n, ok                 int
		answers               map[string]int
	}
	rows := map[string]*row{}
	for _, r := range rs {
		if r.Item.Family() == "espeak" {
			continue
		}
		text := r.Item.Text
		if text == "" {
			text = "(" + r.Item.Voice + ")"
		}
		k := r.Item.Grammar + "|" + text
		x, ok := rows[k]
		if !ok {
			x = &row{text: text, grammar: r.Item.Grammar, expect: r.Item.Expect, answers: map[string]int{}}
			rows[k] = x
		}
		x.n++
		a := r.Answer()
		if r.Err != nil {
			a = "error"
		}
		if (r.Item.InGrammar() && a == r.Item.Expect) || (!r.Item.InGrammar() && a == "") {
			x.ok++
		} else {
			if a == "" {
				a = "(none)"
			}
			x.answers[a]++
		}
	}
	var list []*row
	for _, x := range rows {
		list = append(list, x)
	}
	sort.Slice(list, func(i, j int) bool {
		fi, fj := float64(list[i].ok)/float64(list[i].n), float64(list[j].ok)/float64(list[j].n)
		if fi != fj {
			return fi < fj
		}
		return list[i].text < list[j].text
	})
	fmt.Fprintln(w, "| said (flite + festival, all SNRs) | grammar | expected | n | right (OOG: nothing matched) | wrong answers |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- |")
	for _, x := range list {
		var wrong []string
		for a, n := range x.answers {
			wrong = append(wrong, fmt.Sprintf("%s ×%d", a, n))
		}
		sort.Strings(wrong)
		fmt.Fprintf(w, "| %s | %s | %s | %d | %s | %s |\n", x.text, x.grammar, x.expect, x.n, pct(x.ok, x.n), strings.Join(wrong, ", "))
	}
	fmt.Fprintln(w)
}

// WriteCost prints the pass's CPU and latency figures.
func WriteCost(w io.Writer, label string, st RunStats) {
	ls := latencies(st.Results)
	fmt.Fprintf(w, "| %s | %d | %.1f | %.1f | %.1f | %.4f | %s | %s | %s | %d |\n", label, len(st.Results),
		float64(st.AudioMs)/1000, st.CPU.Seconds(), st.Wall.Seconds(), st.RTF(),
		msStr(percentile(ls, .50)), msStr(percentile(ls, .95)), msStr(percentile(ls, .99)), st.MaxRSSKB/1024)
}

// CostHeader is the header of WriteCost rows.
const CostHeader = "| pass | utterances | audio s | CPU s | wall s | RTF (CPU/audio) | latency p50 ms | p95 | p99 | peak RSS MB |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"

// WriteResultsCSV writes one row per item: what was expected and what the
// engine answered, for digging into failures beyond the tables.
func WriteResultsCSV(w io.Writer, rs []Result) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"file", "engine", "voice", "snr", "grammar", "expect", "text_said", "answer", "text_heard", "confidence", "no_speech", "endpointed", "latency_ms", "error"})
	for _, r := range rs {
		errText := ""
		if r.Err != nil {
			errText = r.Err.Error()
		}
		cw.Write([]string{r.Item.File, r.Item.Engine, r.Item.Voice, speechset.SNRLabel(r.Item.SNR), r.Item.Grammar, r.Item.Expect,
			r.Item.Text, r.Answer(), r.Final.Text, strconv.FormatFloat(r.Final.Confidence, 'f', 3, 64),
			strconv.FormatBool(r.Final.NoSpeech), strconv.FormatBool(r.Endpointed), strconv.FormatInt(r.Latency.Milliseconds(), 10), errText})
	}
	cw.Flush()
	return cw.Error()
}
