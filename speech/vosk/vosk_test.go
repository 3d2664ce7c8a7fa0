package vosk

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"hotline/internal/testenv"
	"hotline/speech"
	"hotline/speech/pocketsphinx"
	"hotline/speech/speechtest"
)

var (
	dictOnce sync.Once
	dict     *pocketsphinx.Dictation
	dictErr  error
)

func dictation(t testing.TB) *pocketsphinx.Dictation {
	t.Helper()
	testenv.NeedFiles(t, "apt-get install pocketsphinx-en-us", pocketsphinx.DefaultModelDir, pocketsphinx.DefaultLM)
	dictOnce.Do(func() { dict, dictErr = pocketsphinx.NewDictation(pocketsphinx.DictationConfig{PoolSize: 2}) })
	if dictErr != nil {
		t.Fatal(dictErr)
	}
	return dict
}

// engineOf wraps the dictation engine for the server.
func engineOf(d *pocketsphinx.Dictation) Engine {
	return OpenFunc(func(o speech.TranscribeOptions) (Stream, error) { return d.Open(o) })
}

func wsURL(s *httptest.Server) string { return "ws" + strings.TrimPrefix(s.URL, "http") }

// collect writes pcm in 20 ms frames, closes and returns the phrases.
func collect(t testing.TB, tr speech.Transcription, pcm []int16, frame int) []speech.Phrase {
	t.Helper()
	for off := 0; off < len(pcm); off += frame {
		if err := tr.Write(pcm[off:min(off+frame, len(pcm))]); err != nil {
			t.Fatal(err)
		}
	}
	var got []speech.Phrase
	done := make(chan struct{})
	go func() {
		defer close(done)
		for p := range tr.Phrases() {
			got = append(got, p)
		}
	}()
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	<-done
	if err := tr.Err(); err != nil {
		t.Fatalf("Err after Close: %v", err)
	}
	return got
}

// Our client against our server over a real socket, with the real
// recognizer: what an agent call's transcript goes through.
func TestClientServerTranscribes(t *testing.T) {
	d := dictation(t)
	pcm := speechtest.Flite(t, "kal", "i lost my credit card")
	srv := httptest.NewServer(NewServer(engineOf(d), nil))
	defer srv.Close()
	// A dead server first: the client moves on to the live one.
	c, err := New(Config{URLs: []string{"ws://127.0.0.1:1", wsURL(srv)}, MaxBacklog: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for _, rate := range []int{8000, 16000} {
		audio := append(append([]int16{}, pcm...), make([]int16, 4000)...)
		frame := 160
		if rate == 16000 {
			audio = upsample(audio)
			frame = 320
		}
		tr, err := c.Transcribe(t.Context(), speech.TranscribeOptions{SampleRate: rate, Label: "test"})
		if err != nil {
			t.Fatal(err)
		}
		got := collect(t, tr, audio, frame)
		t.Logf("%d Hz: %+v", rate, got)
		if len(got) != 1 || !strings.Contains(got[0].Text, "card") {
			t.Fatalf("%d Hz: want one phrase with card, got %+v", rate, got)
		}
		p := got[0]
		end := time.Duration(len(pcm)-2400) * time.Second / speech.SampleRate
		if p.Start < 200*time.Millisecond || p.Start > 700*time.Millisecond || p.End < end-400*time.Millisecond || p.End > end+300*time.Millisecond {
			t.Errorf("%d Hz: phrase %v-%v, speech was 300ms-%v", rate, p.Start, p.End, end)
		}
		if len(p.Words) < 3 || p.Words[len(p.Words)-1].Word != "card" {
			t.Errorf("%d Hz: words %+v", rate, p.Words)
		}
	}
}

// upsample doubles the rate by repeating samples: good enough to test
// the server's 16 kHz path, whose decimator filters the images out.
func upsample(in []int16) []int16 {
	out := make([]int16, 0, 2*len(in))
	for _, s := range in {
		out = append(out, s, s)
	}
	return out
}

// fakeVosk answers as vosk-server does (its JSON is pretty-printed with
// spaces): a partial per audio message, a result with words after the
// third, a result without words after the fifth, and the final result
// after eof.
func fakeVosk(t *testing.T, configs chan<- string, keepOpen bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		defer c.CloseNow()
		n := 0
		for {
			typ, msg, err := c.Read(r.Context())
			if err != nil {
				return
			}
			var out string
			switch {
			case typ == websocket.MessageText && strings.Contains(string(msg), "config"):
				configs <- string(msg)
				continue
			case string(msg) == `{"eof" : 1}`:
				c.Write(r.Context(), websocket.MessageText, []byte("{\n  \"result\" : [{\n      \"conf\" : 0.812345,\n      \"end\" : 2.1,\n      \"start\" : 1.8,\n      \"word\" : \"thanks\"\n    }],\n  \"text\" : \"thanks\"\n}"))
				if keepOpen {
					continue
				}
				c.Close(websocket.StatusNormalClosure, "")
				return
			case typ == websocket.MessageBinary:
				n++
				switch n {
				case 3:
					out = "{\n  \"result\" : [{\n      \"conf\" : 1.000000,\n      \"end\" : 0.9,\n      \"start\" : 0.51,\n      \"word\" : \"card\"\n    }, {\n      \"conf\" : 0.5,\n      \"end\" : 1.2,\n      \"start\" : 0.9,\n      \"word\" : \"Lost\"\n    }],\n  \"text\" : \"card Lost\"\n}"
				case 5:
					out = "{\n  \"text\" : \"no words\"\n}"
				default:
					out = "{\n  \"partial\" : \"car\"\n}"
				}
			default:
				t.Errorf("unexpected message %q", msg)
				return
			}
			c.Write(r.Context(), websocket.MessageText, []byte(out))
		}
	})
}

// A server that keeps the socket open after the final result does not
// hold Close up (keepOpen).
func TestClientParsesVoskReplies(t *testing.T) {
	for _, keepOpen := range []bool{false, true} {
		t.Run(fmt.Sprint("keepOpen=", keepOpen), func(t *testing.T) { testParsesVoskReplies(t, keepOpen) })
	}
}

func testParsesVoskReplies(t *testing.T, keepOpen bool) {
	configs := make(chan string, 1)
	srv := httptest.NewServer(fakeVosk(t, configs, keepOpen))
	defer srv.Close()
	c, _ := New(Config{URLs: []string{wsURL(srv)}, CloseTimeout: 3 * time.Second})
	tr, err := c.Transcribe(t.Context(), speech.TranscribeOptions{Vocabulary: []string{"surrender value"}})
	if err != nil {
		t.Fatal(err)
	}
	// 600 ms: fifteen 40 ms messages.
	start := time.Now()
	got := collect(t, tr, make([]int16, 4800), 160)
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v", d)
	}
	var cfg map[string]map[string]any
	if err := json.Unmarshal([]byte(<-configs), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg["config"]["sample_rate"] != 8000.0 || cfg["config"]["words"] != 1.0 || cfg["config"]["vocabulary"].([]any)[0] != "surrender value" {
		t.Errorf("config %v", cfg)
	}
	want := []speech.Phrase{
		{Text: "card lost", Start: 510 * time.Millisecond, End: 1200 * time.Millisecond, Words: []speech.Word{
			{Word: "card", Start: 510 * time.Millisecond, End: 900 * time.Millisecond, Conf: 1},
			{Word: "lost", Start: 900 * time.Millisecond, End: 1200 * time.Millisecond, Conf: 0.5}}},
		// No words: timed by the audio the reply answered (5 messages).
		{Text: "no words", Start: 1200 * time.Millisecond, End: 5 * chunkDur},
		{Text: "thanks", Start: 1800 * time.Millisecond, End: 2100 * time.Millisecond, Words: []speech.Word{
			{Word: "thanks", Start: 1800 * time.Millisecond, End: 2100 * time.Millisecond, Conf: 0.812345}}},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Text != w.Text || !near(g.Start, w.Start) || !near(g.End, w.End) || len(g.Words) != len(w.Words) {
			t.Errorf("phrase %d: got %+v want %+v", i, g, w)
			continue
		}
		for j := range w.Words {
			if g.Words[j].Word != w.Words[j].Word || !near(g.Words[j].Start, w.Words[j].Start) || !near(g.Words[j].End, w.Words[j].End) || g.Words[j].Conf != w.Words[j].Conf {
				t.Errorf("phrase %d word %d: got %+v want %+v", i, j, g.Words[j], w.Words[j])
			}
		}
	}
}

func near(a, b time.Duration) bool { return a-b < time.Millisecond && b-a < time.Millisecond }

// A server that goes away mid-stream ends the transcription with Err set
// and Phrases closed, without hanging Close.
func TestClientServerLost(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		c.Read(r.Context()) // config
		c.CloseNow()
	}))
	defer srv.Close()
	c, _ := New(Config{URLs: []string{wsURL(srv)}})
	tr, err := c.Transcribe(t.Context(), speech.TranscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case _, ok := <-tr.Phrases():
		if ok {
			t.Fatal("phrase from a dead server")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Phrases not closed when the server went away")
	}
	if tr.Err() == nil {
		t.Error("no Err after the server went away")
	}
	if tr.Write(make([]int16, 160)) == nil {
		t.Error("Write succeeds on a lost stream")
	}
	tr.Close()
}

// A context that ends stops the stream.
func TestClientContextCancel(t *testing.T) {
	srv := httptest.NewServer(NewServer(OpenFunc(func(speech.TranscribeOptions) (Stream, error) { return nopStream{}, nil }), nil))
	defer srv.Close()
	c, _ := New(Config{URLs: []string{wsURL(srv)}})
	ctx, cancel := context.WithCancel(t.Context())
	tr, err := c.Transcribe(ctx, speech.TranscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tr.Write(make([]int16, 1600))
	cancel()
	for range tr.Phrases() {
	}
	if tr.Err() == nil {
		t.Error("no Err after cancel")
	}
	tr.Close()
}

type nopStream struct{}

func (nopStream) Write([]int16) []speech.Phrase { return nil }
func (nopStream) Flush() []speech.Phrase        { return nil }
func (nopStream) Close()                        {}

// echoStream finishes a phrase per write, to test the server's replies
// without a recognizer.
type echoStream struct{ n int }

func (e *echoStream) Write(pcm []int16) []speech.Phrase {
	e.n++
	if e.n%2 == 1 {
		return nil
	}
	return []speech.Phrase{{Text: "hello", Words: []speech.Word{{Word: "hello", Start: time.Second, End: 1500 * time.Millisecond, Conf: 1}}}}
}
func (e *echoStream) Flush() []speech.Phrase { return nil }
func (e *echoStream) Close()                 {}

func TestServerProtocol(t *testing.T) {
	var opened speech.TranscribeOptions
	srv := httptest.NewServer(NewServer(OpenFunc(func(o speech.TranscribeOptions) (Stream, error) {
		opened = o
		return &echoStream{}, nil
	}), nil))
	defer srv.Close()
	ctx := t.Context()
	c, _, err := websocket.Dial(ctx, wsURL(srv), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	c.Write(ctx, websocket.MessageText, []byte(`{"config": {"sample_rate": 16000.0, "words": 1, "vocabulary": ["endorsement"], "max_alternatives": 0}}`))
	var replies []string
	for range 2 {
		c.Write(ctx, websocket.MessageBinary, make([]byte, 320))
		_, m, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		replies = append(replies, string(m))
	}
	c.Write(ctx, websocket.MessageText, []byte(`{"eof" : 1}`))
	_, m, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	replies = append(replies, string(m))
	if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Errorf("after the final result: %v, want a normal close", err)
	}
	want := []string{`{"partial":""}`, `{"result":[{"conf":1,"end":1.5,"start":1,"word":"hello"}],"text":"hello"}`, `{"text":""}`}
	for i := range want {
		if replies[i] != want[i] {
			t.Errorf("reply %d: %s, want %s", i, replies[i], want[i])
		}
	}
	if opened.SampleRate != 16000 || len(opened.Vocabulary) != 1 {
		t.Errorf("opened with %+v", opened)
	}
}

// Bad input gets an error message and a close, never a crash.
func TestServerBadInput(t *testing.T) {
	vs := NewServerConfig(OpenFunc(func(speech.TranscribeOptions) (Stream, error) { return nopStream{}, nil }), nil,
		ServerConfig{MaxMessage: 64 << 10, MaxConns: 2})
	srv := httptest.NewServer(vs)
	defer srv.Close()
	ctx := t.Context()
	for _, c := range []struct {
		name string
		typ  websocket.MessageType
		msg  []byte
		code websocket.StatusCode
	}{
		{"garbage JSON", websocket.MessageText, []byte(`{"config": {`), websocket.StatusUnsupportedData},
		{"not JSON", websocket.MessageText, []byte("hello"), websocket.StatusUnsupportedData},
		{"unknown message", websocket.MessageText, []byte(`{"foo": 1}`), websocket.StatusUnsupportedData},
		{"unsupported rate", websocket.MessageText, []byte(`{"config": {"sample_rate": 44100}}`), websocket.StatusUnsupportedData},
		{"wrong type", websocket.MessageText, []byte(`{"config": {"sample_rate": "fast"}}`), websocket.StatusUnsupportedData},
		{"odd audio", websocket.MessageBinary, []byte{1, 2, 3}, websocket.StatusUnsupportedData},
		{"oversized", websocket.MessageBinary, make([]byte, 100<<10), websocket.StatusMessageTooBig},
	} {
		conn, _, err := websocket.Dial(ctx, wsURL(srv), nil)
		if err != nil {
			t.Fatal(err)
		}
		conn.Write(ctx, c.typ, c.msg)
		var got []string
		var rerr error
		for {
			_, m, err := conn.Read(ctx)
			if err != nil {
				rerr = err
				break
			}
			got = append(got, string(m))
		}
		if websocket.CloseStatus(rerr) != c.code {
			t.Errorf("%s: closed with %v, want %v", c.name, rerr, c.code)
		}
		if c.code == websocket.StatusUnsupportedData && (len(got) != 1 || !strings.Contains(got[0], `"error"`)) {
			t.Errorf("%s: replies %q, want one error", c.name, got)
		}
		t.Logf("%s: %q %v", c.name, got, rerr)
		conn.CloseNow()
	}
	// The connection limit refuses a third stream with 503, once the
	// handlers of the streams above have returned.
	for deadline := time.Now().Add(5 * time.Second); vs.Conns() > 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	var conns []*websocket.Conn
	for range 2 {
		conn, _, err := websocket.Dial(ctx, wsURL(srv), nil)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, conn)
	}
	_, resp, err := websocket.Dial(ctx, wsURL(srv), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("third stream: %v %v, want 503", resp, err)
	}
	for _, c := range conns {
		c.CloseNow()
	}
}

// A server that stops answering makes the client hold audio back and
// then drop it, counted, rather than queue it in socket buffers; Write
// never blocks and Close is bounded.
func TestClientServerBehind(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			if _, _, err := c.Read(r.Context()); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	c, _ := New(Config{URLs: []string{wsURL(srv)}, MaxBacklog: 200 * time.Millisecond, CloseTimeout: 500 * time.Millisecond})
	tr, err := c.Transcribe(t.Context(), speech.TranscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for range 100 { // 2 s
		if err := tr.Write(make([]int16, 160)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("writing took %v", d)
	}
	tr.Close()
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Close took %v", d)
	}
	dropped := tr.(interface{ Dropped() time.Duration }).Dropped()
	if dropped < 1500*time.Millisecond {
		t.Errorf("dropped %v of 2 s, want at least 1.5 s (0.2 s in flight, 0.2 s queued)", dropped)
	}
	if tr.Err() == nil {
		t.Error("no Err when the final result never came")
	}
}

// Prepare opens a stream with the vocabulary and ends it: the engine
// sees the vocabulary before any call, and Prepare returns once the
// server has answered.
func TestPrepare(t *testing.T) {
	opened := make(chan []string, 1)
	srv := httptest.NewServer(NewServer(OpenFunc(func(o speech.TranscribeOptions) (Stream, error) {
		opened <- o.Vocabulary
		return nopStream{}, nil
	}), nil))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := Prepare(ctx, wsURL(srv), []string{"surrender value", "endorsement"}); err != nil {
		t.Fatal(err)
	}
	select {
	case v := <-opened:
		if strings.Join(v, "|") != "surrender value|endorsement" {
			t.Errorf("the engine got vocabulary %q", v)
		}
	default:
		t.Fatal("Prepare returned before the server opened a stream")
	}
	if err := Prepare(ctx, "ws://127.0.0.1:1/", []string{"x"}); err == nil {
		t.Error("Prepare to a closed port: no error")
	}
}
