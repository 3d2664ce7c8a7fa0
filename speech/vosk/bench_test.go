package vosk

import (
	"fmt"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"hotline/speech"
	"hotline/speech/pocketsphinx"
	"hotline/speech/speechtest"
)

// TestTranscribeBench measures phrase latency (end of speech to the Phrase
// arriving through the client) with N streams of continuous speech fed in
// real time to a server with ONE decoder, i.e. one core of decoding.
// Run with
//
//	HOTLINE_TRANSCRIBE_BENCH=1 go test ./speech/vosk -run TestTranscribeBench -v
//
// HOTLINE_TRANSCRIBE_STREAMS (default "1,2,4,6") lists the N to try and
// HOTLINE_TRANSCRIBE_SECONDS (default 20) the audio per stream,
// HOTLINE_TRANSCRIBE_POOL the decoders (default 1), HOTLINE_TRANSCRIBE_INCREMENTAL=0
// decodes phrases whole, HOTLINE_TRANSCRIBE_SECOND_PASS=1 runs the second pass.
func TestTranscribeBench(t *testing.T) {
	if os.Getenv("HOTLINE_TRANSCRIBE_BENCH") == "" {
		t.Skip("set HOTLINE_TRANSCRIBE_BENCH=1")
	}
	dictation(t)
	// Decoders: one by default; a phrase decoded as it is spoken holds
	// one, so compare with as many as streams on one core (taskset).
	pool := 1
	if n, err := strconv.Atoi(os.Getenv("HOTLINE_TRANSCRIBE_POOL")); err == nil && n > 0 {
		pool = n
	}
	d, err := pocketsphinx.NewDictation(pocketsphinx.DictationConfig{PoolSize: pool, DecoderWait: 30 * time.Second,
		NoIncremental: os.Getenv("HOTLINE_TRANSCRIBE_INCREMENTAL") == "0",
		// As the transcript workers run by default.
		NoSecondPass: os.Getenv("HOTLINE_TRANSCRIBE_SECOND_PASS") != "1"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	srv := httptest.NewServer(NewServer(engineOf(d), nil))
	defer srv.Close()
	c, _ := New(Config{URLs: []string{wsURL(srv)}, CloseTimeout: 30 * time.Second})

	// Continuous speech: sentences with 600 ms pauses (plus the 300 ms
	// pads), about 75% of the time speech.
	var talk []int16
	var speechSamples int
	for _, v := range []string{"kal", "rms", "awb"} {
		for _, s := range speechtest.CallSentences {
			pcm := speechtest.Flite(t, v, s)
			speechSamples += len(pcm) - 4800
			talk = append(append(talk, pcm...), make([]int16, 4800)...)
		}
	}
	t.Logf("speech is %.0f%% of the audio", 100*float64(speechSamples)/float64(len(talk)))
	secs := 20
	if s, err := strconv.Atoi(os.Getenv("HOTLINE_TRANSCRIBE_SECONDS")); err == nil && s > 0 {
		secs = s
	}
	streams := "1,2,4,6"
	if s := os.Getenv("HOTLINE_TRANSCRIBE_STREAMS"); s != "" {
		streams = s
	}
	for _, f := range strings.Split(streams, ",") {
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatal(err)
		}
		lat, phrases, dropped := runStreams(t, c, talk, n, secs)
		if len(lat) == 0 {
			t.Errorf("%d streams: no phrases", n)
			continue
		}
		slices.Sort(lat)
		t.Logf("%d streams x %d s, %d decoders: %d phrases, latency p50 %v p95 %v max %v, dropped %v",
			n, secs, pool, phrases, lat[len(lat)/2].Round(time.Millisecond), lat[len(lat)*95/100].Round(time.Millisecond),
			lat[len(lat)-1].Round(time.Millisecond), dropped)
	}
}

// runStreams feeds n streams in real time, each starting at a different
// place in talk, and returns every phrase's latency.
func runStreams(t *testing.T, c *Client, talk []int16, n, secs int) ([]time.Duration, int, time.Duration) {
	var mu sync.Mutex
	var lat []time.Duration
	var dropped time.Duration
	phrases := 0
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr, err := c.Transcribe(t.Context(), speech.TranscribeOptions{Label: fmt.Sprint("stream ", i)})
			if err != nil {
				t.Error(err)
				return
			}
			off := i * len(talk) / max(n, 1) / speech.FrameSamples * speech.FrameSamples
			start := time.Now()
			got := make(chan struct{})
			go func() {
				defer close(got)
				for p := range tr.Phrases() {
					l := time.Since(start) - p.End
					mu.Lock()
					lat = append(lat, l)
					phrases++
					mu.Unlock()
				}
			}()
			frames := secs * 50
			for k := range frames {
				time.Sleep(time.Until(start.Add(time.Duration(k) * 20 * time.Millisecond)))
				pos := (off + k*speech.FrameSamples) % (len(talk) - speech.FrameSamples)
				tr.Write(talk[pos : pos+speech.FrameSamples])
			}
			tr.Close()
			<-got
			if dr, ok := tr.(interface{ Dropped() time.Duration }); ok {
				mu.Lock()
				dropped += dr.Dropped()
				mu.Unlock()
			}
			if err := tr.Err(); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	return lat, phrases, dropped
}
