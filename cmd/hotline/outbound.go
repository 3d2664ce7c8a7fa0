package main

import (
	"fmt"

	"hotline/config"
	"hotline/desk"
	"hotline/sip"
	"hotline/tenant"
)

// outboundRouter routes the calls agents place (desk.Router) over the
// tenants' outbound trunks, as configured (config.Tenant.OutboundRoute):
// the queue's trunk and caller ID, else the tenant's first trunk and its.
type outboundRouter struct {
	tenants map[string]*config.Tenant
	reg     *tenant.Registry
}

func newOutboundRouter(cfg *config.Config, reg *tenant.Registry) outboundRouter {
	r := outboundRouter{tenants: map[string]*config.Tenant{}, reg: reg}
	for i := range cfg.Tenants {
		r.tenants[cfg.Tenants[i].ID] = &cfg.Tenants[i]
	}
	return r
}

// Route implements desk.Router.
func (r outboundRouter) Route(tenantID, queue, number string) (desk.Route, error) {
	tc, ok := r.tenants[tenantID]
	if !ok {
		return desk.Route{}, fmt.Errorf("unknown tenant %q", tenantID)
	}
	if !config.Dialable(number) {
		return desk.Route{}, fmt.Errorf("%q cannot be dialled", number)
	}
	trunk, callerID, err := tc.OutboundRoute(queue)
	if err != nil {
		return desk.Route{}, err
	}
	rt := desk.Route{Trunk: trunk.Name, Target: trunk.URI(number), CallerID: callerID,
		AuthUser: trunk.Username, AuthPassword: trunk.Password, AuthRealm: trunk.Realm}
	if t, ok := r.reg.Tenant(tenantID); ok {
		rt.Prompts, rt.Music = t.Prompts, t.Music
	}
	return rt, nil
}

// enableOutbound lets agents place calls over their tenant's trunks.
func enableOutbound(d *desk.Desk, cfg *config.Config, reg *tenant.Registry, s *sip.Server) {
	d.SetOutbound(desk.Outbound{Dialer: s, Router: newOutboundRouter(cfg, reg)})
}
