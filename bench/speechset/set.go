// Package speechset generates the labelled speech test set the speech
// benchmark (bench/speech) and tuning run on: the demo bank's menu phrases,
// spoken digits, yes/no and out-of-grammar speech and noise, rendered by
// several text-to-speech engines and voices and then put through what a
// telephone call does to audio (8 kHz, the 300-3400 Hz channel, line noise,
// G.711 µ-law).
//
// The set is generated, never committed: TTS output is deterministic for a
// given engine version, and the noise is seeded from each item's name, so the
// same machine regenerates the same files. Generate writes WAVs plus
// manifest.json and manifest.csv into a directory; Load reads them back.
//
// Asterisk's core sound recordings are deliberately absent from this set (and
// must stay so): they are the independent, unseen check of whatever is tuned
// on this one.
package speechset

import (
	"hotline/speech"
)

// Version changes whenever the generated audio or the manifest would change
// (texts, voices, processing), so Ensure knows a cached set is stale.
const Version = 3

// OOG is the expectation of an item that no grammar choice should match
// (out-of-grammar speech, noise): the right outcome is a rejection.
const OOG = "OOG"

// Grammar names used in the manifest; Grammar returns the grammar.
const (
	GrammarMenu   = "menu"
	GrammarDigits = "digits"
	GrammarYesNo  = "yesno"
)

// menuChoices is the demo bank's top-level speech menu as issue 4 lists it.
// Choice names are the words a flow author would use; the benchmark only
// compares them, so they need not be the DTMF keys of the demo flow.
var menuChoices = []speech.Choice{
	{Name: "cards", Phrases: []string{"cards", "card"}},
	{Name: "lost_card", Phrases: []string{"lost card", "stolen card", "i lost my card"}},
	{Name: "balance", Phrases: []string{"balance", "accounts", "account balance"}},
	{Name: "agent", Phrases: []string{"agent", "talk to an agent", "representative", "operator"}},
}

var yesNoChoices = []speech.Choice{
	{Name: "yes", Phrases: []string{"yes", "yeah", "yes please", "correct"}},
	{Name: "no", Phrases: []string{"no", "nope", "no thanks"}},
}

// Grammar returns the grammar items named name are recognized against.
func Grammar(name string) (speech.Grammar, bool) {
	switch name {
	case GrammarMenu:
		return speech.Grammar{Choices: cloneChoices(menuChoices)}, true
	case GrammarDigits:
		// Account numbers and PINs: 3 to 8 digits, as a gather step would
		// bound them.
		return speech.Grammar{Digits: true, MinDigits: 3, MaxDigits: 8}, true
	case GrammarYesNo:
		return speech.Grammar{Choices: cloneChoices(yesNoChoices)}, true
	}
	return speech.Grammar{}, false
}

func cloneChoices(cs []speech.Choice) []speech.Choice {
	out := make([]speech.Choice, len(cs))
	for i, c := range cs {
		out[i] = speech.Choice{Name: c.Name, Phrases: append([]string(nil), c.Phrases...)}
	}
	return out
}

// utterance is one text to speak and what recognizing it should give.
type utterance struct {
	text    string
	grammar string
	expect  string // choice name, digit string, or OOG
}

// utterances is every spoken text of the set. Every phrase of every menu
// and yes/no choice is said, so a weak phrase shows up in the per-phrase
// table; out-of-grammar texts mix unrelated sentences with words close to
// menu phrases ("card game"), which is where false accepts come from.
func utterances() []utterance {
	var us []utterance
	for _, c := range menuChoices {
		for _, p := range c.Phrases {
			us = append(us, utterance{p, GrammarMenu, c.Name})
		}
	}
	for _, c := range yesNoChoices {
		for _, p := range c.Phrases {
			if p == "correct" || p == "nope" {
				continue // keep the set small; the short forms cover these
			}
			us = append(us, utterance{p, GrammarYesNo, c.Name})
		}
	}
	for _, d := range []struct{ text, digits string }{
		{"four two seven", "427"},
		{"one two three four", "1234"},
		{"nine oh five", "905"},
		{"eight six five three one", "86531"},
	} {
		us = append(us, utterance{d.text, GrammarDigits, d.digits})
	}
	for _, t := range []string{
		"the weather is nice today",
		"i want pizza",
		"hello",
		"um",
		"what time do you close",
		"can you hear me",
		"my name is john smith",
		"i would like a card game",
	} {
		us = append(us, utterance{t, GrammarMenu, OOG})
	}
	for _, t := range []string{"maybe", "i don't know"} {
		us = append(us, utterance{t, GrammarYesNo, OOG})
	}
	return us
}

// Voice is one TTS engine configuration.
type Voice struct {
	Engine string // espeak, flite, festival
	Name   string // the engine's voice name
	Speed  int    // espeak words per minute; 0: the engine's default
	Pitch  int    // espeak pitch 0-99; 0: default
}

// Family is what reports group by: the engine, since the notes show the
// recognizer's accuracy depends on the engine far more than on the voice.
func (v Voice) Family() string { return v.Engine }

// ID is the voice's part of file names.
func (v Voice) ID() string {
	id := v.Engine + "-" + sanitize(v.Name)
	if v.Speed > 0 {
		id += "-s" + itoa(v.Speed)
	}
	if v.Pitch > 0 {
		id += "-p" + itoa(v.Pitch)
	}
	return id
}

// voices spans the three engines installed on our machines. espeak-ng gets
// more variants because it is cheap, but reports keep it apart: it is a
// poor stand-in for callers (see /work/shared/notes/speech.md).
var voices = []Voice{
	{Engine: "espeak", Name: "en-us", Speed: 160, Pitch: 50},
	{Engine: "espeak", Name: "en", Speed: 175, Pitch: 40},
	{Engine: "espeak", Name: "en-us+f3", Speed: 140, Pitch: 60},
	{Engine: "espeak", Name: "en-us+m3", Speed: 200, Pitch: 35},
	{Engine: "espeak", Name: "en-us+f2", Speed: 180, Pitch: 70},
	{Engine: "flite", Name: "kal"},
	{Engine: "flite", Name: "awb"},
	{Engine: "flite", Name: "rms"},
	{Engine: "flite", Name: "slt"},
	{Engine: "festival", Name: "cmu_us_slt_arctic_hts"},
}

// Voices returns the voices of the set.
func Voices() []Voice { return append([]Voice(nil), voices...) }

// SNRs are the line conditions every utterance is rendered at; 0 means no
// added noise (the µ-law coding noise is always there).
var SNRs = []int{0, 20, 10}

// SNRLabel names an SNR in file names and reports.
func SNRLabel(snr int) string {
	if snr == 0 {
		return "clean"
	}
	return itoa(snr) + "dB"
}
