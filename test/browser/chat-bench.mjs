// Chats per agent page: alice's agent page in headless Chromium holds N
// open chats (N = 1, 3, 10, 20 in turn) while visitor sockets (opened
// from a second page) send M messages each through the distributor and
// both WebSockets. For each N: the page's JS heap, DOM nodes and main
// thread time (CDP Performance.getMetrics), and the messages per second
// from the first visitor send to the last line rendered on the page.
// test/chat_bench_test.go runs it (HOTLINE_CHAT_BENCH=1).
//
// Environment: HOTLINE_URL, CHROMIUM, MESSAGES (per chat, default 50).

import { emit, launch, log, signIn } from './lib.mjs';

const base = process.env.HOTLINE_URL;
const M = Number(process.env.MESSAGES || 50);
const STEPS = [1, 3, 10, 20];

async function metrics(cdp) {
  const { metrics: ms } = await cdp.send('Performance.getMetrics');
  const m = Object.fromEntries(ms.map((x) => [x.name, x.value]));
  return { heap: m.JSHeapUsedSize, nodes: m.Nodes, task: m.TaskDuration, script: m.ScriptDuration };
}

async function main() {
  const browser = await launch(['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', '--enable-precise-memory-info']);
  try {
    const agentCtx = await browser.newContext();
    const agent = await agentCtx.newPage();
    await signIn(agent, base + '/', 'demo', 'alice', 'alice-demo');
    await agent.waitForFunction(() => window.hotlineTest && window.hotlineTest.state && window.hotlineTest.state !== 'offline');
    await agent.getByLabel('Available').check();
    await agent.waitForFunction(() => window.hotlineTest.state === 'available');
    await agent.waitForFunction(() => /Taking chats/.test(document.getElementById('chats-status').textContent));
    const cdp = await agentCtx.newCDPSession(agent);
    await cdp.send('Performance.enable');
    const visitors = await (await browser.newContext()).newPage();
    await visitors.goto(base + '/healthz');
    await visitors.evaluate(() => { window.socks = []; });
    await agent.evaluate(() => window.gc && window.gc());
    const idle = await metrics(cdp);
    emit('idle', idle);
    let open = 0;
    for (const n of STEPS) {
      // Open chats up to n, each asking for a person at once.
      await visitors.evaluate(async ({ url, add }) => {
        for (let i = 0; i < add; i++) {
          const ws = new WebSocket(url);
          await new Promise((res, rej) => { ws.onopen = res; ws.onerror = rej; });
          ws.send(JSON.stringify({ type: 'person' }));
          window.socks.push(ws);
        }
      }, { url: base.replace('http', 'ws') + '/chat/ws?tenant=demo&queue=cards', add: n - open });
      open = n;
      await agent.waitForFunction((k) => window.hotlineChats.chats.size === k, n, { timeout: 30000 });
      const before = await metrics(cdp);
      const want = await agent.evaluate(() => [...window.hotlineChats.chats.values()].reduce((s, c) => s + c.lines.length, 0)) + n * M;
      const t0 = Date.now();
      await visitors.evaluate(({ m }) => {
        for (let j = 0; j < m; j++) for (const ws of window.socks) ws.send(JSON.stringify({ type: 'message', text: `message ${j} from a visitor who types quite a lot` }));
      }, { m: M });
      await agent.waitForFunction((k) => [...window.hotlineChats.chats.values()].reduce((s, c) => s + c.lines.length, 0) >= k, want, { timeout: 120000, polling: 20 });
      const ms = Date.now() - t0;
      const after = await metrics(cdp);
      const r = {
        chats: n, messages: n * M, ms, msgs_per_s: Math.round((n * M) / (ms / 1000)),
        heap_mb: +(after.heap / 1e6).toFixed(2), nodes: after.nodes,
        main_thread_ms: Math.round((after.task - before.task) * 1000),
        per_message_us: Math.round(((after.task - before.task) * 1e6) / (n * M)),
      };
      log(JSON.stringify(r));
      emit('step', r);
    }
    emit('done');
  } finally {
    await browser.close();
  }
}

main().then(() => process.exit(0), (err) => {
  emit('fail', { error: err.message });
  log(err.stack || err.message);
  process.exit(1);
});
