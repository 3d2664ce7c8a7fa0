// Click to call on the agent page (docs/outbound.md): headless Chromium
// (Debian's) signs in as demo/alice, goes Available and
//   1. types a bad number and presses Call: the page shows the error, no
//      call is placed;
//   2. dials NUMBER for the general queue with the dial pad box: the call
//      rings and is answered by the carrier (a SIPp UAS that checked our
//      digest answer), shows in the call panel, and the agent hears the
//      callee's tone (their microphone plays TONE_HZ); after a while the
//      agent hangs up and wraps up with a disposition;
//   3. calls the customer number of a ticket with the ticket's Call button,
//      and hangs up once it is answered;
//   4. dials BAD_NUMBER for the cards queue, whose trunk has a wrong
//      password: the page shows that the carrier refused our credentials.
// test/outbound_browser_test.go runs it once; it prints "@@event json"
// lines on stdout (the last one "done" or "fail") and takes no commands.
//
// Environment:
//   HOTLINE_URL   the server's http://127.0.0.1:PORT (required)
//   NUMBER, TICKET_NUMBER, BAD_NUMBER   what to dial (see above)
//   OUT_DIR       where screenshots and the page log go (default: a temp dir)
//   CHROMIUM      the browser (default /usr/bin/chromium)
//   TONE_HZ       the agent's microphone tone (default 1000)
//   HEADFUL=1     show the browser (needs a display)

import fs from 'node:fs';
import path from 'node:path';
import { emit, log, signIn, waitFor as waitForPage, runMain, required, outputDir, launchWithTone, newLoggedPage } from './lib.mjs';

const [base] = required('HOTLINE_URL');
const outDir = outputDir('outbound');
const toneHz = Number(process.env.TONE_HZ || 1000);
const number = process.env.NUMBER || '+15551230001';
const ticketNumber = process.env.TICKET_NUMBER || '+15551230003';
const badNumber = process.env.BAD_NUMBER || '+15551230002';

function waitFor(page, fn, arg, what, timeout = 20000) {
  return waitForPage(page, fn, arg, what, timeout, () => ({
    state: window.hotlineTest?.state, call: window.hotlineTest?.call,
    dial: window.hotlineDial?.history, status: window.hotlineDial?.status,
    errors: document.getElementById('errors')?.innerText,
  }));
}

const dialStates = (page) => page.evaluate(() => window.hotlineDial.history.map((p) => p.state));

async function place(page, num, queue) {
  await page.getByLabel('Number to call').fill(num);
  await page.getByLabel('Call on behalf of queue').selectOption(queue);
  const before = await page.evaluate(() => window.hotlineDial.history.length);
  await page.getByRole('button', { name: 'Call', exact: true }).click();
  return before;
}

// hangUpAndWrapUp ends the call from the page and completes the wrap-up.
async function hangUpAndWrapUp(page, note) {
  await page.getByRole('button', { name: 'Hang up' }).click();
  await waitFor(page, () => !document.getElementById('wrap-panel').hidden, null, 'the wrap-up panel');
  const summary = await page.textContent('#wrap-summary');
  await page.getByLabel('Resolved').check();
  await page.getByLabel('Note').fill(note);
  await page.getByRole('button', { name: 'Ready' }).click();
  await waitFor(page, () => window.hotlineTest.state === 'available', null, 'state available after Ready');
  return summary;
}

async function main() {
  const browser = await launchWithTone(outDir, 'outbound', toneHz);
  const pageLog = fs.createWriteStream(path.join(outDir, 'page-outbound.log'));
  try {
    const page = await newLoggedPage(browser, pageLog, { width: 1100, height: 900 });

    await signIn(page, base + '/', 'demo', 'alice', 'alice-demo');
    await waitFor(page, () => window.hotlineTest && window.hotlineTest.connected
      && window.hotlineTest.received.some((m) => m.type === 'hello'), null, 'the hello message');
    await page.getByLabel('Available').check();
    await waitFor(page, () => window.hotlineTest.state === 'available', null, 'state available');
    emit('available');

    // 1. A bad number.
    let n = await place(page, '555-CALL', '');
    await waitFor(page, (k) => window.hotlineDial.history.length > k, n, 'the answer to a bad number');
    const bad = await page.evaluate(() => ({
      last: window.hotlineDial.last, status: window.hotlineDial.status,
      errors: document.getElementById('errors').innerText,
    }));
    await page.screenshot({ path: path.join(outDir, 'outbound-bad-number.png') });
    emit('bad_number', bad);

    // 2. The call, for the general queue.
    n = await place(page, number, 'general');
    await waitFor(page, (k) => window.hotlineDial.history.slice(k).some((p) => p.state === 'ringing'), n, 'ringing', 20000);
    const ringing = await page.textContent('#dial-status');
    await page.screenshot({ path: path.join(outDir, 'outbound-ringing.png') });
    await waitFor(page, () => window.hotlineTest.call && window.hotlineTest.call.connected, null, 'the call to connect', 30000);
    await page.waitForTimeout(500);
    const heard = await page.evaluate(() => window.hotlineTest.dominantFrequency(1500));
    const shown = await page.textContent('#call-title');
    const call = await page.evaluate(() => window.hotlineTest.call);
    await page.screenshot({ path: path.join(outDir, 'outbound-call.png') });
    emit('talking', { heard, shown, ringing, call: call.id, codec: await page.evaluate(() => window.hotlineTest.codec()) });
    await page.waitForTimeout(2500);
    const summary = await hangUpAndWrapUp(page, 'outbound browser test');
    const sent = await page.evaluate(() => window.hotlineTest.sent.map((m) => m.type));
    emit('hung_up', { call: call.id, summary, sent, states: await dialStates(page) });

    // 3. A ticket's customer number.
    const ticket = await page.evaluate(async (num) => {
      const r = await fetch('/api/v1/tickets', {
        method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ subject: 'Please call back', customer_number: num }),
      });
      return (await r.json()).ticket;
    }, ticketNumber);
    await page.evaluate((id) => { location.hash = `#ticket/${id}`; }, ticket.id);
    const button = page.getByRole('button', { name: `Call ${ticketNumber}` });
    await button.waitFor({ timeout: 10000 });
    n = await page.evaluate(() => window.hotlineDial.history.length);
    await button.click();
    await waitFor(page, () => window.hotlineTest.call && window.hotlineTest.call.connected, null, 'the ticket call to connect', 30000);
    const ticketCall = await page.evaluate(() => window.hotlineTest.call);
    await hangUpAndWrapUp(page, 'called back from the ticket');
    emit('ticket_call', { call: ticketCall.id, caller: ticketCall.caller });

    // 4. The trunk with the wrong password.
    n = await place(page, badNumber, 'cards');
    await waitFor(page, (k) => window.hotlineDial.history.slice(k).some((p) => p.state === 'failed'), n, 'the refused call', 20000);
    const refused = await page.evaluate(() => ({
      last: window.hotlineDial.last, status: window.hotlineDial.status,
      errors: document.getElementById('errors').innerText,
    }));
    await page.screenshot({ path: path.join(outDir, 'outbound-auth-failed.png') });
    emit('auth_failed', refused);
    emit('done');
  } finally {
    pageLog.end();
    await browser.close();
  }
}

runMain(main);
