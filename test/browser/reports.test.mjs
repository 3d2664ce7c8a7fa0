// The supervisor's side of the reports page test: headless Chromium
// (Debian's) signs in on /reports, reads the queue and agent reports,
// searches for a call by the caller's number, opens it, and checks its
// timeline and that its recording loads in the <audio> player.
// test/reports_browser_test.go makes the call first and runs this once; it
// prints "@@event json" lines on stdout (the last one "done" or "fail")
// and takes no commands.
//
// Environment:
//   HOTLINE_URL   the server's http://127.0.0.1:PORT (required)
//   CALLER        the caller's number to search for (required)
//   QUEUE         the queue the call went through (default general)
//   OUT_DIR       where screenshots and the page log go (default: a temp dir)
//   CHROMIUM      the browser (default /usr/bin/chromium)
//   SUPER_TENANT, SUPER_USER, SUPER_PASSWORD   (default demo / sam / sam-demo)
//   HEADFUL=1     show the browser (needs a display)

import fs from 'node:fs';
import path from 'node:path';
import { emit, launch, log, signIn, waitFor as waitForPage, runMain, outputDir, newLoggedPage, watchCSP } from './lib.mjs';

const base = process.env.HOTLINE_URL;
const caller = process.env.CALLER;
if (!base || !caller) {
  console.error('HOTLINE_URL and CALLER must be set');
  process.exit(2);
}
const queue = process.env.QUEUE || 'general';
const outDir = outputDir('reports');
const tenant = process.env.SUPER_TENANT || 'demo';
const user = process.env.SUPER_USER || 'sam';
const password = process.env.SUPER_PASSWORD || 'sam-demo';

async function waitFor(page, fn, arg, what, timeout = 20000) {
  try {
    await waitForPage(page, fn, arg, what, timeout, () => ({
      loads: window.hotlineReports?.loads, errors: document.getElementById('errors')?.innerText,
      search: document.getElementById('search-status')?.innerText,
    }));
  } catch (err) {
    await page.screenshot({ path: path.join(outDir, 'reports-failed.png'), fullPage: true }).catch(() => {});
    throw err;
  }
}

async function run(page) {
  await signIn(page, base + '/reports', tenant, user, password);
  await waitFor(page, () => window.hotlineReports && window.hotlineReports.loads > 0, null, 'the first reports');

  // One queue: pick it and wait for the reports to load again.
  const loads = await page.evaluate(() => window.hotlineReports.loads);
  await page.getByLabel('Queue', { exact: true }).selectOption(queue);
  await page.getByRole('button', { name: 'Show reports' }).click();
  await waitFor(page, (n) => window.hotlineReports.loads > n, loads, `the ${queue} reports`);
  const text = (id) => page.locator(`#${id}`).innerText();
  const totals = {
    offered: await text('t-offered'), answered: await text('t-answered'), abandoned: await text('t-abandoned'),
    abandon_rate: await text('t-abandon-rate'), service_level: await text('t-sl'), asa: await text('t-asa'), aht: await text('t-aht'),
  };
  const intervals = await page.$$eval('#intervals tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
  const agents = await page.$$eval('#agents tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
  const csv = {
    queue: await page.getByRole('link', { name: 'Download queue report (CSV)' }).getAttribute('href'),
    agents: await page.getByRole('link', { name: 'Download agent report (CSV)' }).getAttribute('href'),
  };
  // The CSV link is followed in the page, with the page's cookie.
  const csvText = await page.evaluate(async (href) => (await fetch(href)).text(), csv.queue);
  await page.screenshot({ path: path.join(outDir, 'reports.png'), fullPage: true });
  // Empty quarter hours are hidden until asked for.
  await page.getByLabel('Show empty intervals').check();
  const allIntervals = await page.locator('#intervals tbody tr').count();
  await page.getByLabel('Show empty intervals').uncheck();
  emit('reports', { totals, intervals, all_intervals: allIntervals, agents, csv, csv_lines: csvText.trim().split('\n').length });

  // Agent assist: checklist completion and the robot's containment.
  await waitFor(page, () => window.hotlineAssistReport && window.hotlineAssistReport.loads > 0, null, 'the agent assist section');
  emit('assist', {
    checklists: await page.$$eval('#checklist-rates tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent))),
    containment: await text('ask-containment'),
    intents: await page.$$eval('#ask-intents tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent))),
  });

  // Search by the caller's number and open the call.
  await page.getByLabel('Number').fill(caller);
  await page.getByRole('button', { name: 'Search' }).click();
  await waitFor(page, () => !document.getElementById('calls').hidden
    || /No calls/.test(document.getElementById('search-status').textContent), null, 'the search results');
  const rows = await page.$$eval('#calls tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
  emit('search', { rows });
  if (rows.length !== 1) throw new Error(`the search for ${caller} found ${rows.length} calls, want 1`);
  await page.getByRole('button', { name: `Show call from ${caller}` }).click();
  await waitFor(page, () => !document.getElementById('call-view').hidden
    && document.querySelectorAll('#timeline li').length > 0, null, 'the call timeline');
  const timeline = await page.$$eval('#timeline li', (lis) => lis.map((li) => ({ kind: li.dataset.kind, text: li.textContent })));

  // The recording: the player is given its src once the metadata says
  // there is one; the metadata loading proves the WAV decodes.
  await waitFor(page, () => !document.getElementById('recording').hidden
    || !document.getElementById('no-recording').hidden, null, 'the recording section');
  const noRecording = await page.locator('#no-recording').isVisible();
  if (noRecording) throw new Error(`no recording shown: ${await text('no-recording')}`);
  await waitFor(page, () => {
    const a = document.getElementById('player');
    return a.readyState >= 1 || a.error;
  }, null, 'the recording metadata', 20000);
  const audio = await page.evaluate(() => {
    const a = document.getElementById('player');
    return { src: a.currentSrc, duration: a.duration, error: a.error && a.error.message, ready: a.readyState };
  });
  const spans = await page.$$eval('#paused-spans li', (lis) => lis.map((li) => li.textContent));
  const facts = await text('call-facts');
  await page.locator('#call-view').screenshot({ path: path.join(outDir, 'reports-call.png') });
  await page.screenshot({ path: path.join(outDir, 'reports-search.png'), fullPage: true });
  emit('call', { timeline, audio, spans, facts, title: await text('call-title') });
  if (audio.error || !(audio.duration > 0)) throw new Error(`the recording does not play: ${JSON.stringify(audio)}`);
}

async function main() {
  const browser = await launch();
  const pageLog = fs.createWriteStream(path.join(outDir, 'page-reports.log'));
  try {
    const page = await newLoggedPage(browser, pageLog, { width: 1280, height: 900 });
    page.on('response', (r) => { if (r.status() >= 400) pageLog.write(`http ${r.status()}: ${r.url()}\n`); });
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
