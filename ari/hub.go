package ari

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// QueueLen bounds the events waiting for one WebSocket. A client that lets
// this many pile up is too slow to follow calls; it is disconnected (and
// may reconnect) rather than allowed to hold publishers or grow memory.
const QueueLen = 1024

// Hub routes events to the applications connected over WebSocket. An
// application exists while a WebSocket for it is connected, as in Asterisk;
// when a second connection registers the same name it takes the application
// over and the first stops receiving its events.
//
// Publishers never block: each connection has a bounded queue, and the
// hub's lock is held only to put encoded events on queues. Events from one
// publisher reach each connection in the order published.
type Hub struct {
	asteriskID string
	now        func() time.Time

	mu      sync.Mutex
	tenants map[string]map[string]*app // tenant -> app name -> app
}

// app is a registered application: its connections (the newest gets the
// events) and its explicit subscriptions ("channel:ID", "bridge:ID", ...).
type app struct {
	name   string
	conns  []*conn
	subs   map[string]bool
	subAll bool
}

func (a *app) active() *conn { return a.conns[len(a.conns)-1] }

// online: the application has a connection (it may be kept without one,
// with its subscriptions, until it reconnects).
func (a *app) online() bool { return a != nil && len(a.conns) > 0 }

// conn is one WebSocket's queue. The hub closes done (once) when it drops
// the connection; the WebSocket's owner then ends it.
type conn struct {
	out     chan []byte
	done    chan struct{}
	dropped bool
	reason  string
}

func (c *conn) drop(reason string) {
	if !c.dropped {
		c.dropped = true
		c.reason = reason
		close(c.done)
	}
}

// NewHub makes a hub; asteriskID is the asterisk_id events carry.
func NewHub(asteriskID string) *Hub {
	return &Hub{asteriskID: asteriskID, now: time.Now, tenants: map[string]map[string]*app{}}
}

// register attaches a connection to the named applications of a tenant.
// subscribeAll makes the applications receive every event of the tenant
// (see Broadcast). The returned function detaches it; it must be called.
func (h *Hub) register(tenant string, names []string, subscribeAll bool) (*conn, func()) {
	c := &conn{out: make(chan []byte, QueueLen), done: make(chan struct{})}
	h.mu.Lock()
	defer h.mu.Unlock()
	apps := h.tenants[tenant]
	if apps == nil {
		apps = map[string]*app{}
		h.tenants[tenant] = apps
	}
	for _, n := range names {
		a := apps[n]
		if a == nil {
			a = &app{name: n, subs: map[string]bool{}}
			apps[n] = a
		}
		a.conns = append(a.conns, c)
		if subscribeAll {
			a.subAll = true
		}
	}
	return c, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		c.drop("closed")
		for _, n := range names {
			a := apps[n]
			if a == nil {
				continue
			}
			a.conns = slices.DeleteFunc(a.conns, func(x *conn) bool { return x == c })
			if len(a.conns) == 0 {
				// An application that reconnects (clients do, by
				// themselves) finds the channels and bridges it followed,
				// as in Asterisk; one that followed nothing is gone.
				a.subAll = false
				if len(a.subs) == 0 {
					delete(apps, n)
				}
			}
		}
		if len(apps) == 0 {
			delete(h.tenants, tenant)
		}
	}
}

// Publish sends ev to the tenant's application app. It reports false when
// the application is not connected (the caller, e.g. the stasis step,
// then fails over as Asterisk's Stasis() does). ev is encoded before the
// hub's lock is taken, so publishers do not queue behind each other's
// encoding; an event value must not be published from two goroutines at
// once.
func (h *Hub) Publish(tenant, appName string, ev Message) (bool, error) {
	data, err := h.encode(appName, ev)
	if err != nil {
		return false, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	a := h.tenants[tenant][appName]
	if !a.online() {
		return false, nil
	}
	a.enqueue(data)
	return true, nil
}

// Broadcast sends ev to every application of the tenant that subscribed to
// one of sources ("channel:ID", "bridge:ID", "endpoint:TECH/RES",
// "deviceState:NAME") or connected with subscribeAll, once each. It
// returns the names of the applications reached.
func (h *Hub) Broadcast(tenant string, sources []string, ev Message) ([]string, error) {
	h.mu.Lock()
	var names []string
	for _, name := range slices.Sorted(maps.Keys(h.tenants[tenant])) {
		a := h.tenants[tenant][name]
		if a.online() && (a.subAll || slices.ContainsFunc(sources, func(s string) bool { return a.subs[s] })) {
			names = append(names, name)
		}
	}
	h.mu.Unlock()
	var reached []string
	for _, name := range names {
		data, err := h.encode(name, ev)
		if err != nil {
			return reached, err
		}
		h.mu.Lock()
		// The application may have gone while its copy was encoded.
		if a := h.tenants[tenant][name]; a.online() {
			a.enqueue(data)
			reached = append(reached, name)
		}
		h.mu.Unlock()
	}
	return reached, nil
}

// encode writes ev as application appName receives it, filling the
// timestamp and asterisk_id when the publisher left them empty; ev itself
// is left as it was.
func (h *Hub) encode(appName string, ev Message) ([]byte, error) {
	b := ev.base()
	saved := *b
	defer func() { *b = saved }()
	b.Application = appName
	if time.Time(b.Timestamp).IsZero() {
		b.Timestamp = Time(h.now())
	}
	if b.AsteriskID == "" {
		b.AsteriskID = h.asteriskID
	}
	data, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("ari: encode %s event for %s: %w", b.Type, appName, err)
	}
	return data, nil
}

// enqueue puts an encoded event on the active connection's queue; the
// caller holds the hub's lock. A full queue drops the connection.
func (a *app) enqueue(data []byte) {
	c := a.active()
	if c.dropped {
		return
	}
	select {
	case c.out <- data:
	default:
		c.drop(fmt.Sprintf("slow client: %d events queued", QueueLen))
	}
}

// Applications lists the tenant's connected applications, by name.
func (h *Hub) Applications(tenant string) []Application {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []Application
	for _, name := range slices.Sorted(maps.Keys(h.tenants[tenant])) {
		if a := h.tenants[tenant][name]; a.online() {
			out = append(out, a.model())
		}
	}
	return out
}

// Application returns one connected application.
func (h *Hub) Application(tenant, name string) (Application, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	a := h.tenants[tenant][name]
	if !a.online() {
		return Application{}, false
	}
	return a.model(), true
}

// Subscribe adds (or, with on false, removes) event sources of a connected
// application; sources must already be validated.
func (h *Hub) Subscribe(tenant, name string, sources []string, on bool) (Application, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	a := h.tenants[tenant][name]
	if !a.online() {
		return Application{}, false
	}
	for _, s := range sources {
		if on {
			a.subs[s] = true
		} else {
			delete(a.subs, s)
		}
	}
	return a.model(), true
}

// follow (un)subscribes a connected application without building its
// model (the call side does it for every channel and bridge); false when
// the application is not connected.
func (h *Hub) follow(tenant, name string, on bool, sources ...string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	a := h.tenants[tenant][name]
	if a == nil || on && !a.online() {
		return false
	}
	for _, s := range sources {
		if on {
			a.subs[s] = true
		} else {
			delete(a.subs, s)
		}
	}
	return true
}

// forget removes source (a destroyed channel or bridge) from every
// application of the tenant, so subscriptions do not pile up.
func (h *Hub) forget(tenant, source string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for name, a := range h.tenants[tenant] {
		delete(a.subs, source)
		if !a.online() && len(a.subs) == 0 {
			delete(h.tenants[tenant], name)
		}
	}
}

// connected reports whether the tenant's application is connected.
func (h *Hub) connected(tenant, name string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.tenants[tenant][name].online()
}

// Subscribed reports whether a connected application has source.
func (h *Hub) Subscribed(tenant, name, source string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	a := h.tenants[tenant][name]
	return a.online() && a.subs[source]
}

func (a *app) model() Application {
	m := Application{Name: a.name, ChannelIDs: []string{}, BridgeIDs: []string{}, EndpointIDs: []string{},
		DeviceNames: []string{}, EventsAllowed: []map[string]any{}, EventsDisallowed: []map[string]any{}}
	for _, s := range slices.Sorted(maps.Keys(a.subs)) {
		kind, id, _ := strings.Cut(s, ":")
		switch kind {
		case "channel":
			m.ChannelIDs = append(m.ChannelIDs, id)
		case "bridge":
			m.BridgeIDs = append(m.BridgeIDs, id)
		case "endpoint":
			m.EndpointIDs = append(m.EndpointIDs, id)
		case "deviceState":
			m.DeviceNames = append(m.DeviceNames, id)
		}
	}
	return m
}
