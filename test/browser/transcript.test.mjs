// The live transcript panel (web/static/transcript.js), in headless
// Chromium (Debian's). The speech side is not needed: the script sits
// between each page and its WebSocket (Playwright's routeWebSocket), lets
// the server's messages through and adds the "transcript" messages the
// server pushes during calls, so they go through the pages' own message
// handling.
//   1. demo/alice on the agent page: two pushes for a call (the caller's
//      line arrives after a later agent line and is put where it was
//      said), markup in a line shown as text, the panel beside the
//      softphone, Caller / You labels and mm:ss times, auto-scroll after
//      many lines; then a transferred call: its replay (said to bob)
//      under "Before transfer" with bob's name, the first call's lines
//      gone; transcript_status shows the transcript is unavailable.
//   2. demo/sam on the wallboard: a board with alice on a call, Listen,
//      and the replay and live lines of the monitored call, agent lines
//      named by the agent's display name.
//   3. demo/sam on the reports page: "Said on the call" goes to the call
//      search as text; a result's Transcript button shows the call's
//      transcript, the searched words marked.
// test/transcript_panel_browser_test.go runs it once; it prints
// "@@event json" lines on stdout (the last one "done" or "fail").
//
// Environment: HOTLINE_URL (required), OUT_DIR, CHROMIUM, HEADFUL=1.

import fs from 'node:fs';
import path from 'node:path';
import { emit, launch, log, signIn, waitFor as waitForPage, required, outputDir, runMain, newLoggedPage, watchCSP } from './lib.mjs';

const [base] = required('HOTLINE_URL');
const outDir = outputDir('transcript');

async function waitFor(page, fn, arg, what, timeout = 10000) {
  try {
    await waitForPage(page, fn, arg, what, timeout, () => ({
      transcript: window.hotlineTranscript && { pushes: window.hotlineTranscript.pushes, lines: window.hotlineTranscript.lines.length },
      wallboard: window.hotlineWallboardTranscript && { lines: window.hotlineWallboardTranscript.lines.length },
      errors: document.getElementById('errors')?.innerText,
      login: document.getElementById('login-error')?.textContent,
    }));
  } catch (err) {
    await page.screenshot({ path: path.join(outDir, 'transcript-failed.png'), fullPage: true }).catch(() => {});
    throw err;
  }
}

function check(ok, what) {
  if (!ok) throw new Error(what);
}

// panel reads a rendered panel: its visible lines by section, with what
// each line shows.
function panel(page, id) {
  return page.evaluate((rootID) => {
    const root = document.getElementById(rootID);
    const read = (sel) => [...root.querySelectorAll(sel)].map((li) => ({
      side: li.dataset.side,
      who: li.querySelector('.tr-who').textContent,
      time: li.querySelector('.tr-time').textContent,
      text: li.querySelector('.tr-text').textContent,
    }));
    const headings = [...root.querySelectorAll('h3')].filter((h) => !h.hidden).map((h) => h.textContent);
    const sc = root.querySelector('.tr-scroll');
    const note = root.querySelector('.tr-note');
    return {
      visible: !root.hidden, headings, replay: read('.tr-replay > li'), live: read('.tr-live > li'),
      note: note.hidden ? '' : note.textContent,
      at_bottom: sc.scrollHeight - sc.scrollTop - sc.clientHeight < 2, scrolls: sc.scrollHeight > sc.clientHeight,
      elements: root.querySelectorAll('img, script').length,
    };
  }, id);
}

const at = (ms) => new Date(Date.UTC(2030, 0, 2, 9, 0, 0) + ms).toISOString();
const line = (side, startMS, text, agent = 'alice', agentID = '') => ({
  side, text, start_ms: startMS, end_ms: startMS + 900, at: at(startMS), agent, agent_id: agentID,
});

async function agentPage(browser) {
  const pageLog = fs.createWriteStream(path.join(outDir, 'page-transcript-alice.log'));
  const page = await newLoggedPage(browser, pageLog, { width: 1280, height: 1000 });
  const cspOK = watchCSP(page);
  let socket = null;
  await page.routeWebSocket(/\/api\/v1\/agent\/ws$/, (ws) => {
    ws.connectToServer(); // both directions forwarded as they are
    socket = ws;
  });
  const push = (msg) => socket.send(JSON.stringify(msg));

  await signIn(page, base + '/', 'demo', 'alice', 'alice-demo');
  await waitFor(page, () => window.hotlineTranscript && window.hotlineTest && window.hotlineTest.connected, null, 'the agent socket', 15000);
  check(socket, 'the agent socket was not routed through the script');
  check(await page.locator('#transcript').isHidden(), 'the transcript panel shows before any call');

  // Call A: the agent's line first, then the caller's earlier one, then
  // markup said by "the caller" (speech never makes it, but text is text).
  push({ type: 'transcript', call: 'call-a', lines: [line('agent', 2500, 'Thanks for calling, how can I help?')], replay: false });
  push({ type: 'transcript', call: 'call-a', lines: [line('caller', 0, 'Hello?'), line('caller', 65000, 'My card <img src=x onerror="window.pwned=1"> was stolen')], replay: false });
  await waitFor(page, () => window.hotlineTranscript.pushes >= 2 && window.hotlineTranscript.lines.length === 3, null, 'call A\'s lines');
  const first = await panel(page, 'transcript');
  const firstState = await page.evaluate(() => window.hotlineTranscript.lines.map((l) => ({ call: l.call, side: l.side, text: l.text, start_ms: l.start_ms, replay: l.replay })));
  const layout = await page.evaluate(() => {
    const box = (id) => document.getElementById(id).getBoundingClientRect();
    const t = box('transcript');
    const p = document.querySelector('section.phone').getBoundingClientRect();
    return { beside: t.right <= p.left && t.top < p.bottom && t.bottom > p.top, transcript: [t.left, t.top, t.width], phone: [p.left, p.top, p.width] };
  });
  const pwned = await page.evaluate(() => (typeof window.pwned === 'undefined' ? null : window.pwned));
  await page.screenshot({ path: path.join(outDir, 'transcript-call-a.png'), fullPage: true });
  emit('call_a', { panel: first, state: firstState, layout, pwned });
  check(first.visible && first.live.length === 3, `call A: ${JSON.stringify(first)}`);
  check(first.live.map((l) => l.who).join('|') === 'Caller|You|Caller', `call A labels: ${JSON.stringify(first.live)}`);
  check(first.live.map((l) => l.time).join('|') === '00:00|00:02|01:05', `call A times: ${JSON.stringify(first.live)}`);
  check(first.headings.length === 0, `call A has headings ${first.headings}`);
  check(first.elements === 0 && pwned === null, 'markup in a line became elements');
  check(layout.beside, `the panel is not beside the softphone: ${JSON.stringify(layout)}`);

  // Many lines: the list scrolls, kept at the newest.
  const many = [];
  for (let i = 0; i < 40; i++) many.push(line(i % 2 ? 'agent' : 'caller', 70000 + i * 3000, `line number ${i} of a long conversation`));
  for (let i = 0; i < many.length; i += 4) push({ type: 'transcript', call: 'call-a', lines: many.slice(i, i + 4), replay: false });
  await waitFor(page, () => window.hotlineTranscript.lines.length === 43, null, 'the long conversation');
  const long = await panel(page, 'transcript');
  emit('scroll', { at_bottom: long.at_bottom, scrolls: long.scrolls, last: long.live.at(-1) });
  check(long.scrolls && long.at_bottom && long.live.at(-1).text === 'line number 39 of a long conversation', `auto-scroll: ${JSON.stringify({ ...long, live: long.live.length })}`);

  // Call B, transferred to alice from bob: the replay comes first.
  push({
    type: 'transcript', call: 'call-b', replay: true,
    lines: [line('caller', 0, 'I need to change my address', 'bob', 'id-bob'), line('agent', 1800, 'Let me put you through to Alice', 'bob', 'id-bob')],
  });
  push({ type: 'transcript', call: 'call-b', lines: [line('agent', 30000, 'Hi, this is Alice')], replay: false });
  await waitFor(page, () => window.hotlineTranscript.lines.length === 3 && window.hotlineTranscript.lines.every((l) => l.call === 'call-b'), null, 'call B\'s lines');
  const second = await panel(page, 'transcript');
  const secondState = await page.evaluate(() => window.hotlineTranscript.lines.map((l) => ({ call: l.call, side: l.side, text: l.text, start_ms: l.start_ms, replay: l.replay })));
  await page.screenshot({ path: path.join(outDir, 'transcript-call-b.png'), fullPage: true });
  emit('call_b', { panel: second, state: secondState });
  check(second.headings[0] === 'Before transfer', `call B headings: ${second.headings}`);
  check(second.replay.map((l) => l.who).join('|') === 'Caller|bob', `call B replay labels: ${JSON.stringify(second.replay)}`);
  check(second.live.length === 1 && second.live[0].who === 'You' && second.live[0].time === '00:30', `call B live: ${JSON.stringify(second.live)}`);

  push({ type: 'transcript_status', call: 'call-b', state: 'unavailable', message: 'no recognizer reachable' });
  await waitFor(page, () => /unavailable/.test(document.querySelector('#transcript .tr-note').textContent), null, 'the unavailable note');
  const status = await panel(page, 'transcript');
  emit('status', { note: status.note });
  cspOK();
  await page.close();
}

async function wallboard(browser) {
  const pageLog = fs.createWriteStream(path.join(outDir, 'page-transcript-sam.log'));
  const page = await newLoggedPage(browser, pageLog, { width: 1280, height: 1000 });
  const cspOK = watchCSP(page);
  let socket = null;
  await page.routeWebSocket(/\/api\/v1\/wallboard\/ws$/, (ws) => {
    const server = ws.connectToServer();
    // The server's boards would replace the made-up one: only they are
    // held back.
    server.onMessage((m) => {
      let type = '';
      try { type = JSON.parse(m).type; } catch { /* not JSON: pass it on */ }
      if (type !== 'board') ws.send(m);
    });
    socket = ws;
  });
  const push = (msg) => socket.send(JSON.stringify(msg));
  await signIn(page, base + '/wallboard', 'demo', 'sam', 'sam-demo');
  await waitFor(page, () => window.hotlineWallboardTranscript && window.hotlineBoard, null, 'the wallboard', 15000);
  for (let i = 0; !socket && i < 100; i++) await page.waitForTimeout(100);
  check(socket, 'the wallboard socket was not routed through the script');
  push({
    type: 'board', at: new Date().toISOString(), queues: [],
    agents: [{ id: 'id-alice', username: 'alice', display_name: 'Alice Agent', state: 'on_call', since: new Date().toISOString(), call: 'call-w', caller: '+15550001', queue: 'general', calls_today: 1 }],
  });
  await page.getByRole('button', { name: 'Listen to Alice Agent' }).click();
  await waitFor(page, () => window.hotlineBoard.monitor.call === 'call-w', null, 'monitoring call-w');
  // What the server sends a supervisor who joins: the lines so far as a
  // replay, then the live ones; another call's lines are not shown.
  push({ type: 'transcript', call: 'call-w', replay: true, lines: [line('caller', 0, 'Is my parcel lost?', 'alice', 'id-alice'), line('agent', 2000, 'Let me look it up', 'alice', 'id-alice')] });
  push({ type: 'transcript', call: 'call-other', replay: false, lines: [line('caller', 0, 'Not this call')] });
  push({ type: 'transcript', call: 'call-w', replay: false, lines: [line('agent', 9000, 'It arrives tomorrow', 'alice', 'id-alice')] });
  await waitFor(page, () => window.hotlineWallboardTranscript.lines.length === 3, null, 'the monitored call\'s lines');
  const board = await panel(page, 'monitor-transcript');
  const state = await page.evaluate(() => window.hotlineWallboardTranscript.lines.map((l) => ({ call: l.call, side: l.side, text: l.text, replay: l.replay })));
  await page.screenshot({ path: path.join(outDir, 'transcript-wallboard.png'), fullPage: true });
  emit('wallboard', { panel: board, state });
  check(board.visible && board.headings[0] === 'Before you joined', `wallboard headings: ${board.headings}`);
  check(board.replay.map((l) => l.who).join('|') === 'Caller|Alice Agent', `wallboard replay: ${JSON.stringify(board.replay)}`);
  check(board.live.length === 1 && board.live[0].who === 'Alice Agent' && board.live[0].time === '00:09', `wallboard live: ${JSON.stringify(board.live)}`);
  cspOK();
  await page.close();
}

// reports: demo/sam searches calls by what was said and opens a result's
// transcript. The search and the call are answered by the script (the
// server has no transcribed call here); the request must carry the words.
async function reports(browser) {
  const pageLog = fs.createWriteStream(path.join(outDir, 'page-transcript-reports.log'));
  const page = await newLoggedPage(browser, pageLog, { width: 1280, height: 1000 });
  const cspOK = watchCSP(page);
  const callID = '3f1c9a52-0c4e-4d7b-9d38-5b0f2a1e7c11';
  const call = {
    id: callID, from_number: '+15550002', to_number: '+15550100', started_at: at(0), answered_at: at(5000),
    ended_at: at(125000), duration_ms: 125000, hangup_cause: 'normal', hangup_side: 'caller',
  };
  const searches = [];
  await page.route(/\/api\/v1\/calls\/search\?/, (route) => {
    searches.push(Object.fromEntries(new URL(route.request().url()).searchParams));
    route.fulfill({ json: { calls: [{ call, queue_entries: [], dispositions: [] }] } });
  });
  await page.route(new RegExp(`/api/v1/calls/${callID}$`), (route) => route.fulfill({ json: { call, queue_entries: [], dispositions: [], events: [] } }));
  await page.route(new RegExp(`/api/v1/calls/${callID}/transcript$`), (route) => route.fulfill({
    json: {
      call: callID, lines: [
        { side: 'caller', text: 'I want to cancel my subscription', start_ms: 1200, end_ms: 3000, at: at(6200), agent_id: 'id-alice' },
        { side: 'agent', text: 'Sorry to hear that, cancelling it now', start_ms: 4000, end_ms: 6000, at: at(9000), agent_id: 'id-alice' },
      ],
    },
  }));
  await signIn(page, base + '/reports', 'demo', 'sam', 'sam-demo');
  await waitFor(page, () => window.hotlineReports && window.hotlineReports.loads > 0, null, 'the reports', 15000);
  await page.getByLabel('Said on the call').fill('cancelled subscriptions');
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await waitFor(page, () => document.querySelectorAll('#calls tbody tr').length === 1, null, 'the search result');
  await page.getByRole('button', { name: /Show the transcript of the call from \+15550002/ }).click();
  await waitFor(page, () => window.hotlineReports.transcript.lines.length === 2, null, 'the transcript');
  const shown = await panel(page, 'call-transcript');
  const marks = await page.$$eval('#call-transcript mark', (ms) => ms.map((m) => m.textContent));
  await page.screenshot({ path: path.join(outDir, 'transcript-reports.png'), fullPage: true });
  emit('reports', { searches, panel: shown, marks });
  check(searches.length === 1 && searches[0].text === 'cancelled subscriptions', `search requests ${JSON.stringify(searches)}`);
  check(shown.visible && shown.live.map((l) => `${l.who} ${l.time}`).join('|') === 'Caller 00:01|Agent · id-alice 00:04',
    `reports transcript ${JSON.stringify(shown.live)}`);
  check(marks.join('|') === 'cancel|subscription|cancelling', `marked words ${marks}`);
  cspOK();
  await page.close();
}

runMain(async () => {
  const browser = await launch();
  try {
    await agentPage(browser);
    await wallboard(browser);
    await reports(browser);
    emit('done');
  } catch (err) {
    log('fail:', err.message);
    throw err;
  } finally {
    await browser.close();
  }
});
