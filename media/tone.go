package media

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Asterisk indication tones (indications.conf): a tone list is a comma
// separated sequence of parts, each
//
//	[!]freq[+freq2|*freq2][/duration]
//
// with frequencies in Hz (or MIDI notes written Mnote, both then with M),
// the duration in milliseconds, no duration meaning "forever", 0 Hz
// meaning silence, and "!" marking a part that is not repeated: when the
// list ends it restarts at the first part without "!", and a list whose
// parts all carry "!" plays once. "f1*f2" is f1 amplitude-modulated by
// f2 (Asterisk documents a 90% depth; this generator uses exactly that).
// "|" is accepted as the separator too, as Asterisk does.

// ErrBadTone is wrapped by every ParseTone error.
var ErrBadTone = errors.New("invalid tone")

// ToneAmplitude is the peak amplitude of each frequency of a tone:
// Asterisk's default playtones volume (7219, about -13 dBFS per
// frequency, -7 dBFS for a two-frequency tone).
const ToneAmplitude = 7219

// maxToneFreq bounds frequencies. Asterisk accepts anything (one sample
// zone uses 10 kHz, which aliases at 8 kHz as it does here).
const maxToneFreq = 20000

// maxTonePart bounds one part's duration (in ms), far beyond any cadence.
const maxTonePart = 24 * 3600 * 1000

// TonePart is one element of a tone list.
type TonePart struct {
	Freq1, Freq2 int // Hz; 0 is silence (no frequency)
	// Modulate: Freq1 amplitude-modulated by Freq2 (f1*f2) instead of
	// their sum (f1+f2).
	Modulate bool
	// Duration is how long the part plays; 0: forever.
	Duration time.Duration
	// Once: the part had "!" and is not repeated.
	Once bool
}

// ToneSpec is a parsed tone list.
type ToneSpec struct {
	Parts []TonePart
	// Repeat is the index of the part the list restarts at when it ends
	// (the first part without "!"); -1: the list plays once.
	Repeat int
}

// Finite reports whether the tone ends by itself: every part carries "!"
// and none plays forever.
func (s *ToneSpec) Finite() bool {
	if s.Repeat >= 0 {
		return false
	}
	for _, p := range s.Parts {
		if p.Duration == 0 {
			return false
		}
	}
	return true
}

// String writes the spec back in indications.conf syntax (frequencies in
// Hz even if the source used MIDI notes).
func (s *ToneSpec) String() string {
	var b strings.Builder
	for i, p := range s.Parts {
		if i > 0 {
			b.WriteByte(',')
		}
		if p.Once {
			b.WriteByte('!')
		}
		b.WriteString(strconv.Itoa(p.Freq1))
		if p.Freq2 != 0 || p.Modulate {
			if p.Modulate {
				b.WriteByte('*')
			} else {
				b.WriteByte('+')
			}
			b.WriteString(strconv.Itoa(p.Freq2))
		}
		if p.Duration > 0 {
			b.WriteByte('/')
			b.WriteString(strconv.FormatInt(p.Duration.Milliseconds(), 10))
		}
	}
	return b.String()
}

// ParseTone parses an Asterisk tone list such as "440+480/2000,0/4000"
// or "!950/330,!1400/330,!1800/330,0". Unlike Asterisk, which logs and
// skips a part it cannot parse, any bad part is an error (wrapping
// ErrBadTone), and so is an empty part.
func ParseTone(spec string) (*ToneSpec, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, fmt.Errorf("%w: empty tone list", ErrBadTone)
	}
	sep := ","
	if strings.Contains(spec, "|") {
		sep = "|"
	}
	elems := strings.Split(spec, sep)
	if len(elems) > 256 {
		return nil, fmt.Errorf("%w: %d parts, at most 256", ErrBadTone, len(elems))
	}
	ts := &ToneSpec{Parts: make([]TonePart, 0, len(elems)), Repeat: -1}
	for i, e := range elems {
		e = strings.TrimSpace(e)
		p, err := parseTonePart(e)
		if err != nil {
			return nil, fmt.Errorf("%w: part %d %q: %v", ErrBadTone, i+1, e, err)
		}
		if !p.Once && ts.Repeat < 0 {
			ts.Repeat = len(ts.Parts)
		}
		ts.Parts = append(ts.Parts, p)
	}
	return ts, nil
}

func parseTonePart(s string) (TonePart, error) {
	var p TonePart
	if s == "" {
		return p, errors.New("empty part")
	}
	if s[0] == '!' {
		p.Once = true
		s = strings.TrimSpace(s[1:])
	}
	freqs, dur, hasDur := strings.Cut(s, "/")
	if hasDur {
		ms, err := strconv.ParseUint(dur, 10, 32)
		if err != nil || ms > maxTonePart {
			return p, fmt.Errorf("bad duration %q (milliseconds, at most %d)", dur, maxTonePart)
		}
		p.Duration = time.Duration(ms) * time.Millisecond
	}
	f1, f2, op := freqs, "", byte(0)
	if i := strings.IndexAny(freqs, "+*"); i >= 0 {
		f1, f2, op = freqs[:i], freqs[i+1:], freqs[i]
		p.Modulate = op == '*'
	}
	midi := strings.HasPrefix(f1, "M")
	var err error
	if p.Freq1, err = parseToneFreq(f1, midi); err != nil {
		return p, err
	}
	if op != 0 {
		// Asterisk's forms are "f1+f2" and "Mn1+Mn2": both notes or
		// neither.
		if strings.HasPrefix(f2, "M") != midi {
			return p, errors.New("mix of MIDI notes and frequencies")
		}
		if p.Freq2, err = parseToneFreq(f2, midi); err != nil {
			return p, err
		}
	}
	return p, nil
}

func parseToneFreq(s string, midi bool) (int, error) {
	if midi {
		n, err := strconv.ParseUint(s[1:], 10, 8)
		if err != nil || n > 127 {
			return 0, fmt.Errorf("bad MIDI note %q (M0 to M127)", s)
		}
		return midiHz(int(n)), nil
	}
	f, err := strconv.ParseUint(s, 10, 32)
	if err != nil || f > maxToneFreq {
		return 0, fmt.Errorf("bad frequency %q (Hz, 0 to %d)", s, maxToneFreq)
	}
	return int(f), nil
}

// midiHz is Asterisk's MIDI note table: equal temperament from A4 = 440 Hz,
// truncated to whole hertz.
func midiHz(n int) int {
	return int(math.Floor(440*math.Pow(2, float64(n-69)/12) + 1e-9))
}

// ToneSource plays a ToneSpec. Like a Player it is a single playback: give
// each call its own. ReadFrame allocates nothing.
type ToneSource struct {
	parts  []toneStep
	repeat int
	limit  int64 // samples to play in all; 0: no limit

	// Owned by the goroutine calling ReadFrame.
	idx    int   // current part
	pos    int64 // samples into the current part
	played int64
	osc    [2]phasor
	ended  bool

	stopped atomic.Bool
	done    chan struct{}
	once    sync.Once
}

type toneStep struct {
	f        [2]int     // Hz; 0: slot silent
	w        [2]float64 // radians per sample
	samples  int64      // 0: forever
	modulate bool
}

// phasor is a rotating unit vector; sin of its angle is im.
type phasor struct{ re, im float64 }

// modDepth is the depth of "f1*f2" amplitude modulation (indications.conf).
const modDepth = 0.9

// NewToneSource plays spec. duration > 0 stops it after that long;
// duration 0 plays until Stop, or until a list whose parts all carry "!"
// ends. A nil or empty spec plays nothing (the source is finished at once).
func NewToneSource(spec *ToneSpec, duration time.Duration) *ToneSource {
	t := &ToneSource{repeat: -1, done: make(chan struct{})}
	if duration > 0 {
		t.limit = max(1, int64(duration)*sampleRate/int64(time.Second))
	}
	if spec == nil || len(spec.Parts) == 0 {
		t.ended = true
		t.finish()
		return t
	}
	t.repeat = spec.Repeat
	t.parts = make([]toneStep, len(spec.Parts))
	for i, p := range spec.Parts {
		st := toneStep{
			samples:  int64(p.Duration) * sampleRate / int64(time.Second),
			modulate: p.Modulate,
		}
		if p.Duration > 0 && st.samples == 0 {
			st.samples = 1
		}
		for k, f := range [2]int{p.Freq1, p.Freq2} {
			if f > 0 {
				st.f[k] = f
				st.w[k] = 2 * math.Pi * float64(f) / sampleRate
			}
		}
		t.parts[i] = st
	}
	t.osc = [2]phasor{{re: 1}, {re: 1}}
	return t
}

// Done is closed when the tone has finished (its last frame was handed
// out, its duration elapsed or its "!" list ended) or Stop was called.
func (t *ToneSource) Done() <-chan struct{} { return t.done }

// Stop ends the tone; ReadFrame returns false from then on.
func (t *ToneSource) Stop() {
	t.stopped.Store(true)
	t.finish()
}

func (t *ToneSource) finish() { t.once.Do(func() { close(t.done) }) }

// ReadFrame implements Source. The frame in which the tone ends is padded
// with silence.
func (t *ToneSource) ReadFrame(dst []int16) bool {
	if t.ended || t.stopped.Load() {
		t.finish()
		return false
	}
	i := 0
	for i < len(dst) && !t.ended {
		st := &t.parts[t.idx]
		n := len(dst) - i
		if st.samples > 0 {
			n = int(min(int64(n), st.samples-t.pos))
		}
		if t.limit > 0 {
			n = int(min(int64(n), t.limit-t.played))
		}
		t.render(st, dst[i:i+n])
		i += n
		t.pos += int64(n)
		t.played += int64(n)
		if t.limit > 0 && t.played >= t.limit {
			t.ended = true
			break
		}
		if st.samples > 0 && t.pos >= st.samples {
			t.next()
		}
	}
	clear(dst[i:])
	// Renormalise once per frame: rounding would otherwise slowly change
	// the amplitude of a long tone.
	for k := range t.osc {
		o := &t.osc[k]
		if m := math.Hypot(o.re, o.im); m > 0 {
			o.re, o.im = o.re/m, o.im/m
		}
	}
	if t.ended {
		t.finish()
	}
	return true
}

// next moves to the following part, restarting at the repeat point or
// ending after the last. A frequency that starts sounding starts at phase
// zero (no click), as in Asterisk's generator; one that keeps sounding
// from the previous part keeps its phase, where Asterisk restarts it
// with a click.
func (t *ToneSource) next() {
	prev := &t.parts[t.idx]
	t.pos = 0
	t.idx++
	if t.idx >= len(t.parts) {
		if t.repeat < 0 {
			t.ended = true
			return
		}
		t.idx = t.repeat
	}
	cur := &t.parts[t.idx]
	old := t.osc
	for k := range t.osc {
		t.osc[k] = phasor{re: 1}
		for j := range old {
			if cur.f[k] != 0 && prev.f[j] == cur.f[k] {
				t.osc[k] = old[j]
			}
		}
	}
}

func (t *ToneSource) render(st *toneStep, dst []int16) {
	c1, s1 := math.Cos(st.w[0]), math.Sin(st.w[0])
	c2, s2 := math.Cos(st.w[1]), math.Sin(st.w[1])
	o1, o2 := t.osc[0], t.osc[1]
	on1, on2 := st.f[0] != 0, st.f[1] != 0
	for i := range dst {
		o1.re, o1.im = o1.re*c1-o1.im*s1, o1.im*c1+o1.re*s1
		o2.re, o2.im = o2.re*c2-o2.im*s2, o2.im*c2+o2.re*s2
		var v float64
		switch {
		case st.modulate:
			// The carrier is f1; with no carrier there is nothing to hear.
			if on1 {
				v = o1.im
				if on2 {
					v *= (1 + modDepth*o2.im) / (1 + modDepth)
				}
			}
		default:
			if on1 {
				v += o1.im
			}
			if on2 {
				v += o2.im
			}
		}
		dst[i] = int16(math.Round(v * ToneAmplitude))
	}
	t.osc[0], t.osc[1] = o1, o2
}

// toneZones are the named indications of Asterisk's indications.conf.sample
// for the zones Hotline knows, by country code. Names and zones are looked
// up case-insensitively.
var toneZones = map[string]map[string]string{
	"us": {
		"dial":        "350+440",
		"busy":        "480+620/500,0/500",
		"ring":        "440+480/2000,0/4000",
		"congestion":  "480+620/250,0/250",
		"callwaiting": "440/300,0/10000",
		"dialrecall":  "!350+440/100,!0/100,!350+440/100,!0/100,!350+440/100,!0/100,350+440",
		"record":      "1400/500,0/15000",
		"info":        "!950/330,!1400/330,!1800/330,0",
		"stutter":     "!350+440/100,!0/100,!350+440/100,!0/100,!350+440/100,!0/100,!350+440/100,!0/100,!350+440/100,!0/100,!350+440/100,!0/100,350+440",
	},
	"uk": {
		"dial":               "350+440",
		"specialdial":        "350+440/750,440/750",
		"busy":               "400/375,0/375",
		"congestion":         "400/400,0/350,400/225,0/525",
		"specialcongestion":  "400/200,1004/300",
		"unobtainable":       "400",
		"ring":               "400+450/400,0/200,400+450/400,0/2000",
		"callwaiting":        "400/100,0/4000",
		"specialcallwaiting": "400/250,0/250,400/250,0/250,400/250,0/5000",
		"creditexpired":      "400/125,0/125",
		"confirm":            "1400",
		"switching":          "400/200,0/400,400/2000,0/400",
		"info":               "950/330,0/15,1400/330,0/15,1800/330,0/1000",
		"record":             "1400/500,0/60000",
		"stutter":            "350+440/750,440/750",
	},
	"fr": {
		"dial":       "440",
		"busy":       "440/500,0/500",
		"ring":       "440/1500,0/3500",
		"congestion": "440/250,0/250",
		// Asterisk's sample spells it "callwait"; both names work here.
		"callwait":    "440/300,0/10000",
		"callwaiting": "440/300,0/10000",
		"dialrecall":  "!350+440/100,!0/100,!350+440/100,!0/100,!350+440/100,!0/100,350+440",
		"record":      "1400/500,0/15000",
		"info":        "!950/330,!1400/330,!1800/330",
		"stutter":     "!440/100,!0/100,!440/100,!0/100,!440/100,!0/100,!440/100,!0/100,!440/100,!0/100,!440/100,!0/100,440",
	},
	"de": {
		"dial":        "425",
		"busy":        "425/480,0/480",
		"ring":        "425/1000,0/4000",
		"congestion":  "425/240,0/240",
		"callwaiting": "!425/200,!0/200,!425/200,!0/5000,!425/200,!0/200,!425/200,!0/5000,!425/200,!0/200,!425/200,!0/5000,!425/200,!0/200,!425/200,!0/5000,!425/200,!0/200,!425/200,0",
		"dialrecall":  "!425/100,!0/100,!425/100,!0/100,!425/100,!0/100,425",
		"record":      "1400/80,0/15000",
		"info":        "950/330,1400/330,1800/330,0/1000",
		"stutter":     "425+400",
	},
	"it": {
		"dial":        "425/200,0/200,425/600,0/1000",
		"busy":        "425/500,0/500",
		"ring":        "425/1000,0/4000",
		"congestion":  "425/200,0/200",
		"callwaiting": "425/400,0/100,425/250,0/100,425/150,0/14000",
		"dialrecall":  "470/400,425/400",
		"record":      "1400/400,0/15000",
		"info":        "!950/330,!1400/330,!1800/330,!0/1000,!950/330,!1400/330,!1800/330,!0/1000,!950/330,!1400/330,!1800/330,!0/1000,0",
		"stutter":     "470/400,425/400",
	},
	"nl": {
		"dial":        "425",
		"busy":        "425/500,0/500",
		"ring":        "425/1000,0/4000",
		"congestion":  "425/250,0/250",
		"callwaiting": "425/500,0/9500",
		"dialrecall":  "425/500,0/50",
		"record":      "1400/500,0/15000",
		"info":        "950/330,1400/330,1800/330,0/1000",
		"stutter":     "425/500,0/50",
	},
	"au": {
		"dial":        "413+438",
		"busy":        "425/375,0/375",
		"ring":        "413+438/400,0/200,413+438/400,0/2000",
		"congestion":  "425/375,0/375,420/375,0/375",
		"callwaiting": "425/200,0/200,425/200,0/4400",
		"dialrecall":  "413+438",
		"record":      "!425/1000,!0/15000,425/360,0/15000",
		"info":        "425/2500,0/500",
		"std":         "!525/100,!0/100,!525/100,!0/100,!525/100,!0/100,!525/100,!0/100,!525/100",
		"facility":    "425",
		"stutter":     "413+438/100,0/40",
		"ringmobile":  "400+450/400,0/200,400+450/400,0/2000",
	},
	"jp": {
		"dial":        "400",
		"busy":        "400/500,0/500",
		"ring":        "400+15/1000,0/2000",
		"congestion":  "400/500,0/500",
		"callwaiting": "400+16/500,0/8000",
		"dialrecall":  "!400/200,!0/200,!400/200,!0/200,!400/200,!0/200,400",
		"record":      "1400/500,0/15000",
		"info":        "!950/330,!1400/330,!1800/330,0",
		"stutter":     "!400/100,!0/100,!400/100,!0/100,!400/100,!0/100,!400/100,!0/100,!400/100,!0/100,!400/100,!0/100,400",
	},
	"cn": {
		"dial":        "450",
		"busy":        "450/350,0/350",
		"ring":        "450/1000,0/4000",
		"congestion":  "450/700,0/700",
		"callwaiting": "450/400,0/4000",
		"dialrecall":  "450",
		"record":      "950/400,0/10000",
		"info":        "450/100,0/100,450/100,0/100,450/100,0/100,450/400,0/400",
		"stutter":     "450+425",
	},
}

// DefaultToneZone is the zone Asterisk's sample configuration uses when
// none is set ([general] country=us).
const DefaultToneZone = "us"

// NamedTone returns the tone list of indication name ("ring", "busy",
// "congestion", "dial", "callwaiting", "info", "record", "stutter",
// "dialrecall", and zone-specific extras) in zone (a country code such as
// "us", "uk", "fr"). ok is false for an unknown zone or name; callers
// wanting Asterisk's fallback use DefaultToneZone for an unknown zone.
func NamedTone(zone, name string) (string, bool) {
	z, ok := toneZones[strings.ToLower(zone)]
	if !ok {
		return "", false
	}
	s, ok := z[strings.ToLower(name)]
	return s, ok
}

// ToneZoneKnown reports whether zone is a zone NamedTone knows.
func ToneZoneKnown(zone string) bool {
	_, ok := toneZones[strings.ToLower(zone)]
	return ok
}
