package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"hotline/store"
)

const (
	demoNumber     = "+15550100"
	fastFailNumber = "+15550199" // test number: test/testdata/flows/fast-fail.yaml
)

// ---- the demo flow's timing, from its prompts ----

func promptPath(name string) string { return demoPath(filepath.Join("prompts", "demo", name+".wav")) }

// promptDur is how long a demo prompt plays.
func promptDur(t testing.TB, name string) time.Duration {
	t.Helper()
	d, err := wavDuration(promptPath(name))
	if err != nil {
		t.Fatalf("demo prompt %s: %v", name, err)
	}
	return d
}

// menuOpens is when, after the answer, the demo's main menu takes keys:
// the welcome prompt is not interruptible, and keys pressed during it are
// dropped; the margin covers scheduling and the RTP path.
func menuOpens(t testing.TB) time.Duration {
	return promptDur(t, "welcome") + 700*time.Millisecond
}

// ---- SIPp scenario data ----

type sippAction struct {
	Pause int    // milliseconds; 0 means play Pcap
	Pcap  string // file played with play_pcap_audio
}

func pauseFor(d time.Duration) sippAction { return sippAction{Pause: max(1, int(d.Milliseconds()))} }
func playPcap(path string) sippAction     { return sippAction{Pcap: path} }

var (
	offerPCMUEvents = []string{"a=rtpmap:0 PCMU/8000", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16", "a=ptime:20", "a=sendrecv"}
	offerPCMAEvents = []string{"a=rtpmap:8 PCMA/8000", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16", "a=ptime:20", "a=sendrecv"}
)

func uacData(formats string, attrs []string, answerPT int, actions ...sippAction) map[string]any {
	return map[string]any{
		"Formats": formats, "Attrs": attrs, "AnswerPT": answerPT, "Actions": actions,
		"ServerHangsUp": false, "ByeTimeout": 0,
	}
}

// ---- the shared demo server and what runs against it ----

// addTestNumbers gives the demo tenant a test number whose flow fails fast.
func addTestNumbers(t testing.TB, cfg map[string]any) {
	demo := tenantOf(t, cfg, "demo")
	flows, _ := demo["flows"].(map[string]any)
	abs, err := filepath.Abs(filepath.Join("testdata", "flows", "fast-fail.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	flows["e2e_fast_fail"] = abs
	demo["numbers"] = append(listOf(demo["numbers"]), map[string]any{"number": fastFailNumber, "flow": "e2e_fast_fail"})
}

// TestDemo runs the demo configuration's callers in parallel against one
// server.
func TestDemo(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverOptions{Name: "demo", Edit: addTestNumbers})

	t.Run("RFC2833Digits", func(t *testing.T) { t.Parallel(); testRFC2833Digits(t, srv) })
	t.Run("G711Audio", func(t *testing.T) { t.Parallel(); testG711Audio(t, srv) })
	t.Run("AccountGather", func(t *testing.T) { t.Parallel(); testAccountGather(t, srv) })
	t.Run("Baresip", func(t *testing.T) { t.Parallel(); testBaresip(t, srv) })
	t.Run("InbandDTMF", func(t *testing.T) { t.Parallel(); testInbandDTMF(t, srv) })
	t.Run("BadInput", func(t *testing.T) { t.Parallel(); testBadInput(t, srv) })
	t.Run("HoldResume", func(t *testing.T) { t.Parallel(); testHoldResume(t, srv) })
	t.Run("FlowHangupBye", func(t *testing.T) { t.Parallel(); testFlowHangupBye(t, srv) })
	t.Run("LostACK", func(t *testing.T) { t.Parallel(); testLostACK(t, srv) })
}

// checkCallerHungUp checks the CDR of a call the caller ended after it was
// answered.
func checkCallerHungUp(t testing.TB, c *store.CallRecord) {
	t.Helper()
	if c.AnsweredAt == nil {
		t.Errorf("answered_at is not set")
	}
	if c.EndedAt == nil {
		t.Fatalf("ended_at is not set")
	}
	if c.HangupSide != "caller" {
		t.Errorf("hangup_side = %q, want caller", c.HangupSide)
	}
	if c.HangupCause != "caller-hangup" {
		t.Errorf("hangup_cause = %q, want caller-hangup", c.HangupCause)
	}
	if c.SIPCode != 200 {
		t.Errorf("sip_code = %d, want 200", c.SIPCode)
	}
	if c.TenantID != "demo" || c.ToNumber != demoNumber && c.ToNumber != fastFailNumber {
		t.Errorf("tenant %q, to %q: want tenant demo and a demo number", c.TenantID, c.ToNumber)
	}
}

// checkSubsequence checks that want appears in got in order.
func checkSubsequence(t testing.TB, what string, got, want []string) {
	t.Helper()
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	if i < len(want) {
		t.Errorf("%s = %v, want %v in this order (missing from %q on)", what, got, want, want[i])
	}
}

// billedSeconds is the answered duration of a CDR.
func billed(c *store.CallRecord) time.Duration {
	if c.AnsweredAt == nil || c.EndedAt == nil {
		return 0
	}
	return c.EndedAt.Sub(*c.AnsweredAt)
}

// 1. RFC 2833 digits with SIPp: cards, lost card, the account number and
// PIN checked with the built-in demo CRM, queue "cards".
func testRFC2833Digits(t *testing.T, srv *server) {
	needSIPp(t)
	// The same capture twice, as SIPp users do: both presses carry the
	// capture's RTP timestamp and sequence numbers. By RFC 4733 a repeated
	// timestamp would be a retransmission; the server takes it as a new
	// press when it comes long after the first ended (media's
	// eventReuseAfter), which is what a caller means by pressing 1 again.
	// testAccountGather sends presses the way a phone stamps them.
	key1 := dtmfCaptureFile('1')
	queueWait := 4 * time.Second
	// After the lost-card prompt (keys pressed during it are dropped), the
	// account number and # while its prompt plays, then the PIN. They run
	// on after the captures' sequence numbers (7984-7991), on a later
	// clock, as the same phone would send them.
	gap := 350 * time.Millisecond
	pinAt := 9*gap + time.Second
	keys := append(presses("12345678#", 0, gap), presses("1234", pinAt, gap)...)
	pkts, err := dtmfScript(keys, 7992, 13280+8000*60)
	if err != nil {
		t.Fatal(err)
	}
	account := filepath.Join(t.TempDir(), "account-pin.pcap")
	if err := writePcapRTP(account, pkts); err != nil {
		t.Fatal(err)
	}
	typing := pinAt + 4*gap
	res := srv.mustSIPp(t, sippRun{
		Scenario: "uac.xml",
		Service:  demoNumber,
		Data: uacData("0 101", offerPCMUEvents, 0,
			pauseFor(menuOpens(t)),
			playPcap(key1), // main menu: 1 cards
			pauseFor(1500*time.Millisecond),
			playPcap(key1), // cards menu: 1 lost card
			pauseFor(promptDur(t, "lost_card")+700*time.Millisecond),
			playPcap(account), // account number, then PIN 1234
			pauseFor(typing+queueWait),
		),
	})
	c := srv.findCall(t, res.CallID, true, 10*time.Second)
	ev := srv.settledEvents(t, c)

	checkCallerHungUp(t, c)
	if c.Codec != "PCMU" {
		t.Errorf("codec = %q, want PCMU", c.Codec)
	}
	checkSubsequence(t, "IVR steps", stepPath(ev), []string{"welcome", "main_menu", "cards_menu", "lost_card",
		"lost_card_account", "enter_pin", "verify_pin", "pin_checked", "pin_verified", "queue_cards"})
	if got, want := menuChoices(ev), []string{"main_menu:1->cards_menu", "cards_menu:1->lost_card"}; !slices.Equal(got, want) {
		t.Errorf("menu choices = %v, want %v", got, want)
	}
	// The PIN's keys are masked: not in the timeline at all.
	wantKeys := []string{"1/rfc4733", "1/rfc4733"}
	for _, k := range "12345678#" {
		wantKeys = append(wantKeys, string(k)+"/rfc4733")
	}
	if keys := keysHeard(ev); !slices.Equal(keys, wantKeys) {
		t.Errorf("keys received = %v, want %v", keys, wantKeys)
	}
	if g := eventsOf(ev, "gather"); len(g) != 2 || g[0].Data["value"] != "12345678" || g[1].Data["var"] != "pin" || g[1].Data["value"] != "****" {
		t.Errorf("gather events = %v, want the account, then the PIN masked", g)
	}
	if l := eventsOf(ev, "lookup"); len(l) != 1 || l[0].Data["verify.verified"] != "true" || l[0].Data["status"] != "200" {
		t.Errorf("lookup events = %v, want one verified by the demo CRM", l)
	}
	for _, e := range ev {
		for k, v := range e.Data {
			if v == "1234" || strings.Contains(v, "pin=1234") {
				t.Errorf("the PIN is in event %s %s: %s=%s", e.Kind, e.Step, k, v)
			}
		}
	}
	q := eventsOf(ev, "queue")
	if len(q) != 1 || q[0].Data["queue"] != "cards" {
		t.Errorf("queue events = %v, want one for queue cards", q)
	}
	// The caller heard audio for most of the call (prompts, then hold
	// music until the BYE): at 50 packets a second, at least half of the
	// answered time.
	if min := int(billed(c).Seconds() * 50 / 2); c.PacketsSent == 0 || int(c.PacketsSent) < min {
		t.Errorf("rtp_packets_sent = %d, want >= %d over %v answered", c.PacketsSent, min, billed(c))
	}
	// After the queue began, the server kept sending: hold music.
	if len(q) == 1 {
		inQueue := c.EndedAt.Sub(q[0].At)
		if inQueue < queueWait-time.Second {
			t.Errorf("only %v in the queue before the caller hung up, want about %v", inQueue, queueWait)
		}
	}
	// RFC 2833 events are RTP too; as the second press repeats the first
	// one's sequence numbers, nothing was lost (duplicates count below
	// zero).
	if c.PacketsReceived < 20 {
		t.Errorf("rtp_packets_received = %d, want the 20 event packets", c.PacketsReceived)
	}
	if c.PacketsLost > 0 {
		t.Errorf("rtp_lost = %d, want none", c.PacketsLost)
	}
}

// 1b. G.711 A-law audio from SIPp's g711a.pcap reaches the server.
func testG711Audio(t *testing.T, srv *server) {
	needSIPp(t)
	pcap := filepath.Join(sippShare, "g711a.pcap")
	pkts, err := readPcapRTP(pcap)
	if err != nil {
		t.Fatalf("%v (Debian's sip-tester ships it)", err)
	}
	length := pkts[len(pkts)-1].At
	res := srv.mustSIPp(t, sippRun{
		Scenario: "uac.xml",
		Service:  demoNumber,
		Data: uacData("8 101", offerPCMAEvents, 8,
			pauseFor(300*time.Millisecond),
			playPcap(pcap),
			pauseFor(length+time.Second),
		),
	})
	c := srv.findCall(t, res.CallID, true, 10*time.Second)
	checkCallerHungUp(t, c)
	if c.Codec != "PCMA" {
		t.Errorf("codec = %q, want PCMA (the caller offered only PCMA)", c.Codec)
	}
	if want := uint64(len(pkts)) * 9 / 10; c.PacketsReceived < want {
		t.Errorf("rtp_packets_received = %d, want >= %d of the %d packets played", c.PacketsReceived, want, len(pkts))
	}
	if c.PacketsLost > int64(len(pkts))/20 {
		t.Errorf("rtp_lost = %d on loopback", c.PacketsLost)
	}
	if c.PacketsSent == 0 {
		t.Errorf("rtp_packets_sent = 0: the caller heard nothing")
	}
}

// 2. The accounts path: 2, then the account number 12345678 and #.
func testAccountGather(t *testing.T, srv *server) {
	needSIPp(t)
	dir := t.TempDir()
	// 2 for accounts as soon as the menu listens, then the account number
	// and # while the account prompt plays (it is interruptible).
	digitsAt := 1500 * time.Millisecond
	gap := 350 * time.Millisecond
	keys := append([]keyPress{{'2', 0}}, presses("12345678#", digitsAt, gap)...)
	pkts, err := dtmfScript(keys, 1000, 160000)
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "accounts.pcap")
	if err := writePcapRTP(script, pkts); err != nil {
		t.Fatal(err)
	}
	typing := digitsAt + 9*gap
	res := srv.mustSIPp(t, sippRun{
		Scenario: "uac.xml",
		Service:  demoNumber,
		Data: uacData("0 101", offerPCMUEvents, 0,
			pauseFor(menuOpens(t)),
			playPcap(script),
			pauseFor(typing+promptDur(t, "account_thanks")+2*time.Second),
		),
	})
	c := srv.findCall(t, res.CallID, true, 10*time.Second)
	ev := srv.settledEvents(t, c)
	checkCallerHungUp(t, c)
	if got := menuChoices(ev); len(got) == 0 || got[0] != "main_menu:2->account_number" {
		t.Errorf("menu choices = %v, want main_menu:2->account_number first", got)
	}
	g := eventsOf(ev, "gather")
	if len(g) != 1 || g[0].Data["value"] != "12345678" || g[0].Data["var"] != "account" {
		t.Errorf("gather events = %v, want one with var=account value=12345678", g)
	}
	checkSubsequence(t, "IVR steps", stepPath(ev), []string{"main_menu", "account_number", "account_thanks", "queue_accounts"})
	if q := eventsOf(ev, "queue"); len(q) != 1 || q[0].Data["queue"] != "accounts" {
		t.Errorf("queue events = %v, want queue accounts", q)
	}
	if hasKind(ev, "gather_invalid") || hasKind(ev, "gather_timeout") {
		t.Errorf("the account number was not taken at the first attempt")
	}
}

// 4. In-band DTMF: the caller's audio carries the tone of '0'; no
// telephone-event is offered.
func testInbandDTMF(t *testing.T, srv *server) {
	ua := newUA(t, srv)
	srv.report(t, ua.CallID)
	res := ua.Invite(demoNumber, ua.offer(false, "sendrecv"))
	if res.Code != 200 {
		t.Fatalf("INVITE: %s, want 200", res)
	}
	ua.Ack(demoNumber)
	ans, err := parseSDP(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ans.PTs, []int{0}) {
		t.Errorf("answer formats %v, want only PCMU (0): telephone-event was not offered", ans.PTs)
	}
	ua.RTP.Start()
	answered := time.Now()

	time.Sleep(menuOpens(t))
	// One press of 0 (agent): 100 ms of 941+1336 Hz, then 100 ms of
	// silence, at -14 dBFS per tone.
	ua.RTP.Play(dtmfTones("0", 100*time.Millisecond, 100*time.Millisecond, 6500))

	c := srv.findCall(t, ua.CallID, false, 5*time.Second)
	var queued *store.Event
	deadline := time.Now().Add(8 * time.Second)
	for queued == nil && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		if q := eventsOf(srv.events(t, c), "queue"); len(q) > 0 {
			queued = &q[0]
		}
	}
	if queued == nil {
		t.Fatalf("the in-band 0 did not reach the queue within 8s")
	}
	// Hear the hold music for a while.
	time.Sleep(4 * time.Second)
	if code := ua.Bye(demoNumber); code != 200 {
		t.Errorf("BYE: %d, want 200", code)
	}
	c = srv.findCall(t, ua.CallID, true, 10*time.Second)
	ev := srv.settledEvents(t, c)

	checkCallerHungUp(t, c)
	if queued.Data["queue"] != "general" {
		t.Errorf("queue = %q, want general", queued.Data["queue"])
	}
	if got := menuChoices(ev); !slices.Equal(got, []string{"main_menu:0->queue_general"}) {
		t.Errorf("menu choices = %v, want [main_menu:0->queue_general]", got)
	}
	if keys := keysHeard(ev); !slices.Equal(keys, []string{"0/inband"}) {
		t.Errorf("keys received = %v, want [0/inband]", keys)
	}
	if c.PacketsReceived < 100 {
		t.Errorf("rtp_packets_received = %d, want our stream (%d sent)", c.PacketsReceived, ua.RTP.Sent())
	}

	// What the caller heard: the welcome prompt from the answer on, and
	// the hold music once queued.
	rec, firstAt := ua.RTP.Received()
	welcome := mustPrompt(t, promptPath("welcome"))
	m := matchAudio(welcome, rec, 2*time.Second)
	t.Logf("welcome prompt in the caller's audio: %s", m)
	if m.NCC < 0.8 {
		t.Errorf("the caller did not hear the welcome prompt: %s", m)
	}
	if firstAt.Sub(answered) > time.Second {
		t.Errorf("first audio %v after the answer", firstAt.Sub(answered))
	}
	moh := mustPrompt(t, demoPath(filepath.Join("prompts", "moh.wav")))
	moh = moh[:min(len(moh), 3*sampleRate)]
	mm := matchAudio(moh, rec, samplesDuration(len(rec), sampleRate))
	t.Logf("hold music in the caller's audio: %s", mm)
	if mm.NCC < 0.8 {
		t.Errorf("the caller did not hear the hold music: %s", mm)
	}
	if at := firstAt.Add(mm.Lag); at.Before(queued.At.Add(-time.Second)) || at.After(queued.At.Add(2*time.Second)) {
		t.Errorf("hold music heard at %v, the queue began at %v", at.Format("15:04:05.000"), queued.At.Format("15:04:05.000"))
	}
}

func mustPrompt(t testing.TB, path string) []int16 {
	t.Helper()
	s, rate, err := readWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	if rate != sampleRate {
		t.Fatalf("%s: %d Hz, the tests compare 8 kHz audio", path, rate)
	}
	return s
}

// 6b. Hold and resume with re-INVITEs.
func testHoldResume(t *testing.T, srv *server) {
	needSIPp(t)
	res := srv.mustSIPp(t, sippRun{
		Scenario: "reinvite.xml",
		Service:  demoNumber,
		Data:     map[string]any{"Before": 1500, "Held": 2000, "After": 1000},
	})
	c := srv.findCall(t, res.CallID, true, 10*time.Second)
	ev := srv.settledEvents(t, c)
	checkCallerHungUp(t, c)
	var holds []string
	for _, e := range eventsOf(ev, "hold") {
		holds = append(holds, e.Data["held"])
	}
	if !slices.Equal(holds, []string{"true", "false"}) {
		t.Errorf("hold events held=%v, want [true false]", holds)
	}
	if strings.Count(res.Messages, "SIP/2.0 200 OK") < 4 {
		t.Errorf("want four 200 OK (INVITE, two re-INVITEs, BYE) in the SIPp trace")
	}

	// What the caller notices: no audio while it holds the call, audio
	// again once resumed (the prompt has kept its place meanwhile).
	ua := newUA(t, srv)
	srv.report(t, ua.CallID)
	if r := ua.Invite(demoNumber, ua.offer(true, "sendrecv")); r.Code != 200 {
		t.Fatalf("INVITE: %s", r)
	}
	ua.Ack(demoNumber)
	ua.RTP.Start()
	time.Sleep(1500 * time.Millisecond)
	r := ua.Reinvite(demoNumber, ua.offer(true, "sendonly"))
	if r.Code != 200 {
		t.Fatalf("hold re-INVITE: %s, want 200", r)
	}
	if a, err := parseSDP(r.Body); err != nil || a.Direction != "recvonly" {
		t.Errorf("hold answered with direction %q (%v), want recvonly", a.Direction, err)
	}
	time.Sleep(300 * time.Millisecond) // packets in flight
	before := ua.RTP.ReceivedPackets()
	time.Sleep(2 * time.Second)
	if n := ua.RTP.ReceivedPackets() - before; n > 2 {
		t.Errorf("%d RTP packets arrived during 2s on hold, want none", n)
	}
	r = ua.Reinvite(demoNumber, ua.offer(true, "sendrecv"))
	if r.Code != 200 {
		t.Fatalf("resume re-INVITE: %s, want 200", r)
	}
	if a, err := parseSDP(r.Body); err != nil || a.Direction != "sendrecv" {
		t.Errorf("resume answered with direction %q (%v), want sendrecv", a.Direction, err)
	}
	time.Sleep(300 * time.Millisecond)
	before = ua.RTP.ReceivedPackets()
	time.Sleep(1500 * time.Millisecond)
	if n := ua.RTP.ReceivedPackets() - before; n < 50 {
		t.Errorf("%d RTP packets in 1.5s after resuming, want about 75 (the main menu prompt)", n)
	}
	if code := ua.Bye(demoNumber); code != 200 {
		t.Errorf("BYE: %d", code)
	}
	c = srv.findCall(t, ua.CallID, true, 10*time.Second)
	checkCallerHungUp(t, c)
}

// 6c. The flow hangs up (menu failure, goodbye): the server sends the BYE
// and SIPp answers it.
func testFlowHangupBye(t *testing.T, srv *server) {
	needSIPp(t)
	res := srv.mustSIPp(t, sippRun{
		Scenario: "uac.xml",
		Service:  fastFailNumber,
		Data: func() map[string]any {
			d := uacData("0 101", offerPCMUEvents, 0)
			d["ServerHangsUp"] = true
			d["ByeTimeout"] = 30000
			return d
		}(),
	})
	c := srv.findCall(t, res.CallID, true, 10*time.Second)
	ev := srv.settledEvents(t, c)
	if c.HangupSide != "system" {
		t.Errorf("hangup_side = %q, want system", c.HangupSide)
	}
	if c.HangupCause != "flow-hangup" {
		t.Errorf("hangup_cause = %q, want flow-hangup (the flow's hangup step ended the call)", c.HangupCause)
	}
	if c.AnsweredAt == nil {
		t.Errorf("answered_at not set")
	}
	if n := len(eventsOf(ev, "menu_timeout")); n != 2 {
		t.Errorf("%d menu_timeout events, want 2 (retries: 2)", n)
	}
	if !hasKind(ev, "menu_failure") {
		t.Errorf("no menu_failure event")
	}
	checkSubsequence(t, "IVR steps", stepPath(ev), []string{"menu", "goodbye", "hangup"})
	h := eventsOf(ev, "hangup")
	if len(h) != 1 || h[0].Data["cause"] != "normal" {
		t.Errorf("hangup events = %v, want one with cause normal", h)
	}
	// The BYE says why (RFC 3326).
	if bye := sippReceived(res.Messages, "BYE"); bye == "" {
		t.Errorf("no BYE in the SIPp trace")
	} else if !strings.Contains(bye, "Reason: Q.850;cause=16") {
		t.Errorf("BYE without Reason: Q.850;cause=16:\n%s", bye)
	}
}

// sippReceived finds a received request in a SIPp -trace_msg log.
func sippReceived(log, method string) string {
	for _, block := range strings.Split(log, "----------------------------------------------- ") {
		if !strings.Contains(block, "message received") {
			continue
		}
		if i := strings.Index(block, "\n"+method+" sip:"); i >= 0 {
			return block[i+1:]
		}
	}
	return ""
}

// 6e. A caller whose ACK never arrives (SIPp never sends it): the server
// resends its 200 with backoff and, after 64*T1 (32 s), ends the call with
// a BYE.
func testLostACK(t *testing.T, srv *server) {
	needSIPp(t)
	pcap := filepath.Join(sippShare, "g711a.pcap")
	pkts, err := readPcapRTP(pcap)
	if err != nil {
		t.Fatal(err)
	}
	res := srv.mustSIPp(t, sippRun{
		Scenario: "noack.xml",
		Service:  demoNumber,
		Data:     map[string]any{"Audio": pcap, "AudioMs": pkts[len(pkts)-1].At.Milliseconds() + 20},
		Timeout:  60 * time.Second,
	})
	log := sippLog(res.Messages)
	var okAt, byeAt time.Time
	resent := 0
	for _, m := range log {
		switch {
		case m.In && strings.HasPrefix(m.Text, "SIP/2.0 200 ") && strings.Contains(m.Text, "CSeq: 1 INVITE"):
			if okAt.IsZero() {
				okAt = m.At
			} else if byeAt.IsZero() {
				resent++
			}
		case m.In && strings.HasPrefix(m.Text, "BYE ") && byeAt.IsZero():
			byeAt = m.At
			if !strings.Contains(m.Text, "ack-timeout") {
				t.Errorf("BYE without a Reason naming ack-timeout:\n%s", m.Text)
			}
		}
	}
	if okAt.IsZero() || byeAt.IsZero() {
		t.Fatalf("no 200 and BYE in the SIPp trace:\n%s", res)
	}
	after := byeAt.Sub(okAt)
	t.Logf("BYE %v after the 200, which was resent %d times", after.Round(time.Millisecond), resent)
	if after < 31*time.Second || after > 36*time.Second {
		t.Errorf("BYE came %v after the 200, want about 32s (64*T1)", after)
	}
	// T1 doubling to T2: resent at 0.5, 1.5, 3.5, 7.5, 11.5, ... 31.5 s.
	if resent < 8 || resent > 12 {
		t.Errorf("the 200 was resent %d times, want 10 (T1 doubling to T2 for 32s)", resent)
	}
	c := srv.findCall(t, res.CallID, true, 10*time.Second)
	if c.HangupCause != "ack-timeout" || c.HangupSide != "system" {
		t.Errorf("hangup %s/%s, want ack-timeout/system", c.HangupCause, c.HangupSide)
	}
	if c.PacketsReceived < 1000 {
		t.Errorf("rtp_packets_received = %d: the caller's audio did not flow while the ACK was missing", c.PacketsReceived)
	}
}

// sippMsg is one message of a SIPp -trace_msg log.
type sippMsg struct {
	At   time.Time
	In   bool
	Text string
}

func sippLog(log string) []sippMsg {
	var out []sippMsg
	for _, block := range strings.Split(log, "----------------------------------------------- ")[1:] {
		stamp, rest, ok := strings.Cut(block, "\n")
		if !ok {
			continue
		}
		at, err := time.ParseInLocation("2006-01-02 15:04:05.000000", strings.TrimSpace(stamp), time.Local)
		if err != nil {
			continue
		}
		head, body, _ := strings.Cut(rest, "\n")
		out = append(out, sippMsg{At: at, In: strings.Contains(head, "received"), Text: strings.TrimLeft(body, "\r\n")})
	}
	return out
}

// ---- servers with their own configuration ----

// 6d. RTP timeout: the caller stops sending; the server hangs up ~2 s later.
func TestRTPTimeout(t *testing.T) {
	t.Parallel()
	needSIPp(t)
	srv := startServer(t, serverOptions{Name: "rtp-timeout", RTPTimeout: "2s"})
	pcap := filepath.Join(sippShare, "g711a.pcap")
	pkts, err := readPcapRTP(pcap)
	if err != nil {
		t.Fatal(err)
	}
	length := pkts[len(pkts)-1].At
	d := uacData("8 101", offerPCMAEvents, 8, pauseFor(200*time.Millisecond), playPcap(pcap))
	d["ServerHangsUp"] = true
	d["ByeTimeout"] = 20000
	res := srv.mustSIPp(t, sippRun{Scenario: "uac.xml", Service: demoNumber, Data: d})
	c := srv.findCall(t, res.CallID, true, 10*time.Second)
	if c.HangupCause != "rtp-timeout" || c.HangupSide != "system" {
		t.Errorf("hangup %s/%s, want rtp-timeout/system", c.HangupCause, c.HangupSide)
	}
	// Not while audio flowed, and soon after it stopped.
	lo, hi := length+2*time.Second-500*time.Millisecond, length+2*time.Second+3*time.Second
	if b := billed(c); b < lo || b > hi {
		t.Errorf("call lasted %v after the answer; audio ran %v, timeout 2s: want %v..%v", b, length, lo, hi)
	}
	if c.PacketsReceived < uint64(len(pkts))*9/10 {
		t.Errorf("rtp_packets_received = %d, want about %d", c.PacketsReceived, len(pkts))
	}
	srv.healthy(t)
}

// 6a. CANCEL while the number rings.
func TestCancelBeforeAnswer(t *testing.T) {
	t.Parallel()
	needSIPp(t)
	srv := startServer(t, serverOptions{Name: "ringing", Edit: func(t testing.TB, cfg map[string]any) {
		for _, n := range listOf(tenantOf(t, cfg, "demo")["numbers"]) {
			if n.(map[string]any)["flow"] != nil { // an application answers its own
				n.(map[string]any)["answer_delay"] = "10s"
			}
		}
	}})
	res := srv.mustSIPp(t, sippRun{Scenario: "cancel.xml", Service: demoNumber, Data: map[string]any{"Ring": 1500}})
	c := srv.findCall(t, res.CallID, true, 10*time.Second)
	if c.HangupCause != "caller-cancel" || c.HangupSide != "caller" {
		t.Errorf("hangup %s/%s, want caller-cancel/caller", c.HangupCause, c.HangupSide)
	}
	if c.AnsweredAt != nil {
		t.Errorf("answered_at is set for a cancelled call")
	}
	if c.SIPCode != 487 {
		t.Errorf("sip_code = %d, want 487", c.SIPCode)
	}
	srv.healthy(t)
}

// 5 (flows). A malformed flow: `hotline flow check` prints FILE:LINE and
// exits 1; `hotline serve` refuses to start and names the same place.
func TestMalformedFlow(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	flow := filepath.Join(dir, "broken.yaml")
	// Line 9 sends key 2 to a step that does not exist.
	const broken = `tenant: demo
start: main
steps:
  main:
    menu:
      prompt: main_menu
      options:
        "1": bye
        "2": nowhere
  bye:
    hangup: {cause: normal}
`
	if err := os.WriteFile(flow, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	want := flow + ":9:"

	out, code := runHotline(t, nil, "flow", "check", flow)
	if code != 1 {
		t.Errorf("hotline flow check exit %d, want 1\n%s", code, out)
	}
	if !strings.Contains(out, want) || !strings.Contains(out, "nowhere") {
		t.Errorf("hotline flow check output does not point at %s ... nowhere:\n%s", want, out)
	}
	// The demo flow itself passes.
	if out, code := runHotline(t, nil, "flow", "check", "--prompts", demoPath("prompts/demo"), demoPath("flows/demo-main.yaml")); code != 0 {
		t.Errorf("hotline flow check of the demo flow: exit %d\n%s", code, out)
	}

	cfg := demoConfig(t)
	flows := tenantOf(t, cfg, "demo")["flows"].(map[string]any)
	flows["main"] = flow
	cfgPath := writeYAML(t, dir, "broken-config.yaml", cfg)
	sip, httpPort := allocPorts(t, 1, true), allocPorts(t, 1, true)
	rtp := allocPorts(t, 10, false)
	env := []string{"DATABASE_URL=" + newDBURL(t)}
	out, code = runHotline(t, env, "serve", "--config", cfgPath,
		"--sip", fmt.Sprintf("127.0.0.1:%d", sip), "--http", fmt.Sprintf("127.0.0.1:%d", httpPort),
		"--rtp-ports", fmt.Sprintf("%d-%d", rtp, rtp+9), "--data", filepath.Join(dir, "data"))
	if code == 0 {
		t.Errorf("hotline serve started with a broken flow")
	}
	if !strings.Contains(out, want) {
		t.Errorf("hotline serve's error does not point at %s:\n%s", want, out)
	}
}

// Shutdown with a call in progress: SIGTERM makes the server hang up the
// caller at once (BYE, cause shutdown, answered and so not resent), write
// the finished CDR and exit 0.
func TestShutdownWithCall(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverOptions{Name: "shutdown"})
	ua := newUA(t, srv)
	srv.report(t, ua.CallID)
	if r := ua.Invite(demoNumber, ua.offer(true, "sendrecv")); r.Code != 200 {
		t.Fatalf("INVITE: %s", r)
	}
	ua.Ack(demoNumber)
	ua.RTP.Start()
	time.Sleep(time.Second)
	sigterm := time.Now()
	exited := make(chan time.Duration, 1)
	go func() { srv.terminate(t); exited <- time.Since(sigterm) }()
	bye, ok := ua.WaitBye(3 * time.Second)
	exitAfter := <-exited
	if !ok {
		t.Fatalf("no BYE within 3s of SIGTERM: the caller is left on a dead call (the server exited %v after SIGTERM)", exitAfter.Round(time.Millisecond))
	}
	t.Logf("BYE %v after SIGTERM (Reason: %s); the server exited %v after SIGTERM", bye.At.Sub(sigterm).Round(time.Millisecond), bye.Header("reason"), exitAfter.Round(time.Millisecond))
	if d := bye.At.Sub(sigterm); d > time.Second {
		t.Errorf("BYE came %v after SIGTERM, want at once", d)
	}
	if n := ua.byes.Load(); n != 1 {
		t.Errorf("the server sent its BYE %d times: our 200 OK did not reach it", n)
	}
	if !strings.Contains(bye.Header("reason"), "shutdown") {
		t.Errorf("BYE Reason %q, want the shutdown cause", bye.Header("reason"))
	}
	c := srv.findCall(t, ua.CallID, true, 2*time.Second)
	if c.HangupCause != "shutdown" || c.HangupSide != "system" {
		t.Errorf("hangup %s/%s, want shutdown/system", c.HangupCause, c.HangupSide)
	}
	if !hasKind(srv.events(t, c), "flow_end") {
		t.Errorf("the timeline was cut short: no flow_end event")
	}
}
