// Agent assist end to end (docs/transcripts.md, docs/checklists.md): headless
// Chromium (Debian's) signs in as demo/alice and goes Available; a SIPp
// caller said "I lost my credit card" at the main menu and keyed the
// account number and PIN, which the IVR verified, and now talks to alice.
// Alice's microphone is a WAV of her speaking (AGENT_WAV). The page must
// show, while the call goes on:
//   - transcript lines of the caller (and of alice) as the server's speech
//     workers finish them, from the call's media, not the browser;
//   - the lost-card checklist with "Verify identity" ticked, its evidence
//     naming the IVR step pin_verified;
//   - the card-blocking article at the top of the suggestions.
// test/assist_browser_test.go runs it; it prints "@@event json" lines on
// stdout (the last one "done" or "fail").
//
// Pacing with the Go side (files in OUT_DIR): page-available (call now),
// page-talking (connected), page-assisted (all seen), go-hangup.
//
// Environment: HOTLINE_URL, OUT_DIR (required), AGENT_WAV (required),
// CHROMIUM, AGENT_USER/AGENT_PASSWORD (alice / alice-demo).

import fs from 'node:fs';
import path from 'node:path';
import { agentWaitFor, emit, launch, log, pacer, signIn } from './lib.mjs';

const base = process.env.HOTLINE_URL;
const outDir = process.env.OUT_DIR;
const agentWAV = process.env.AGENT_WAV;
if (!base || !outDir || !agentWAV) {
  console.error('HOTLINE_URL, OUT_DIR and AGENT_WAV must be set');
  process.exit(2);
}
fs.mkdirSync(outDir, { recursive: true });
const user = process.env.AGENT_USER || 'alice';
const password = process.env.AGENT_PASSWORD || 'alice-demo';
const { reached, goSays } = pacer(outDir);

function assistState() {
  const tr = window.hotlineTranscript || { lines: [] };
  const cl = window.hotlineChecklist || {};
  const live = [...document.querySelectorAll('#kb-live li.kb-result')].map((li) => li.dataset.id);
  const marks = [...document.querySelectorAll('#kb-live li.kb-result:first-child mark')].map((m) => m.textContent);
  const ctx = window.hotlineContext || {};
  return {
    lines: tr.lines.map((l) => ({ side: l.side, text: l.text, start_ms: l.start_ms, end_ms: l.end_ms, at: l.at, seen: l.seenAt || null })),
    shown: [...document.querySelectorAll('#transcript .tr-text')].map((e) => e.textContent),
    checklist: cl.checklist || null,
    checklistShown: !document.getElementById('checklist').hidden,
    cards: live,
    marks,
    context: ctx.context || null,
  };
}

async function main() {
  const browser = await launch([
    '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
    `--use-file-for-fake-audio-capture=${agentWAV}`, '--autoplay-policy=no-user-gesture-required',
  ]);
  const abortWatch = setInterval(() => {
    if (!fs.existsSync(path.join(outDir, 'go-abort'))) return;
    clearInterval(abortWatch);
    emit('fail', { error: 'aborted by the Go side' });
    browser.close().finally(() => process.exit(1));
  }, 200);
  const pageLog = fs.createWriteStream(path.join(outDir, 'page-assist.log'));
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    const page = await context.newPage();
    page.on('console', (m) => pageLog.write(`console.${m.type()}: ${m.text()}\n`));
    page.on('pageerror', (e) => { pageLog.write(`pageerror: ${e.message}\n`); log('page error:', e.message); });
    // When each transcript line reaches the page, for the latency figure.
    await page.addInitScript(() => {
      window.addEventListener('DOMContentLoaded', () => {
        const stamp = () => {
          const tr = window.hotlineTranscript;
          if (!tr) return;
          for (const l of tr.lines) if (!l.seenAt) l.seenAt = Date.now();
        };
        new MutationObserver(stamp).observe(document.body, { childList: true, subtree: true });
      });
    });

    await signIn(page, base + '/', 'demo', user, password);
    await agentWaitFor(page, () => window.hotlineTest && window.hotlineTest.connected
      && window.hotlineTest.received.some((m) => m.type === 'hello'), null, 'the hello message');
    await page.getByLabel('Available').check();
    await agentWaitFor(page, () => window.hotlineTest.state === 'available', null, 'state available');
    reached('available');
    emit('available');

    await agentWaitFor(page, () => !document.getElementById('offer-panel').hidden, null, 'the offer card', 120000);
    // The caller context is there before answering.
    await agentWaitFor(page, () => window.hotlineContext && window.hotlineContext.context, null, 'the caller context', 10000).catch(() => {});
    emit('offer', { context: await page.evaluate(() => (window.hotlineContext && window.hotlineContext.context) || null) });
    await page.getByRole('button', { name: 'Answer' }).click();
    await agentWaitFor(page, () => window.hotlineTest.call && window.hotlineTest.call.connected, null, 'the call to connect', 30000);
    const callID = await page.evaluate(() => window.hotlineTest.call.id);
    reached('talking');
    emit('talking', { id: callID });

    // The checklist comes with the answer; the transcript and the cards
    // follow the caller's words.
    await agentWaitFor(page, () => {
      const cl = window.hotlineChecklist && window.hotlineChecklist.checklist;
      return cl && cl.steps.some((s) => s.id === 'verify-identity' && s.done);
    }, null, 'the lost-card checklist with identity verified', 30000);
    await agentWaitFor(page, () => window.hotlineTranscript
      && window.hotlineTranscript.lines.some((l) => l.side === 'caller'), null, 'a caller line in the transcript', 90000);
    await agentWaitFor(page, () => document.querySelector('#kb-live li.kb-result'), null, 'knowledge suggestions', 30000);
    // Let a few more lines come (both sides), for the latency figures.
    await page.waitForTimeout(8000);
    const state = await page.evaluate(assistState);
    await page.screenshot({ path: path.join(outDir, 'assist.png'), fullPage: true });
    emit('assist', state);
    reached('assisted');

    await goSays('hangup');
    await page.getByRole('button', { name: 'Hang up' }).click().catch(() => {});
    await agentWaitFor(page, () => !document.getElementById('wrap-panel').hidden, null, 'the wrap-up panel');
    await page.getByLabel('Resolved').check();
    await page.getByRole('button', { name: 'Ready' }).click();
    emit('done', {});
  } finally {
    clearInterval(abortWatch);
    pageLog.end();
    await browser.close();
  }
}

main().then(() => process.exit(0), (err) => {
  emit('fail', { error: err.message });
  log(err.stack || err.message);
  process.exit(1);
});
