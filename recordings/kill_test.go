package recordings

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"hotline/store"
	"hotline/store/storetest"
)

// TestKillMidCall runs a recorder in a child process fed at the pacer's
// real pace, kills it with SIGKILL mid-call, repairs as a restarted
// server would, and checks that the recording plays to within a second
// of the last frame the child reported writing.
func TestKillMidCall(t *testing.T) {
	if os.Getenv("HOTLINE_REC_CHILD") != "" {
		t.Skip("this is the child's process")
	}
	if testing.Short() {
		t.Skip("-short")
	}
	for _, tenant := range []string{"demo", "acme"} {
		t.Run(tenant, func(t *testing.T) {
			url := storetest.NewDB(t)
			ctx := context.Background()
			db, err := store.Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			m := newTestManager(t, db, encTenants())
			call := uuid.New()

			cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.v")
			cmd.Env = append(os.Environ(), "HOTLINE_REC_CHILD=1", "HOTLINE_REC_DIR="+m.Dir(),
				"HOTLINE_REC_DB="+url, "HOTLINE_REC_TENANT="+tenant, "HOTLINE_REC_CALL="+call.String())
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// The child records until killed: never leave it running, even
			// when the test fails before the kill.
			defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
			reported := 0
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				if n, ok := strings.CutPrefix(sc.Text(), "frames "); ok {
					reported, _ = strconv.Atoi(n)
					if reported >= 160 { // 3.2 s into the call
						break
					}
				}
			}
			time.Sleep(7 * time.Millisecond) // somewhere between two reports
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			_ = cmd.Wait()
			if reported < 160 {
				t.Fatalf("child reported only %d frames", reported)
			}

			rep, err := m.Repair(ctx)
			if err != nil || rep.Repaired != 1 {
				t.Fatalf("repair %+v %v", rep, err)
			}
			row, err := db.GetRecording(ctx, tenant, call)
			if err != nil {
				t.Fatal(err)
			}
			got := time.Duration(row.DurationMs) * time.Millisecond
			atKill := time.Duration(reported) * 20 * time.Millisecond // at least this much was fed
			if row.Status != store.RecordingIncomplete || got < atKill-time.Second || got > atKill+time.Second {
				t.Fatalf("plays %v; %v was fed before the kill", got, atKill)
			}
			t.Logf("%s: %v fed before SIGKILL, %v playable after repair", tenant, atKill, got)
			left, right := parseWAV(t, readAll(t, m, row))
			for i := range left {
				wl, wr := childSample(i)
				if left[i] != wl || right[i] != wr {
					t.Fatalf("sample %d: %d/%d, want %d/%d", i, left[i], right[i], wl, wr)
				}
			}
		})
	}
}

// childSample is the audio the child writes, so the parent can check
// every sample that survived.
func childSample(i int) (int16, int16) {
	return int16(1 + i%7919), int16(-1 - i%6007)
}

// TestKillChild is the child of TestKillMidCall: it records until killed.
func TestKillChild(t *testing.T) {
	if os.Getenv("HOTLINE_REC_CHILD") == "" {
		t.Skip("run by TestKillMidCall")
	}
	ctx := context.Background()
	db, err := store.Open(ctx, os.Getenv("HOTLINE_REC_DB"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(Config{Dir: os.Getenv("HOTLINE_REC_DIR"), Store: db, Tenants: encTenants(),
		Getenv: func(string) string { return testKey }})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := m.Start(Meta{TenantID: os.Getenv("HOTLINE_REC_TENANT"), CallID: os.Getenv("HOTLINE_REC_CALL"), AgentID: "a"})
	if err != nil {
		t.Fatal(err)
	}
	left, right := make([]int16, FrameSamples), make([]int16, FrameSamples)
	tick := time.NewTicker(20 * time.Millisecond)
	for n := 0; ; n++ {
		<-tick.C
		for i := range FrameSamples {
			left[i], right[i] = childSample(n*FrameSamples + i)
		}
		rec.WriteFrame(left, right)
		if (n+1)%10 == 0 {
			fmt.Printf("frames %d\n", n+1)
		}
	}
}
