// Hotline supervisor reports: the agent-assist section. Checklist
// completion per checklist and step (GET /api/v1/reports/checklists,
// docs/checklists.md) and the robot's containment per intent (GET
// /api/v1/reports/ask, docs/answers.md). Like surveys.js it follows the
// page's range: reports.js rewrites the zone note after every report load.
// Names come from configuration and callers: only ever set as textContent.

const $ = (id) => document.getElementById(id);

const percent = new Intl.NumberFormat('en', { style: 'percent', maximumFractionDigits: 1 });
const pct = (x) => (x == null ? '—' : percent.format(x));

const state = { gen: 0, checklists: null, ask: null, loads: 0 };

function row(cells) {
  const tr = document.createElement('tr');
  cells.forEach((v, i) => {
    const td = document.createElement(i === 0 ? 'th' : 'td');
    if (i === 0) td.scope = 'row';
    td.textContent = v;
    tr.append(td);
  });
  return tr;
}

async function getReport(path) {
  try {
    const res = await fetch(path, { credentials: 'same-origin' });
    const data = await res.json().catch(() => null);
    if (res.ok) return { data };
    return { error: (data && data.error) || `${res.status}` };
  } catch (err) {
    return { error: err.message };
  }
}

async function load() {
  if (!$('range-from').value || !$('range-to').value || $('reports-view').hidden) return;
  const gen = ++state.gen;
  const range = new URLSearchParams({ from: $('range-from').value, to: $('range-to').value }).toString();
  $('assist-section').setAttribute('aria-busy', 'true');
  const [cl, ask] = await Promise.all([getReport(`/api/v1/reports/checklists?${range}`), getReport(`/api/v1/reports/ask?${range}`)]);
  if (gen !== state.gen) return;
  $('assist-section').setAttribute('aria-busy', 'false');
  state.checklists = cl.data || null;
  state.ask = ask.data || null;
  const steps = (cl.data && cl.data.steps) || [];
  $('checklist-rates').querySelector('tbody').replaceChildren(...steps.map((s) =>
    row([s.checklist, s.step, String(s.calls), String(s.done), String(s.auto), pct(s.rate)])));
  $('no-checklists').hidden = steps.length > 0 || !cl.data;
  const a = ask.data;
  $('ask-containment').textContent = a
    ? `${a.contained} of ${a.calls} calls with a question answered by the robot alone (${pct(a.containment)})`
    : '';
  const intents = (a && a.intents) || [];
  $('ask-intents').querySelector('tbody').replaceChildren(...intents.map((i) =>
    row([i.intent || '(no intent found)', String(i.asked), String(i.answered), String(i.queued), pct(i.success_rate)])));
  $('assist-status').textContent = [cl.error && `Checklists: ${cl.error}`, ask.error && `Robot: ${ask.error}`].filter(Boolean).join(' · ');
  state.loads++;
}

new MutationObserver(load).observe($('range-zone'), { childList: true, characterData: true, subtree: true });

// Read-only state for tests.
window.hotlineAssistReport = {
  get loads() { return state.loads; },
  get checklists() { return state.checklists; },
  get ask() { return state.ask; },
};
