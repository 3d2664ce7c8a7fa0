// What the browser test scripts share: the "@@event json" protocol with
// the Go side, Debian's headless Chromium, signing in on one of our pages,
// and waiting for the page with a useful message when it does not come.

import { chromium } from 'playwright-core';

export function emit(event, data = {}) {
  process.stdout.write(`@@${event} ${JSON.stringify(data)}\n`);
}

export function log(...args) {
  console.error(new Date().toISOString().slice(11, 23), ...args);
}

// launch starts Chromium (CHROMIUM, default Debian's; HEADFUL=1 shows it)
// with extra command-line flags.
export function launch(extraArgs = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: process.env.HEADFUL !== '1',
    args: [
      ...(process.env.HEADFUL === '1' ? [] : ['--headless=new']),
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ...extraArgs,
    ],
  });
}

// signIn fills a page's sign-in form (the agent page, the wallboard and
// the reports share it).
export async function signIn(page, url, tenant, user, password) {
  await page.goto(url);
  await page.getByLabel('Tenant').fill(tenant);
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

// waitFor waits for fn(arg) in the page; on timeout the error carries
// describe()'s view of the page state.
export async function waitFor(page, fn, arg, what, timeout, describe) {
  try {
    await page.waitForFunction(fn, arg, { timeout, polling: 100 });
  } catch {
    const st = await page.evaluate(describe).catch(() => ({}));
    throw new Error(`timed out waiting for ${what}: page ${JSON.stringify(st)}`);
  }
}
