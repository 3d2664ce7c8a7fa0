package call

import (
	"context"
	"fmt"
	"sync"
	"time"

	"hotline/media"
	"hotline/speech"
)

// PCMTapper is a media leg that can hand its received audio to a listener
// as PCM (*media.Session does). Without it a call cannot recognize speech
// and PlayAndListen only takes keys.
type PCMTapper interface {
	SetPCMTap(t media.PCMTap)
}

// Bounds of one recognition.
const (
	// DefaultMaxSpeech ends an utterance that never stops (a radio in the
	// background): the stream is closed and its decision taken.
	DefaultMaxSpeech = 10 * time.Second
	// finalWait bounds the wait for the Final event after the stream is
	// closed; an engine that never sends it must not hold the call.
	finalWait = 2 * time.Second
	// tapFrames is how much audio (20 ms frames) may wait for the
	// recognizer before new audio is dropped: a second, far more than a
	// healthy engine lags, small enough to bound memory per call.
	tapFrames = 50
)

// ListenOptions is one prompt-and-listen turn.
type ListenOptions struct {
	Prompts []string // the tenant's prompts, played in order
	Audio   []int16  // then this 8 kHz PCM (synthesized speech), if any
	// Recognizer and Grammar: nil Recognizer listens for keys only.
	Recognizer speech.Recognizer
	Grammar    speech.Grammar
	// NoInput is how long to wait after the prompts for a key or the
	// start of speech.
	NoInput time.Duration
	// MaxSpeech bounds an utterance once started; 0: DefaultMaxSpeech.
	MaxSpeech time.Duration
}

// ListenResult is how a turn ended: a key, speech, or neither (no input).
type ListenResult struct {
	// Key: a key was pressed; it stays readable with ReadDigit.
	Key bool
	// Heard: Speech is the recognizer's Final for what the caller said.
	Heard  bool
	Speech speech.Event
	// BargeIn: speech or a key cut the prompts short.
	BargeIn bool
	// Dropped counts audio frames the recognizer did not take in time.
	Dropped uint64
}

// PlayAudio plays 8 kHz PCM (synthesized speech) like Play plays a prompt.
func (c *Call) PlayAudio(ctx context.Context, pcm []int16, interruptible bool) error {
	return c.playPrompt(ctx, media.NewPromptPCM(pcm), false, interruptible)
}

// PlayAndListen plays the prompts while a recognition runs on the caller's
// audio. The caller's speech (SpeechStarted) or a key stops the prompts;
// a key ends the turn at once (the keypad always wins, since it is the
// reliable input), speech ends it with the recognizer's Final. After the
// prompts it waits opts.NoInput for either to start.
//
// A recognizer that fails to start is not the caller's problem: the turn
// goes on with keys only, and the failure is on the timeline.
func (c *Call) PlayAndListen(ctx context.Context, opts ListenOptions) (ListenResult, error) {
	if c.hasPending() {
		return ListenResult{Key: true}, nil
	}
	prompts := make([]*media.Prompt, 0, len(opts.Prompts)+1)
	for _, name := range opts.Prompts {
		p, ok := c.prompts.Prompt(name)
		if !ok {
			return ListenResult{}, fmt.Errorf("listen: prompt %q not found for tenant %s", name, c.TenantID)
		}
		prompts = append(prompts, p)
	}
	if len(opts.Audio) > 0 {
		prompts = append(prompts, media.NewPromptPCM(opts.Audio))
	}
	l := &listener{c: c, opts: opts, prompts: prompts}
	if l.opts.MaxSpeech <= 0 {
		l.opts.MaxSpeech = DefaultMaxSpeech
	}
	if tapper, ok := c.media.(PCMTapper); ok && opts.Recognizer != nil {
		if err := l.startRecognition(ctx, tapper); err != nil {
			if ctx.Err() != nil {
				return ListenResult{}, ctx.Err()
			}
			c.Event("speech_error", "", map[string]string{"error": err.Error()})
		}
	}
	defer l.stop()
	return l.run(ctx)
}

// listener is one PlayAndListen turn. It is used by the call's goroutine
// only, except the feeder goroutine it owns (started by startRecognition,
// stopped and waited for by stopFeed).
type listener struct {
	c       *Call
	opts    ListenOptions
	prompts []*media.Prompt

	tapper     PCMTapper
	stream     speech.Stream
	events     <-chan speech.Event
	queue      *media.PCMQueue
	stopFeeder context.CancelFunc
	feeder     sync.WaitGroup
	closed     bool // stream closed
	player     *media.Player
}

// startRecognition opens the stream and connects the caller's audio to it
// through a bounded queue: the tap runs on the RTP receive goroutine,
// which must never wait on the recognizer.
func (l *listener) startRecognition(ctx context.Context, tapper PCMTapper) error {
	stream, err := l.opts.Recognizer.Start(ctx, l.opts.Grammar)
	if err != nil {
		return fmt.Errorf("start recognition: %w", err)
	}
	l.stream, l.events, l.tapper = stream, stream.Events(), tapper
	l.queue = media.NewPCMQueue(tapFrames)
	feedCtx, cancel := context.WithCancel(context.Background())
	l.stopFeeder = cancel
	// The feeder ends when stopFeed cancels it, or at the first failed
	// Write (a broken stream has nothing more to say; its Final, if any,
	// still arrives on events).
	l.feeder.Go(func() { _ = l.queue.Drain(feedCtx, l.stream.Write) })
	tapper.SetPCMTap(l.queue)
	return nil
}

// stopFeed disconnects the audio and waits for the feeder, so nothing
// writes to the stream after it is closed. Safe to call twice.
func (l *listener) stopFeed() {
	if l.stopFeeder == nil {
		return
	}
	l.tapper.SetPCMTap(nil)
	l.stopFeeder()
	l.feeder.Wait()
	l.stopFeeder = nil
}

// stop ends the turn: prompt off, audio disconnected, stream closed and its
// events drained (so the engine never blocks on an unread channel).
func (l *listener) stop() {
	l.stopPlayer()
	if l.stream == nil {
		return
	}
	l.closeStream()
	t := time.NewTimer(finalWait)
	defer t.Stop()
	for {
		select {
		case _, ok := <-l.events:
			if !ok {
				return
			}
		case <-t.C:
			return
		}
	}
}

// closeStream makes the engine decide on what it has heard.
func (l *listener) closeStream() {
	l.stopFeed()
	if !l.closed {
		l.closed = true
		_ = l.stream.Close()
	}
}

func (l *listener) stopPlayer() {
	if l.player != nil {
		l.player.Stop()
		l.c.media.SetSource(nil)
		l.player = nil
	}
}

func (l *listener) dropped() uint64 {
	if l.queue == nil {
		return 0
	}
	return l.queue.Dropped()
}

// run plays the prompts and waits for the first of: a key, the end of an
// utterance, no input, hang-up.
func (l *listener) run(ctx context.Context) (ListenResult, error) {
	c := l.c
	var res ListenResult
	next := 0 // the next prompt to play
	var playerDone <-chan struct{}
	playNext := func() {
		l.stopPlayer()
		playerDone = nil
		if next < len(l.prompts) {
			l.player = media.NewPlayer(l.prompts[next], false)
			next++
			c.media.SetSource(l.player)
			playerDone = l.player.Done()
		}
	}
	// Timers are armed as the turn moves on; a nil channel never fires.
	var noInput, maxSpeech, closing <-chan time.Time
	talking := false // SpeechStarted was seen
	arm := func(d time.Duration) (<-chan time.Time, func()) {
		t := time.NewTimer(d)
		return t.C, func() { t.Stop() }
	}
	var stops []func()
	defer func() {
		for _, s := range stops {
			s()
		}
	}()
	afterPrompts := func() {
		if !talking {
			var stop func()
			noInput, stop = arm(l.opts.NoInput)
			stops = append(stops, stop)
		}
	}
	playNext()
	if playerDone == nil {
		afterPrompts()
	}
	digits := c.media.Digits()
	for {
		select {
		case <-playerDone:
			playNext()
			if playerDone == nil {
				afterPrompts()
			}
		case d := <-digits:
			c.keyPressed(d)
			res.Key, res.BargeIn = true, res.BargeIn || playerDone != nil
			res.Dropped = l.dropped()
			return res, nil
		case ev, ok := <-l.events:
			if !ok {
				// The stream ended without a Final: keys only from now.
				l.events = nil
				if talking {
					res.Dropped = l.dropped()
					return res, nil
				}
				continue
			}
			switch ev.Type {
			case speech.SpeechStarted:
				if talking {
					continue
				}
				talking = true
				res.BargeIn = res.BargeIn || playerDone != nil
				// Barge-in: the caller talks over the prompt, so the
				// rest of it (and the prompts after it) go unplayed.
				l.stopPlayer()
				playerDone, next = nil, len(l.prompts)
				noInput = nil
				var stop func()
				maxSpeech, stop = arm(l.opts.MaxSpeech)
				stops = append(stops, stop)
			case speech.Final:
				l.events = nil
				if ev.NoSpeech && ev.Text == "" {
					// Noise, or an engine timeout: the turn goes on
					// for keys until no input.
					if talking {
						res.Heard, res.Speech = true, ev
						res.Dropped = l.dropped()
						return res, nil
					}
					continue
				}
				res.Heard, res.Speech = true, ev
				res.BargeIn = res.BargeIn || playerDone != nil
				res.Dropped = l.dropped()
				return res, nil
			}
		case <-noInput:
			res.Dropped = l.dropped()
			return res, nil
		case <-maxSpeech:
			// Closing the stream makes the engine decide on what it has.
			maxSpeech = nil
			l.closeStream()
			var stop func()
			closing, stop = arm(finalWait)
			stops = append(stops, stop)
		case <-closing:
			res.Dropped = l.dropped()
			return res, nil
		case <-ctx.Done():
			return res, ctx.Err()
		case <-c.ctx.Done():
			return res, context.Cause(c.ctx)
		}
	}
}
