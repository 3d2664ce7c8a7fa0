package chat

import (
	"context"
	"sync"

	"hotline/acd"
)

// Registry holds the Services of the tenants with chat enabled.
type Registry struct {
	tenants map[string]*Service
}

// NewRegistry holds services, by their tenants.
func NewRegistry(services ...*Service) *Registry {
	r := &Registry{tenants: map[string]*Service{}}
	for _, s := range services {
		r.tenants[s.cfg.TenantID] = s
	}
	return r
}

// Tenant is the tenant's Service; nil when chat is not enabled for it.
func (r *Registry) Tenant(id string) *Service {
	if r == nil {
		return nil
	}
	return r.tenants[id]
}

// AgentState passes an agent's ACD state change to their tenant's chats
// (desk.Config.OnState); it never blocks.
func (r *Registry) AgentState(tenant string, agent acd.AgentID, st acd.State) {
	if s := r.Tenant(tenant); s != nil {
		s.AgentState(string(agent), st)
	}
}

// Run runs every Service until ctx ends.
func (r *Registry) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, s := range r.tenants {
		wg.Go(func() { _ = s.Run(ctx) })
	}
	wg.Wait()
	return nil
}
