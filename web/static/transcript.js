// Hotline live transcript panel: the lines of the call in progress, caller
// and agent apart, as the server pushes them in "transcript" messages
// ({call, lines: [{side, text, start_ms, end_ms, at, agent_id, agent}],
// replay}) on the agent WebSocket, and on the wallboard socket to a
// supervisor monitoring the call (docs/agent-protocol.md). Lines with
// replay: true were said before this listener joined (before a transfer,
// or before the supervisor started monitoring) and sit under their own
// heading above the live ones.
//
// What callers and agents said is only ever put in the page with
// textContent, never innerHTML.

import { $, el, mmss } from './common.js';

// createTranscriptPanel builds a panel inside root. labels: title, you
// (the agent side's live lines on the agent page; empty on the wallboard,
// where each line is named after its agent), replay (the earlier lines'
// heading). me() is the signed-in user ({id, username}), nameOf(line) the
// name an agent line is labelled with when it is not "you", and
// textOf(text) the nodes a line's text shows as (reports mark the words
// searched for).
export function createTranscriptPanel(root, {
  title, you = '', replay = 'Earlier', heading = 'h2', me = () => null,
  nameOf = (l) => l.agent || 'Agent', textOf = (text) => [text],
}) {
  // state is what tests read: lines in display order (earlier lines
  // first, then the live ones, each by start_ms).
  const state = { call: null, lines: [], pushes: 0, status: '' };
  const prefix = root.id;
  const note = el('p', { className: 'tr-note muted small', hidden: true }, [], { role: 'status', 'aria-live': 'polite' });
  const earlierTitle = el('h3', { className: 'tr-sub', textContent: replay, hidden: true });
  const earlier = el('ol', { className: 'tr-lines tr-replay', hidden: true }, [], { 'aria-label': replay });
  const liveTitle = el('h3', { className: 'tr-sub', textContent: 'On this call', hidden: true });
  // role=log: assistive technology reads new lines as they come, politely.
  const live = el('ol', { className: 'tr-lines tr-live' }, [], { role: 'log', 'aria-label': title });
  const scroller = el('div', { className: 'tr-scroll', tabIndex: 0 }, [earlierTitle, earlier, liveTitle, live]);
  root.replaceChildren(el(heading, { id: `${prefix}-title`, textContent: title }), note, scroller);
  root.setAttribute('aria-labelledby', `${prefix}-title`);
  root.hidden = true;
  const seen = new Set();
  // pinned: the panel belongs to the call callStarted named, and lines of
  // any other call (a late one of the previous call) are not shown.
  let pinned = false;

  function reset(call) {
    state.call = call || null;
    state.lines = [];
    state.status = '';
    seen.clear();
    earlier.replaceChildren();
    live.replaceChildren();
    note.textContent = '';
    note.hidden = true;
    layout();
  }

  function layout() {
    const hasEarlier = earlier.children.length > 0;
    earlier.hidden = !hasEarlier;
    earlierTitle.hidden = !hasEarlier;
    // The live lines get a heading only when there is something above
    // them to tell them from.
    liveTitle.hidden = !hasEarlier || live.children.length === 0;
  }

  function who(l, replayed) {
    if (l.side === 'caller') return 'Caller';
    if (you) {
      // On the agent page the live agent lines are the agent's own unless
      // they name someone else; an earlier one is theirs too when the
      // call comes back to them.
      const mine = me() || {};
      const same = (l.agent_id && l.agent_id === mine.id) || (l.agent && l.agent === mine.username);
      const other = l.agent_id ? (mine.id && l.agent_id !== mine.id) : (l.agent && mine.username && l.agent !== mine.username);
      if (replayed ? same : !other) return you;
    }
    return nameOf(l) || 'Agent';
  }

  function add(l, replayed) {
    const side = l.side === 'agent' ? 'agent' : 'caller';
    const text = String(l.text || '');
    const start = Math.max(0, Number(l.start_ms) || 0);
    const key = `${side}|${start}|${text}`;
    // A line arrives once live, but a replay after a reconnect may carry
    // it again.
    if (!text.trim() || seen.has(key)) return;
    seen.add(key);
    const label = who(l, replayed);
    const entry = {
      call: state.call, side, text, start_ms: start, end_ms: Number(l.end_ms) || start,
      at: l.at || '', agent: l.agent || '', agent_id: l.agent_id || '', replay: replayed, label,
    };
    const li = el('li', { className: `tr-line tr-${side}` }, [
      el('span', { className: 'tr-who', textContent: label }),
      el('time', { className: 'tr-time mono', textContent: mmss(start), dateTime: entry.at }, [], { 'aria-label': `at ${mmss(start)}` }),
      el('p', { className: 'tr-text' }, textOf(text)),
    ], { 'data-side': side, 'data-start': String(start) });
    if (l.at) li.title = new Date(l.at).toLocaleTimeString();
    // Sides are transcribed apart and may finish out of order: each line
    // goes where it was said, after lines that started at the same time.
    const list = replayed ? earlier : live;
    const after = [...list.children].find((c) => Number(c.dataset.start) > start);
    list.insertBefore(li, after || null);
    const lines = state.lines.filter((x) => x.replay === replayed);
    const at = lines.findIndex((x) => x.start_ms > start);
    if (at < 0) lines.push(entry); else lines.splice(at, 0, entry);
    state.lines = replayed ? [...lines, ...state.lines.filter((x) => !x.replay)] : [...state.lines.filter((x) => x.replay), ...lines];
  }

  const api = {
    state,
    // handle renders a "transcript" message; one for another call than
    // the panel's starts it afresh.
    handle(msg) {
      if (!msg || !msg.call || (pinned && msg.call !== state.call)) return;
      state.pushes++;
      if (msg.call !== state.call) reset(msg.call);
      // Kept at the bottom only if the reader was there: scrolling up to
      // read an earlier line is not undone by the next one.
      const atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 24;
      for (const l of Array.isArray(msg.lines) ? msg.lines : []) add(l, !!msg.replay);
      layout();
      root.hidden = false;
      if (atBottom) scroller.scrollTop = scroller.scrollHeight;
    },
    // status renders a "transcript_status" message (the transcript
    // stopped or never started; the call goes on).
    status(msg) {
      if (!msg || !msg.call || (pinned && msg.call !== state.call)) return;
      if (msg.call !== state.call) reset(msg.call);
      state.status = msg.state || '';
      note.textContent = msg.state === 'unavailable'
        ? `Live transcript unavailable${msg.message ? `: ${msg.message}` : ''}.`
        : (msg.message || '');
      note.hidden = !note.textContent;
      root.hidden = false;
    },
    // callStarted clears the panel for a new call; the same call (the
    // replay of a transfer may come before its media) keeps its lines.
    callStarted(call) {
      pinned = true;
      if (call === state.call) return;
      reset(call);
      root.hidden = true;
    },
    clear() { reset(null); pinned = false; root.hidden = true; },
    // say shows only a sentence for call (no transcript, an error).
    say(call, text) {
      reset(call);
      pinned = false;
      note.textContent = text;
      note.hidden = false;
      root.hidden = false;
    },
  };
  return api;
}

// initTranscript builds the agent page's panel in #transcript.
export function initTranscript({ me }) {
  const panel = createTranscriptPanel($('transcript'), { title: 'Transcript', you: 'You', replay: 'Before transfer', me });
  window.hotlineTranscript = Object.assign(panel.state, { handle: panel.handle, status: panel.status });
  return panel;
}
