package config

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

func TestWebRTCOpusAndPublicIP(t *testing.T) {
	c, err := Parse("h.yaml", []byte(good+"webrtc:\n  opus: true\n  public_ip: 203.0.113.7\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.WebRTC.Opus || c.WebRTC.PublicAddr != netip.MustParseAddr("203.0.113.7") {
		t.Fatalf("webrtc = %+v", c.WebRTC)
	}
	c, err = Parse("h.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if c.WebRTC.Opus || c.WebRTC.PublicAddr.IsValid() {
		t.Fatalf("defaults: webrtc = %+v", c.WebRTC)
	}
	base := strings.Count(good, "\n")
	for _, ip := range []string{"203.0.113", "0.0.0.0", "fe80::1%eth0", "example.org"} {
		_, err := Parse("h.yaml", []byte(good+"webrtc:\n  public_ip: \""+ip+"\"\n"))
		want := fmt.Sprintf("h.yaml:%d: webrtc.public_ip", base+2)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("public_ip %q: %v, want %q", ip, err, want)
		}
	}
}
