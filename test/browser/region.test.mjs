// Region routing on the agent page (docs/flows.md, "Regions"): headless
// Chromium (Debian's) signs in as demo/bob, who serves the west and
// europe regions, and goes Available; a caller from +1415 (west) is
// offered to him although alice, who joined first, is available too. The
// offer card shows the caller's region, the answered call's title shows
// it after the caller, and the page hears the caller's 440 Hz tone.
// test/region_browser_test.go runs it; it prints "@@event json" lines on
// stdout (the last one "done" or "fail").
//
// The two sides pace each other with files in OUT_DIR: this script
// writes page-NAME when it reaches a step, and waits for go-NAME from the
// Go side:
//   page-available   bob is Available (the Go side may call now)
//   page-talking     the call is connected and the page hears the caller
//   go-hangup        the Go side has checked what the caller hears: hang up
//   go-abort         the Go side failed: stop
//
// Environment:
//   HOTLINE_URL   the server's http://127.0.0.1:PORT (required)
//   OUT_DIR       where the steps, tone WAV, screenshots and the page log go (required)
//   CHROMIUM      the browser (default /usr/bin/chromium)
//   AGENT_USER, AGENT_PASSWORD   (default bob / bob-demo)
//   TONE_HZ       the agent's microphone tone (default 1000)

import fs from 'node:fs';
import path from 'node:path';
import {
  agentWaitFor, emit, goAvailable, hearsTone, launchWithTone, newLoggedPage, pacer, runMain, watchAbort,
} from './lib.mjs';

const base = process.env.HOTLINE_URL;
const outDir = process.env.OUT_DIR;
if (!base || !outDir) {
  console.error('HOTLINE_URL and OUT_DIR must be set');
  process.exit(2);
}
fs.mkdirSync(outDir, { recursive: true });
const user = process.env.AGENT_USER || 'bob';
const password = process.env.AGENT_PASSWORD || 'bob-demo';
const toneHz = Number(process.env.TONE_HZ || 1000);

const { reached, goSays } = pacer(outDir);
const waitFor = agentWaitFor;

async function main() {
  const browser = await launchWithTone(outDir, 'region', toneHz);
  const stopAbortWatch = watchAbort(outDir, browser);
  const pageLog = fs.createWriteStream(path.join(outDir, 'page-region.log'));
  try {
    const page = await newLoggedPage(browser, pageLog, { width: 1100, height: 900 });

    await goAvailable(page, base, user, password);
    reached('available');
    emit('available');

    // The west caller's offer: the card has a Region row.
    await waitFor(page, () => !document.getElementById('offer-panel').hidden, null, 'the offer card', 45000);
    const offer = await page.evaluate(() => ({
      last: window.hotlineTest.lastOffer,
      shown: document.getElementById('offer-caller').textContent,
      queue: document.getElementById('offer-queue').textContent,
      region: document.getElementById('offer-region')?.textContent ?? null,
      label: document.getElementById('offer-region')?.previousElementSibling?.textContent ?? null,
    }));
    await page.screenshot({ path: path.join(outDir, 'region-offer.png') });
    emit('offer', offer);

    await page.getByRole('button', { name: 'Answer' }).click();
    await waitFor(page, () => window.hotlineTest.call && window.hotlineTest.call.connected, null, 'the call to connect', 30000);
    const heard = await hearsTone(page, 440);
    const call = await page.evaluate(() => ({
      id: window.hotlineTest.call.id,
      title: document.getElementById('call-title').textContent,
      region: document.getElementById('call-region')?.textContent ?? null,
    }));
    await page.screenshot({ path: path.join(outDir, 'region-call.png') });
    emit('talking', { heard, ...call, codec: await page.evaluate(() => window.hotlineTest.codec()) });
    reached('talking');

    await goSays('hangup');
    await page.getByRole('button', { name: 'Hang up' }).click();
    await waitFor(page, () => !document.getElementById('wrap-panel').hidden, null, 'the wrap-up panel');
    await page.getByLabel('Resolved').check();
    await page.getByRole('button', { name: 'Ready' }).click();
    await waitFor(page, () => window.hotlineTest.state === 'available', null, 'state available after Ready');
    emit('done', { sent: await page.evaluate(() => window.hotlineTest.sent.map((m) => m.type)) });
  } finally {
    stopAbortWatch();
    pageLog.end();
    await browser.close();
  }
}

runMain(main);
