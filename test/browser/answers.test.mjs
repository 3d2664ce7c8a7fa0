// The learned-answers page: headless Chromium (Debian's) signs in on
// /answers as a supervisor and
//   - opens the one proposal (its question holds <img onerror>, which must
//     show as text and never run),
//   - trims it to 1.0-3.0 s with the trim controls and plays the trimmed
//     preview (the player's duration tells the span it got),
//   - approves it with the keyboard (focus, Enter),
//   - sets a text answer for "balance" through the form.
// test/answers_browser_test.go prepares the call and checks the database;
// this prints "@@event json" lines on stdout (the last "done" or "fail").
//
// Environment: HOTLINE_URL, SUPER_TENANT, SUPER_USER, SUPER_PASSWORD
// (required), OUT_DIR, CHROMIUM, HEADFUL=1.

import fs from 'node:fs';
import path from 'node:path';
import { emit, launch, signIn, shotOnTimeout, required, outputDir, newLoggedPage, watchCSP, runMain } from './lib.mjs';

const [base, tenant, user, password] = required('HOTLINE_URL', 'SUPER_TENANT', 'SUPER_USER', 'SUPER_PASSWORD');
const outDir = outputDir('answers');

const waitFor = shotOnTimeout(outDir, 'answers', () => ({
  answers: window.hotlineAnswers,
  errors: document.getElementById('errors')?.innerText,
  login: document.getElementById('login-error')?.textContent,
  status: document.getElementById('review-status')?.textContent,
}));

runMain(async () => {
  const browser = await launch(['--autoplay-policy=no-user-gesture-required']);
  try {
    const page = await newLoggedPage(browser, fs.createWriteStream(path.join(outDir, 'page-answers.log')), { width: 1280, height: 1000 });
    const cspOK = watchCSP(page);
    await signIn(page, base + '/answers', tenant, user, password);
    await waitFor(page, () => window.hotlineAnswers && window.hotlineAnswers.proposals.length === 1, null, 'the proposal', 15000);

    await page.getByRole('button', { name: /^Review the reply about opening-hours$/ }).click();
    await waitFor(page, () => !document.getElementById('review').hidden, null, 'the review panel');
    await page.getByLabel('Start (s)').fill('1.0');
    await page.getByLabel('End (s)').fill('3.0');
    await page.getByRole('button', { name: 'Preview the trimmed reply' }).click();
    await waitFor(page, () => {
      const p = document.getElementById('review-player');
      return p.readyState >= 1 && Number.isFinite(p.duration) && p.src.includes('start_ms=1000&end_ms=3000');
    }, null, 'the trimmed preview', 15000);
    await page.waitForTimeout(300); // an onerror would have fired by now
    const review = await page.evaluate(() => ({
      question: document.querySelector('#proposals tbody tr td.words').textContent,
      preview_duration: document.getElementById('review-player').duration,
      pwned: typeof window.pwned === 'undefined' ? null : window.pwned,
      images: document.querySelectorAll('main img').length,
    }));
    await page.screenshot({ path: path.join(outDir, 'answers-review.png'), fullPage: true });
    emit('review', review);

    // Approve with the keyboard.
    await page.getByRole('button', { name: 'Approve as the standard answer' }).focus();
    await page.keyboard.press('Enter');
    await waitFor(page, () => window.hotlineAnswers.approved === 1 && window.hotlineAnswers.answers.length === 1, null, 'the approval');

    // A text answer with a variable.
    await page.getByLabel('Intent').fill('balance');
    await page.getByLabel('Text', { exact: true }).fill('Your balance is ${crm.balance}.');
    await page.getByRole('button', { name: 'Save text answer' }).click();
    await waitFor(page, () => window.hotlineAnswers.answers.length === 2, null, 'the text answer');
    await page.screenshot({ path: path.join(outDir, 'answers-approved.png'), fullPage: true });
    emit('approved', await page.evaluate(() => ({
      approved: window.hotlineAnswers.approved,
      answers: window.hotlineAnswers.answers.map((a) => ({ intent: a.intent, kind: a.kind, text: a.text })),
    })));
    cspOK();
    emit('done');
  } finally {
    await browser.close();
  }
});
