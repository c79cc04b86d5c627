/**
 * Signed commands (shared/signing.ts, agent/command-signature.ts): the canonical form, the MAC
 * over every field (property-based: any change to any field breaks it), the lifetime, the key's
 * life in Key Vault on the API side, and the agent loop refusing — to the poison queue, with a
 * report — anything the API did not sign, before IIS is touched.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Command, DesiredState, SecretRef } from '../../shared/messages.js';
import {
  CLOCK_SKEW_SECONDS,
  COMMAND_LIFETIME_SECONDS,
  CommandSigner,
  SIGNING_KEY_SECRET,
  canonicalJson,
  checkSignature,
  readSignature,
  signCommand,
  type SigningKey,
} from '../../shared/signing.js';
import { HOST, command, harness } from '../support/agent-fakes.js';
import { recordFigures, Tally } from './support/results.js';

const tally = new Tally();
const KEY: SigningKey = { version: 'v1', key: Buffer.from('k'.repeat(43)) };
const OTHER_KEY: SigningKey = { version: 'v1', key: Buffer.from('x'.repeat(43)) };
const NOW = Date.parse('2026-06-01T12:00:00Z');

const desired: DesiredState = {
  enabled: true,
  path: '\\\\files\\ccs',
  username: 'CONTOSO\\svc',
  password: { name: 'ccs-farm-a-identity-password', version: 'p1' },
  privateKeyPassword: null,
};
const apply = (overrides: Partial<Command> = {}): Command =>
  ({
    ...command('apply', 1, desired),
    issuedAt: new Date(NOW).toISOString(),
    ...overrides,
  }) as Command;

describe('canonical JSON', () => {
  it('does not depend on key order or whitespace', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (obj) => {
        const shuffled = Object.fromEntries(Object.entries(obj).reverse());
        expect(canonicalJson(shuffled)).toBe(canonicalJson(JSON.parse(JSON.stringify(obj, null, 2))));
      }),
      { seed: 7, numRuns: 300 },
    );
  });

  it('is JSON that parses back to the same value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(JSON.parse(canonicalJson(value))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      { seed: 8, numRuns: 300 },
    );
  });

  it('tells strings that look like punctuation apart from punctuation', () => {
    expect(canonicalJson({ a: '{' })).not.toBe(canonicalJson({ a: {} }));
    expect(canonicalJson(['a,b'])).not.toBe(canonicalJson(['a', 'b']));
  });

  it('survives hostile nesting and refuses what JSON cannot hold', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(canonicalJson(deep).length).toBe(200_001);
    expect(() => canonicalJson({ a: Number.NaN })).toThrow();
    expect(() => canonicalJson({ a: 1n })).toThrow();
  });
});

describe('the signature', () => {
  const raw = (value: unknown) => JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
  const check = (message: unknown, key = KEY, now = NOW) => {
    const found = readSignature(message);
    if ('ok' in found) return found;
    return checkSignature(message as Record<string, unknown>, found.sig, key.key, now);
  };

  it('verifies what was signed, after a trip through the queue as JSON', () => {
    expect(check(raw(signCommand(apply(), KEY)))).toEqual({ ok: true });
  });

  it('breaks when any field changes — a path, a host, a generation, a secret version, anything', () => {
    const signed = raw(signCommand(apply(), KEY));
    /** Every leaf of the message except the signature, as a path of keys. */
    const leaves: string[][] = [];
    const walk = (node: unknown, path: string[]) => {
      if (node !== null && typeof node === 'object') {
        for (const [k, v] of Object.entries(node))
          if (!(path.length === 0 && k === 'sig')) walk(v, [...path, k]);
      } else leaves.push(path);
    };
    walk(signed, []);
    expect(leaves.length).toBeGreaterThan(10);
    fc.assert(
      fc.property(fc.constantFrom(...leaves), fc.jsonValue({ maxDepth: 1 }), (path, value) => {
        const tampered = structuredClone(signed);
        let node = tampered;
        for (const k of path.slice(0, -1)) node = node[k] as Record<string, unknown>;
        const last = path[path.length - 1]!;
        fc.pre(JSON.stringify(node[last]) !== JSON.stringify(value));
        node[last] = value;
        tally.add('tampered');
        expect(check(tampered)).toMatchObject({ ok: false, code: 'InvalidSignature' });
      }),
      { seed: 9, numRuns: 500 },
    );
  });

  it('breaks when a field is added or removed', () => {
    const signed = raw(signCommand(apply(), KEY));
    expect(check({ ...signed, extra: 1 })).toMatchObject({ ok: false, code: 'InvalidSignature' });
    const { operationId: _dropped, ...fewer } = signed;
    expect(check(fewer)).toMatchObject({ ok: false, code: 'InvalidSignature' });
  });

  it('does not verify with another key, or without a signature', () => {
    expect(check(raw(signCommand(apply(), OTHER_KEY)))).toMatchObject({
      ok: false,
      code: 'InvalidSignature',
    });
    expect(check(raw(apply()))).toMatchObject({ ok: false, code: 'CommandUnsigned' });
    for (const sig of [
      null,
      'x',
      {},
      { alg: 'none', kid: 'v1', mac: 'a'.repeat(43) },
      { ...signCommand(apply(), KEY).sig, extra: 1 },
    ]) {
      expect(check({ ...raw(apply()), sig })).toMatchObject({ ok: false, code: 'InvalidSignature' });
    }
  });

  it(`expires after ${COMMAND_LIFETIME_SECONDS / 3600} h and refuses commands from the future beyond ${CLOCK_SKEW_SECONDS / 60} min`, () => {
    const signed = raw(signCommand(apply(), KEY));
    expect(check(signed, KEY, NOW + COMMAND_LIFETIME_SECONDS * 1000 - 1)).toEqual({ ok: true });
    expect(check(signed, KEY, NOW + COMMAND_LIFETIME_SECONDS * 1000 + 1)).toMatchObject({
      code: 'CommandExpired',
    });
    expect(check(signed, KEY, NOW - CLOCK_SKEW_SECONDS * 1000 + 1)).toEqual({ ok: true });
    expect(check(signed, KEY, NOW - CLOCK_SKEW_SECONDS * 1000 - 1)).toMatchObject({ code: 'CommandExpired' });
  });
});

describe('the API side: the key in Key Vault', () => {
  class Store {
    readonly sets: string[] = [];
    latest: { ref: SecretRef; value: string } | null = null;
    reads = 0;
    async getLatestSecret(): Promise<{ ref: SecretRef; value: string } | null> {
      this.reads += 1;
      await new Promise((r) => setTimeout(r, 5));
      return this.latest;
    }
    async setSecret(name: string, value: string): Promise<SecretRef> {
      await new Promise((r) => setTimeout(r, 5));
      this.sets.push(value);
      const ref = { name, version: `v${this.sets.length}` };
      this.latest = { ref, value };
      return ref;
    }
  }

  it('creates the key once on first use, even under concurrent first uses, and caches it', async () => {
    const store = new Store();
    const signer = new CommandSigner(store);
    const keys = await Promise.all(Array.from({ length: 20 }, () => signer.key()));
    expect(store.sets).toHaveLength(1);
    expect(new Set(keys.map((k) => k.version))).toEqual(new Set(['v1']));
    expect(store.sets[0]!.length).toBeGreaterThanOrEqual(32);
    await signer.key();
    expect(store.reads).toBe(1);
  });

  it('uses the newest existing version, and replaces a value too short to be a key', async () => {
    const store = new Store();
    store.latest = { ref: { name: SIGNING_KEY_SECRET, version: 'abc' }, value: 'z'.repeat(40) };
    expect((await new CommandSigner(store).key()).version).toBe('abc');
    store.latest = { ref: { name: SIGNING_KEY_SECRET, version: 'short' }, value: 'too-short' };
    const key = await new CommandSigner(store).key();
    expect(key.version).toBe('v1');
    expect(store.sets).toHaveLength(1);
  });

  it('picks up a rotated key after its cache time', async () => {
    const store = new Store();
    let now = 0;
    const signer = new CommandSigner(store, () => now);
    expect((await signer.key()).version).toBe('v1');
    store.latest = { ref: { name: SIGNING_KEY_SECRET, version: 'rotated' }, value: 'r'.repeat(43) };
    expect((await signer.key()).version).toBe('v1');
    now += 11 * 60 * 1000;
    expect((await signer.key()).version).toBe('rotated');
  });
});

describe('the agent refuses what the API did not sign', () => {
  function signedAgent() {
    const { agent, queue, reports, backend, store, state, clock, logs } = harness({ verifySignatures: true });
    const keyRef = store.put(SIGNING_KEY_SECRET, KEY.key.toString('utf8'));
    const key: SigningKey = { version: keyRef.version, key: KEY.key };
    const password = store.put('ccs-farm-a-identity-password', 'share-Pa55');
    backend.addShare('\\\\files\\ccs', 'CONTOSO\\svc', 'share-Pa55');
    backend.addShare('\\\\files\\ccs\\evil', 'CONTOSO\\svc', 'share-Pa55');
    const good = (generation: number, overrides: Partial<DesiredState> = {}): Command => ({
      ...command('apply', generation, { ...desired, password, ...overrides }),
      issuedAt: new Date(clock.now()).toISOString(),
    });
    return { agent, queue, reports, backend, store, state, key, good, logs };
  }

  it('applies a signed command', async () => {
    const { agent, queue, backend, key, good } = signedAgent();
    queue.push(signCommand(good(1), key));
    expect(await agent.pollOnce()).toBe('handled');
    expect(backend.applied).toHaveLength(1);
  });

  it.each([
    ['an unsigned command', 'CommandUnsigned', (c: Command, _k: SigningKey) => c],
    [
      'a command signed with another key',
      'InvalidSignature',
      (c: Command, k: SigningKey) => signCommand(c, { ...OTHER_KEY, version: k.version }),
    ],
    [
      'a signed command redirected to another share',
      'InvalidSignature',
      (c: Command, k: SigningKey) => ({
        ...signCommand(c, k),
        desired: { ...c.desired, path: '\\\\files\\ccs\\evil' },
      }),
    ],
    [
      'a signed command with a newer generation forged in',
      'InvalidSignature',
      (c: Command, k: SigningKey) => ({ ...signCommand(c, k), generation: 99 }),
    ],
    [
      'a command naming a key version Key Vault does not have',
      'InvalidSignature',
      (c: Command, k: SigningKey) => signCommand(c, { ...k, version: 'nope' }),
    ],
    [
      'an expired signed command',
      'CommandExpired',
      (c: Command, k: SigningKey) => signCommand({ ...c, issuedAt: '2020-01-01T00:00:00Z' }, k),
    ],
  ])('poisons %s, reports it, and leaves IIS alone', async (_what, code, forge) => {
    const { agent, queue, reports, backend, state, key, good } = signedAgent();
    queue.push(forge(good(1), key));
    expect(await agent.pollOnce()).toBe('handled');
    tally.add('forgeriesRefused');
    expect(backend.applied).toEqual([]);
    expect(state.record.appliedGeneration).toBe(0);
    expect(queue.poisoned).toHaveLength(1);
    expect(queue.messages).toHaveLength(0);
    expect(reports.ofType('result')).toMatchObject([
      { outcome: 'failed', error: { code, status: 403, name: 'host' } },
    ]);
  });

  it('leaves a command for redelivery while the signing key cannot be fetched, then applies it', async () => {
    const { agent, queue, backend, store, key, good } = signedAgent();
    const original = store.getSecret.bind(store);
    let down = true;
    store.getSecret = (ref) =>
      down && ref.name === SIGNING_KEY_SECRET
        ? Promise.reject(
            Object.assign(new Error('Key Vault getSecret failed (HTTP 503)'), { statusCode: 503 }),
          )
        : original(ref);
    queue.push(signCommand(good(1), key));
    expect(await agent.pollOnce()).toBe('failed');
    expect(queue.poisoned).toEqual([]);
    expect(backend.applied).toEqual([]);
    queue.releaseAll();
    down = false;
    expect(await agent.pollOnce()).toBe('handled');
    expect(backend.applied).toHaveLength(1);
  });

  it('does not let a command signed for one host be replayed on another', async () => {
    const { agent, queue, reports, backend, key, good } = signedAgent();
    queue.push(signCommand({ ...good(1), host: 'web02' }, key));
    queue.push({ ...signCommand({ ...good(1), host: 'web02' }, key), host: HOST });
    expect(await agent.pollOnce()).toBe('handled');
    expect(await agent.pollOnce()).toBe('handled');
    expect(backend.applied).toEqual([]);
    expect(queue.poisoned).toHaveLength(2);
    expect(reports.ofType('result').map((r) => r.error?.code)).toEqual(['InvalidSignature']);
  });
});

describe('figures', () => {
  it('records them', () => {
    recordFigures('signing', {
      tamperedCommandsRefused: tally.get('tampered'),
      forgeriesRefused: tally.get('forgeriesRefused'),
    });
  });
});
