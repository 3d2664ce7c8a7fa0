// Hotline caller context on the agent page: who is calling, shown beside
// the softphone from the offer, before the agent answers, through
// wrap-up. The server pushes it in "caller_context" messages ({call,
// context}, docs/agent-protocol.md): first at once with the slow parts
// (previous calls, the CRM) "loading" when they are, then complete.
//
// Everything shown comes from callers, flows, agents' notes and the
// tenant's CRM: it only ever reaches the page through textContent.

import { $, el } from './common.js';

function fmtDuration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${String(m).padStart(2, '0')}:${ss}`;
}

const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

function fmtDate(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : dateFmt.format(d);
}

// label turns a field or code name into words: customer_since → Customer since.
function label(name) {
  const s = String(name || '').replaceAll('_', ' ').trim();
  return s ? s[0].toUpperCase() + s.slice(1) : '';
}

// choiceText is one IVR choice as a line.
function choiceText(c) {
  switch (c.kind) {
    case 'menu': {
      const how = c.input === 'speech' ? `said “${c.said || c.value}”` : `pressed ${c.value}`;
      return `${c.step}: ${how}${c.next ? ` → ${c.next}` : ''}`;
    }
    case 'gather':
      return `${c.step}: ${c.var || 'entered'} = ${c.value || '—'}${c.input === 'speech' ? ' (spoken)' : ''}`;
    case 'lookup': {
      const d = c.detail || {};
      const parts = Object.keys(d).sort().map((k) => `${k} ${d[k]}`);
      return `${c.step}: lookup${parts.length ? ` · ${parts.join(', ')}` : ''}`;
    }
    case 'ask': {
      const d = c.detail || {};
      const what = c.value ? ` · ${c.value}${d.outcome ? ` (${d.outcome})` : ''}` : (d.outcome ? ` · ${d.outcome}` : '');
      return `${c.step}: asked “${c.said || '…'}”${what}`;
    }
    default:
      return `${c.step}: ${c.kind}`;
  }
}

// initCallerContext builds the panel inside #caller.
export function initCallerContext() {
  const root = $('caller');
  // state is what tests read (window.hotlineContext).
  const state = { call: null, context: null, pushes: 0, at: 0, frozenAt: null };

  const facts = el('dl', { className: 'facts ctx-facts' });
  const number = el('dd', { id: 'caller-number', className: 'caller' });
  const region = el('dd', { id: 'caller-region' });
  const queue = el('dd', { id: 'caller-queue' });
  const wait = el('dd', { id: 'caller-wait', className: 'mono' });
  const dialled = el('dd', { id: 'caller-dialled' });
  facts.append(
    el('dt', { textContent: 'Number' }), number,
    el('dt', { textContent: 'Region' }), region,
    el('dt', { textContent: 'Queue' }), queue,
    el('dt', { textContent: 'In queue' }), wait,
    el('dt', { textContent: 'Called' }), dialled,
  );
  const path = el('p', { id: 'caller-path', className: 'ctx-path' });
  const choices = el('ul', { id: 'caller-choices', className: 'ctx-choices' });
  const crmStatus = el('p', { id: 'caller-crm-status', className: 'muted small' }, [], { role: 'status', 'aria-live': 'polite' });
  const crmFields = el('dl', { id: 'caller-crm', className: 'facts ctx-crm' });
  const crmWrap = el('div', { className: 'ctx-block' }, [el('h3', { className: 'ctx-sub', textContent: 'CRM' }), crmStatus, crmFields]);
  const prevStatus = el('p', { id: 'caller-previous-status', className: 'muted small' });
  const previous = el('ol', { id: 'caller-previous', className: 'ctx-previous' });
  root.replaceChildren(
    el('h2', { id: 'caller-title', textContent: 'Caller' }),
    facts,
    el('div', { className: 'ctx-block' }, [el('h3', { className: 'ctx-sub', textContent: 'IVR' }), path, choices]),
    crmWrap,
    el('div', { className: 'ctx-block' }, [el('h3', { className: 'ctx-sub', textContent: 'Previous calls' }), prevStatus, previous]),
  );
  root.setAttribute('aria-labelledby', 'caller-title');
  root.hidden = true;

  function renderCRM(crm) {
    crmWrap.hidden = !crm || crm.status === 'none';
    crmFields.replaceChildren();
    crmStatus.textContent = '';
    crmWrap.dataset.status = crm ? crm.status : '';
    if (!crm) return;
    switch (crm.status) {
      case 'loading':
        crmStatus.textContent = 'Looking up…';
        break;
      case 'unavailable':
        crmStatus.textContent = `CRM unavailable${crm.error ? ` (${crm.error})` : ''}`;
        break;
      case 'ok': {
        const fields = Array.isArray(crm.fields) ? crm.fields : [];
        if (!fields.length) crmStatus.textContent = crm.not_found ? 'Not known to the CRM' : 'No CRM fields';
        for (const f of fields) {
          crmFields.append(el('dt', { textContent: label(f.name) }), el('dd', { textContent: f.value || '—' }, [], { 'data-field': f.name }));
        }
        break;
      }
      default:
        break;
    }
  }

  function renderPrevious(cc) {
    previous.replaceChildren();
    const list = Array.isArray(cc.previous) ? cc.previous : [];
    prevStatus.textContent = {
      loading: 'Loading…',
      unavailable: 'History unavailable',
      none: 'No history',
    }[cc.previous_status] || (list.length ? '' : 'No previous calls');
    for (const p of list) {
      const head = [fmtDate(p.started_at), fmtDuration(p.duration_ms || 0)];
      if (p.direction && p.direction !== 'inbound') head.push(p.direction);
      if (p.queue) head.push(p.queue);
      if (p.agent) head.push(p.agent);
      if (!p.answered && p.direction === 'inbound') head.push('not answered');
      const kids = [el('span', { className: 'ctx-when', textContent: head.join(' · ') })];
      if (p.disposition) kids.push(el('span', { className: 'pill ctx-disp', textContent: label(p.disposition) }));
      if (p.intent) kids.push(el('span', { className: 'ctx-intent muted small', textContent: label(p.intent) }));
      if (p.summary) kids.push(el('p', { className: 'ctx-summary', textContent: p.summary }));
      if (p.note) kids.push(el('p', { className: 'ctx-note muted small', textContent: `Note: ${p.note}` }));
      previous.append(el('li', {}, kids, { 'data-call': p.id }));
    }
  }

  function render() {
    const cc = state.context;
    if (!cc) return;
    number.textContent = cc.number || 'unknown';
    const r = cc.region;
    region.textContent = r ? [r.name, r.country && r.country !== r.name ? r.country : ''].filter(Boolean).join(' · ') || '—' : '—';
    queue.textContent = cc.queue || '—';
    dialled.textContent = cc.dialled || '—';
    path.textContent = cc.ivr_path && cc.ivr_path.length ? cc.ivr_path.join(' › ') : 'No IVR steps';
    choices.replaceChildren(...(cc.choices || []).map((c) => el('li', { textContent: choiceText(c) }, [], { 'data-kind': c.kind })));
    renderCRM(cc.crm);
    renderPrevious(cc);
    // An empty status line would only leave a gap under its heading.
    crmStatus.hidden = !crmStatus.textContent;
    prevStatus.hidden = !prevStatus.textContent;
    tick();
  }

  // tick counts the time in queue: live while the caller waits and the
  // offer rings, stopped from the answer on.
  function tick() {
    const cc = state.context;
    if (!cc || root.hidden) return;
    if (!cc.queued_at) {
      wait.textContent = '—';
      return;
    }
    const end = state.frozenAt ?? performance.now();
    const running = cc.waiting ? Math.max(0, end - state.at) : 0;
    wait.textContent = fmtDuration((cc.wait_ms || 0) + running);
  }
  setInterval(tick, 500);

  window.hotlineContext = {
    get call() { return state.call; },
    get context() { return state.context; },
    get pushes() { return state.pushes; },
  };

  return {
    // handle takes a caller_context message.
    handle(msg) {
      if (!msg || !msg.call || !msg.context) return;
      state.call = msg.call;
      state.context = msg.context;
      state.pushes++;
      state.at = performance.now();
      // The server's wait is as of now; sync stops the clock again if
      // the call is no longer ringing.
      state.frozenAt = null;
      render();
    },
    // sync shows the panel for the call on the page (an offer, the call,
    // or the one in wrap-up), with its clock running while it rings.
    sync({ callID, ringing }) {
      const show = !!callID && callID === state.call && !!state.context;
      root.hidden = !show;
      if (show && !ringing && state.frozenAt == null) state.frozenAt = performance.now();
      if (show) tick();
    },
    clear() {
      state.call = null;
      state.context = null;
      state.frozenAt = null;
      root.hidden = true;
    },
  };
}
