package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"hotline/assist"
	"hotline/auth"
	"hotline/store"
)

// KnowledgeStore keeps the articles created through the API;
// *store.Store implements it.
type KnowledgeStore interface {
	ListKBArticles(ctx context.Context, tenantID string) ([]store.KBArticle, error)
	CreateKBArticle(ctx context.Context, a store.KBArticle) (*store.KBArticle, error)
	UpdateKBArticle(ctx context.Context, a store.KBArticle) (*store.KBArticle, error)
	DeleteKBArticle(ctx context.Context, tenantID, id string) error
}

// Knowledge serves /api/v1/kb: every tenant's knowledge base (Base, its
// file articles already loaded) and the store of the API's articles.
type Knowledge struct {
	Base  *assist.Base
	Store KnowledgeStore // nil: API articles cannot be created (503)

	// reload serialises a change's "list from the store, rebuild the
	// index", so two changes at once cannot leave the older list in.
	reload sync.Mutex
}

// Reload reads the tenant's API articles from the store into the base,
// rebuilding its index.
func (k *Knowledge) Reload(ctx context.Context, tenantID string) error {
	if k.Store == nil {
		return nil
	}
	k.reload.Lock()
	defer k.reload.Unlock()
	rows, err := k.Store.ListKBArticles(ctx, tenantID)
	if err != nil {
		return err
	}
	arts := make([]assist.Article, len(rows))
	for i, r := range rows {
		arts[i] = assist.Article{ID: r.ID, Title: r.Title, Body: r.Body, Phrases: r.Phrases, Keywords: r.Keywords, Intents: r.Intents, Tags: r.Tags}
	}
	k.Base.SetStored(tenantID, arts)
	return nil
}

// knowledgeRoutes registers the knowledge-base API: agents read and
// search, supervisors and admins change the API's articles.
func (s *Server) knowledgeRoutes(mux *http.ServeMux) {
	agent := auth.RequireRole(auth.RoleAgent)
	editor := auth.RequireRole(auth.RoleSupervisor)
	mux.Handle("GET /api/v1/kb/articles", agent(http.HandlerFunc(s.listKB)))
	mux.Handle("GET /api/v1/kb/articles/{id}", agent(http.HandlerFunc(s.getKB)))
	mux.Handle("POST /api/v1/kb/articles", editor(http.HandlerFunc(s.createKB)))
	mux.Handle("PUT /api/v1/kb/articles/{id}", editor(http.HandlerFunc(s.updateKB)))
	mux.Handle("DELETE /api/v1/kb/articles/{id}", editor(http.HandlerFunc(s.deleteKB)))
}

func (s *Server) knowledge(w http.ResponseWriter, needStore bool) *Knowledge {
	k := s.Knowledge
	if k == nil || k.Base == nil || (needStore && k.Store == nil) {
		writeError(w, http.StatusServiceUnavailable, "the knowledge base is not available on this server")
		return nil
	}
	return k
}

// kbArticle is an article as the API shows it.
type kbArticle struct {
	assist.Article
	// ReadOnly articles come from files (configs/kb/<tenant>/): the API
	// cannot change them.
	ReadOnly bool `json:"read_only"`
}

func kbView(a assist.Article) kbArticle {
	if a.Phrases == nil {
		a.Phrases = []string{}
	}
	for _, l := range []*[]string{&a.Keywords, &a.Intents, &a.Tags} {
		if *l == nil {
			*l = []string{}
		}
	}
	if a.File != "" {
		a.File = fileName(a.File) // not the server's directory layout
	}
	return kbArticle{Article: a, ReadOnly: a.Origin == assist.OriginFile}
}

// maxKBQuery bounds a search query, in characters.
const maxKBQuery = 500

func (s *Server) listKB(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	k := s.knowledge(w, false)
	if k == nil {
		return
	}
	q := r.URL.Query()
	limit := 10
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > assist.MaxLimit {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("limit must be a number from 1 to %d", assist.MaxLimit))
			return
		}
		limit = n
	}
	if _, ok := q["q"]; !ok {
		arts := k.Base.Articles(p.TenantID)
		out := make([]kbArticle, len(arts))
		for i, a := range arts {
			out[i] = kbView(a)
		}
		writeJSON(w, http.StatusOK, map[string]any{"articles": out})
		return
	}
	query := strings.TrimSpace(q.Get("q"))
	switch {
	case query == "":
		writeError(w, http.StatusBadRequest, "q is empty: give words to search for")
		return
	case utf8.RuneCountInString(query) > maxKBQuery:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("q is longer than %d characters", maxKBQuery))
		return
	}
	results := k.Base.Search(p.TenantID, query, limit)
	if results == nil {
		results = []assist.Result{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"query": query, "results": results})
}

// errNoArticle answers every id the caller's tenant does not have.
const errNoArticle = "no such article"

func (s *Server) getKB(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	k := s.knowledge(w, false)
	if k == nil {
		return
	}
	a, ok := k.Base.Article(p.TenantID, r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, errNoArticle)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"article": kbView(a)})
}

type kbRequest struct {
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	Body     string   `json:"body"`
	Phrases  []string `json:"phrases"`
	Keywords []string `json:"keywords"`
	Intents  []string `json:"intents"`
	Tags     []string `json:"tags"`
}

// checked validates the request as an article; on a problem it answers
// 400 with every problem and returns false.
func (req kbRequest) checked(w http.ResponseWriter) (assist.Article, bool) {
	a := assist.Article{ID: req.ID, Title: req.Title, Body: req.Body, Phrases: req.Phrases, Keywords: req.Keywords, Intents: req.Intents, Tags: req.Tags}
	if ps := assist.Check(&a); len(ps) > 0 {
		msgs := make([]string, len(ps))
		for i, p := range ps {
			msgs[i] = p.Msg
		}
		writeError(w, http.StatusBadRequest, strings.Join(msgs, "; "))
		return a, false
	}
	return a, true
}

func readOnly(a assist.Article) string {
	return fmt.Sprintf("article %s comes from the file %s (line %d) and is read-only here: change the file", a.ID, fileName(a.File), a.Line)
}

// fileName is a file article's path from configs/ on, not the server's
// directory layout.
func fileName(path string) string {
	path = strings.ReplaceAll(path, "\\", "/")
	if i := strings.LastIndex(path, "/kb/"); i >= 0 {
		return path[i+1:]
	}
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[i+1:]
	}
	return path
}

func (s *Server) createKB(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	k := s.knowledge(w, true)
	if k == nil {
		return
	}
	var req kbRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	if strings.TrimSpace(req.ID) == "" {
		req.ID = newArticleID(req.Title)
	}
	a, ok := req.checked(w)
	if !ok {
		return
	}
	if old, ok := k.Base.Article(p.TenantID, a.ID); ok {
		if old.Origin == assist.OriginFile {
			writeError(w, http.StatusConflict, readOnly(old))
		} else {
			writeError(w, http.StatusConflict, fmt.Sprintf("an article with id %s already exists", a.ID))
		}
		return
	}
	_, err := k.Store.CreateKBArticle(r.Context(), store.KBArticle{TenantID: p.TenantID, ID: a.ID, Title: a.Title, Body: a.Body,
		Phrases: a.Phrases, Keywords: a.Keywords, Intents: a.Intents, Tags: a.Tags, CreatedBy: p.Username})
	if err != nil {
		s.kbFailed(w, r, a.ID, err)
		return
	}
	s.kbSaved(w, r, k, p.TenantID, a.ID, http.StatusCreated)
}

func (s *Server) updateKB(w http.ResponseWriter, r *http.Request) {
	p, k, old, ok := s.kbExisting(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	var req kbRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	if old.Origin == assist.OriginFile {
		writeError(w, http.StatusConflict, readOnly(old))
		return
	}
	if req.ID != "" && req.ID != id {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("id %q differs from the article's (%s): ids cannot change", req.ID, id))
		return
	}
	req.ID = id
	a, ok := req.checked(w)
	if !ok {
		return
	}
	_, err := k.Store.UpdateKBArticle(r.Context(), store.KBArticle{TenantID: p.TenantID, ID: a.ID, Title: a.Title, Body: a.Body,
		Phrases: a.Phrases, Keywords: a.Keywords, Intents: a.Intents, Tags: a.Tags, UpdatedBy: p.Username})
	if err != nil {
		s.kbFailed(w, r, a.ID, err)
		return
	}
	s.kbSaved(w, r, k, p.TenantID, a.ID, http.StatusOK)
}

func (s *Server) deleteKB(w http.ResponseWriter, r *http.Request) {
	p, k, old, ok := s.kbExisting(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if old.Origin == assist.OriginFile {
		writeError(w, http.StatusConflict, readOnly(old))
		return
	}
	if err := k.Store.DeleteKBArticle(r.Context(), p.TenantID, id); err != nil {
		s.kbFailed(w, r, id, err)
		return
	}
	if !s.kbReload(w, r, k, p.TenantID) {
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// kbExisting is how changing an article starts: the tenant's knowledge
// (with its store) and the article {id}. It has answered (404 when there
// is no such article) when ok is false.
func (s *Server) kbExisting(w http.ResponseWriter, r *http.Request) (p auth.Principal, k *Knowledge, old assist.Article, ok bool) {
	p, _ = auth.FromContext(r.Context())
	if k = s.knowledge(w, true); k == nil {
		return p, nil, old, false
	}
	if old, ok = k.Base.Article(p.TenantID, r.PathValue("id")); !ok {
		writeError(w, http.StatusNotFound, errNoArticle)
	}
	return p, k, old, ok
}

// kbSaved answers a create or an update with the article as the
// rebuilt index now holds it (status 201 also names it in Location).
func (s *Server) kbSaved(w http.ResponseWriter, r *http.Request, k *Knowledge, tenantID, id string, status int) {
	if !s.kbReload(w, r, k, tenantID) {
		return
	}
	a, _ := k.Base.Article(tenantID, id)
	if status == http.StatusCreated {
		w.Header().Set("Location", "/api/v1/kb/articles/"+a.ID)
	}
	writeJSON(w, status, map[string]any{"article": kbView(a)})
}

// kbReload rebuilds the tenant's index after a change; false when it
// answered 500.
func (s *Server) kbReload(w http.ResponseWriter, r *http.Request, k *Knowledge, tenantID string) bool {
	if err := k.Reload(r.Context(), tenantID); err != nil {
		s.serverError(w, r, fmt.Errorf("knowledge base %s: reload: %w", tenantID, err))
		return false
	}
	return true
}

func (s *Server) kbFailed(w http.ResponseWriter, r *http.Request, id string, err error) {
	var inv *store.InvalidError
	switch {
	case errors.As(err, &inv):
		writeError(w, http.StatusBadRequest, inv.Msg)
	case errors.Is(err, store.ErrExists):
		// Created by someone else since the check above.
		writeError(w, http.StatusConflict, fmt.Sprintf("an article with id %s already exists", id))
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, errNoArticle)
	default:
		s.serverError(w, r, err)
	}
}

// newArticleID makes an id from a title ("Policy surrender value" ->
// policy-surrender-value-3f9a1c) for articles created without one; the
// random suffix keeps two articles of the same title apart.
func newArticleID(title string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(title) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if b.Len() > 0 && !dash {
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 40 {
			break
		}
	}
	slug := strings.TrimRight(b.String(), "-")
	var suffix [3]byte
	_, _ = rand.Read(suffix[:])
	if slug == "" {
		return "kb-" + hex.EncodeToString(suffix[:])
	}
	return slug + "-" + hex.EncodeToString(suffix[:])
}

// OpenAPI descriptions of the routes above.

func openAPIKBArticleSchema() map[string]any {
	list := map[string]any{"type": "array", "items": apiType("string")}
	return objectOf(map[string]any{
		"id": apiType("string"), "title": apiType("string"), "body": apiType("string"),
		"phrases": list, "keywords": list, "intents": list, "tags": list,
		"origin":    map[string]any{"type": "string", "enum": []string{assist.OriginFile, assist.OriginAPI}},
		"file":      map[string]any{"type": "string", "description": "file articles: the file"},
		"line":      map[string]any{"type": "integer", "description": "file articles: the line of the entry"},
		"read_only": map[string]any{"type": "boolean", "description": "file articles cannot be changed through the API"},
	})
}

func openAPIKBRequest() map[string]any {
	list := func(max int) map[string]any {
		return map[string]any{"type": "array", "maxItems": max, "items": apiType("string")}
	}
	return map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{
		"type": "object", "required": []string{"title", "phrases"}, "additionalProperties": false,
		"properties": map[string]any{
			"id":       map[string]any{"type": "string", "pattern": "^[a-z0-9][a-z0-9._-]*$", "maxLength": assist.MaxID, "description": "POST: optional, made from the title when absent; PUT: must be the path's or absent"},
			"title":    map[string]any{"type": "string", "minLength": 1, "maxLength": assist.MaxTitle},
			"body":     map[string]any{"type": "string", "maxLength": assist.MaxBody},
			"phrases":  map[string]any{"type": "array", "minItems": 1, "maxItems": assist.MaxPhrases, "items": apiType("string"), "description": "what callers say when this article is the answer"},
			"keywords": list(assist.MaxKeywords), "intents": list(assist.MaxKeywords), "tags": list(assist.MaxKeywords),
		},
	}}}}
}

func openAPIKBArticles() map[string]any {
	q := func(name, desc string, schema map[string]any) map[string]any {
		return map[string]any{"name": name, "in": "query", "description": desc, "schema": schema}
	}
	return map[string]any{
		"get": secured(map[string]any{
			"summary": "The tenant's knowledge-base articles (any role); with q, a search whose results explain their scores (docs/knowledge.md)",
			"parameters": []any{
				q("q", "words to search for in phrases, keywords, titles and bodies", map[string]any{"type": "string", "minLength": 1, "maxLength": maxKBQuery}),
				q("limit", "results of a search", map[string]any{"type": "integer", "minimum": 1, "maximum": assist.MaxLimit, "default": 10}),
			},
			"responses": map[string]any{
				"200": okJSON("without q: every article by id; with q: results best first, each with score, phrase_score, keyword_score, phrases, keywords, words, title_parts and snippet (text segments, matched words marked)", objectOf(map[string]any{
					"articles": map[string]any{"type": "array", "items": openAPIKBArticleSchema()},
					"query":    apiType("string"),
					"results":  map[string]any{"type": "array", "items": apiType("object")},
				})),
				"400": errorResponse("empty or too long q, bad limit"),
			},
		}),
		"post": secured(map[string]any{
			"summary":     "Create an article (supervisor or admin); it is stored in the database and matched at once",
			"requestBody": openAPIKBRequest(),
			"responses": map[string]any{
				"201": okJSON("created", objectOf(map[string]any{"article": openAPIKBArticleSchema()})),
				"400": errorResponse("missing title or phrases, bad id, too long text, unknown field"),
				"403": errorResponse("role below supervisor"),
				"409": errorResponse("the id is taken (by a file article or another API article)"),
			},
		}),
	}
}

func openAPIKBArticle() map[string]any {
	id := map[string]any{"name": "id", "in": "path", "required": true, "schema": apiType("string")}
	return map[string]any{
		"get": secured(map[string]any{
			"summary": "One article (any role)", "parameters": []any{id},
			"responses": map[string]any{
				"200": okJSON("the article", objectOf(map[string]any{"article": openAPIKBArticleSchema()})),
				"404": errorResponse("no such article in the caller's tenant"),
			},
		}),
		"put": secured(map[string]any{
			"summary": "Replace an API article's content (supervisor or admin)", "parameters": []any{id},
			"requestBody": openAPIKBRequest(),
			"responses": map[string]any{
				"200": okJSON("the article", objectOf(map[string]any{"article": openAPIKBArticleSchema()})),
				"400": errorResponse("bad content, or an id other than the path's"),
				"403": errorResponse("role below supervisor"),
				"404": errorResponse("no such article in the caller's tenant"),
				"409": errorResponse("a file article: read-only through the API"),
			},
		}),
		"delete": secured(map[string]any{
			"summary": "Delete an API article (supervisor or admin)", "parameters": []any{id},
			"responses": map[string]any{
				"204": map[string]any{"description": "deleted"},
				"403": errorResponse("role below supervisor"),
				"404": errorResponse("no such article in the caller's tenant"),
				"409": errorResponse("a file article: read-only through the API"),
			},
		}),
	}
}
