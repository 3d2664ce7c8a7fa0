// A survey after a call answered on the agent page (docs/surveys.md):
// headless Chromium (Debian's) signs in as demo/alice and goes Available;
// the Go side (test/survey_browser_test.go) calls the demo line, takes
// the accounts path (2, an account number) and waits in the accounts
// queue, whose calls get the csat survey. Alice answers, the page hears
// the caller's 440 Hz tone, she hangs up on the page and wraps up; the
// caller, still on the line, answers the survey. Then sam, a supervisor,
// signs in on /reports in the same Chromium and reads the caller
// satisfaction table by agent. It prints "@@event json" lines on stdout
// (the last one "done" or "fail").
//
// The two sides pace each other with files in OUT_DIR: this script
// writes page-NAME when it reaches a step, and waits for go-NAME from the
// Go side:
//   page-available   alice is Available
//   page-talking     the call is connected and the page hears the caller
//   go-hangup        the Go side has checked what the caller hears: hang up
//   page-wrapped     alice hung up and is Available again after wrap-up
//   go-report        the survey is answered: read the reports page
//   go-abort         the Go side failed: stop
//
// Environment:
//   HOTLINE_URL   the server's http://127.0.0.1:PORT (required)
//   OUT_DIR       where the steps, tone WAV, screenshots and the page log go (required)
//   CHROMIUM      the browser (default /usr/bin/chromium)
//   TONE_HZ       the agent's microphone tone (default 1000)

import fs from 'node:fs';
import path from 'node:path';
import {
  agentWaitFor, emit, goAvailable, hearsTone, launchWithTone, log, pacer, runMain, signIn, waitFor as waitForPage, watchAbort,
} from './lib.mjs';

const base = process.env.HOTLINE_URL;
const outDir = process.env.OUT_DIR;
if (!base || !outDir) {
  console.error('HOTLINE_URL and OUT_DIR must be set');
  process.exit(2);
}
fs.mkdirSync(outDir, { recursive: true });
const toneHz = Number(process.env.TONE_HZ || 1000);

const { reached, goSays } = pacer(outDir);
const waitFor = agentWaitFor;

// csatTable reads the reports page's caller satisfaction table.
const csatTable = (page) => page.evaluate(() => ({
  key: document.getElementById('csat-key').textContent,
  rows: [...document.querySelectorAll('#csat tbody tr')].map((tr) => [...tr.cells].map((c) => c.textContent)),
  total: [...document.querySelectorAll('#csat tfoot tr')].map((tr) => [...tr.cells].map((c) => c.textContent))[0] || [],
}));

async function main() {
  const browser = await launchWithTone(outDir, 'survey', toneHz);
  const stopAbortWatch = watchAbort(outDir, browser);
  const pageLog = fs.createWriteStream(path.join(outDir, 'page-survey.log'));
  const watch = (page, who) => {
    page.on('console', (m) => pageLog.write(`${who} console.${m.type()}: ${m.text()}\n`));
    page.on('pageerror', (e) => { pageLog.write(`${who} pageerror: ${e.message}\n`); log(who, 'page error:', e.message); });
  };
  try {
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    const page = await context.newPage();
    watch(page, 'alice');

    await goAvailable(page, base, 'alice', 'alice-demo');
    reached('available');
    emit('available');

    await waitFor(page, () => !document.getElementById('offer-panel').hidden, null, 'the offer card', 60000);
    const offer = await page.evaluate(() => ({
      last: window.hotlineTest.lastOffer,
      shown: document.getElementById('offer-caller').textContent,
      queue: document.getElementById('offer-queue').textContent,
    }));
    emit('offer', offer);
    await page.getByRole('button', { name: 'Answer' }).click();
    await waitFor(page, () => window.hotlineTest.call && window.hotlineTest.call.connected, null, 'the call to connect', 30000);
    const heard = await hearsTone(page, 440);
    const call = await page.evaluate(() => window.hotlineTest.call.id);
    await page.screenshot({ path: path.join(outDir, 'survey-call.png') });
    emit('talking', { heard, call, title: await page.textContent('#call-title') });
    reached('talking');

    // Alice hangs up; the caller stays on the line for the survey while
    // she wraps up.
    await goSays('hangup');
    await page.getByRole('button', { name: 'Hang up' }).click();
    await waitFor(page, () => !document.getElementById('wrap-panel').hidden, null, 'the wrap-up panel');
    await page.getByLabel('Resolved').check();
    await page.getByRole('button', { name: 'Ready' }).click();
    await waitFor(page, () => window.hotlineTest.state === 'available', null, 'state available after Ready');
    const sent = await page.evaluate(() => window.hotlineTest.sent.map((m) => m.type));
    emit('wrapped', { sent });
    reached('wrapped');

    // The supervisor's reports page, once the survey is answered.
    await goSays('report', 120000);
    const reports = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    watch(reports, 'sam');
    await signIn(reports, base + '/reports', 'demo', 'sam', 'sam-demo');
    await waitForPage(reports, () => window.hotlineCSAT && window.hotlineCSAT.loads > 0 && window.hotlineCSAT.report, null,
      'the CSAT table', 20000, () => ({
        loads: window.hotlineCSAT?.loads, status: document.getElementById('csat-status')?.innerText,
        errors: document.getElementById('errors')?.innerText,
      }));
    const csat = await csatTable(reports);
    await reports.locator('#csat-section').scrollIntoViewIfNeeded();
    await reports.locator('#csat-section').screenshot({ path: path.join(outDir, 'survey-csat.png') });
    emit('csat', csat);
    emit('done');
  } finally {
    stopAbortWatch();
    pageLog.end();
    await browser.close();
  }
}

runMain(main);
