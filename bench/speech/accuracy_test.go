package speechbench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"hotline/bench/speechset"
	"hotline/ivr"
	"hotline/speech"
)

// variant is one recognizer configuration the benchmark compares.
type variant struct {
	name string
	// what the variant changes, for the report
	about string
	new   func() (speech.Recognizer, error)
	// paced also runs the real-time latency pass (it takes real time).
	paced bool
}

// TestSpeechAccuracy is the speech benchmark (`make bench-speech`). It is
// skipped unless HOTLINE_SPEECH_BENCH=1: it generates the test set on first
// use (about 30 s) and runs for about 22 minutes on two cores (six engine
// variants, three of them also in real time).
//
//	HOTLINE_SPEECH_BENCH=1 go test -count=1 -timeout 90m -run '^TestSpeechAccuracy$' -v ./bench/speech/
//
// Environment: HOTLINE_SPEECH_SET (the set's directory, default
// var/speechset at the repository root), HOTLINE_SPEECH_VARIANTS (comma
// separated variant names, default all), HOTLINE_SPEECH_ITEMS (a regular
// expression on file names selecting a subset), HOTLINE_SPEECH_PACED
// (concurrent calls of the paced latency pass, default 8; 0 skips it).
func TestSpeechAccuracy(t *testing.T) {
	if os.Getenv("HOTLINE_SPEECH_BENCH") != "1" {
		t.Skip("set HOTLINE_SPEECH_BENCH=1 (make bench-speech) to run the speech benchmark")
	}
	ctx := context.Background()
	dir := os.Getenv("HOTLINE_SPEECH_SET")
	if dir == "" {
		dir = filepath.Join("..", "..", "var", "speechset")
	}
	m, err := speechset.Ensure(ctx, dir, speechset.Options{Log: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	if re := os.Getenv("HOTLINE_SPEECH_ITEMS"); re != "" {
		// A subset for digging into one condition, e.g. '_10dB\.wav$'.
		pat, err := regexp.Compile(re)
		if err != nil {
			t.Fatalf("HOTLINE_SPEECH_ITEMS: %v", err)
		}
		var keep []speechset.Item
		for _, it := range m.Items {
			if pat.MatchString(it.File) {
				keep = append(keep, it)
			}
		}
		m.Items = keep
	}
	vs := variants(t)
	if sel := os.Getenv("HOTLINE_SPEECH_VARIANTS"); sel != "" {
		var keep []variant
		for _, v := range vs {
			if strings.Contains(","+sel+",", ","+v.name+",") {
				keep = append(keep, v)
			}
		}
		vs = keep
	}
	if len(vs) == 0 {
		t.Skip("no recognizer variant to run")
	}
	paced := 8
	if s := os.Getenv("HOTLINE_SPEECH_PACED"); s != "" {
		if paced, err = strconv.Atoi(s); err != nil {
			t.Fatalf("HOTLINE_SPEECH_PACED: %v", err)
		}
	}

	reportDir := filepath.Join("..", "..", "var", "bench")
	if err := os.MkdirAll(reportDir, 0o755); err != nil {
		t.Fatal(err)
	}
	reportPath := filepath.Join(reportDir, "speech-"+time.Now().UTC().Format("20060102-150405")+".md")
	f, err := os.Create(reportPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := io.MultiWriter(f, os.Stdout)
	host, _ := os.Hostname()
	fmt.Fprintf(w, "# Speech benchmark %s UTC on %s\n\n", time.Now().UTC().Format("2006-01-02 15:04"), host)
	fmt.Fprintf(w, "Set: %s, %d items (version %d).\n\n", dir, len(m.Items), m.Version)

	defaults := Thresholds{Reject: ivr.DefaultRejectBelow, Confirm: ivr.DefaultConfirmBelow}
	var costs strings.Builder
	costs.WriteString(CostHeader)
	for _, v := range vs {
		rec, err := v.new()
		if err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
		fmt.Fprintf(w, "## %s\n\n%s\n\n", v.name, v.about)
		// 10x real time with two streams (the machine's two cores), the
		// tail after each file at 3x: the engine queues at most 3 s of
		// audio while it decodes (~100 ms, more on a busy machine), and a
		// faster writer would overflow that queue (the engine logs the
		// drops; the report lists them). A 2 s tail is enough for its
		// 700 ms end-of-speech silence.
		st, err := Run(ctx, rec, dir, m.Items, Options{Speedup: 10, Concurrency: 2, TailMs: 2000})
		if err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
		if err := writeCSV(strings.TrimSuffix(reportPath, ".md")+"-"+v.name+".csv", st.Results); err != nil {
			t.Error(err)
		}
		for _, r := range st.Results {
			if r.Err != nil {
				t.Errorf("%s: %s: %v", v.name, r.Item.File, r.Err)
			}
		}
		WriteCost(&costs, v.name+", 10x real time, 2 streams (all items; latency: decision after end detected)", st)
		fmt.Fprintf(w, "Outcomes at the IVR defaults (latency here: from the engine's end-of-speech detection to its decision):\n\n")
		WriteSummary(w, st.Results, defaults)
		WriteBySNR(w, st.Results, defaults)
		fmt.Fprintf(w, "Single-threshold trade-off:\n\n")
		WriteTradeoff(w, st.Results, []float64{0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9})
		grid := []Thresholds{
			{0.1, 0.5}, {0.2, 0.5}, {0.3, 0.6}, {0.3, 0.7}, {0.4, 0.7}, {0.5, 0.8}, {0.6, 0.8}, {0.7, 0.9},
		}
		fmt.Fprintf(w, "Two thresholds (flite + festival speech and the noise items, all SNRs):\n\n")
		WriteGrid(w, st.Results, grid)
		// At 10 dB most answers are not heard at all, which no threshold
		// changes; the thresholds are chosen on the lines callers mostly
		// have.
		fmt.Fprintf(w, "Two thresholds, clean and 20 dB only:\n\n")
		WriteGrid(w, withoutSNR(st.Results, 10), grid)
		WritePhrases(w, st.Results)

		// The paced pass (variants marked paced: it takes real time) feeds
		// frames 20 ms apart with several calls at once, so its latency
		// is the wall-clock end of speech → decision a caller waits.
		if v.paced && paced > 0 {
			var sub []speechset.Item
			for _, it := range m.Items {
				if it.Family() != "espeak" && it.SNR != 10 {
					sub = append(sub, it)
				}
			}
			ps, err := Run(ctx, rec, dir, sub, Options{Paced: true, Concurrency: paced})
			if err != nil {
				t.Fatalf("%s paced: %v", v.name, err)
			}
			WriteCost(&costs, fmt.Sprintf("%s, real time, %d calls at once (flite + festival, clean and 20 dB; latency: true end of speech to decision)", v.name, paced), ps)
			c := Count(ps.Results, defaults)
			fmt.Fprintf(w, "Real-time pass (%d items): top-1 right %s, not endpointed %d (the accuracy must match the fast pass: the engine must not depend on timing).\n\n", len(ps.Results), pct(c.Top1, c.In), c.NotEndpointed)
		}
		if c, ok := rec.(io.Closer); ok {
			c.Close()
		}
	}
	fmt.Fprintf(w, "## Cost and latency\n\n%s\n", costs.String())
	fmt.Fprintf(w, "Engine warnings (dropped audio, decoder waits, decode failures): %s\n\n", warnings.String())
	fmt.Fprintf(w, "Report kept in %s\n", reportPath)
}

func writeCSV(path string, rs []Result) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := WriteResultsCSV(f, rs); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}

func withoutSNR(rs []Result, snr int) []Result {
	var out []Result
	for _, r := range rs {
		if r.Item.SNR != snr {
			out = append(out, r)
		}
	}
	return out
}
