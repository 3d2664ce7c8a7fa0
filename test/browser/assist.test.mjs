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
import {
  agentWaitFor, emit, goAvailable, launchWithMic, newLoggedPage, pacer, required, runMain, watchAbort,
} from './lib.mjs';

const [base, outDir, agentWAV] = required('HOTLINE_URL', 'OUT_DIR', 'AGENT_WAV');
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
  const browser = await launchWithMic(agentWAV);
  const stopAbortWatch = watchAbort(outDir, browser);
  const pageLog = fs.createWriteStream(path.join(outDir, 'page-assist.log'));
  try {
    const page = await newLoggedPage(browser, pageLog, { width: 1280, height: 1000 });
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

    await goAvailable(page, base, user, password);
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
    stopAbortWatch();
    pageLog.end();
    await browser.close();
  }
}

runMain(main);
