package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"hotline/ivr"

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

// tenantVocabularies is each tenant's vocabulary for the transcript
// workers to prepare, in the form the live transcripts send it.
func tenantVocabularies(kb *assist.Base) [][]string {
	var out [][]string
	for _, t := range kb.Tenants() {
		if v := kb.Vocabulary(t); len(v) > 0 {
			out = append(out, v)
		}
	}
	return out
}

// splitKnowledgeFiles checks the knowledge-base files among a `flow check`
// command's files (assist.IsKnowledgeFile), printing FILE:LINE: message
// for each problem (and a warning for words the recognizer's vocabulary
// lacks, when there is one), and returns the other files (flows) and the
// number of problems.
func splitKnowledgeFiles(paths []string, vocab speech.Vocabulary, stdout io.Writer) (flows []string, problems int) {
	var kb, checklists []string
	for _, p := range paths {
		data, err := os.ReadFile(p)
		switch {
		case err == nil && assist.IsChecklistFile(data):
			checklists = append(checklists, p)
		case err == nil && assist.IsKnowledgeFile(p, data):
			kb = append(kb, p)
		default:
			flows = append(flows, p) // unreadable files are reported by the flow check
		}
	}
	problems += checkChecklistFiles(checklists, flows, stdout)
	if len(kb) > 0 {
		var vs []assist.Vocabulary
		if vocab != nil {
			vs = append(vs, vocab)
		}
		problems += assist.CheckFiles(kb, stdout, vs...)
	}
	return flows, problems
}

// checkChecklistFiles checks checklist files against the IVR's event kinds
// and, when flows are checked with them, those flows' step names.
func checkChecklistFiles(paths, flows []string, stdout io.Writer) int {
	if len(paths) == 0 {
		return 0
	}
	refs := assist.ChecklistRefs{Events: ivr.EventKinds()}
	if len(flows) > 0 {
		refs.Steps = flowSteps(flows)
	}
	n := 0
	seen := map[string]string{} // checklist id -> where, per directory
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			fmt.Fprintf(stdout, "%s: %v\n", p, err)
			n++
			continue
		}
		cls, errs := assist.ParseChecklists(p, data, refs)
		for _, cl := range cls {
			key := filepath.Dir(p) + "\x00" + cl.ID
			if first, dup := seen[key]; dup {
				errs = append(errs, assist.Error{File: p, Line: cl.Line, Msg: fmt.Sprintf("duplicate checklist id %q (first at %s)", cl.ID, first)})
				continue
			}
			seen[key] = fmt.Sprintf("%s:%d", p, cl.Line)
		}
		for _, e := range errs {
			fmt.Fprintln(stdout, e.Error())
		}
		n += len(errs)
	}
	return n
}

// flowSteps collects the step names of flow files; nil (step names not
// checked) when one of them cannot be read or parsed: the flow's own error
// is what its author must see first, and the flow check or the tenant's
// loading reports it.
func flowSteps(paths []string) map[string]bool {
	steps := map[string]bool{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		f, _ := ivr.ParseFlow(p, data, ivr.CheckOptions{})
		if f == nil {
			return nil
		}
		for name := range f.Steps {
			steps[name] = true
		}
	}
	return steps
}

// loadChecklists reads every tenant's checklists from its knowledge-base
// directory, checked against the tenant's flows. A problem stops the
// server, as a flow's does.
func loadChecklists(cfg *config.Config) (map[string][]assist.Checklist, error) {
	out := map[string][]assist.Checklist{}
	for _, t := range cfg.Tenants {
		if t.Knowledge == "" {
			continue
		}
		var flows []string
		for _, f := range t.Flows {
			flows = append(flows, f)
		}
		cls, err := assist.LoadChecklists(t.Knowledge, assist.ChecklistRefs{Events: ivr.EventKinds(), Steps: flowSteps(flows)})
		if err != nil {
			return nil, fmt.Errorf("tenant %s: %w", t.ID, err)
		}
		out[t.ID] = cls
	}
	return out, nil
}
