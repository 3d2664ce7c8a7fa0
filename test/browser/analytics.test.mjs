// The analytics page in headless Chromium (Debian's): supervisor sam
// signs in on /analytics, picks the seeded range (FROM..TO), and the page
// must draw every chart with the seeded data, list the keywords and
// intents as text (an intent holding <img onerror> must not run or make an
// element), and its CSV link must download the numbers dialled.
// test/analytics_browser_test.go seeds the rows and checks the figures;
// this prints "@@event json" lines (the last "done" or "fail").
//
// Environment:
//   HOTLINE_URL   the server's http://127.0.0.1:PORT (required)
//   FROM, TO      the range to pick (YYYY-MM-DD)
//   SUPER_TENANT, SUPER_USER, SUPER_PASSWORD   the supervisor
//   OUT_DIR       where screenshots and the page log go (default: a temp dir)
//   CHROMIUM      the browser (default /usr/bin/chromium)

import fs from 'node:fs';
import path from 'node:path';
import { emit, launch, log, signIn, waitFor as waitForPage, required, outputDir } from './lib.mjs';

const [base] = required('HOTLINE_URL');
const outDir = outputDir('analytics');

async function waitFor(page, fn, arg, what, timeout = 15000) {
  try {
    await waitForPage(page, fn, arg, what, timeout, () => ({
      loads: window.hotlineAnalytics && window.hotlineAnalytics.loads,
      errors: document.getElementById('errors')?.innerText,
      login: document.getElementById('login-error')?.textContent,
    }));
  } catch (err) {
    await page.screenshot({ path: path.join(outDir, 'analytics-failed.png'), fullPage: true }).catch(() => {});
    throw err;
  }
}

let browser;
try {
  browser = await launch();
  const context = await browser.newContext({ viewport: { width: 1280, height: 1600 }, acceptDownloads: true });
  const page = await context.newPage();
  const pageLog = fs.createWriteStream(path.join(outDir, 'page-analytics.log'));
  const csp = [];
  page.on('console', (m) => {
    pageLog.write(`console.${m.type()}: ${m.text()}\n`);
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) csp.push(m.text());
  });
  page.on('pageerror', (e) => { pageLog.write(`pageerror: ${e.message}\n`); log('page error:', e.message); });

  await signIn(page, base + '/analytics', process.env.SUPER_TENANT, process.env.SUPER_USER, process.env.SUPER_PASSWORD);
  await waitFor(page, () => window.hotlineAnalytics && window.hotlineAnalytics.loads > 0, null, 'the first load');
  log('signed in; picking', process.env.FROM, '..', process.env.TO);
  await page.fill('#range-from', process.env.FROM);
  await page.fill('#range-to', process.env.TO);
  await page.click('#range-form button[type=submit]');
  await waitFor(page, () => window.hotlineAnalytics.loads > 1, null, 'the picked range');
  await page.screenshot({ path: path.join(outDir, 'analytics.png'), fullPage: true });

  // What each chart drew: Chart.js's elements (bars, points, arcs) per
  // dataset, and the canvas's size in the page.
  const charts = await page.evaluate(() => {
    const out = {};
    for (const c of document.querySelectorAll('canvas[id^="chart-"]')) {
      const ch = window.Chart.getChart(c);
      const name = c.id.slice('chart-'.length);
      if (!ch) { out[name] = null; continue; }
      out[name] = {
        type: ch.config.type, width: c.clientWidth, height: c.clientHeight,
        labels: ch.data.labels,
        datasets: ch.data.datasets.map((d, i) => ({
          label: d.label || '', elements: ch.getDatasetMeta(i).data.length, data: d.data,
          visible: ch.getDatasetMeta(i).data.filter((e) => e && (e.height > 0 || e.width > 0 || e.outerRadius > 0 || (e.y != null && !e.skip))).length,
        })),
      };
    }
    return out;
  });
  const lists = await page.evaluate(() => ({
    keywords: [...document.querySelectorAll('#keywords li .term')].map((e) => e.textContent),
    intents: [...document.querySelectorAll('#intents li .term')].map((e) => e.textContent),
    injected: document.querySelectorAll('#intents img, #keywords img, main img, main script').length,
    pwned: typeof window.pwned === 'undefined' ? null : window.pwned,
    totals: Object.fromEntries(['calls', 'chats', 'abandon', 'csat'].map((k) => [k, document.getElementById(`t-${k}`).textContent])),
    zone: document.getElementById('range-zone').textContent,
  }));
  emit('page', { charts, ...lists, csp });

  // The numbers' CSV, through the link as a supervisor would.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('a[data-series="sources"]')]);
  const file = await download.path();
  emit('csv', { name: download.suggestedFilename(), text: fs.readFileSync(file, 'utf8') });

  emit('done');
} catch (err) {
  emit('fail', { error: String(err && err.stack || err) });
} finally {
  if (browser) await browser.close().catch(() => {});
}
