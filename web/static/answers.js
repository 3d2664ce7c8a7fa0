// Hotline learned answers: agents' replies to callers' known questions,
// proposed as the intents' standard answers. A supervisor listens, trims
// and approves (or rejects) them, and keeps the standard answers: play,
// delete, or set a text answer with ${var}s. Everything comes from the
// JSON API (web/answers.go); the audio is the same API's audio/wav. Plain
// ES module, no build; API text only reaches the page through textContent.

import { $, el, showError, apiOrError, signInShell } from './common.js';

// Must match web/answers.go: a trim may move the reply's ends by 2 s.
const SLACK_MS = 2000;
const MIN_CLIP_MS = 200;

const page = {
  proposals: [],
  answers: [],
  approved: 0, // approvals made on this page, for tests
  users: new Map(), // user id -> display name
  current: null, // the proposal under review
  gen: { proposals: 0, answers: 0 },
};

// window.hotlineAnswers lets browser tests read what the page shows.
function expose() {
  window.hotlineAnswers = { proposals: page.proposals, answers: page.answers, approved: page.approved };
}
expose();

async function call(path, opts) {
  const r = await apiOrError(path, opts);
  if (r.ok) return r;
  if (r.status === 401) {
    showLogin('Your session ended; sign in again.');
  } else {
    showError((r.data && r.data.error) || `${path.split('?')[0]}: ${r.status || 'network error'}`);
  }
  return null;
}

// ---- formatting ----

function clock(iso) {
  if (!iso) return '—';
  const opts = { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' };
  return new Intl.DateTimeFormat('en-CA', opts).format(new Date(iso)).replace(', ', ' ');
}

const seconds = (ms) => (ms / 1000).toFixed(1);

function cell(text, cls) {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function agentName(id) {
  return page.users.get(id) || id || '—';
}

// ---- sign-in ----

const showLogin = signInShell({
  view: 'answers-view',
  forbidden: 'Learned answers are for supervisors.',
  show: showAnswers,
  signingOut() {
    closeReview();
    $('answer-player').removeAttribute('src');
  },
});

async function showAnswers() {
  const users = await apiOrError('/api/v1/users');
  if (users.ok && users.data && Array.isArray(users.data.users)) {
    page.users = new Map(users.data.users.map((u) => [u.id, u.display_name || u.username]));
  }
  await Promise.all([loadProposals(), loadAnswers()]);
}

// ---- proposals ----

async function loadProposals() {
  const gen = ++page.gen.proposals;
  $('proposals-section').setAttribute('aria-busy', 'true');
  const r = await call(`/api/v1/answers/proposals?status=${encodeURIComponent($('proposal-status').value)}`);
  if (gen !== page.gen.proposals) return;
  $('proposals-section').setAttribute('aria-busy', 'false');
  if (!r) return;
  page.proposals = r.data.proposals || [];
  renderProposals();
  expose();
}

function renderProposals() {
  const rows = page.proposals.map((p) => {
    const tr = el('tr', {}, [], { 'data-id': p.id });
    if (page.current && page.current.id === p.id) tr.setAttribute('aria-selected', 'true');
    const status = el('span', { className: 'status', textContent: p.status }, [], { 'data-status': p.status });
    const statusTd = document.createElement('td');
    statusTd.append(status);
    const actions = el('td', { className: 'row-actions' });
    const review = el('button', { type: 'button', textContent: p.status === 'proposed' ? 'Review' : 'Listen' },
      [], { 'aria-label': `${p.status === 'proposed' ? 'Review' : 'Listen to'} the reply about ${p.intent}` });
    review.addEventListener('click', () => openReview(p));
    actions.append(review);
    tr.append(cell(p.intent), cell(p.question, 'words'), cell(p.answer, 'words'), cell(clock(p.created_at), 'when'),
      cell(agentName(p.agent_id)), statusTd, actions);
    return tr;
  });
  $('proposals').querySelector('tbody').replaceChildren(...rows);
  $('proposals').hidden = rows.length === 0;
  $('no-proposals').hidden = rows.length !== 0;
}

// ---- review: listen, trim, approve or reject ----

function openReview(p) {
  page.current = p;
  const facts = [
    ['Intent', p.intent], ['The caller asked', p.question], ['The agent replied', p.answer],
    ['Agent', agentName(p.agent_id)], ['Call time', clock(p.created_at)],
    ['In the recording', `${seconds(p.start_ms)} s – ${seconds(p.end_ms)} s`],
  ];
  if (p.status !== 'proposed') facts.push(['Reviewed', `${p.status} by ${p.reviewed_by || '—'}`]);
  $('review-facts').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', { textContent: k }), el('dd', { textContent: v })]));
  const lo = Math.max(0, p.start_ms - SLACK_MS);
  const hi = p.end_ms + SLACK_MS;
  for (const id of ['trim-start', 'trim-end']) {
    $(id).min = seconds(lo);
    $(id).max = seconds(hi);
  }
  $('trim-help').textContent = `The reply can be trimmed, or widened up to ${SLACK_MS / 1000} s either side (${seconds(lo)} s – ${seconds(hi)} s).`;
  resetTrim();
  const open = p.status === 'proposed';
  $('approve').disabled = !open;
  $('reject').disabled = !open;
  $('trim-form').hidden = !open;
  $('trim-help').hidden = !open;
  $('review-status').textContent = '';
  $('review').hidden = false;
  renderProposals();
  $('review-title').textContent = `Review: ${p.intent}`;
  $('review-title').setAttribute('tabindex', '-1');
  $('review-title').focus();
}

function closeReview() {
  page.current = null;
  $('review-player').pause();
  $('review-player').removeAttribute('src');
  $('review').hidden = true;
  renderProposals();
}

// trim reads the span the controls hold, in ms, or explains what is wrong.
function trim() {
  const p = page.current;
  const start = Math.round(parseFloat($('trim-start').value) * 1000);
  const end = Math.round(parseFloat($('trim-end').value) * 1000);
  if (!Number.isFinite(start) || !Number.isFinite(end)) return { error: 'Start and end must be numbers of seconds.' };
  const lo = Math.max(0, p.start_ms - SLACK_MS);
  const hi = p.end_ms + SLACK_MS;
  if (start < lo || end > hi) return { error: `Start and end must lie between ${seconds(lo)} s and ${seconds(hi)} s.` };
  if (end - start < MIN_CLIP_MS) return { error: `The end must be at least ${MIN_CLIP_MS / 1000} s after the start.` };
  return { start, end };
}

function audioURL(p, span) {
  return `/api/v1/answers/proposals/${encodeURIComponent(p.id)}/audio?start_ms=${span.start}&end_ms=${span.end}`;
}

// trimChanged shows the span's length and points the player at it (the
// player fetches it when played).
function trimChanged() {
  const t = trim();
  if (t.error) {
    $('trim-length').textContent = t.error;
    return null;
  }
  $('trim-length').textContent = `${seconds(t.end - t.start)} s`;
  const url = audioURL(page.current, t);
  if ($('review-player').getAttribute('src') !== url) $('review-player').src = url;
  return t;
}

function resetTrim() {
  const p = page.current;
  $('trim-start').value = seconds(p.start_ms);
  $('trim-end').value = seconds(p.end_ms);
  trimChanged();
}

$('trim-start').addEventListener('input', trimChanged);
$('trim-end').addEventListener('input', trimChanged);
$('trim-form').addEventListener('submit', (e) => e.preventDefault());
$('trim-reset').addEventListener('click', resetTrim);
$('trim-preview').addEventListener('click', () => {
  const t = trimChanged();
  if (!t) return;
  $('review-player').currentTime = 0;
  $('review-player').play().catch((err) => showError(`The reply cannot be played: ${err.message}`));
});
$('review-player').addEventListener('error', () => {
  if (page.current && $('review-player').getAttribute('src')) {
    // The audio route's error text is not visible to the player; ask again
    // for the message (no recording, retention, still recording...).
    apiOrError($('review-player').getAttribute('src')).then((r) => {
      if (!r.ok) showError((r.data && r.data.error) || `The reply cannot be played (${r.status})`);
    });
  }
});
$('review-close').addEventListener('click', closeReview);

$('approve').addEventListener('click', async () => {
  const p = page.current;
  const t = trim();
  if (t.error) {
    showError(t.error);
    return;
  }
  $('approve').disabled = true;
  const r = await call(`/api/v1/answers/proposals/${encodeURIComponent(p.id)}/approve`,
    { method: 'POST', body: { start_ms: t.start, end_ms: t.end } });
  $('approve').disabled = false;
  if (!r) return;
  page.approved++;
  $('review-status').textContent = `Approved: callers asking about ${r.data.intent} now hear this reply (${seconds(t.end - t.start)} s).`;
  page.current = { ...p, status: 'approved' };
  $('approve').disabled = true;
  $('reject').disabled = true;
  $('trim-form').hidden = true;
  $('trim-help').hidden = true;
  expose();
  await Promise.all([loadProposals(), loadAnswers()]);
});

$('reject').addEventListener('click', async () => {
  const p = page.current;
  const r = await call(`/api/v1/answers/proposals/${encodeURIComponent(p.id)}/reject`, { method: 'POST' });
  if (!r) return;
  closeReview();
  $('proposals-refresh').focus();
  await loadProposals();
});

$('proposal-status').addEventListener('change', loadProposals);
$('proposals-refresh').addEventListener('click', () => Promise.all([loadProposals(), loadAnswers()]));

// ---- standard answers ----

async function loadAnswers() {
  const gen = ++page.gen.answers;
  const r = await call('/api/v1/answers');
  if (gen !== page.gen.answers || !r) return;
  page.answers = r.data.answers || [];
  renderAnswers();
  expose();
}

function renderAnswers() {
  const rows = page.answers.map((a) => {
    const actions = el('td', { className: 'row-actions' });
    if (a.kind === 'audio') {
      const play = el('button', { type: 'button', textContent: 'Play' }, [], { 'aria-label': `Play the answer to ${a.intent}` });
      play.addEventListener('click', () => {
        const player = $('answer-player');
        player.hidden = false;
        player.src = `/api/v1/answers/${encodeURIComponent(a.intent)}/audio`;
        player.play().catch((err) => showError(`The answer cannot be played: ${err.message}`));
      });
      actions.append(play);
    }
    const edit = el('button', { type: 'button', textContent: 'Set text' }, [], { 'aria-label': `Set a text answer for ${a.intent}` });
    edit.addEventListener('click', () => {
      $('text-intent').value = a.intent;
      $('text-text').value = a.kind === 'text' ? a.text : '';
      $('text-text').focus();
    });
    const del = el('button', { type: 'button', className: 'danger', textContent: 'Delete' }, [], { 'aria-label': `Delete the answer to ${a.intent}` });
    del.addEventListener('click', async () => {
      if (!window.confirm(`Delete the standard answer to ${a.intent}? Callers asking it will be put through to an agent.`)) return;
      const r = await call(`/api/v1/answers/${encodeURIComponent(a.intent)}`, { method: 'DELETE' });
      if (r) {
        $('answers-title').setAttribute('tabindex', '-1');
        $('answers-title').focus();
        await loadAnswers();
      }
    });
    actions.append(edit, del);
    return el('tr', {}, [
      cell(a.intent), cell(a.kind === 'audio' ? 'Recorded' : 'Text'), cell(a.text, 'words'),
      cell(a.approved_by || '—'), cell(clock(a.approved_at), 'when'), actions,
    ], { 'data-intent': a.intent });
  });
  $('answers').querySelector('tbody').replaceChildren(...rows);
  $('answers').hidden = rows.length === 0;
  $('no-answers').hidden = rows.length !== 0;
}

$('text-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const intent = $('text-intent').value.trim();
  const text = $('text-text').value.trim();
  const r = await call(`/api/v1/answers/${encodeURIComponent(intent)}`, { method: 'PUT', body: { text } });
  if (!r) return;
  $('text-status').textContent = `Saved the text answer to ${intent}.`;
  $('text-text').value = '';
  await loadAnswers();
});
