//go:build cgo

package webrtc

// A minimal binding to the system's libopus (Debian: libopus-dev), just
// the calls the agent leg needs: one mono encoder and one mono decoder per
// leg, both at 48 kHz. The C states are allocated by libopus and freed by
// close; callers serialise use and never call after close.
//
// Passing Go slices to C here does not allocate: the pointers are only
// used for the duration of the call (cgo's pointer rules), and the
// opus_*_ctl calls go through small C helpers because cgo cannot call
// variadic functions.

/*
#cgo LDFLAGS: -lopus
#include <opus/opus.h>

static int hotline_enc_setup(OpusEncoder *e, int bitrate, int complexity, int lossPerc) {
	int err;
	if ((err = opus_encoder_ctl(e, OPUS_SET_BITRATE(bitrate))) != OPUS_OK) return err;
	if ((err = opus_encoder_ctl(e, OPUS_SET_COMPLEXITY(complexity))) != OPUS_OK) return err;
	if ((err = opus_encoder_ctl(e, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE))) != OPUS_OK) return err;
	// The source is telephone audio sampled at 8 kHz: nothing above 4 kHz
	// to code, so bits go to the band that carries the voice.
	if ((err = opus_encoder_ctl(e, OPUS_SET_MAX_BANDWIDTH(OPUS_BANDWIDTH_NARROWBAND))) != OPUS_OK) return err;
	// In-band FEC lets the browser rebuild a lost packet from the next.
	if ((err = opus_encoder_ctl(e, OPUS_SET_INBAND_FEC(1))) != OPUS_OK) return err;
	return opus_encoder_ctl(e, OPUS_SET_PACKET_LOSS_PERC(lossPerc));
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// opusAvailable: this build can encode and decode Opus.
const opusAvailable = true

type opusEncoder struct{ st *C.OpusEncoder }

type opusDecoder struct{ st *C.OpusDecoder }

func opusError(code C.int) string { return C.GoString(C.opus_strerror(code)) }

// newOpusEncoder makes a 48 kHz mono VOIP encoder.
func newOpusEncoder(bitrate, complexity, lossPerc int) (*opusEncoder, error) {
	var errc C.int
	st := C.opus_encoder_create(opusRate, 1, C.OPUS_APPLICATION_VOIP, &errc)
	if errc != C.OPUS_OK || st == nil {
		return nil, fmt.Errorf("opus encoder: %s", opusError(errc))
	}
	if rc := C.hotline_enc_setup(st, C.int(bitrate), C.int(complexity), C.int(lossPerc)); rc != C.OPUS_OK {
		C.opus_encoder_destroy(st)
		return nil, fmt.Errorf("opus encoder settings: %s", opusError(rc))
	}
	return &opusEncoder{st: st}, nil
}

// encode codes one frame of pcm (a valid Opus frame length at 48 kHz)
// into out and returns the packet's length.
func (e *opusEncoder) encode(pcm []int16, out []byte) (int, error) {
	n := C.opus_encode(e.st, (*C.opus_int16)(unsafe.Pointer(&pcm[0])), C.int(len(pcm)),
		(*C.uchar)(unsafe.Pointer(&out[0])), C.opus_int32(len(out)))
	if n < 0 {
		return 0, fmt.Errorf("opus encode: %s", opusError(n))
	}
	return int(n), nil
}

func (e *opusEncoder) close() {
	if e != nil && e.st != nil {
		C.opus_encoder_destroy(e.st)
		e.st = nil
	}
}

// newOpusDecoder makes a 48 kHz mono decoder (a stereo stream is mixed
// down by libopus).
func newOpusDecoder() (*opusDecoder, error) {
	var errc C.int
	st := C.opus_decoder_create(opusRate, 1, &errc)
	if errc != C.OPUS_OK || st == nil {
		return nil, fmt.Errorf("opus decoder: %s", opusError(errc))
	}
	return &opusDecoder{st: st}, nil
}

// decode decodes packet into pcm and returns the samples written. With fec
// it rebuilds the packet before this one from the FEC data this one
// carries, as long as pcm is; an empty packet asks for concealment (PLC)
// of len(pcm) samples.
func (d *opusDecoder) decode(packet []byte, pcm []int16, fec bool) (int, error) {
	var p *C.uchar
	if len(packet) > 0 {
		p = (*C.uchar)(unsafe.Pointer(&packet[0]))
	}
	f := C.int(0)
	if fec {
		f = 1
	}
	n := C.opus_decode(d.st, p, C.opus_int32(len(packet)),
		(*C.opus_int16)(unsafe.Pointer(&pcm[0])), C.int(len(pcm)), f)
	if n < 0 {
		return 0, fmt.Errorf("opus decode: %s", opusError(n))
	}
	return int(n), nil
}

// packetSamples is the duration of packet in 48 kHz samples.
func opusPacketSamples(packet []byte) (int, error) {
	if len(packet) == 0 {
		return 0, fmt.Errorf("opus: empty packet")
	}
	n := C.opus_packet_get_nb_samples((*C.uchar)(unsafe.Pointer(&packet[0])), C.opus_int32(len(packet)), opusRate)
	if n < 0 {
		return 0, fmt.Errorf("opus packet: %s", opusError(n))
	}
	return int(n), nil
}

func (d *opusDecoder) close() {
	if d != nil && d.st != nil {
		C.opus_decoder_destroy(d.st)
		d.st = nil
	}
}
