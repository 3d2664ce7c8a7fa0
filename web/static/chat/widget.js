// Hotline web chat widget. A company embeds it in its own page:
//
//   <script src="https://hotline.example/chat/widget.js" data-tenant="demo" data-queue="cards"></script>
//
// It adds a chat button and panel to the page and talks to Hotline over a
// WebSocket (/chat/ws, docs/chat.md). Self-contained, no build step, no
// globals but window.hotlineChat (state, for tests), styles set through
// element.style so a host page's CSP that forbids inline <style> does not
// break it. Every text from the chat (the visitor's, the bot's, the
// agent's) goes into the page with textContent, never as HTML.
(function () {
  'use strict';
  const script = document.currentScript;
  if (!script || window.hotlineChat) return;
  const tenant = script.dataset.tenant || '';
  const queue = script.dataset.queue || '';
  const MAX = 4000;
  const server = new URL(script.src, location.href);
  const wsURL = (server.protocol === 'https:' ? 'wss:' : 'ws:') + '//' + server.host + '/chat/ws?tenant=' +
    encodeURIComponent(tenant) + (queue ? '&queue=' + encodeURIComponent(queue) : '');

  const state = { chat: '', open: false, ended: false, lines: [], errors: [], ws: null, position: 0, agent: '', lastSent: 0 };
  window.hotlineChat = state;
  // sendFrame sends one message, remembering its size (see onclose).
  function sendFrame(m) {
    const data = JSON.stringify(m);
    state.lastSent = data.length;
    state.ws.send(data);
  }
  state.send = sendFrame;

  function el(tag, props, style, children) {
    const e = document.createElement(tag);
    Object.assign(e, props || {});
    Object.assign(e.style, style || {});
    for (const c of children || []) e.append(c);
    return e;
  }

  const font = { fontFamily: 'system-ui, sans-serif', fontSize: '15px', lineHeight: '1.4' };
  const btnStyle = { ...font, border: '0', borderRadius: '6px', padding: '8px 14px', cursor: 'pointer', background: '#1f5fbf', color: '#fff' };

  const launcher = el('button', { type: 'button', id: 'hotline-chat-button', textContent: 'Chat with us' },
    { ...btnStyle, position: 'fixed', right: '20px', bottom: '20px', zIndex: '2147483000', borderRadius: '24px', padding: '12px 20px', boxShadow: '0 2px 8px rgba(0,0,0,.25)' });
  const title = el('strong', { textContent: 'Chat' });
  const closeBtn = el('button', { type: 'button', textContent: '×', title: 'Close the chat' }, { ...btnStyle, background: 'transparent', color: '#fff', fontSize: '20px', padding: '0 6px' });
  closeBtn.setAttribute('aria-label', 'Close the chat');
  const head = el('div', {}, { display: 'flex', justifyContent: 'space-between', alignItems: 'center', background: '#1f5fbf', color: '#fff', padding: '8px 12px' }, [title, closeBtn]);
  const log = el('div', { id: 'hotline-chat-log' }, { flex: '1', overflowY: 'auto', padding: '10px', background: '#f6f7f9', display: 'flex', flexDirection: 'column', gap: '8px' });
  log.setAttribute('role', 'log');
  log.setAttribute('aria-live', 'polite');
  const status = el('p', { id: 'hotline-chat-status' }, { margin: '0', padding: '4px 12px', color: '#555', fontSize: '13px' });
  status.setAttribute('role', 'status');
  const error = el('p', { id: 'hotline-chat-error' }, { margin: '0', padding: '0 12px', color: '#a40e26', fontSize: '13px' });
  error.setAttribute('role', 'alert');
  const person = el('button', { type: 'button', id: 'hotline-chat-person', textContent: 'Talk to a person', hidden: true }, { ...btnStyle, margin: '0 12px 6px', background: '#2e7d32' });
  const input = el('textarea', { id: 'hotline-chat-input', rows: 2, placeholder: 'Type your message…' }, { ...font, flex: '1', resize: 'none', padding: '6px', border: '1px solid #bbb', borderRadius: '6px' });
  input.setAttribute('aria-label', 'Your message');
  const send = el('button', { type: 'submit', id: 'hotline-chat-send', textContent: 'Send' }, btnStyle);
  const form = el('form', {}, { display: 'flex', gap: '6px', padding: '8px 12px', borderTop: '1px solid #ddd' }, [input, send]);
  const panel = el('section', { id: 'hotline-chat-panel', hidden: true },
    { ...font, position: 'fixed', right: '20px', bottom: '80px', width: '340px', height: '460px', maxHeight: '80vh', zIndex: '2147483000',
      background: '#fff', color: '#111', border: '1px solid #ccc', borderRadius: '10px', boxShadow: '0 4px 16px rgba(0,0,0,.2)', overflow: 'hidden',
      flexDirection: 'column' },
    [head, log, status, error, person, form]);
  panel.setAttribute('aria-label', 'Chat');

  function show(open) {
    state.open = open;
    panel.hidden = !open;
    panel.style.display = open ? 'flex' : 'none';
    if (open) input.focus();
  }

  const SENDERS = { visitor: 'You', bot: 'Assistant', system: '', agent: 'Agent' };
  // line adds one message to the log: text only, never markup.
  function line(sender, text, extra) {
    extra = extra || {};
    const mine = sender === 'visitor';
    const who = sender === 'agent' && extra.agent ? extra.agent : SENDERS[sender];
    const bubble = el('div', { className: 'hotline-chat-line hotline-chat-' + sender }, {
      alignSelf: mine ? 'flex-end' : (sender === 'system' ? 'center' : 'flex-start'), maxWidth: '85%',
      background: mine ? '#dbe8ff' : (sender === 'system' ? 'transparent' : '#fff'), color: sender === 'system' ? '#555' : '#111',
      border: sender === 'system' ? '0' : '1px solid #ddd', borderRadius: '8px', padding: '6px 9px',
      whiteSpace: 'pre-wrap', overflowWrap: 'anywhere', fontSize: sender === 'system' ? '13px' : '15px',
    });
    bubble.dataset.sender = sender;
    if (who) bubble.append(el('div', { textContent: who }, { fontSize: '12px', color: '#666' }));
    if (extra.title) {
      bubble.append(el('div', { className: 'hotline-chat-title', textContent: extra.title }, { fontWeight: '700' }));
      text = text.startsWith(extra.title + '\n') ? text.slice(extra.title.length + 1) : text;
    }
    bubble.append(el('div', { className: 'hotline-chat-text', textContent: text }));
    log.append(bubble);
    log.scrollTop = log.scrollHeight;
    state.lines.push({ sender: sender, text: text, title: extra.title || '' });
  }

  function showError(msg) {
    error.textContent = msg;
    state.errors.push(msg);
  }

  function connect() {
    if (state.ws && state.ws.readyState <= 1) return;
    state.ended = false;
    status.textContent = 'Connecting…';
    const ws = new WebSocket(wsURL);
    state.ws = ws;
    ws.onopen = function () { status.textContent = ''; };
    ws.onmessage = function (ev) {
      let m;
      try { m = JSON.parse(ev.data); } catch (e) { return; }
      switch (m.type) {
        case 'welcome':
          state.chat = m.chat;
          break;
        case 'message':
          line(m.sender, String(m.text || ''), m);
          if (m.offer_person && !state.agent && state.position === 0) person.hidden = false;
          if (m.sender === 'system' && m.position) { state.position = m.position; person.hidden = true; }
          if (m.joined) { state.agent = m.agent || 'An agent'; state.position = 0; person.hidden = true; status.textContent = state.agent + ' is chatting with you.'; }
          break;
        case 'queued':
          state.position = m.position;
          status.textContent = 'You are number ' + m.position + ' in line.';
          break;
        case 'ended':
          state.ended = true;
          person.hidden = true;
          status.textContent = 'The chat has ended.';
          break;
        case 'error':
          showError(String(m.message || 'error'));
          break;
      }
    };
    ws.onclose = function (ev) {
      // 1009 is the server refusing a frame over its limit; a browser
      // still sending that frame may see the connection drop instead.
      if (ev.code === 1009 || state.lastSent > 6 * MAX) showError('Your message was too long for the chat (at most ' + MAX + ' characters); the chat was closed.');
      else if (!state.ended) showError('The chat was disconnected' + (ev.reason ? ': ' + ev.reason : '') + '.');
      state.ended = true;
      state.chat = '';
      state.agent = '';
      state.position = 0;
      send.textContent = 'Send';
    };
  }

  function chars(text) {
    // Code points, as the server counts; cheap for very long text.
    return text.length > 2 * MAX ? text.length : Array.from(text).length;
  }

  form.addEventListener('submit', function (e) {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    const n = chars(text);
    if (n > MAX) {
      showError('Your message is ' + n + ' characters long; the limit is ' + MAX + '. Please shorten it.');
      return;
    }
    if (!state.ws || state.ws.readyState !== 1) {
      connect();
      showError('Reconnecting; send again in a moment.');
      return;
    }
    error.textContent = '';
    sendFrame({ type: 'message', text: text });
    line('visitor', text);
    input.value = '';
  });
  input.addEventListener('keydown', function (e) {
    if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
  });
  person.addEventListener('click', function () {
    if (state.ws && state.ws.readyState === 1) sendFrame({ type: 'person' });
    person.hidden = true;
  });
  launcher.addEventListener('click', function () {
    show(!state.open);
    if (state.open) connect();
  });
  closeBtn.addEventListener('click', function () { show(false); });

  function mount() {
    document.body.append(launcher, panel);
  }
  if (document.body) mount(); else document.addEventListener('DOMContentLoaded', mount);
})();
