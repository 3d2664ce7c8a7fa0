package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"hotline/assist"
	"hotline/chat"
	"hotline/config"
	"hotline/store"
)

// newChats makes the chat services of the tenants with chat enabled; the
// bot answers from kb, the tenants' knowledge base.
func newChats(cfg *config.Config, st chat.Store, kb *assist.Base, log *slog.Logger) (*chat.Registry, error) {
	var svcs []*chat.Service
	for _, t := range cfg.Tenants {
		if !t.Chat.Enabled {
			continue
		}
		var queues []string
		for _, q := range t.Queues {
			queues = append(queues, q.Name)
		}
		if len(queues) == 0 {
			return nil, fmt.Errorf("tenant %s: chat is enabled but the tenant has no queues", t.ID)
		}
		var channels []chat.Channel
		for _, w := range t.Chat.Webhooks {
			secret := w.Secret
			if w.SecretEnv != "" {
				secret = os.Getenv(w.SecretEnv)
				if secret == "" {
					return nil, fmt.Errorf("tenant %s: chat webhook %s: environment variable %s is empty", t.ID, w.Name, w.SecretEnv)
				}
			}
			channels = append(channels, chat.Channel{Name: w.Name, Secret: []byte(secret), OutboundURL: w.OutboundURL, Queue: w.Queue})
		}
		svc, err := chat.New(chat.Config{
			TenantID: t.ID, Queues: queues, MaxPerAgent: t.Chat.MaxPerAgent, MessagesPerMinute: t.Chat.MessagesPerMinute, PerAddress: t.Chat.PerAddress,
			Origins: t.Chat.Origins, Channels: channels, Store: st, Logger: log, Answerer: kbAnswerer{kb},
		})
		if err != nil {
			return nil, err
		}
		svcs = append(svcs, svc)
	}
	return chat.NewRegistry(svcs...), nil
}

// kbAnswerer lets the knowledge base answer chat visitors. The base may
// still be empty when the first chat arrives (it is filled once the
// database is open): then nothing is confident and the visitor is offered
// a person.
type kbAnswerer struct{ kb *assist.Base }

func (a kbAnswerer) Answer(_ context.Context, tenant, text string) (chat.BotAnswer, bool) {
	r, ok := a.kb.Best(tenant, text)
	if r.ID == "" {
		return chat.BotAnswer{}, false
	}
	return chat.BotAnswer{ArticleID: r.ID, Title: r.Title, Body: a.kb.Body(tenant, r.ID), Score: r.Score}, ok
}

// lateChatStore lets the chat services be made before the database is
// opened; db is set before they run.
type lateChatStore struct{ db *store.Store }

var errNoChatStore = errors.New("chat: the database is not open")

func (l *lateChatStore) SaveChat(ctx context.Context, c store.Chat) error {
	if l.db == nil {
		return errNoChatStore
	}
	return l.db.SaveChat(ctx, c)
}

func (l *lateChatStore) AddChatMessage(ctx context.Context, m store.ChatMessage) error {
	if l.db == nil {
		return errNoChatStore
	}
	return l.db.AddChatMessage(ctx, m)
}
