// The Caller panel on the agent page (docs/assist.md, "Caller context"):
// headless Chromium signs in as demo/alice and goes Available; a caller
// from +1212 (region east) presses 0 and is offered to her. Before she
// answers, the panel beside the softphone shows the caller's number, the
// region, the IVR path and choice, a running time in queue and the demo
// CRM's fields; it stays through the call and wrap-up and goes when she
// is Ready. test/context_browser_test.go runs it; it prints "@@event
// json" lines on stdout (the last one "done" or "fail").
//
// Paced with the Go side through files in OUT_DIR:
//   page-available   alice is Available (the Go side may call now)
//   page-talking     the call is connected
//   go-hangup        hang up
//   go-abort         the Go side failed: stop
//
// Environment: HOTLINE_URL, OUT_DIR (required); CHROMIUM; CALLER (the
// number the Go side calls from).

import fs from 'node:fs';
import path from 'node:path';
import {
  agentWaitFor, emit, goAvailable, launchWithTone, newLoggedPage, pacer, required, runMain, watchAbort, watchCSP,
} from './lib.mjs';

const [base, outDir] = required('HOTLINE_URL', 'OUT_DIR');
const caller = process.env.CALLER || '';
fs.mkdirSync(outDir, { recursive: true });
const { reached, goSays } = pacer(outDir);
const waitFor = agentWaitFor;

// panel reads what the Caller panel shows.
function panel() {
  const text = (id) => document.getElementById(id)?.textContent ?? null;
  const root = document.getElementById('caller');
  const crm = {};
  for (const dd of document.querySelectorAll('#caller-crm dd')) crm[dd.dataset.field] = dd.textContent;
  return {
    visible: !!root && !root.hidden && root.getBoundingClientRect().height > 0,
    number: text('caller-number'), region: text('caller-region'), queue: text('caller-queue'),
    wait: text('caller-wait'), path: text('caller-path'),
    choices: [...document.querySelectorAll('#caller-choices li')].map((li) => li.textContent),
    crmStatus: text('caller-crm-status'), crm,
    previous: text('caller-previous-status'),
    hook: window.hotlineContext ? { call: window.hotlineContext.call, pushes: window.hotlineContext.pushes,
      complete: !!window.hotlineContext.context?.complete } : null,
    offerShown: !document.getElementById('offer-panel').hidden,
    // Beside the softphone: the panel's top is above the phone card's bottom.
    beside: (() => {
      const p = document.querySelector('.phone')?.getBoundingClientRect();
      const c = root?.getBoundingClientRect();
      return !!p && !!c && c.top < p.bottom && (c.right <= p.left || c.left >= p.right);
    })(),
  };
}

async function main() {
  const browser = await launchWithTone(outDir, 'context', 1000);
  const stopAbortWatch = watchAbort(outDir, browser);
  const pageLog = fs.createWriteStream(path.join(outDir, 'page-context.log'));
  try {
    const page = await newLoggedPage(browser, pageLog, { width: 1200, height: 1000 });
    const cspOK = watchCSP(page);
    await goAvailable(page, base, 'alice', 'alice-demo');
    if (await page.evaluate(() => !document.getElementById('caller').hidden)) throw new Error('the Caller panel shows with no call');
    reached('available');
    emit('available');

    await waitFor(page, () => !document.getElementById('offer-panel').hidden, null, 'the offer card', 45000);
    // Before answering: the complete context, CRM fields included.
    await waitFor(page, () => window.hotlineContext?.context?.complete
      && document.querySelectorAll('#caller-crm dd').length > 0, null, 'the CRM fields before answering', 15000);
    const first = await page.evaluate(panel);
    await new Promise((r) => setTimeout(r, 1600));
    const later = await page.evaluate(panel);
    await page.screenshot({ path: path.join(outDir, 'context-offer.png') });
    emit('offer', { first, later, caller });

    await page.getByRole('button', { name: 'Answer' }).click();
    await waitFor(page, () => window.hotlineTest.call && window.hotlineTest.call.connected, null, 'the call to connect', 30000);
    const talking = await page.evaluate(panel);
    await new Promise((r) => setTimeout(r, 1200));
    const talkingLater = await page.evaluate(panel);
    emit('talking', { talking, talkingLater });
    reached('talking');

    await goSays('hangup');
    await page.getByRole('button', { name: 'Hang up' }).click();
    await waitFor(page, () => !document.getElementById('wrap-panel').hidden, null, 'the wrap-up panel');
    const wrap = await page.evaluate(panel);
    await page.screenshot({ path: path.join(outDir, 'context-wrap.png') });
    await page.getByLabel('Resolved').check();
    await page.getByRole('button', { name: 'Ready' }).click();
    await waitFor(page, () => window.hotlineTest.state === 'available', null, 'state available after Ready');
    const after = await page.evaluate(panel);
    cspOK();
    emit('done', { wrap, after });
  } finally {
    stopAbortWatch();
    pageLog.end();
    await browser.close();
  }
}

runMain(main);
