package ari

import (
	"bufio"
	"container/list"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"hotline/call"
	"hotline/media"
)

// The sound library: what ARI's media URIs sound:, digits:, number:,
// characters: and tone: play, and the data of the /sounds resource.
//
// Core sounds live as Asterisk lays them out: ROOT/LANG/NAME.EXT (NAME may
// have directories: digits/1, letters/a) and ROOT/NAME.EXT for sounds
// without a language. A name is looked up as Asterisk's fileexists_core
// does: in the requested language, then that language with its "_"
// suffixes removed one by one (en_GB_x, en_GB, en), then without a
// language, then in "en". Debian's asterisk-core-sounds-en-wav installs
// the English sounds in en_US_f_Allison and leaves the "en" link to
// asterisk-core-sounds-en (an update-alternatives symlink); so that the
// package alone is enough, a language whose directory is missing uses the
// first directory named LANG_* (en → en_US_f_Allison).

// DefaultSoundsDir is where Debian's asterisk-core-sounds-* packages
// install the core sounds.
const DefaultSoundsDir = "/usr/share/asterisk/sounds"

// DefaultSoundsCacheBytes bounds the memory of loaded sounds (PCM plus
// both G.711 encodings, 4 bytes a sample): 64 MB is about 4.5 hours of
// audio, several times the whole English core set.
const DefaultSoundsCacheBytes = 64 << 20

// Media URI errors. The REST layer answers 400 for ErrMediaScheme and
// ErrMediaURI; for ErrSoundNotFound Asterisk accepts the play and the
// playback ends as failed.
var (
	// ErrMediaScheme: the scheme is not one Sounds plays. recording: is
	// reported so too: stored recordings are the recordings resource's.
	ErrMediaScheme = errors.New("unsupported media URI scheme")
	// ErrMediaURI: the URI is malformed (empty, a name escaping the sound
	// directories, a number that is not one, a bad tone URI).
	ErrMediaURI = errors.New("malformed media URI")
	// ErrSoundNotFound: the sound does not exist (or cannot be played).
	ErrSoundNotFound = errors.New("sound not found")
)

// Media is what one media URI plays: Prompts in turn, or (tone: only) a
// Tone. A digits: URI without a single digit has neither: the playback
// completes at once, as in Asterisk.
type Media struct {
	Prompts []*media.Prompt
	// Names are the sounds of Prompts, in order ("hello-world",
	// "digits/1"; a tenant prompt by its name).
	Names []string
	// Tone is a *media.ToneSource, set only for tone:. It has Done and
	// Stop. It ends by itself only for a tone list whose parts all carry
	// "!" (a French "info" tone, say); Asterisk then keeps the playback
	// playing, silent, until it is stopped.
	Tone media.Source
	// ToneSpec is the tone Tone plays, to start it again (restart).
	ToneSpec *media.ToneSpec
}

// Sound is Asterisk's Sound model (GET /sounds).
type Sound struct {
	ID      string           `json:"id"`
	Text    string           `json:"text,omitempty"`
	Formats []FormatLangPair `json:"formats"`
}

// FormatLangPair is one language and format a sound exists in.
type FormatLangPair struct {
	Language string `json:"language"`
	Format   string `json:"format"`
}

// Sounds is the core sound library of the node, shared by every tenant.
// It is safe for concurrent use.
type Sounds struct {
	roots []string
	// ToneZone is the zone of tone: URIs without (or with an unknown)
	// tonezone; "" is media.DefaultToneZone (us), as in Asterisk's sample
	// configuration. Set it before use.
	ToneZone string

	cache *promptCache

	mu      sync.Mutex
	aliases map[string]map[string]string // root → language → directory name
	index   *soundIndex
}

// soundFormats maps the file extensions Sounds plays to the names Asterisk
// gives their formats (format_wav: wav is slin, wav16 is slin16;
// format_pcm: ulaw and alaw; format_sln: sln is slin), in the order a
// name is looked for.
var soundFormats = []struct{ ext, format string }{
	{"wav", "slin"},
	{"wav16", "slin16"},
	{"sln", "slin"},
	{"ulaw", "ulaw"},
	{"alaw", "alaw"},
}

// NewSounds makes a library over roots, Asterisk sound directories (nil:
// DefaultSoundsDir). Nothing is read until used.
func NewSounds(roots []string) *Sounds {
	if len(roots) == 0 {
		roots = []string{DefaultSoundsDir}
	}
	rs := make([]string, 0, len(roots))
	for _, r := range roots {
		if r != "" {
			rs = append(rs, filepath.Clean(r))
		}
	}
	return &Sounds{roots: rs, cache: newPromptCache(DefaultSoundsCacheBytes)}
}

// SetCacheBytes changes the bound of the loaded-sound cache (<= 0: no
// caching); what no longer fits is dropped.
func (s *Sounds) SetCacheBytes(n int64) { s.cache.setMax(n) }

// Refresh forgets the /sounds index, the language directories and the
// loaded sounds, so files added or changed since are seen.
func (s *Sounds) Refresh() {
	s.mu.Lock()
	s.aliases, s.index = nil, nil
	s.mu.Unlock()
	s.cache.purge()
}

// Resolve turns one ARI media URI into what to play for a tenant whose
// prompts are prompts (nil: none), in language lang ("" is en):
//
//   - sound:NAME — the tenant's prompt NAME, else the core sound NAME;
//   - digits:123*# — each digit (digits/1, digits/star, digits/pound,
//     digits/minus), other characters skipped, as Asterisk's SayDigits;
//   - number:-1234 — the number said as Asterisk's English say.c does
//     (digits/minus, digits/1, digits/thousand, digits/2, digits/hundred,
//     digits/30, digits/4), for every language; up to ±999,999,999;
//   - characters:Ab1@ — letters/a, letters/b, digits/1, letters/at ...
//     (Asterisk's SayAlpha: the punctuation files, else letters/asciiN,
//     else the character is skipped);
//   - tone:NAME[;tonezone=ZZ] — an indication of the zone (busy, ring,
//     congestion...), or an explicit tone list (tone:425/500|0/500: "|"
//     separates parts, as the ARI media parameter splits on commas).
//
// Sounds missing from a digits:, number: or characters: sequence are
// skipped, as Asterisk does; if all are, the result is ErrSoundNotFound
// (Asterisk would complete the playback silently: a failed playback
// tells the application the core sounds are missing). A digits: URI with
// no digit at all (digits:abc) plays nothing and is no error.
func (s *Sounds) Resolve(prompts call.Prompts, uri, lang string) (Media, error) {
	scheme, rest, ok := strings.Cut(uri, ":")
	if !ok {
		return Media{}, fmt.Errorf("%w: %q has no scheme", ErrMediaScheme, uri)
	}
	switch scheme {
	case "sound", "digits", "number", "characters", "tone":
	default:
		return Media{}, fmt.Errorf("%w: %q", ErrMediaScheme, scheme+":")
	}
	if rest == "" {
		return Media{}, fmt.Errorf("%w: %q names nothing", ErrMediaURI, uri)
	}
	lang = soundLang(lang)
	switch scheme {
	case "sound":
		return s.resolveSound(prompts, rest, lang)
	case "digits":
		return s.sequence(uri, sayDigits(rest), lang)
	case "number":
		n, err := strconv.ParseInt(strings.TrimSpace(rest), 10, 64)
		if err != nil {
			return Media{}, fmt.Errorf("%w: %q is not a number", ErrMediaURI, rest)
		}
		names, ok := sayNumber(n)
		if !ok {
			return Media{}, fmt.Errorf("%w: %d is too big to say (Asterisk says up to 999,999,999)", ErrMediaURI, n)
		}
		return s.sequence(uri, names, lang)
	case "characters":
		return s.sequence(uri, s.sayCharacters(rest, lang), lang)
	default:
		return s.resolveTone(rest)
	}
}

// soundLang cleans a requested language: "" and anything that is not a
// plain directory name mean en.
func soundLang(lang string) string {
	if lang == "" || lang == "." || lang == ".." || strings.ContainsAny(lang, "/\\\x00") {
		return "en"
	}
	return lang
}

// validSoundName accepts relative names that stay inside the sound
// directories: no absolute path (which Asterisk allows, but a tenant must
// not reach the node's files), no "." or ".." segment.
func validSoundName(name string) bool {
	if name == "" || len(name) > 255 || strings.ContainsAny(name, "\\\x00") || strings.HasPrefix(name, "/") {
		return false
	}
	for seg := range strings.SplitSeq(name, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

func (s *Sounds) resolveSound(prompts call.Prompts, name, lang string) (Media, error) {
	if !validSoundName(name) {
		return Media{}, fmt.Errorf("%w: sound name %q", ErrMediaURI, name)
	}
	if prompts != nil {
		if p, ok := prompts.Prompt(name); ok && p != nil {
			return Media{Prompts: []*media.Prompt{p}, Names: []string{name}}, nil
		}
	}
	p, err := s.load(name, lang)
	if err != nil {
		return Media{}, err
	}
	return Media{Prompts: []*media.Prompt{p}, Names: []string{name}}, nil
}

// sequence loads names in turn, skipping missing ones.
func (s *Sounds) sequence(uri string, names []string, lang string) (Media, error) {
	var m Media
	var firstErr error
	for _, n := range names {
		p, err := s.load(n, lang)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			if errors.Is(err, errNoSuchSound) {
				continue
			}
			return Media{}, err // present but unplayable: the playback fails
		}
		m.Prompts = append(m.Prompts, p)
		m.Names = append(m.Names, n)
	}
	if len(names) > 0 && len(m.Prompts) == 0 {
		return Media{}, fmt.Errorf("%w: none of the sounds of %q exists: %v", ErrSoundNotFound, uri, firstErr)
	}
	return m, nil
}

func (s *Sounds) resolveTone(rest string) (Media, error) {
	ind, params, hasParams := strings.Cut(rest, ";")
	zone := s.ToneZone
	if hasParams {
		// Asterisk accepts exactly one component, tonezone=.
		z, ok := strings.CutPrefix(params, "tonezone=")
		if !ok || z == "" {
			return Media{}, fmt.Errorf("%w: unexpected tone URI component %q", ErrMediaURI, params)
		}
		zone = z
	}
	if ind == "" {
		return Media{}, fmt.Errorf("%w: tone names nothing", ErrMediaURI)
	}
	// An unknown zone falls back to the default one, as Asterisk falls
	// back to the channel's zone.
	if !media.ToneZoneKnown(zone) {
		zone = s.ToneZone
		if !media.ToneZoneKnown(zone) {
			zone = media.DefaultToneZone
		}
	}
	list, named := media.NamedTone(zone, ind)
	if !named {
		list = ind
	}
	spec, err := media.ParseTone(list)
	if err != nil {
		if named {
			return Media{}, fmt.Errorf("%w: tone %s/%s: %v", ErrSoundNotFound, zone, ind, err)
		}
		// Asterisk tries an unknown indication as a tone list and fails
		// the playback; one that looks like a list is malformed, a word
		// is an indication the zone lacks.
		if c := ind[0]; c == '!' || (c >= '0' && c <= '9') || (c == 'M' && len(ind) > 1 && ind[1] >= '0' && ind[1] <= '9') {
			return Media{}, fmt.Errorf("%w: %v", ErrMediaURI, err)
		}
		return Media{}, fmt.Errorf("%w: no tone %q in zone %s", ErrSoundNotFound, ind, zone)
	}
	return Media{Tone: media.NewToneSource(spec, 0), ToneSpec: spec}, nil
}

// sayDigits is Asterisk's say_digit_str: 0-9, *, # and -, others skipped.
func sayDigits(str string) []string {
	var out []string
	for _, c := range str {
		switch {
		case c >= '0' && c <= '9':
			out = append(out, "digits/"+string(c))
		case c == '*':
			out = append(out, "digits/star")
		case c == '#':
			out = append(out, "digits/pound")
		case c == '-':
			out = append(out, "digits/minus")
		}
	}
	return out
}

// sayNumber is Asterisk's ast_say_number_full_en. ok is false beyond
// ±999,999,999, which Asterisk refuses to say.
func sayNumber(n int64) ([]string, bool) {
	if n == 0 {
		return []string{"digits/0"}, true
	}
	if n <= -1_000_000_000 || n >= 1_000_000_000 {
		return nil, false
	}
	var out []string
	if n < 0 {
		out = append(out, "digits/minus")
		n = -n
	}
	var say func(n int64)
	say = func(n int64) {
		for n > 0 {
			switch {
			case n < 20:
				out = append(out, "digits/"+strconv.FormatInt(n, 10))
				n = 0
			case n < 100:
				out = append(out, "digits/"+strconv.FormatInt(n/10*10, 10))
				n %= 10
			case n < 1000:
				out = append(out, "digits/"+strconv.FormatInt(n/100, 10), "digits/hundred")
				n %= 100
			case n < 1_000_000:
				say(n / 1000)
				out = append(out, "digits/thousand")
				n %= 1000
			default:
				say(n / 1_000_000)
				out = append(out, "digits/million")
				n %= 1_000_000
			}
		}
	}
	say(n)
	return out, true
}

// sayCharacters is Asterisk's say_character_str (case-insensitive): the
// punctuation and digit files or letters/X, else letters/asciiN when
// only that exists (letters/ascii63 for "?"). A character with neither is
// skipped by sequence, as Asterisk skips it; unlike Asterisk, a string
// none of whose characters can be said fails instead of completing
// silently.
func (s *Sounds) sayCharacters(str, lang string) []string {
	var out []string
	for _, c := range str {
		var fn string
		switch c {
		case '*':
			fn = "digits/star"
		case '#':
			fn = "digits/pound"
		case '!':
			fn = "letters/exclaimation-point" // sic, the core sound's name
		case '@':
			fn = "letters/at"
		case '$':
			fn = "letters/dollar"
		case '-':
			fn = "letters/dash"
		case '.':
			fn = "letters/dot"
		case '=':
			fn = "letters/equals"
		case '+':
			fn = "letters/plus"
		case '/':
			fn = "letters/slash"
		case ' ':
			fn = "letters/space"
		default:
			switch {
			case c >= '0' && c <= '9':
				fn = "digits/" + string(c)
			case c >= 'A' && c <= 'Z':
				fn = "letters/" + string(c-'A'+'a')
			default:
				fn = "letters/" + string(c)
			}
		}
		ascii := "letters/ascii" + strconv.Itoa(int(c))
		switch {
		case !validSoundName(fn) || !s.exists(fn, lang) && s.exists(ascii, lang):
			out = append(out, ascii)
		default:
			// Missing: sequence skips it (and fails when all are).
			out = append(out, fn)
		}
	}
	return out
}

// errNoSuchSound is wrapped (with ErrSoundNotFound) when no file exists.
var errNoSuchSound = errors.New("no such file")

// langChain is the order languages are tried for lang, as Asterisk's
// fileexists_core: lang, lang without its _suffixes, no language, en.
func langChain(lang string) []string {
	out := []string{lang}
	for l := lang; ; {
		i := strings.LastIndexByte(l, '_')
		if i <= 0 {
			break
		}
		l = l[:i]
		out = append(out, l)
	}
	out = append(out, "")
	if !slices.Contains(out, "en") {
		out = append(out, "en")
	}
	return out
}

// find returns the file playing name in lang, or "".
func (s *Sounds) find(name, lang string) string {
	for _, l := range langChain(lang) {
		for _, root := range s.roots {
			dir := root
			if l != "" {
				if dir = s.langDir(root, l); dir == "" {
					continue
				}
			}
			base := filepath.Join(dir, filepath.FromSlash(name))
			for _, f := range soundFormats {
				p := base + "." + f.ext
				if s.cache.has(p) {
					return p
				}
				if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
					return p
				}
			}
		}
	}
	return ""
}

func (s *Sounds) exists(name, lang string) bool { return s.find(name, lang) != "" }

// load returns the loaded sound name in lang, from the cache if it is
// there.
func (s *Sounds) load(name, lang string) (*media.Prompt, error) {
	path := s.find(name, lang)
	if path == "" {
		return nil, fmt.Errorf("%w: %q (language %s): %w", ErrSoundNotFound, name, lang, errNoSuchSound)
	}
	if p, ok := s.cache.get(path); ok {
		return p, nil
	}
	p, err := loadSoundFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %v", ErrSoundNotFound, name, err)
	}
	s.cache.put(path, p)
	return p, nil
}

// maxRawSound bounds the headerless files read whole (sln, ulaw, alaw).
const maxRawSound = 64 << 20

// loadSoundFile reads a file by its extension: WAV (any rate, resampled)
// through media.LoadWAV, headerless 8 kHz sln (16-bit little-endian),
// ulaw and alaw.
func loadSoundFile(path string) (*media.Prompt, error) {
	ext := strings.TrimPrefix(filepath.Ext(path), ".")
	if ext == "wav" || ext == "wav16" {
		return media.LoadWAV(path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxRawSound+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxRawSound {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxRawSound)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("%s: empty", path)
	}
	var pcm []int16
	switch ext {
	case "sln":
		pcm = make([]int16, len(b)/2)
		for i := range pcm {
			pcm[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
		}
	case "ulaw":
		pcm = make([]int16, len(b))
		media.DecodePCMU(pcm, b)
	case "alaw":
		pcm = make([]int16, len(b))
		media.DecodePCMA(pcm, b)
	default:
		return nil, fmt.Errorf("%s: unsupported format", path)
	}
	return media.NewPromptPCM(pcm), nil
}

// langDir is the directory of language lang under root, or "".
func (s *Sounds) langDir(root, lang string) string {
	d := filepath.Join(root, lang)
	if st, err := os.Stat(d); err == nil && st.IsDir() {
		return d
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.aliases == nil {
		s.aliases = map[string]map[string]string{}
	}
	al, ok := s.aliases[root]
	if !ok {
		al = langAliases(root)
		s.aliases[root] = al
	}
	if a, ok := al[lang]; ok {
		return filepath.Join(root, a)
	}
	return ""
}

// langAliases maps each language without a directory of its own to the
// first directory named LANG_... (Debian's en_US_f_Allison for en).
func langAliases(root string) map[string]string {
	al := map[string]string{}
	dirs := langDirs(root)
	have := map[string]bool{}
	for _, d := range dirs {
		have[d] = true
	}
	for _, d := range dirs { // sorted: the first LANG_* wins
		for l := d; ; {
			i := strings.LastIndexByte(l, '_')
			if i <= 0 {
				break
			}
			l = l[:i]
			if _, taken := al[l]; !taken && !have[l] {
				al[l] = d
			}
		}
	}
	return al
}

// langDirs lists root's language directories (symlinks followed), sorted.
func langDirs(root string) []string {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if st, err := os.Stat(filepath.Join(root, e.Name())); err == nil && st.IsDir() {
			out = append(out, e.Name())
		}
	}
	slices.Sort(out)
	return out
}

// soundIndex is the /sounds data: every sound of the language
// directories, as Asterisk's media index (files directly under a root are
// playable but not listed, as in Asterisk).
type soundIndex struct {
	ids    []string // sorted
	sounds map[string]*Sound
}

// List returns the sounds, sorted by id, with their language/format pairs
// filtered by lang and format ("" for any), leaving out sounds with no
// pair left, as Asterisk's GET /sounds. Formats are Asterisk's names
// (slin for WAV files).
func (s *Sounds) List(lang, format string) []Sound {
	idx := s.getIndex()
	out := []Sound{}
	for _, id := range idx.ids {
		snd := idx.sounds[id]
		var fs []FormatLangPair
		for _, f := range snd.Formats {
			if (lang == "" || f.Language == lang) && (format == "" || f.Format == format) {
				fs = append(fs, f)
			}
		}
		if len(fs) > 0 {
			out = append(out, Sound{ID: snd.ID, Text: snd.Text, Formats: fs})
		}
	}
	return out
}

// Get returns one sound with all its languages and formats.
func (s *Sounds) Get(id string) (Sound, bool) {
	snd, ok := s.getIndex().sounds[id]
	if !ok {
		return Sound{}, false
	}
	return Sound{ID: snd.ID, Text: snd.Text, Formats: slices.Clone(snd.Formats)}, true
}

func (s *Sounds) getIndex() *soundIndex {
	s.mu.Lock()
	idx := s.index
	s.mu.Unlock()
	if idx != nil {
		return idx
	}
	// Walk outside the lock (it reads the disk); two first callers may
	// both walk, the last one's index stays.
	idx = buildSoundIndex(s.roots)
	s.mu.Lock()
	s.index = idx
	s.mu.Unlock()
	return idx
}

func buildSoundIndex(roots []string) *soundIndex {
	idx := &soundIndex{sounds: map[string]*Sound{}}
	seen := map[FormatLangPair]map[string]bool{} // pair → ids, to dedupe
	texts := map[string]string{}                 // en descriptions
	add := func(id, lang, format string) {
		pair := FormatLangPair{Language: lang, Format: format}
		if seen[pair] == nil {
			seen[pair] = map[string]bool{}
		}
		if seen[pair][id] {
			return
		}
		seen[pair][id] = true
		snd := idx.sounds[id]
		if snd == nil {
			snd = &Sound{ID: id}
			idx.sounds[id] = snd
		}
		snd.Formats = append(snd.Formats, pair)
	}
	for _, root := range roots {
		dirs := langDirs(root)
		// A language reached through an alias (en → en_US_f_Allison) is
		// listed under both names, as Debian's en symlink would show it.
		names := map[string][]string{}
		for _, d := range dirs {
			names[d] = append(names[d], d)
		}
		for l, d := range langAliases(root) {
			names[d] = append(names[d], l)
		}
		for _, d := range dirs {
			walkSounds(filepath.Join(root, d), "", 0, func(id, ext string, path string) {
				if ext == "txt" {
					if slices.Contains(names[d], "en") {
						readDescriptions(path, texts)
					}
					return
				}
				for _, f := range soundFormats {
					if f.ext == ext {
						for _, l := range names[d] {
							add(id, l, f.format)
						}
						break
					}
				}
			})
		}
	}
	for id, snd := range idx.sounds {
		idx.ids = append(idx.ids, id)
		snd.Text = texts[id]
		slices.SortFunc(snd.Formats, func(a, b FormatLangPair) int {
			return strings.Compare(a.Language+"\x00"+a.Format, b.Language+"\x00"+b.Format)
		})
	}
	slices.Sort(idx.ids)
	return idx
}

// walkSounds calls fn for every file under dir (symlinks followed, depth
// bounded against loops), with the id (path below the language directory
// without extension, "/"-separated) and the extension.
func walkSounds(dir, sub string, depth int, fn func(id, ext, path string)) {
	if depth > 8 {
		return
	}
	entries, err := os.ReadDir(filepath.Join(dir, sub))
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		rel := name
		if sub != "" {
			rel = sub + "/" + name
		}
		p := filepath.Join(dir, filepath.FromSlash(rel))
		st, err := os.Stat(p)
		if err != nil {
			continue
		}
		if st.IsDir() {
			walkSounds(dir, rel, depth+1, fn)
			continue
		}
		if !st.Mode().IsRegular() {
			continue
		}
		i := strings.LastIndexByte(name, '.')
		if i <= 0 {
			continue
		}
		id := strings.TrimSuffix(rel, name[i:])
		fn(id, name[i+1:], p)
	}
}

// readDescriptions reads an Asterisk sound description file
// (core-sounds-en.txt: "name: text" lines, ";" comments, lines without
// ":" continuing the previous text).
func readDescriptions(path string, into map[string]string) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, 16<<20))
	sc.Buffer(make([]byte, 4096), 64<<10)
	var cur string
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), " \t\r")
		if strings.HasPrefix(line, ";") {
			continue
		}
		id, text, ok := strings.Cut(line, ":")
		if !ok {
			if cur != "" && line != "" {
				into[cur] += "\n" + line
			}
			continue
		}
		cur = id
		into[cur] = strings.TrimLeft(text, " \t")
	}
}

// handleList serves GET /ari/sounds?lang=&format=. Like Asterisk it
// answers 404 when nothing matches.
func (s *Sounds) handleList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	out := s.List(q.Get("lang"), q.Get("format"))
	if len(out) == 0 {
		writeError(w, http.StatusNotFound, "No sounds found that matched the query")
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// handleGet serves GET /ari/sounds/{soundId...} (ids have slashes:
// digits/1).
func (s *Sounds) handleGet(w http.ResponseWriter, r *http.Request) {
	snd, ok := s.Get(r.PathValue("soundId"))
	if !ok {
		writeError(w, http.StatusNotFound, "Sound not found")
		return
	}
	writeJSON(w, http.StatusOK, snd)
}

// promptCache is an LRU of loaded sounds by file, bounded in bytes.
type promptCache struct {
	mu   sync.Mutex
	max  int64
	size int64
	ll   *list.List // front: most recently used
	m    map[string]*list.Element
}

type cacheEntry struct {
	path string
	p    *media.Prompt
	cost int64
}

func newPromptCache(max int64) *promptCache {
	return &promptCache{max: max, ll: list.New(), m: map[string]*list.Element{}}
}

// promptCost is a prompt's memory: its PCM and both G.711 encodings.
func promptCost(p *media.Prompt) int64 { return int64(p.Samples())*4 + 128 }

func (c *promptCache) has(path string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.m[path]
	return ok
}

func (c *promptCache) get(path string) (*media.Prompt, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[path]
	if !ok {
		return nil, false
	}
	c.ll.MoveToFront(e)
	return e.Value.(*cacheEntry).p, true
}

func (c *promptCache) put(path string, p *media.Prompt) {
	cost := promptCost(p)
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[path]; ok { // loaded twice concurrently: keep one
		c.ll.MoveToFront(e)
		return
	}
	if cost > c.max {
		return
	}
	c.m[path] = c.ll.PushFront(&cacheEntry{path: path, p: p, cost: cost})
	c.size += cost
	c.evict()
}

func (c *promptCache) evict() {
	for c.size > c.max && c.ll.Len() > 0 {
		e := c.ll.Back()
		ce := e.Value.(*cacheEntry)
		c.ll.Remove(e)
		delete(c.m, ce.path)
		c.size -= ce.cost
	}
}

func (c *promptCache) setMax(n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.max = max(n, 0)
	c.evict()
}

func (c *promptCache) purge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ll.Init()
	clear(c.m)
	c.size = 0
}

// stats gives the number of entries and their cost (for tests).
func (c *promptCache) stats() (n int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len(), c.size
}
