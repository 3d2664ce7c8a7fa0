// Hotline supervisor reports: queue and agent figures over a date range,
// call search, and a call's timeline with its recording. Everything comes
// from the JSON API (web/reports.go, web/recordings.go); the CSV links are
// the same routes with format=csv. Plain ES module, no build.

import { $, el, showError, api, apiOrError, pct, mmss, dateIn, signInShell, onRangePicked } from './common.js';
import { createTranscriptPanel } from './transcript.js';

const page = {
  // The tenant's time zone, learnt from the first report: report dates
  // are days of the tenant's calendar, and times show on its clock.
  zone: null,
  // Whether the supervisor has picked the range; until then it follows
  // "today" in the tenant's zone once that is known.
  rangeTouched: false,
  agents: new Map(), // user id -> display name, for search results
  queueReport: null,
  agentReport: null,
  calls: [],
  call: null,
  searchedText: '', // the "Said on the call" words of the last search, marked in transcripts
  loads: 0, // completed report loads, for tests
  // Request generations: an answer that arrives after a newer request
  // was made is dropped, so a slow old range never overwrites a new one.
  gen: { reports: 0, search: 0, call: 0 },
};

// get fetches a JSON route and reports a failure, returning null then. A
// 401 means the session ended, which sends the supervisor back to sign in.
async function get(path) {
  const r = await apiOrError(path);
  if (r.ok) return r.data;
  if (r.status === 401) {
    showLogin('Your session ended; sign in again.');
  } else {
    showError((r.data && r.data.error) || `${path.split('?')[0]}: ${r.status || 'network error'}`);
  }
  return null;
}

// ---- formatting ----

function clock(iso, withDate) {
  if (!iso) return '—';
  const opts = { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' };
  if (withDate) Object.assign(opts, { year: 'numeric', month: '2-digit', day: '2-digit' });
  if (page.zone) opts.timeZone = page.zone;
  return new Intl.DateTimeFormat('en-CA', opts).format(new Date(iso)).replace(', ', ' ');
}

// today is the date (YYYY-MM-DD) in zone, or in the browser's own zone
// while the tenant's is unknown.
function today(zone) {
  return dateIn(new Date(), zone);
}

function cell(text, cls) {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function agentName(id) {
  return page.agents.get(id) || id || '';
}

// ---- sign-in ----

const showLogin = signInShell({
  view: 'reports-view',
  forbidden: 'Reports are for supervisors.',
  show: showReports,
  signingOut() {
    $('player').removeAttribute('src');
    $('call-view').hidden = true;
  },
});

async function showReports() {
  if (!page.rangeTouched) {
    $('range-from').value = today(page.zone);
    $('range-to').value = $('range-from').value;
  }
  await loadPickers();
  await loadReports();
}

// loadPickers fills the queue and agent choices; the agents also name the
// user ids that search results carry.
async function loadPickers() {
  const [queues, agents] = await Promise.all([get('/api/v1/queues'), get('/api/v1/agents')]);
  if (queues) {
    const sel = $('range-queue');
    const keep = sel.value;
    sel.replaceChildren(new Option('All queues', ''), ...queues.queues.map((q) => new Option(q.name, q.name)));
    sel.value = keep;
  }
  if (agents) {
    page.agents = new Map(agents.agents.map((a) => [a.id, a.display_name || a.username]));
    const sel = $('search-agent');
    const keep = sel.value;
    sel.replaceChildren(new Option('Any agent', ''),
      ...agents.agents.map((a) => new Option(a.display_name || a.username, a.username)));
    sel.value = keep;
  }
}

// ---- reports ----

function rangeQuery(csv) {
  const p = new URLSearchParams({ from: $('range-from').value, to: $('range-to').value });
  if ($('range-queue').value) p.set('queue', $('range-queue').value);
  const region = $('range-region').value.trim();
  if (region) p.set('region', region);
  if (csv) p.set('format', 'csv');
  return p.toString();
}

async function loadReports() {
  if (!$('range-from').value || !$('range-to').value) return;
  $('queue-csv').href = `/api/v1/reports/queues?${rangeQuery(true)}`;
  $('agents-csv').href = `/api/v1/reports/agents?${rangeQuery(true)}`;
  $('regions-csv').href = `/api/v1/reports/queues?${rangeQuery(true)}&group=region`;
  const gen = ++page.gen.reports;
  $('queue-section').setAttribute('aria-busy', 'true');
  const [q, a] = await Promise.all([
    // Grouped by the callers' region too: the same totals and intervals,
    // plus one row per region (store.QueueReport.groups).
    get(`/api/v1/reports/queues?${rangeQuery(false)}&group=region`),
    get(`/api/v1/reports/agents?${rangeQuery(false)}`),
  ]);
  if (gen !== page.gen.reports) return;
  $('queue-section').setAttribute('aria-busy', 'false');
  if (q && !page.zone) {
    page.zone = q.time_zone;
    // "Today" was the browser's; if the tenant's differs, show the
    // tenant's day instead, which is what the supervisor meant.
    const day = today(page.zone);
    if (!page.rangeTouched && day !== $('range-from').value) {
      $('range-from').value = day;
      $('range-to').value = day;
      return loadReports();
    }
  }
  $('range-zone').textContent = page.zone ? `Days and times in ${page.zone}` : '';
  page.queueReport = q;
  page.agentReport = a;
  renderQueueReport();
  renderAgentReport();
  page.loads++;
}

function renderQueueReport() {
  const rep = page.queueReport;
  const t = rep ? rep.totals : null;
  $('t-offered').textContent = t ? String(t.offered) : '—';
  $('t-answered').textContent = t ? String(t.answered) : '—';
  $('t-abandoned').textContent = t ? String(t.abandoned) : '—';
  $('t-abandon-rate').textContent = t ? pct(t.abandon_rate) : '—';
  $('t-sl').textContent = t ? pct(t.service_level) : '—';
  $('t-asa').textContent = t ? mmss(t.asa_ms) : '—';
  $('t-aht').textContent = t ? mmss(t.aht_ms) : '—';
  $('t-sl-label').textContent = rep ? `Service level (${Math.round(rep.service_level_threshold_ms / 1000)} s)` : 'Service level';
  // A day has 96 intervals, mostly empty at night: they are hidden unless
  // asked for, so the busy ones fit on a screen.
  const all = $('show-empty').checked;
  // Over several days an interval needs its date.
  const multiDay = $('range-from').value !== $('range-to').value;
  const rows = (rep ? rep.intervals : [])
    .filter((iv) => all || iv.offered || iv.rejected || iv.waiting)
    .map((iv) => {
      const tr = document.createElement('tr');
      tr.append(
        cell(`${clock(iv.start, multiDay).slice(0, -3)}–${clock(iv.end).slice(0, -3)}`),
        cell(String(iv.offered), 'num'), cell(String(iv.answered), 'num'),
        cell(String(iv.abandoned), iv.abandoned ? 'num alert' : 'num'),
        cell(pct(iv.abandon_rate), 'num'), cell(pct(iv.service_level), 'num'),
        cell(mmss(iv.asa_ms), 'num'), cell(mmss(iv.aht_ms), 'num'),
      );
      return tr;
    });
  $('intervals').tBodies[0].replaceChildren(...rows);
  $('intervals').hidden = rows.length === 0;
  $('no-intervals').hidden = rows.length > 0;
  renderRegions(rep);
}

// renderRegions shows the range's figures per caller region (the region
// of the tenant's table, else the caller's country; "unknown" when the
// number said nothing).
function renderRegions(rep) {
  const rows = ((rep && rep.groups) || []).map((g) => {
    const tr = document.createElement('tr');
    tr.dataset.region = g.region;
    tr.append(
      cell(g.region || 'unknown'),
      cell(String(g.offered), 'num'), cell(String(g.answered), 'num'),
      cell(String(g.abandoned), g.abandoned ? 'num alert' : 'num'),
      cell(pct(g.abandon_rate), 'num'), cell(pct(g.service_level), 'num'),
      cell(mmss(g.asa_ms), 'num'), cell(mmss(g.aht_ms), 'num'),
    );
    return tr;
  });
  $('regions').tBodies[0].replaceChildren(...rows);
  $('regions').hidden = rows.length === 0;
}

function renderAgentReport() {
  const rep = page.agentReport;
  const rows = (rep ? rep.agents : []).map((a) => {
    const tr = document.createElement('tr');
    tr.dataset.agent = a.username || a.agent;
    tr.append(
      cell(a.display_name || a.username || a.agent),
      cell(String(a.answered), 'num'), cell(String(a.handled), 'num'),
      cell(mmss(a.talk_ms), 'num'), cell(mmss(a.wrap_up_ms), 'num'), cell(mmss(a.aht_ms), 'num'),
      cell(pct(a.occupancy), 'num'),
    );
    return tr;
  });
  $('agents').tBodies[0].replaceChildren(...rows);
  $('agents').hidden = rows.length === 0;
  $('no-agents').hidden = rows.length > 0;
}

// ---- call search ----

async function search() {
  const p = new URLSearchParams({ limit: '100' });
  for (const [key, id] of [['number', 'search-number'], ['from', 'search-from'], ['to', 'search-to'],
    ['agent', 'search-agent'], ['disposition', 'search-disposition'], ['region', 'search-region'], ['text', 'search-text']]) {
    const v = $(id).value.trim();
    if (v) p.set(key, v);
  }
  $('search-status').textContent = 'Searching…';
  const gen = ++page.gen.search;
  const r = await get(`/api/v1/calls/search?${p}`);
  if (gen !== page.gen.search) return;
  if (!r) {
    $('search-status').textContent = '';
    return;
  }
  page.calls = r.calls;
  page.searchedText = p.get('text') || '';
  const rows = r.calls.map((m) => {
    const c = m.call;
    const tr = document.createElement('tr');
    tr.dataset.call = c.id;
    const open = document.createElement('button');
    open.type = 'button';
    open.className = 'link';
    open.textContent = clock(c.started_at, true);
    open.setAttribute('aria-label', `Show call from ${c.from_number || 'unknown'} at ${clock(c.started_at, true)}`);
    open.addEventListener('click', () => showCall(c.id));
    const first = document.createElement('td');
    first.append(open);
    const stint = m.queue_entries[m.queue_entries.length - 1];
    const agents = [...new Set(m.queue_entries.filter((e) => e.agent).map((e) => agentName(e.agent)))];
    tr.append(
      first, cell(c.from_number || '—'), cell(c.to_number || '—'),
      cell(stint ? stint.queue : ''), cell(agents.join(', ')),
      cell(stint ? mmss(stint.wait_ms) : '', 'num'), cell(c.ended_at ? mmss(c.duration_ms) : 'ongoing', 'num'),
      cell(m.dispositions.map((d) => d.code).join(', ')),
      transcriptCell(c),
    );
    return tr;
  });
  $('calls').tBodies[0].replaceChildren(...rows);
  $('calls').hidden = rows.length === 0;
  $('search-status').textContent = rows.length === 0 ? 'No calls match.'
    : `${rows.length} call${rows.length === 1 ? '' : 's'}${rows.length >= 100 ? ' (the newest 100; narrow the search for older ones)' : ''}.`;
}

// transcriptCell opens the call with its transcript in view.
function transcriptCell(c) {
  const b = el('button', { type: 'button', className: 'link transcript-open', textContent: 'Transcript' }, [],
    { 'aria-label': `Show the transcript of the call from ${c.from_number || 'unknown'} at ${clock(c.started_at, true)}` });
  b.addEventListener('click', () => showCall(c.id, { transcript: true }));
  return el('td', {}, [b]);
}

// ---- one call ----

function fact(dl, term, value) {
  const dt = document.createElement('dt');
  dt.textContent = term;
  const dd = document.createElement('dd');
  dd.textContent = value;
  dl.append(dt, dd);
}

// describe turns an event's data into one line: the keys IVR and ACD
// events carry are short words, shown as they are, except that an agent's
// user id is shown as their name.
function describe(ev) {
  const data = Object.entries(ev.data || {})
    .map(([k, v]) => `${k}: ${k === 'agent' ? agentName(v) : v}`).join(', ');
  return [ev.step && `step ${ev.step}`, data].filter(Boolean).join(' · ');
}

async function showCall(id, { transcript = false } = {}) {
  const gen = ++page.gen.call;
  const r = await get(`/api/v1/calls/${encodeURIComponent(id)}`);
  if (!r || gen !== page.gen.call) return;
  page.call = r;
  const c = r.call;
  $('call-title').textContent = `Call from ${c.from_number || 'unknown'}`;
  const dl = $('call-facts');
  dl.replaceChildren();
  fact(dl, 'Dialled', c.to_number || '—');
  fact(dl, 'Started', clock(c.started_at, true));
  fact(dl, 'Answered', c.answered_at ? clock(c.answered_at) : 'not answered');
  fact(dl, 'Ended', c.ended_at ? `${clock(c.ended_at)} (${c.hangup_cause || 'hang-up'}${c.hangup_side ? `, ${c.hangup_side}` : ''})` : 'ongoing');
  fact(dl, 'Duration', c.ended_at ? mmss(c.duration_ms) : '—');
  if (c.ivr_path) fact(dl, 'IVR path', c.ivr_path);
  if (c.region || c.country) fact(dl, 'Caller region', [c.region, c.country && c.country !== c.region ? c.country : ''].filter(Boolean).join(' · '));
  for (const e of r.queue_entries) {
    const how = e.answered_at ? `answered by ${agentName(e.agent)} after ${mmss(e.wait_ms)}` : `${e.outcome || 'waiting'} after ${mmss(e.wait_ms)}`;
    fact(dl, `Queue ${e.queue}`, how);
  }
  for (const d of r.dispositions) {
    fact(dl, 'Disposition', `${d.code} by ${agentName(d.agent)}${d.note ? ` — ${d.note}` : ''}`);
  }
  // The timeline: each event's clock time and its offset from the start,
  // the offset being what lines up with the recording's position.
  const start = Date.parse(c.started_at);
  const items = r.events.map((ev) => {
    const li = document.createElement('li');
    li.dataset.kind = ev.kind;
    const at = document.createElement('time');
    at.dateTime = ev.at;
    at.className = 'mono';
    at.textContent = `${clock(ev.at)} +${mmss(Date.parse(ev.at) - start)}`;
    const kind = document.createElement('strong');
    kind.textContent = ev.kind;
    const what = document.createElement('span');
    what.className = 'muted';
    what.textContent = describe(ev);
    li.append(at, ' ', kind, ' ', what);
    return li;
  });
  $('timeline').replaceChildren(...items);
  $('call-view').hidden = false;
  await Promise.all([showRecording(c.id, gen), showTranscript(c.id, gen)]);
  if (gen !== page.gen.call) return;
  (transcript ? $('call-transcript') : $('call-view')).scrollIntoView({ block: 'start' });
}

// ---- a call's transcript ----

// markWords marks in text the words of the last search: the server
// matches stemmed words, so a word here matches by its stem-ish prefix
// ("cancelled" finds "cancel", "cancels").
function markWords(text) {
  const words = page.searchedText.toLowerCase().split(/[^\p{L}\p{N}']+/u).filter((w) => w.length >= 3)
    .map((w) => (w.length > 5 ? w.slice(0, Math.max(5, w.length - 3)) : w));
  if (words.length === 0) return [text];
  const out = [];
  for (const part of text.split(/([\p{L}\p{N}']+)/u)) {
    const hit = part && words.some((w) => part.toLowerCase().startsWith(w));
    out.push(hit ? el('mark', { textContent: part }) : part);
  }
  return out;
}

const callTranscript = createTranscriptPanel($('call-transcript'), {
  title: 'Transcript', heading: 'h3',
  nameOf: (l) => (l.agent_id ? `Agent · ${agentName(l.agent_id)}` : 'Agent'),
  textOf: markWords,
});

async function showTranscript(id, gen) {
  callTranscript.clear();
  const r = await api(`/api/v1/calls/${encodeURIComponent(id)}/transcript`).catch(() => ({ ok: false, status: 0 }));
  if (gen !== page.gen.call) return;
  if (r.status === 404) return callTranscript.say(id, 'This call has no transcript.');
  if (!r.ok) return callTranscript.say(id, (r.data && r.data.error) || `The transcript is not available (${r.status || 'network error'}).`);
  callTranscript.handle({ call: id, lines: r.data.lines, replay: false });
}

// showRecording asks for the recording's metadata first (it says whether
// there is one and its paused spans) and only then points the player at
// the audio, so a call without one shows a sentence, not a broken player.
async function showRecording(id, gen) {
  const player = $('player');
  player.removeAttribute('src');
  player.load();
  $('recording').hidden = true;
  $('no-recording').hidden = true;
  const r = await api(`/api/v1/calls/${encodeURIComponent(id)}/recording/meta`).catch(() => ({ ok: false, status: 0 }));
  if (gen !== page.gen.call) return;
  const say = (text) => { $('no-recording').textContent = text; $('no-recording').hidden = false; };
  if (r.status === 404) return say('This call has no recording.');
  if (!r.ok) return say((r.data && r.data.error) || `The recording is not available (${r.status || 'network error'}).`);
  const rec = r.data.recording;
  if (rec.status === 'deleted') return say('The recording was deleted by the retention policy.');
  if (rec.status === 'recording') return say('The call is still being recorded.');
  const src = `/api/v1/calls/${encodeURIComponent(id)}/recording`;
  player.src = src;
  $('recording-download').href = `${src}?download=1`;
  $('recording-note').textContent = `Length ${mmss(rec.duration_ms)}${rec.status === 'incomplete' ? ' · incomplete (the call ended abnormally)' : ''}`;
  // Paused spans are silence in the file (docs/recordings.md); listing
  // them tells the listener the gaps are deliberate.
  const spans = (rec.paused_spans || []).map((s) => {
    const li = document.createElement('li');
    li.textContent = `Paused ${mmss(s.start_ms)}–${mmss(s.end_ms)}`;
    return li;
  });
  $('paused-spans').replaceChildren(...spans);
  $('paused-spans').hidden = spans.length === 0;
  $('recording').hidden = false;
}

// ---- wiring ----

onRangePicked(() => {
  page.rangeTouched = true;
  loadReports();
});

$('show-empty').addEventListener('change', renderQueueReport);

$('search-form').addEventListener('submit', (e) => {
  e.preventDefault();
  search();
});

$('call-close').addEventListener('click', () => {
  $('player').pause();
  $('call-view').hidden = true;
});

// Read-only state for the browser test (test/browser/reports.test.mjs).
window.hotlineReports = {
  get loads() { return page.loads; },
  get queueReport() { return page.queueReport; },
  get calls() { return page.calls; },
  get call() { return page.call; },
  get transcript() { return callTranscript.state; },
};
