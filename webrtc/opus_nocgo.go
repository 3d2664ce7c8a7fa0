//go:build !cgo

package webrtc

import "errors"

// Without cgo there is no libopus: the package still builds (PCMU legs
// work) and a leg configured for Opus fails in New with ErrOpusUnsupported.

const opusAvailable = false

var errNoOpus = errors.New("opus: built without cgo")

type opusEncoder struct{}

type opusDecoder struct{}

func newOpusEncoder(bitrate, complexity, lossPerc int) (*opusEncoder, error) { return nil, errNoOpus }

func (*opusEncoder) encode(pcm []int16, out []byte) (int, error) { return 0, errNoOpus }

func (*opusEncoder) close() {}

func newOpusDecoder() (*opusDecoder, error) { return nil, errNoOpus }

func (*opusDecoder) decode(packet []byte, pcm []int16, fec bool) (int, error) { return 0, errNoOpus }

func opusPacketSamples(packet []byte) (int, error) { return 0, errNoOpus }

func (*opusDecoder) close() {}
