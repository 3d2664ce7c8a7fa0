package store_test

import (
	"errors"
	"testing"

	"hotline/store"
)

// TestKBArticles is the API articles' life cycle, per tenant: create,
// read, list, update, delete; a taken id is ErrExists, another tenant's
// article is ErrNotFound for every operation, and the table's limits hold.
func TestKBArticles(t *testing.T) {
	s := recordingsDB(t)
	ctx := testCtx(t)
	a := store.KBArticle{TenantID: "demo", ID: "surrender-value", Title: "Surrender value", Body: "Quote it.",
		Phrases: []string{"what is my surrender value"}, Keywords: []string{"surrender value"}, CreatedBy: "sam"}
	got, err := s.CreateKBArticle(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != a.ID || got.CreatedBy != "sam" || got.UpdatedBy != "sam" || got.CreatedAt.IsZero() || len(got.Intents) != 0 || got.Intents == nil {
		t.Errorf("created %+v", got)
	}
	if _, err := s.CreateKBArticle(ctx, a); !errors.Is(err, store.ErrExists) {
		t.Errorf("duplicate id: %v, want ErrExists", err)
	}
	other := a
	other.TenantID = "acme"
	if _, err := s.CreateKBArticle(ctx, other); err != nil {
		t.Errorf("the same id in another tenant: %v", err)
	}
	if _, err := s.GetKBArticle(ctx, "acme", "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("get missing: %v", err)
	}
	a.Title, a.Phrases, a.UpdatedBy = "Policy surrender value", []string{"surrender my policy", "cash in my policy"}, "ann"
	up, err := s.UpdateKBArticle(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if up.Title != a.Title || len(up.Phrases) != 2 || up.UpdatedBy != "ann" || up.CreatedBy != "sam" || !up.UpdatedAt.After(got.UpdatedAt) && !up.UpdatedAt.Equal(got.UpdatedAt) {
		t.Errorf("updated %+v", up)
	}
	if acme, _ := s.GetKBArticle(ctx, "acme", a.ID); acme == nil || acme.Title != "Surrender value" {
		t.Errorf("the update reached another tenant: %+v", acme)
	}
	list, err := s.ListKBArticles(ctx, "demo")
	if err != nil || len(list) != 1 || list[0].Title != a.Title {
		t.Errorf("list %+v, %v", list, err)
	}
	bad := a
	bad.Phrases = nil
	if _, err := s.UpdateKBArticle(ctx, bad); err == nil {
		t.Error("an article without phrases was stored")
	}
	if err := s.DeleteKBArticle(ctx, "demo", a.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteKBArticle(ctx, "demo", a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("delete twice: %v", err)
	}
	if _, err := s.UpdateKBArticle(ctx, a); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("update deleted: %v", err)
	}
	if list, _ := s.ListKBArticles(ctx, "acme"); len(list) != 1 {
		t.Errorf("acme's article went with demo's: %+v", list)
	}
}
