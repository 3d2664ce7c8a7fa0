// Hotline supervisor wallboard: live queues and agents over
// /api/v1/wallboard/ws (a "board" message within a quarter second of any
// change). Plain ES module, no build.

import { Analyser } from './audio.js';
import { $, showError, mmss as fmt, signInShell } from './common.js';
import { createTranscriptPanel } from './transcript.js';
import { createChecklistPanel } from './checklist.js';

const STATE_LABELS = {
  available: 'Available', ringing: 'Ringing', on_call: 'On call', wrap_up: 'Wrap-up',
  break: 'Break', missed: 'Missed — away', offline: 'Offline',
};

const board = { ws: null, last: null, received: 0, retry: null };

// mon is the supervisor's monitoring of one call: listen, whisper (the
// agent hears you) or barge (everyone does), over a WebRTC leg the server
// offers on this socket.
const mon = { call: null, mode: null, live: false, pc: null, stream: null, remote: null, analyser: null };

// The monitored call's live transcript: the server sends it on this
// socket while monitoring, the lines said before as replay. It stays up
// after monitoring ends, until another call is monitored.
const transcript = createTranscriptPanel($('monitor-transcript'), {
  title: 'Transcript of the monitored call', replay: 'Before you joined',
  nameOf: (l) => {
    const a = board.last && board.last.agents.find((x) => x.username === l.agent || x.id === l.agent_id);
    return (a && (a.display_name || a.username)) || l.agent || 'Agent';
  },
});
window.hotlineWallboardTranscript = transcript.state;
// Its checklist, as the agent sees it (read-only here).
const checklist = createChecklistPanel($('monitor-checklist'));
window.hotlineWallboardChecklist = checklist.state;

const showLogin = signInShell({
  view: 'board-view',
  forbidden: 'The wallboard is for supervisors.',
  show: connect,
  signingOut() {
    const ws = board.ws;
    board.ws = null;
    if (ws) ws.close(1000, 'logout');
    transcript.clear();
    checklist.clear();
  },
});

function connect() {
  clearTimeout(board.retry);
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(`${proto}//${location.host}/api/v1/wallboard/ws`);
  board.ws = ws;
  $('conn').textContent = 'connecting…';
  ws.onopen = () => { $('conn').textContent = 'live'; $('conn').className = 'conn ok'; };
  ws.onmessage = (ev) => {
    const msg = JSON.parse(ev.data);
    switch (msg.type) {
      case 'board':
        board.last = msg;
        board.received++;
        break;
      case 'webrtc_offer':
        if (msg.monitor) answerMonitor(msg).catch((err) => showError(`Monitoring: ${err.message}`));
        break;
      case 'monitoring':
        mon.live = true;
        mon.mode = msg.mode;
        break;
      case 'checklist':
        if (msg.call === mon.call) checklist.handle(msg);
        break;
      case 'transcript':
        if (msg.call === mon.call) transcript.handle(msg);
        break;
      case 'transcript_status':
        if (msg.call === mon.call) transcript.status(msg);
        break;
      case 'monitor_ended':
        endMonitor();
        if (msg.reason && msg.reason !== 'stopped') showError(`Monitoring ended: ${msg.reason.replaceAll('-', ' ')}`);
        break;
      case 'error':
        showError(msg.message || 'The server refused a request.');
        break;
      default:
        break;
    }
    render();
  };
  ws.onclose = (ev) => {
    if (board.ws !== ws) return;
    $('conn').textContent = 'offline';
    $('conn').className = 'conn';
    if (ev.code === 1008) {
      showLogin(ev.reason || 'Signed out.');
      return;
    }
    board.retry = setTimeout(connect, 2000);
  };
}

function send(msg) {
  if (board.ws && board.ws.readyState === WebSocket.OPEN) board.ws.send(JSON.stringify(msg));
}

function monitor(call, mode) {
  if (mon.call === call) {
    send({ type: 'monitor_mode', mode });
    mon.mode = mode;
  } else {
    if (mon.call) send({ type: 'monitor_stop' });
    endMonitor();
    mon.call = call;
    mon.mode = mode;
    transcript.callStarted(call);
    checklist.callStarted(call);
    send({ type: 'monitor', call, mode });
  }
  render();
}

async function answerMonitor(msg) {
  const pc = new RTCPeerConnection({ iceServers: [] });
  mon.pc = pc;
  mon.remote = new MediaStream();
  pc.ontrack = (ev) => {
    mon.remote.addTrack(ev.track);
    const audio = $('monitor-audio');
    audio.srcObject = mon.remote;
    audio.play().catch(() => {});
  };
  await pc.setRemoteDescription({ type: 'offer', sdp: msg.sdp });
  // The microphone is taken at once, so whisper and barge need no new
  // negotiation; in listen mode the server does not use it.
  try {
    mon.stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    const [track] = mon.stream.getAudioTracks();
    const tr = pc.getTransceivers().find((t) => t.receiver.track.kind === 'audio');
    if (tr) {
      await tr.sender.replaceTrack(track);
      tr.direction = 'sendrecv';
    }
  } catch (err) {
    showError(`Microphone unavailable (${err.name}): you can listen, not speak.`);
  }
  const answer = await pc.createAnswer();
  await pc.setLocalDescription(answer);
  await new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    const t = setTimeout(resolve, 1500);
    pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') { clearTimeout(t); resolve(); } };
  });
  send({ type: 'webrtc_answer', sdp: pc.localDescription.sdp });
}

function endMonitor() {
  if (mon.analyser) mon.analyser.close();
  if (mon.pc) mon.pc.close();
  if (mon.stream) mon.stream.getTracks().forEach((t) => t.stop());
  $('monitor-audio').srcObject = null;
  Object.assign(mon, { call: null, mode: null, live: false, pc: null, stream: null, remote: null, analyser: null });
}

function monitorCell(a) {
  const td = document.createElement('td');
  if (!a.call) return td;
  for (const [mode, label] of [['listen', 'Listen'], ['whisper', 'Whisper'], ['barge', 'Barge']]) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = label;
    b.setAttribute('aria-label', `${label} to ${a.display_name || a.username}`);
    b.setAttribute('aria-pressed', String(mon.call === a.call && mon.mode === mode));
    b.addEventListener('click', () => monitor(a.call, mode));
    td.append(b);
  }
  if (mon.call === a.call) {
    const stop = document.createElement('button');
    stop.type = 'button';
    stop.textContent = 'Stop';
    stop.setAttribute('aria-label', `Stop monitoring ${a.display_name || a.username}`);
    stop.addEventListener('click', () => { send({ type: 'monitor_stop' }); endMonitor(); render(); });
    td.append(stop);
  }
  return td;
}

function pct(x) {
  return x == null ? '—' : `${Math.round(x * 100)}%`;
}

// counting is a cell showing the time since start (ms since the epoch;
// null: nothing to count), kept current by tick.
function counting(start, cls) {
  if (start == null) return cell(fmt(0), cls);
  const td = cell(fmt(Date.now() - start), cls);
  td.dataset.since = String(start);
  return td;
}

function cell(text, cls) {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

// slCell is the service level by the queue's formula, with the formula
// and threshold on hover.
function slCell(q) {
  const td = cell(pct(q.sl), q.sl != null && q.sl < 0.8 ? 'num alert' : 'num good');
  const formula = { answered: 'answered in time / answered', answered_abandoned: '(answered + abandoned in time) / (answered + abandoned)' }[q.sl_formula]
    || 'answered in time / (answered + abandoned − short abandons)';
  td.title = `${formula}; in time: within ${Math.round((q.sl_threshold_ms || 0) / 1000)} s`;
  return td;
}

function render() {
  const b = board.last;
  if (!b) return;
  const serverAge = Date.now() - Date.parse(b.at);
  const qrows = b.queues.map((q) => {
    const tr = document.createElement('tr');
    tr.dataset.queue = q.name;
    const busy = (q.agents.on_call || 0) + (q.agents.ringing || 0) + (q.agents.wrap_up || 0);
    tr.append(
      cell(q.name),
      cell(String(q.waiting), q.waiting > 0 ? 'num alert' : 'num'),
      counting(q.waiting ? Date.now() - serverAge - q.longest_wait_ms : null, 'num'),
      slCell(q),
      cell(String(q.answered), 'num'),
      cell(String(q.abandoned), q.abandoned ? 'num alert' : 'num'),
      cell(q.answered ? fmt(q.asa_ms) : '—', 'num'),
      cell(q.answered ? fmt(q.aht_ms) : '—', 'num'),
      cell(`${q.agents.available || 0} / ${busy}`, 'num'),
    );
    return tr;
  });
  $('queues').tBodies[0].replaceChildren(...qrows);
  const arows = b.agents.map((a) => {
    const tr = document.createElement('tr');
    tr.dataset.agent = a.username;
    const st = document.createElement('span');
    st.className = 'state';
    st.dataset.state = a.state;
    // Reason codes matter for not-ready states (lunch, missed); for the
    // others they only repeat the state.
    const why = ['break', 'missed'].includes(a.state) && a.reason ? ` · ${a.reason}` : '';
    st.textContent = (STATE_LABELS[a.state] || a.state) + why;
    const stc = document.createElement('td');
    stc.append(st);
    const current = a.caller ? (a.consult ? `consulted about ${a.caller}` : a.caller) : '';
    tr.append(cell(a.display_name || a.username), stc, counting(Date.parse(a.since), 'num since'),
      cell(current), cell(a.queue || ''), cell(String(a.calls_today), 'num'), monitorCell(a));
    return tr;
  });
  $('agents').tBodies[0].replaceChildren(...arows);
  $('no-agents').hidden = arows.length > 0;
  $('updated').textContent = `updated ${new Date(b.at).toLocaleTimeString()}`;
}

// Times count between messages without rebuilding the tables: a row
// rebuilt under the pointer would swallow a click on its buttons.
function tick() {
  for (const td of document.querySelectorAll('td[data-since]')) {
    td.textContent = fmt(Date.now() - Number(td.dataset.since));
  }
}
setInterval(tick, 1000);

window.hotlineBoard = {
  get last() { return board.last; },
  get received() { return board.received; },
  get monitor() { return { call: mon.call, mode: mon.mode, live: mon.live }; },
  // dominantFrequency measures what the supervisor hears for ms.
  async dominantFrequency(ms = 1000) {
    if (!mon.remote || !mon.remote.getAudioTracks().length) return 0;
    if (!mon.analyser) mon.analyser = new Analyser(mon.remote);
    return mon.analyser.dominant(ms);
  },
};
