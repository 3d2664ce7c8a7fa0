package e2e

// baresip as the caller: a real softphone's SIP and RTP stack, with the
// aufile module as its microphone, the sndfile module recording what it
// hears, and ctrl_tcp to dial, press a key and hang up.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"hotline/store"
)

type baresip struct {
	t      testing.TB
	dir    string
	cmd    *exec.Cmd
	out    *logBuffer
	conn   net.Conn
	events chan map[string]any
	resp   chan map[string]any
	exited chan struct{}
	user   string
}

func startBaresip(t testing.TB, user string) *baresip {
	t.Helper()
	// The microphone: 60 s of faint noise (a little above silence, so the
	// call carries real audio both ways). aufile ends the call at the end
	// of its file, so it outlasts the call.
	mic := make([]int16, 60*sampleRate)
	for i := range mic {
		mic[i] = int16(rand.IntN(61) - 30)
	}
	return startBaresipMic(t, user, mic)
}

// startBaresipMic starts baresip with mic (8 kHz) as its microphone.
func startBaresipMic(t testing.TB, user string, mic []int16) *baresip {
	t.Helper()
	needTools(t, "baresip")
	dir := t.TempDir()
	// SIP on UDP and TCP at this port, and TLS at the next one.
	sipPort := allocPorts(t, 2, true)
	ctrlPort := allocPorts(t, 1, true)
	rtpLo := allocPorts(t, 10, false)
	rec := filepath.Join(dir, "rec")
	if err := os.MkdirAll(rec, 0o755); err != nil {
		t.Fatal(err)
	}
	micPath := filepath.Join(dir, "mic.wav")
	if err := writeWAV(micPath, mic, sampleRate); err != nil {
		t.Fatal(err)
	}
	modules := "/usr/lib/baresip/modules"
	cfg := fmt.Sprintf(`# baresip for the Hotline e2e tests
poll_method		epoll
sip_listen		127.0.0.1:%d
call_local_timeout	120
call_max_calls		1
net_interface		127.0.0.1
audio_player		aubridge,e2e
audio_source		aufile,%s
audio_alert		aubridge,e2e
ausrc_srate		8000
auplay_srate		8000
ausrc_channels		1
auplay_channels		1
rtp_ports		%d-%d
rtcp_mux		no
jitter_buffer_delay	1-5
module_path		%s
module			g711.so
module			aufile.so
module			aubridge.so
module			sndfile.so
module_app		account.so
module_app		menu.so
module_app		ctrl_tcp.so
ctrl_tcp_listen		127.0.0.1:%d
snd_path		%s
`, sipPort, micPath, rtpLo, rtpLo+9, modules, ctrlPort, rec)
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	acct := fmt.Sprintf("<sip:%s@127.0.0.1>;regint=0;audio_codecs=PCMU\n", user)
	if err := os.WriteFile(filepath.Join(dir, "accounts"), []byte(acct), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "contacts"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	b := &baresip{t: t, dir: dir, out: &logBuffer{}, events: make(chan map[string]any, 64),
		resp: make(chan map[string]any, 16), exited: make(chan struct{}), user: user}
	b.cmd = exec.Command("baresip", "-f", dir, "-t", "90")
	b.cmd.Stdout = b.out
	b.cmd.Stderr = b.out
	b.cmd.Stdin = nil
	if err := b.cmd.Start(); err != nil {
		t.Fatalf("start baresip: %v", err)
	}
	go func() { _ = b.cmd.Wait(); close(b.exited) }()
	t.Cleanup(func() {
		if b.conn != nil {
			b.conn.Close()
		}
		select {
		case <-b.exited:
		default:
			_ = b.cmd.Process.Kill()
			<-b.exited
		}
		if t.Failed() {
			t.Logf("--- baresip output ---\n%s", tailLines(b.out.String(), 80))
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", ctrlPort))
		if err == nil {
			b.conn = c
			break
		}
		select {
		case <-b.exited:
			t.Fatalf("baresip exited at start:\n%s", b.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("baresip's ctrl_tcp did not listen within 10s:\n%s", b.out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	go b.readLoop()
	return b
}

// ctrl_tcp speaks JSON in netstrings: "LEN:{...},".
func (b *baresip) readLoop() {
	r := bufio.NewReader(b.conn)
	for {
		lenStr, err := r.ReadString(':')
		if err != nil {
			return
		}
		n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(lenStr, ":")))
		if err != nil || n < 0 || n > 1<<20 {
			return
		}
		buf := make([]byte, n+1)
		if _, err := io.ReadFull(r, buf); err != nil {
			return
		}
		var m map[string]any
		if err := json.Unmarshal(buf[:n], &m); err != nil {
			continue
		}
		fmt.Fprintf(b.out, "[ctrl_tcp] %s\n", buf[:n])
		if m["event"] == true {
			select {
			case b.events <- m:
			default:
			}
		} else {
			select {
			case b.resp <- m:
			default:
			}
		}
	}
}

// command runs a baresip command (as typed after '/') and waits for its
// response.
func (b *baresip) command(name, params string) map[string]any {
	b.t.Helper()
	token := randHex(4)
	js, _ := json.Marshal(map[string]string{"command": name, "params": params, "token": token})
	fmt.Fprintf(b.out, "[ctrl_tcp] >> %s\n", js)
	if _, err := fmt.Fprintf(b.conn, "%d:%s,", len(js), js); err != nil {
		b.t.Fatalf("baresip command %s: %v", name, err)
	}
	timeout := time.After(5 * time.Second)
	for {
		select {
		case m := <-b.resp:
			if m["token"] == token {
				if m["ok"] != true {
					b.t.Errorf("baresip command %s %s: %v", name, params, m)
				}
				return m
			}
		case <-timeout:
			b.t.Fatalf("baresip command %s: no response in 5s", name)
			return nil
		}
	}
}

// waitEvent waits for a ctrl_tcp event of a type.
func (b *baresip) waitEvent(typ string, timeout time.Duration) map[string]any {
	b.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case m := <-b.events:
			if m["type"] == typ {
				return m
			}
			if m["type"] == "CALL_CLOSED" && typ != "CALL_CLOSED" {
				b.t.Fatalf("baresip: call closed while waiting for %s: %v", typ, m)
			}
		case <-deadline:
			b.t.Fatalf("baresip: no %s event within %v", typ, timeout)
			return nil
		}
	}
}

// recording is the WAV the sndfile module wrote of what baresip heard
// (the decoder side).
func (b *baresip) recording() ([]int16, int, string) {
	b.t.Helper()
	files, _ := filepath.Glob(filepath.Join(b.dir, "rec", "*.wav"))
	var dec []string
	for _, f := range files {
		if strings.Contains(filepath.Base(f), "dec") {
			dec = append(dec, f)
		}
	}
	if len(dec) != 1 {
		b.t.Fatalf("want one recording of the received audio (dump-*-dec.wav) in %s, found %v", filepath.Join(b.dir, "rec"), files)
	}
	s, rate, err := readWAV(dec[0])
	if err != nil {
		b.t.Fatal(err)
	}
	return s, rate, dec[0]
}

// callByCaller finds the CDR of the call from a caller number.
func (s *server) callByCaller(t testing.TB, from string, timeout time.Duration) *store.CallRecord {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		calls, err := s.DB.ListCalls(ctx, "demo", 1000)
		cancel()
		if err != nil {
			t.Fatalf("list calls: %v", err)
		}
		for i := range calls {
			if calls[i].FromNumber == from && calls[i].EndedAt != nil {
				return &calls[i]
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no finished call from %s after %v\n%s", from, timeout, s.logTail(30))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// 3. baresip calls in, hears the welcome prompt, presses 1 (cards) and
// hangs up.
func testBaresip(t *testing.T, srv *server) {
	user := fmt.Sprintf("+1555800%04d", rand.IntN(10000))
	b := startBaresip(t, user)

	b.command("dial", fmt.Sprintf("sip:%s@127.0.0.1:%d", demoNumber, srv.SIPPort))
	est := b.waitEvent("CALL_ESTABLISHED", 10*time.Second)
	established := time.Now()
	t.Logf("baresip: call established: %v", est["param"])

	time.Sleep(menuOpens(t))
	b.command("sndcode", "1")
	// Hear the cards menu start, then hang up.
	time.Sleep(2 * time.Second)
	b.command("hangup", "")
	b.waitEvent("CALL_CLOSED", 10*time.Second)
	talked := time.Since(established)
	b.command("quit", "")
	select {
	case <-b.exited:
	case <-time.After(10 * time.Second):
		t.Errorf("baresip did not quit")
	}

	c := srv.callByCaller(t, user, 10*time.Second)
	srv.report(t, c.SIPCallID)
	ev := srv.settledEvents(t, c)
	checkCallerHungUp(t, c)
	if got := menuChoices(ev); !slices.Equal(got, []string{"main_menu:1->cards_menu"}) {
		t.Errorf("menu choices = %v, want [main_menu:1->cards_menu]", got)
	}
	if keys := keysHeard(ev); !slices.Equal(keys, []string{"1/rfc4733"}) {
		t.Errorf("keys received = %v, want [1/rfc4733] (baresip sends RFC 4733 events)", keys)
	}
	if c.PacketsReceived < 50 {
		t.Errorf("rtp_packets_received = %d: baresip's microphone stream did not arrive", c.PacketsReceived)
	}

	// What baresip heard starts with the welcome prompt.
	rec, rate, path := b.recording()
	if rate != sampleRate {
		rec = resampleTo8k(rec, rate)
	}
	got := samplesDuration(len(rec), sampleRate)
	t.Logf("baresip recorded %v of received audio (%s, %d Hz) over a %v call", got.Round(10*time.Millisecond), filepath.Base(path), rate, talked.Round(10*time.Millisecond))
	welcome := mustPrompt(t, promptPath("welcome"))
	m := matchAudio(welcome, rec, 2*time.Second)
	t.Logf("welcome prompt in baresip's recording: %s", m)
	if m.Lag < 0 || m.NCC < 0.8 {
		t.Errorf("baresip did not hear the welcome prompt: %s", m)
	}
	if d := m.RecActive - m.RefActive; d < -m.RefActive/5 || d > m.RefActive/5 {
		t.Errorf("speech in the recording lasts %v where the prompt has %v", m.RecActive, m.RefActive)
	}
	if m.LevelDiffDB < -6 || m.LevelDiffDB > 6 {
		t.Errorf("recorded prompt level differs by %.1f dB", m.LevelDiffDB)
	}
	// The measure tells prompts apart: another prompt does not match.
	other := mustPrompt(t, promptPath("goodbye"))
	other = other[:min(len(other), len(welcome))]
	if o := matchAudio(other, rec, 0); o.NCC > 0.5 {
		t.Errorf("the goodbye prompt matches the start of the recording too (%s): the comparison proves nothing", o)
	}
	if testing.Verbose() {
		_ = writeWAV(filepath.Join(t.TempDir(), "heard.wav"), rec, sampleRate)
	}
}

// resampleTo8k is a plain decimation for recordings made at a multiple of
// 8 kHz (averaging as a crude low-pass; envelopes are all we compare).
func resampleTo8k(s []int16, rate int) []int16 {
	if rate%sampleRate != 0 || rate == sampleRate {
		return s
	}
	k := rate / sampleRate
	out := make([]int16, len(s)/k)
	for i := range out {
		sum := 0
		for j := range k {
			sum += int(s[i*k+j])
		}
		out[i] = int16(sum / k)
	}
	return out
}
