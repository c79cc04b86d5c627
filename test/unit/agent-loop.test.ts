import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { Backoff } from '../../agent/backoff.js';
import { MAX_DEQUEUE_COUNT } from '../../agent/loop.js';
import { AGENT_VERSION } from '../../agent/version.js';
import { DISABLED_STATE, type DesiredState, type ResultReport } from '../../shared/messages.js';
import { command, Gate, harness, HOST, type Harness } from '../support/agent-fakes.js';

const SHARE = '\\\\files\\ccs';
const USER = 'CONTOSO\\ccs-reader';
const CANARY_PASSWORD = 'canary-identity-Pa55!"\\';
const CANARY_PK = 'canary-private-key-0xC0FFEE';

/** A harness with a readable share whose .pfx opens with the private-key password. */
function ready(options: Parameters<typeof harness>[0] = {}): Harness & { desired: DesiredState } {
  const h = harness(options);
  h.backend.addShare(SHARE, USER, CANARY_PASSWORD, { 'www.contoso.com.pfx': CANARY_PK });
  const desired: DesiredState = {
    enabled: true,
    path: SHARE,
    username: USER,
    password: h.store.put('ccs-farm-a-identity-password', CANARY_PASSWORD),
    privateKeyPassword: h.store.put('ccs-farm-a-private-key-password', CANARY_PK),
  };
  return { ...h, desired };
}

async function drain(h: Harness): Promise<void> {
  while ((await h.agent.pollOnce()) !== 'empty') {
    /* keep polling */
  }
}

const results = (h: Harness): ResultReport[] => h.reports.ofType('result');

describe('Backoff', () => {
  it('doubles on empty polls up to the maximum and resets after activity', () => {
    const b = new Backoff(1000, 8000);
    expect([b.afterIdle(), b.afterIdle(), b.afterIdle(), b.afterIdle(), b.afterIdle()]).toEqual([
      1000, 2000, 4000, 8000, 8000,
    ]);
    expect(b.afterActivity()).toBe(0);
    expect(b.afterIdle()).toBe(1000);
  });

  it('goes straight back to the maximum after a completed change', () => {
    const b = new Backoff(1000, 8000);
    expect(b.afterCompletion()).toBe(0);
    expect([b.afterIdle(), b.afterIdle()]).toEqual([8000, 8000]);
  });
});

describe('agent loop', () => {
  it('polls with adaptive backoff: doubling while idle, from the minimum after a passed preflight', async () => {
    const h = ready();
    h.clock.onSleep = (n) => {
      if (n === 5) h.queue.push(command('preflight', 1, h.desired));
      if (n === 8) h.agent.stop();
    };
    await h.agent.run();
    expect(h.clock.sleeps).toEqual([1000, 2000, 4000, 8000, 8000, 1000, 2000, 4000]);
    expect(results(h).map((r) => r.outcome)).toEqual(['succeeded']);
  });

  it('after a passed preflight, sleeps until the slowest host can have preflighted, then polls fast', async () => {
    const h = ready();
    h.clock.onSleep = (n) => {
      // Issued 2 s before this host picks it up: other hosts may take up to pollMax (8 s), and
      // the API a poll minimum (1 s) to fold the last report.
      const issuedAt = new Date(h.clock.time - 2000).toISOString();
      if (n === 2) h.queue.push({ ...command('preflight', 1, h.desired), issuedAt });
      if (n === 5) h.agent.stop();
    };
    await h.agent.run();
    expect(h.clock.sleeps).toEqual([1000, 2000, 7000, 2000, 4000]);
    expect(results(h).map((r) => r.outcome)).toEqual(['succeeded']);
  });

  it('never waits longer than the idle maximum for an apply, whatever the API clock says', async () => {
    const h = ready();
    h.clock.onSleep = (n) => {
      const issuedAt = new Date(h.clock.time + 3_600_000).toISOString(); // an hour ahead
      if (n === 2) h.queue.push({ ...command('preflight', 1, h.desired), issuedAt });
      if (n === 4) h.agent.stop();
    };
    await h.agent.run();
    expect(h.clock.sleeps).toEqual([1000, 2000, 8000, 2000]);
  });

  it('does not poll more often because drift checks fall due between polls', async () => {
    const h = ready({ settings: { pollMinSeconds: 1, pollMaxSeconds: 8, driftIntervalSeconds: 3 } });
    const receive = h.queue.receive.bind(h.queue);
    let polls = 0;
    h.queue.receive = (visibility) => {
      polls++;
      return receive(visibility);
    };
    const start = h.clock.time;
    h.clock.onSleep = () => {
      if (h.clock.time - start >= 80_000) h.agent.stop();
    };
    await h.agent.run();
    // Polls at 0, 1, 3, 7, then every 8 s: 13 in 80 s — not one more per drift check (26 of them).
    expect(polls).toBe(13);
  });

  it('keeps its schedule when the wall clock is put back (soak seed 2: deaf for the size of the step)', async () => {
    const h = ready({ settings: { pollMinSeconds: 1, pollMaxSeconds: 8, helloIntervalSeconds: 20 } });
    h.clock.onSleep = (n) => {
      if (n === 3) h.clock.time -= 120_000; // the time service puts a fast clock right
      if (n === 8) h.agent.stop();
    };
    await h.agent.run();
    // Never a sleep longer than the idle maximum: not 120 s more after the step.
    expect(Math.max(...h.clock.sleeps)).toBeLessThanOrEqual(8000);
    // A hello at start and at 20 s of its own time, not 120 s later.
    expect(h.clock.sleeps.reduce((a, b) => a + b, 0)).toBeLessThan(60_000);
    expect(h.reports.ofType('hello').length).toBeGreaterThanOrEqual(2);
  });

  it('after an apply (nothing more expected) polls once at once, then at the idle maximum', async () => {
    const h = ready();
    h.clock.onSleep = (n) => {
      if (n === 2) h.queue.push(command('apply', 1, h.desired));
      if (n === 5) h.agent.stop();
    };
    await h.agent.run();
    expect(h.clock.sleeps).toEqual([1000, 2000, 8000, 8000, 8000]);
    expect(results(h).map((r) => r.outcome)).toEqual(['succeeded']);
  });

  it('treats a missing queue as empty and keeps running', async () => {
    const h = ready();
    h.queue.missing = true;
    h.clock.onSleep = (n) => {
      if (n === 3) h.agent.stop();
    };
    await h.agent.run();
    expect(h.clock.sleeps).toEqual([1000, 2000, 4000]);
    expect(h.logs.join('')).not.toContain('"level":"error"');
  });

  it('survives receive failures with backoff', async () => {
    const h = ready();
    h.queue.failReceive = 2;
    h.queue.push(command('apply', 1, h.desired));
    h.clock.onSleep = (n) => {
      if (n === 3) h.agent.stop();
    };
    await h.agent.run();
    expect(results(h)).toHaveLength(1);
  });

  it('sends hello on start and every helloIntervalSeconds, with backend, version and applied generation', async () => {
    const h = ready({ settings: { helloIntervalSeconds: 10, pollMaxSeconds: 4 } });
    const start = h.clock.time;
    h.clock.onSleep = () => {
      if (h.clock.time - start >= 25_000) h.agent.stop();
    };
    await h.agent.run();
    const hellos = h.reports.ofType('hello');
    expect(hellos.length).toBe(3);
    expect(hellos[0]).toMatchObject({
      type: 'hello',
      host: HOST,
      backend: 'fake',
      agentVersion: AGENT_VERSION,
      appliedGeneration: 0,
      actual: { enabled: false },
    });
  });

  it('applies a newer generation once; duplicates, older and reordered commands are superseded', async () => {
    const h = ready();
    const gen2 = command('apply', 2, h.desired);
    h.queue.push(gen2);
    h.queue.push(command('apply', 1, { ...h.desired, path: '\\\\files\\ccs\\old' }));
    h.queue.push(gen2); // duplicate delivery
    h.queue.push(command('preflight', 2, h.desired)); // late preflight of an applied generation
    await drain(h);
    expect(results(h).map((r) => [r.phase, r.generation, r.outcome, r.appliedGeneration])).toEqual([
      ['apply', 2, 'succeeded', 2],
      ['apply', 1, 'superseded', 2],
      ['apply', 2, 'superseded', 2],
      ['preflight', 2, 'superseded', 2],
    ]);
    expect(h.backend.applied).toHaveLength(1);
    expect(h.state.record.appliedGeneration).toBe(2);
    expect(h.state.record.desired).toEqual(h.desired);
    expect(h.queue.messages).toHaveLength(0);
  });

  it('reports the actual state read back after applying', async () => {
    const h = ready();
    h.queue.push(command('apply', 1, h.desired));
    await drain(h);
    expect(results(h)[0]?.actual).toEqual({ enabled: true, path: SHARE, username: USER });
  });

  it('disables: erases credentials and persists the disabled state', async () => {
    const h = ready();
    h.queue.push(command('apply', 1, h.desired));
    h.queue.push(command('apply', 2, DISABLED_STATE));
    await drain(h);
    expect(h.backend.applied.at(-1)).toEqual({ enabled: false });
    expect(results(h).at(-1)).toMatchObject({
      outcome: 'succeeded',
      actual: { enabled: false, username: null },
    });
    expect(h.state.record).toMatchObject({ appliedGeneration: 2, desired: DISABLED_STATE });
  });

  describe('poison', () => {
    it.each([
      ['not JSON', 'this is not json'],
      ['JSON that is not a command', JSON.stringify({ v: 1, type: 'reboot' })],
      ['a command with a wrong version', JSON.stringify({ ...command('apply', 1, DISABLED_STATE), v: 2 })],
      ['a command for another ccs-id', command('apply', 1, DISABLED_STATE, { ccsId: 'farm-b' })],
      ['a command for another host', command('apply', 1, DISABLED_STATE, { host: 'web02' })],
    ])('moves %s to the poison queue and carries on', async (_label, payload) => {
      const h = ready();
      const text = h.queue.push(payload) && h.queue.messages[0]!.text;
      h.queue.push(command('apply', 1, h.desired));
      await drain(h);
      expect(h.queue.poisoned).toEqual([text]);
      expect(results(h).map((r) => r.outcome)).toEqual(['succeeded']);
      expect(h.queue.messages).toHaveLength(0);
    });

    it('accepts the host name case-insensitively', async () => {
      const h = ready();
      h.queue.push(command('apply', 1, h.desired, { host: HOST.toUpperCase() }));
      await drain(h);
      expect(h.queue.poisoned).toEqual([]);
      expect(results(h)[0]?.outcome).toBe('succeeded');
    });

    it(`moves a message delivered more than ${MAX_DEQUEUE_COUNT} times to poison without applying it`, async () => {
      const h = ready();
      h.queue.push(command('apply', 1, h.desired), MAX_DEQUEUE_COUNT);
      await drain(h);
      expect(h.queue.poisoned).toHaveLength(1);
      expect(h.backend.applied).toHaveLength(0);
      expect(results(h)[0]).toMatchObject({ outcome: 'failed', error: { code: 'CommandAbandoned' } });
    });

    it(`still processes the ${MAX_DEQUEUE_COUNT}th delivery`, async () => {
      const h = ready();
      h.queue.push(command('apply', 1, h.desired), MAX_DEQUEUE_COUNT - 1);
      await drain(h);
      expect(h.queue.poisoned).toHaveLength(0);
      expect(h.backend.applied).toHaveLength(1);
    });
  });

  describe('at-least-once delivery', () => {
    it('deletes a message only after its report is sent', async () => {
      const h = ready();
      h.queue.push(command('apply', 1, h.desired));
      h.reports.failNext = 1;
      expect(await h.agent.pollOnce()).toBe('failed');
      expect(h.queue.deleted).toEqual([]);
      expect(h.queue.messages).toHaveLength(1);
      // The visibility timeout passes; the redelivery is answered (the host is already there).
      h.queue.releaseAll();
      expect(await h.agent.pollOnce()).toBe('handled');
      expect(h.queue.messages).toHaveLength(0);
      expect(results(h).map((r) => [r.outcome, r.appliedGeneration])).toEqual([['superseded', 1]]);
      expect(h.backend.applied).toHaveLength(1);
    });

    it('receives each command invisible for the configured time and never extends it', async () => {
      const h = ready({ settings: { visibilityTimeoutSeconds: 3600 } });
      h.queue.push(command('apply', 1, h.desired));
      expect(await h.agent.pollOnce()).toBe('handled');
      expect(h.queue.receivedFor).toEqual([3600]);
      // The port has no way to extend a message: the agent's role could not (docs/deploy.md).
      expect('extend' in h.queue).toBe(false);
      expect(h.queue.deleted).toHaveLength(1);
    });

    it('stop() finishes the message in hand, then run() returns', async () => {
      const h = ready();
      h.backend.applyGate = new Gate();
      h.queue.push(command('apply', 1, h.desired));
      const running = h.agent.run();
      await h.backend.applyGate.entered;
      h.agent.stop();
      h.backend.applyGate.release();
      await running;
      expect(results(h).map((r) => r.outcome)).toEqual(['succeeded']);
      expect(h.queue.messages).toHaveLength(0);
    });

    it('abort() before the change leaves IIS untouched; the message stays on the queue', async () => {
      const h = ready();
      h.store.gate = new Gate();
      h.queue.push(command('apply', 1, h.desired));
      const running = h.agent.run();
      await h.store.gate.entered;
      h.agent.abort();
      h.store.gate.release();
      await running;
      expect(h.backend.applied).toEqual([]);
      expect(h.state.record.appliedGeneration).toBe(0);
      expect(results(h)).toEqual([]);
      expect(h.queue.messages).toHaveLength(1);
    });

    it('abort() during the change abandons the message before its report; it stays on the queue', async () => {
      const h = ready();
      h.backend.applyGate = new Gate();
      h.queue.push(command('apply', 1, h.desired));
      const running = h.agent.run();
      await h.backend.applyGate.entered;
      h.agent.abort();
      h.backend.applyGate.release();
      await running;
      expect(results(h)).toEqual([]);
      expect(h.queue.messages).toHaveLength(1);
    });
  });

  describe('preflight', () => {
    it('reports success and changes nothing', async () => {
      const h = ready();
      h.queue.push(command('preflight', 1, h.desired));
      await drain(h);
      expect(results(h)[0]).toMatchObject({
        phase: 'preflight',
        outcome: 'succeeded',
        error: null,
        appliedGeneration: 0,
      });
      expect(h.backend.applied).toEqual([]);
      expect(h.state.record.appliedGeneration).toBe(0);
    });

    const cases: [string, (h: Harness & { desired: DesiredState }) => DesiredState, object][] = [
      [
        'a path outside the allowed locations',
        (h) => ({ ...h.desired, path: '\\\\evil\\share' }),
        { name: 'path', code: 'PathForbidden', status: 403 },
      ],
      [
        'a path climbing out of an allowed location',
        (h) => ({ ...h.desired, path: 'D:\\certs\\..\\Windows' }),
        { name: 'path', code: 'PathForbidden', status: 403 },
      ],
      [
        'a path climbing above its share',
        (h) => ({ ...h.desired, path: '\\\\files\\ccs\\..\\..\\other' }),
        { name: 'path', code: 'InvalidParameter', status: 400 },
      ],
      [
        'a missing directory',
        (h) => ({ ...h.desired, path: '\\\\files\\ccs\\missing' }),
        { name: 'path', code: 'PathNotFound', status: 404, detail: 'The specified path does not exist' },
      ],
      [
        'an identity that cannot read the share',
        (h) => ({ ...h.desired, password: h.store.put('ccs-farm-a-identity-password', 'wrong') }),
        {
          name: 'identity',
          code: 'IdentityLogonFailed',
          status: 400,
          detail: 'Cannot access certificate store',
        },
      ],
      [
        'a private-key password that opens no certificate',
        (h) => ({
          ...h.desired,
          privateKeyPassword: h.store.put('ccs-farm-a-private-key-password', 'wrong'),
        }),
        { name: 'private_key_password', code: 'InvalidPrivateKeyPassword', status: 400 },
      ],
      [
        'an identity password Key Vault does not have',
        (h) => ({ ...h.desired, password: { name: 'ccs-farm-a-identity-password', version: 'nope' } }),
        { name: 'identity', code: 'SecretUnavailable', status: 502 },
      ],
      [
        'a private-key password Key Vault does not have',
        (h) => ({
          ...h.desired,
          privateKeyPassword: { name: 'ccs-farm-a-private-key-password', version: 'nope' },
        }),
        { name: 'private_key_password', code: 'SecretUnavailable', status: 502 },
      ],
      [
        'an undefined %VARIABLE%',
        (h) => ({ ...h.desired, path: '%CertRoot%\\ccs' }),
        { name: 'path', code: 'InvalidParameter', status: 400 },
      ],
    ];

    it.each(cases)(
      'fails for %s — for preflight and apply alike — and changes nothing',
      async (_label, make, error) => {
        const h = ready();
        const desired = make(h);
        h.queue.push(command('preflight', 1, desired));
        h.queue.push(command('apply', 1, desired));
        await drain(h);
        expect(results(h).map((r) => [r.phase, r.outcome])).toEqual([
          ['preflight', 'failed'],
          ['apply', 'failed'],
        ]);
        for (const r of results(h)) expect(r.error).toMatchObject(error);
        expect(h.backend.applied).toEqual([]);
        expect(h.state.record.appliedGeneration).toBe(0);
      },
    );

    it('checks in order: the path is refused before Key Vault is even asked', async () => {
      const h = ready();
      h.queue.push(command('preflight', 1, { ...h.desired, path: '\\\\evil\\share' }));
      await drain(h);
      expect(h.store.reads).toEqual([]);
    });

    it('passes when a share has no .pfx, or only files the password cannot disprove', async () => {
      const h = ready();
      h.backend.pfx.set(
        SHARE.toLowerCase(),
        new Map([
          ['odd.pfx', '<malformed>'],
          ['plain.pfx', ''],
        ]),
      );
      h.queue.push(command('preflight', 1, h.desired));
      h.backend.addShare('D:\\certs', USER, CANARY_PASSWORD);
      h.queue.push(command('preflight', 2, { ...h.desired, path: 'D:\\certs' }));
      await drain(h);
      expect(results(h).map((r) => r.outcome)).toEqual(['succeeded', 'succeeded']);
    });

    it('passes when any one .pfx opens, even if others do not', async () => {
      const h = ready();
      h.backend.pfx.set(
        SHARE.toLowerCase(),
        new Map([
          ['a.pfx', 'other'],
          ['b.pfx', CANARY_PK],
        ]),
      );
      h.queue.push(command('preflight', 1, h.desired));
      await drain(h);
      expect(results(h)[0]?.outcome).toBe('succeeded');
    });

    it('expands %VARIABLES% with the host environment on both the path and the allowed locations', async () => {
      const h = ready({
        settings: {
          environment: { SystemDrive: 'D:' },
          allowedLocations: [{ path: '%SystemDrive%\\certs', claims: ['read'] }],
        },
      });
      h.backend.addShare('D:\\certs', USER, CANARY_PASSWORD);
      h.queue.push(command('apply', 1, { ...h.desired, path: '%SYSTEMDRIVE%\\certs' }));
      await drain(h);
      expect(results(h)[0]?.outcome).toBe('succeeded');
      expect(h.backend.applied[0]).toMatchObject({ path: 'D:\\certs' });
    });

    it('an apply preflights again: a host that missed phase one never applies a bad change', async () => {
      const h = ready();
      h.queue.push(command('apply', 1, { ...h.desired, path: '\\\\files\\ccs\\missing' }));
      await drain(h);
      expect(results(h)[0]).toMatchObject({
        phase: 'apply',
        outcome: 'failed',
        error: { code: 'PathNotFound' },
      });
      expect(h.backend.applied).toEqual([]);
    });
  });

  describe('secrets', () => {
    it('fetches each referenced version once and a rotated version anew', async () => {
      const h = ready();
      h.queue.push(command('preflight', 1, h.desired));
      h.queue.push(command('apply', 1, h.desired));
      await drain(h);
      expect(h.store.reads).toHaveLength(2);
      const rotated = h.store.put('ccs-farm-a-identity-password', CANARY_PASSWORD);
      h.queue.push(command('apply', 2, { ...h.desired, password: rotated }));
      await drain(h);
      expect(h.store.reads.map((r) => r.version)).toEqual([
        h.desired.password!.version,
        h.desired.privateKeyPassword!.version,
        rotated.version,
      ]);
    });

    it('never puts a secret value in a report or a log line, even when the backend echoes one', async () => {
      const h = ready();
      h.queue.push(command('preflight', 1, h.desired));
      h.queue.push(command('apply', 1, h.desired));
      h.backend.applyError = new Error(`Set-IISCentralCertProvider -Password ${CANARY_PASSWORD} failed`);
      h.queue.push(command('apply', 2, h.desired));
      await drain(h);
      h.backend.applyError = undefined;
      h.backend.actual = { enabled: false, path: null, username: null };
      await h.agent.checkDrift();
      await h.agent.sendHello();

      const failed = results(h).find((r) => r.outcome === 'failed');
      expect(failed?.error).toMatchObject({ code: 'ApplyFailed', status: 500 });
      expect(failed?.error?.detail).toContain('[redacted]');
      const everything = JSON.stringify(h.reports.sent) + h.logs.join('');
      expect(h.logs.length).toBeGreaterThan(3);
      for (const canary of [CANARY_PASSWORD, CANARY_PK, JSON.stringify(CANARY_PASSWORD).slice(1, -1)]) {
        expect(everything).not.toContain(canary);
      }
      for (const line of h.logs) {
        const entry = JSON.parse(line) as Record<string, unknown>;
        expect(entry).toMatchObject({ level: expect.any(String), msg: expect.any(String) });
      }
    });
  });

  describe('drift', () => {
    it('re-applies the last applied state after a hand edit and reports it', async () => {
      const h = ready();
      h.queue.push(command('apply', 3, h.desired));
      await drain(h);
      h.backend.actual = { enabled: true, path: '\\\\files\\ccs\\other', username: USER };
      expect(await h.agent.checkDrift()).toBe(true);
      const drift = h.reports.ofType('drift');
      expect(drift).toHaveLength(1);
      expect(drift[0]).toMatchObject({
        generation: 3,
        found: { path: '\\\\files\\ccs\\other' },
        actual: { enabled: true, path: SHARE, username: USER },
        repaired: true,
        error: null,
      });
      expect(h.backend.applied).toHaveLength(2);
    });

    it('does not report when in sync; paths and user names compare case-insensitively', async () => {
      const h = ready();
      h.queue.push(command('apply', 1, h.desired));
      await drain(h);
      h.backend.actual = { enabled: true, path: SHARE.toUpperCase(), username: USER.toLowerCase() };
      await h.agent.checkDrift();
      expect(h.reports.ofType('drift')).toEqual([]);
    });

    it('re-disables a host enabled by hand after a disable', async () => {
      const h = ready();
      h.queue.push(command('apply', 1, DISABLED_STATE));
      await drain(h);
      h.backend.actual = { enabled: true, path: SHARE, username: USER };
      await h.agent.checkDrift();
      expect(h.reports.ofType('drift')[0]).toMatchObject({ repaired: true, actual: { enabled: false } });
    });

    it('reports an unrepaired drift when the applied secret version is gone', async () => {
      const h = ready();
      h.queue.push(command('apply', 1, h.desired));
      await drain(h);
      h.backend.actual = { enabled: false, path: null, username: null };
      const gone = { name: 'ccs-farm-a-identity-password', version: 'purged' };
      h.state.record = { ...h.state.record, desired: { ...h.desired, password: gone } };
      expect(await h.agent.checkDrift()).toBe(false);
      expect(h.reports.ofType('drift')[0]).toMatchObject({
        repaired: false,
        error: { code: 'SecretUnavailable' },
      });
    });

    it('does nothing before anything was applied', async () => {
      const h = ready();
      h.backend.actual = { enabled: true, path: SHARE, username: USER };
      await h.agent.checkDrift();
      expect(h.reports.sent).toEqual([]);
    });
  });

  describe('runOnce', () => {
    it('sends hello, drains the queue and checks drift', async () => {
      const h = ready();
      h.queue.push(command('apply', 1, h.desired));
      h.queue.push(command('apply', 2, { ...h.desired, username: 'CONTOSO\\other' }));
      expect(await h.agent.runOnce()).toBe(true);
      expect(h.reports.sent.map((r) => r.type)).toEqual(['hello', 'result', 'result']);
      expect(results(h)[1]).toMatchObject({ outcome: 'failed', error: { code: 'IdentityLogonFailed' } });
    });

    it('returns false when a report cannot be sent', async () => {
      const h = ready();
      h.queue.push(command('apply', 1, h.desired));
      h.reports.failNext = 2; // hello and the result
      expect(await h.agent.runOnce()).toBe(false);
      expect(h.queue.messages).toHaveLength(1);
    });
  });

  it('AGENT_VERSION follows package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(AGENT_VERSION).toBe(pkg.version);
  });
});
