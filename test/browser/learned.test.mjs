// The learned answer's approval, as a supervisor does it: headless
// Chromium signs in on /answers, opens the reply proposed for INTENT
// (an agent's reply in a real call, test/learned_answer_test.go), waits
// until the reply's audio is loaded in the player, and approves it as
// proposed with the keyboard. Prints "@@event json" lines on stdout (the
// last "done" or "fail").
//
// Environment: HOTLINE_URL, SUPER_TENANT, SUPER_USER, SUPER_PASSWORD,
// INTENT (required), OUT_DIR, CHROMIUM, HEADFUL=1.

import fs from 'node:fs';
import path from 'node:path';
import { emit, launch, signIn, shotOnTimeout, required, outputDir, newLoggedPage, watchCSP, runMain } from './lib.mjs';

const [base, tenant, user, password, intent] = required('HOTLINE_URL', 'SUPER_TENANT', 'SUPER_USER', 'SUPER_PASSWORD', 'INTENT');
const outDir = outputDir('learned');

const waitFor = shotOnTimeout(outDir, 'learned', () => ({
  answers: window.hotlineAnswers,
  errors: document.getElementById('errors')?.innerText,
  status: document.getElementById('review-status')?.textContent,
}));

runMain(async () => {
  const browser = await launch(['--autoplay-policy=no-user-gesture-required']);
  try {
    const page = await newLoggedPage(browser, fs.createWriteStream(path.join(outDir, 'page-learned.log')), { width: 1280, height: 1000 });
    const cspOK = watchCSP(page);
    await signIn(page, base + '/answers', tenant, user, password);
    await waitFor(page, (i) => window.hotlineAnswers && window.hotlineAnswers.proposals.some((p) => p.intent === i), intent, 'the proposal', 20000);
    const proposal = await page.evaluate((i) => window.hotlineAnswers.proposals.find((p) => p.intent === i), intent);
    emit('proposal', proposal);

    await page.getByRole('button', { name: `Review the reply about ${intent}` }).click();
    await waitFor(page, () => !document.getElementById('review').hidden, null, 'the review panel');
    // The supervisor listens before approving (as proposed, untrimmed).
    await page.getByRole('button', { name: 'Preview the trimmed reply' }).click();
    await waitFor(page, () => {
      const p = document.getElementById('review-player');
      return p.readyState >= 1 && Number.isFinite(p.duration) && p.duration > 0;
    }, null, "the reply's audio", 20000);
    const heard = await page.evaluate(() => document.getElementById('review-player').duration);
    await page.screenshot({ path: path.join(outDir, 'learned-review.png'), fullPage: true });

    await page.getByRole('button', { name: 'Approve as the standard answer' }).focus();
    await page.keyboard.press('Enter');
    await waitFor(page, (i) => window.hotlineAnswers.approved === 1 && window.hotlineAnswers.answers.some((a) => a.intent === i && a.kind === 'audio'),
      intent, 'the approval', 20000);
    await page.screenshot({ path: path.join(outDir, 'learned-approved.png'), fullPage: true });
    emit('approved', { duration: heard, answers: await page.evaluate(() => window.hotlineAnswers.answers.map((a) => ({ intent: a.intent, kind: a.kind, text: a.text }))) });
    cspOK();
    emit('done');
  } finally {
    await browser.close();
  }
});
