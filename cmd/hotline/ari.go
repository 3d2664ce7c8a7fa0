package main

import (
	"cmp"
	"fmt"
	"strings"

	"hotline/call"
	"log/slog"
	"path/filepath"

	"hotline/ari"
	"hotline/config"
	"hotline/desk"
	"hotline/media"
	"hotline/sip"
	"hotline/tenant"
)

// newARI builds the /ari server from the tenants' ARI users, over the
// tenants' prompts and music and the SIP server's outbound calls.
func newARI(cfg *config.Config, version string, reg *tenant.Registry, sipSrv *sip.Server, agentDesk *desk.Desk, log *slog.Logger) (*ari.Server, error) {
	var users []ari.User
	outbound := map[string][]config.OutboundTrunk{}
	for _, t := range cfg.Tenants {
		outbound[t.ID] = t.Trunks.Outbound
		for _, u := range t.ARI.Users {
			users = append(users, ari.User{Tenant: t.ID, Username: u.Username, Password: u.Password})
		}
	}
	srv, err := ari.New(ari.Options{Users: users, SystemName: "hotline", Version: version, Logger: log,
		Globals:       map[string]string{"HOTLINE_VERSION": version},
		RecordingsDir: filepath.Join(cfg.Data, "ari", "recordings"),
		Prompts: func(tenantID string) call.Prompts {
			if t, ok := reg.Tenant(tenantID); ok {
				return t.Prompts
			}
			return nil
		},
		Music: func(tenantID string) *media.Prompt {
			if t, ok := reg.Tenant(tenantID); ok {
				return t.Music
			}
			return nil
		},
		Endpoints: func(tenantID string) []ari.Endpoint {
			eps := []ari.Endpoint{{Technology: "PJSIP", Resource: tenantID + "-trunk", State: "online"}}
			for _, o := range outbound[tenantID] {
				eps = append(eps, ari.Endpoint{Technology: "PJSIP", Resource: o.Name, State: "online"})
			}
			// Agents who opened the softphone page (Agent/USERNAME reaches
			// them); online while their page is connected and logged in.
			for _, a := range agentDesk.AgentsOf(tenantID) {
				state := "offline"
				if a.Online {
					state = "online"
				}
				eps = append(eps, ari.Endpoint{Technology: "Agent", Resource: a.Username, State: state})
			}
			return eps
		},
		Originator: originator{desk: agentDesk, reg: reg, sip: sipSrv, trunks: outbound},
	})
	if err != nil {
		return nil, fmt.Errorf("ari: %w", err)
	}
	return srv, nil
}

// originator places ARI originates over a tenant's outbound trunks.
type originator struct {
	desk   *desk.Desk
	reg    *tenant.Registry
	sip    *sip.Server
	trunks map[string][]config.OutboundTrunk
}

// Originate takes Asterisk's PJSIP dial strings: PJSIP/NUMBER@TRUNK names
// one of the tenant's outbound trunks (an application cannot reach an
// address the tenant did not configure: no toll fraud through ARI).
func (o originator) Originate(req ari.OriginateRequest) (*call.Call, error) {
	tech, rest, _ := strings.Cut(req.Endpoint, "/")
	if strings.EqualFold(tech, "Agent") || strings.EqualFold(tech, "WebRTC") {
		return o.originateAgent(req, rest)
	}
	target, trunk, err := o.resolve(req.Tenant, req.Endpoint)
	if err != nil {
		return nil, err
	}
	t, ok := o.reg.Tenant(req.Tenant)
	if !ok {
		return nil, fmt.Errorf("%w: unknown tenant", ari.ErrEndpoint)
	}
	name, num := callerID(req.CallerID)
	if !dialable(num) {
		num = ""
	}
	// The display name goes into a quoted string: no quotes, no controls.
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == '"' || r == '\\' || r == 0x7f {
			return -1
		}
		return r
	}, name)
	return o.sip.Dial(sip.DialRequest{TenantID: req.Tenant, Target: target, From: cmp.Or(num, trunk.CallerID, "anonymous"), FromName: name,
		Timeout: req.Timeout, Prompts: t.Prompts, Music: t.Music, Created: req.Created, Run: req.Run,
		AuthUser: trunk.Username, AuthPassword: trunk.Password, AuthRealm: trunk.Realm})
}

// ResolveEndpoint implements ari.EndpointResolver (redirect targets).
func (o originator) ResolveEndpoint(tenantID, endpoint string) (string, error) {
	target, _, err := o.resolve(tenantID, endpoint)
	return target, err
}

// resolve maps PJSIP/NUMBER@TRUNK to the SIP URI of NUMBER at one of the
// tenant's outbound trunks.
func (o originator) resolve(tenantID, endpoint string) (string, *config.OutboundTrunk, error) {
	tech, rest, _ := strings.Cut(endpoint, "/")
	if !strings.EqualFold(tech, "PJSIP") && !strings.EqualFold(tech, "SIP") {
		return "", nil, fmt.Errorf("%w: %q: use PJSIP/NUMBER@TRUNK", ari.ErrEndpoint, endpoint)
	}
	number, trunkName, ok := strings.Cut(rest, "@")
	if !ok || !dialable(number) {
		return "", nil, fmt.Errorf("%w: %q: use PJSIP/NUMBER@TRUNK", ari.ErrEndpoint, endpoint)
	}
	for i, t := range o.trunks[tenantID] {
		if t.Name == trunkName {
			trunk := &o.trunks[tenantID][i]
			return trunk.URI(number), trunk, nil
		}
	}
	return "", nil, fmt.Errorf("%w: no outbound trunk %q", ari.ErrEndpoint, trunkName)
}

// dialable keeps what goes into a SIP URI's user part to the characters
// a number can have (config.Dialable).
func dialable(number string) bool { return config.Dialable(number) }

// callerID splits Asterisk's "Name <number>" (or a bare number).
func callerID(s string) (name, number string) {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '<'); i >= 0 {
		if j := strings.IndexByte(s[i:], '>'); j > 0 {
			return strings.Trim(strings.TrimSpace(s[:i]), `"`), strings.TrimSpace(s[i+1 : i+j])
		}
	}
	return "", s
}
