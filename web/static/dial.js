// Click to call on the agent desk (docs/outbound.md): a number box with a
// dial pad and a Call button, Call buttons next to tickets' customer
// numbers, and the progress of the call (dial_progress) until it becomes
// the ordinary call on the line. Numbers are user text: only ever put in
// the page with textContent.

const $ = (id) => document.getElementById(id);

function el(tag, props = {}, children = [], attrs = {}) {
  const e = Object.assign(document.createElement(tag), props);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

// normalize drops the separators people type in numbers; anything else
// is left for the server to refuse with a clear message.
export function normalize(raw) {
  return String(raw || '').trim().replace(/[\s().\-\/]/g, '');
}

const STATUS = {
  dialing: (p) => `Dialling ${p.number}…`,
  ringing: (p) => `Ringing ${p.number}…`,
  answered: (p) => `${p.number} answered — connecting audio…`,
};

// initDial builds the dial panel in #dial-panel. ctx: send(msg) -> bool,
// showError(text), busy() -> whether a call or offer is on the page,
// queues() -> the agent's queues.
export function initDial(ctx) {
  const root = $('dial-panel');
  const state = {
    current: null,   // the dial in progress: {call, number, queue, state}
    last: null,      // the last dial_progress
    history: [],     // every dial_progress, for tests and debugging
    calls: new Map(), // call id -> {number, queue}, for the call panel
  };

  const number = el('input', {
    id: 'dial-number', type: 'tel', autocomplete: 'off', maxLength: 40, placeholder: '+1 555 0100',
  }, [], { inputmode: 'tel', 'aria-label': 'Number to call' });
  const queue = el('select', { id: 'dial-queue' }, [], { 'aria-label': 'Call on behalf of queue' });
  const call = el('button', { id: 'dial-call', type: 'submit', className: 'primary', textContent: 'Call' });
  const cancel = el('button', { id: 'dial-cancel', type: 'button', className: 'danger', textContent: 'Cancel call', hidden: true });
  const status = el('p', { id: 'dial-status', className: 'dial-status muted small' }, [], { role: 'status', 'aria-live': 'polite' });
  const pad = el('div', { className: 'dial-pad' }, [], { role: 'group', 'aria-label': 'Dial pad' });
  for (const k of ['1', '2', '3', '4', '5', '6', '7', '8', '9', '+', '0', '⌫']) {
    const label = k === '⌫' ? 'Delete last digit' : k === '+' ? 'Dial plus' : `Dial ${k}`;
    const b = el('button', { type: 'button', textContent: k }, [], { 'aria-label': label });
    b.addEventListener('click', () => {
      number.value = k === '⌫' ? number.value.slice(0, -1) : number.value + k;
      number.focus();
    });
    pad.append(b);
  }
  const form = el('form', { id: 'dial-form', className: 'dial-form' }, [
    el('h3', { textContent: 'Place a call' }),
    el('div', { className: 'dial-row' }, [number, call]),
    el('label', { className: 'dial-queue small' }, ['For queue ', queue]),
    pad,
  ]);
  form.noValidate = true;
  root.append(form, el('div', { className: 'actions' }, [cancel]), status);

  function setStatus(text, kind) {
    status.textContent = text || '';
    status.dataset.kind = kind || '';
  }

  function dial(raw, queueName) {
    if (state.current) {
      setStatus('A call is already being placed.', 'error');
      return false;
    }
    const n = normalize(raw);
    const msg = { type: 'dial', number: n };
    if (queueName) msg.queue = queueName;
    if (!ctx.send(msg)) return false;
    state.current = { call: '', number: n, queue: queueName || '', state: 'sent' };
    setStatus(`Dialling ${n}…`, 'progress');
    render();
    return true;
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    dial(number.value, queue.value);
  });

  cancel.addEventListener('click', () => {
    const cur = state.current;
    if (cur && cur.call) ctx.send({ type: 'hangup', call: cur.call });
  });

  function handle(msg) {
    const p = {
      call: msg.call || '', number: msg.number || '', queue: msg.queue || '', state: msg.state || '',
      reason: msg.reason || '', cause: msg.cause || '', sip_code: msg.sip_code || 0, message: msg.message || '',
    };
    state.last = p;
    state.history.push(p);
    if (state.history.length > 50) state.history.shift();
    if (p.call) state.calls.set(p.call, { number: p.number, queue: p.queue });
    switch (p.state) {
      case 'dialing':
      case 'ringing':
      case 'answered':
        state.current = { ...p };
        setStatus(STATUS[p.state](p), 'progress');
        break;
      case 'failed':
        state.current = null;
        setStatus(p.message || `The call to ${p.number} failed.`, 'error');
        ctx.showError(p.message || `The call to ${p.number} failed.`);
        break;
      case 'cancelled':
        state.current = null;
        setStatus(p.message || 'Call cancelled.', '');
        break;
      case 'ended':
        state.current = null;
        setStatus('', '');
        break;
      default:
        break;
    }
    render();
  }

  function render() {
    const busy = ctx.busy();
    root.hidden = busy;
    const cur = state.current;
    const placing = !!cur;
    call.disabled = placing;
    number.disabled = placing;
    queue.disabled = placing;
    cancel.hidden = !(cur && cur.call && cur.state !== 'answered');
    const qs = ctx.queues() || [];
    if (queue.options.length !== qs.length + 1) {
      queue.replaceChildren(el('option', { value: '', textContent: '—' }),
        ...qs.map((q) => el('option', { value: q, textContent: q })));
    }
  }

  // callButton is a Call button for a number shown elsewhere (a ticket's
  // customer number).
  function callButton(n) {
    const b = el('button', { type: 'button', className: 'link dial-link', textContent: 'Call' }, [], { 'aria-label': `Call ${n}` });
    b.addEventListener('click', () => {
      number.value = n;
      dial(n, '');
    });
    return b;
  }

  window.hotlineDial = {
    get current() { return state.current ? { ...state.current } : null; },
    get last() { return state.last ? { ...state.last } : null; },
    get history() { return state.history.slice(); },
    get status() { return status.textContent; },
  };

  return {
    handle,
    render,
    callButton,
    dial,
    callerOf: (id) => (state.calls.get(id) || {}).number || '',
    queueOf: (id) => (state.calls.get(id) || {}).queue || '',
  };
}
