import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // With two workers on two cores a test's processes (stacks, CLIs under tsx, PowerShell)
    // share the CPU with another file's: the limits leave room for that, not for a hang.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // vitest's default is one worker per core minus one: a single worker on this 2-core CI
    // machine, while most of the suite's time is spent waiting on child processes (emulators,
    // local stacks, PowerShell, Chromium). Two workers overlap those waits.
    maxWorkers: 2,
    globalSetup: ['./test/support/console-build-setup.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
