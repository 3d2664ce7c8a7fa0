package web

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// The visitor's chat socket needs no login and its Origin header is only a
// browser's promise, so a script could open chats until the tenant's cap
// turns real visitors away. Each client address may hold a few chats and
// open new ones at a human pace.
const (
	chatsPerAddr     = 8                // open at once
	chatStartsPerMin = 20               // new chats per minute, in bursts of chatStartsBurst
	chatStartsBurst  = 10               //
	chatAddrIdle     = 10 * time.Minute // an address with no chat is forgotten after this
)

// chatAddrLimit counts visitors' chats per tenant and client address.
type chatAddrLimit struct {
	mu    sync.Mutex
	addrs map[string]*chatAddr
	swept time.Time
}

type chatAddr struct {
	open   int
	tokens float64
	at     time.Time // of the last refill
}

// take admits a new chat from r's address, or says why not; the returned
// func gives the slot back when the chat's socket closes.
func (l *chatAddrLimit) take(r *http.Request, tenant string, perAddr int, now time.Time) (release func(), why string) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	key := tenant + " " + host
	burst, perMin := float64(perAddr), 2*float64(perAddr)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.addrs == nil {
		l.addrs = map[string]*chatAddr{}
	}
	l.sweep(now)
	a := l.addrs[key]
	if a == nil {
		a = &chatAddr{tokens: burst, at: now}
		l.addrs[key] = a
	}
	a.tokens = min(burst, a.tokens+now.Sub(a.at).Minutes()*perMin)
	a.at = now
	switch {
	case a.open >= perAddr:
		return nil, "too many chats open from your address; close one first"
	case a.tokens < 1:
		return nil, "too many new chats from your address; wait a minute"
	}
	a.tokens--
	a.open++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			a.open--
			l.mu.Unlock()
		})
	}, ""
}

// sweep forgets idle addresses, at most once a minute, so the map holds
// only recent visitors.
func (l *chatAddrLimit) sweep(now time.Time) {
	if now.Sub(l.swept) < time.Minute {
		return
	}
	l.swept = now
	for k, a := range l.addrs {
		if a.open == 0 && now.Sub(a.at) > chatAddrIdle {
			delete(l.addrs, k)
		}
	}
}
