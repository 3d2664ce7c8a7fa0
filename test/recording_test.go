package e2e

import (
	"encoding/binary"
	"io"
	"net/http"
	"testing"
	"time"
)

// recMeta is GET /api/v1/calls/{id}/recording/meta, the parts read here.
type recMeta struct {
	Status      string   `json:"status"`
	DurationMs  int64    `json:"duration_ms"`
	AgentIDs    []string `json:"agent_ids"`
	PausedSpans []struct {
		StartMs int64 `json:"start_ms"`
		EndMs   int64 `json:"end_ms"`
	} `json:"paused_spans"`
}

// TestRecording: an agent call is recorded in stereo (caller 440 Hz left,
// agent 1 kHz right), the agent's pause leaves silence exactly over the
// paused span, hold music lands on the right channel, and playback is for
// the tenant's supervisors and the call's agent only.
func TestRecording(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverOptions{Name: "recording"})
	alice := demoDesk(t, srv, "alice", true)
	c := answerCall(t, srv, alice)
	ua, callID := c.ua, c.id

	time.Sleep(time.Second)
	alice.send(map[string]any{"type": "recording", "call": callID, "paused": true})
	alice.expect("recording", 5*time.Second, func(m map[string]any) bool { return m["paused"] == true })
	time.Sleep(1500 * time.Millisecond)
	alice.send(map[string]any{"type": "recording", "call": callID, "paused": false})
	alice.expect("recording", 5*time.Second, func(m map[string]any) bool { return m["paused"] == false })
	time.Sleep(1500 * time.Millisecond)
	alice.send(map[string]any{"type": "hold", "call": callID, "on": true})
	alice.expect("held", 5*time.Second, func(m map[string]any) bool { return m["on"] == true })
	time.Sleep(1500 * time.Millisecond)
	alice.send(map[string]any{"type": "hold", "call": callID, "on": false})
	alice.expect("held", 5*time.Second, func(m map[string]any) bool { return m["on"] == false })
	time.Sleep(time.Second)
	ua.Bye(demoNumber)
	alice.expect("call_ended", 10*time.Second, nil)

	sam := apiLogin(t, srv, "demo", "sam", "sam-demo")
	var meta recMeta
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		var v struct {
			Recording recMeta `json:"recording"`
		}
		if code := sam.get(t, "/api/v1/calls/"+callID+"/recording/meta", &v); code == 200 && v.Recording.Status == "complete" {
			meta = v.Recording
			break
		}
	}
	if meta.Status != "complete" || len(meta.PausedSpans) != 1 {
		t.Fatalf("recording meta %+v: want complete with one paused span", meta)
	}
	t.Logf("recording: %d ms, paused %v", meta.DurationMs, meta.PausedSpans)

	left, right := fetchStereo(t, sam, "/api/v1/calls/"+callID+"/recording")
	if d := time.Duration(len(left)) * time.Second / sampleRate; d < 5*time.Second || d > 9*time.Second {
		t.Errorf("recording lasts %v, want about 6.5 s (answer to hang-up)", d)
	}
	ms := func(v int64) int { return int(v) * sampleRate / 1000 }
	span := meta.PausedSpans[0]
	if got := span.EndMs - span.StartMs; got < 1300 || got > 1800 {
		t.Errorf("paused span %d ms, want about 1.5 s", got)
	}
	// Silence exactly over the span, audio right before and after it.
	for i := ms(span.StartMs); i < ms(span.EndMs) && i < len(left); i++ {
		if left[i] != 0 || right[i] != 0 {
			t.Fatalf("sample %d (%.3f s) inside the paused span is not silent: %d/%d", i, float64(i)/sampleRate, left[i], right[i])
		}
	}
	before := ms(span.StartMs) - sampleRate/2
	if before < 0 {
		before = 0
	}
	wantTone(t, "left before the pause (the caller)", left[before:ms(span.StartMs)], 440, 1000)
	wantTone(t, "right before the pause (alice)", right[before:ms(span.StartMs)], 1000, 440)
	after := ms(span.EndMs) + sampleRate/10
	wantTone(t, "left after the pause", left[after:after+sampleRate/2], 440, 1000)
	wantTone(t, "right after the pause", right[after:after+sampleRate/2], 1000, 440)
	// Hold: the caller keeps talking (left) and hears music (right).
	hold := after + sampleRate*3/2 + sampleRate/2
	if hold+sampleRate/2 < len(right) {
		seg := right[hold : hold+sampleRate/2]
		if a := toneAmp(seg, 1000); a > 1500 || rms(seg) < 100 {
			t.Errorf("right channel on hold: 1 kHz %.0f, level %.0f: want the music, not alice", a, rms(seg))
		}
	}

	// Who may listen.
	if code := apiLogin(t, srv, "demo", "alice", "alice-demo").get(t, "/api/v1/calls/"+callID+"/recording/meta", nil); code != 200 {
		t.Errorf("alice (the call's agent): %d, want 200", code)
	}
	if code := apiLogin(t, srv, "demo", "bob", "bob-demo").get(t, "/api/v1/calls/"+callID+"/recording/meta", nil); code != http.StatusForbidden {
		t.Errorf("bob (another agent): %d, want 403", code)
	}
	if code := apiLogin(t, srv, "acme", "dave", "dave-demo").get(t, "/api/v1/calls/"+callID+"/recording/meta", nil); code != http.StatusNotFound {
		t.Errorf("dave (another tenant's supervisor): %d, want 404", code)
	}
	// A range request.
	req, _ := http.NewRequest(http.MethodGet, sam.base+"/api/v1/calls/"+callID+"/recording", nil)
	req.AddCookie(sam.cookie)
	req.Header.Set("Range", "bytes=44-1043")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusPartialContent || len(body) != 1000 {
		t.Errorf("range request: %s with %d bytes, want 206 with 1000", res.Status, len(body))
	}
}

// fetchStereo downloads a 16-bit stereo WAV and splits its channels.
func fetchStereo(t *testing.T, c *apiClient, path string) (left, right []int16) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.base+path, nil)
	req.AddCookie(c.cookie)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || len(data) < 44 || string(data[:4]) != "RIFF" || string(data[8:12]) != "WAVE" {
		t.Fatalf("GET %s: %s, %d bytes: not a WAV", path, res.Status, len(data))
	}
	// Walk the chunks to fmt and data.
	var channels, bits int
	var pcm []byte
	for off := 12; off+8 <= len(data); {
		id, size := string(data[off:off+4]), int(binary.LittleEndian.Uint32(data[off+4:off+8]))
		body := data[off+8 : min(len(data), off+8+size)]
		switch id {
		case "fmt ":
			channels, bits = int(binary.LittleEndian.Uint16(body[2:4])), int(binary.LittleEndian.Uint16(body[14:16]))
			if rate := binary.LittleEndian.Uint32(body[4:8]); rate != sampleRate {
				t.Fatalf("recording at %d Hz, want %d", rate, sampleRate)
			}
		case "data":
			pcm = body
		}
		off += 8 + size + size%2
	}
	if channels != 2 || bits != 16 {
		t.Fatalf("recording has %d channels of %d bits, want stereo 16-bit", channels, bits)
	}
	n := len(pcm) / 4
	left, right = make([]int16, n), make([]int16, n)
	for i := range n {
		left[i] = int16(binary.LittleEndian.Uint16(pcm[4*i:]))
		right[i] = int16(binary.LittleEndian.Uint16(pcm[4*i+2:]))
	}
	return left, right
}

// TestRecordingSurvivesKill: the server is killed (SIGKILL) mid-call and
// started again: the recording is repaired at startup and plays to within
// a second of the kill, and the call's record is closed with a clear cause.
func TestRecordingSurvivesKill(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverOptions{Name: "rec-kill"})
	alice := demoDesk(t, srv, "alice", true)
	c := answerCall(t, srv, alice)
	ua, callID := c.ua, c.id
	connected := c.connected
	time.Sleep(1500 * time.Millisecond)
	// Both directions still flow right before the kill (a loaded machine
	// can stall the test's caller), so the recording's last second holds
	// them.
	wantTone(t, "alice still hears the caller", c.browser.recent(t, 4000, 10*time.Second), 440, 1000)
	callerHearsTone(t, "the caller still hears alice", ua, 1000, 440)

	killed := time.Now()
	srv.kill9(t)
	srv.restart(t)

	sam := apiLogin(t, srv, "demo", "sam", "sam-demo")
	var v struct {
		Recording recMeta `json:"recording"`
	}
	if code := sam.get(t, "/api/v1/calls/"+callID+"/recording/meta", &v); code != 200 {
		t.Fatalf("recording meta after the restart: %d", code)
	}
	want := killed.Sub(connected)
	got := time.Duration(v.Recording.DurationMs) * time.Millisecond
	t.Logf("recording after kill -9: %s, %v (the call was killed %v after the answer)", v.Recording.Status, got, want.Round(time.Millisecond))
	if v.Recording.Status != "incomplete" {
		t.Errorf("status %q, want incomplete", v.Recording.Status)
	}
	if d := got - want; d < -time.Second || d > time.Second {
		t.Errorf("the recording plays %v, the call lasted %v until the kill: want within a second", got, want)
	}
	left, right := fetchStereo(t, sam, "/api/v1/calls/"+callID+"/recording")
	if n := len(left); n > sampleRate {
		wantTone(t, "left, the last second", left[n-sampleRate:], 440, 1000)
		wantTone(t, "right, the last second", right[n-sampleRate:], 1000, 440)
	}
	cdr := srv.findCall(t, ua.CallID, true, 10*time.Second)
	if cdr.HangupCause != "server-restart" {
		t.Errorf("the killed call's record: cause %q, want server-restart", cdr.HangupCause)
	}
}
