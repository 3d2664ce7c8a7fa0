package config

import (
	"strings"
	"testing"
)

// A queue's callback listens for "call me back" by default when the server
// recognizes speech, not otherwise, and asking for it without a recognizer
// is an error at its line.
func TestQueueCallbackSpeech(t *testing.T) {
	queues := []string{
		"      - {name: general, callback: {}}",
		"      - {name: sales, callback: {speech: false}}",
	}
	c, err := Parse("h.yaml", []byte("speech: {engine: pocketsphinx}\n"+outboundYAML(queues...)))
	if err != nil {
		t.Fatal(err)
	}
	qs := c.Tenants[0].Queues
	if s := qs[0].Callback.Speech; s == nil || !*s {
		t.Errorf("with a recognizer, speech defaults on: %v", s)
	}
	if s := qs[1].Callback.Speech; s == nil || *s {
		t.Errorf("speech: false kept: %v", s)
	}

	c, err = Parse("h.yaml", []byte(outboundYAML(queues[0])))
	if err != nil {
		t.Fatal(err)
	}
	if s := c.Tenants[0].Queues[0].Callback.Speech; s == nil || *s {
		t.Errorf("without a recognizer, speech defaults off: %v", s)
	}

	_, err = Parse("h.yaml", []byte(outboundYAML(
		"      - {name: general, callback: {speech: true}}", // 12
	)))
	want := `h.yaml:12: tenant demo: queue general: callback speech needs a recognizer (speech.engine: pocketsphinx)`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("speech without a recognizer: %v, want %q", err, want)
	}
}
