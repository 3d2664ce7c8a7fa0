package e2e

import (
	"fmt"
	"testing"
	"time"
)

// TestMonitor: a supervisor monitors alice's call from the wallboard
// socket with a browser of their own. Tones: caller 440 Hz, alice 1 kHz,
// supervisor 700 Hz. Listen: the supervisor hears caller and agent, nobody
// hears the supervisor. Whisper: alice hears the supervisor, the caller
// does not. Barge: both do. Stop: back to a two-party call.
func TestMonitor(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverOptions{Name: "monitor"})
	alice := demoDesk(t, srv, "alice", true)
	c := answerCall(t, srv, alice)
	ua, callID, ab := c.ua, c.id, c.browser

	boardURL := fmt.Sprintf("ws://127.0.0.1:%d/api/v1/wallboard/ws", srv.HTTPPort)
	// An agent cannot open the wallboard, so cannot monitor.
	if _, res, err := dialWS(t.Context(), boardURL, apiLogin(t, srv, "demo", "bob", "bob-demo"), fmt.Sprintf("http://127.0.0.1:%d", srv.HTTPPort)); err == nil || res == nil || res.StatusCode != 403 {
		t.Errorf("an agent opening the wallboard socket: %v %v, want 403", res, err)
	}
	// Another tenant's supervisor cannot find the call.
	dave := openWS(t, srv, boardURL, apiLogin(t, srv, "acme", "dave", "dave-demo"), "dave")
	dave.send(map[string]any{"type": "monitor", "call": callID, "mode": "listen"})
	dave.expect("error", 5*time.Second, nil)

	sam := openWS(t, srv, boardURL, apiLogin(t, srv, "demo", "sam", "sam-demo"), "sam")
	sam.send(map[string]any{"type": "monitor", "call": callID, "mode": "listen"})
	so := sam.expect("webrtc_offer", 10*time.Second, nil)
	sb := newFakeBrowserTone(t, 700)
	sam.send(map[string]any{"type": "webrtc_answer", "sdp": sb.answer(t, so["sdp"].(string))})
	if m := sam.expect("monitoring", 10*time.Second, nil); m["mode"] != "listen" {
		t.Fatalf("monitoring %v: want listen", m)
	}

	// check asserts who hears which tones (amplitudes relative to the
	// clean tone of a two-party call).
	type heard struct{ want, not []float64 }
	check := func(mode string, sup, agent, caller heard) {
		t.Helper()
		time.Sleep(400 * time.Millisecond)
		type party struct {
			who string
			got []int16
			h   heard
		}
		parties := []party{
			{"alice", ab.recent(t, 8000, 10*time.Second), agent},
			{"the caller", callerRecent(t, ua, 8000, 10*time.Second), caller},
		}
		if len(sup.want) > 0 {
			parties = append(parties, party{"the supervisor", sb.recent(t, 8000, 10*time.Second), sup})
		}
		for _, c := range parties {
			for _, f := range c.h.want {
				if a := toneAmp(c.got, f); a < 1500 {
					t.Errorf("%s: %s should hear %.0f Hz: amplitude %.0f", mode, c.who, f, a)
				}
			}
			for _, f := range c.h.not {
				if a := toneAmp(c.got, f); a > 800 {
					t.Errorf("%s: %s should not hear %.0f Hz: amplitude %.0f", mode, c.who, f, a)
				}
			}
			t.Logf("%s: %s hears 440 %.0f, 1000 %.0f, 700 %.0f", mode, c.who, toneAmp(c.got, 440), toneAmp(c.got, 1000), toneAmp(c.got, 700))
		}
	}
	check("listen",
		heard{want: []float64{440, 1000}},
		heard{want: []float64{440}, not: []float64{700}},
		heard{want: []float64{1000}, not: []float64{700}})

	sam.send(map[string]any{"type": "monitor_mode", "mode": "whisper"})
	check("whisper",
		heard{want: []float64{440, 1000}},
		heard{want: []float64{440, 700}},
		heard{want: []float64{1000}, not: []float64{700}})

	sam.send(map[string]any{"type": "monitor_mode", "mode": "barge"})
	check("barge",
		heard{want: []float64{440, 1000}},
		heard{want: []float64{440, 700}},
		heard{want: []float64{1000, 700}})

	// A second monitor of the same call is refused while this one runs.
	sam.send(map[string]any{"type": "monitor", "call": callID, "mode": "listen"})
	sam.expect("error", 5*time.Second, nil)

	sam.send(map[string]any{"type": "monitor_stop"})
	sam.expect("monitor_ended", 10*time.Second, nil)
	check("after stop",
		heard{},
		heard{want: []float64{440}, not: []float64{700}},
		heard{want: []float64{1000}, not: []float64{700}})

	alice.send(map[string]any{"type": "hangup", "call": callID})
	alice.expect("call_ended", 10*time.Second, nil)
	ua.Bye(demoNumber)
}
