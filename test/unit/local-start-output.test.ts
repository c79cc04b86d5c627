/**
 * What `npm start` prints and asks: stage lines on a terminal and elsewhere, the one-line reason
 * of a failed stage, and the `--reset` question and its limits.
 */
import { describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { progressFor } from '../../local/progress.js';
import { runStage, StartFailure, waitForEnrolment, type StageContext } from '../../local/stages.js';
import { confirmReset, emptyFolder, resetRefusal } from '../../local/reset.js';
import { jsonLineLogger } from '../../shared/log.js';

function fakeStream(isTTY: boolean) {
  let text = '';
  return { isTTY, write: (chunk: string) => ((text += chunk), true), text: () => text };
}

describe('stage lines (local/progress.ts)', () => {
  it('prints one plain line per finished stage when not on a terminal', () => {
    const out = fakeStream(false);
    const progress = progressFor(out, {});
    progress.begin('storage');
    progress.done('storage', 'Azurite, queues on port 1, tables on port 2');
    progress.begin('agents');
    progress.update('agents', '1/2 enrolled');
    progress.done('agents', '2/2 enrolled (web-01, web-02)');
    progress.begin('API');
    progress.failed('API');
    expect(out.text()).toBe(
      'storage: Azurite, queues on port 1, tables on port 2\nagents: 2/2 enrolled (web-01, web-02)\n',
    );
  });

  it('rewrites the line of the running stage in place on a terminal', () => {
    const out = fakeStream(true);
    const progress = progressFor(out, { TERM: 'xterm-256color' });
    progress.begin('agents');
    progress.update('agents', '1/2 enrolled');
    progress.done('agents', '2/2 enrolled (web-01, web-02)');
    progress.begin('API');
    progress.failed('API');
    const lines = out.text().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe(
      '\r\x1b[2K  … agents    \r\x1b[2K  … agents     1/2 enrolled\r\x1b[2K  ✓ agents     2/2 enrolled (web-01, web-02)',
    );
    expect(lines[1]).toBe('\r\x1b[2K  … API       \r\x1b[2K  ✗ API       ');
  });

  it('prints plain lines on a terminal that cannot move the cursor (TERM=dumb)', () => {
    const out = fakeStream(true);
    progressFor(out, { TERM: 'dumb' }).done('API', 'http://127.0.0.1:7071/api');
    expect(out.text()).toBe('API: http://127.0.0.1:7071/api\n');
  });
});

describe('a failed stage (local/stages.ts)', () => {
  const context = (logged: string[] = []): StageContext => ({
    progress: progressFor(fakeStream(false), {}),
    log: jsonLineLogger((line) => logged.push(line)),
    ports: [{ setting: 'CCS_KEYVAULT_PORT', role: 'the local Key Vault', port: 65000 }],
  });

  it('names the port and its setting when a listen finds the port taken', async () => {
    const logged: string[] = [];
    const taken = Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE', port: 65000 });
    const failure = await runStage(
      context(logged),
      'Key Vault',
      '/x/api.log',
      () => Promise.reject(taken),
      String,
    ).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StartFailure);
    expect(failure).toMatchObject({ stage: 'Key Vault', logFile: '/x/api.log' });
    expect((failure as StartFailure).reason).toMatch(
      /^port 65000 \(the local Key Vault\) is already in use by .*; stop that program, or set CCS_KEYVAULT_PORT to another port/,
    );
    expect(logged.join('')).toContain('"stage":"Key Vault"');
  });

  it('says that openssl is missing rather than "spawn openssl ENOENT"', async () => {
    const missing = Object.assign(new Error('spawn openssl ENOENT'), { code: 'ENOENT', path: 'openssl' });
    await expect(
      runStage(context(), 'demo share', '/x/api.log', () => Promise.reject(missing), String),
    ).rejects.toThrow(
      'demo share: the openssl command was not found; install OpenSSL and make sure it is on PATH',
    );
  });

  it('keeps only the first line of any other error', async () => {
    await expect(
      runStage(context(), 'API', '/x/api.log', () => Promise.reject(new Error('first\nsecond')), String),
    ).rejects.toThrow(/^API: first$/);
  });

  it('names the hosts that did not enrol and the first one’s log', async () => {
    const counts: number[] = [];
    const waiting = waitForEnrolment({
      hostStore: { list: () => Promise.resolve([{ host: 'WEB-01' }]) },
      ccsId: 'default',
      hosts: ['web-01', 'web-02'],
      timeoutMs: 0,
      logs: '/x/logs',
      onCount: (n) => counts.push(n),
    });
    await expect(waiting).rejects.toMatchObject({
      stage: 'agents',
      reason: '1/2 enrolled within 0 s; not enrolled: web-02',
      logFile: join('/x/logs', 'agent-web-02.log'),
    });
    expect(counts).toEqual([1]);
  });
});

describe('npm start -- --reset (local/reset.ts)', () => {
  const answer = async (text: string) => {
    const input = new PassThrough();
    const output = new PassThrough();
    const asked = confirmReset('.local', input, output);
    input.end(text);
    return asked;
  };

  it('goes ahead only on an explicit yes', async () => {
    expect(await answer('y\n')).toBe(true);
    expect(await answer('YES\n')).toBe(true);
    expect(await answer('\n')).toBe(false);
    expect(await answer('no\n')).toBe(false);
  });

  it('empties the folder except the lock of the stack resetting it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ccs-reset-'));
    mkdirSync(join(dir, 'azurite'));
    writeFileSync(join(dir, 'azurite', 'db.json'), '{}');
    writeFileSync(join(dir, 'stack-secrets.json'), '{}');
    writeFileSync(join(dir, 'stack.lock'), '{}');
    expect(resetRefusal(dir, ['stack.lock'])).toBeNull();
    emptyFolder(dir, ['stack.lock']);
    expect(readdirSync(dir)).toEqual(['stack.lock']);
  });

  it('refuses a folder that is not a local stack’s, deleting nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ccs-reset-'));
    writeFileSync(join(dir, 'thesis.docx'), 'years of work');
    expect(resetRefusal(dir, ['stack.lock'])).toContain('does not look like a local stack');
    expect(resetRefusal(join(dir, 'missing'), [])).toBeNull();
    expect(existsSync(join(dir, 'thesis.docx'))).toBe(true);
  });
});
