// Hotline tickets on the agent page: a list with filters, a "Create
// ticket" form (prefilled from the call on the line or being wrapped up),
// and a ticket view with its comments, history and status changes.
// REST API: /api/v1/tickets (docs/tickets.md).
//
// Every piece of ticket text comes from users (and, through the customer
// number, from callers), so it is only ever put in the page with
// textContent or as a form value: never innerHTML.

import { $, el } from './common.js';

const PRIORITIES = ['low', 'normal', 'high', 'urgent'];
const STATUSES = ['new', 'open', 'pending', 'resolved', 'closed'];

// labelled puts a label before its control. Not a wrapping <label>: its
// text would then include a <select>'s options, and "Resolved" would name
// the status selects as well as the wrap-up's disposition.
function labelled(text, control) {
  return el('div', { className: 'field' }, [el('label', { htmlFor: control.id, textContent: text }), control]);
}

function options(select, values, first) {
  const opts = [];
  if (first) opts.push(el('option', { value: first[0], textContent: first[1] }));
  for (const v of values) opts.push(el('option', { value: v, textContent: v }));
  select.replaceChildren(...opts);
  return select;
}

function fmtTime(s) {
  if (!s) return '—';
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? String(s) : d.toLocaleString();
}

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: body ? { 'Content-Type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  let data = null;
  try { data = await res.json(); } catch { /* empty body */ }
  return { ok: res.ok, status: res.status, data };
}

// initTickets builds the tickets section inside #tickets. ctx.call()
// returns the call on the line or being wrapped up ({id, caller}) or null.
export function initTickets(ctx) {
  const root = $('tickets');
  const state = {
    loads: 0, views: 0, current: null, lastError: '', lastStatus: 0, list: [],
  };

  // ---- the section ----
  const status = el('p', { id: 'tickets-status', className: 'muted small' }, [], { role: 'status', 'aria-live': 'polite' });

  const fShow = options(el('select', { id: 'tf-show' }), []);
  fShow.append(
    el('option', { value: 'active', textContent: 'Open tickets' }),
    el('option', { value: 'mine', textContent: 'Assigned to me' }),
    el('option', { value: 'unassigned', textContent: 'Unassigned' }),
    el('option', { value: 'all', textContent: 'All tickets' }),
  );
  const fStatus = options(el('select', { id: 'tf-status' }), STATUSES, ['', 'any']);
  const fPriority = options(el('select', { id: 'tf-priority' }), PRIORITIES, ['', 'any']);
  const fQuery = el('input', { id: 'tf-q', type: 'search', placeholder: 'text, T-1001…', maxLength: 200 });
  const fCustomer = el('input', { id: 'tf-customer', type: 'search', placeholder: 'number' });
  const fOverdue = el('input', { id: 'tf-overdue', type: 'checkbox' });
  const filters = el('form', { id: 'tickets-filters', className: 'ticket-filters' }, [
    labelled('Show', fShow), labelled('Status', fStatus), labelled('Priority', fPriority),
    labelled('Search', fQuery), labelled('Customer', fCustomer),
    el('label', { className: 'check' }, [fOverdue, ' Overdue only']),
    el('button', { type: 'submit', textContent: 'Filter' }),
  ]);

  const tbody = el('tbody');
  const table = el('table', { id: 'tickets-table', className: 'ticket-table' }, [
    el('thead', {}, [el('tr', {}, ['Ticket', 'Subject', 'Priority', 'Status', 'Assignee', 'Due'].map((h) => el('th', { textContent: h }, [], { scope: 'col' })))]),
    tbody,
  ]);
  const empty = el('p', { id: 'tickets-empty', className: 'muted', textContent: 'No tickets match.' });
  const more = el('button', { id: 'tickets-more', type: 'button', textContent: 'More', className: 'link' });

  // Create form.
  const cSubject = el('input', { id: 'tc-subject', required: true, maxLength: 200 });
  const cDesc = el('textarea', { id: 'tc-description', rows: 4, maxLength: 10000 });
  const cCategory = el('input', { id: 'tc-category', maxLength: 100 });
  const cPriority = options(el('select', { id: 'tc-priority' }), PRIORITIES);
  const cCustomer = el('input', { id: 'tc-customer', maxLength: 64 });
  const cAssignee = el('input', { id: 'tc-assignee', placeholder: 'username (empty: nobody)' }, [], { list: 'ticket-users' });
  const cTeam = el('input', { id: 'tc-team', maxLength: 64, placeholder: 'e.g. cards' });
  const cCall = el('p', { id: 'tc-call', className: 'muted small' });
  const cError = el('p', { id: 'tc-error', className: 'form-error' }, [], { role: 'alert' });
  const users = el('datalist', { id: 'ticket-users' });
  const create = el('form', { id: 'ticket-create', className: 'ticket-create', hidden: true }, [
    el('h3', { textContent: 'Create ticket' }),
    labelled('Subject', cSubject), labelled('Description', cDesc),
    el('div', { className: 'ticket-row' }, [labelled('Category', cCategory), labelled('Priority', cPriority), labelled('Customer number', cCustomer)]),
    el('div', { className: 'ticket-row' }, [labelled('Assign to', cAssignee), labelled('Team', cTeam)]),
    cCall, cError,
    el('div', { className: 'actions' }, [
      el('button', { type: 'submit', className: 'primary', textContent: 'Create' }),
      el('button', { type: 'button', id: 'tc-cancel', textContent: 'Cancel' }),
    ]),
  ]);
  cPriority.value = 'normal';
  let createCall = null;
  let createChat = null;

  // Ticket view.
  const vTitle = el('h3', { id: 'tv-title' });
  const vFacts = el('dl', { id: 'tv-facts', className: 'facts' });
  const vDesc = el('p', { id: 'tv-description', className: 'ticket-desc' });
  const vCall = el('p', { id: 'tv-call', className: 'small' });
  // The linked chat's transcript, fetched when first opened.
  const vChatSummary = el('summary', { id: 'tv-chat-summary', textContent: 'Chat transcript' });
  const vChatLog = el('ol', { id: 'tv-chat-log', className: 'ticket-chat-log small' });
  const vChat = el('details', { id: 'tv-chat', className: 'ticket-chat', hidden: true }, [vChatSummary, vChatLog]);
  const vNote = el('p', { id: 'tv-note', className: 'muted small' });
  const uStatus = options(el('select', { id: 'tu-status' }), STATUSES);
  const uPriority = options(el('select', { id: 'tu-priority' }), PRIORITIES);
  const uAssignee = el('input', { id: 'tu-assignee', placeholder: 'username (empty: nobody)' }, [], { list: 'ticket-users' });
  const update = el('form', { id: 'ticket-update', className: 'ticket-row' }, [
    labelled('Set status', uStatus), labelled('Set priority', uPriority), labelled('Assign to', uAssignee),
    el('button', { type: 'submit', className: 'primary', textContent: 'Save changes' }),
  ]);
  const vComments = el('ul', { id: 'tv-comments', className: 'ticket-comments' });
  const kBody = el('textarea', { id: 'tk-body', rows: 3, maxLength: 10000 });
  const kInternal = el('input', { id: 'tk-internal', type: 'checkbox' });
  const comment = el('form', { id: 'ticket-comment' }, [
    labelled('Comment', kBody),
    el('label', { className: 'check' }, [kInternal, ' Internal (staff only)']),
    el('button', { type: 'submit', textContent: 'Add comment' }),
  ]);
  const vHistory = el('ol', { id: 'tv-history', className: 'ticket-history small' });
  const view = el('article', { id: 'ticket-view', className: 'ticket-view', hidden: true }, [
    el('div', { className: 'ticket-view-head' }, [vTitle, el('button', { type: 'button', id: 'tv-close', className: 'link', textContent: 'Back to the list' })]),
    vFacts, vDesc, vCall, vChat, vNote, update,
    el('h4', { textContent: 'Comments' }), vComments, comment,
    el('details', {}, [el('summary', { textContent: 'History' }), vHistory]),
  ]);

  const listWrap = el('div', { id: 'tickets-list' }, [filters, table, empty, more]);
  root.replaceChildren(
    el('div', { className: 'ticket-view-head' }, [
      el('h2', { id: 'tickets-title', textContent: 'Tickets' }),
      el('button', { type: 'button', id: 'ticket-new', textContent: 'New ticket' }),
    ]),
    status, create, view, listWrap, users,
  );

  function say(msg) { status.textContent = msg || ''; }

  // ---- list ----
  let offset = 0;
  function query() {
    const p = new URLSearchParams();
    switch (fShow.value) {
      case 'mine': p.set('mine', 'true'); break;
      case 'unassigned': p.set('assignee', 'none'); break;
      case 'active': if (!fStatus.value) p.set('status', 'active'); break;
      default: break;
    }
    if (fStatus.value) p.set('status', fStatus.value);
    if (fPriority.value) p.set('priority', fPriority.value);
    if (fQuery.value.trim()) p.set('q', fQuery.value.trim());
    if (fCustomer.value.trim()) p.set('customer', fCustomer.value.trim());
    if (fOverdue.checked) p.set('overdue', 'true');
    return p;
  }

  async function loadList(append = false) {
    if (!append) offset = 0;
    const p = query();
    p.set('limit', '25');
    p.set('offset', String(offset));
    const r = await api('GET', `/api/v1/tickets?${p}`);
    state.lastStatus = r.status;
    if (!r.ok) {
      state.lastError = (r.data && r.data.error) || `HTTP ${r.status}`;
      say(`Tickets: ${state.lastError}`);
      return;
    }
    const rows = r.data.tickets || [];
    state.list = append ? state.list.concat(rows) : rows;
    offset = state.list.length;
    tbody.replaceChildren(...state.list.map(row));
    table.hidden = state.list.length === 0;
    empty.hidden = state.list.length > 0;
    more.hidden = state.list.length >= r.data.total;
    say(`${r.data.total} ticket${r.data.total === 1 ? '' : 's'}`);
    state.loads++;
  }

  function row(t) {
    const open = el('button', { type: 'button', className: 'link', textContent: t.ref }, [], { 'aria-label': `Open ticket ${t.ref}` });
    open.addEventListener('click', () => openTicket(t.id));
    const due = el('td', { textContent: fmtTime(t.due_at) });
    if (t.overdue) due.append(' ', el('span', { className: 'pill overdue', textContent: 'overdue' }));
    return el('tr', {}, [
      el('td', {}, [open]),
      el('td', { className: 'ticket-subject', textContent: t.subject }),
      el('td', {}, [el('span', { className: `prio prio-${t.priority}`, textContent: t.priority })]),
      el('td', { textContent: t.status }),
      el('td', { textContent: t.assignee_name || t.assignee || (t.team ? `team ${t.team}` : '—') }),
      due,
    ], { 'data-id': t.id, 'data-ref': t.ref });
  }

  filters.addEventListener('submit', (e) => { e.preventDefault(); loadList(); });
  more.addEventListener('click', () => loadList(true));

  // ---- create ----
  // openCreate opens the form, prefilled from a call ({id, caller}) or,
  // when chat is given, from a chat ({id, visitor, channel, subject,
  // description}) instead.
  function openCreate(call, chat) {
    createChat = chat && chat.id ? chat : null;
    createCall = !createChat && call && call.id ? call : null;
    create.reset();
    cPriority.value = 'normal';
    cError.textContent = '';
    cCustomer.value = createCall && createCall.caller && createCall.caller !== 'unknown' ? createCall.caller : '';
    cCall.textContent = createCall ? `Linked to the call with ${createCall.caller || 'the caller'} (${createCall.id})` : '';
    cCall.dataset.call = createCall ? createCall.id : '';
    cCall.dataset.chat = createChat ? createChat.id : '';
    if (createChat) {
      cSubject.value = String(createChat.subject || '').slice(0, 200);
      cDesc.value = String(createChat.description || '').slice(0, 10000);
      cCustomer.value = String(createChat.visitor || '').slice(0, 64);
      const via = createChat.channel && createChat.channel !== 'web' ? ` on ${createChat.channel}` : '';
      cCall.textContent = `Linked to the chat with ${createChat.visitor || 'the visitor'}${via} (${createChat.id})`;
    }
    view.hidden = true;
    create.hidden = false;
    create.scrollIntoView({ block: 'nearest' });
    cSubject.focus();
  }

  $('ticket-new')?.addEventListener('click', () => openCreate(ctx.call()));
  for (const id of ['ticket-from-call', 'ticket-from-wrap']) {
    $(id)?.addEventListener('click', () => openCreate(ctx.call()));
  }
  $('tc-cancel').addEventListener('click', () => { create.hidden = true; });

  create.addEventListener('submit', async (e) => {
    e.preventDefault();
    cError.textContent = '';
    const body = {
      subject: cSubject.value, description: cDesc.value, category: cCategory.value, priority: cPriority.value,
      customer_number: cCustomer.value, assignee: cAssignee.value.trim(), team: cTeam.value,
    };
    if (createCall) body.call_id = createCall.id;
    if (createChat) body.chat_id = createChat.id;
    const r = await api('POST', '/api/v1/tickets', body);
    state.lastStatus = r.status;
    if (!r.ok) {
      cError.textContent = (r.data && r.data.error) || `Could not create the ticket (${r.status})`;
      state.lastError = cError.textContent;
      return;
    }
    create.hidden = true;
    say(`Created ${r.data.ticket.ref}.`);
    await loadList();
    await openTicket(r.data.ticket.id);
  });

  // ---- view ----
  function fact(name, value, extra) {
    const dd = el('dd', { textContent: value || '—' });
    if (extra) dd.append(' ', extra);
    return [el('dt', { textContent: name }), dd];
  }

  async function openTicket(id) {
    const r = await api('GET', `/api/v1/tickets/${encodeURIComponent(id)}`);
    state.lastStatus = r.status;
    if (!r.ok) {
      state.current = null;
      view.hidden = true;
      state.lastError = (r.data && r.data.error) || `HTTP ${r.status}`;
      say(r.status === 404 ? 'No such ticket.' : `Ticket: ${state.lastError}`);
      return;
    }
    showTicket(r.data);
  }

  function showTicket(d) {
    const t = d.ticket;
    state.current = d;
    create.hidden = true;
    view.hidden = false;
    vTitle.textContent = `${t.ref} · ${t.subject}`;
    const overdue = t.overdue ? el('span', { className: 'pill overdue', textContent: 'overdue' }) : null;
    vFacts.replaceChildren(
      ...fact('Status', t.status), ...fact('Priority', t.priority),
      ...fact('Assignee', t.assignee_name || t.assignee), ...fact('Team', t.team),
      // A chat's customer is the visitor's name: no number to call back.
      ...fact('Customer', t.customer_number, /^\+?[\d\s().-]{3,}$/.test(t.customer_number) && ctx.callButton ? ctx.callButton(t.customer_number) : null),
      ...fact('Category', t.category),
      ...fact('Due', fmtTime(t.due_at), overdue), ...fact('Created', `${fmtTime(t.created_at)} by ${t.created_by || 'someone'}`),
      ...(t.resolved_at ? fact('Resolved', fmtTime(t.resolved_at)) : []),
    );
    vDesc.textContent = t.description || '';
    vDesc.hidden = !t.description;
    vCall.replaceChildren();
    if (d.call) {
      vCall.append(`Call from ${d.call.from_number || 'unknown'} on ${fmtTime(d.call.started_at)}`);
    } else if (t.call_id) {
      vCall.append(`Linked call ${t.call_id}`);
    }
    if (d.recording) {
      // A server-made path with the call's UUID, not user text.
      vCall.append(' · ', el('a', { href: d.recording.url, textContent: 'Play recording', target: '_blank', rel: 'noopener' }));
    }
    vCall.hidden = !vCall.childNodes.length;
    showChat(d, t);
    const can = d.permissions && d.permissions.change;
    vNote.textContent = can ? '' : 'Assigned to someone else: only they or a supervisor can change it or comment.';
    for (const f of [update, comment]) {
      for (const c of f.elements) c.disabled = !can;
    }
    uStatus.value = t.status;
    uPriority.value = t.priority;
    uAssignee.value = t.assignee || '';
    vComments.replaceChildren(...(d.comments || []).map((c) => el('li', { className: c.internal ? 'internal' : '' }, [
      el('p', { className: 'muted small', textContent: `${c.author_name || c.author || 'someone'} · ${fmtTime(c.created_at)}${c.internal ? ' · internal note' : ''}` }),
      el('p', { className: 'ticket-comment-body', textContent: c.body }),
    ])));
    if (!vComments.children.length) vComments.append(el('li', { className: 'muted', textContent: 'No comments yet.' }));
    vHistory.replaceChildren(...(d.events || []).map((e) => el('li', { textContent: describeEvent(e) })));
    state.views++;
  }

  function showChat(d, t) {
    vChat.open = false;
    vChatLog.replaceChildren();
    vChat.dataset.loaded = '';
    vChat.hidden = !t.chat_id;
    if (!t.chat_id) return;
    const c = d.chat;
    vChatSummary.textContent = c
      ? `Chat transcript: ${c.visitor || 'visitor'}${c.channel && c.channel !== 'web' ? ' on ' + c.channel : ''}, ${fmtTime(c.started_at)}, ${c.messages} message${c.messages === 1 ? '' : 's'}`
      : `Chat transcript (chat ${t.chat_id} is gone)`;
    vChat.dataset.url = c ? c.url : '';
  }

  // The transcript is read on first opening: a ticket is mostly viewed
  // without it.
  vChat.addEventListener('toggle', async () => {
    if (!vChat.open || vChat.dataset.loaded || !vChat.dataset.url) return;
    vChat.dataset.loaded = 'loading';
    const r = await api('GET', vChat.dataset.url);
    if (!r.ok) {
      vChat.dataset.loaded = '';
      vChatLog.replaceChildren(el('li', { className: 'muted', textContent: r.status === 404
        ? 'Only the agent who had the chat, or a supervisor, can read it.' : `Could not load the chat (${r.status}).` }));
      return;
    }
    vChatLog.replaceChildren(...(r.data.messages || []).map((m) => el('li', { className: `chat-${m.sender}` }, [
      el('span', { className: 'muted', textContent: `${fmtTime(m.at)} ${m.sender}: ` }),
      el('span', { textContent: m.body }),
    ])));
    if (!vChatLog.children.length) vChatLog.append(el('li', { className: 'muted', textContent: 'No messages.' }));
    vChat.dataset.loaded = 'yes';
  });

  function describeEvent(e) {
    const who = e.actor || 'someone';
    const when = fmtTime(e.at);
    switch (e.action) {
      case 'create': return `${when} ${who} created ${e.new}`;
      case 'comment': return `${when} ${who} added ${e.old === 'internal' ? 'an internal note' : 'a comment'}`;
      default: return `${when} ${who} changed ${e.field}: ${e.old || '—'} → ${e.new || '—'}`;
    }
  }

  $('tv-close').addEventListener('click', () => {
    view.hidden = true;
    state.current = null;
    if (location.hash.startsWith('#ticket/')) history.replaceState(null, '', '#tickets');
  });

  update.addEventListener('submit', async (e) => {
    e.preventDefault();
    const t = state.current && state.current.ticket;
    if (!t) return;
    const body = {};
    if (uStatus.value !== t.status) body.status = uStatus.value;
    if (uPriority.value !== t.priority) body.priority = uPriority.value;
    if (uAssignee.value.trim() !== (t.assignee || '')) body.assignee = uAssignee.value.trim();
    if (!Object.keys(body).length) { say('Nothing to change.'); return; }
    const r = await api('PATCH', `/api/v1/tickets/${t.id}`, body);
    state.lastStatus = r.status;
    if (!r.ok) {
      state.lastError = (r.data && r.data.error) || `HTTP ${r.status}`;
      say(`Not saved: ${state.lastError}`);
      return;
    }
    say(`Saved ${r.data.ticket.ref}.`);
    await openTicket(t.id);
    loadList();
  });

  comment.addEventListener('submit', async (e) => {
    e.preventDefault();
    const t = state.current && state.current.ticket;
    if (!t) return;
    const r = await api('POST', `/api/v1/tickets/${t.id}/comments`, { body: kBody.value, internal: kInternal.checked });
    state.lastStatus = r.status;
    if (!r.ok) {
      state.lastError = (r.data && r.data.error) || `HTTP ${r.status}`;
      say(`Comment not added: ${state.lastError}`);
      return;
    }
    comment.reset();
    say('Comment added.');
    await openTicket(t.id);
  });

  async function loadUsers() {
    const r = await api('GET', '/api/v1/agents');
    if (!r.ok || !r.data) return;
    users.replaceChildren(...(r.data.agents || []).map((a) => el('option', { value: a.username, label: a.display_name || a.username })));
  }

  // #tickets shows the section, #ticket/<id or ref> opens a ticket.
  function route() {
    if (root.hidden) return;
    const h = decodeURIComponent(location.hash || '');
    if (h.startsWith('#ticket/')) {
      openTicket(h.slice('#ticket/'.length));
      root.scrollIntoView({ block: 'start' });
    } else if (h === '#tickets') {
      root.scrollIntoView({ block: 'start' });
    }
  }
  window.addEventListener('hashchange', route);

  window.hotlineTickets = {
    get loads() { return state.loads; },
    get views() { return state.views; },
    get current() { return state.current ? { ...state.current.ticket } : null; },
    get lastError() { return state.lastError; },
    get lastStatus() { return state.lastStatus; },
    open: openTicket,
    reload: () => loadList(),
    // What the call and wrap-up panels' "Create ticket" buttons do, for
    // tests that have no call on the line.
    createFrom: (call) => openCreate(call),
    // What a chat tab's "Create ticket" button does (chat-agent.js):
    // {id, visitor, channel, subject, description}.
    createFromChat: (chat) => openCreate(null, chat),
  };

  return {
    show() {
      root.hidden = false;
      loadUsers();
      loadList().then(route);
    },
    hide() {
      root.hidden = true;
      view.hidden = true;
      create.hidden = true;
      state.current = null;
      tbody.replaceChildren();
    },
    render() {
      const c = ctx.call();
      for (const id of ['ticket-from-call', 'ticket-from-wrap']) {
        const b = $(id);
        if (b) b.disabled = !c;
      }
    },
  };
}
