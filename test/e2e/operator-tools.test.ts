/**
 * The operator's tools against `npm start`'s stack (a real process tree): the console in a real
 * headless Chromium (test/support/browser.ts), then the `ccs` command line (operator-cli.ts holds
 * its cases). One stack for both keeps the suite fast; the browser part runs first and leaves CCS
 * enabled, the command line starts by disabling it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startStackProcess, type StackProcess } from '../support/stack-process.js';
import { describeBrowser, launchChromium, resultFile } from '../support/browser.js';
import { ROOT } from '../support/ccs-cli.js';
import { describeCli } from './operator-cli.js';

let stack: StackProcess;
beforeAll(async () => {
  stack = await startStackProcess();
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

const TOKEN_KEY = 'ccs.console.token';
/**
 * Run in the page (the tests are compiled without the DOM library, so in-page code is a string):
 * records every state the progress view shows — its status and the hosts applied — from its first render.
 */
const RECORD_PROGRESS = `
  window.seen = [];
  new MutationObserver(() => {
    const view = document.querySelector('[data-testid="operation-progress"]');
    const applied = document.querySelector('progress[id^="apply-"]');
    const state = view ? view.getAttribute('data-status') + ' ' + (applied ? applied.value : 0) : null;
    if (state && window.seen[window.seen.length - 1] !== state) window.seen.push(state);
  }).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
`;
const consoleUrl = (hash = '') => `${stack.info.api}/console/${hash}`;

describeBrowser('the console in headless Chromium', () => {
  let browser: Browser;
  /** What the page said about itself: script errors and Content-Security-Policy refusals. */
  const problems: string[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  async function newPage(token?: string): Promise<Page> {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) problems.push(message.text());
    });
    if (token)
      await page.addInitScript(
        `sessionStorage.setItem(${JSON.stringify(TOKEN_KEY)}, ${JSON.stringify(token)})`,
      );
    return page;
  }

  async function signIn(page: Page, token: string): Promise<void> {
    const response = await page.goto(consoleUrl());
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.getByLabel('Access token').fill(token);
    await page.getByRole('button', { name: 'Sign in with the token' }).click();
    await page.getByRole('heading', { name: 'Fleet' }).waitFor();
  }

  it('signs in, shows the demo hosts, enables CCS with live two-phase progress on every host, flags the expired certificate', async () => {
    const page = await newPage();
    await signIn(page, stack.info.accessToken);
    // The token is kept for this tab only, never in the URL.
    expect(await page.evaluate(`sessionStorage.getItem(${JSON.stringify(TOKEN_KEY)})`)).toBe(
      stack.info.accessToken,
    );
    expect(await page.evaluate('localStorage.length')).toBe(0);
    expect(page.url()).not.toContain(stack.info.accessToken);

    await page.getByRole('link', { name: stack.info.ccsId }).click();
    const hosts = page.getByTestId('hosts-table');
    // Polled for up to 20 s (not expect.poll's 1 s): the hosts view is fetched and rendered by a
    // browser sharing a loaded CI machine with the stack.
    for (const host of stack.info.hosts)
      await expect.poll(() => hosts.getByText(host).count(), { timeout: 20_000 }).toBe(1);

    await page.getByRole('button', { name: 'Enable…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Share path').fill(stack.info.share.path);
    await dialog.getByLabel('Identity that reads the share').fill(stack.info.share.username);
    await dialog.getByLabel("Identity's password").fill(stack.info.share.password);
    await dialog.getByLabel('Private-key password').fill(stack.info.share.privateKeyPassword);
    await dialog.getByRole('button', { name: 'Review the change' }).click();
    // The confirmation says what will change, on how many hosts, and never shows a password.
    await expect.poll(() => dialog.getByText(`share → ${stack.info.share.path}`).count()).toBe(1);
    expect(await dialog.textContent()).not.toContain(stack.info.share.password);

    // Record every state the progress view shows, from the first render on.
    await page.evaluate(RECORD_PROGRESS);
    await dialog.getByRole('button', { name: `Enable on ${stack.info.hosts.length} hosts` }).click();
    await page
      .locator('[data-testid="operation-progress"][data-status="Succeeded"]')
      .waitFor({ timeout: 60_000 });
    const seen = await page.evaluate<string[]>('window.seen');
    expect(seen[0]).toMatch(/^Running /);
    expect(seen[seen.length - 1]).toBe(`Succeeded ${stack.info.hosts.length}`);
    for (const host of stack.info.hosts) {
      const row = dialog.locator(`tr[data-host="${host}"]`);
      expect(await row.locator('td').nth(0).textContent()).toBe('passed');
      expect(await row.locator('td').nth(1).textContent()).toBe('passed');
    }
    await page.screenshot({ path: resultFile('enable-progress.png') });
    await dialog.getByRole('button', { name: 'Done' }).click();

    await expect.poll(() => page.locator('.summary').getByText('converged').count()).toBe(1);
    await page.screenshot({ path: resultFile('hosts.png') });

    await page.getByRole('link', { name: 'Certificates' }).click();
    const expired = page.locator('tr[data-alias="expired.contoso.com.pfx"]');
    await expired.waitFor();
    expect(await expired.locator('.problem-expired').textContent()).toBe('expired');
    expect(await page.getByTestId('certificate-summary').textContent()).toMatch(/\b1 expired\b/);
    await page.getByRole('img', { name: /expiry/i }).waitFor();
    await page.screenshot({ path: resultFile('certificates.png'), fullPage: true });
    expect(problems).toEqual([]);
  });

  it('loads a ccs-id view from a cold start (time reported in test-results/console/load.json, with the bundle size)', async () => {
    const page = await newPage(stack.info.accessToken);
    await page.goto(consoleUrl(`#/ccs/${stack.info.ccsId}`));
    await page.getByTestId('host-grid').waitFor();
    const loadMs = await page.evaluate(
      () => performance.getEntriesByName('ccs:hosts-rendered')[0]?.startTime ?? -1,
    );
    expect(loadMs).toBeGreaterThan(0);
    const build = JSON.parse(readFileSync(join(ROOT, 'dist/console-build.json'), 'utf8')) as {
      files: { file: string; bytes: number; gzip: number }[];
    };
    const firstLoad = build.files.filter((f) => !/^assets\/(entra|chart)/.test(f.file));
    const report = {
      hostsRenderedMs: Math.round(loadMs),
      firstLoadGzipBytes: firstLoad.reduce((n, f) => n + f.gzip, 0),
      files: build.files,
    };
    writeFileSync(resultFile('load.json'), `${JSON.stringify(report, null, 2)}\n`);
    console.info(`console: hosts view rendered ${report.hostsRenderedMs} ms after navigation start`);
    expect(problems).toEqual([]);
  });

  it('keeps the host grid readable at 1,000 hosts (the hosts answer widened to 1,000 from the real one)', async () => {
    // The stack has two hosts; this checks only the grid's layout, so the real answer's first host
    // is repeated under 1,000 names with the four statuses in turn.
    const page = await newPage(stack.info.accessToken);
    const statuses = ['applied', 'pending', 'failed', 'reboot_required'];
    await page.route('**/centralized-certificates/*/hosts', async (route) => {
      const real = await route.fetch();
      const body = (await real.json()) as { hosts: Record<string, unknown>[] };
      const template = body.hosts[0]!;
      body.hosts = Array.from({ length: 1000 }, (_, i) => ({
        ...template,
        name: `web-${String(i).padStart(4, '0')}`,
        status: statuses[i % 4],
      }));
      await route.fulfill({ response: real, json: body });
    });
    await page.goto(consoleUrl(`#/ccs/${stack.info.ccsId}`));
    const grid = page.getByTestId('host-grid');
    await grid.waitFor();
    expect(await grid.getAttribute('aria-label')).toBe(
      '1000 hosts: 250 applied, 250 pending, 250 failed, 250 reboot required',
    );
    const box = (await grid.boundingBox())!;
    const cell = (await grid.locator('.cell').first().boundingBox())!;
    // One screen: the whole fleet above the fold, every square still big enough to see and point at.
    expect(box.width).toBeLessThanOrEqual(1280);
    expect(box.height).toBeLessThan(250);
    expect(cell.width).toBeGreaterThanOrEqual(8);
    await page.screenshot({ path: resultFile('host-grid-1000.png') });
  });

  it('shows a read-only caller no write action, and the API refuses its write', async () => {
    const page = await newPage();
    await signIn(page, stack.info.readOnlyToken);
    expect(await page.locator('.who').textContent()).toContain('read only');
    await page.getByRole('link', { name: stack.info.ccsId }).click();
    await page.getByTestId('host-grid').waitFor();
    expect(await page.getByRole('button', { name: /Enable|Update|Disable/ }).count()).toBe(0);
    const refusal = await page.evaluate(
      async ([api, token, ccsId]) => {
        const res = await fetch(`${api}/webserver/centralized-certificates/${ccsId}`, {
          method: 'DELETE',
          headers: { Authorization: `Bearer ${token}` },
        });
        return { status: res.status, body: (await res.json()) as { name?: string } };
      },
      [stack.info.api, stack.info.readOnlyToken, stack.info.ccsId],
    );
    expect(refusal).toMatchObject({ status: 403, body: { name: 'role' } });
    expect(problems).toEqual([]);
  });
});

describeCli(() => stack);
