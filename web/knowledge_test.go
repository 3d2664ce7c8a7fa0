package web

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hotline/assist"
	"hotline/auth"
	"hotline/store"
	"hotline/store/storetest"
)

var _ KnowledgeStore = (*store.Store)(nil)

// newKBAPI is newAPI's tenants and users with the knowledge base: demo
// has the demo bank's file articles (configs/kb/demo), acme none.
func newKBAPI(t *testing.T) (*api, *Knowledge) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db := storetest.NewStore(t)
	if err := db.SyncTenants(ctx, []store.Tenant{{ID: "demo", Name: "Demo"}, {ID: "acme", Name: "Acme"}}, nil); err != nil {
		t.Fatal(err)
	}
	clk := &testClock{now: time.Now()}
	svc, err := auth.New(db, auth.Config{Password: auth.CheapParams(), Now: clk.Now, IdleTimeout: 8 * time.Hour, MaxAge: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct{ tenant, name, role string }{
		{"demo", "alice", auth.RoleAgent}, {"demo", "sam", auth.RoleSupervisor}, {"demo", "ada", auth.RoleAdmin},
		{"acme", "carol", auth.RoleAgent}, {"acme", "dave", auth.RoleSupervisor},
	} {
		if _, err := svc.CreateUser(ctx, u.tenant, auth.NewUser{Username: u.name, DisplayName: u.name, Role: u.role, Password: u.name + "-demo"}); err != nil {
			t.Fatal(err)
		}
	}
	arts, err := assist.LoadDir(filepath.Join("..", "configs", "kb", "demo"))
	if err != nil {
		t.Fatal(err)
	}
	k := &Knowledge{Base: assist.New(), Store: db}
	k.Base.SetFiles("demo", arts)
	s := &Server{Status: &fakeStatus{ready: true}, Registry: prometheus.NewRegistry(), Auth: svc, Knowledge: k}
	return &api{t: t, h: s.Handler(), db: db, clk: clk}, k
}

func (a *api) kb(token, method, path, body string, want int) *httptest.ResponseRecorder {
	a.t.Helper()
	rec := a.do(method, path, body, bearer(token)...)
	if rec.Code != want {
		a.t.Fatalf("%s %s %s: %d %s, want %d", method, path, body, rec.Code, rec.Body, want)
	}
	if want >= 400 && !strings.Contains(rec.Body.String(), `"error"`) {
		a.t.Errorf("%s %s: error without a message: %s", method, path, rec.Body)
	}
	return rec
}

type kbArticleJSON struct {
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	Phrases  []string `json:"phrases"`
	Keywords []string `json:"keywords"`
	Origin   string   `json:"origin"`
	File     string   `json:"file"`
	ReadOnly bool     `json:"read_only"`
}

// TestKnowledgeAPI is the article life cycle through the API: supervisors
// create, change and delete; the new article is matched at once; agents
// read and search but cannot change; file articles answer 409; another
// tenant's ids are 404.
func TestKnowledgeAPI(t *testing.T) {
	a, k := newKBAPI(t)
	alice, sam, ada := a.login("demo", "alice"), a.login("demo", "sam"), a.login("demo", "ada")
	carol, dave := a.login("acme", "carol"), a.login("acme", "dave")

	list := decode[struct{ Articles []kbArticleJSON }](t, a.kb(alice, "GET", "/api/v1/kb/articles", "", 200))
	if len(list.Articles) < 10 || !list.Articles[0].ReadOnly || list.Articles[0].Origin != "file" || !strings.HasPrefix(list.Articles[0].File, "kb/demo/") {
		t.Fatalf("demo's list: %d articles, first %+v", len(list.Articles), list.Articles[0])
	}

	body := `{"title":"Policy surrender value","body":"Quote the <b>surrender value</b> from Policies.","phrases":["what is the surrender value of my policy","cash in my policy"],"keywords":["surrender value","endorsement"],"intents":["surrender"]}`
	a.kb(alice, "POST", "/api/v1/kb/articles", body, 403)
	created := decode[struct{ Article kbArticleJSON }](t, a.kb(sam, "POST", "/api/v1/kb/articles", body, 201)).Article
	if !strings.HasPrefix(created.ID, "policy-surrender-value-") || created.Origin != "api" || created.ReadOnly {
		t.Fatalf("created %+v", created)
	}
	path := "/api/v1/kb/articles/" + created.ID
	// Matched at once, and its terms are in the vocabulary.
	if r, ok := k.Base.Best("demo", "how much do I get if I surrender my policy"); !ok || r.ID != created.ID {
		t.Errorf("Best after create: %+v %v", r, ok)
	}
	if !strings.Contains(strings.Join(k.Base.Vocabulary("demo"), "|"), "endorsement") {
		t.Error("the new keyword is not in the vocabulary")
	}
	res := decode[struct {
		Results []assist.Result
	}](t, a.kb(alice, "GET", "/api/v1/kb/articles?q=surrender+value", "", 200))
	if len(res.Results) == 0 || res.Results[0].ID != created.ID || res.Results[0].Score <= 0 || len(res.Results[0].Keywords) == 0 {
		t.Errorf("search: %+v", res.Results)
	}

	// Explicit ids: a file article's and a taken one are 409.
	a.kb(ada, "POST", "/api/v1/kb/articles", `{"id":"block-card","title":"x","phrases":["x y"]}`, 409)
	a.kb(ada, "POST", "/api/v1/kb/articles", `{"id":"`+created.ID+`","title":"x","phrases":["x y"]}`, 409)

	up := `{"title":"Surrender value of a policy","phrases":["surrender my policy"],"keywords":["surrender value"]}`
	a.kb(alice, "PUT", path, up, 403)
	got := decode[struct{ Article kbArticleJSON }](t, a.kb(ada, "PUT", path, up, 200)).Article
	if got.Title != "Surrender value of a policy" || len(got.Phrases) != 1 {
		t.Errorf("updated %+v", got)
	}
	if one := decode[struct{ Article kbArticleJSON }](t, a.kb(alice, "GET", path, "", 200)).Article; one.Title != got.Title {
		t.Errorf("get after update: %+v", one)
	}

	// Files are read-only.
	rec := a.kb(sam, "PUT", "/api/v1/kb/articles/block-card", up, 409)
	if !strings.Contains(rec.Body.String(), "kb/demo/cards.yaml") || !strings.Contains(rec.Body.String(), "read-only") {
		t.Errorf("409 message: %s", rec.Body)
	}
	a.kb(sam, "DELETE", "/api/v1/kb/articles/block-card", "", 409)

	// Another tenant: 404 for everything, and its own base is empty.
	a.kb(carol, "GET", path, "", 404)
	a.kb(carol, "GET", "/api/v1/kb/articles/block-card", "", 404)
	a.kb(dave, "PUT", path, up, 404)
	a.kb(dave, "DELETE", path, "", 404)
	if res := decode[struct{ Results []assist.Result }](t, a.kb(carol, "GET", "/api/v1/kb/articles?q=stolen+card", "", 200)); len(res.Results) != 0 {
		t.Errorf("acme sees demo's articles: %+v", res.Results)
	}

	a.kb(alice, "DELETE", path, "", 403)
	a.kb(sam, "DELETE", path, "", 204)
	a.kb(sam, "DELETE", path, "", 404)
	if _, ok := k.Base.Article("demo", created.ID); ok {
		t.Error("deleted article still in the index")
	}
}

// TestKnowledgeAPIBadInput: every malformed request is a 400 saying what
// is wrong.
func TestKnowledgeAPIBadInput(t *testing.T) {
	a, _ := newKBAPI(t)
	sam := a.login("demo", "sam")
	for _, c := range []struct{ body, want string }{
		{`{"title":"","phrases":["lost card"]}`, "needs a title"},
		{`{"title":"T"}`, "needs phrases"},
		{`{"title":"T","phrases":["  "]}`, "phrase 1 is empty"},
		{`{"title":"T","phrases":["the a my"]}`, "only stop words"},
		{`{"id":"Bad Id!","title":"T","phrases":["lost card"]}`, "Bad Id!"},
		{`{"title":"T","phrases":["lost card"],"intents":["Lost Card"]}`, "Lost Card"},
		{`{"title":"T","phrases":["lost card"],"colour":"red"}`, "colour"},
		{`{"title":"T","phrases":"lost card"}`, "phrases"},
		{`{"title":"` + strings.Repeat("x", 201) + `","phrases":["lost card"]}`, "title longer than 200"},
		{`not json`, "malformed JSON"},
		{``, "empty"},
	} {
		rec := a.kb(sam, "POST", "/api/v1/kb/articles", c.body, 400)
		if !strings.Contains(rec.Body.String(), c.want) {
			t.Errorf("POST %s: %s, want a message with %q", c.body, rec.Body, c.want)
		}
	}
	a.kb(sam, "GET", "/api/v1/kb/articles?q=", "", 400)
	a.kb(sam, "GET", "/api/v1/kb/articles?q=card&limit=0", "", 400)
	a.kb(sam, "GET", "/api/v1/kb/articles?q="+strings.Repeat("a", 501), "", 400)
	created := decode[struct{ Article kbArticleJSON }](t, a.kb(sam, "POST", "/api/v1/kb/articles", `{"id":"fees-x","title":"Fees","phrases":["what fees"]}`, 201)).Article
	a.kb(sam, "PUT", "/api/v1/kb/articles/"+created.ID, `{"id":"other","title":"Fees","phrases":["what fees"]}`, 400)
	a.kb(sam, "PUT", "/api/v1/kb/articles/"+created.ID, `{"title":"Fees","phrases":[]}`, 400)
}

func TestKnowledgeUnavailable(t *testing.T) {
	a := newAPI(t)
	a.kb(a.login("demo", "alice"), "GET", "/api/v1/kb/articles", "", 503)
}
