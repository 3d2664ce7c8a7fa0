package pocketsphinx

import (
	"fmt"
	"math"
	"os"
	"sort"
	"testing"

	"hotline/speech"
)

// TestCalibrate prints the confidence measure on in-grammar and
// out-of-grammar utterances for every installed voice; it is how the
// Config defaults were chosen. Run with HOTLINE_SPEECH_CALIBRATE=1.
func TestCalibrate(t *testing.T) {
	if os.Getenv("HOTLINE_SPEECH_CALIBRATE") == "" {
		t.Skip("set HOTLINE_SPEECH_CALIBRATE=1")
	}
	e := engine(t)
	in := []struct{ text, choice string }{
		{"lost card", "1"}, {"my card is lost", "1"}, {"stolen card", "1"}, {"balance", "2"},
		{"account balance", "2"}, {"agent", "0"}, {"operator", "0"}, {"talk to someone", "0"},
	}
	oog := []string{"the weather is nice today", "I want to order a pizza", "hello", "yes please",
		"can you help me", "cancel my order", "what time is it", "I lost my phone", "open a new account",
		"my password does not work", "good morning", "thank you very much"}
	inv := func(c float64) float64 {
		c = min(max(c, 1e-9), 1-1e-9)
		return e.cfg.ConfidenceCenter + e.cfg.ConfidenceScale*math.Log(c/(1-c))
	}
	for _, v := range append(append([]voice{}, fliteVoices...), espeakVoices...) {
		var ok, n int
		var inX, oogX []float64
		for _, c := range in {
			fin := final(t, recognizeFrames(t, e, menu, telephone(t, v, c.text)))
			n++
			if fin.Choice == c.choice {
				ok++
				inX = append(inX, inv(fin.Confidence))
			} else {
				t.Logf("%s %q → %q (%.2f)", v.name, c.text, fin.Text, fin.Confidence)
			}
		}
		for _, s := range oog {
			t.Log(v.name, s)
			fin := final(t, recognizeFrames(t, e, menu, telephone(t, v, s)))
			x := -99.0
			if fin.Choice != "" {
				x = inv(fin.Confidence)
			}
			oogX = append(oogX, x)
		}
		sort.Float64s(inX)
		sort.Float64s(oogX)
		t.Logf("%-13s correct %d/%d  in-grammar x %v", v.name, ok, n, fmt1(inX))
		t.Logf("%-13s out-of-grammar x %v", v.name, fmt1(oogX))
	}
	digits := speech.Grammar{Digits: true}
	for _, v := range fliteVoices {
		var line []string
		for _, c := range []struct{ text, want string }{{"four two seven", "427"}, {"one two three four", "1234"},
			{"nine oh five", "905"}, {"eight", "8"}, {"five five five one two one two", "5551212"}} {
			fin := final(t, recognizeFrames(t, e, digits, telephone(t, v, c.text)))
			line = append(line, fmt.Sprintf("%s→%s(%.1f)", c.want, fin.Digits, inv(fin.Confidence)))
		}
		for _, s := range []string{"hello", "the weather is nice today", "agent please", "I lost my card"} {
			fin := final(t, recognizeFrames(t, e, digits, telephone(t, v, s)))
			line = append(line, fmt.Sprintf("oog→%s(%.1f)", fin.Digits, inv(fin.Confidence)))
		}
		t.Logf("%-13s digits %v", v.name, line)
	}
}

func fmt1(xs []float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = math.Round(x*10) / 10
	}
	return out
}

// TestDecoderMemory measures what one more decoder costs (resident set).
// Run with HOTLINE_SPEECH_CALIBRATE=1.
func TestDecoderMemory(t *testing.T) {
	if os.Getenv("HOTLINE_SPEECH_CALIBRATE") == "" {
		t.Skip("set HOTLINE_SPEECH_CALIBRATE=1")
	}
	e := engine(t)
	rss := func() float64 {
		b, _ := os.ReadFile("/proc/self/statm")
		var size, res int64
		fmt.Sscan(string(b), &size, &res)
		return float64(res*int64(os.Getpagesize())) / (1 << 20)
	}
	c, _ := e.Compile(menu)
	pcm := telephone(t, fliteVoices[0], "my card is lost")
	before := rss()
	var ds []*decoder
	for range 4 {
		d, err := newDecoder(e.args, e.phoneLM(), 4)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := recognize(d, c, pcm, len(pcm), &e.cfg); err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	t.Logf("RSS per decoder (grammar and phone loop used once): %.1f MB", (rss()-before)/4)
	for _, d := range ds {
		d.free()
	}
}
