// What the browser test scripts share: the "@@event json" protocol with
// the Go side, Debian's headless Chromium, signing in on one of our pages,
// and waiting for the page with a useful message when it does not come.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export function emit(event, data = {}) {
  process.stdout.write(`@@${event} ${JSON.stringify(data)}\n`);
}

export function log(...args) {
  console.error(new Date().toISOString().slice(11, 23), ...args);
}

// launch starts Chromium (CHROMIUM, default Debian's; HEADFUL=1 shows it)
// with extra command-line flags.
export function launch(extraArgs = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: process.env.HEADFUL !== '1',
    args: [
      ...(process.env.HEADFUL === '1' ? [] : ['--headless=new']),
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ...extraArgs,
    ],
  });
}

// signIn fills a page's sign-in form (the agent page, the wallboard and
// the reports share it).
export async function signIn(page, url, tenant, user, password) {
  await page.goto(url);
  await page.getByLabel('Tenant').fill(tenant);
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

// waitFor waits for fn(arg) in the page; on timeout the error carries
// describe()'s view of the page state.
export async function waitFor(page, fn, arg, what, timeout, describe) {
  try {
    await page.waitForFunction(fn, arg, { timeout, polling: 100 });
  } catch {
    const st = await page.evaluate(describe).catch(() => ({}));
    throw new Error(`timed out waiting for ${what}: page ${JSON.stringify(st)}`);
  }
}

// required is the values of the environment variables a script cannot
// run without; a missing one ends the script with status 2.
export function required(...names) {
  const values = names.map((n) => process.env[n]);
  if (values.some((v) => !v)) {
    console.error(`${names.join(' and ')} must be set`);
    process.exit(2);
  }
  return values;
}

// outputDir is where screenshots and logs go: OUT_DIR, else a new
// temporary directory hotline-NAME-*.
export function outputDir(name) {
  const dir = process.env.OUT_DIR || fs.mkdtempSync(path.join(os.tmpdir(), `hotline-${name}-`));
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

// toneWAV writes a mono 16-bit WAV of a sine at hz, which Chromium loops
// as the fake microphone (--use-file-for-fake-audio-capture).
export function toneWAV(file, hz, seconds = 10, rate = 48000) {
  const n = seconds * rate;
  const buf = Buffer.alloc(44 + 2 * n);
  buf.write('RIFF', 0);
  buf.writeUInt32LE(36 + 2 * n, 4);
  buf.write('WAVEfmt ', 8);
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20); // PCM
  buf.writeUInt16LE(1, 22); // mono
  buf.writeUInt32LE(rate, 24);
  buf.writeUInt32LE(rate * 2, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36);
  buf.writeUInt32LE(2 * n, 40);
  for (let i = 0; i < n; i++) {
    buf.writeInt16LE(Math.round(0.4 * 32767 * Math.sin((2 * Math.PI * hz * i) / rate)), 44 + 2 * i);
  }
  fs.writeFileSync(file, buf);
}

// launchWithMic launches Chromium for the agent page: media allowed
// without asking, autoplay on, and a microphone that loops the WAV file.
export function launchWithMic(wav) {
  return launch([
    '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
    `--use-file-for-fake-audio-capture=${wav}`, '--autoplay-policy=no-user-gesture-required',
  ]);
}

// launchWithTone is launchWithMic with a microphone that loops a hz tone
// (outDir/tone-HZ-NAME.wav).
export function launchWithTone(outDir, name, hz) {
  const wav = path.join(outDir, `tone-${hz}-${name}.wav`);
  toneWAV(wav, hz);
  return launchWithMic(wav);
}

// watchAbort ends the script as soon as the Go side writes go-abort in
// outDir, whatever the script is waiting for: a "fail" event, Chromium
// closed, status 1. It returns the function that stops watching.
export function watchAbort(outDir, browser) {
  const timer = setInterval(() => {
    if (!fs.existsSync(path.join(outDir, 'go-abort'))) return;
    clearInterval(timer);
    emit('fail', { error: 'aborted by the Go side' });
    browser.close().finally(() => process.exit(1));
  }, 200);
  return () => clearInterval(timer);
}

// newLoggedPage opens a page of viewport size whose console and errors
// go to pageLog (a stream); page errors are logged as well.
export async function newLoggedPage(browser, pageLog, viewport) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.on('console', (m) => pageLog.write(`console.${m.type()}: ${m.text()}\n`));
  page.on('pageerror', (e) => { pageLog.write(`pageerror: ${e.message}\n`); log('page error:', e.message); });
  return page;
}

// watchCSP collects the page's Content Security Policy violations (they
// are console errors) and returns a check that throws if there were any,
// so a blocked script or style does not pass unnoticed.
export function watchCSP(page) {
  const csp = [];
  page.on('console', (m) => { if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) csp.push(m.text()); });
  return () => {
    if (csp.length) throw new Error(`CSP violations: ${csp.join('; ')}`);
  };
}

// runMain runs a script's main and exits: 0 when it resolves, else 1
// after a "fail" event the Go side reads.
export function runMain(main) {
  main().then(() => process.exit(0), (err) => {
    emit('fail', { error: err.message });
    log(err.stack || err.message);
    process.exit(1);
  });
}

// pacer lets a script and its Go test take turns through files in outDir:
// the script writes page-STEP when it reaches a step and waits for the Go
// side's go-STEP (go-abort: the Go side failed, stop).
export function pacer(outDir) {
  return {
    reached(step) {
      fs.writeFileSync(path.join(outDir, `page-${step}`), new Date().toISOString());
    },
    async goSays(step, timeoutMs = 60000) {
      const file = path.join(outDir, `go-${step}`);
      for (const end = Date.now() + timeoutMs; Date.now() < end;) {
        if (fs.existsSync(file)) return;
        if (fs.existsSync(path.join(outDir, 'go-abort'))) throw new Error(`aborted by the Go side waiting for ${step}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`the Go side did not say ${step} within ${timeoutMs} ms`);
    },
  };
}

// agentWaitFor is waitFor on the agent page, describing its softphone
// state (window.hotlineTest) when it times out.
export function agentWaitFor(page, fn, arg, what, timeout = 20000) {
  return waitFor(page, fn, arg, what, timeout, () => ({
    state: window.hotlineTest?.state, call: window.hotlineTest?.call,
    received: window.hotlineTest?.received.slice(-6), errors: document.getElementById('errors')?.innerText,
  }));
}

// goAvailable signs in on the agent page (tenant demo) and goes
// Available, once the softphone's socket has said hello: before that the
// checkbox would not reach the server.
export async function goAvailable(page, base, user, password) {
  await signIn(page, base + '/', 'demo', user, password);
  await agentWaitFor(page, () => window.hotlineTest && window.hotlineTest.connected
    && window.hotlineTest.received.some((m) => m.type === 'hello'), null, 'the hello message');
  await page.getByLabel('Available').check();
  await agentWaitFor(page, () => window.hotlineTest.state === 'available', null, 'state available');
}

// shotOnTimeout is waitFor with describe and a default timeout, that
// also leaves outDir/NAME-failed.png when it times out: a supervisor
// page's state is easier read from a picture.
export function shotOnTimeout(outDir, name, describe, defaultTimeout = 10000) {
  return async (page, fn, arg, what, timeout = defaultTimeout) => {
    try {
      await waitFor(page, fn, arg, what, timeout, describe);
    } catch (err) {
      await page.screenshot({ path: path.join(outDir, `${name}-failed.png`), fullPage: true }).catch(() => {});
      throw err;
    }
  };
}

// hearsTone waits (up to timeoutMs) until the agent page's remote audio
// has its dominant frequency within 15 Hz of hz, and returns the last
// measurement.
export async function hearsTone(page, hz, timeoutMs = 10000) {
  let heard = 0;
  for (const end = Date.now() + timeoutMs; Date.now() < end;) {
    heard = await page.evaluate(() => window.hotlineTest.dominantFrequency(1000));
    if (Math.abs(heard - hz) <= 15) break;
  }
  return heard;
}
