package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hotline/assist"
	"hotline/config"
	"hotline/store"
	"hotline/web"
)

// TestFlowCheckKnowledgeFiles: `hotline flow check` takes knowledge-base
// files (and flows in the same run), prints FILE:LINE: message and exits
// 1 on a problem, 0 on the shipped files.
func TestFlowCheckKnowledgeFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "kb", "demo")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("- id: lost\n  title: Lost card\n  phrases: [lost card]\n- id: lost\n  phrases: [x y]\n  colour: red\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := run([]string{"flow", "check", "--speech-dict", "none", bad, "../../configs/flows/demo-main.yaml"}, &out, &errb)
	want := bad + `:6: unknown field "colour" (want id, title, body, phrases, keywords, intents or tags)`
	if code != 1 || !strings.Contains(out.String(), want) {
		t.Errorf("exit %d, output:\n%s%s\nwant exit 1 and %s", code, &out, &errb, want)
	}
	if strings.Contains(out.String(), "demo-main.yaml") {
		t.Errorf("the demo flow has problems:\n%s", &out)
	}

	out.Reset()
	files, _ := filepath.Glob("../../configs/kb/*/*.yaml")
	if len(files) < 3 {
		t.Fatalf("shipped knowledge files: %v", files)
	}
	if code := run(append([]string{"flow", "check", "--speech-dict", "none"}, files...), &out, &errb); code != 0 {
		t.Errorf("the shipped knowledge bases: exit %d\n%s%s", code, &out, &errb)
	}
}

// fakeKBStore is a database with one API article for demo.
type fakeKBStore struct{ web.KnowledgeStore }

func (fakeKBStore) ListKBArticles(_ context.Context, tenantID string) ([]store.KBArticle, error) {
	if tenantID != "demo" {
		return nil, nil
	}
	return []store.KBArticle{{TenantID: "demo", ID: "surrender-value", Title: "Surrender value", Phrases: []string{"surrender my policy"}}}, nil
}

// TestLoadKnowledge: serve loads each tenant's files and API articles; a
// broken file stops it with FILE:LINE.
func TestLoadKnowledge(t *testing.T) {
	cfg := &config.Config{Tenants: []config.Tenant{{ID: "demo", Knowledge: "../../configs/kb/demo"}, {ID: "acme"}}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	k, err := loadKnowledge(context.Background(), cfg, assist.New(), fakeKBStore{}, log)
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := k.Base.Article("demo", "surrender-value"); !ok || a.Origin != "api" {
		t.Errorf("API article: %+v", a)
	}
	if r, ok := k.Base.Best("demo", "my card was stolen"); !ok || r.ID != "block-card" {
		t.Errorf("Best: %+v %v", r, ok)
	}
	if len(k.Base.Articles("acme")) != 0 {
		t.Error("acme got articles")
	}

	dir := t.TempDir()
	bad := filepath.Join(dir, "a.yaml")
	if err := os.WriteFile(bad, []byte("- id: x\n  title: X\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.Tenants[1].Knowledge = dir
	_, err = loadKnowledge(context.Background(), cfg, assist.New(), fakeKBStore{}, log)
	if want := "tenant acme: " + bad + ":1: article x needs phrases"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("broken file: %v, want %s...", err, want)
	}
}

// TestFlowCheckChecklists: checklist files are checked at `hotline flow
// check` with FILE:LINE errors, their IVR steps against the flows given
// with them and their events against the IVR's; the demo's pass.
func TestFlowCheckChecklists(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "kb", "demo")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "checklists.yaml")
	src := "checklists:\n  - id: lost-card\n    title: Lost card\n    ivr: [lost_card]\n    steps:\n" +
		"      - id: verify\n        title: Verify identity\n        when:\n" +
		"          - ivr: pin_confirmed\n          - event: {kind: pin_verified}\n"
	if err := os.WriteFile(bad, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := run([]string{"flow", "check", "--speech-dict", "none", bad, "../../configs/flows/demo-main.yaml"}, &out, &errb)
	for _, want := range []string{
		bad + `:9: checklist lost-card: step verify: ivr names flow step "pin_confirmed", which no flow of the tenant has`,
		bad + `:10: checklist lost-card: step verify: unknown IVR event "pin_verified"`,
	} {
		if code != 1 || !strings.Contains(out.String(), want) {
			t.Errorf("exit %d, output:\n%s%s\nwant exit 1 and %s", code, &out, &errb, want)
		}
	}
	out.Reset()
	code = run([]string{"flow", "check", "--speech-dict", "none", "../../configs/kb/demo/checklists.yaml", "../../configs/flows/demo-main.yaml"}, &out, &errb)
	if code != 0 {
		t.Errorf("the demo's checklists: exit %d\n%s%s", code, &out, &errb)
	}
}
