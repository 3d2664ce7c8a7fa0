package media

import (
	"os"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestLoadCPU measures CPU and heap per session with pairs of sessions
// talking to each other over loopback (each session sends and receives
// 50 packets/s, with RTCP). It takes several seconds, so it only runs with
// HOTLINE_MEDIA_LOAD=<pairs>, e.g. HOTLINE_MEDIA_LOAD=1000.
func TestLoadCPU(t *testing.T) {
	pairs, _ := strconv.Atoi(os.Getenv("HOTLINE_MEDIA_LOAD"))
	if pairs <= 0 {
		t.Skip("set HOTLINE_MEDIA_LOAD=<pairs> to run")
	}
	inband := os.Getenv("HOTLINE_MEDIA_INBAND") != ""
	shards, _ := strconv.Atoi(os.Getenv("HOTLINE_MEDIA_SHARDS"))
	e := startEngine(t, Config{RTPTimeout: 10 * time.Second, Shards: shards})
	prompt := toneFrames(3 * time.Second)
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	var all []*Session
	for range pairs {
		a := newSession(t, e, SessionConfig{CallID: "load-a", InbandDTMF: inband})
		b := newSession(t, e, SessionConfig{CallID: "load-b", InbandDTMF: inband})
		a.SetRemote(Remote{Addr: b.addr(), Codec: PTPCMU, DTMFPT: 101, RTCPMux: true})
		b.SetRemote(Remote{Addr: a.addr(), Codec: PTPCMU, DTMFPT: 101, RTCPMux: true})
		a.Start()
		b.Start()
		a.SetSource(NewPlayer(prompt, true))
		b.SetSource(NewPlayer(prompt, true))
		all = append(all, a, b)
	}
	time.Sleep(2 * time.Second) // warm up
	runtime.GC()
	runtime.ReadMemStats(&ms1)
	before := make([]Stats, len(all))
	for i, s := range all {
		before[i] = s.Stats()
	}
	var ru0, ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	start := time.Now()
	time.Sleep(5 * time.Second)
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	wall := time.Since(start)
	cpu := time.Duration(syscall.TimevalToNsec(ru1.Utime) - syscall.TimevalToNsec(ru0.Utime) +
		syscall.TimevalToNsec(ru1.Stime) - syscall.TimevalToNsec(ru0.Stime))
	conn := 0
	for _, s := range all {
		if s.connected.Load() {
			conn++
		}
	}
	t.Logf("%d/%d sockets connected", conn, len(all))
	var sent, recv, lost uint64
	var maxJ float64
	for i, s := range all {
		st := s.Stats()
		sent += st.PacketsSent - before[i].PacketsSent
		recv += st.PacketsReceived - before[i].PacketsReceived
		if st.PacketsLost > 0 {
			lost += uint64(st.PacketsLost)
		}
		maxJ = max(maxJ, st.JitterMs)
	}
	n := float64(len(all))
	perSession := cpu.Seconds() / wall.Seconds() / n * 100
	t.Logf("%d sessions (inband=%v): CPU %.1f%% of a core total, %.4f%% per session; %.0f pkts/s sent, %.0f recv; lost %d; max jitter %.2f ms",
		len(all), inband, cpu.Seconds()/wall.Seconds()*100, perSession, float64(sent)/wall.Seconds(), float64(recv)/wall.Seconds(), lost, maxJ)
	t.Logf("user %v, system %v over %v", time.Duration(syscall.TimevalToNsec(ru1.Utime)-syscall.TimevalToNsec(ru0.Utime)),
		time.Duration(syscall.TimevalToNsec(ru1.Stime)-syscall.TimevalToNsec(ru0.Stime)), wall.Round(time.Millisecond))
	t.Logf("heap %.0f B/session, stacks %.0f B/session", float64(ms1.HeapAlloc-ms0.HeapAlloc)/n, float64(ms1.StackInuse-ms0.StackInuse)/n)
}
