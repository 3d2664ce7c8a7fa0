// Package assistbench measures agent assist on generated telephone speech:
// the transcript's word error rate, the caller's intent and the top
// knowledge card from recognized questions, checklist ticks over two-party
// conversations against hand labels, a tenant's own terms recognized with
// and without its vocabulary, and how many transcribed calls a core
// carries. The speech comes from bench/speechset's voices and telephone
// line; Asterisk's core sounds stay out of it (see the speech notes).
package assistbench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"hotline/bench/speechset"
)

// setVersion changes whenever the texts or voices change, so a cached
// set is regenerated.
const setVersion = 1

// Voices: flite's four and festival's HTS voice are the ones judged; the
// espeak-ng voice is reported apart (a poor stand-in for callers).
var (
	voiceKal      = speechset.Voice{Engine: "flite", Name: "kal"}
	voiceAwb      = speechset.Voice{Engine: "flite", Name: "awb"}
	voiceRms      = speechset.Voice{Engine: "flite", Name: "rms"}
	voiceSlt      = speechset.Voice{Engine: "flite", Name: "slt"}
	voiceHTS      = speechset.Voice{Engine: "festival", Name: "cmu_us_slt_arctic_hts"}
	voiceEspeak   = speechset.Voice{Engine: "espeak", Name: "en-us", Speed: 160, Pitch: 50}
	voiceEspeakF3 = speechset.Voice{Engine: "espeak", Name: "en-us+f3", Speed: 150, Pitch: 60}

	questionVoices = []speechset.Voice{voiceKal, voiceAwb, voiceRms, voiceSlt, voiceHTS, voiceEspeak}
	// Conversation pairs: caller, agent.
	pairs = [][2]speechset.Voice{{voiceKal, voiceSlt}, {voiceAwb, voiceRms}, {voiceHTS, voiceKal}, {voiceEspeak, voiceEspeakF3}}
)

func voiceID(v speechset.Voice) string {
	if v.Engine == "festival" {
		return "festival-hts"
	}
	return v.ID()
}

// question is one labelled caller question of the demo bank.
type question struct {
	Article string // the article that answers it
	Text    string
}

// loadQuestions reads assist/testdata/paraphrases.tsv (article TAB text).
func loadQuestions(path string) ([]question, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("questions: %w", err)
	}
	defer f.Close()
	var out []question
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		a, t, ok := strings.Cut(l, "\t")
		if !ok {
			return nil, fmt.Errorf("questions: %s: no tab in %q", path, l)
		}
		out = append(out, question{Article: a, Text: t})
	}
	return out, sc.Err()
}

// turn is one line of a scripted conversation.
type turn struct {
	Agent bool
	Text  string
}

// conversation is a scripted call with its hand labels: the caller's
// intent, the article that answers it, the checklist the call should get
// ("" for none) and the steps its script does.
type conversation struct {
	ID        string
	Intent    string
	Article   string
	Checklist string
	Ticks     []string
	Turns     []turn
}

func c(text string) turn { return turn{Text: text} }
func a(text string) turn { return turn{Agent: true, Text: text} }

// conversations are lost-card, change-of-address and balance calls.
// Some skip steps on purpose, so a tick where none is due counts against
// precision.
var conversations = []conversation{
	{ID: "lost-1", Intent: "lost_card", Article: "block-card", Checklist: "lost-card",
		Ticks: []string{"verify-identity", "block-card", "check-transactions", "offer-replacement", "confirm-address"},
		Turns: []turn{
			c("hi i think i have lost my debit card i can't find it anywhere"),
			a("i'm sorry to hear that can i take your date of birth please"),
			c("it's the fourteenth of march nineteen eighty two"),
			a("thank you i have blocked the card so nobody can use it"),
			c("okay thank you"),
			a("can you see any recent transactions you don't recognize"),
			c("no they all look fine to me"),
			a("i will send you a replacement card do you still live at the same address"),
			c("yes the same address as before"),
		}},
	{ID: "lost-2", Intent: "lost_card", Article: "block-card", Checklist: "lost-card",
		Ticks: []string{"verify-identity", "block-card", "offer-replacement"},
		Turns: []turn{
			c("my wallet was stolen on the bus this morning and my credit card was in it"),
			a("i can help with that first can you confirm your date of birth"),
			c("the second of july nineteen seventy five"),
			a("thanks the card is now blocked"),
			c("great thank you"),
			a("we will send you a new card within five working days"),
			c("that's fine"),
		}},
	{ID: "lost-3", Intent: "lost_card", Article: "block-card", Checklist: "lost-card",
		Ticks: []string{"block-card", "check-transactions", "offer-replacement", "confirm-address"},
		Turns: []turn{
			c("hello i need to block my card i left it in a taxi last night"),
			a("no problem i have blocked the card now"),
			c("thanks"),
			a("let's go through the last transactions do you recognize a payment of twenty pounds at a petrol station"),
			c("yes that was me"),
			a("good shall i send a replacement card to your address at home"),
			c("yes please"),
		}},
	{ID: "lost-4", Intent: "lost_card", Article: "block-card", Checklist: "lost-card",
		Ticks: []string{"verify-identity", "block-card"},
		Turns: []turn{
			c("somebody stole my purse and my visa card is gone"),
			a("i am sorry when were you born please"),
			c("the twentieth of november nineteen ninety"),
			a("thank you i will cancel the card right away"),
			c("thank you very much"),
			a("is there anything else i can help you with today"),
			c("no that's everything"),
		}},
	{ID: "address-1", Intent: "change_address", Article: "change-address", Checklist: "change-address",
		Ticks: []string{"verify-identity", "take-new-address", "read-back", "tell-cards"},
		Turns: []turn{
			c("hello i have moved house and i need to change my address"),
			a("of course can you tell me your date of birth"),
			c("the third of may nineteen sixty eight"),
			a("thank you what is the new address"),
			c("twelve oak street in leeds"),
			a("let me confirm that twelve oak street leeds is that correct"),
			c("yes that's right"),
			a("your cards will go to the new address from now on"),
			c("perfect thanks"),
		}},
	{ID: "address-2", Intent: "change_address", Article: "change-address", Checklist: "change-address",
		Ticks: []string{"verify-identity", "take-new-address", "tell-cards"},
		Turns: []turn{
			c("i'm moving to a new flat next week and want to update my address"),
			a("sure what is your date of birth"),
			c("the ninth of august nineteen eighty"),
			a("and where do you live now"),
			c("forty two station road manchester"),
			a("done your statements will go to the new address"),
			c("lovely thank you"),
		}},
	{ID: "address-3", Intent: "change_address", Article: "change-address", Checklist: "change-address",
		Ticks: []string{"take-new-address", "read-back"},
		Turns: []turn{
			c("can you update my home address please i have relocated"),
			a("what is the new address"),
			c("seven park lane in london"),
			a("seven park lane london is that correct"),
			c("yes"),
		}},
	{ID: "balance-1", Intent: "balance", Article: "balance-enquiry",
		Turns: []turn{
			c("hi could you tell me how much money i have in my current account"),
			a("of course can i take your date of birth first"),
			c("the first of june nineteen seventy"),
			a("thanks your available balance is four hundred and twenty pounds"),
			c("great thank you bye"),
		}},
	{ID: "balance-2", Intent: "balance", Article: "balance-enquiry",
		Turns: []turn{
			c("what is the balance on my savings account"),
			a("your balance is two thousand pounds"),
			c("and has my salary been paid in yet"),
			a("yes it arrived yesterday"),
			c("thanks"),
		}},
	{ID: "balance-3", Intent: "balance", Article: "balance-enquiry",
		Turns: []turn{
			c("i would like to check my account balance please"),
			a("sure the balance today is one hundred and five pounds"),
			c("okay thank you"),
		}},
}

// termSentence is a caller sentence of the insurer with the tenant terms
// it says and the article that answers it.
type termSentence struct {
	Article string
	Terms   []string
	Text    string
}

var termSentences = []termSentence{
	{"policy-endorsement", []string{"endorsement"}, "i need an endorsement to add my son as a named driver"},
	{"policy-endorsement", []string{"endorsement"}, "has the endorsement for my new car been issued yet"},
	{"surrender-value", []string{"surrender value", "evergreen life plan"}, "what is the surrender value of my evergreen life plan"},
	{"surrender-value", []string{"surrender value"}, "i would like to know the surrender value before i cash it in"},
	{"no-claims-bonus", []string{"no claims bonus"}, "how many years of no claims bonus do i have"},
	{"no-claims-bonus", []string{"no claims bonus", "horizon motor"}, "will i lose my no claims bonus on horizon motor if i claim"},
	{"policy-excess", []string{"excess"}, "how much is the excess on my policy"},
	{"policy-excess", []string{"voluntary excess", "premium"}, "if i raise the voluntary excess does my premium go down"},
	{"make-a-claim", []string{"loss adjuster"}, "when will the loss adjuster come to see the damage"},
	{"make-a-claim", []string{"horizon motor"}, "i had an accident and i'm insured with horizon motor"},
	{"guardian-income", []string{"guardian income", "annuity"}, "when is my guardian income annuity paid this month"},
	{"guardian-income", []string{"beneficiary"}, "i want to change the beneficiary on my policy"},
	{"cooling-off", []string{"cooling off period"}, "am i still in the cooling off period for my new policy"},
	{"meridian-travel", []string{"meridian travel"}, "does meridian travel cover me for skiing"},
	{"meridian-travel", []string{"medical cover"}, "what medical cover do i have when i travel to spain"},
	{"sterling-home", []string{"sterling home", "accidental damage"}, "does sterling home include accidental damage"},
	{"sterling-home", []string{"contents cover"}, "i want to increase my contents cover"},
	{"renewal-premium", []string{"premium", "renewal"}, "why has my premium gone up at renewal"},
	{"renewal-premium", []string{"direct debit"}, "can i pay by direct debit every month"},
	{"policy-excess", []string{"underwriting"}, "who decides the compulsory excess is it underwriting"},
}

// renderings maps a (voice, text) to its 8 kHz rendering on disk.
type renderings struct {
	dir   string
	mu    sync.Mutex
	cache map[string][]int16
	files map[string]string
}

type setManifest struct {
	Version int               `json:"version"`
	Files   map[string]string `json:"files"` // voice|text -> file under raw/
}

func key(v speechset.Voice, text string) string { return voiceID(v) + "|" + text }

// ensureSet renders every (voice, text) the benchmark uses into dir once;
// the line conditions (noise, µ-law) are applied when the audio is read,
// seeded, so they are the same every run.
func ensureSet(ctx context.Context, dir string, qs []question, logf func(string, ...any)) (*renderings, error) {
	r := &renderings{dir: dir, cache: map[string][]int16{}}
	mpath := filepath.Join(dir, "manifest.json")
	var m setManifest
	if b, err := os.ReadFile(mpath); err == nil && json.Unmarshal(b, &m) == nil && m.Version == setVersion {
		r.files = m.Files
		return r, nil
	}
	raw := filepath.Join(dir, "raw")
	tmp := filepath.Join(dir, "tmp")
	for _, d := range []string{raw, tmp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("assistset: %w", err)
		}
	}
	want := map[string]speechset.RenderJob{}
	add := func(v speechset.Voice, text string) {
		k := key(v, text)
		if _, ok := want[k]; !ok {
			want[k] = speechset.RenderJob{Voice: v, Text: text, Out: filepath.Join(tmp, fmt.Sprintf("%05d.wav", len(want)))}
		}
	}
	for _, v := range questionVoices {
		for _, q := range qs {
			add(v, q.Text)
		}
		for _, s := range termSentences {
			add(v, s.Text)
		}
	}
	for _, p := range pairs {
		for _, cv := range conversations {
			for _, t := range cv.Turns {
				v := p[0]
				if t.Agent {
					v = p[1]
				}
				add(v, t.Text)
			}
		}
	}
	jobs := make([]speechset.RenderJob, 0, len(want))
	for _, j := range want {
		jobs = append(jobs, j)
	}
	logf("assistset: rendering %d texts into %s", len(jobs), dir)
	if err := speechset.RenderAll(ctx, jobs, 0); err != nil {
		return nil, err
	}
	m = setManifest{Version: setVersion, Files: map[string]string{}}
	for k, j := range want {
		// Stored at 8 kHz: what the line would carry before noise and
		// coding, a quarter of the TTS engines' own rate.
		pcm, err := speechset.ReadPCM(j.Out)
		if err != nil {
			return nil, fmt.Errorf("assistset: %s: %w", k, err)
		}
		name := filepath.Base(j.Out)
		if err := speechset.WriteWAV(filepath.Join(raw, name), pcm); err != nil {
			return nil, err
		}
		m.Files[k] = name
	}
	os.RemoveAll(tmp)
	b, _ := json.MarshalIndent(m, "", " ")
	if err := os.WriteFile(mpath, b, 0o644); err != nil {
		return nil, fmt.Errorf("assistset: %w", err)
	}
	r.files = m.Files
	return r, nil
}

// pcm returns the 8 kHz rendering of text by v.
func (r *renderings) pcm(v speechset.Voice, text string) ([]int16, error) {
	k := key(v, text)
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.cache[k]; ok {
		return p, nil
	}
	name, ok := r.files[k]
	if !ok {
		return nil, fmt.Errorf("assistset: %s not rendered (delete %s to regenerate)", k, r.dir)
	}
	p, err := speechset.ReadPCM(filepath.Join(r.dir, "raw", name))
	if err != nil {
		return nil, err
	}
	r.cache[k] = p
	return p, nil
}
