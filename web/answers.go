package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"hotline/auth"
	"hotline/recordings"
	"hotline/store"
)

// AnswerStore keeps learned answers (docs/answers.md); *store.Store
// implements it. Every call takes the tenant.
type AnswerStore interface {
	ListProposals(ctx context.Context, tenantID, status string, limit int) ([]store.AnswerProposal, error)
	GetProposal(ctx context.Context, tenantID string, id uuid.UUID) (*store.AnswerProposal, error)
	ApproveProposal(ctx context.Context, tenantID string, id uuid.UUID, reviewer string, wav []byte, text string) (string, error)
	RejectProposal(ctx context.Context, tenantID string, id uuid.UUID, reviewer string) error
	SetTextAnswer(ctx context.Context, tenantID, intent, text, by string) error
	IntentAnswer(ctx context.Context, tenantID, intent string) (kind, text string, wav []byte, ok bool, err error)
	DeleteIntentAnswer(ctx context.Context, tenantID, intent string) error
	ListIntentAnswers(ctx context.Context, tenantID string) ([]store.IntentAnswer, error)
}

// AnswerClips cuts what the agent said out of a call's recording;
// *recordings.Manager implements it.
type AnswerClips interface {
	AgentClip(ctx context.Context, rec *store.Recording, startMS, endMS int64) ([]byte, error)
}

const (
	// trimSlack is how far a supervisor may move a proposal's ends: the
	// transcript's timing of a reply is approximate, the words are not
	// elsewhere in the call.
	trimSlack = 2000 // ms
	// minClip is the shortest answer worth playing.
	minClip = 200 // ms
)

var (
	intentRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)
	answerVar = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$`)
)

// answerRoutes registers learned answers: supervisors and admins of the
// tenant review proposals and keep the intents' standard answers. There
// is no GET /api/v1/answers/proposals/{id}: it would clash with
// /api/v1/answers/{intent}/audio (the list carries everything).
func (s *Server) answerRoutes(mux *http.ServeMux) {
	super := auth.RequireRole(auth.RoleSupervisor)
	mux.Handle("GET /api/v1/answers/proposals", super(http.HandlerFunc(s.listProposals)))
	mux.Handle("GET /api/v1/answers/proposals/{id}/audio", super(http.HandlerFunc(s.proposalAudio)))
	mux.Handle("POST /api/v1/answers/proposals/{id}/approve", super(http.HandlerFunc(s.approveProposal)))
	mux.Handle("POST /api/v1/answers/proposals/{id}/reject", super(http.HandlerFunc(s.rejectProposal)))
	mux.Handle("GET /api/v1/answers", super(http.HandlerFunc(s.listAnswers)))
	mux.Handle("PUT /api/v1/answers/{intent}", super(http.HandlerFunc(s.putTextAnswer)))
	mux.Handle("DELETE /api/v1/answers/{intent}", super(http.HandlerFunc(s.deleteAnswer)))
	mux.Handle("GET /api/v1/answers/{intent}/audio", super(http.HandlerFunc(s.answerAudio)))
}

func (s *Server) answers(w http.ResponseWriter) AnswerStore {
	if s.Answers == nil {
		writeError(w, http.StatusServiceUnavailable, "learned answers are not available on this server")
	}
	return s.Answers
}

// proposal reads the {id} proposal of the requester's tenant, answering
// 404 for a malformed id, a missing one and another tenant's alike.
func (s *Server) proposal(w http.ResponseWriter, r *http.Request) (AnswerStore, *store.AnswerProposal) {
	as := s.answers(w)
	if as == nil {
		return nil, nil
	}
	p, _ := auth.FromContext(r.Context())
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusNotFound, "no such proposal")
		return nil, nil
	}
	prop, err := as.GetProposal(r.Context(), p.TenantID, id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "no such proposal")
		return nil, nil
	}
	if err != nil {
		s.serverError(w, r, err)
		return nil, nil
	}
	return as, prop
}

func (s *Server) listProposals(w http.ResponseWriter, r *http.Request) {
	as := s.answers(w)
	if as == nil {
		return
	}
	p, _ := auth.FromContext(r.Context())
	q := r.URL.Query()
	status := q.Get("status")
	switch status {
	case "":
		status = store.ProposalOpen
	case "all":
		status = ""
	case store.ProposalOpen, store.ProposalApproved, store.ProposalRejected:
	default:
		writeError(w, http.StatusBadRequest, "status must be proposed, approved, rejected or all")
		return
	}
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			writeError(w, http.StatusBadRequest, "limit must be a number from 1 to 500")
			return
		}
		limit = n
	}
	list, err := as.ListProposals(r.Context(), p.TenantID, status, limit)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	writeList(w, "proposals", list)
}

// writeList answers {key: list}, [] rather than null for none, and
// uncached: a review elsewhere changes it at any time.
func writeList[T any](w http.ResponseWriter, key string, list []T) {
	if list == nil {
		list = []T{}
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{key: list})
}

// span is the clip a request asks for: the proposal's reply unless the
// supervisor trimmed it, and never more than trimSlack beyond it.
func proposalSpan(prop *store.AnswerProposal, start, end *int64) (int64, int64, error) {
	from, to := prop.StartMS, prop.EndMS
	if start != nil {
		from = *start
	}
	if end != nil {
		to = *end
	}
	lo, hi := max(prop.StartMS-trimSlack, 0), prop.EndMS+trimSlack
	switch {
	case from < lo || to > hi:
		return 0, 0, fmt.Errorf("start_ms and end_ms must lie within %d-%d ms (the reply's %d-%d ms, %d ms either side)",
			lo, hi, prop.StartMS, prop.EndMS, trimSlack)
	case to-from < minClip:
		return 0, 0, fmt.Errorf("end_ms must be at least %d ms after start_ms", minClip)
	}
	return from, to, nil
}

// clip audits the access to the call's recording, as playback does, and
// cuts the span; it writes the error itself and returns nil then.
func (s *Server) clip(w http.ResponseWriter, r *http.Request, prop *store.AnswerProposal, from, to int64, action, why string) []byte {
	if s.Recordings == nil || s.AnswerClips == nil {
		writeError(w, http.StatusServiceUnavailable, "recordings are not available on this server, so recorded answers cannot be heard or approved; set a text answer instead")
		return nil
	}
	p, _ := auth.FromContext(r.Context())
	a := store.RecordingAccess{TenantID: p.TenantID, Username: p.Username, Role: p.Role, CallID: &prop.CallID,
		RemoteAddr: auth.ClientOf(r).IP, Reason: fmt.Sprintf("learned answer %s: %s %d-%d ms", prop.ID, why, from, to)}
	if uid, err := uuid.Parse(p.UserID); err == nil {
		a.UserID = &uid
	}
	deny := func(code int, reason, msg string) {
		a.Action, a.StatusCode, a.Reason = store.AccessDenied, code, a.Reason+": "+reason
		if err := s.Recordings.AuditRecordingAccess(r.Context(), a); err != nil {
			s.logAuditFailure(r, err)
		}
		writeError(w, code, msg)
	}
	rec, err := s.Recordings.RecordingInfo(r.Context(), p.TenantID, prop.CallID)
	if errors.Is(err, store.ErrNotFound) {
		deny(http.StatusConflict, "no recording", "the call was not recorded, so its reply cannot be played; set a text answer instead")
		return nil
	}
	if err != nil {
		s.serverError(w, r, err)
		return nil
	}
	a.RecordingID = &rec.ID
	switch rec.Status {
	case store.RecordingDeleted:
		deny(http.StatusGone, "deleted by retention", "the call's recording was deleted by the retention policy")
		return nil
	case store.RecordingActive:
		deny(http.StatusConflict, "still recording", "the call is still being recorded; try again when it has ended")
		return nil
	}
	// Cut first, audit second: a span outside the recording reads
	// nothing, and the audit then says so rather than "served".
	wav, err := s.AnswerClips.AgentClip(r.Context(), rec, from, to)
	switch {
	case errors.Is(err, recordings.ErrSpanOutside):
		deny(http.StatusBadRequest, "span outside the recording",
			fmt.Sprintf("the span %d-%d ms is outside the call's recording (%d ms long)", from, to, rec.DurationMs))
		return nil
	case errors.Is(err, recordings.ErrNoRecording):
		deny(http.StatusGone, "recording gone", "the call's recording is gone")
		return nil
	case errors.Is(err, recordings.ErrStillRecording):
		deny(http.StatusConflict, "still recording", "the call is still being recorded; try again when it has ended")
		return nil
	case err != nil:
		s.serverError(w, r, err)
		return nil
	}
	a.Action, a.StatusCode = action, http.StatusOK
	if err := s.Recordings.AuditRecordingAccess(r.Context(), a); err != nil {
		s.logAuditFailure(r, err)
		writeError(w, http.StatusServiceUnavailable, "access cannot be audited right now; try again")
		return nil
	}
	return wav
}

func queryMS(r *http.Request, name string) (*int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("%s must be a whole number of milliseconds", name)
	}
	return &n, nil
}

// querySpan is proposalSpan with the ends from ?start_ms&end_ms.
func querySpan(r *http.Request, prop *store.AnswerProposal) (int64, int64, error) {
	start, err := queryMS(r, "start_ms")
	if err != nil {
		return 0, 0, err
	}
	end, err := queryMS(r, "end_ms")
	if err != nil {
		return 0, 0, err
	}
	return proposalSpan(prop, start, end)
}

func writeWAV(w http.ResponseWriter, r *http.Request, wav []byte, name string) {
	h := w.Header()
	h.Set("Content-Type", "audio/wav")
	// Call audio is personal data: no shared cache may keep it.
	h.Set("Cache-Control", "private, no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Disposition", `inline; filename="`+name+`.wav"`)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(wav))
}

// proposalAudio serves the agent's reply, trimmed as asked, for the
// supervisor to listen before approving.
func (s *Server) proposalAudio(w http.ResponseWriter, r *http.Request) {
	_, prop := s.proposal(w, r)
	if prop == nil {
		return
	}
	from, to, err := querySpan(r, prop)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	wav := s.clip(w, r, prop, from, to, store.AccessPlay, "preview")
	if wav == nil {
		return
	}
	writeWAV(w, r, wav, "answer-"+prop.ID.String())
}

func (s *Server) approveProposal(w http.ResponseWriter, r *http.Request) {
	as, prop := s.proposal(w, r)
	if prop == nil {
		return
	}
	var req struct {
		StartMS *int64 `json:"start_ms"`
		EndMS   *int64 `json:"end_ms"`
		// Text replaces the transcribed words kept with the clip (the
		// transcript may be wrong); empty keeps them.
		Text *string `json:"text"`
	}
	// An empty body approves the reply as proposed.
	if r.ContentLength != 0 && !decodeJSON(w, r, &req) {
		return
	}
	if prop.Status != store.ProposalOpen {
		writeError(w, http.StatusConflict, "the proposal was already "+prop.Status)
		return
	}
	from, to, err := proposalSpan(prop, req.StartMS, req.EndMS)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	text := prop.Answer
	if req.Text != nil && strings.TrimSpace(*req.Text) != "" {
		text = strings.TrimSpace(*req.Text)
		if len(text) > 4000 || !utf8.ValidString(text) {
			writeError(w, http.StatusBadRequest, "text must be valid UTF-8 of at most 4000 bytes")
			return
		}
	}
	wav := s.clip(w, r, prop, from, to, store.AccessDownload, "approval")
	if wav == nil {
		return
	}
	p, _ := auth.FromContext(r.Context())
	intent, err := as.ApproveProposal(r.Context(), p.TenantID, prop.ID, p.Username, wav, text)
	if s.reviewFailed(w, r, err, "the proposal was reviewed meanwhile by someone else") {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"intent": intent, "proposal_id": prop.ID, "start_ms": from, "end_ms": to,
		"audio_bytes": len(wav), "status": store.ProposalApproved})
}

func (s *Server) rejectProposal(w http.ResponseWriter, r *http.Request) {
	as, prop := s.proposal(w, r)
	if prop == nil {
		return
	}
	p, _ := auth.FromContext(r.Context())
	err := as.RejectProposal(r.Context(), p.TenantID, prop.ID, p.Username)
	if s.reviewFailed(w, r, err, "the proposal was already reviewed") {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"proposal_id": prop.ID, "status": store.ProposalRejected})
}

// reviewFailed answers a review's store error, if any: 409 with closed
// (the handler's words) when another supervisor got there first, 404
// when the proposal is gone meanwhile; approve and reject race alike.
func (s *Server) reviewFailed(w http.ResponseWriter, r *http.Request, err error, closed string) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, store.ErrProposalClosed):
		writeError(w, http.StatusConflict, closed)
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "no such proposal")
	default:
		s.serverError(w, r, err)
	}
	return true
}

func (s *Server) listAnswers(w http.ResponseWriter, r *http.Request) {
	as := s.answers(w)
	if as == nil {
		return
	}
	p, _ := auth.FromContext(r.Context())
	list, err := as.ListIntentAnswers(r.Context(), p.TenantID)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	writeList(w, "answers", list)
}

// pathIntent validates {intent}; it answers 400 itself.
func pathIntent(w http.ResponseWriter, r *http.Request) (string, bool) {
	intent := r.PathValue("intent")
	if !intentRE.MatchString(intent) || intent == "proposals" {
		writeError(w, http.StatusBadRequest, "intent must be 1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit")
		return "", false
	}
	return intent, true
}

// answerIntent is the answer store and a valid {intent}, or false when
// it has answered the request.
func (s *Server) answerIntent(w http.ResponseWriter, r *http.Request) (AnswerStore, string, bool) {
	as := s.answers(w)
	if as == nil {
		return nil, "", false
	}
	intent, ok := pathIntent(w, r)
	return as, intent, ok
}

// checkAnswerText validates a text answer's ${var} references, which the
// ask step fills from the call's variables (an HTTP lookup's result).
func checkAnswerText(s string) error {
	if s == "" {
		return errors.New("text must not be empty")
	}
	if len(s) > 4000 || !utf8.ValidString(s) {
		return errors.New("text must be valid UTF-8 of at most 4000 bytes")
	}
	for rest := s; ; {
		i := strings.Index(rest, "${")
		if i < 0 {
			return nil
		}
		end := strings.IndexByte(rest[i:], '}')
		if end < 0 {
			return errors.New("text has a ${ without its closing }")
		}
		if name := rest[i+2 : i+end]; !answerVar.MatchString(name) {
			return fmt.Errorf("text names the variable %q, which is not a valid name (letters, digits, '_', dotted: crm.balance)", name)
		}
		rest = rest[i+end+1:]
	}
}

func (s *Server) putTextAnswer(w http.ResponseWriter, r *http.Request) {
	as, intent, ok := s.answerIntent(w, r)
	if !ok {
		return
	}
	var req struct {
		Text string `json:"text"`
	}
	if !decodeJSON(w, r, &req) {
		return
	}
	text := strings.TrimSpace(req.Text)
	if err := checkAnswerText(text); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	p, _ := auth.FromContext(r.Context())
	if err := as.SetTextAnswer(r.Context(), p.TenantID, intent, text, p.Username); err != nil {
		s.serverError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"answer": store.IntentAnswer{Intent: intent, Kind: store.AnswerText, Text: text,
		ApprovedBy: p.Username, ApprovedAt: time.Now().UTC()}})
}

func (s *Server) deleteAnswer(w http.ResponseWriter, r *http.Request) {
	as, intent, ok := s.answerIntent(w, r)
	if !ok {
		return
	}
	p, _ := auth.FromContext(r.Context())
	err := as.DeleteIntentAnswer(r.Context(), p.TenantID, intent)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "the intent has no standard answer")
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) answerAudio(w http.ResponseWriter, r *http.Request) {
	as, intent, ok := s.answerIntent(w, r)
	if !ok {
		return
	}
	p, _ := auth.FromContext(r.Context())
	kind, _, wav, ok, err := as.IntentAnswer(r.Context(), p.TenantID, intent)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if !ok || kind != store.AnswerAudio || len(wav) == 0 {
		writeError(w, http.StatusNotFound, "the intent has no recorded answer")
		return
	}
	writeWAV(w, r, wav, "answer-"+intent)
}

// OpenAPI descriptions of the routes above.

func proposalSchema() map[string]any {
	return objectOf(map[string]any{
		"id": map[string]any{"type": "string", "format": "uuid"}, "intent": apiType("string"),
		"call_id": map[string]any{"type": "string", "format": "uuid"}, "agent_id": apiType("string"),
		"question": apiType("string"), "answer": apiType("string"),
		"start_ms": apiType("integer"), "end_ms": apiType("integer"),
		"status":      map[string]any{"type": "string", "enum": []any{"proposed", "approved", "rejected"}},
		"reviewed_by": apiType("string"), "reviewed_at": map[string]any{"type": "string", "format": "date-time"},
		"created_at": map[string]any{"type": "string", "format": "date-time"},
	})
}

func intentAnswerSchema() map[string]any {
	return objectOf(map[string]any{
		"intent": apiType("string"), "kind": map[string]any{"type": "string", "enum": []any{"audio", "text"}},
		"text": apiType("string"), "audio_bytes": apiType("integer"),
		"proposal_id": map[string]any{"type": "string", "format": "uuid"},
		"approved_by": apiType("string"), "approved_at": map[string]any{"type": "string", "format": "date-time"},
	})
}

var (
	idParam     = map[string]any{"name": "id", "in": "path", "required": true, "schema": map[string]any{"type": "string", "format": "uuid"}}
	intentParam = map[string]any{"name": "intent", "in": "path", "required": true, "schema": map[string]any{"type": "string", "pattern": intentRE.String()}}
	wavBody     = map[string]any{"description": "8 kHz 16-bit mono WAV", "content": map[string]any{"audio/wav": map[string]any{}}}
)

const superOnly = " Supervisors and admins of the tenant."

func openAPIAnswerProposals() map[string]any {
	return map[string]any{"get": secured(map[string]any{
		"summary": "Agents' replies proposed as intents' standard answers, newest first." + superOnly,
		"parameters": []any{
			map[string]any{"name": "status", "in": "query", "schema": map[string]any{"type": "string", "enum": []any{"proposed", "approved", "rejected", "all"}, "default": "proposed"}},
			map[string]any{"name": "limit", "in": "query", "schema": map[string]any{"type": "integer", "minimum": 1, "maximum": 500, "default": 100}},
		},
		"responses": map[string]any{
			"200": okJSON("the proposals", objectOf(map[string]any{"proposals": map[string]any{"type": "array", "items": proposalSchema()}})),
			"400": errorResponse("bad status or limit"),
		},
	})}
}

func spanParams() []any {
	return []any{idParam,
		map[string]any{"name": "start_ms", "in": "query", "schema": apiType("integer"), "description": "default: the reply's start; at most 2 s before it"},
		map[string]any{"name": "end_ms", "in": "query", "schema": apiType("integer"), "description": "default: the reply's end; at most 2 s after it"},
	}
}

func openAPIAnswerProposalAudio() map[string]any {
	return map[string]any{"get": secured(map[string]any{
		"summary": "The agent's side of the call between start_ms and end_ms (recording time), faded at both ends, for listening " +
			"before approval. Audited like recording playback." + superOnly,
		"parameters": spanParams(),
		"responses": map[string]any{
			"200": wavBody,
			"400": errorResponse("a span outside the reply's ± 2 s, shorter than 200 ms, or outside the recording"),
			"404": errorResponse("no such proposal in your tenant"),
			"409": errorResponse("the call was not recorded, or is still being recorded"),
			"410": errorResponse("the recording was deleted by retention"),
			"503": errorResponse("recordings are off on this server, or the access could not be audited"),
		},
	})}
}

func openAPIAnswerProposalApprove() map[string]any {
	return map[string]any{"post": secured(map[string]any{
		"summary": "Approve a proposal: its clip (trimmed to start_ms-end_ms, default the reply's span, within ± 2 s of it) " +
			"becomes the intent's standard answer, replacing any earlier one. An empty body approves it as proposed." + superOnly,
		"parameters": []any{idParam},
		"requestBody": map[string]any{"required": false, "content": map[string]any{"application/json": map[string]any{"schema": objectOf(map[string]any{
			"start_ms": apiType("integer"), "end_ms": apiType("integer"),
			"text": map[string]any{"type": "string", "description": "the reply's words, if the transcript got them wrong"},
		})}}},
		"responses": map[string]any{
			"200": okJSON("approved", objectOf(map[string]any{"intent": apiType("string"), "proposal_id": apiType("string"),
				"start_ms": apiType("integer"), "end_ms": apiType("integer"), "audio_bytes": apiType("integer"), "status": apiType("string")})),
			"400": errorResponse("a bad span or text"),
			"404": errorResponse("no such proposal in your tenant"),
			"409": errorResponse("already reviewed, or the call was not recorded or is still being recorded"),
			"410": errorResponse("the recording was deleted by retention"),
			"503": errorResponse("recordings are off on this server, or the access could not be audited"),
		},
	})}
}

func openAPIAnswerProposalReject() map[string]any {
	return map[string]any{"post": secured(map[string]any{
		"summary":    "Reject a proposal." + superOnly,
		"parameters": []any{idParam},
		"responses": map[string]any{
			"200": okJSON("rejected", objectOf(map[string]any{"proposal_id": apiType("string"), "status": apiType("string")})),
			"404": errorResponse("no such proposal in your tenant"),
			"409": errorResponse("already reviewed"),
		},
	})}
}

func openAPIAnswers() map[string]any {
	return map[string]any{"get": secured(map[string]any{
		"summary": "The intents' standard answers (recorded or text), by intent; without the audio." + superOnly,
		"responses": map[string]any{
			"200": okJSON("the answers", objectOf(map[string]any{"answers": map[string]any{"type": "array", "items": intentAnswerSchema()}})),
		},
	})}
}

func openAPIAnswer() map[string]any {
	return map[string]any{
		"put": secured(map[string]any{
			"summary": "Make text the intent's standard answer, spoken by text-to-speech with ${var} filled from the call's variables " +
				"(e.g. \"Your balance is ${crm.balance}\"); replaces a recorded one." + superOnly,
			"parameters": []any{intentParam},
			"requestBody": map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{
				"type": "object", "required": []string{"text"}, "properties": map[string]any{"text": map[string]any{"type": "string", "maxLength": 4000}},
			}}}},
			"responses": map[string]any{
				"200": okJSON("stored", objectOf(map[string]any{"answer": intentAnswerSchema()})),
				"400": errorResponse("a bad intent name, empty text or a malformed ${var}"),
			},
		}),
		"delete": secured(map[string]any{
			"summary":    "Remove the intent's standard answer." + superOnly,
			"parameters": []any{intentParam},
			"responses": map[string]any{
				"204": map[string]any{"description": "removed"},
				"404": errorResponse("the intent has no standard answer"),
			},
		}),
	}
}

func openAPIAnswerAudio() map[string]any {
	return map[string]any{"get": secured(map[string]any{
		"summary":    "The intent's recorded answer." + superOnly,
		"parameters": []any{intentParam},
		"responses": map[string]any{
			"200": wavBody,
			"404": errorResponse("the intent has no recorded answer"),
		},
	})}
}
