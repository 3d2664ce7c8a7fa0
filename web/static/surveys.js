// Hotline supervisor reports: the caller satisfaction (CSAT) section,
// from post-call survey answers (GET /api/v1/reports/csat, web/surveys.go,
// docs/surveys.md). It follows the page's range: reports.js rewrites the
// zone note after every report load, which is when the range is settled.
// User text (usernames, queue names) is only ever set as textContent.

const $ = (id) => document.getElementById(id);

const percent = new Intl.NumberFormat('en', { style: 'percent', maximumFractionDigits: 1 });
const pct = (x) => (x == null ? '—' : percent.format(x));
const avg = (x) => (x == null ? '—' : x.toFixed(2));

const csat = { gen: 0, report: null, loads: 0 };

const headings = { agent: 'Agent', queue: 'Queue', day: 'Day' };

function query(csv) {
  const p = new URLSearchParams({ from: $('range-from').value, to: $('range-to').value, group: $('csat-group').value });
  if (csv) p.set('format', 'csv');
  return p.toString();
}

function row(label, f, th) {
  const tr = document.createElement('tr');
  const first = document.createElement(th ? 'th' : 'td');
  if (th) first.scope = 'row';
  first.textContent = label;
  tr.append(first);
  for (const v of [String(f.calls), String(f.scores), pct(f.csat), avg(f.avg_score), String(f.yesno), pct(f.yes_share)]) {
    const td = document.createElement('td');
    td.textContent = v;
    tr.append(td);
  }
  return tr;
}

async function loadCSAT() {
  if (!$('range-from').value || !$('range-to').value || $('reports-view').hidden) return;
  const gen = ++csat.gen;
  $('csat-csv').href = `/api/v1/reports/csat?${query(true)}`;
  $('csat-section').setAttribute('aria-busy', 'true');
  let rep = null;
  try {
    const res = await fetch(`/api/v1/reports/csat?${query(false)}`, { credentials: 'same-origin' });
    const data = await res.json().catch(() => null);
    if (res.ok) {
      rep = data;
    } else {
      $('csat-status').textContent = (data && data.error) || `CSAT report: ${res.status}`;
    }
  } catch (err) {
    $('csat-status').textContent = `CSAT report: ${err.message}`;
  }
  if (gen !== csat.gen) return;
  $('csat-section').setAttribute('aria-busy', 'false');
  csat.report = rep;
  $('csat-key').textContent = headings[$('csat-group').value] || 'Agent';
  const rows = rep ? rep.rows : [];
  $('csat').querySelector('tbody').replaceChildren(...rows.map((r) => row(r.label || r.key, r)));
  $('csat').querySelector('tfoot').replaceChildren(...(rows.length ? [row('All', rep.total, true)] : []));
  $('no-csat').hidden = !rep || rows.length > 0;
  if (rep) $('csat-status').textContent = '';
  csat.loads++;
}

new MutationObserver(loadCSAT).observe($('range-zone'), { childList: true, characterData: true, subtree: true });
$('csat-group').addEventListener('change', loadCSAT);

// Read-only state for tests.
window.hotlineCSAT = {
  get loads() { return csat.loads; },
  get report() { return csat.report; },
};
