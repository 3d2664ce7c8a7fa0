// The knowledge panel on the agent page: headless Chromium (Debian's) signs
// in as demo/alice (agent) and
//   - searches "stolen card": the card-blocking article must come first,
//     its matched words in <mark> elements, with the score explained;
//   - searches for an article (created through the API by the Go test)
//     whose title and body hold <img onerror> and <script>: the page must
//     show them as text and never run them (window.pwned stays undefined,
//     no <img>/<script> element appears in the panel), also after opening
//     the whole article;
//   - renders a kb_matches message (what the live transcript will push)
//     through window.hotlineKB.showMatches.
// test/kb_browser_test.go runs this once; it prints "@@event json" lines on
// stdout (the last one "done" or "fail").
//
// Environment: HOTLINE_URL (required), OUT_DIR, CHROMIUM, HEADFUL=1.

import fs from 'node:fs';
import path from 'node:path';
import { emit, launch, log, signIn, waitFor as waitForPage, required, outputDir } from './lib.mjs';

const [base] = required('HOTLINE_URL');
const outDir = outputDir('kb');

async function waitFor(page, fn, arg, what, timeout = 10000) {
  try {
    await waitForPage(page, fn, arg, what, timeout, () => ({
      kb: window.hotlineKB && { searches: window.hotlineKB.searches, lastError: window.hotlineKB.lastError, lastStatus: window.hotlineKB.lastStatus },
      status: document.getElementById('kb-status')?.textContent,
      errors: document.getElementById('errors')?.innerText,
      login: document.getElementById('login-error')?.textContent,
    }));
  } catch (err) {
    await page.screenshot({ path: path.join(outDir, 'kb-failed.png'), fullPage: true }).catch(() => {});
    throw err;
  }
}

function injected(page) {
  return page.evaluate(() => ({
    pwned: typeof window.pwned === 'undefined' ? null : window.pwned,
    elements: document.querySelectorAll('#kb img, #kb script').length,
  }));
}

// results reads the rendered results of a list.
function results(page, listID) {
  return page.evaluate((id) => [...document.querySelectorAll(`#${id} > li.kb-result`)].map((li) => ({
    id: li.dataset.id,
    title: li.querySelector('.kb-title').textContent,
    title_marks: [...li.querySelectorAll('.kb-title mark')].map((m) => m.textContent),
    snippet: li.querySelector('.kb-snippet').textContent,
    snippet_marks: [...li.querySelectorAll('.kb-snippet mark')].map((m) => m.textContent),
    why: li.getAttribute('title'),
  })), listID);
}

async function search(page, text, n) {
  await page.getByLabel('Search knowledge').fill(text);
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await waitFor(page, (k) => window.hotlineKB.searches >= k, n, `search ${n} ("${text}")`);
  await waitFor(page, () => document.querySelectorAll('#kb-results > li').length > 0, null, `results of "${text}"`);
}

const browser = await launch();
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  const page = await context.newPage();
  const pageLog = fs.createWriteStream(path.join(outDir, 'page-kb-alice.log'));
  page.on('console', (m) => pageLog.write(`console.${m.type()}: ${m.text()}\n`));
  page.on('pageerror', (e) => { pageLog.write(`pageerror: ${e.message}\n`); log('page error:', e.message); });
  await signIn(page, base + '/', 'demo', 'alice', 'alice-demo');
  await waitFor(page, () => window.hotlineKB && !document.getElementById('kb').hidden, null, 'the knowledge panel', 15000);

  await search(page, 'stolen card', 1);
  const stolen = await results(page, 'kb-results');
  await page.locator('#kb-results > li').first().locator('summary').click();
  const whyLines = await page.evaluate(() => [...document.querySelectorAll('#kb-results > li:first-child .kb-why li')].map((li) => li.textContent));
  await page.screenshot({ path: path.join(outDir, 'kb-stolen-card.png'), fullPage: true });
  emit('stolen', { results: stolen, why_lines: whyLines });

  await search(page, 'gold plated widget fee', 2);
  const xss = await results(page, 'kb-results');
  await page.locator('#kb-results > li').first().getByRole('button', { name: 'Show article' }).click();
  await waitFor(page, () => window.hotlineKB.opened >= 1, null, 'the opened article');
  const body = await page.evaluate(() => document.querySelector('#kb-results > li:first-child .kb-body').textContent);
  await page.waitForTimeout(300); // an onerror would have fired by now
  await page.screenshot({ path: path.join(outDir, 'kb-markup.png'), fullPage: true });
  emit('markup', { results: xss, body, ...(await injected(page)) });

  // What the live transcript will push over the agent WebSocket.
  const pushed = await page.evaluate(async () => {
    const res = await fetch('/api/v1/kb/articles?q=' + encodeURIComponent('I forgot my PIN'), { credentials: 'same-origin' });
    const data = await res.json();
    window.hotlineKB.showMatches({ type: 'kb_matches', call: 'c1', text: 'I forgot my PIN', matches: data.results.slice(0, 2) });
    return null;
  });
  void pushed;
  const live = await results(page, 'kb-live');
  emit('pushed', { results: live, visible: await page.locator('#kb-live-wrap').isVisible() });
  emit('done');
} catch (err) {
  log('fail:', err.message);
  emit('fail', { message: err.message });
} finally {
  await browser.close();
}
