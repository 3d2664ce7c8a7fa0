// The CSAT section of the reports page (web/static/surveys.js): headless
// Chromium signs in on /reports as a supervisor, waits for the caller
// satisfaction table, reads it by agent and by day, and takes a
// screenshot. test/survey_test.go runs it after its survey calls; it
// prints "@@event json" lines on stdout (the last one "done" or "fail").
//
// Environment:
//   HOTLINE_URL   the server's http://127.0.0.1:PORT (required)
//   OUT_DIR       where the screenshot and the page log go (default: a temp dir)
//   CHROMIUM      the browser (default /usr/bin/chromium)
//   SUPER_TENANT, SUPER_USER, SUPER_PASSWORD   (default demo / sam / sam-demo)

import fs from 'node:fs';
import path from 'node:path';
import { emit, launch, log, signIn, waitFor as waitForPage, runMain, required, outputDir, newLoggedPage, watchCSP } from './lib.mjs';

const [base] = required('HOTLINE_URL');
const outDir = outputDir('csat');
const tenant = process.env.SUPER_TENANT || 'demo';
const user = process.env.SUPER_USER || 'sam';
const password = process.env.SUPER_PASSWORD || 'sam-demo';

async function waitFor(page, fn, arg, what) {
  try {
    await waitForPage(page, fn, arg, what, 20000, () => ({
      loads: window.hotlineCSAT?.loads, status: document.getElementById('csat-status')?.innerText,
      errors: document.getElementById('errors')?.innerText,
    }));
  } catch (err) {
    await page.screenshot({ path: path.join(outDir, 'csat-failed.png'), fullPage: true }).catch(() => {});
    throw err;
  }
}

const table = (page) => page.evaluate(() => ({
  key: document.getElementById('csat-key').textContent,
  rows: [...document.querySelectorAll('#csat tbody tr')].map((tr) => [...tr.cells].map((c) => c.textContent)),
  total: [...document.querySelectorAll('#csat tfoot tr')].map((tr) => [...tr.cells].map((c) => c.textContent))[0] || [],
  csv: document.getElementById('csat-csv').getAttribute('href'),
}));

async function run(page) {
  await signIn(page, base + '/reports', tenant, user, password);
  await waitFor(page, () => window.hotlineCSAT && window.hotlineCSAT.loads > 0 && window.hotlineCSAT.report, null, 'the CSAT table');
  const byAgent = await table(page);
  await page.locator('#csat-section').scrollIntoViewIfNeeded();
  await page.locator('#csat-section').screenshot({ path: path.join(outDir, 'csat.png') });
  const loads = await page.evaluate(() => window.hotlineCSAT.loads);
  await page.locator('#csat-group').selectOption('day');
  await waitFor(page, (n) => window.hotlineCSAT.loads > n, loads, 'the CSAT table by day');
  emit('csat', { agent: byAgent, day: await table(page) });
}

async function main() {
  const browser = await launch();
  const pageLog = fs.createWriteStream(path.join(outDir, 'page-csat.log'));
  try {
    const page = await newLoggedPage(browser, pageLog, { width: 1280, height: 900 });
    const checkCSP = watchCSP(page);
    await run(page);
    checkCSP();
    emit('done');
  } finally {
    pageLog.end();
    await browser.close();
  }
}

runMain(main);
