package ari

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"hotline/internal/testenv"
	"hotline/media"
)

// sndPrompts is a tenant's prompt library.
type sndPrompts map[string]*media.Prompt

func (p sndPrompts) Prompt(name string) (*media.Prompt, bool) {
	pr, ok := p[name]
	return pr, ok
}

// sndFixture is a sound tree whose files have distinct lengths, so a
// loaded prompt tells which file it came from.
type sndFixture struct {
	root    string
	samples map[string]int // "LANG/NAME" or "NAME" (no language) → samples
	next    int
}

func newSndFixture(t *testing.T) *sndFixture {
	return &sndFixture{root: t.TempDir(), samples: map[string]int{}, next: 400}
}

// add writes ROOT/rel.wav (rel like "en/digits/1").
func (f *sndFixture) add(t *testing.T, rel string) {
	t.Helper()
	f.next += 8
	n := f.next
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = int16(3000 * math.Sin(float64(i)*0.3))
	}
	p := filepath.Join(f.root, filepath.FromSlash(rel)+".wav")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, media.EncodeWAV(pcm, 8000), 0o644); err != nil {
		t.Fatal(err)
	}
	f.samples[rel] = n
}

func (f *sndFixture) addAll(t *testing.T, lang string, names ...string) {
	for _, n := range names {
		f.add(t, lang+"/"+n)
	}
}

// englishFixture has what digits:, number: and characters: need in en.
func englishFixture(t *testing.T) *sndFixture {
	f := newSndFixture(t)
	f.addAll(t, "en", "hello-world", "digits/minus", "digits/hundred", "digits/thousand", "digits/million",
		"digits/star", "digits/pound", "letters/at", "letters/dot", "letters/dash", "letters/ascii63")
	for i := range 20 {
		f.add(t, "en/digits/"+strconv.Itoa(i))
	}
	for i := 20; i < 100; i += 10 {
		f.add(t, "en/digits/"+strconv.Itoa(i))
	}
	for c := 'a'; c <= 'z'; c++ {
		f.add(t, "en/letters/"+string(c))
	}
	return f
}

// checkFrom asserts each prompt came from the fixture file named.
func (f *sndFixture) checkFrom(t *testing.T, m Media, rels ...string) {
	t.Helper()
	if len(m.Prompts) != len(rels) {
		t.Fatalf("%d prompts %v, want %d (%v)", len(m.Prompts), m.Names, len(rels), rels)
	}
	for i, rel := range rels {
		if got, want := m.Prompts[i].Samples(), f.samples[rel]; got != want {
			t.Errorf("prompt %d (%s) has %d samples, want %d (%s)", i, m.Names[i], got, want, rel)
		}
	}
}

func TestSoundsDigitsNumberCharacters(t *testing.T) {
	f := englishFixture(t)
	s := NewSounds([]string{f.root})

	m, err := s.Resolve(nil, "digits:123", "en")
	if err != nil {
		t.Fatal(err)
	}
	f.checkFrom(t, m, "en/digits/1", "en/digits/2", "en/digits/3")
	if !slices.Equal(m.Names, []string{"digits/1", "digits/2", "digits/3"}) {
		t.Errorf("names %v", m.Names)
	}
	// Asterisk's SayDigits: * # - are said, other characters skipped.
	m, err = s.Resolve(nil, "digits:1*a#-0", "")
	if err != nil {
		t.Fatal(err)
	}
	f.checkFrom(t, m, "en/digits/1", "en/digits/star", "en/digits/pound", "en/digits/minus", "en/digits/0")

	m, err = s.Resolve(nil, "number:1234", "en")
	if err != nil {
		t.Fatal(err)
	}
	f.checkFrom(t, m, "en/digits/1", "en/digits/thousand", "en/digits/2", "en/digits/hundred", "en/digits/30", "en/digits/4")

	m, err = s.Resolve(nil, "characters:Ab1@.-?", "en")
	if err != nil {
		t.Fatal(err)
	}
	f.checkFrom(t, m, "en/letters/a", "en/letters/b", "en/digits/1", "en/letters/at", "en/letters/dot", "en/letters/dash", "en/letters/ascii63")
	// Characters with no sound are skipped; with none left the playback
	// fails.
	m, err = s.Resolve(nil, "characters:aé", "en")
	if err != nil {
		t.Fatal(err)
	}
	f.checkFrom(t, m, "en/letters/a")
	if _, err := s.Resolve(nil, "characters:é", "en"); !errors.Is(err, ErrSoundNotFound) {
		t.Errorf("characters:é: %v", err)
	}
	// digits: without a digit plays nothing and completes, as in Asterisk.
	if m, err := s.Resolve(nil, "digits:abc", "en"); err != nil || len(m.Prompts) != 0 {
		t.Errorf("digits:abc = %v, %v", m.Names, err)
	}
}

func TestSoundsSayNumber(t *testing.T) {
	for n, want := range map[int64]string{
		0:         "0",
		7:         "7",
		13:        "13",
		20:        "20",
		42:        "40 2",
		100:       "1 hundred",
		101:       "1 hundred 1",
		115:       "1 hundred 15",
		999:       "9 hundred 90 9",
		1000:      "1 thousand",
		1001:      "1 thousand 1",
		1234:      "1 thousand 2 hundred 30 4",
		20000:     "20 thousand",
		110011:    "1 hundred 10 thousand 11",
		1000000:   "1 million",
		1234567:   "1 million 2 hundred 30 4 thousand 5 hundred 60 7",
		-5:        "minus 5",
		-1000:     "minus 1 thousand",
		999999999: "9 hundred 90 9 million 9 hundred 90 9 thousand 9 hundred 90 9",
	} {
		names, ok := sayNumber(n)
		if !ok {
			t.Errorf("sayNumber(%d) refused", n)
			continue
		}
		var words []string
		for _, nm := range names {
			words = append(words, strings.TrimPrefix(nm, "digits/"))
		}
		if got := strings.Join(words, " "); got != want {
			t.Errorf("sayNumber(%d) = %q, want %q", n, got, want)
		}
	}
	for _, n := range []int64{1_000_000_000, -1_000_000_000, math.MinInt64, math.MaxInt64} {
		if _, ok := sayNumber(n); ok {
			t.Errorf("sayNumber(%d) accepted", n)
		}
	}
}

func TestSoundsTenantPromptFirst(t *testing.T) {
	f := englishFixture(t)
	s := NewSounds([]string{f.root})
	own := media.NewPromptPCM(make([]int16, 1234))
	tenant := sndPrompts{"hello-world": own, "welcome": own}

	m, err := s.Resolve(tenant, "sound:hello-world", "en")
	if err != nil || len(m.Prompts) != 1 || m.Prompts[0] != own {
		t.Fatalf("tenant override: %v %v", m.Names, err)
	}
	if m, err := s.Resolve(tenant, "sound:welcome", "fr"); err != nil || m.Prompts[0] != own {
		t.Fatalf("tenant-only prompt: %v", err)
	}
	// Another tenant (or none) gets the core sound; loads are cached.
	m1, err := s.Resolve(sndPrompts{}, "sound:hello-world", "en")
	if err != nil {
		t.Fatal(err)
	}
	f.checkFrom(t, m1, "en/hello-world")
	m2, err := s.Resolve(nil, "sound:hello-world", "")
	if err != nil || m2.Prompts[0] != m1.Prompts[0] {
		t.Fatalf("second load not cached: %v", err)
	}
	// Digits are core sounds whatever the tenant has.
	tenant["digits/1"] = own
	if m, _ := s.Resolve(tenant, "digits:1", "en"); m.Prompts[0] == own {
		t.Error("digits: used a tenant prompt")
	}
}

func TestSoundsLanguages(t *testing.T) {
	f := englishFixture(t)
	f.add(t, "fr/digits/1")
	f.add(t, "fr_CA/digits/2")
	f.add(t, "beep") // ROOT/NAME: no language
	f.add(t, "en/beep")
	s := NewSounds([]string{f.root})

	// fr_CA: own file, then fr (dialect removed), then en.
	m, err := s.Resolve(nil, "digits:123", "fr_CA")
	if err != nil {
		t.Fatal(err)
	}
	f.checkFrom(t, m, "fr/digits/1", "fr_CA/digits/2", "en/digits/3")
	// An unknown language falls back to en.
	m, err = s.Resolve(nil, "sound:hello-world", "de")
	if err != nil {
		t.Fatal(err)
	}
	f.checkFrom(t, m, "en/hello-world")
	// Without a language before en, as Asterisk's fileexists_core.
	m, err = s.Resolve(nil, "sound:beep", "de")
	if err != nil {
		t.Fatal(err)
	}
	f.checkFrom(t, m, "beep")
	m, err = s.Resolve(nil, "sound:beep", "en")
	if err != nil {
		t.Fatal(err)
	}
	f.checkFrom(t, m, "en/beep")
	// A language that is not a plain name is en.
	if _, err := s.Resolve(nil, "sound:hello-world", "../../etc"); err != nil {
		t.Errorf("odd language: %v", err)
	}

	// Debian: only en_US_f_Allison, no en link. en finds it.
	d := newSndFixture(t)
	d.add(t, "en_US_f_Allison/hello-world")
	d.add(t, "en_US_f_Allison/digits/7")
	ds := NewSounds([]string{d.root})
	m, err = ds.Resolve(nil, "sound:hello-world", "en")
	if err != nil {
		t.Fatal(err)
	}
	d.checkFrom(t, m, "en_US_f_Allison/hello-world")
	if m, err = ds.Resolve(nil, "digits:7", "it"); err != nil {
		t.Fatal(err)
	}
	d.checkFrom(t, m, "en_US_f_Allison/digits/7")

	// Several roots: the language order comes first, then the roots.
	g := newSndFixture(t)
	g.add(t, "fr/hello-world")
	gs := NewSounds([]string{g.root, f.root})
	if m, err = gs.Resolve(nil, "sound:hello-world", "fr"); err != nil || m.Prompts[0].Samples() != g.samples["fr/hello-world"] {
		t.Errorf("second root: %v", err)
	}
	if m, err = gs.Resolve(nil, "sound:hello-world", "en"); err != nil || m.Prompts[0].Samples() != f.samples["en/hello-world"] {
		t.Errorf("en from the second root: %v", err)
	}
}

func TestSoundsRawFormats(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "en"), 0o755); err != nil {
		t.Fatal(err)
	}
	sln := make([]byte, 2*800)
	for i := range 800 {
		binary.LittleEndian.PutUint16(sln[2*i:], uint16(int16(1000*math.Sin(float64(i)))))
	}
	ulaw := make([]byte, 480)
	media.EncodePCMU(ulaw, make([]int16, 480))
	for name, b := range map[string][]byte{"en/a.sln": sln, "en/b.ulaw": ulaw, "en/c.alaw": ulaw[:320], "en/d.gsm": {1, 2, 3}} {
		if err := os.WriteFile(filepath.Join(root, filepath.FromSlash(name)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := NewSounds([]string{root})
	for name, n := range map[string]int{"a": 800, "b": 480, "c": 320} {
		m, err := s.Resolve(nil, "sound:"+name, "en")
		if err != nil || m.Prompts[0].Samples() != n {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := s.Resolve(nil, "sound:d", "en"); !errors.Is(err, ErrSoundNotFound) {
		t.Errorf("gsm (not playable): %v", err)
	}
	got, ok := s.Get("a")
	if !ok || !slices.Equal(got.Formats, []FormatLangPair{{"en", "slin"}}) {
		t.Errorf("Get(a) = %+v", got)
	}
	if got, _ := s.Get("b"); !slices.Equal(got.Formats, []FormatLangPair{{"en", "ulaw"}}) {
		t.Errorf("Get(b) = %+v", got)
	}
	if _, ok := s.Get("d"); ok {
		t.Error("a gsm file is listed")
	}
}

func TestSoundsTone(t *testing.T) {
	s := NewSounds([]string{t.TempDir()})
	for uri, want := range map[string]string{
		"tone:busy;tonezone=uk":        "400/375,0/375",
		"tone:ring":                    "440+480/2000,0/4000",
		"tone:RING;tonezone=FR":        "440/1500,0/3500",
		"tone:ring;tonezone=zz":        "440+480/2000,0/4000", // unknown zone: the default
		"tone:info;tonezone=fr":        "!950/330,!1400/330,!1800/330",
		"tone:425/500|0/500":           "425/500,0/500",
		"tone:!950/330|!1400/330|0":    "!950/330,!1400/330,0",
		"tone:callwaiting;tonezone=de": "!425/200,!0/200,!425/200,!0/5000,!425/200,!0/200,!425/200,!0/5000,!425/200,!0/200,!425/200,!0/5000,!425/200,!0/200,!425/200,!0/5000,!425/200,!0/200,!425/200,0",
	} {
		m, err := s.Resolve(nil, uri, "en")
		if err != nil {
			t.Errorf("%s: %v", uri, err)
			continue
		}
		if m.Tone == nil || m.ToneSpec == nil || len(m.Prompts) != 0 {
			t.Errorf("%s: %+v", uri, m)
			continue
		}
		if got := m.ToneSpec.String(); got != want {
			t.Errorf("%s = %q, want %q", uri, got, want)
		}
	}

	// The UK busy tone plays: 375 ms of 400 Hz, then silence.
	m, err := s.Resolve(nil, "tone:busy;tonezone=uk", "")
	if err != nil {
		t.Fatal(err)
	}
	var fr [160]int16
	var on, off int
	for i := range 37 { // 740 ms
		m.Tone.ReadFrame(fr[:])
		var peak int16
		for _, v := range fr {
			peak = max(peak, v, -v)
		}
		switch {
		case i < 18 && peak > 5000:
			on++
		case i >= 19 && peak == 0:
			off++
		}
	}
	if on != 18 || off != 18 {
		t.Errorf("uk busy cadence: %d frames on, %d off", on, off)
	}
	if _, ok := m.Tone.(interface{ Done() <-chan struct{} }); !ok {
		t.Error("tone has no Done")
	}

	// The default zone can be changed.
	s.ToneZone = "fr"
	if m, err := s.Resolve(nil, "tone:busy", ""); err != nil || m.ToneSpec.String() != "440/500,0/500" {
		t.Errorf("ToneZone fr: %v", err)
	}
}

func TestSoundsErrors(t *testing.T) {
	f := englishFixture(t)
	s := NewSounds([]string{f.root})
	for uri, want := range map[string]error{
		"foo:bar":                     ErrMediaScheme,
		"hello-world":                 ErrMediaScheme,
		"recording:mine":              ErrMediaScheme,
		"http://x/y.wav":              ErrMediaScheme,
		"Sound:hello-world":           ErrMediaScheme,
		"sound:":                      ErrMediaURI,
		"digits:":                     ErrMediaURI,
		"sound:../en/hello-world":     ErrMediaURI,
		"sound:/etc/passwd":           ErrMediaURI,
		"sound:digits//1":             ErrMediaURI,
		"sound:digits/./1":            ErrMediaURI,
		"number:abc":                  ErrMediaURI,
		"number:12abc":                ErrMediaURI,
		"number:1000000000":           ErrMediaURI,
		"number:99999999999999999999": ErrMediaURI,
		"tone:":                       ErrMediaURI,
		"tone:ring;foo=bar":           ErrMediaURI,
		"tone:ring;tonezone=":         ErrMediaURI,
		"tone:440+":                   ErrMediaURI,
		"tone:!440/x":                 ErrMediaURI,
		"sound:no-such-sound":         ErrSoundNotFound,
		"sound:digits/nope":           ErrSoundNotFound,
		"tone:nosuchtone":             ErrSoundNotFound,
		"tone:specialdial":            ErrSoundNotFound, // only the uk zone has it
	} {
		_, err := s.Resolve(nil, uri, "en")
		if !errors.Is(err, want) {
			t.Errorf("Resolve(%q) error %v, want %v", uri, err, want)
		}
	}
	// Only missing sounds in a sequence: the playback fails.
	empty := NewSounds([]string{t.TempDir()})
	for _, uri := range []string{"digits:12", "number:5", "characters:ab"} {
		if _, err := empty.Resolve(nil, uri, "en"); !errors.Is(err, ErrSoundNotFound) {
			t.Errorf("%s without sounds: %v", uri, err)
		}
	}
	// A corrupt file fails too (not a malformed URI).
	if err := os.WriteFile(filepath.Join(f.root, "en", "bad.wav"), []byte("RIFF....WAVEjunk"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Resolve(nil, "sound:bad", "en"); !errors.Is(err, ErrSoundNotFound) {
		t.Errorf("corrupt file: %v", err)
	}
}

func TestSoundsCacheBounded(t *testing.T) {
	f := englishFixture(t)
	s := NewSounds([]string{f.root})
	for _, uri := range []string{"digits:0123456789", "characters:abcdefghij"} {
		if _, err := s.Resolve(nil, uri, "en"); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := s.cache.stats(); n != 20 {
		t.Fatalf("%d cached, want 20", n)
	}
	// Room for about three fixture files.
	limit := int64(3 * (f.samples["en/letters/j"]*4 + 128))
	s.SetCacheBytes(limit)
	if n, b := s.cache.stats(); n == 0 || b > limit {
		t.Fatalf("after shrinking: %d entries, %d bytes", n, b)
	}
	if _, err := s.Resolve(nil, "digits:9876543210", "en"); err != nil {
		t.Fatal(err)
	}
	if n, b := s.cache.stats(); n == 0 || n > 4 || b > limit {
		t.Fatalf("bound exceeded: %d entries, %d bytes", n, b)
	}
	// The most recently used stays.
	m1, _ := s.Resolve(nil, "digits:0", "en")
	m2, _ := s.Resolve(nil, "digits:0", "en")
	if m1.Prompts[0] != m2.Prompts[0] {
		t.Error("most recent entry evicted")
	}
	s.Refresh()
	if n, _ := s.cache.stats(); n != 0 {
		t.Error("Refresh kept the cache")
	}
}

func sndHandlers(s *Sounds) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ari/sounds", s.handleList)
	mux.HandleFunc("GET /ari/sounds/{soundId...}", s.handleGet)
	return mux
}

func sndGet(t *testing.T, h http.Handler, path string, out any) int {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q", path, ct)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
		t.Fatalf("%s: %v: %s", path, err, rec.Body)
	}
	return rec.Code
}

func TestSoundsHandlers(t *testing.T) {
	f := englishFixture(t)
	f.add(t, "fr/digits/1")
	f.add(t, "beep") // not in a language directory: playable, not listed
	desc := "; Core Asterisk Sounds in English\nhello-world: Hello world.\ndigits/1: one\nlong: first line\nsecond line\n"
	if err := os.WriteFile(filepath.Join(f.root, "en", "core-sounds-en.txt"), []byte(desc), 0o644); err != nil {
		t.Fatal(err)
	}
	s := NewSounds([]string{f.root})
	h := sndHandlers(s)

	var all []Sound
	if code := sndGet(t, h, "/ari/sounds", &all); code != 200 {
		t.Fatalf("list: %d", code)
	}
	if want := len(f.samples) - 2; len(all) != want { // every file but beep, digits/1 once
		t.Errorf("%d sounds, want %d", len(all), want)
	}
	ids := make([]string, len(all))
	for i, snd := range all {
		ids[i] = snd.ID
	}
	if !slices.IsSorted(ids) || slices.Contains(ids, "beep") || slices.Contains(ids, "core-sounds-en") {
		t.Errorf("ids %v", ids)
	}
	var one Sound
	if code := sndGet(t, h, "/ari/sounds/digits/1", &one); code != 200 {
		t.Fatalf("get digits/1: %d", code)
	}
	want := Sound{ID: "digits/1", Text: "one", Formats: []FormatLangPair{{"en", "slin"}, {"fr", "slin"}}}
	if one.ID != want.ID || one.Text != want.Text || !slices.Equal(one.Formats, want.Formats) {
		t.Errorf("digits/1 = %+v, want %+v", one, want)
	}
	if code := sndGet(t, h, "/ari/sounds/hello-world", &one); code != 200 || one.Text != "Hello world." {
		t.Errorf("hello-world: %d %+v", code, one)
	}

	var fr []Sound
	if code := sndGet(t, h, "/ari/sounds?lang=fr", &fr); code != 200 || len(fr) != 1 || fr[0].ID != "digits/1" ||
		!slices.Equal(fr[0].Formats, []FormatLangPair{{"fr", "slin"}}) {
		t.Errorf("lang=fr: %d %+v", code, fr)
	}
	var slin []Sound
	if code := sndGet(t, h, "/ari/sounds?lang=en&format=slin", &slin); code != 200 || len(slin) != len(all) {
		t.Errorf("format=slin: %d, %d sounds", code, len(slin))
	}
	var msg map[string]string
	if code := sndGet(t, h, "/ari/sounds?format=gsm", &msg); code != 404 || msg["message"] != "No sounds found that matched the query" {
		t.Errorf("no match: %d %v", code, msg)
	}
	if code := sndGet(t, h, "/ari/sounds/no/such", &msg); code != 404 || msg["message"] != "Sound not found" {
		t.Errorf("missing sound: %d %v", code, msg)
	}
	if code := sndGet(t, h, "/ari/sounds/beep", &msg); code != 404 {
		t.Errorf("beep: %d", code)
	}
	// The JSON is Asterisk's shape.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/ari/sounds/digits/2", nil))
	if got := strings.TrimSpace(rec.Body.String()); got != `{"id":"digits/2","formats":[{"language":"en","format":"slin"}]}` {
		t.Errorf("body %s", got)
	}

	// The index is built once: a new file shows after Refresh.
	f.add(t, "en/new-sound")
	if _, ok := s.Get("new-sound"); ok {
		t.Error("index rebuilt on every call")
	}
	s.Refresh()
	if _, ok := s.Get("new-sound"); !ok {
		t.Error("Refresh did not rebuild the index")
	}
}

// coreSounds returns the installed Asterisk core sounds (scripts/deps.sh
// installs asterisk-core-sounds-en-wav), skipping outside CI when absent.
func coreSounds(t *testing.T) *Sounds {
	t.Helper()
	s := NewSounds(nil)
	if s.find("hello-world", "en") == "" {
		testenv.Missing(t, "Asterisk core sounds missing under %s (scripts/deps.sh installs asterisk-core-sounds-en-wav)", DefaultSoundsDir)
	}
	return s
}

func TestSoundsCoreInstalled(t *testing.T) {
	s := coreSounds(t)
	m, err := s.Resolve(nil, "sound:hello-world", "en")
	if err != nil {
		t.Fatal(err)
	}
	if d := m.Prompts[0].Duration(); d < 500e6 || d > 3e9 {
		t.Errorf("hello-world lasts %v", d)
	}
	// French is not installed: English, as Asterisk falls back.
	if fr, err := s.Resolve(nil, "sound:hello-world", "fr"); err != nil || fr.Prompts[0] != m.Prompts[0] {
		t.Errorf("fr fallback: %v", err)
	}
	if m, err = s.Resolve(nil, "digits:123", "en"); err != nil || len(m.Prompts) != 3 {
		t.Fatalf("digits:123: %v %v", m.Names, err)
	}
	m, err = s.Resolve(nil, "number:1234", "en")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"digits/1", "digits/thousand", "digits/2", "digits/hundred", "digits/30", "digits/4"}; !slices.Equal(m.Names, want) {
		t.Errorf("number:1234 = %v, want %v", m.Names, want)
	}
	m, err = s.Resolve(nil, "characters:Hi!?", "en")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"letters/h", "letters/i", "letters/exclaimation-point", "letters/ascii63"}; !slices.Equal(m.Names, want) {
		t.Errorf("characters:Hi!? = %v, want %v", m.Names, want)
	}
	if _, err := s.Resolve(nil, "sound:no-such-sound-here", "en"); !errors.Is(err, ErrSoundNotFound) {
		t.Errorf("missing: %v", err)
	}

	snd, ok := s.Get("digits/1")
	if !ok || !slices.Contains(snd.Formats, FormatLangPair{"en", "slin"}) {
		t.Errorf("Get(digits/1) = %+v, %v", snd, ok)
	}
	list := s.List("en", "slin")
	if len(list) < 300 {
		t.Errorf("only %d English sounds listed", len(list))
	}
	var h Sound
	if code := sndGet(t, sndHandlers(s), "/ari/sounds/hello-world", &h); code != 200 || h.ID != "hello-world" {
		t.Errorf("GET hello-world: %d %+v", code, h)
	}
}

func TestSoundsConcurrent(t *testing.T) {
	f := englishFixture(t)
	s := NewSounds([]string{f.root})
	s.SetCacheBytes(int64(10 * (f.samples["en/letters/z"]*4 + 128))) // evictions too
	done := make(chan error)
	for g := range 8 {
		go func() {
			var err error
			for i := range 50 {
				uris := []string{"digits:" + strconv.Itoa(g*1000+i), "number:" + strconv.Itoa(i*37), "characters:ab" + strconv.Itoa(i), "sound:hello-world", "tone:busy"}
				for _, u := range uris {
					if _, e := s.Resolve(nil, u, "en"); e != nil && err == nil {
						err = e
					}
				}
				if len(s.List("en", "")) == 0 {
					err = errors.New("empty list")
				}
				if i == 25 && g == 0 {
					s.Refresh()
				}
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
