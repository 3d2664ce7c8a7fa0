package config

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// TenantChat is a tenant's web chat and messaging channels (docs/chat.md).
// A tenant without `chat: {enabled: true}` refuses visitors' chats.
type TenantChat struct {
	Enabled bool `yaml:"enabled"`
	// MaxPerAgent is how many chats an agent holds at once, besides at
	// most one call (default 3, at most 20).
	MaxPerAgent int `yaml:"max_per_agent"`
	// Origins are the web pages' origins (scheme://host[:port]) allowed
	// to open a chat with the embedded widget; "*" allows any.
	Origins []string `yaml:"origins"`
	// MessagesPerMinute bounds what one visitor sends (default 30).
	MessagesPerMinute int `yaml:"messages_per_minute"`
	// PerAddress bounds the chats one client address holds at once (and
	// its new chats to twice that per minute), since the visitor's socket
	// needs no login (default 8).
	PerAddress int `yaml:"per_address"`
	// Webhooks are outside messaging channels (a WeChat official account,
	// a WhatsApp gateway) plugged in through the webhook adapter.
	Webhooks []ChatWebhook `yaml:"webhooks"`
}

// ChatWebhook is one outside channel: inbound POSTs to
// /chat/webhook/{tenant}/{name} signed with the secret (HMAC-SHA256),
// replies POSTed, signed likewise, to OutboundURL.
type ChatWebhook struct {
	Name        string `yaml:"name"`
	Secret      string `yaml:"secret"`
	SecretEnv   string `yaml:"secret_env"`
	OutboundURL string `yaml:"outbound_url"`
	// Queue is where the channel's users wait for a person ("": the
	// tenant's first queue).
	Queue string `yaml:"queue"`
}

// DefaultChatsPerAgent is an agent's chat capacity when not configured.
const DefaultChatsPerAgent = 3

// checkChat validates a tenant's chat section and fills its defaults.
func checkChat(t *Tenant, at func(keys ...string) int, bad func(line int, format string, args ...any)) {
	c := &t.Chat
	if c.Enabled && len(t.Queues) == 0 {
		bad(at("chat", "enabled"), "tenant %s: chat is enabled but the tenant has no queues to route chats through", t.ID)
	}
	switch {
	case c.MaxPerAgent == 0:
		c.MaxPerAgent = DefaultChatsPerAgent
	case c.MaxPerAgent < 0 || c.MaxPerAgent > 20:
		bad(at("chat", "max_per_agent"), "tenant %s: chat.max_per_agent %d: want 1-20", t.ID, c.MaxPerAgent)
	}
	switch {
	case c.MessagesPerMinute == 0:
		c.MessagesPerMinute = 30
	case c.MessagesPerMinute < 0:
		bad(at("chat", "messages_per_minute"), "tenant %s: chat.messages_per_minute %d is negative", t.ID, c.MessagesPerMinute)
	}
	switch {
	case c.PerAddress == 0:
		c.PerAddress = 8
	case c.PerAddress < 0 || c.PerAddress > 10000:
		bad(at("chat", "per_address"), "tenant %s: chat.per_address %d: want 1-10000", t.ID, c.PerAddress)
	}
	for j, o := range c.Origins {
		if o == "*" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			bad(at("chat", "origins", strconv.Itoa(j)), "tenant %s: chat origin %q: want scheme://host[:port], e.g. https://www.example.com", t.ID, o)
			continue
		}
		c.Origins[j] = strings.ToLower(u.Scheme + "://" + u.Host)
	}
	seen := map[string]bool{}
	for j, w := range c.Webhooks {
		where := func(key string) int { return at("chat", "webhooks", strconv.Itoa(j), key) }
		if !validID(w.Name) || w.Name == "web" {
			bad(where("name"), "tenant %s: chat webhook name %q: use lower-case letters, digits and '-' (not \"web\")", t.ID, w.Name)
		} else if seen[w.Name] {
			bad(where("name"), "tenant %s: chat webhook %q defined twice", t.ID, w.Name)
		}
		seen[w.Name] = true
		if (w.Secret == "") == (w.SecretEnv == "") {
			bad(where("secret"), "tenant %s: chat webhook %q: give one of secret and secret_env", t.ID, w.Name)
		}
		if w.Queue != "" && !slices.ContainsFunc(t.Queues, func(q Queue) bool { return q.Name == w.Queue }) {
			bad(where("queue"), "tenant %s: chat webhook %q: queue %q is not among the tenant's queues", t.ID, w.Name, w.Queue)
		}
		if u, err := url.Parse(w.OutboundURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad(where("outbound_url"), "tenant %s: chat webhook %q: outbound_url %q is not an http(s) URL", t.ID, w.Name, w.OutboundURL)
		}
	}
}
