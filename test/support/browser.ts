/**
 * A real headless Chromium for the console's tests: the Debian `chromium` package (CI installs it
 * with apt-get in .ci/run), driven by playwright-core. Found through CCS_CHROMIUM, then PATH.
 * Absent, the browser suites are skipped with a notice — unless CCS_REQUIRE_CHROMIUM is set (CI),
 * which turns the absence into a failure.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { findTool, toolRequired } from './tools.js';

const executable = findTool('chromium', 'CCS_CHROMIUM', 'chromium/chromium');
const required = toolRequired('CCS_REQUIRE_CHROMIUM');
if (!executable && !required) {
  console.warn('Chromium not found: browser tests skipped (apt-get install chromium, or set CCS_CHROMIUM)');
}

/** `describe` when Chromium is here (or required, so that its absence fails), else `describe.skip`. */
export const describeBrowser = executable || required ? describe : describe.skip;

export function launchChromium(): Promise<Browser> {
  if (!executable)
    throw new Error('Chromium is required (CCS_REQUIRE_CHROMIUM) but not found: apt-get install chromium');
  // --no-sandbox: CI and this machine run as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: executable, args: ['--no-sandbox'] });
}

/** Where the browser tests write what they measured and saw (screenshots): test-results/console/. */
export const RESULTS_DIR = resolve(import.meta.dirname, '../../test-results/console');

export function resultFile(name: string): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  return join(RESULTS_DIR, name);
}
