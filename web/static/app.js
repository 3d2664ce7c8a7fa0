// Hotline agent desk: login, agent state, and a WebRTC softphone driven by
// the agent WebSocket (docs/agent-protocol.md). Plain ES module, no build.

import { Ringer, Analyser } from './audio.js';
import { initTickets } from './tickets.js';
import { initKnowledge } from './kb.js';
import { initChats } from './chat-agent.js';
import { initDial } from './dial.js';
import { initTranscript } from './transcript.js';
import { initCallerContext } from './context.js';
import { initChecklist } from './checklist.js';

const $ = (id) => document.getElementById(id);

const STATE_LABELS = {
  offline: 'Offline',
  available: 'Available',
  ringing: 'Ringing',
  on_call: 'On call',
  wrap_up: 'Wrap-up',
  break: 'Break',
  missed: 'Missed call — away',
};

// ---- state of the page ----

const desk = {
  me: null,            // the session's user
  agent: null,         // from hello
  state: 'offline',
  reason: '',
  since: null,
  queues: [],
  offer: null,         // the ringing offer {call, caller, queue, ivr_path, region, wait_ms, at}
  lastOffer: null,
  call: null,          // {id, caller, queue, startedAt, connected, held, muted}
  lastCall: null,      // the call being wrapped up
  pc: null,
  localStream: null,
  remoteStream: null,
  analyser: null,
  iceServers: [],
  ws: null,
  wsOpen: false,
  retries: 0,
  retryTimer: null,
  loggedIn: false,
  received: [],        // last messages received, for tests and debugging
  sent: [],
};

const ringer = new Ringer();
// Chats (chat-agent.js): their own socket while signed in.
const chats = initChats();
// Knowledge panel (kb.js): search, and kb_matches pushed during calls.
const kb = initKnowledge();
// Live transcript (transcript.js): lines pushed during calls, kept through
// wrap-up, cleared by the next call.
const transcript = initTranscript({ me: () => desk.me });
// Checklist (checklist.js): the call's steps, ticked by the server or by hand.
const checklist = initChecklist({ send: (m) => send(m) });
// Caller context (context.js): who is calling, from the offer through
// wrap-up.
const callerContext = initCallerContext();
// Tickets are created from the call on the line, or the one in wrap-up.
const tickets = initTickets({ call: () => desk.call || desk.lastCall, callButton: (n) => dialer.callButton(n) });
// Click to call (dial.js): hidden while a call or an offer is on the page.
const dialer = initDial({ send, showError, busy: () => !!(desk.call || desk.offer), queues: () => desk.queues });

// ---- errors ----

function showError(message) {
  const box = $('errors');
  const item = document.createElement('div');
  item.className = 'error';
  const text = document.createElement('span');
  text.textContent = message;
  const close = document.createElement('button');
  close.type = 'button';
  close.className = 'link';
  close.textContent = 'Dismiss';
  close.setAttribute('aria-label', 'Dismiss error');
  close.addEventListener('click', () => item.remove());
  item.append(text, close);
  box.append(item);
  while (box.children.length > 4) box.firstChild.remove();
  setTimeout(() => item.remove(), 15000);
}

// ---- login ----

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

function showLogin(message) {
  desk.loggedIn = false;
  $('desk-view').hidden = true;
  $('who').hidden = true;
  $('login-view').hidden = false;
  tickets.hide();
  kb.hide();
  chats.hide();
  transcript.clear();
  callerContext.clear();
  checklist.clear();
  $('login-error').textContent = message || '';
  $(($('login-tenant').value ? 'login-username' : 'login-tenant')).focus();
}

function showDesk() {
  desk.loggedIn = true;
  $('login-view').hidden = true;
  $('desk-view').hidden = false;
  $('who').hidden = false;
  const u = desk.me || {};
  $('agent-name').textContent = u.display_name || u.username || '';
  $('agent-tenant').textContent = u.tenant ? `· ${u.tenant}` : '';
  tickets.show();
  kb.show();
  chats.show();
  render();
}

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = e.target;
  $('login-submit').disabled = true;
  $('login-error').textContent = '';
  try {
    const r = await api('POST', '/api/v1/login', {
      tenant: f.tenant.value.trim(),
      username: f.username.value.trim(),
      password: f.password.value,
    });
    if (!r.ok) {
      $('login-error').textContent = (r.data && r.data.error) || `Sign-in failed (${r.status})`;
      return;
    }
    f.password.value = '';
    desk.me = r.data.user;
    showDesk();
    connect();
  } catch (err) {
    $('login-error').textContent = `Sign-in failed: ${err.message}`;
  } finally {
    $('login-submit').disabled = false;
  }
});

$('logout').addEventListener('click', async () => {
  stopReconnect();
  if (desk.ws) desk.ws.close(1000, 'logout');
  endMedia();
  await api('POST', '/api/v1/logout').catch(() => {});
  desk.me = null;
  showLogin('Signed out.');
});

// ---- WebSocket ----

function wsURL() {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${location.host}/api/v1/agent/ws`;
}

function connect() {
  stopReconnect();
  setConn('connecting…', 'connecting');
  let ws;
  try {
    ws = new WebSocket(wsURL());
  } catch (err) {
    showError(`Cannot open the agent connection: ${err.message}`);
    scheduleReconnect();
    return;
  }
  desk.ws = ws;
  ws.addEventListener('open', () => {
    desk.wsOpen = true;
    desk.retries = 0;
    setConn('connected', 'up');
  });
  ws.addEventListener('message', (ev) => {
    let msg;
    try {
      msg = JSON.parse(ev.data);
    } catch {
      showError('The server sent a message that is not JSON.');
      return;
    }
    desk.received.push(msg);
    if (desk.received.length > 200) desk.received.shift();
    handle(msg).catch((err) => showError(`${msg.type}: ${err.message}`));
  });
  ws.addEventListener('close', async (ev) => {
    if (desk.ws !== ws) return;
    desk.ws = null;
    desk.wsOpen = false;
    if (!desk.loggedIn || ev.reason === 'logout') return;
    setConn('disconnected', 'down');
    // An authentication failure closes the socket: check the session
    // before trying again.
    const me = await api('GET', '/api/v1/me').catch(() => null);
    if (me && me.status === 401) {
      endMedia();
      showLogin('Your session has ended. Please sign in again.');
      return;
    }
    scheduleReconnect();
  });
}

function scheduleReconnect() {
  const delay = Math.min(15000, 500 * 2 ** desk.retries) * (0.75 + Math.random() * 0.5);
  desk.retries++;
  setConn(`reconnecting in ${Math.ceil(delay / 1000)} s`, 'down');
  desk.retryTimer = setTimeout(connect, delay);
}

function stopReconnect() {
  clearTimeout(desk.retryTimer);
  desk.retryTimer = null;
}

function setConn(text, cls) {
  const c = $('conn');
  c.textContent = text;
  c.dataset.conn = cls;
}

function send(msg) {
  if (!desk.ws || desk.ws.readyState !== WebSocket.OPEN) {
    showError('Not connected to the server; try again in a moment.');
    return false;
  }
  desk.sent.push(msg);
  if (desk.sent.length > 200) desk.sent.shift();
  desk.ws.send(JSON.stringify(msg));
  return true;
}

// ---- messages from the server ----

async function handle(msg) {
  switch (msg.type) {
    case 'hello':
      desk.agent = msg.agent || null;
      if (msg.agent) {
        desk.me = { ...(desk.me || {}), ...msg.agent };
        $('agent-name').textContent = msg.agent.display_name || msg.agent.username;
        $('agent-tenant').textContent = msg.agent.tenant ? `· ${msg.agent.tenant}` : '';
      }
      desk.queues = Array.isArray(msg.queues) ? msg.queues : [];
      takeIceServers(msg);
      setState(msg.state || 'offline', msg.reason || '', null);
      // A reconnect ends any call this page thought it had: the server
      // put the caller back in line.
      if (desk.call && desk.state !== 'on_call') endMedia();
      break;
    case 'state':
      setState(msg.state, msg.reason || '', msg.since || null);
      break;
    case 'offer':
      desk.offer = {
        call: msg.call,
        caller: msg.caller || 'unknown',
        queue: msg.queue || '',
        ivr_path: msg.ivr_path,
        region: msg.region || '',
        wait_ms: Number(msg.wait_ms) || 0,
        ring_timeout_ms: Number(msg.ring_timeout_ms) || 0,
        at: performance.now(),
      };
      desk.lastOffer = { ...desk.offer };
      ringer.start();
      break;
    case 'consult_offer':
      // A colleague wants to talk before handing a caller over.
      desk.offer = {
        call: msg.call,
        caller: msg.caller || 'unknown',
        queue: '',
        consultFrom: msg.from_name || msg.from || 'a colleague',
        wait_ms: 0,
        ring_timeout_ms: Number(msg.ring_timeout_ms) || 0,
        at: performance.now(),
      };
      desk.lastOffer = { ...desk.offer };
      ringer.start();
      break;
    case 'consult_ringing':
      if (desk.call && desk.call.id === msg.call) desk.call.consult = { agent: msg.agent, state: 'ringing' };
      break;
    case 'consult_connected':
      if (desk.call && desk.call.id === msg.call) desk.call.consult = { agent: msg.agent, state: 'connected' };
      break;
    case 'consult_ended':
      if (desk.call && desk.call.id === msg.call) {
        desk.call.consult = null;
        const why = { declined: 'declined', 'no-answer': 'did not answer', 'hung-up': 'hung up', cancelled: '' }[msg.reason];
        if (why) showError(`${msg.agent} ${why}; the caller is back with you.`);
      }
      break;
    case 'transferred':
      // The consultation became the call: it is ours now.
      if (desk.call && desk.call.id === msg.call) {
        desk.call.consultFrom = null;
        desk.call.caller = msg.caller || desk.call.caller;
        desk.call.transferredFrom = msg.from || '';
      }
      break;
    case 'offer_cancelled':
      if (desk.offer && desk.offer.call === msg.call) {
        desk.offer = null;
        ringer.stop();
        if (msg.reason) showError(`Call withdrawn: ${msg.reason.replaceAll('_', ' ')}`);
      }
      break;
    case 'webrtc_offer':
      transcript.callStarted(msg.call);
      checklist.callStarted(msg.call);
      takeIceServers(msg);
      await acceptWebRTC(msg);
      break;
    case 'ice':
      if (desk.pc && msg.candidate && (!desk.call || msg.call === desk.call.id)) {
        await desk.pc.addIceCandidate(msg.candidate).catch((err) => showError(`ICE: ${err.message}`));
      }
      break;
    case 'connected':
      if (desk.call && desk.call.id === msg.call) {
        desk.call.connected = true;
        desk.call.startedAt ??= performance.now();
      }
      break;
    case 'recording':
      if (desk.call && desk.call.id === msg.call) desk.call.recPaused = !!msg.paused;
      break;
    case 'held':
      if (desk.call && desk.call.id === msg.call) desk.call.held = !!msg.on;
      break;
    case 'call_ended':
      ringer.stop();
      if (desk.offer && desk.offer.call === msg.call) desk.offer = null;
      if (desk.call && desk.call.id === msg.call) {
        desk.lastCall = { ...desk.call, endedBy: msg.by, duration: callSeconds() };
        endMedia();
      }
      break;
    case 'error':
      showError(msg.message || 'The server refused a request.');
      break;
    case 'kb_matches':
      kb.showMatches(msg);
      break;
    case 'checklist':
      checklist.handle(msg);
      break;
    case 'transcript':
      transcript.handle(msg);
      break;
    case 'transcript_status':
      transcript.status(msg);
      break;
    case 'dial_progress':
      dialer.handle(msg);
      break;
    case 'caller_context':
      callerContext.handle(msg);
      break;
    default:
      break; // newer server: ignore what we do not know
  }
  render();
}

function takeIceServers(msg) {
  const servers = msg.ice_servers || msg.iceServers;
  if (Array.isArray(servers)) desk.iceServers = servers;
}

function setState(state, reason, since) {
  desk.state = state;
  desk.reason = reason;
  desk.since = since ? new Date(since) : new Date();
  if (state !== 'ringing') {
    ringer.stop();
    if (desk.offer && state !== 'ringing') desk.offer = null;
  }
  if (['available', 'break', 'offline'].includes(state)) {
    for (const r of document.querySelectorAll('input[name=state]')) r.checked = r.value === state;
    if (state === 'break' && reason) $('break-reason').value = reason;
  }
  if (state === 'wrap_up' && !desk.lastCall && desk.call) {
    desk.lastCall = { ...desk.call, duration: callSeconds() };
  }
}

// regionField returns the offer panel's Region value, made once after the
// row holding afterId: the caller's region (docs/agent-protocol.md), the
// tenant's region for the number or its country.
function regionField(afterId, id) {
  let dd = $(id);
  if (!dd) {
    const dt = document.createElement('dt');
    dt.textContent = 'Region';
    dd = document.createElement('dd');
    dd.id = id;
    $(afterId).after(dt, dd);
  }
  return dd;
}

// callRegion is the span after the caller in the call panel's title.
function callRegion() {
  let span = $('call-region');
  if (!span) {
    span = document.createElement('span');
    span.id = 'call-region';
    span.className = 'muted';
    $('call-caller').after(span);
  }
  return span;
}

// ---- WebRTC ----

async function acceptWebRTC(msg) {
  endMedia();
  const offer = desk.lastOffer && desk.lastOffer.call === msg.call ? desk.lastOffer : {};
  desk.call = {
    id: msg.call,
    caller: offer.caller || msg.caller || dialer.callerOf(msg.call) || '',
    queue: offer.queue || msg.queue || dialer.queueOf(msg.call) || '',
    outbound: !!msg.outbound || (!offer.caller && !!dialer.callerOf(msg.call)), // placed by us: no transfers
    region: offer.region || '',
    consultFrom: msg.consult ? (offer.consultFrom || 'a colleague') : null,
    consult: null,
    startedAt: null,
    connected: false,
    held: false,
    muted: false,
  };
  desk.offer = null;
  ringer.stop();
  render();

  const pc = new RTCPeerConnection({ iceServers: desk.iceServers });
  desk.pc = pc;
  let answered = false; // candidates found after the answer are trickled
  const remote = new MediaStream();
  desk.remoteStream = remote;
  pc.ontrack = (ev) => {
    for (const t of ev.streams[0] ? ev.streams[0].getTracks() : [ev.track]) {
      if (!remote.getTracks().includes(t)) remote.addTrack(t);
    }
    const audio = $('remote-audio');
    audio.srcObject = remote;
    audio.play().catch(() => {});
  };
  pc.onicecandidate = (ev) => {
    if (ev.candidate && desk.call && desk.call.id === msg.call && pc.localDescription && answered) {
      send({ type: 'ice', call: msg.call, candidate: ev.candidate.toJSON() });
    }
  };
  pc.onconnectionstatechange = () => {
    if (pc !== desk.pc) return;
    if (pc.connectionState === 'connected' && desk.call) {
      desk.call.connected = true;
      desk.call.startedAt ??= performance.now();
    }
    if (pc.connectionState === 'failed') showError('The audio connection failed.');
    render();
  };

  await pc.setRemoteDescription({ type: 'offer', sdp: msg.sdp });
  preferCodec(pc, msg.sdp);

  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (err) {
    showError(`Microphone unavailable (${err.name}): the caller will not hear you.`);
  }
  if (pc !== desk.pc) {
    if (stream) stream.getTracks().forEach((t) => t.stop());
    return; // the call ended meanwhile
  }
  desk.localStream = stream || null;
  if (stream) {
    const [track] = stream.getAudioTracks();
    const tr = pc.getTransceivers().find((t) => t.receiver.track.kind === 'audio');
    if (tr) {
      await tr.sender.replaceTrack(track);
      tr.direction = 'sendrecv';
      tr.sender.setStreams(stream);
    } else {
      pc.addTrack(track, stream);
    }
  }
  const answer = await pc.createAnswer();
  await pc.setLocalDescription(answer);
  await gathered(pc, 1500);
  if (pc !== desk.pc) return;
  answered = true;
  send({ type: 'webrtc_answer', call: msg.call, sdp: pc.localDescription.sdp });
}

// preferCodec orders the server's first codec first on the audio
// transceiver: PCMU, so the media is forwarded to the SIP side without
// transcoding, or Opus when the server offers it first.
function preferCodec(pc, offerSDP) {
  if (!('setCodecPreferences' in RTCRtpTransceiver.prototype)) return;
  const caps = RTCRtpReceiver.getCapabilities && RTCRtpReceiver.getCapabilities('audio');
  if (!caps) return;
  // The server lists its codec of choice first: Opus when the node is
  // configured to transcode, else PCMU, which it relays untouched.
  const m = /m=audio \d+ \S+ (\d+)/.exec(offerSDP || '');
  const first = m ? new RegExp(`a=rtpmap:${m[1]} ([^/\r\n]+)`).exec(offerSDP) : null;
  const want = `audio/${(first ? first[1] : 'PCMU').toLowerCase()}`;
  const pcmu = caps.codecs.filter((c) => c.mimeType.toLowerCase() === want);
  if (!pcmu.length) return;
  const rest = caps.codecs.filter((c) => c.mimeType.toLowerCase() !== want);
  for (const tr of pc.getTransceivers()) {
    try {
      tr.setCodecPreferences([...pcmu, ...rest]);
    } catch {
      /* the offer decides */
    }
  }
}

// gathered waits for ICE gathering to finish (host candidates take
// milliseconds), so the answer carries them; late ones are trickled.
function gathered(pc, timeoutMs) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(done, timeoutMs);
    function done() {
      clearTimeout(t);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    }
    function check() {
      if (pc.iceGatheringState === 'complete') done();
    }
    pc.addEventListener('icegatheringstatechange', check);
  });
}

function endMedia() {
  if (desk.analyser) {
    desk.analyser.close();
    desk.analyser = null;
  }
  if (desk.pc) {
    const pc = desk.pc;
    desk.pc = null;
    pc.ontrack = pc.onicecandidate = pc.onconnectionstatechange = null;
    pc.close();
  }
  if (desk.localStream) desk.localStream.getTracks().forEach((t) => t.stop());
  desk.localStream = null;
  desk.remoteStream = null;
  $('remote-audio').srcObject = null;
  desk.call = null;
}

function callSeconds() {
  if (!desk.call || desk.call.startedAt == null) return 0;
  return Math.floor((performance.now() - desk.call.startedAt) / 1000);
}

// ---- controls ----

for (const r of document.querySelectorAll('input[name=state]')) {
  r.addEventListener('change', () => {
    if (!r.checked) return;
    $('reason-wrap').hidden = r.value !== 'break';
    const msg = { type: 'state', state: r.value };
    if (r.value === 'break') msg.reason = $('break-reason').value;
    send(msg);
  });
}

$('break-reason').addEventListener('change', () => {
  if (document.querySelector('input[name=state]:checked')?.value === 'break') {
    send({ type: 'state', state: 'break', reason: $('break-reason').value });
  }
});

$('answer').addEventListener('click', () => {
  if (!desk.offer) return;
  ringer.stop();
  $('answer').disabled = true;
  send({ type: 'answer', call: desk.offer.call });
});

$('decline').addEventListener('click', () => {
  if (!desk.offer) return;
  send({ type: 'reject', call: desk.offer.call });
  desk.offer = null;
  ringer.stop();
  render();
});

$('hold').addEventListener('click', () => {
  if (!desk.call) return;
  send({ type: 'hold', call: desk.call.id, on: !desk.call.held });
});

$('mute').addEventListener('click', () => {
  if (!desk.call) return;
  desk.call.muted = !desk.call.muted;
  if (desk.localStream) {
    for (const t of desk.localStream.getAudioTracks()) t.enabled = !desk.call.muted;
  }
  render();
});

$('rec-pause').addEventListener('click', () => {
  if (desk.call) send({ type: 'recording', call: desk.call.id, paused: !desk.call.recPaused });
});

$('hangup').addEventListener('click', () => {
  if (!desk.call) return;
  send({ type: 'hangup', call: desk.call.id });
});

const KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'];
for (const k of KEYS) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = k;
  b.dataset.key = k;
  b.setAttribute('aria-label', `Key ${k === '*' ? 'star' : k === '#' ? 'pound' : k}`);
  b.addEventListener('click', () => {
    if (desk.call) send({ type: 'dtmf', call: desk.call.id, digits: k });
  });
  $('keypad').append(b);
}

$('transfer-form').addEventListener('submit', (e) => {
  e.preventDefault();
  if (!desk.call) return;
  const kind = document.querySelector('input[name=xfer-kind]:checked').value;
  const target = $('xfer-target').value.trim();
  if (!target) return;
  send({ type: 'transfer', call: desk.call.id, [kind]: target });
  $('xfer-target').value = '';
});

$('consult-form').addEventListener('submit', (e) => {
  e.preventDefault();
  if (!desk.call) return;
  const agent = $('consult-target').value.trim();
  if (!agent) return;
  send({ type: 'consult', call: desk.call.id, agent });
  $('consult-target').value = '';
});

$('consult-complete').addEventListener('click', () => {
  if (desk.call) send({ type: 'consult_complete', call: desk.call.id });
});

$('consult-cancel').addEventListener('click', () => {
  if (desk.call) send({ type: 'consult_cancel', call: desk.call.id });
});

for (const r of document.querySelectorAll('input[name=xfer-kind]')) {
  r.addEventListener('change', () => {
    if (r.value === 'queue') $('xfer-target').setAttribute('list', 'queue-list');
    else $('xfer-target').removeAttribute('list');
  });
}

$('wrap-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const code = document.querySelector('input[name=disposition]:checked');
  if (!code) return;
  const call = desk.lastCall ? desk.lastCall.id : undefined;
  const ok = send({ type: 'disposition', call, code: code.value, note: $('wrap-note').value.trim() });
  if (ok) send({ type: 'wrapup_done' });
  desk.lastCall = null;
  $('wrap-form').reset();
  render();
});

// ---- rendering ----

function fmtDuration(s) {
  s = Math.max(0, Math.floor(s));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${String(m).padStart(2, '0')}:${ss}`;
}

function ivrPath(p) {
  if (Array.isArray(p)) return p.join(' › ');
  return p ? String(p).split(/[\s,>/]+/).filter(Boolean).join(' › ') : '—';
}

function render() {
  const st = desk.state;
  const badge = $('state-badge');
  badge.dataset.state = st;
  badge.textContent = STATE_LABELS[st] || st;
  if (st === 'break' && desk.reason) badge.textContent += ` · ${desk.reason}`;
  $('reason-wrap').hidden = document.querySelector('input[name=state]:checked')?.value !== 'break';
  const busy = ['ringing', 'on_call', 'wrap_up'].includes(st) || !!desk.call;
  for (const r of document.querySelectorAll('input[name=state]')) r.disabled = busy;
  $('queues-line').textContent = desk.queues.length ? `Queues: ${desk.queues.join(', ')}` : '';
  const dl = $('queue-list');
  if (dl.children.length !== desk.queues.length) {
    dl.replaceChildren(...desk.queues.map((q) => Object.assign(document.createElement('option'), { value: q })));
  }

  const offer = desk.offer;
  const wrapping = !desk.call && !offer && (st === 'wrap_up' || desk.lastCall);
  $('offer-panel').hidden = !offer;
  $('call-panel').hidden = !desk.call;
  $('wrap-panel').hidden = !wrapping;
  $('idle-panel').hidden = !!(offer || desk.call || wrapping);
  document.body.classList.toggle('ringing', !!offer);

  if (offer) {
    $('offer-kind').textContent = offer.consultFrom ? `Consult from ${offer.consultFrom}` : 'Incoming call';
    $('offer-caller').textContent = offer.caller;
    $('offer-queue').textContent = offer.queue || '—';
    $('offer-path').textContent = ivrPath(offer.ivr_path);
    regionField('offer-queue', 'offer-region').textContent = offer.region || '—';
    $('answer').disabled = false;
  }
  if (desk.call) {
    const c = desk.call;
    $('call-caller').textContent = c.consultFrom ? `${c.consultFrom} (about ${c.caller || 'a caller'})` : (c.caller || 'caller');
    callRegion().textContent = c.region && !c.consultFrom ? ` · ${c.region}` : '';
    // A consultation's side only talks and hangs up; the caller's side
    // manages the consultation instead of hold and blind transfer.
    const consulting = !!c.consult;
    $('hold').hidden = !!c.consultFrom || consulting;
    $('transfer-form').hidden = !!c.consultFrom || consulting || !!c.outbound;
    $('consult-form').hidden = !!c.consultFrom || consulting || !!c.outbound;
    document.querySelector('.keypad-wrap').hidden = !!c.consultFrom;
    $('consult-panel').hidden = !consulting;
    if (consulting) {
      $('consult-agent').textContent = c.consult.agent;
      $('consult-state').textContent = c.consult.state === 'connected' ? 'on the line' : 'ringing…';
      $('consult-complete').disabled = c.consult.state !== 'connected';
    }
    $('call-queue').textContent = c.transferredFrom ? `transferred by ${c.transferredFrom}` : c.queue ? `queue ${c.queue}` : '';
    const status = c.held ? 'on hold' : c.connected ? (c.muted ? 'muted' : 'connected') : 'connecting…';
    $('call-status').textContent = status;
    $('call-status').dataset.status = c.held ? 'held' : c.connected ? 'up' : 'wait';
    $('hold').textContent = c.held ? 'Unhold' : 'Hold';
    $('hold').setAttribute('aria-pressed', String(c.held));
    $('mute').textContent = c.muted ? 'Unmute' : 'Mute';
    $('rec-pause').hidden = !!c.consultFrom;
    $('rec-pause').textContent = c.recPaused ? 'Resume recording' : 'Pause recording';
    $('rec-pause').setAttribute('aria-pressed', String(!!c.recPaused));
    $('mute').setAttribute('aria-pressed', String(c.muted));
  }
  if (wrapping && desk.lastCall) {
    const lc = desk.lastCall;
    const by = lc.endedBy ? `, ended by ${lc.endedBy}` : '';
    $('wrap-summary').textContent = `Call with ${lc.caller || 'caller'} · ${fmtDuration(lc.duration || 0)}${by}`;
  }
  tickets.render();
  dialer.render();
  callerContext.sync({
    callID: offer ? offer.call : desk.call ? desk.call.id : wrapping && desk.lastCall ? desk.lastCall.id : null,
    ringing: !!offer,
  });
  tick();
}

// tick updates the counting displays.
function tick() {
  if (desk.offer) {
    const waited = desk.offer.wait_ms + (performance.now() - desk.offer.at);
    $('offer-wait').textContent = fmtDuration(waited / 1000);
  }
  if (desk.call) $('call-timer').textContent = fmtDuration(callSeconds());
  if (desk.since) $('state-since').textContent = `for ${fmtDuration((Date.now() - desk.since.getTime()) / 1000)}`;
}
setInterval(tick, 500);

// ---- test hooks ----

window.hotlineTest = {
  get state() { return desk.state; },
  get lastOffer() { return desk.lastOffer; },
  get call() { return desk.call ? { ...desk.call } : null; },
  get connected() { return desk.wsOpen; },
  get received() { return desk.received.slice(); },
  get sent() { return desk.sent.slice(); },
  // codec is the negotiated audio codec (from the answer SDP).
  codec() {
    const sdp = desk.pc && desk.pc.localDescription ? desk.pc.localDescription.sdp : '';
    const m = /m=audio \d+ \S+ (\d+)/.exec(sdp);
    if (!m) return '';
    const r = new RegExp(`a=rtpmap:${m[1]} ([^\\r\\n]+)`).exec(sdp);
    return r ? r[1] : m[1];
  },
  // micEnabled: whether the microphone track is live (false when muted),
  // null without one.
  micEnabled() {
    const t = desk.localStream && desk.localStream.getAudioTracks()[0];
    return t ? t.enabled : null;
  },
  // dominantFrequency measures the remote audio for ms milliseconds.
  async dominantFrequency(ms = 1000) {
    if (!desk.remoteStream || !desk.remoteStream.getAudioTracks().length) return 0;
    if (!desk.analyser) desk.analyser = new Analyser(desk.remoteStream);
    return desk.analyser.dominant(ms);
  },
};

// ---- start ----

(async () => {
  const r = await api('GET', '/api/v1/me').catch(() => null);
  if (r && r.ok && r.data) {
    desk.me = r.data.user;
    showDesk();
    connect();
  } else {
    showLogin();
  }
})();
