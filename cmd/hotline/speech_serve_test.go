package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"hotline/internal/testenv"
	"hotline/speech"
	"hotline/speech/pocketsphinx"
	"hotline/speech/speechtest"
	"hotline/speech/vosk"
)

// The worker prints its address, serves health checks and the Vosk
// protocol, and stops when its context ends.
func TestSpeechServe(t *testing.T) {
	testenv.NeedFiles(t, "apt-get install pocketsphinx-en-us", pocketsphinx.DefaultModelDir, pocketsphinx.DefaultLM)
	pcm := speechtest.Flite(t, "kal", "i lost my credit card")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	out, outW := io.Pipe()
	var stderr bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- runSpeech(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--pool", "1", "--second-pass"}, outW, &stderr, defaultSpeechEngines)
		outW.Close()
	}()
	lines := bufio.NewScanner(out)
	if !lines.Scan() {
		t.Fatalf("no listening line; stderr: %s; err: %v", stderr.String(), <-done)
	}
	addr, ok := strings.CutPrefix(lines.Text(), "listening on ")
	if !ok {
		t.Fatalf("first line %q", lines.Text())
	}
	go io.Copy(io.Discard, out)

	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("healthz: %s", resp.Status)
	}

	c, err := vosk.New(vosk.Config{URLs: []string{"ws://" + addr + "/"}, MaxBacklog: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := c.Transcribe(ctx, speech.TranscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tr.Write(pcm)
	var texts []string
	go tr.Close()
	for p := range tr.Phrases() {
		texts = append(texts, p.Text)
	}
	if err := tr.Err(); err != nil || len(texts) != 1 || !strings.Contains(texts[0], "card") {
		t.Errorf("transcribed %q, err %v", texts, err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop on cancel")
	}
}

func TestSpeechServeUsage(t *testing.T) {
	var stderr bytes.Buffer
	if err := runSpeech(t.Context(), []string{"serve", "extra"}, io.Discard, &stderr, defaultSpeechEngines); err == nil {
		t.Error("positional argument accepted")
	}
}
