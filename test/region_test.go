package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestRegionRouting: in the demo tenant (configs/hotline.yaml: +1415 is
// region west, alice serves east, bob west and europe; general prefers
// the caller's region), a caller from +1415 pressing 0 is offered to bob,
// although round robin would start with alice, who joined first; the
// offer carries the region and the CDR gets region and country.
func TestRegionRouting(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverOptions{Name: "region"})
	demoDesk(t, srv, "alice", true)
	bob := demoDesk(t, srv, "bob", true)

	ua := queueCallFrom(t, srv, "+14155550123")

	offer := bob.expect("offer", 20*time.Second, nil)
	if offer["region"] != "west" || offer["caller"] != ua.From || offer["queue"] != "general" {
		t.Fatalf("bob's offer %v: want region west from %s in general", offer, ua.From)
	}
	callID := uuid.MustParse(offer["call"].(string))
	var region, country string
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, err := srv.DB.GetCall(ctx, "demo", callID)
		cancel()
		if err == nil {
			region, country = c.Region, c.Country
			if region != "" {
				break
			}
		}
	}
	if region != "west" || country != "US" {
		t.Errorf("CDR region %q country %q, want west, US", region, country)
	}
	ua.Bye(demoNumber)
}
