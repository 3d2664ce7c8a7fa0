package config

import (
	"strings"
	"testing"
)

func TestParseChat(t *testing.T) {
	src := good + `    queues:
      - {name: cards}
    chat:
      enabled: true
      origins: ["https://WWW.Example.com/", "*"]
      webhooks:
        - {name: wechat, secret_env: WECHAT_SECRET, outbound_url: "https://gw.example/out"}
`
	c, err := Parse("h.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	ch := c.Tenants[0].Chat
	if !ch.Enabled || ch.MaxPerAgent != DefaultChatsPerAgent || ch.MessagesPerMinute != 30 || ch.Origins[0] != "https://www.example.com" ||
		len(ch.Webhooks) != 1 || ch.Webhooks[0].SecretEnv != "WECHAT_SECRET" {
		t.Fatalf("chat = %+v", ch)
	}
}

func TestParseChatErrors(t *testing.T) {
	src := good + strings.Join([]string{
		`    chat:`, // 12
		`      max_per_agent: 50`,
		`      origins:`,
		`        - www.example.com`, // 15
		`      webhooks:`,
		`        - name: WeChat`, // 17
		`          outbound_url: ftp://x`,
		`        - {name: line, secret: a, secret_env: B, outbound_url: "https://x", queue: nope}`, // 19
		`      enabled: true`, // 20
	}, "\n")
	_, err := Parse("h.yaml", []byte(src))
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{
		`h.yaml:13: tenant demo: chat.max_per_agent 50: want 1-20`,
		`h.yaml:15: tenant demo: chat origin "www.example.com"`,
		`h.yaml:17: tenant demo: chat webhook name "WeChat"`,
		`h.yaml:18: tenant demo: chat webhook "WeChat": outbound_url "ftp://x"`,
		`h.yaml:19: tenant demo: chat webhook "line": give one of secret and secret_env`,
		`h.yaml:19: tenant demo: chat webhook "line": queue "nope" is not among the tenant's queues`,
		`h.yaml:20: tenant demo: chat is enabled but the tenant has no queues`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors lack %q:\n%v", want, err)
		}
	}
}
