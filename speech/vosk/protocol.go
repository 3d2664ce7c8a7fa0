// Package vosk speaks the Vosk server WebSocket protocol (vosk-server's
// asr_server.py), both ways: Server serves a local engine to any Vosk
// client, and Client (New) is a speech.Transcriber backed by any server
// speaking it (ours, vosk-server, sherpa-onnx's Vosk-compatible one), so a
// stronger recognizer replaces the embedded one by configuration.
//
// One WebSocket is one audio stream. The client may first send a text
// message {"config": {"sample_rate": 8000, "words": 1}}, which gets no
// reply; then binary messages of 16-bit little-endian mono PCM, each
// answered by one text message: {"partial": "..."} while the phrase goes
// on, or {"result": [{"conf":1.0,"start":0.51,"end":0.9,"word":"card"}],
// "text": "lost my card"} when one ended (times in seconds from the start
// of the stream). The text message {"eof" : 1} asks for the final result,
// after which the server closes. Our extension, ignored by real Vosk: the
// config key "vocabulary", a list of words and phrases to favour.
package vosk

import "encoding/json"

// configMsg is the client's optional first message.
type configMsg struct {
	Config *streamConfig `json:"config"`
	EOF    *json.Number  `json:"eof"`
	Reset  *json.Number  `json:"reset"`
}

type streamConfig struct {
	// Vosk sends numbers from Python; sample_rate may be 8000.0.
	SampleRate float64  `json:"sample_rate,omitempty"`
	Words      *int     `json:"words,omitempty"`
	Vocabulary []string `json:"vocabulary,omitempty"`
}

// wordJSON is one word of a result, as Vosk writes it.
type wordJSON struct {
	Conf  float64 `json:"conf"`
	End   float64 `json:"end"`
	Start float64 `json:"start"`
	Word  string  `json:"word"`
}

// reply is every message the server sends; which fields are present tells
// what it is.
type reply struct {
	Partial *string    `json:"partial,omitempty"`
	Result  []wordJSON `json:"result,omitempty"`
	Text    *string    `json:"text,omitempty"`
	// Error is not Vosk's: our server says why it closes.
	Error string `json:"error,omitempty"`
}
