package desk

import (
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// The desk hands its media settings to every agent leg: Opus in the offer,
// the public address in the candidates.
func TestNewLegPassesOpusAndPublicIP(t *testing.T) {
	d := New(Config{Opus: true, PublicIP: netip.MustParseAddr("203.0.113.9"), Logger: slog.New(slog.DiscardHandler)})
	defer d.Close()
	leg, err := d.newLeg("c1", &legHolder{})
	if err != nil {
		t.Fatal(err)
	}
	defer leg.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	offer, err := leg.Offer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(offer, "opus/48000/2") || !strings.Contains(offer, " 203.0.113.9 ") {
		t.Fatalf("offer lacks Opus or the public IP:\n%s", offer)
	}
}
