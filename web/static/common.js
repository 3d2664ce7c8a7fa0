// What the pages' modules share: the element lookup and builder, and for
// the supervisor pages (reports, analytics, wallboard) the error strip,
// the JSON API call, figure formats and the sign-in shell around each
// page's own view. Plain ES module, no
// build; user text only ever reaches the DOM through textContent.

export const $ = (id) => document.getElementById(id);

export const SUPERVISORS = ['supervisor', 'admin'];

// el builds an element: props are assigned (textContent, value, type...),
// attrs set as attributes, children appended (strings become text nodes).
export function el(tag, props = {}, children = [], attrs = {}) {
  const e = document.createElement(tag);
  Object.assign(e, props);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

// showError adds message to the page's error strip for ten seconds.
export function showError(message) {
  const item = document.createElement('div');
  item.className = 'error';
  item.textContent = message;
  $('errors').append(item);
  setTimeout(() => item.remove(), 10000);
}

// api calls a JSON route; data is null when the answer has no JSON body.
export async function api(path, opts = {}) {
  const res = await fetch(path, {
    method: opts.method || 'GET', credentials: 'same-origin',
    headers: opts.body ? { 'Content-Type': 'application/json' } : {},
    body: opts.body ? JSON.stringify(opts.body) : undefined,
  });
  let data = null;
  try { data = await res.json(); } catch { /* empty or not JSON */ }
  return { ok: res.ok, status: res.status, data };
}

// apiOrError is api with a network failure as an answer (status 0), so
// callers handle both the same way.
export function apiOrError(path, opts) {
  return api(path, opts).catch((err) => ({ ok: false, status: 0, data: { error: err.message } }));
}

const percent = new Intl.NumberFormat('en', { style: 'percent', maximumFractionDigits: 1 });

// pct is a 0..1 ratio as a percentage; null (no denominator) is a dash.
export function pct(x) {
  return x == null ? '—' : percent.format(x);
}

// mmss is a duration as mm:ss (minutes keep counting past an hour, as in
// the ACD's figures), in whole seconds down; null, a missing figure, is a
// dash.
export function mmss(ms) {
  if (ms == null || ms < 0) return '—';
  const s = Math.floor(ms / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

// dateIn is the date (YYYY-MM-DD) of d in zone (the browser's while the
// tenant's is unknown); en-CA formats dates that way.
export function dateIn(d, zone) {
  const opts = { year: 'numeric', month: '2-digit', day: '2-digit' };
  if (zone) opts.timeZone = zone;
  return new Intl.DateTimeFormat('en-CA', opts).format(d);
}

// onRangePicked calls pick when the range form is submitted with an end
// no earlier than its start, and says so otherwise.
export function onRangePicked(pick) {
  $('range-form').addEventListener('submit', (e) => {
    e.preventDefault();
    if ($('range-to').value < $('range-from').value) {
      showError('The range ends before it starts.');
      return;
    }
    pick();
  });
}

// signInShell runs a supervisor page's sign-in: the login form, the
// sign-out button and the first check of an existing session. view is the
// id of the page's own view; forbidden is what a signed-in agent is told;
// show(user) opens the view once the header names user; signingOut runs
// before the session ends. It returns showLogin(message), which hides the
// view behind the login form.
export function signInShell({ view, forbidden, show, signingOut }) {
  function showLogin(message) {
    $(view).hidden = true;
    $('who').hidden = true;
    $('login-view').hidden = false;
    $('login-error').textContent = message || '';
  }

  function open(user) {
    $('login-view').hidden = true;
    $(view).hidden = false;
    $('who').hidden = false;
    const u = user || {};
    $('me').textContent = `${u.display_name || u.username || ''} · ${u.tenant || ''}`;
    show(user);
  }

  $('login-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = e.target;
    const r = await api('/api/v1/login', {
      method: 'POST',
      body: { tenant: f.tenant.value.trim(), username: f.username.value.trim(), password: f.password.value },
    }).catch((err) => ({ ok: false, data: { error: err.message } }));
    if (!r.ok) {
      $('login-error').textContent = (r.data && r.data.error) || `Sign-in failed (${r.status})`;
      return;
    }
    f.password.value = '';
    if (!SUPERVISORS.includes(r.data.user.role)) {
      showLogin(forbidden);
      return;
    }
    open(r.data.user);
  });

  $('logout').addEventListener('click', async () => {
    if (signingOut) signingOut();
    await api('/api/v1/logout', { method: 'POST' }).catch(() => {});
    showLogin('Signed out.');
  });

  (async () => {
    const r = await api('/api/v1/me').catch(() => null);
    if (r && r.ok && r.data && SUPERVISORS.includes(r.data.user?.role)) {
      open(r.data.user);
    } else {
      showLogin();
    }
  })();

  return showLogin;
}
