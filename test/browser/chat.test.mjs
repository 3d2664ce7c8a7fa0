// The web chat test: headless Chromium (Debian's) plays both sides.
//   - alice (demo agent) signs in on the agent page and goes available;
//     her Chats panel appears;
//   - a visitor opens a company's page on another origin (HOST_URL) that
//     embeds /chat/widget.js, asks the bot about a lost card (the fake
//     knowledge base answers), writes a line holding <img onerror> and
//     asks for a person with "Talk to a person";
//   - alice's page opens the chat as a tab with the transcript, the
//     markup shown as text (window.pwned stays undefined in both pages,
//     no <img> appears), and she replies; the visitor sees the reply;
//   - the visitor pastes a 1 MB message: the widget refuses it with an
//     error; the same message sent raw on the socket is refused by the
//     server, which closes the chat with 1009 and the widget says so;
//   - alice clicks "Create ticket" in the chat's tab: the Tickets form
//     opens prefilled from the chat (subject = the visitor's first line,
//     description = the visitor's lines, customer = the visitor); she
//     submits it, and the ticket view's "Chat transcript" shows the chat
//     as text.
// test/chat_browser_test.go runs it; it prints "@@event json" lines.
//
// Environment: HOTLINE_URL (the server), HOST_URL (the company page),
// OUT_DIR, CHROMIUM, HEADFUL=1.

import fs from 'node:fs';
import path from 'node:path';
import { emit, launch, log, signIn, waitFor as waitForPage, runMain, outputDir } from './lib.mjs';

const base = process.env.HOTLINE_URL;
const host = process.env.HOST_URL;
if (!base || !host) {
  console.error('HOTLINE_URL and HOST_URL must be set');
  process.exit(2);
}
const outDir = outputDir('chat');

const IMG = '<img src=x onerror="window.pwned=1">';
const QUESTION = 'How do I block my lost card?';
const MARKUP = `My card number is in this ${IMG} <script>window.pwned=2</script>`;
const REPLY = 'Hello, Alice here <b>not bold</b>. I have blocked it.';

async function waitFor(page, fn, arg, what, timeout = 15000) {
  try {
    await waitForPage(page, fn, arg, what, timeout, () => ({
      chats: window.hotlineChats && { errors: window.hotlineChats.errors, n: window.hotlineChats.chats.size, received: window.hotlineChats.received },
      widget: window.hotlineChat && { lines: window.hotlineChat.lines, errors: window.hotlineChat.errors, chat: window.hotlineChat.chat },
      status: document.getElementById('chats-status')?.textContent,
      errors: document.getElementById('errors')?.innerText,
    }));
  } catch (err) {
    await page.screenshot({ path: path.join(outDir, 'chat-failed.png'), fullPage: true }).catch(() => {});
    throw err;
  }
}

function watch(page, name) {
  const pageLog = fs.createWriteStream(path.join(outDir, `page-${name}.log`));
  page.on('console', (m) => pageLog.write(`${m.type()}: ${m.text()}\n`));
  page.on('pageerror', (e) => pageLog.write(`pageerror: ${e.message}\n`));
  return pageLog;
}

async function run(browser, logs) {
  const t0 = Date.now();
  // ---- alice on the agent page ----
  const agentCtx = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  const agent = await agentCtx.newPage();
  logs.push(watch(agent, 'alice'));
  await signIn(agent, base + '/', 'demo', 'alice', 'alice-demo');
  await waitFor(agent, () => window.hotlineTest && window.hotlineTest.state && window.hotlineTest.state !== 'offline', null, 'alice at her desk');
  await agent.getByLabel('Available').check();
  await waitFor(agent, () => window.hotlineTest.state === 'available', null, 'alice available');
  await waitFor(agent, () => !document.getElementById('chats').hidden && /Taking chats/.test(document.getElementById('chats-status').textContent), null, 'the Chats panel taking chats');
  emit('agent_ready', { ms: Date.now() - t0 });

  // ---- the visitor on the company's page ----
  const visitorCtx = await browser.newContext({ viewport: { width: 1000, height: 800 } });
  const visitor = await visitorCtx.newPage();
  logs.push(watch(visitor, 'visitor'));
  await visitor.goto(host);
  await visitor.locator('#hotline-chat-button').click();
  await waitFor(visitor, () => window.hotlineChat.chat !== '', null, 'the chat to open');
  const input = visitor.getByLabel('Your message');
  await input.fill(QUESTION);
  await visitor.locator('#hotline-chat-send').click();
  await waitFor(visitor, () => window.hotlineChat.lines.some((l) => l.sender === 'bot' && l.title), null, 'the bot answer');
  const bot = await visitor.evaluate(() => window.hotlineChat.lines.find((l) => l.sender === 'bot' && l.title));
  emit('bot', bot);
  await input.fill(MARKUP);
  await visitor.locator('#hotline-chat-send').click();
  await waitFor(visitor, () => !document.getElementById('hotline-chat-person').hidden, null, 'the "Talk to a person" button');
  const t1 = Date.now();
  await visitor.getByRole('button', { name: 'Talk to a person' }).click();

  // ---- alice gets the chat ----
  await waitFor(agent, () => document.querySelectorAll('#chats .chat-tab').length === 1, null, 'the chat tab');
  await waitFor(agent, (m) => window.hotlineChats && [...window.hotlineChats.chats.values()][0]?.lines.some((l) => l.sender === 'visitor' && l.text === m), MARKUP, 'the transcript with the markup');
  const agentView = await agent.evaluate(() => {
    const c = [...window.hotlineChats.chats.values()][0];
    return {
      tab: document.querySelector('#chats .chat-tab').textContent,
      lines: [...document.querySelectorAll('#chats .chat-panel:not([hidden]) .chat-line')].map((li) => li.textContent),
      senders: c.lines.map((l) => l.sender),
      pwned: window.pwned ?? null,
      elements: document.querySelectorAll('#chats img, #chats script, #chats b').length,
    };
  });
  emit('agent_chat', { ...agentView, ms: Date.now() - t1 });
  await waitFor(visitor, () => /is chatting with you/.test(document.getElementById('hotline-chat-status').textContent), null, 'the visitor told alice joined');
  await agent.getByLabel('Reply').fill(REPLY);
  await agent.locator('#chats .chat-panel:not([hidden]) button[type=submit]').click();
  await waitFor(visitor, (m) => window.hotlineChat.lines.some((l) => l.sender === 'agent' && l.text === m), REPLY, 'the reply in the widget');
  const visitorView = await visitor.evaluate(() => ({
    lines: [...document.querySelectorAll('#hotline-chat-log .hotline-chat-line')].map((d) => d.textContent),
    pwned: window.pwned ?? null,
    elements: document.querySelectorAll('#hotline-chat-log img, #hotline-chat-log script, #hotline-chat-log b').length,
  }));
  emit('visitor', visitorView);
  await agent.screenshot({ path: path.join(outDir, 'chat-agent.png'), fullPage: true });
  await visitor.screenshot({ path: path.join(outDir, 'chat-visitor.png') });

  // ---- 1 MB ----
  const big = 'x'.repeat(1 << 20);
  await input.fill(big);
  await visitor.locator('#hotline-chat-send').click();
  await waitFor(visitor, () => /limit is 4000/.test(document.getElementById('hotline-chat-error').textContent), null, 'the widget refusing 1 MB');
  const widgetError = await visitor.locator('#hotline-chat-error').textContent();
  await input.fill('');
  // The same megabyte sent past the widget: the server closes the socket
  // (1009) before reading it all.
  await visitor.evaluate((n) => window.hotlineChat.send({ type: 'message', text: 'y'.repeat(n) }), 1 << 20);
  await waitFor(visitor, () => /too long for the chat/.test(document.getElementById('hotline-chat-error').textContent), null, 'the server refusing 1 MB');
  const serverError = await visitor.locator('#hotline-chat-error').textContent();
  await waitFor(agent, () => [...window.hotlineChats.chats.values()][0]?.ended, null, 'the chat ended on the agent page');
  emit('big', { widget: widgetError, server: serverError });

  // ---- a ticket from the chat ----
  await agent.locator('#chats .chat-panel:not([hidden]) .chat-ticket').click();
  await waitFor(agent, () => !document.getElementById('ticket-create').hidden, null, 'the ticket form');
  const form = await agent.evaluate(() => ({
    subject: document.getElementById('tc-subject').value,
    description: document.getElementById('tc-description').value,
    customer: document.getElementById('tc-customer').value,
    link: document.getElementById('tc-call').textContent,
  }));
  emit('ticket_form', form);
  await agent.locator('#ticket-create button[type=submit]').click();
  await waitFor(agent, () => window.hotlineTickets.current && window.hotlineTickets.current.chat_id, null, 'the new ticket shown');
  await agent.locator('#tv-chat-summary').click();
  await waitFor(agent, () => document.getElementById('tv-chat').dataset.loaded === 'yes', null, 'the chat transcript in the ticket');
  const ticketView = await agent.evaluate(() => ({
    ticket: window.hotlineTickets.current,
    summary: document.getElementById('tv-chat-summary').textContent,
    lines: [...document.querySelectorAll('#tv-chat-log li')].map((li) => li.textContent),
    pwned: window.pwned ?? null,
    elements: document.querySelectorAll('#tickets img, #tickets script, #tickets b').length,
  }));
  emit('ticket', ticketView);
  await agent.screenshot({ path: path.join(outDir, 'chat-ticket.png'), fullPage: true });
  emit('chat_id', { id: await agent.evaluate(() => [...window.hotlineChats.chats.keys()][0]) });
  emit('timing', { ms: Date.now() - t0 });
}

async function main() {
  const browser = await launch(['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream']);
  const logs = [];
  try {
    await run(browser, logs);
    emit('done');
  } finally {
    for (const l of logs) l.end();
    await browser.close();
  }
}

runMain(main);
