package ari

import (
	"net/http"
	"strings"
)

// Endpoint is Asterisk's Endpoint model: for Hotline, a tenant's SIP
// trunks (technology PJSIP) and its agents' softphones (technology
// WebRTC).
type Endpoint struct {
	Technology string   `json:"technology"`
	Resource   string   `json:"resource"`
	State      string   `json:"state,omitempty"` // unknown, offline, online
	ChannelIDs []string `json:"channel_ids"`
}

func (s *Server) endpoints(tenant string) []Endpoint {
	if s.opt.Endpoints == nil {
		return nil
	}
	eps := s.opt.Endpoints(tenant)
	for i := range eps {
		if eps[i].ChannelIDs == nil {
			eps[i].ChannelIDs = []string{}
		}
	}
	return eps
}

// endpointExists takes "TECH" or "TECH/RESOURCE", as event sources do.
func (s *Server) endpointExists(tenant, id string) bool {
	tech, res, _ := strings.Cut(id, "/")
	for _, e := range s.endpoints(tenant) {
		if strings.EqualFold(e.Technology, tech) && (res == "" || e.Resource == res) {
			return true
		}
	}
	return false
}

func (s *Server) listEndpoints(w http.ResponseWriter, r *http.Request) {
	out := []Endpoint{}
	tech := r.PathValue("tech")
	for _, e := range s.endpoints(tenantOf(r)) {
		if tech == "" || strings.EqualFold(e.Technology, tech) {
			out = append(out, e)
		}
	}
	if tech != "" && len(out) == 0 {
		writeError(w, http.StatusNotFound, "Endpoints not found")
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getEndpoint(w http.ResponseWriter, r *http.Request) {
	tech, res := r.PathValue("tech"), r.PathValue("resource")
	for _, e := range s.endpoints(tenantOf(r)) {
		if strings.EqualFold(e.Technology, tech) && e.Resource == res {
			writeJSON(w, http.StatusOK, e)
			return
		}
	}
	writeError(w, http.StatusNotFound, "Endpoint not found")
}
