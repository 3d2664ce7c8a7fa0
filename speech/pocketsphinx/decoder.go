package pocketsphinx

/*
#cgo pkg-config: pocketsphinx sphinxbase
#include <stdlib.h>
#include <pocketsphinx.h>
#include <sphinxbase/cmd_ln.h>
#include <sphinxbase/logmath.h>
#include <sphinxbase/ngram_model.h>
#include <sphinxbase/feat.h>
#include <sphinxbase/cmn.h>

// hl_init parses argv (cgo cannot call the variadic cmd_ln_init) and
// creates a decoder; the decoder keeps its own reference to the config.
static ps_decoder_t *hl_init(int argc, char **argv) {
	cmd_ln_t *cfg = cmd_ln_parse_r(NULL, ps_args(), argc, argv, TRUE);
	if (cfg == NULL) return NULL;
	ps_decoder_t *ps = ps_init(cfg);
	cmd_ln_free_r(cfg);
	return ps;
}

// hl_decode runs one whole utterance through the named search in a single
// cgo call: start, process everything with full_utt (batch CMN over the
// whole utterance), end, and read the result.
static int hl_decode(ps_decoder_t *ps, const char *search, const int16 *pcm, long n,
		int32 *score, int32 *nframes, int32 *prob, const char **hyp) {
	*hyp = NULL;
	if (ps_set_search(ps, search) < 0) return -1;
	if (ps_start_utt(ps) < 0) return -2;
	if (ps_process_raw(ps, pcm, (size_t)n, FALSE, TRUE) < 0) { ps_end_utt(ps); return -3; }
	if (ps_end_utt(ps) < 0) return -4;
	*nframes = ps_get_n_frames(ps);
	*hyp = ps_get_hyp(ps, score);
	*prob = ps_get_prob(ps);
	return 0;
}

static int hl_cep_len(ps_decoder_t *ps) { return ps_get_feat(ps)->cmn_struct->veclen; }
// hl_cmn_get reads the decoder's cepstral mean: the last batch decode's,
// or the live estimate after an utterance decoded as it arrived.
static void hl_cmn_get(ps_decoder_t *ps, mfcc_t *cmn) { cmn_live_get(ps_get_feat(ps)->cmn_struct, cmn); }

// hl_utt_* decode one utterance as its audio arrives (live CMN from the
// estimate cmn, which the stream carries from its previous phrases), so
// that when the phrase ends only the decoder's last passes remain.
static int hl_utt_begin(ps_decoder_t *ps, const char *search, const mfcc_t *cmn) {
	if (ps_set_search(ps, search) < 0) return -1;
	if (ps_start_utt(ps) < 0) return -2;
	cmn_live_set(ps_get_feat(ps)->cmn_struct, cmn);
	return 0;
}
static int hl_utt_feed(ps_decoder_t *ps, const int16 *pcm, long n) {
	return ps_process_raw(ps, pcm, (size_t)n, FALSE, FALSE) < 0 ? -1 : 0;
}
static int hl_utt_end(ps_decoder_t *ps, int32 *score, int32 *nframes, int32 *prob, const char **hyp, mfcc_t *cmn) {
	*hyp = NULL;
	if (ps_end_utt(ps) < 0) return -1;
	*nframes = ps_get_n_frames(ps);
	*hyp = ps_get_hyp(ps, score);
	*prob = ps_get_prob(ps);
	hl_cmn_get(ps, cmn);
	return 0;
}

// hl_live_* drive the decoder frame by frame; used only to measure the
// decoder's own voice activity detector against vad.go (vad_test.go).
static int hl_live_start(ps_decoder_t *ps, const char *search) {
	if (ps_set_search(ps, search) < 0) return -1;
	return ps_start_utt(ps);
}
static int hl_live_process(ps_decoder_t *ps, const int16 *pcm, long n) {
	if (ps_process_raw(ps, pcm, (size_t)n, FALSE, FALSE) < 0) return -1;
	return ps_get_in_speech(ps);
}

// hl_seg reads one word segment of the last decode; the posterior is
// converted to linear here since logmath is C-side state.
static const char *hl_seg(ps_decoder_t *ps, ps_seg_t *seg, int *sf, int *ef, double *conf) {
	int32 a, l, b;
	ps_seg_frames(seg, sf, ef);
	*conf = logmath_exp(ps_get_logmath(ps), ps_seg_prob(seg, &a, &l, &b));
	return ps_seg_word(seg);
}

// hl_set_biased_lm adds the search name: the language model of the search
// base interpolated with the ARPA model at arpa, weight bias for the
// latter. The set owns one reference to each model; ps_set_lm takes its
// own reference to the set.
static int hl_set_biased_lm(ps_decoder_t *ps, const char *name, const char *base,
		const char *arpa, float bias) {
	ngram_model_t *big = ps_get_lm(ps, base);
	if (big == NULL) return -1;
	ngram_model_t *small = ngram_model_read(ps_get_config(ps), arpa, NGRAM_ARPA, ps_get_logmath(ps));
	if (small == NULL) return -2;
	ngram_model_t *models[2] = { ngram_model_retain(big), small };
	char *names[2] = { "base", "vocabulary" };
	float32 weights[2] = { 1 - bias, bias };
	ngram_model_t *set = ngram_model_set_init(ps_get_config(ps), models, names, weights, 2);
	if (set == NULL) {
		ngram_model_free(models[0]);
		ngram_model_free(small);
		return -3;
	}
	int rc = ps_set_lm(ps, name, set);
	ngram_model_free(set);
	return rc < 0 ? -4 : 0;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"slices"
	"unsafe"
)

// decoder is one PocketSphinx decoder. Not safe for concurrent use: the
// pool hands it to one goroutine at a time.
type decoder struct {
	ps *C.ps_decoder_t
	// searches holds the grammar (or vocabulary) keys already compiled
	// into this decoder (ps_set_jsgf_string is a few ms; switching with
	// ps_set_search is free), in least-recently-used order, newest last.
	searches  []string
	maxCache  int
	hasPhones bool // the phone-loop search for confidence was loaded
}

// decodeResult is one search's verdict on an utterance.
type decodeResult struct {
	hyp    string
	score  int32 // path score, decoder log units
	frames int   // 10 ms feature frames
	prob   int32 // log posterior (0 = 1.0) when bestpath ran
}

const allphoneSearch = "allphone"

func newDecoder(args []string, phoneLM string, maxCache int) (*decoder, error) {
	argv := make([]*C.char, len(args))
	for i, a := range args {
		argv[i] = C.CString(a)
	}
	defer func() {
		for _, p := range argv {
			C.free(unsafe.Pointer(p))
		}
	}()
	ps := C.hl_init(C.int(len(argv)), &argv[0])
	if ps == nil {
		return nil, errors.New("pocketsphinx: ps_init failed (bad model or dictionary path?)")
	}
	d := &decoder{ps: ps, maxCache: maxCache}
	if phoneLM != "" {
		name := C.CString(allphoneSearch)
		path := C.CString(phoneLM)
		rc := C.ps_set_allphone_file(ps, name, path)
		C.free(unsafe.Pointer(name))
		C.free(unsafe.Pointer(path))
		if rc < 0 {
			d.free()
			return nil, fmt.Errorf("pocketsphinx: load phone language model %s failed", phoneLM)
		}
		d.hasPhones = true
	}
	return d, nil
}

func (d *decoder) free() {
	if d.ps != nil {
		C.ps_free(d.ps)
		d.ps = nil
	}
}

// useGrammar makes key's search exist in the decoder, compiling jsgf if
// it is not cached.
func (d *decoder) useGrammar(key, jsgf string) error {
	return d.useSearch(key, func() error {
		name := C.CString(key)
		defer C.free(unsafe.Pointer(name))
		text := C.CString(jsgf)
		defer C.free(unsafe.Pointer(text))
		if C.ps_set_jsgf_string(d.ps, name, text) < 0 {
			return fmt.Errorf("pocketsphinx: grammar %s does not compile", key)
		}
		return nil
	})
}

// useBiasedLM makes the search key exist: the language model of the
// search base interpolated with the ARPA model in the file arpa.
func (d *decoder) useBiasedLM(key, base, arpa string, bias float64) error {
	return d.useSearch(key, func() error {
		name := C.CString(key)
		defer C.free(unsafe.Pointer(name))
		b := C.CString(base)
		defer C.free(unsafe.Pointer(b))
		a := C.CString(arpa)
		defer C.free(unsafe.Pointer(a))
		if rc := C.hl_set_biased_lm(d.ps, name, b, a, C.float(bias)); rc < 0 {
			return fmt.Errorf("pocketsphinx: vocabulary model %s failed (step %d)", key, -rc)
		}
		return nil
	})
}

// has reports whether the search key is cached.
func (d *decoder) has(key string) bool { return slices.Contains(d.searches, key) }

// useSearch makes the search key exist in the decoder, calling add to
// create it if it is not cached, and evicting the least recently used
// one beyond maxCache (each search holds its own network).
func (d *decoder) useSearch(key string, add func() error) error {
	for i, k := range d.searches {
		if k == key {
			copy(d.searches[i:], d.searches[i+1:])
			d.searches[len(d.searches)-1] = key
			return nil
		}
	}
	if err := add(); err != nil {
		return err
	}
	d.searches = append(d.searches, key)
	if len(d.searches) > d.maxCache {
		old := C.CString(d.searches[0])
		C.ps_unset_search(d.ps, old)
		C.free(unsafe.Pointer(old))
		d.searches = d.searches[1:]
	}
	return nil
}

// decode runs pcm (16 kHz) through the named search.
func (d *decoder) decode(search string, pcm []int16) (decodeResult, error) {
	if len(pcm) == 0 {
		return decodeResult{}, nil
	}
	name := C.CString(search)
	defer C.free(unsafe.Pointer(name))
	var score, frames, prob C.int32
	var hyp *C.char
	rc := C.hl_decode(d.ps, name, (*C.int16)(unsafe.Pointer(&pcm[0])), C.long(len(pcm)), &score, &frames, &prob, &hyp)
	if rc < 0 {
		return decodeResult{}, fmt.Errorf("pocketsphinx: decode with search %s failed (step %d)", search, -rc)
	}
	return resultOf(score, frames, prob, hyp), nil
}

// resultOf is a decode's verdict from what the C side read out.
func resultOf(score, frames, prob C.int32, hyp *C.char) decodeResult {
	r := decodeResult{score: int32(score), frames: int(frames), prob: int32(prob)}
	if hyp != nil {
		r.hyp = C.GoString(hyp)
	}
	return r
}

// cepLen is the length of the decoder's cepstral vectors: the size of a
// CMN estimate.
func (d *decoder) cepLen() int { return int(C.hl_cep_len(d.ps)) }

// cmnMean is the cepstral mean of the last decode.
func (d *decoder) cmnMean() []float32 {
	cmn := make([]float32, d.cepLen())
	C.hl_cmn_get(d.ps, (*C.mfcc_t)(unsafe.Pointer(&cmn[0])))
	return cmn
}

// uttBegin starts decoding an utterance fed by uttFeed, with cmn (cepLen
// values) as the cepstral mean estimate.
func (d *decoder) uttBegin(search string, cmn []float32) error {
	name := C.CString(search)
	defer C.free(unsafe.Pointer(name))
	if rc := C.hl_utt_begin(d.ps, name, (*C.mfcc_t)(unsafe.Pointer(&cmn[0]))); rc < 0 {
		return fmt.Errorf("pocketsphinx: start utterance with search %s failed (step %d)", search, -rc)
	}
	return nil
}

// uttFeed decodes pcm (16 kHz), the next audio of the utterance.
func (d *decoder) uttFeed(pcm []int16) error {
	if len(pcm) == 0 {
		return nil
	}
	if C.hl_utt_feed(d.ps, (*C.int16)(unsafe.Pointer(&pcm[0])), C.long(len(pcm))) < 0 {
		return errors.New("pocketsphinx: process failed")
	}
	return nil
}

// uttEnd finishes the utterance and writes the updated cepstral mean
// estimate into cmn (cepLen values; nil: not wanted).
func (d *decoder) uttEnd(cmn []float32) (decodeResult, error) {
	if cmn == nil {
		cmn = make([]float32, d.cepLen())
	}
	var score, frames, prob C.int32
	var hyp *C.char
	if C.hl_utt_end(d.ps, &score, &frames, &prob, &hyp, (*C.mfcc_t)(unsafe.Pointer(&cmn[0]))) < 0 {
		return decodeResult{}, errors.New("pocketsphinx: end utterance failed")
	}
	return resultOf(score, frames, prob, hyp), nil
}

// lookup reports whether the decoder's dictionary has word.
func (d *decoder) lookup(word string) bool {
	w := C.CString(word)
	defer C.free(unsafe.Pointer(w))
	p := C.ps_lookup_word(d.ps, w)
	if p == nil {
		return false
	}
	C.free(unsafe.Pointer(p))
	return true
}

// liveStart, liveProcess and liveEnd feed the decoder frame by frame, for
// measuring its built-in VAD (ps_get_in_speech) against ours; the
// recognizer itself decodes whole utterances (see decode).
func (d *decoder) liveStart(search string) error {
	name := C.CString(search)
	defer C.free(unsafe.Pointer(name))
	if C.hl_live_start(d.ps, name) < 0 {
		return fmt.Errorf("pocketsphinx: start search %s failed", search)
	}
	return nil
}

func (d *decoder) liveProcess(pcm []int16) (inSpeech bool, err error) {
	rc := C.hl_live_process(d.ps, (*C.int16)(unsafe.Pointer(&pcm[0])), C.long(len(pcm)))
	if rc < 0 {
		return false, errors.New("pocketsphinx: process failed")
	}
	return rc > 0, nil
}

func (d *decoder) liveEnd() { C.ps_end_utt(d.ps) }

// segment is one word (or filler) of a decode, frames of 10 ms counted
// from the start of the decoded audio.
type segment struct {
	word   string
	sf, ef int
	conf   float64
}

// setLM loads an n-gram language model as the search named name.
func (d *decoder) setLM(name, path string) error {
	n := C.CString(name)
	defer C.free(unsafe.Pointer(n))
	p := C.CString(path)
	defer C.free(unsafe.Pointer(p))
	if C.ps_set_lm_file(d.ps, n, p) < 0 {
		return fmt.Errorf("pocketsphinx: load language model %s failed", path)
	}
	return nil
}

// segments returns the word segments of the last decode's best path.
func (d *decoder) segments() []segment {
	var out []segment
	for seg := C.ps_seg_iter(d.ps); seg != nil; seg = C.ps_seg_next(seg) {
		var sf, ef C.int
		var conf C.double
		w := C.hl_seg(d.ps, seg, &sf, &ef, &conf)
		out = append(out, segment{word: C.GoString(w), sf: int(sf), ef: int(ef), conf: float64(conf)})
	}
	return out
}
