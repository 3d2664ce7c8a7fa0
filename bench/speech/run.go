// Package speechbench measures a speech.Recognizer on the labelled set of
// bench/speechset the way a call uses it: audio arrives in 20 ms frames,
// the line keeps carrying the caller's background after they stop talking,
// and the IVR acts on the Final event. It reports what an IVR designer
// needs: how often the right choice is accepted, how often a wrong one is,
// how often the caller would be asked to confirm or be reprompted, how much
// out-of-grammar speech and noise gets accepted, the CPU cost (real-time
// factor) and the end-of-speech to decision latency.
//
// The package is engine neutral; accuracy_test.go plugs the embedded
// PocketSphinx engine in (`make bench-speech`).
package speechbench

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"hotline/bench/speechset"
	"hotline/speech"
)

// Options tune Run.
type Options struct {
	// Paced feeds each frame when it would arrive on a call (20 ms apart),
	// so latency is the real end-of-speech to decision time.
	Paced bool
	// Speedup, when not Paced, feeds frames at most this many times faster
	// than real time; 0 feeds as fast as Write returns. Engines queue
	// audio for a worker and drop what exceeds their backlog, so an
	// unbounded writer can outrun them; a cap well above real time keeps
	// the run short without that.
	Speedup float64
	// Concurrency is the number of utterances recognized at once (calls at
	// a speech prompt). 0 means 1.
	Concurrency int
	// TailMs is how long the line keeps carrying the trailing background
	// after the file ends, waiting for the engine to end the utterance by
	// itself, before the harness closes the stream. 0 means 3000.
	TailMs int
	// Timeout bounds one utterance; 0 means 30 s.
	Timeout time.Duration
}

// Result is one item's outcome.
type Result struct {
	Item speechset.Item
	// Final is the decision; Err is set when the engine failed instead.
	Final speech.Event
	Err   error
	// Endpointed tells that the engine detected the end of speech itself
	// (the Final has a SpeechEnd); false when the Final came from Close.
	Endpointed bool
	// Latency, Paced, is from the true end of speech (the manifest's) to
	// the Final on the wall clock: what the caller waits, endpointing
	// silence included. Not paced, the writer runs ahead of the engine,
	// so only the engine's own part is measured: Final.At - SpeechEnd,
	// the decision time after end of speech was detected. Zero for items
	// without speech or without an endpoint.
	Latency time.Duration
	// AudioMs is the item's file duration (the caller's audio; the tail
	// fed after it is background the engine only runs its VAD on).
	AudioMs int
}

// Answer is what the IVR would act on: the choice, or the digits for a
// digits grammar.
func (r Result) Answer() string {
	if r.Item.Grammar == speechset.GrammarDigits {
		return r.Final.Digits
	}
	return r.Final.Choice
}

// Run is the outcome of a pass over a set.
type RunStats struct {
	Results []Result
	// CPU is the process's user+system time over the pass; with Paced
	// false and Concurrency 1 it is the engine's cost (the harness does
	// nothing but copy frames).
	CPU     time.Duration
	Wall    time.Duration
	AudioMs int64
	// MaxRSSKB is the process's peak resident set after the pass.
	MaxRSSKB int64
}

// RTF is CPU seconds per audio second.
func (s RunStats) RTF() float64 {
	if s.AudioMs == 0 {
		return 0
	}
	return s.CPU.Seconds() / (float64(s.AudioMs) / 1000)
}

// Run recognizes every item of m (WAVs in dir) with rec.
func Run(ctx context.Context, rec speech.Recognizer, dir string, items []speechset.Item, opts Options) (RunStats, error) {
	conc := max(1, opts.Concurrency)
	if opts.TailMs <= 0 {
		opts.TailMs = 3000
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	// Audio is read before timing starts: file I/O and WAV parsing are not
	// what is measured.
	pcms := make([][]int16, len(items))
	for i, it := range items {
		pcm, err := speechset.ReadPCM(filepath.Join(dir, it.File))
		if err != nil {
			return RunStats{}, fmt.Errorf("speechbench: %w", err)
		}
		pcms[i] = pcm
	}
	st := RunStats{Results: make([]Result, len(items))}
	var audio atomic.Int64
	cpu0 := cpuTime()
	t0 := time.Now()
	var (
		wg   sync.WaitGroup
		next atomic.Int64
	)
	for range conc {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(items) || ctx.Err() != nil {
					return
				}
				r := runOne(ctx, rec, items[i], pcms[i], opts)
				audio.Add(int64(r.AudioMs))
				st.Results[i] = r
			}
		})
	}
	wg.Wait()
	st.Wall = time.Since(t0)
	st.CPU = cpuTime() - cpu0
	st.AudioMs = audio.Load()
	st.MaxRSSKB = maxRSS()
	return st, ctx.Err()
}

// tailSpeedup caps the speed of the tail fed after a file when not paced.
const tailSpeedup = 3.0

// frameMs is the duration of one frame.
const frameMs = 1000 * speech.FrameSamples / speech.SampleRate

// runOne streams one item.
func runOne(ctx context.Context, rec speech.Recognizer, it speechset.Item, pcm []int16, opts Options) Result {
	res := Result{Item: it}
	g, ok := speechset.Grammar(it.Grammar)
	if !ok {
		res.Err = fmt.Errorf("unknown grammar %q", it.Grammar)
		return res
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	stream, err := rec.Start(ctx, g)
	if err != nil {
		res.Err = fmt.Errorf("start: %w", err)
		return res
	}

	// Events are drained on their own goroutine so a slow or unbuffered
	// channel can never stall the writer, which is the media path in a
	// real call.
	final := make(chan speech.Event, 1)
	go func() {
		got := false
		for ev := range stream.Events() {
			if ev.Type == speech.Final && !got {
				got = true
				final <- ev
			}
		}
		if !got {
			// A stream closed without a Final breaks the contract; count
			// it as nothing heard rather than hang.
			final <- speech.Event{Type: speech.Final, NoSpeech: true, At: time.Now()}
		}
	}()

	// The line goes on after the file: the caller's background (the
	// file's last 300 ms, which is past the speech) repeated.
	tail := pcm[max(0, len(pcm)-300*speech.SampleRate/1000):]
	tailFrames := opts.TailMs / frameMs
	if len(tail) == 0 {
		tailFrames = 0 // nothing to repeat (an empty file)
	}
	fileFrames := (len(pcm) + speech.FrameSamples - 1) / speech.FrameSamples

	res.AudioMs = fileFrames * frameMs
	frame := make([]int16, speech.FrameSamples)
	start := time.Now()
	var ev speech.Event
	done := false
	for i := 0; i < fileFrames+tailFrames && !done; i++ {
		if i < fileFrames {
			n := copy(frame, pcm[i*speech.FrameSamples:])
			clear(frame[n:])
		} else {
			off := ((i - fileFrames) * speech.FrameSamples) % len(tail)
			n := copy(frame, tail[off:])
			copy(frame[n:], tail)
		}
		// Frame i is complete when its last sample has arrived.
		due := time.Duration(i+1) * frameMs * time.Millisecond
		if !opts.Paced {
			due = 0
			if opts.Speedup > 0 {
				due = time.Duration(float64(min(i+1, fileFrames)) * frameMs * float64(time.Millisecond) / opts.Speedup)
				// The tail goes at most tailSpeedup times real time: it is
				// where the engine decodes while the writer keeps going,
				// and its audio queue (3 s) must not overflow meanwhile.
				if i >= fileFrames {
					due += time.Duration(float64(i+1-fileFrames) * frameMs * float64(time.Millisecond) / min(opts.Speedup, tailSpeedup))
				}
			}
		}
		if d := time.Until(start.Add(due)); d > 0 {
			time.Sleep(d)
		}
		if err := stream.Write(frame); err != nil {
			// An engine may refuse audio after its Final; that is the end.
			select {
			case ev = <-final:
				done = true
			default:
				res.Err = fmt.Errorf("write frame %d: %w", i, err)
				stream.Close()
				return res
			}
			break
		}
		if !opts.Paced {
			// Let the event goroutine forward a Final the Write just
			// produced, so the writer does not run far past it.
			runtime.Gosched()
		}
		select {
		case ev = <-final:
			done = true
		default:
		}
		if ctx.Err() != nil {
			break
		}
	}
	if cerr := stream.Close(); cerr != nil && !errors.Is(cerr, context.Canceled) {
		res.Err = fmt.Errorf("close: %w", cerr)
	}
	if !done {
		select {
		case ev = <-final:
		case <-ctx.Done():
			res.Err = fmt.Errorf("no Final event: %w", ctx.Err())
			return res
		}
	}
	res.Final = ev
	res.Endpointed = !ev.SpeechEnd.IsZero()
	switch {
	case it.SpeechEndMs == 0 || !res.Endpointed:
	case opts.Paced:
		res.Latency = ev.At.Sub(start.Add(time.Duration(it.SpeechEndMs) * time.Millisecond))
	default:
		res.Latency = ev.At.Sub(ev.SpeechEnd)
	}
	return res
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func maxRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss // KB on Linux
}
