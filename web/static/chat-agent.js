// Hotline chats on the agent page: the chats the distributor assigns to
// this agent (up to the tenant's max_per_agent, alongside at most one
// call), one tab each with the transcript so far (the bot's part
// included), a reply box and "Close chat". Its own WebSocket,
// /api/v1/chat/agent/ws (docs/agent-protocol.md, "Chats").
//
// Chats are auto-accepted, as with Amazon Connect's auto-accept for chat:
// an assigned chat opens as a tab at once, without ringing.
//
// Every piece of chat text comes from visitors, so it only ever reaches
// the page through textContent: never innerHTML.

import { $, el } from './common.js';

const SENDERS = { visitor: 'Visitor', bot: 'Bot', system: '', agent: 'You' };

// hhmm is a message's local time of day (cheap: many lines arrive at once).
function hhmm(at) {
  const d = new Date(at);
  return Number.isNaN(d.getTime()) ? '' : `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

// scrollSoon scrolls a transcript to its end once per frame: reading
// scrollHeight after every line would lay the page out for each.
const toScroll = new Set();
// ticketDraft is what a chat's "Create ticket" prefills: the subject from
// the visitor's first line (cut at a word near 80 characters), the last
// few visitor lines as the description, the visitor as the customer.
export function ticketDraft(c) {
  const said = c.lines.filter((l) => l.sender === 'visitor' && l.text.trim()).map((l) => l.text.trim());
  let subject = (said[0] || `Chat with ${c.visitor || 'a visitor'}`).replace(/\s+/g, ' ');
  if (subject.length > 80) {
    const cut = subject.lastIndexOf(' ', 79);
    subject = `${subject.slice(0, cut > 40 ? cut : 79)}…`;
  }
  return {
    id: c.id, visitor: c.visitor || '', channel: c.channel || '', subject,
    description: said.slice(-5).join('\n'),
  };
}

function scrollSoon(c) {
  if (toScroll.size === 0) {
    requestAnimationFrame(() => {
      for (const x of toScroll) x.log.scrollTop = x.log.scrollHeight;
      toScroll.clear();
    });
  }
  toScroll.add(c);
}

export function initChats() {
  const root = $('chats');
  const st = {
    ws: null, wanted: false, retries: 0, timer: null,
    chats: new Map(), // id -> {id, visitor, queue, channel, lines: [], ended, unread, tab, panel, log}
    active: '', max: 0, taking: false, agentState: '', errors: [], received: 0,
  };
  window.hotlineChats = st;
  if (!root) return { show() {}, hide() {} };

  const status = el('p', { id: 'chats-status', className: 'muted small' }, [], { role: 'status', 'aria-live': 'polite' });
  const tabs = el('div', { id: 'chat-tabs', className: 'chat-tabs' }, [], { role: 'tablist', 'aria-label': 'Open chats' });
  const empty = el('p', { id: 'chats-empty', className: 'muted', textContent: 'No chats open. New chats open here by themselves.' });
  const panels = el('div', { className: 'chat-panels' });
  root.replaceChildren(el('h2', { id: 'chats-title', textContent: 'Chats' }), status, tabs, empty, panels);

  function renderStatus() {
    const open = [...st.chats.values()].filter((c) => !c.ended).length;
    if (!st.ws || st.ws.readyState !== 1) status.textContent = 'Chats: connecting…';
    else if (st.taking) status.textContent = `Taking chats: ${open} of ${st.max} open.`;
    else status.textContent = `Not taking new chats (${st.agentState || 'offline'}): ${open} open.`;
    empty.hidden = st.chats.size > 0;
  }

  function select(id) {
    st.active = id;
    for (const c of st.chats.values()) {
      const on = c.id === id;
      c.tab.setAttribute('aria-selected', on ? 'true' : 'false');
      c.tab.tabIndex = on ? 0 : -1;
      c.panel.hidden = !on;
      if (on) { c.unread = 0; renderTab(c); }
    }
  }

  function renderTab(c) {
    c.tabLabel.textContent = `${c.visitor || 'Visitor'} · ${c.queue}${c.channel && c.channel !== 'web' ? ' · ' + c.channel : ''}`;
    c.badge.textContent = c.ended ? 'ended' : (c.unread ? String(c.unread) : '');
    c.badge.hidden = !c.ended && !c.unread;
  }

  function addLine(c, m) {
    const sender = String(m.sender || '');
    const who = sender === 'agent' ? (m.agent || SENDERS.agent) : SENDERS[sender] ?? sender;
    const item = el('li', { className: `chat-line chat-${sender}` });
    item.dataset.sender = sender;
    if (who) item.append(el('span', { className: 'chat-who', textContent: who }));
    if (m.title) item.append(el('strong', { className: 'chat-title', textContent: String(m.title) }));
    let text = String(m.text ?? '');
    if (m.title && text.startsWith(m.title + '\n')) text = text.slice(String(m.title).length + 1);
    item.append(el('span', { className: 'chat-text', textContent: text }));
    if (m.at) item.append(el('time', { className: 'chat-at muted small', textContent: hhmm(m.at), dateTime: String(m.at) }));
    c.log.append(item);
    scrollSoon(c);
    c.lines.push({ sender, text, title: m.title || '' });
    if (st.active !== c.id) { c.unread++; renderTab(c); }
  }

  function open(m) {
    let c = st.chats.get(m.chat);
    if (c) return c;
    c = { id: m.chat, visitor: m.visitor, queue: m.queue, channel: m.channel, lines: [], ended: false, unread: 0 };
    const n = st.chats.size + 1;
    c.tabLabel = el('span');
    c.badge = el('span', { className: 'chat-badge' });
    c.tab = el('button', { type: 'button', className: 'chat-tab', id: `chat-tab-${n}` }, [c.tabLabel, c.badge],
      { role: 'tab', 'aria-controls': `chat-panel-${n}`, 'data-chat': c.id });
    c.tab.addEventListener('click', () => select(c.id));
    c.log = el('ol', { className: 'chat-log' }, [], { 'aria-label': 'Transcript', 'aria-live': 'polite' });
    c.reply = el('textarea', { className: 'chat-reply', rows: 2, placeholder: 'Reply…' }, [], { 'aria-label': 'Reply' });
    c.send = el('button', { type: 'submit', className: 'primary', textContent: 'Send' });
    c.close = el('button', { type: 'button', className: 'chat-close', textContent: 'Close chat' });
    // Opens the Tickets panel's form prefilled from this chat (tickets.js);
    // it works after the chat ended too, as wrap-up.
    c.ticket = el('button', { type: 'button', className: 'chat-ticket', textContent: 'Create ticket' });
    c.ticket.addEventListener('click', () => {
      const t = window.hotlineTickets;
      if (!t || !t.createFromChat) { showError('Tickets are not available.'); return; }
      t.createFromChat(ticketDraft(c));
    });
    const form = el('form', { className: 'chat-form' }, [c.reply, c.send, c.close, c.ticket]);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const text = c.reply.value.trim();
      if (!text || c.ended) return;
      if (text.length > 4000) { showError(`Reply too long: ${text.length} characters, the limit is 4000.`); return; }
      if (send({ type: 'chat_send', chat: c.id, text })) c.reply.value = '';
    });
    c.reply.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
    });
    c.close.addEventListener('click', () => {
      if (c.ended) { dismiss(c); return; }
      send({ type: 'chat_close', chat: c.id });
    });
    c.panel = el('div', { className: 'chat-panel', id: `chat-panel-${n}`, hidden: true }, [c.log, form],
      { role: 'tabpanel', 'aria-labelledby': `chat-tab-${n}`, 'data-chat': c.id });
    tabs.append(c.tab);
    panels.append(c.panel);
    st.chats.set(c.id, c);
    for (const line of m.transcript || []) addLine(c, line);
    c.unread = 0;
    renderTab(c);
    if (!st.active || !st.chats.has(st.active) || st.chats.get(st.active).ended) select(c.id);
    renderStatus();
    return c;
  }

  function ended(c, outcome) {
    c.ended = true;
    c.reply.disabled = true;
    c.send.disabled = true;
    c.close.textContent = 'Dismiss';
    c.log.append(el('li', { className: 'chat-line chat-system', textContent: outcome === 'requeued' ? 'This chat went back to the queue.' : 'The chat has ended.' }));
    renderTab(c);
    renderStatus();
  }

  function dismiss(c) {
    c.tab.remove();
    c.panel.remove();
    st.chats.delete(c.id);
    if (st.active === c.id) {
      st.active = '';
      const next = [...st.chats.keys()][0];
      if (next) select(next);
    }
    renderStatus();
  }

  function showError(msg) {
    st.errors.push(msg);
    status.textContent = msg;
  }

  function send(m) {
    if (!st.ws || st.ws.readyState !== 1) { showError('Chats are reconnecting; try again in a moment.'); return false; }
    st.ws.send(JSON.stringify(m));
    return true;
  }

  function handle(m) {
    st.received++;
    switch (m.type) {
      case 'chat_hello':
        root.hidden = false; // shown once the tenant turns out to have chat
        st.max = m.max_per_agent; st.taking = m.taking; st.agentState = m.state;
        for (const c of m.chats || []) open(c);
        break;
      case 'chat_offer':
        open(m);
        break;
      case 'chat_message': {
        const c = st.chats.get(m.chat);
        if (c) addLine(c, m);
        break;
      }
      case 'chat_ended': {
        const c = st.chats.get(m.chat);
        if (c && !c.ended) ended(c, m.outcome);
        break;
      }
      case 'chat_disabled':
        st.wanted = false; // the tenant has no chat: stay hidden, stop asking
        return;
      case 'chat_state':
        st.taking = m.taking; st.agentState = m.state;
        break;
      case 'error':
        showError(String(m.message || 'error'));
        return;
    }
    renderStatus();
  }

  function connect() {
    if (!st.wanted || (st.ws && st.ws.readyState <= 1)) return;
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/v1/chat/agent/ws`);
    st.ws = ws;
    ws.onopen = () => { st.retries = 0; renderStatus(); };
    ws.onmessage = (ev) => { try { handle(JSON.parse(ev.data)); } catch (e) { console.error('chat message', e); } };
    ws.onclose = (ev) => {
      if (st.ws !== ws) return;
      // Our chats went back to the queue when the socket dropped.
      for (const c of st.chats.values()) if (!c.ended) ended(c, 'requeued');
      renderStatus();
      if (ev.code === 1008 || !st.wanted) return; // taken over, or chat not enabled
      st.timer = setTimeout(connect, Math.min(30000, 1000 * 2 ** st.retries++));
    };
  }

  return {
    show() {
      st.wanted = true;
      connect();
      renderStatus();
    },
    hide() {
      st.wanted = false;
      clearTimeout(st.timer);
      if (st.ws) st.ws.close();
      st.ws = null;
      root.hidden = true;
      for (const c of [...st.chats.values()]) dismiss(c);
    },
  };
}
