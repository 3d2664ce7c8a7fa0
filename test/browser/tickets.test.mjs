// The tickets test on the agent page: headless Chromium (Debian's) signs
// in as four users of two tenants, each in a browser context of its own:
//   - alice (demo agent) creates a ticket whose subject and description
//     hold HTML and script; the page must show them as text and never run
//     them (window.pwned stays undefined, no <img>/<script> element
//     appears in the tickets section);
//   - sam (demo supervisor) finds it in the list, assigns it to bob and
//     comments;
//   - bob (demo agent) finds it under "Assigned to me" and resolves it;
//     alice, no longer its assignee, sees it read-only;
//   - carol (acme agent) gets 404 for its id and its ref, in the page
//     (#ticket/<id>) and from the API.
// test/tickets_browser_test.go runs this once; it prints "@@event json"
// lines on stdout (the last one "done" or "fail") and takes no commands.
//
// Environment:
//   HOTLINE_URL   the server's http://127.0.0.1:PORT (required)
//   OUT_DIR       where screenshots and the page logs go (default: a temp dir)
//   CHROMIUM      the browser (default /usr/bin/chromium)
//   HEADFUL=1     show the browser (needs a display)

import fs from 'node:fs';
import path from 'node:path';
import { emit, launch, log, signIn, waitFor as waitForPage, runMain, required, outputDir } from './lib.mjs';

const [base] = required('HOTLINE_URL');
const outDir = outputDir('tickets');

const IMG = '<img src=x onerror="window.pwned=1">';
const SCRIPT = '<script>window.pwned=2</script>';
const SUBJECT = `Card blocked ${IMG}`;
const DESCRIPTION = `Customer says: ${SCRIPT}\nSecond line ${IMG}`;
const CALL_ID = '6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b';
const COMMENT = `<b>Called back</b> ${IMG} — bob, please take it`;

async function waitFor(page, fn, arg, what, timeout = 10000) {
  try {
    await waitForPage(page, fn, arg, what, timeout, () => ({
      tickets: window.hotlineTickets && {
        loads: window.hotlineTickets.loads, views: window.hotlineTickets.views,
        lastError: window.hotlineTickets.lastError, lastStatus: window.hotlineTickets.lastStatus,
      },
      status: document.getElementById('tickets-status')?.textContent,
      errors: document.getElementById('errors')?.innerText,
      login: document.getElementById('login-error')?.textContent,
    }));
  } catch (err) {
    await page.screenshot({ path: path.join(outDir, 'tickets-failed.png'), fullPage: true }).catch(() => {});
    throw err;
  }
}

// Markup the page made from ticket text would show up as elements.
function injected(page) {
  return page.evaluate(() => ({
    pwned: typeof window.pwned === 'undefined' ? null : window.pwned,
    elements: document.querySelectorAll('#tickets img, #tickets script, #tickets b').length,
  }));
}

async function signedIn(browser, name, tenant, user, url = base + '/') {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  const page = await context.newPage();
  const pageLog = fs.createWriteStream(path.join(outDir, `page-tickets-${user}.log`));
  page.on('console', (m) => pageLog.write(`console.${m.type()}: ${m.text()}\n`));
  page.on('pageerror', (e) => { pageLog.write(`pageerror: ${e.message}\n`); log(`${user} page error:`, e.message); });
  page.on('response', (r) => { if (r.status() >= 400) pageLog.write(`http ${r.status()}: ${r.url()}\n`); });
  page.csp = [];
  page.on('console', (m) => { if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) page.csp.push(m.text()); });
  await signIn(page, url, tenant, user, `${user}-demo`);
  await waitFor(page, () => window.hotlineTickets && window.hotlineTickets.loads > 0, null, `${name}'s ticket list`, 15000);
  return { context, page, pageLog };
}

async function openFromList(page, ref) {
  const views = await page.evaluate(() => window.hotlineTickets.views);
  await page.getByRole('button', { name: `Open ticket ${ref}` }).click();
  await waitFor(page, (n) => window.hotlineTickets.views > n, views, `ticket ${ref}`);
}

async function save(page, what, pred, arg) {
  await page.getByRole('button', { name: 'Save changes' }).click();
  await waitFor(page, pred, arg, what);
}

async function run(browser, sessions) {
  const t0 = Date.now();
  // alice creates the ticket.
  const alice = await signedIn(browser, 'alice', 'demo', 'alice');
  sessions.push(alice);
  let page = alice.page;
  // "New ticket" opens an empty form; the call panel's "Create ticket"
  // (driven through its hook here: this test has no call on the line)
  // prefills the caller's number and links the call.
  await page.getByRole('button', { name: 'New ticket' }).click();
  const blank = await page.getByLabel('Customer number').inputValue();
  await page.getByRole('button', { name: 'Cancel', exact: true }).click();
  await page.evaluate((id) => window.hotlineTickets.createFrom({ id, caller: '+15557777' }), CALL_ID);
  const prefill = {
    blank,
    customer: await page.getByLabel('Customer number').inputValue(),
    call: await page.locator('#tc-call').textContent(),
  };
  await page.getByLabel('Subject').fill(SUBJECT);
  await page.getByLabel('Description').fill(DESCRIPTION);
  await page.getByLabel('Category').fill('cards');
  await page.locator('#tc-priority').selectOption('high');
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await waitFor(page, () => window.hotlineTickets.views > 0, null, 'the new ticket');
  // Give an <img onerror> the moment it would need to fire.
  await page.waitForTimeout(300);
  const created = await page.evaluate(() => ({
    id: window.hotlineTickets.current.id,
    ref: window.hotlineTickets.current.ref,
    title: document.getElementById('tv-title').textContent,
    description: document.getElementById('tv-description').textContent,
    row: document.querySelector('#tickets-table tbody tr .ticket-subject')?.textContent,
    call_id: window.hotlineTickets.current.call_id,
    linked: document.getElementById('tv-call').textContent,
  }));
  const aliceInjected = await injected(page);
  await page.screenshot({ path: path.join(outDir, 'tickets-alice.png'), fullPage: true });
  emit('alice', { ...created, ...aliceInjected, prefill });
  if (aliceInjected.pwned !== null || aliceInjected.elements) throw new Error(`ticket text ran as markup: ${JSON.stringify(aliceInjected)}`);

  // sam sees it in the list, assigns it to bob and comments.
  const sam = await signedIn(browser, 'sam', 'demo', 'sam');
  sessions.push(sam);
  page = sam.page;
  const samRow = await page.locator(`#tickets-table tr[data-id="${created.id}"] .ticket-subject`).textContent();
  await openFromList(page, created.ref);
  await page.locator('#tu-assignee').fill('bob');
  await save(page, 'the assignment to bob', () => window.hotlineTickets.current?.assignee === 'bob');
  let views = await page.evaluate(() => window.hotlineTickets.views);
  await page.getByLabel('Comment', { exact: true }).fill(COMMENT);
  await page.getByLabel('Internal (staff only)').check();
  await page.getByRole('button', { name: 'Add comment' }).click();
  await waitFor(page, (n) => window.hotlineTickets.views > n, views, 'the comment');
  await page.waitForTimeout(200);
  const samView = await page.evaluate(() => ({
    comments: [...document.querySelectorAll('#tv-comments .ticket-comment-body')].map((p) => p.textContent),
    facts: document.getElementById('tv-facts').textContent,
    history: [...document.querySelectorAll('#tv-history li')].map((li) => li.textContent),
  }));
  const samInjected = await injected(page);
  await page.screenshot({ path: path.join(outDir, 'tickets-sam.png'), fullPage: true });
  emit('sam', { row: samRow, ...samView, ...samInjected });
  if (samInjected.pwned !== null || samInjected.elements) throw new Error(`ticket text ran as markup for sam: ${JSON.stringify(samInjected)}`);

  // bob finds it under "Assigned to me" and resolves it.
  const bob = await signedIn(browser, 'bob', 'demo', 'bob');
  sessions.push(bob);
  page = bob.page;
  let loads = await page.evaluate(() => window.hotlineTickets.loads);
  await page.getByLabel('Show').selectOption('mine');
  await page.getByRole('button', { name: 'Filter' }).click();
  await waitFor(page, (n) => window.hotlineTickets.loads > n, loads, "bob's tickets");
  const bobRows = await page.$$eval('#tickets-table tbody tr', (trs) => trs.map((tr) => tr.dataset.ref));
  await openFromList(page, created.ref);
  await page.getByLabel('Set status').selectOption('resolved');
  await save(page, 'the resolution', () => window.hotlineTickets.current?.status === 'resolved');
  const bobView = await page.evaluate(() => ({
    comments: [...document.querySelectorAll('#tv-comments .ticket-comment-body')].map((p) => p.textContent),
    facts: document.getElementById('tv-facts').textContent,
  }));
  const bobInjected = await injected(page);
  emit('bob', { rows: bobRows, ...bobView, ...bobInjected });

  // alice, no longer the assignee, may read but not change it.
  page = alice.page;
  views = await page.evaluate(() => window.hotlineTickets.views);
  await page.evaluate((id) => window.hotlineTickets.open(id), created.id);
  await waitFor(page, (n) => window.hotlineTickets.views > n, views, "alice's second look");
  const aliceAfter = await page.evaluate(() => ({
    status: window.hotlineTickets.current.status,
    disabled: document.getElementById('tu-status').disabled && document.getElementById('tk-body').disabled,
    note: document.getElementById('tv-note').textContent,
  }));
  emit('alice_after', aliceAfter);

  // carol of acme: the id is nobody's, in the page and the API.
  const carol = await signedIn(browser, 'carol', 'acme', 'carol', `${base}/#ticket/${created.id}`);
  sessions.push(carol);
  page = carol.page;
  await waitFor(page, () => window.hotlineTickets.lastStatus === 404, null, "carol's 404");
  const carolView = await page.evaluate(async ({ id, ref }) => {
    const st = async (p, init) => (await fetch(p, init)).status;
    const json = { 'Content-Type': 'application/json' };
    return {
      status: document.getElementById('tickets-status').textContent,
      view_hidden: document.getElementById('ticket-view').hidden,
      rows: document.querySelectorAll('#tickets-table tbody tr').length,
      get: await st(`/api/v1/tickets/${id}`),
      get_ref: await st(`/api/v1/tickets/${ref}`),
      patch: await st(`/api/v1/tickets/${id}`, { method: 'PATCH', headers: json, body: '{"status":"closed"}' }),
      comment: await st(`/api/v1/tickets/${id}/comments`, { method: 'POST', headers: json, body: '{"body":"hi"}' }),
    };
  }, created);
  await page.screenshot({ path: path.join(outDir, 'tickets-carol.png'), fullPage: true });
  emit('carol', carolView);
  emit('timing', { ms: Date.now() - t0 });
}

async function main() {
  const browser = await launch();
  const sessions = [];
  try {
    await run(browser, sessions);
    const csp = sessions.flatMap((s) => s.page.csp);
    if (csp.length) throw new Error(`CSP violations: ${csp.join('; ')}`);
    emit('done');
  } finally {
    for (const s of sessions) s.pageLog.end();
    await browser.close();
  }
}

runMain(main);
