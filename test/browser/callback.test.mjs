// A callback on the agent page (docs/callbacks.md): headless Chromium
// (Debian's) signs in as demo/alice, who is on the login break while a
// caller asks for a callback and a second caller waits (the Go side set
// that up before starting this script). Then alice goes Available and
//   1. is offered the callback first: the offer card shows "Callback to
//      <number>"; she answers, Hotline dials the caller's phone (a SIPp
//      UAS echoing its audio) and connects it: the page hears its own
//      microphone tone back through the caller's phone (audio both ways);
//      she hangs up;
//   2. is offered the waiting caller next, and answers and hangs up.
// test/callback_browser_test.go runs it once; it prints "@@event json"
// lines on stdout (the last one "done" or "fail").
//
// Environment:
//   HOTLINE_URL   the server's http://127.0.0.1:PORT (required)
//   OUT_DIR       where screenshots and the page log go (default: a temp dir)
//   CHROMIUM      the browser (default /usr/bin/chromium)
//   TONE_HZ       the agent's microphone tone (default 1000)

import fs from 'node:fs';
import path from 'node:path';
import { emit, log, signIn, waitFor as waitForPage, runMain, required, outputDir, launchWithTone, newLoggedPage } from './lib.mjs';

const [base] = required('HOTLINE_URL');
const outDir = outputDir('callback');
const toneHz = Number(process.env.TONE_HZ || 1000);

function waitFor(page, fn, arg, what, timeout = 20000) {
  return waitForPage(page, fn, arg, what, timeout, () => ({
    state: window.hotlineTest?.state, call: window.hotlineTest?.call,
    errors: document.getElementById('errors')?.innerText,
  }));
}

async function takeOffer(page, what) {
  await waitFor(page, () => !document.getElementById('offer-panel').hidden, null, what, 40000);
  return page.evaluate(() => ({
    last: window.hotlineTest.lastOffer,
    shown: document.getElementById('offer-caller').textContent,
    queue: document.getElementById('offer-queue').textContent,
  }));
}

// hangUp ends the call from the page. The queue has no wrap-up, so the
// next offer may arrive at once: the page shows it over its wrap-up form,
// which is left alone.
async function hangUp(page) {
  await page.getByRole('button', { name: 'Hang up' }).click();
  await waitFor(page, () => !window.hotlineTest.call, null, 'the end of the call');
}

async function main() {
  const browser = await launchWithTone(outDir, 'callback', toneHz);
  const pageLog = fs.createWriteStream(path.join(outDir, 'page-callback.log'));
  try {
    const page = await newLoggedPage(browser, pageLog, { width: 1100, height: 900 });

    await signIn(page, base + '/', 'demo', 'alice', 'alice-demo');
    await waitFor(page, () => window.hotlineTest && window.hotlineTest.connected
      && window.hotlineTest.received.some((m) => m.type === 'hello'), null, 'the hello message');
    await page.getByLabel('Available').check();
    await waitFor(page, () => window.hotlineTest.state !== 'break', null, 'leaving the break');
    emit('available');

    // 1. The callback.
    const offer = await takeOffer(page, 'the callback offer');
    await page.screenshot({ path: path.join(outDir, 'callback-offer.png') });
    emit('offer', offer);
    await page.getByRole('button', { name: 'Answer' }).click();
    await waitFor(page, () => window.hotlineTest.call && window.hotlineTest.call.connected, null, 'the callback to connect', 40000);
    await page.waitForTimeout(1500);
    const heard = await page.evaluate(() => window.hotlineTest.dominantFrequency(1500));
    const call = await page.evaluate(() => window.hotlineTest.call);
    const shown = await page.textContent('#call-title');
    await page.screenshot({ path: path.join(outDir, 'callback-call.png') });
    emit('talking', { heard, shown, call: call.id, codec: await page.evaluate(() => window.hotlineTest.codec()) });
    await page.waitForTimeout(1000);
    await hangUp(page);
    emit('hung_up', { call: call.id });

    // 2. The caller who waited behind the callback.
    const next = await takeOffer(page, 'the waiting caller');
    emit('offer2', next);
    await page.getByRole('button', { name: 'Answer' }).click();
    await waitFor(page, () => window.hotlineTest.call && window.hotlineTest.call.connected, null, 'the caller to connect', 30000);
    await page.waitForTimeout(1000);
    const heard2 = await page.evaluate(() => window.hotlineTest.dominantFrequency(1500));
    emit('talking2', { heard: heard2 });
    await hangUp(page);
    emit('done');
  } finally {
    pageLog.end();
    await browser.close();
  }
}

runMain(main);
