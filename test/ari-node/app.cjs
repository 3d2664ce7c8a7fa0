'use strict';
// A small ARI application on the unmodified npm `ari-client` (2.2.0), run
// against a real Hotline by test/ari_node_test.go. ari-client loads
// Hotline's Swagger 1.2 documents (/ari/api-docs/resources.json and each
// resource) and builds its API from them, so every call below goes through
// what the server describes.
//
// Environment: ARI_URL (http://HOST:PORT), ARI_USER, ARI_PASS, ARI_APP,
// TIMEOUT_MS (default 30000).
//
// It prints one JSON object per line on stdout, each with an "event" field:
// "ready" once the application is connected (the Go test then places the
// call), then StasisStart, answered, PlaybackStarted, PlaybackFinished, the
// read APIs' results (channels, info, application, bridge, bridgeAdd,
// bridgeDestroyed), hungup, StasisEnd and ChannelDestroyed (these three in
// the order they arrive), and "done" once all three are in; it then exits
// 0. Any failure prints {"event":"error",...} and exits 1; so does the
// timeout.

const ari = require('ari-client');

const url = process.env.ARI_URL || 'http://127.0.0.1:8088';
const user = process.env.ARI_USER || 'demo';
const pass = process.env.ARI_PASS || 'demo-ari';
const app = process.env.ARI_APP || 'hello';
const timeoutMs = Number(process.env.TIMEOUT_MS || 30000);

function emit(event, fields) {
  process.stdout.write(JSON.stringify(Object.assign({ event }, fields || {})) + '\n');
}

let finished = false;
function fail(what, err) {
  if (finished) return;
  finished = true;
  const message = err && err.message ? err.message : String(err);
  emit('error', { what, message, stack: err && err.stack ? String(err.stack) : undefined });
  process.exit(1);
}

function succeed() {
  if (finished) return;
  finished = true;
  emit('done');
  process.exit(0);
}

const timer = setTimeout(() => fail('timeout', new Error(`no complete call within ${timeoutMs} ms`)), timeoutMs);
timer.unref();
process.on('unhandledRejection', (err) => fail('unhandled rejection', err));
process.on('uncaughtException', (err) => fail('uncaught exception', err));

// A channel, as the JSON lines show it.
function chan(c) {
  return { id: c.id, name: c.name, state: c.state, caller: c.caller && c.caller.number };
}

// The call is over once the hangup request was answered and both
// StasisEnd and ChannelDestroyed arrived (the events may come first).
const state = { hungUp: false, ended: false, destroyed: false };
function maybeDone() {
  if (state.hungUp && state.ended && state.destroyed) succeed();
}

async function handleCall(client, event, channel) {
  emit('StasisStart', { channel: channel.id, state: channel.state, args: event.args, caller: channel.caller && channel.caller.number, exten: channel.dialplan && channel.dialplan.exten });

  await channel.answer();
  emit('answered', { channel: channel.id });

  const playback = client.Playback();
  const finishedPlaying = new Promise((resolve) => {
    playback.once('PlaybackFinished', (ev, pb) => resolve(pb));
  });
  playback.once('PlaybackStarted', (ev, pb) => emit('PlaybackStarted', { playback: pb.id, state: pb.state, media: pb.media_uri }));
  const started = await channel.play({ media: 'sound:hello-world' }, playback);
  emit('play', { playback: started.id, requested: playback.id, state: started.state, media: started.media_uri, target: started.target_uri });
  const pb = await finishedPlaying;
  emit('PlaybackFinished', { playback: pb.id, state: pb.state, media: pb.media_uri });

  const channels = await client.channels.list();
  emit('channels', { channels: channels.map(chan) });

  const info = await client.asterisk.getInfo();
  emit('info', { version: info.system && info.system.version, entity_id: info.system && info.system.entity_id, default_language: info.config && info.config.default_language });

  const application = await client.applications.get({ applicationName: app });
  emit('application', { name: application.name, channel_ids: application.channel_ids, bridge_ids: application.bridge_ids });

  const bridge = await client.bridges.create({ type: 'mixing' });
  emit('bridge', { id: bridge.id, bridge_type: bridge.bridge_type, technology: bridge.technology, channels: bridge.channels });
  await bridge.addChannel({ channel: channel.id });
  const inBridge = await client.bridges.get({ bridgeId: bridge.id });
  emit('bridgeAdd', { id: inBridge.id, channels: inBridge.channels });
  await bridge.destroy();
  emit('bridgeDestroyed', { id: bridge.id });

  await channel.hangup();
  emit('hungup', { channel: channel.id });
  state.hungUp = true;
  maybeDone();
}

async function main() {
  const client = await ari.connect(url, user, pass);
  emit('connected', { resources: ['asterisk', 'applications', 'channels', 'bridges', 'playbacks', 'events'].filter((r) => client[r] !== undefined) });

  let callChannel = null;

  client.on('StasisStart', (event, channel) => {
    if (callChannel !== null) {
      fail('StasisStart', new Error(`a second StasisStart (${channel.id}) while handling ${callChannel}`));
      return;
    }
    callChannel = channel.id;
    handleCall(client, event, channel).catch((err) => fail('call handling', err));
  });
  client.on('StasisEnd', (event, channel) => {
    emit('StasisEnd', { channel: channel.id });
    if (channel.id === callChannel) {
      state.ended = true;
      maybeDone();
    }
  });
  client.on('ChannelDestroyed', (event, channel) => {
    emit('ChannelDestroyed', { channel: channel.id, cause: event.cause, cause_txt: event.cause_txt });
    if (channel.id === callChannel) {
      state.destroyed = true;
      maybeDone();
    }
  });
  client.on('WebSocketReconnecting', (err) => emit('reconnecting', { message: err && err.message }));

  await client.start(app);
  emit('ready', { app });
}

main().catch((err) => fail('connect', err));
