// Hotline supervisors' analytics: volume by hour, day, channel, region and
// number dialled, abandon and CSAT trends, top keywords and intents, over a
// date range (web/analytics.go, docs/analytics.md). Charts are Chart.js's
// (vendored UMD build, window.Chart); they draw on canvases, and every
// text from the data that reaches the DOM goes through textContent. Plain
// ES module, no build.

import { $, showError, apiOrError, pct, dateIn, signInShell, onRangePicked } from './common.js';

// Channel colours: voice in blues, chats in greens, in channel order.
const PALETTE = ['#1f6feb', '#5b8def', '#98b6f5', '#1a7f37', '#4ac26b', '#8ddb8c', '#bf8700', '#cf222e', '#8250df'];

const page = {
  zone: null, // the tenant's time zone, from the first answer
  rangeTouched: false,
  data: null,
  charts: {}, // name -> Chart
  loads: 0, // completed loads, for tests
  gen: 0, // request generation: a late answer to an older range is dropped
};

const count = new Intl.NumberFormat('en');

// channelName labels a channel key: voice_inbound -> "Voice inbound",
// chat_web -> "Chat web". A chat channel's name is the tenant's own text;
// it is drawn on a canvas or set as textContent, never parsed as HTML.
function channelName(key) {
  const [kind, ...rest] = key.split('_');
  const name = rest.join('_');
  return `${kind === 'voice' ? 'Voice' : kind === 'chat' ? 'Chat' : kind} ${name}`.trim();
}

function rangeQuery() {
  return new URLSearchParams({ from: $('range-from').value, to: $('range-to').value }).toString();
}

// ---- sign-in ----

const showLogin = signInShell({ view: 'analytics-view', forbidden: 'Analytics are for supervisors.', show: showAnalytics });

function setRange(days) {
  const end = new Date();
  const start = new Date(end.getTime() - (days - 1) * 86400000);
  $('range-from').value = dateIn(start, page.zone);
  $('range-to').value = dateIn(end, page.zone);
}

async function showAnalytics() {
  if (!page.rangeTouched) setRange(30);
  await load();
}

// ---- loading ----

async function load() {
  const gen = ++page.gen;
  const q = rangeQuery();
  const r = await apiOrError(`/api/v1/analytics?${q}`);
  if (gen !== page.gen) return;
  if (!r.ok) {
    if (r.status === 401) showLogin('Your session ended; sign in again.');
    else showError((r.data && r.data.error) || `analytics: ${r.status || 'network error'}`);
    return;
  }
  page.data = r.data;
  if (!page.zone && r.data.time_zone) {
    page.zone = r.data.time_zone;
  }
  $('range-zone').textContent = `Times in ${r.data.time_zone}`;
  for (const a of document.querySelectorAll('a.download')) {
    a.href = `/api/v1/analytics.csv?series=${encodeURIComponent(a.dataset.series)}&${q}`;
  }
  render(r.data);
  page.loads++;
}

// ---- rendering ----

// chart replaces the named chart with a new one on its canvas.
function chart(name, config) {
  if (page.charts[name]) page.charts[name].destroy();
  const base = {
    responsive: true, maintainAspectRatio: false, animation: false,
    plugins: { legend: { display: false } },
  };
  const own = config.options || {};
  config.options = { ...base, ...own, plugins: { ...base.plugins, ...(own.plugins || {}) } };
  page.charts[name] = new window.Chart($(`chart-${name}`), config);
}

function render(d) {
  const t = d.totals || {};
  $('t-calls').textContent = count.format(t.calls || 0);
  $('t-chats').textContent = count.format(t.chats || 0);
  $('t-abandon').textContent = pct(t.abandon_rate);
  $('t-csat').textContent = pct(t.csat);

  const channels = d.channels || [];
  const colour = (i) => PALETTE[i % PALETTE.length];
  const stacked = { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } };
  const legend = { legend: { display: channels.length > 1, position: 'bottom' } };

  chart('hourly', {
    type: 'bar',
    data: {
      labels: (d.hourly || []).map((h) => String(h.hour).padStart(2, '0')),
      datasets: channels.map((c, i) => ({
        label: channelName(c), backgroundColor: colour(i), data: (d.hourly || []).map((h) => h.by_channel[c] || 0),
      })),
    },
    options: { scales: stacked, plugins: legend },
  });
  chart('daily', {
    type: 'line',
    data: {
      labels: (d.daily || []).map((x) => x.date),
      datasets: channels.map((c, i) => ({
        label: channelName(c), borderColor: colour(i), backgroundColor: colour(i), pointRadius: 2,
        data: (d.daily || []).map((x) => x.by_channel[c] || 0),
      })),
    },
    options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } }, plugins: legend },
  });
  const split = (list, label) => ({
    labels: list.map(label), datasets: [{ data: list.map((k) => k.count), backgroundColor: list.map((_, i) => colour(i)) }],
  });
  chart('channels', {
    type: 'doughnut',
    data: split(d.by_channel || [], (k) => channelName(k.key)),
    options: { plugins: { legend: { display: true, position: 'bottom' } } },
  });
  const horizontal = { indexAxis: 'y', scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } };
  chart('regions', { type: 'bar', data: split(d.by_region || [], (k) => k.key || 'unknown'), options: horizontal });
  chart('sources', { type: 'bar', data: split(d.by_source || [], (k) => k.key), options: horizontal });

  const rate = { y: { beginAtZero: true, max: 1, ticks: { callback: (v) => pct(v) } } };
  const tip = { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${pct(c.parsed.y)}` } } };
  chart('abandon', {
    type: 'line',
    data: {
      labels: (d.abandon || []).map((x) => x.date),
      datasets: [
        { label: 'Abandon rate', borderColor: '#cf222e', backgroundColor: '#cf222e', pointRadius: 2, spanGaps: true, data: (d.abandon || []).map((x) => x.abandon_rate) },
        { label: 'Excluding short abandons', borderColor: '#f0a1a6', backgroundColor: '#f0a1a6', pointRadius: 2, spanGaps: true, data: (d.abandon || []).map((x) => x.abandon_rate_excl_short) },
      ],
    },
    options: { scales: rate, plugins: { ...tip, legend: { display: true, position: 'bottom' } } },
  });
  chart('csat', {
    type: 'line',
    data: {
      labels: (d.csat || []).map((x) => x.date),
      datasets: [{ label: 'CSAT', borderColor: '#1a7f37', backgroundColor: '#1a7f37', pointRadius: 2, spanGaps: true, data: (d.csat || []).map((x) => x.csat) }],
    },
    options: { scales: rate, plugins: tip },
  });

  ranked('keywords', d.keywords || [], (k) => [k.term, `${count.format(k.count)}`, `chat ${k.chat} · speech ${k.speech}`]);
  ranked('intents', d.intents || [], (k) => [k.intent, `${count.format(k.count)}`, sourceName(k.source)]);
}

function sourceName(s) {
  return { ivr_key: 'IVR menu (key)', ivr_speech: 'IVR menu (spoken)', disposition: 'disposition' }[s] || s;
}

// ranked fills a top list; the term or intent is the customers' or the
// tenant's text, so it is set as textContent only.
function ranked(id, list, parts) {
  const items = list.map((k) => {
    const [name, n, detail] = parts(k);
    const li = document.createElement('li');
    const label = document.createElement('span');
    label.className = 'term';
    label.textContent = name;
    const num = document.createElement('span');
    num.className = 'num';
    num.textContent = n;
    const small = document.createElement('span');
    small.className = 'muted small';
    small.textContent = detail;
    li.append(label, num, small);
    return li;
  });
  $(id).replaceChildren(...items);
  $(`${id}-empty`).hidden = items.length > 0;
}

// ---- wiring ----

onRangePicked(() => {
  page.rangeTouched = true;
  load();
});

for (const b of document.querySelectorAll('.presets button')) {
  b.addEventListener('click', () => {
    page.rangeTouched = true;
    setRange(Number(b.dataset.days));
    load();
  });
}

// Read-only state for the browser test (test/browser/analytics.test.mjs).
window.hotlineAnalytics = {
  get loads() { return page.loads; },
  get data() { return page.data; },
  get charts() { return Object.keys(page.charts); },
};
