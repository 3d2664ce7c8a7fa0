// The agent's side of the softphone end-to-end test: headless Chromium
// (Debian's) logs in on the Hotline page, takes a call and reports what it
// heard. test/browser_test.go runs it and plays the caller; the two talk
// in lines: this script prints "@@event json" on stdout and reads one
// command per line on stdin.
//
// Environment:
//   HOTLINE_URL   the server's http://127.0.0.1:PORT (required)
//   OUT_DIR       where the tone WAV, screenshots and the page log go (default: a temp dir)
//   CHROMIUM      the browser (default /usr/bin/chromium)
//   AGENT_TENANT, AGENT_USER, AGENT_PASSWORD   (default demo / alice / alice-demo)
//   TONE_HZ       the agent's microphone tone (default 1000)
//   ROLE          agent (default), consultee (the second agent of the transfer) or wallboard
//   SHORT=1       (agent) after the call connects, only hang up when told
//   HEADFUL=1     show the browser (needs a display)
//
// Standalone: HOTLINE_URL=http://127.0.0.1:8080 node test/browser/agent.test.mjs
// then type the commands (call NUMBER, hold, unhold, mute, unmute, dtmf, consult USER, complete) as the
// Go side would; with ROLE=consultee: available, hangup.

import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { emit, log, signIn, waitFor as waitForPage, runMain, required, outputDir, launchWithTone, newLoggedPage } from './lib.mjs';

const [base] = required('HOTLINE_URL');
const outDir = outputDir('browser');
const toneHz = Number(process.env.TONE_HZ || 1000);
const tenant = process.env.AGENT_TENANT || 'demo';
const user = process.env.AGENT_USER || 'alice';
const password = process.env.AGENT_PASSWORD || 'alice-demo';
// ROLE: "agent" (default) takes the call; "consultee" is the colleague an
// attended transfer goes to; "wallboard" is a supervisor on /wallboard.
const role = process.env.ROLE || 'agent';


// ---- commands from the Go side ----

const lines = [];
const waiters = [];
readline.createInterface({ input: process.stdin }).on('line', (l) => {
  const line = l.trim();
  if (!line) return;
  const w = waiters.shift();
  if (w) w(line);
  else lines.push(line);
});

function command(timeoutMs = 60000) {
  if (lines.length) return Promise.resolve(lines.shift());
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no command from the Go side within ${timeoutMs} ms`)), timeoutMs);
    waiters.push((l) => { clearTimeout(t); resolve(l); });
  });
}

async function expectCommand(name) {
  const line = await command();
  const [cmd, ...rest] = line.split(' ');
  if (cmd === 'abort') throw new Error(`aborted by the Go side: ${rest.join(' ')}`);
  if (cmd !== name) throw new Error(`expected command ${name}, got ${line}`);
  return rest.join(' ');
}

// ---- the test ----

function waitFor(page, fn, arg, what, timeout = 20000) {
  return waitForPage(page, fn, arg, what, timeout, () => ({
    state: window.hotlineTest?.state, call: window.hotlineTest?.call,
    received: window.hotlineTest?.received.slice(-8), errors: document.getElementById('errors')?.innerText,
  }));
}

// consultee is the second agent: on break until told, then available; it
// takes a colleague's consultation, hears them, becomes the caller's agent
// when the transfer completes, and hangs up when told.
async function consultee(page) {
  emit('ready');
  await expectCommand('available');
  await page.getByLabel('Available').check();
  await waitFor(page, () => window.hotlineTest.state === 'available', null, 'state available');
  emit('available');
  await waitFor(page, () => !document.getElementById('offer-panel').hidden, null, 'the consult offer', 60000);
  const kind = await page.textContent('#offer-kind');
  emit('consult_offer', { kind, caller: await page.textContent('#offer-caller') });
  await page.getByRole('button', { name: 'Answer' }).click();
  await waitFor(page, () => window.hotlineTest.call && window.hotlineTest.call.connected, null, 'the consultation to connect');
  await page.waitForTimeout(500);
  const colleague = await page.evaluate(() => window.hotlineTest.dominantFrequency(1500));
  emit('consult_talking', { heard: colleague, title: await page.textContent('#call-title') });
  await waitFor(page, () => window.hotlineTest.call && !window.hotlineTest.call.consultFrom, null, 'the transfer to complete', 60000);
  await page.waitForTimeout(700);
  const caller = await page.evaluate(() => window.hotlineTest.dominantFrequency(1500));
  await page.screenshot({ path: path.join(outDir, 'desk-transferred.png') });
  emit('transferred', { heard: caller, title: await page.textContent('#call-title') });
  await expectCommand('hangup');
  await page.getByRole('button', { name: 'Hang up' }).click();
  await waitFor(page, () => !document.getElementById('wrap-panel').hidden, null, 'the wrap-up panel');
  await page.getByLabel('Resolved').check();
  await page.getByRole('button', { name: 'Ready' }).click();
  await waitFor(page, () => window.hotlineTest.state === 'available', null, 'state available after Ready');
  emit('done');
}

// wallboard is a supervisor watching /wallboard: it reports the first
// board showing an agent on a call with the caller, then the abandon count
// of general when told.
async function wallboard(page) {
  await signIn(page, base + '/wallboard', tenant, user, password);
  await waitFor(page, () => window.hotlineBoard && window.hotlineBoard.received > 0, null, 'the first board');
  emit('ready');
  const caller = await expectCommand('oncall');
  await waitFor(page, (c) => [...document.querySelectorAll('#agents tbody tr')]
    .some((tr) => tr.textContent.includes('On call') && tr.textContent.includes(c)), caller, 'an agent on a call on the board', 30000);
  const rows = await page.evaluate(() => ({
    queues: [...document.querySelectorAll('#queues tbody tr')].map((tr) => [...tr.cells].map((c) => c.textContent)),
    agents: [...document.querySelectorAll('#agents tbody tr')].map((tr) => [...tr.cells].map((c) => c.textContent)),
  }));
  await page.screenshot({ path: path.join(outDir, 'wallboard.png') });
  emit('board', rows);

  // Listen in on the call: the supervisor's own WebRTC leg hears the
  // caller and the agent.
  await expectCommand('listen');
  await page.getByRole('button', { name: /^Listen to / }).click();
  await waitFor(page, () => window.hotlineBoard.monitor.live, null, 'the monitoring to start', 20000);
  await page.waitForTimeout(700);
  const heard = await page.evaluate(() => window.hotlineBoard.dominantFrequency(1500));
  await page.screenshot({ path: path.join(outDir, 'wallboard-listen.png') });
  emit('listening', { heard });
  await page.getByRole('button', { name: /^Stop monitoring/ }).click();
  await waitFor(page, () => !window.hotlineBoard.monitor.call, null, 'the monitoring to stop');
  emit('stopped');
}

async function main() {
  const browser = await launchWithTone(outDir, role, toneHz);
  const pageLog = fs.createWriteStream(path.join(outDir, `page-${role}.log`));
  try {
    const page = await newLoggedPage(browser, pageLog, { width: 1100, height: 820 });

    if (role === 'wallboard') {
      await wallboard(page);
      return;
    }

    // Log in.
    await signIn(page, base + '/', tenant, user, password);
    await waitFor(page, () => window.hotlineTest && window.hotlineTest.connected
      && window.hotlineTest.received.some((m) => m.type === 'hello'), null, 'the hello message');
    await page.screenshot({ path: path.join(outDir, 'desk-idle.png') });

    if (role === 'consultee') {
      await consultee(page);
      return;
    }

    // Available.
    await page.getByLabel('Available').check();
    await waitFor(page, () => window.hotlineTest.state === 'available', null, 'state available');
    emit('available');

    // The call arrives.
    const caller = await expectCommand('call');
    await waitFor(page, () => !document.getElementById('offer-panel').hidden, null, 'the offer card', 40000);
    const offer = await page.evaluate(() => ({
      last: window.hotlineTest.lastOffer,
      shown: document.getElementById('offer-caller').textContent,
      queue: document.getElementById('offer-queue').textContent,
      path: document.getElementById('offer-path').textContent,
      wait1: document.getElementById('offer-wait').textContent,
    }));
    if (!offer.shown.includes(caller)) throw new Error(`the offer card shows caller ${JSON.stringify(offer.shown)}, want ${caller}`);
    // The waited time counts up while the offer rings (a loaded machine
    // may delay the page's one-second tick, so allow a few seconds).
    await waitFor(page, (w) => document.getElementById('offer-wait').textContent !== w, offer.wait1,
      `the waited time to count on from ${offer.wait1}`, 5000);
    const wait2 = await page.textContent('#offer-wait');
    await page.screenshot({ path: path.join(outDir, 'desk-offer.png') });
    emit('offer', { ...offer, wait2 });

    // Answer, and listen.
    await page.getByRole('button', { name: 'Answer' }).click();
    await waitFor(page, () => window.hotlineTest.call && window.hotlineTest.call.connected, null, 'the call to connect');
    await page.waitForTimeout(500);
    const heard = await page.evaluate(() => window.hotlineTest.dominantFrequency(1500));
    const codec = await page.evaluate(() => window.hotlineTest.codec());
    await page.screenshot({ path: path.join(outDir, 'desk-call.png') });
    emit('talking', { heard, codec });

    if (process.env.SHORT === '1') {
      // The codec variant: talk, then hang up and wrap up.
      await expectCommand('hangup');
      await page.getByRole('button', { name: 'Hang up' }).click();
      await waitFor(page, () => !document.getElementById('wrap-panel').hidden, null, 'the wrap-up panel');
      await page.getByLabel('Resolved').check();
      await page.getByRole('button', { name: 'Ready' }).click();
      await waitFor(page, () => window.hotlineTest.state === 'available', null, 'state available after Ready');
      emit('done');
      return;
    }

    // Hold and unhold.
    await expectCommand('hold');
    await page.getByRole('button', { name: 'Hold' }).click();
    await waitFor(page, () => window.hotlineTest.call && window.hotlineTest.call.held, null, 'hold to be confirmed');
    await page.screenshot({ path: path.join(outDir, 'desk-held.png') });
    emit('held');
    await expectCommand('unhold');
    await page.getByRole('button', { name: 'Unhold' }).click();
    await waitFor(page, () => window.hotlineTest.call && !window.hotlineTest.call.held, null, 'unhold to be confirmed');
    emit('unheld');

    // Mute (the microphone track is disabled locally) and unmute.
    await expectCommand('mute');
    await page.getByRole('button', { name: 'Mute' }).click();
    const muted = await page.evaluate(() => window.hotlineTest.micEnabled());
    if (muted !== false) throw new Error(`after Mute the microphone track is enabled=${muted}`);
    emit('muted');
    await expectCommand('unmute');
    await page.getByRole('button', { name: 'Unmute' }).click();
    emit('unmuted');

    // A key on the keypad goes to the caller as RFC 4733.
    await expectCommand('dtmf');
    await page.getByText('Keypad').click();
    await page.getByRole('button', { name: 'Key 5' }).click();
    emit('dtmf_sent');

    // Attended transfer: consult a colleague (the caller hears music),
    // then complete; this agent wraps up.
    const colleague = await expectCommand('consult');
    await page.getByLabel('Agent to consult').fill(colleague);
    await page.getByRole('button', { name: 'Consult' }).click();
    await waitFor(page, () => window.hotlineTest.call?.consult?.state === 'connected', null, 'the colleague to pick up', 40000);
    await page.waitForTimeout(500);
    const colleagueHeard = await page.evaluate(() => window.hotlineTest.dominantFrequency(1500));
    await page.screenshot({ path: path.join(outDir, 'desk-consult.png') });
    emit('consulting', { heard: colleagueHeard, panel: await page.textContent('#consult-panel') });
    await expectCommand('complete');
    await page.getByRole('button', { name: 'Complete transfer' }).click();
    await waitFor(page, () => !document.getElementById('wrap-panel').hidden, null, 'the wrap-up panel');
    await page.getByLabel('Resolved').check();
    await page.getByLabel('Note').fill('browser test: tone both ways, hold, attended transfer');
    await page.screenshot({ path: path.join(outDir, 'desk-wrapup.png') });
    await page.getByRole('button', { name: 'Ready' }).click();
    await waitFor(page, () => window.hotlineTest.state === 'available', null, 'state available after Ready');
    const sent = await page.evaluate(() => window.hotlineTest.sent.map((m) => m.type));
    for (const t of ['disposition', 'wrapup_done']) {
      if (!sent.includes(t)) throw new Error(`the page did not send ${t}: sent ${sent.join(',')}`);
    }
    emit('done', { sent });
  } finally {
    pageLog.end();
    await browser.close();
  }
}

runMain(main);
