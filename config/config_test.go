package config

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

const good = `
sip: {listen: ":5070"}
rtp: {ports: "30000-30100", timeout: 5s}
tenants:
  - id: demo
    timezone: America/New_York
    trunks: {allow: ["127.0.0.1", "10.0.0.0/8"]}
    prompts: prompts/demo
    flows: {main: flows/main.yaml}
    numbers:
      - {number: "+1 (555) 0100", flow: main}
`

func TestParseGood(t *testing.T) {
	c, err := Parse("/etc/hotline/h.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	tn := c.Tenants[0]
	if c.RTP.PortMin != 30000 || c.RTP.PortMax != 30100 || tn.Numbers[0].Number != "+15550100" ||
		tn.Prompts != "/etc/hotline/prompts/demo" || tn.Flows["main"] != "/etc/hotline/flows/main.yaml" || len(tn.Allow) != 2 {
		t.Fatalf("config = %+v / %+v", c.RTP, tn)
	}
	if c.HTTP.Listen != ":8080" || c.Limits.MaxCalls == 0 {
		t.Fatalf("defaults not applied: %+v", c)
	}
}

func TestParseErrorsCarryFileAndLine(t *testing.T) {
	bad := strings.Join([]string{
		"rtp: {ports: \"9-8\"}",                    // 1
		"tenants:",                                 // 2
		"  - id: Demo!",                            // 3
		"    timezone: Mars/Olympus",               // 4
		"    trunks: {allow: [\"not-an-ip\"]}",     // 5
		"    prompts: p",                           // 6
		"    flows: {main: f.yaml}",                // 7
		"    numbers:",                             // 8
		"      - {number: \"abc\", flow: main}",    // 9
		"      - {number: \"+1555\", flow: other}", // 10
	}, "\n")
	_, err := Parse("h.yaml", []byte(bad))
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{"h.yaml:1: rtp.ports", "h.yaml:3: tenant id", "h.yaml:4:", "Mars/Olympus", "h.yaml:5:", "h.yaml:9:", "h.yaml:10:", `flow "other"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestParseUnknownKeyAndSyntax(t *testing.T) {
	_, err := Parse("h.yaml", []byte("sip:\n  lissen: x\n"))
	if err == nil || !strings.Contains(err.Error(), "h.yaml:2:") || !strings.Contains(err.Error(), "lissen") {
		t.Fatalf("err = %v", err)
	}
	_, err = Parse("h.yaml", []byte("sip: [\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "h.yaml:") {
		t.Fatalf("err = %v", err)
	}
}

func TestNormalizeNumber(t *testing.T) {
	for in, want := range map[string]string{"+1 555-0100": "+15550100", "15550100": "15550100", "1+2": "", "+": "", "abc": ""} {
		if got := NormalizeNumber(in); got != want {
			t.Errorf("NormalizeNumber(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseQueues(t *testing.T) {
	c, err := Parse("h.yaml", []byte(good+`    queues:
      - {name: cards, skills: {cards: 30}, ring_timeout: 15s, announce_every: 20s}
      - {name: general, strategy: ring_all, max_wait: 5m, overflow: cards, announce_every: -1s}
      - {name: quiet}
`))
	if err != nil {
		t.Fatal(err)
	}
	qs := c.Tenants[0].Queues
	if len(qs) != 3 || qs[0].Strategy != "longest_idle" || qs[0].Skills["cards"] != 30 ||
		qs[0].AnnounceEvery != Duration(20*time.Second) || qs[1].AnnounceEvery != 0 ||
		qs[2].AnnounceEvery != Duration(DefaultAnnounceEvery) {
		t.Fatalf("queues = %+v", qs)
	}
}

func TestParseQueueErrors(t *testing.T) {
	bad := good + strings.Join([]string{
		"    queues:", // 12
		"      - name: cards",
		"        strategy: fastest",    // 14
		"        skills: {cards: 0}",   // 15
		"        overflow: cards",      // 16
		"      - name: cards",          // 17
		"        overflow: nowhere",    // 18
		"        max_wait: 1m",         //
		"        announce_every: 10ms", // 20
		"        wrap_up: -1s",         // 21
	}, "\n")
	_, err := Parse("h.yaml", []byte(bad))
	if err == nil {
		t.Fatal("want errors")
	}
	// good starts with an empty line, so the queues begin on line 12.
	for _, want := range []string{"h.yaml:14: tenant demo: queue cards: unknown strategy", "h.yaml:15:", "h.yaml:16:", "overflows to itself",
		"h.yaml:17:", "defined twice", "h.yaml:18:", `unknown queue "nowhere"`, "h.yaml:20:", "h.yaml:21:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestWebRTCSection(t *testing.T) {
	ok := good + `
webrtc:
  ports: "40000-40999"
  ice_servers:
    - urls: ["stun:stun.example.org:3478"]
    - urls: ["turn:turn.example.org:3478?transport=udp"]
      username: agent
      credential: secret
`
	c, err := Parse("h.yaml", []byte(ok))
	if err != nil {
		t.Fatal(err)
	}
	if c.WebRTC.PortMin != 40000 || c.WebRTC.PortMax != 40999 || len(c.WebRTC.ICEServers) != 2 || c.WebRTC.ICEServers[1].Username != "agent" {
		t.Fatalf("webrtc = %+v", c.WebRTC)
	}
	bad := good + `
webrtc:
  ports: "5-4"
  ice_servers:
    - urls: ["http://stun.example.org"]
    - urls: ["turn:turn.example.org"]
    - {}
`
	_, err = Parse("h.yaml", []byte(bad))
	if err == nil {
		t.Fatal("bad webrtc section accepted")
	}
	base := strings.Count(good, "\n")
	for _, want := range []string{
		fmt.Sprintf("h.yaml:%d: webrtc.ports", base+3),
		fmt.Sprintf("h.yaml:%d: webrtc.ice_servers: \"http://stun.example.org\"", base+5),
		fmt.Sprintf("h.yaml:%d: webrtc.ice_servers: TURN server", base+6),
		fmt.Sprintf("h.yaml:%d: webrtc.ice_servers: an entry without urls", base+7),
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestParseSpeech(t *testing.T) {
	c, err := Parse("/etc/hotline/h.yaml", []byte(good+"speech: {engine: pocketsphinx, model: models/en-us, synthesizer: espeak, voice: en-us}\n"))
	if err != nil {
		t.Fatal(err)
	}
	sp := c.Speech
	if sp.Engine != SpeechPocketSphinx || sp.Model != "/etc/hotline/models/en-us" || sp.Pool != 0 ||
		sp.Synthesizer != SpeechEspeak || sp.Voice != "en-us" {
		t.Fatalf("speech = %+v", sp)
	}
	c, err = Parse("h.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if c.Speech.Engine != SpeechNone || c.Speech.Synthesizer != SpeechNone {
		t.Fatalf("default speech = %+v, want none", c.Speech)
	}
	bad := good + strings.Join([]string{
		"speech:",                 // 12
		"  engine: sphinx",        // 13
		"  pool: -1",              // 14
		"  synthesizer: festival", // 15
	}, "\n")
	_, err = Parse("h.yaml", []byte(bad))
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{`h.yaml:13: speech.engine: unknown engine "sphinx"`, "h.yaml:14: speech.pool", `h.yaml:15: speech.synthesizer: unknown synthesizer "festival"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestRecordingsConfig(t *testing.T) {
	cfg, err := Parse("r.yaml", []byte(`
recordings:
  retention_days: -3
tenants:
  - id: demo
    numbers: [{number: "+15550100", flow: main}]
    flows: {main: main.yaml}
    recording: {key_file: k, key_env: K}
`))
	if err == nil {
		t.Fatalf("parsed %+v, want errors", cfg)
	}
	for _, want := range []string{"r.yaml:3: recordings.retention_days", "r.yaml:8: tenant demo: recording has both key_file and key_env"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestQueueServiceLevelConfig(t *testing.T) {
	_, err := Parse("q.yaml", []byte(`
tenants:
  - id: demo
    numbers: [{number: "+15550100", flow: main}]
    flows: {main: main.yaml}
    queues:
      - name: general
        service_level: -1s
        sl_formula: sometimes
`))
	if err == nil {
		t.Fatal("parsed, want errors")
	}
	for _, want := range []string{"q.yaml:8: tenant demo: queue general: service_level must not be negative", `q.yaml:9: tenant demo: queue general: sl_formula "sometimes"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
