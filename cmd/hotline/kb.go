package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"hotline/assist"
	"hotline/config"
	"hotline/speech"
	"hotline/web"
)

// loadKnowledge builds every tenant's knowledge base: its files
// (tenant.knowledge) and the articles created through the API. A file
// problem stops the server, as a flow's does.
func loadKnowledge(ctx context.Context, cfg *config.Config, base *assist.Base, db web.KnowledgeStore, log *slog.Logger) (*web.Knowledge, error) {
	k := &web.Knowledge{Base: base, Store: db}
	for _, t := range cfg.Tenants {
		if t.Knowledge != "" {
			arts, err := assist.LoadDir(t.Knowledge)
			if err != nil {
				return nil, fmt.Errorf("tenant %s: %w", t.ID, err)
			}
			k.Base.SetFiles(t.ID, arts)
		}
		if err := k.Reload(ctx, t.ID); err != nil {
			return nil, fmt.Errorf("tenant %s: knowledge base: %w", t.ID, err)
		}
		if n := len(k.Base.Articles(t.ID)); n > 0 {
			log.Info("knowledge base loaded", "tenant", t.ID, "articles", n)
		}
	}
	return k, nil
}

// splitKnowledgeFiles checks the knowledge-base files among a `flow check`
// command's files (assist.IsKnowledgeFile), printing FILE:LINE: message
// for each problem (and a warning for words the recognizer's vocabulary
// lacks, when there is one), and returns the other files (flows) and the
// number of problems.
func splitKnowledgeFiles(paths []string, vocab speech.Vocabulary, stdout io.Writer) (flows []string, problems int) {
	var kb []string
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err == nil && assist.IsKnowledgeFile(p, data) {
			kb = append(kb, p)
			continue
		}
		flows = append(flows, p) // unreadable files are reported by the flow check
	}
	if len(kb) > 0 {
		var vs []assist.Vocabulary
		if vocab != nil {
			vs = append(vs, vocab)
		}
		problems = assist.CheckFiles(kb, stdout, vs...)
	}
	return flows, problems
}
