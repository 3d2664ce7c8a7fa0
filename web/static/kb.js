// Hotline knowledge panel on the agent page: a search box over the
// tenant's knowledge base (GET /api/v1/kb/articles?q=) and the articles
// matched to what the caller says, pushed by the server as kb_matches
// messages on the agent WebSocket (docs/agent-protocol.md). Each result
// shows its title and best sentence with the matched words in <mark>, and
// why it matched (hover, or open "Why").
//
// Article text is written by supervisors and admins and may hold markup:
// it is only ever put in the page with textContent and <mark> elements
// made here, never innerHTML.

import { $, el } from './common.js';

// marked turns the server's segments ({text, mark}) into nodes: text
// nodes, and <mark> elements around the matched words.
function marked(segments, fallback) {
  if (!Array.isArray(segments) || segments.length === 0) return [document.createTextNode(fallback || '')];
  return segments.map((s) => (s.mark ? el('mark', { textContent: s.text }) : document.createTextNode(s.text)));
}

const pct = (v) => `${Math.round((v || 0) * 100)}%`;
const num = (v) => (v || 0).toFixed(2);

// why lists the parts of a result's score, one line each.
function why(r) {
  const lines = [`score ${num(r.score)} = phrase ${num(r.phrase_score)} × 0.55 + keywords ${num(r.keyword_score)} × 0.45`];
  for (const p of r.phrases || []) {
    lines.push(`phrase “${p.phrase}”: ${num(p.score)} (words ${pct(p.cover)}, together ${pct(p.adjacency)})`);
  }
  for (const k of r.keywords || []) {
    const fuzzy = k.fuzzy ? `, spelt “${k.word}”` : '';
    lines.push(`word “${k.fuzzy ? k.term : k.word}” in ${k.field}: +${num(k.weight)} (idf ${num(k.idf)}${fuzzy})`);
  }
  return lines;
}

async function getJSON(path) {
  const res = await fetch(path, { credentials: 'same-origin' });
  let data = null;
  try { data = await res.json(); } catch { /* empty body */ }
  return { ok: res.ok, status: res.status, data };
}

// initKnowledge builds the panel inside #kb.
export function initKnowledge() {
  const root = $('kb');
  const state = { searches: 0, pushes: 0, lastError: '', lastStatus: 0, opened: 0 };

  const q = el('input', { id: 'kb-q', type: 'search', placeholder: 'e.g. stolen card', maxLength: 500, autocomplete: 'off' });
  const form = el('form', { id: 'kb-search', className: 'kb-search', role: 'search' }, [
    el('label', { htmlFor: 'kb-q', className: 'sr-only', textContent: 'Search knowledge' }), q,
    el('button', { type: 'submit', textContent: 'Search' }),
  ]);
  const status = el('p', { id: 'kb-status', className: 'muted small' }, [], { role: 'status', 'aria-live': 'polite' });
  const liveTitle = el('h3', { className: 'kb-sub', textContent: 'Suggested for this call' });
  const live = el('ol', { id: 'kb-live', className: 'kb-results' });
  const liveWrap = el('div', { id: 'kb-live-wrap', hidden: true }, [liveTitle, live]);
  const results = el('ol', { id: 'kb-results', className: 'kb-results' });
  root.replaceChildren(
    el('h2', { id: 'kb-title', textContent: 'Knowledge' }),
    form, status, liveWrap, results,
  );

  // item renders one result; the body is fetched when the agent opens it.
  function item(r) {
    const title = el('h4', { className: 'kb-title' }, marked(r.title_parts, r.title));
    const snippet = el('p', { className: 'kb-snippet' }, marked(r.snippet, ''));
    const lines = why(r);
    const details = el('details', { className: 'kb-why' }, [
      el('summary', { textContent: `Why · ${num(r.score)}` }),
      el('ul', {}, lines.map((l) => el('li', { textContent: l }))),
    ]);
    const body = el('div', { className: 'kb-body', hidden: true });
    const open = el('button', { type: 'button', className: 'link kb-open', textContent: 'Show article' });
    open.addEventListener('click', async () => {
      if (!body.hidden) {
        body.hidden = true;
        open.textContent = 'Show article';
        return;
      }
      const res = await getJSON(`/api/v1/kb/articles/${encodeURIComponent(r.id)}`);
      if (!res.ok) {
        status.textContent = (res.data && res.data.error) || `Could not open the article (${res.status})`;
        return;
      }
      body.textContent = res.data.article.body || '(no text)';
      body.hidden = false;
      open.textContent = 'Hide article';
      state.opened++;
    });
    const li = el('li', { className: 'kb-result' }, [title, snippet, el('div', { className: 'kb-actions' }, [open, details]), body],
      { 'data-id': r.id, title: lines.join('\n') });
    return li;
  }

  function show(list, rs, empty) {
    list.replaceChildren(...rs.map(item));
    if (rs.length === 0 && empty) list.append(el('li', { className: 'muted kb-empty', textContent: empty }));
  }

  async function search(text) {
    status.textContent = 'Searching…';
    const res = await getJSON(`/api/v1/kb/articles?q=${encodeURIComponent(text)}&limit=8`);
    state.lastStatus = res.status;
    state.searches++;
    if (!res.ok) {
      state.lastError = (res.data && res.data.error) || `search failed (${res.status})`;
      status.textContent = state.lastError;
      results.replaceChildren();
      return;
    }
    const rs = res.data.results || [];
    status.textContent = rs.length ? `${rs.length} article${rs.length === 1 ? '' : 's'} for “${res.data.query}”` : '';
    show(results, rs, `Nothing in the knowledge base matches “${res.data.query}”.`);
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = q.value.trim();
    if (!text) {
      results.replaceChildren();
      status.textContent = '';
      return;
    }
    search(text).catch((err) => { state.lastError = err.message; status.textContent = `Search failed: ${err.message}`; });
  });

  const api = {
    // showMatches renders a kb_matches message: the articles matching what
    // the caller said on the call in progress ({call, text, matches}).
    showMatches(msg) {
      state.pushes++;
      state.call = msg.call || null;
      const rs = Array.isArray(msg.matches) ? msg.matches : [];
      liveWrap.hidden = rs.length === 0;
      show(live, rs);
    },
    // clearMatches empties the suggestions (the call ended).
    clearMatches() {
      live.replaceChildren();
      liveWrap.hidden = true;
    },
    show() { root.hidden = false; },
    hide() { root.hidden = true; api.clearMatches(); results.replaceChildren(); q.value = ''; status.textContent = ''; },
  };
  window.hotlineKB = Object.assign(state, { search, showMatches: api.showMatches });
  return api;
}
