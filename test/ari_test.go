package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	ari "github.com/CyCoreSystems/ari/v5"
	"github.com/CyCoreSystems/ari/v5/client/native"
)

// TestARIFoundation runs an unmodified ARI client (CyCoreSystems/ari/v5,
// client/native) against a real Hotline: it connects as the demo tenant's
// ARI user with application "hello", sees the application, reads the
// server's info, and receives a ChannelUserevent raised through ARI's own
// POST /events/user/{eventName}. Calls (StasisStart and on) come with the
// stasis step (docs/ari.md).
func TestARIFoundation(t *testing.T) {
	s := startServer(t, serverOptions{Name: "ari"})
	base := fmt.Sprintf("http://127.0.0.1:%d/ari", s.HTTPPort)

	// Wrong credentials get Asterisk's 401 before anything else.
	req, _ := http.NewRequest("GET", base+"/asterisk/info", nil)
	req.SetBasicAuth("demo", "wrong")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d, want 401", resp.StatusCode)
	}

	done := make(chan struct{})
	var cl ari.Client
	go func() { // native.Connect retries forever on failure; bound it
		defer close(done)
		cl, err = native.Connect(&native.Options{
			Application:  "hello",
			Username:     "demo",
			Password:     "demo-ari",
			URL:          base,
			WebsocketURL: fmt.Sprintf("ws://127.0.0.1:%d/ari/events", s.HTTPPort),
		})
	}()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatalf("native.Connect did not return; server log:\n%s", s.log)
	}
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	// No cl.Close(): v5.3.1's Close writes the client's connected flag
	// while its listener goroutine does (a data race in the library that
	// -race reports). The listener ends its connection when the server
	// stops at cleanup, then retries quietly (the library's logger discards by default).

	apps, err := cl.Application().List(nil)
	if err != nil {
		t.Fatalf("list applications: %v", err)
	}
	var names []string
	for _, k := range apps {
		names = append(names, k.ID)
	}
	if strings.Join(names, ",") != "hello" {
		t.Errorf("applications = %v, want [hello]", names)
	}
	data, err := cl.Application().Data(ari.NewKey(ari.ApplicationKey, "hello"))
	if err != nil || data.Name != "hello" {
		t.Errorf("application hello: %+v, %v", data, err)
	}

	info, err := cl.Asterisk().Info(nil)
	if err != nil {
		t.Fatalf("asterisk info: %v", err)
	}
	if info.SystemInfo.Version == "" || info.ConfigInfo.DefaultLanguage == "" || time.Time(info.StatusInfo.StartupTime).IsZero() {
		t.Errorf("asterisk info = %+v", info)
	}

	sub := cl.Bus().Subscribe(nil, ari.Events.ChannelUserevent)
	defer sub.Cancel()
	req, _ = http.NewRequest("POST", base+"/events/user/ping?application=hello",
		strings.NewReader(`{"variables":{"greeting":"hi"}}`))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth("demo", "demo-ari")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("user event: %d, want 204", resp.StatusCode)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	select {
	case e := <-sub.Events():
		ue, ok := e.(*ari.ChannelUserevent)
		if !ok || ue.Eventname != "ping" || ue.GetApplication() != "hello" || fmt.Sprint(ue.Userevent) != "map[greeting:hi]" {
			t.Errorf("event = %#v", e)
		}
	case <-ctx.Done():
		t.Fatalf("no ChannelUserevent; server log:\n%s", s.log)
	}
}
