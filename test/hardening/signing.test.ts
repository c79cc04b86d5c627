/**
 * Signed commands (shared/signing.ts, agent/command-signature.ts): the canonical form, the ES256
 * signature over every field (property-based: any change to any field breaks it), the lifetime,
 * and the agent loop refusing — to the poison queue, with a host-level report that carries
 * nothing of the refused message — anything the API did not sign with its Key Vault key: unsigned,
 * HMAC-style (the previous scheme), self-signed with another key under the right `kid`, tampered,
 * replayed elsewhere. The key in Key Vault itself (roles, rotation, the real SDK) is covered by
 * test/integration/command-signing.test.ts.
 */
import { createHmac, generateKeyPairSync, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ecdsaSign } from '../../local/keyvault/key-crypto.js';
import { canonicalJson } from '../../shared/canonical-json.js';
import type { Command, DesiredState } from '../../shared/messages.js';
import {
  CLOCK_SKEW_SECONDS,
  COMMAND_LIFETIME_SECONDS,
  CommandSigner,
  checkSignature,
  readSignature,
  signCommand,
  type CommandSigningKey,
} from '../../shared/signing.js';
import { HOST, command, harness } from '../support/agent-fakes.js';
import { FakeCommandKeys } from '../support/command-keys.js';
import { leavesOf, withLeaf } from '../support/tamper.js';
import { recordFigures, Tally } from './support/results.js';

const tally = new Tally();
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

/** A key pair that is not the API's: what an attacker (or a compromised agent) can make. */
function selfMadeKey(kid: string): CommandSigningKey {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const d = Buffer.from(privateKey.export({ format: 'jwk' }).d ?? '', 'base64url');
  return { sign: (digest) => Promise.resolve({ kid, signature: ecdsaSign('P-256', d, digest) }) };
}

/** The previous scheme's envelope: HMAC-SHA256 with a guessed (or stolen) shared key. */
function hmacStyle(message: Command, kid: string): Command & { sig: unknown } {
  const mac = createHmac('sha256', 'a-guessed-shared-key-of-32-chars!')
    .update(`ccs-command-v1\n${canonicalJson(message)}`)
    .digest('base64url');
  return { ...message, sig: { alg: 'HMAC-SHA256', kid, mac } };
}

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
  const keys = new FakeCommandKeys();
  let publicKey: KeyObject;
  const raw = (value: unknown) => JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
  const check = async (message: unknown, now = NOW) => {
    publicKey ??= await publicKeyOf(keys);
    const found = readSignature(message);
    if ('ok' in found) return found;
    return checkSignature(message as Record<string, unknown>, found.sig, publicKey, now);
  };

  it('verifies what was signed, after a trip through the queue as JSON: ES256, kid = the key version', async () => {
    const signed = await signCommand(apply(), keys);
    expect(signed.sig).toMatchObject({ alg: 'ES256', kid: keys.current });
    expect(Buffer.from(signed.sig.sig, 'base64url')).toHaveLength(64);
    expect(await check(raw(signed))).toEqual({ ok: true });
  });

  it('breaks when any field changes — a path, a host, a generation, a secret version, anything', async () => {
    const signed = raw(await signCommand(apply(), keys));
    const leaves = leavesOf(signed);
    expect(leaves.length).toBeGreaterThan(10);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...leaves), fc.jsonValue({ maxDepth: 1 }), async (path, value) => {
        const tampered = withLeaf(signed, path, value);
        fc.pre(tampered !== undefined);
        tally.add('tampered');
        expect(await check(tampered)).toMatchObject({ ok: false, code: 'InvalidSignature' });
      }),
      { seed: 9, numRuns: 500 },
    );
  });

  it('breaks when a field is added or removed', async () => {
    const signed = raw(await signCommand(apply(), keys));
    expect(await check({ ...signed, extra: 1 })).toMatchObject({ ok: false, code: 'InvalidSignature' });
    const { operationId: _dropped, ...fewer } = signed;
    expect(await check(fewer)).toMatchObject({ ok: false, code: 'InvalidSignature' });
  });

  it('does not verify a self-signed or HMAC-style command, or one without a signature', async () => {
    expect(await check(raw(await signCommand(apply(), selfMadeKey(keys.current))))).toMatchObject({
      ok: false,
      code: 'InvalidSignature',
    });
    expect(await check(raw(hmacStyle(apply(), keys.current)))).toMatchObject({
      ok: false,
      code: 'InvalidSignature',
    });
    expect(await check(raw(apply()))).toMatchObject({ ok: false, code: 'CommandUnsigned' });
    const genuine = (await signCommand(apply(), keys)).sig;
    for (const sig of [
      null,
      'x',
      {},
      { alg: 'none', kid: genuine.kid, sig: genuine.sig },
      { alg: 'ES384', kid: genuine.kid, sig: genuine.sig },
      { ...genuine, sig: genuine.sig.slice(1) },
      { ...genuine, extra: 1 },
    ]) {
      expect(await check({ ...raw(apply()), sig })).toMatchObject({ ok: false, code: 'InvalidSignature' });
    }
  });

  it(`expires after ${COMMAND_LIFETIME_SECONDS / 3600} h and refuses commands from the future beyond ${CLOCK_SKEW_SECONDS / 60} min`, async () => {
    const signed = raw(await signCommand(apply(), keys));
    expect(await check(signed, NOW + COMMAND_LIFETIME_SECONDS * 1000 - 1)).toEqual({ ok: true });
    expect(await check(signed, NOW + COMMAND_LIFETIME_SECONDS * 1000 + 1)).toMatchObject({
      code: 'CommandExpired',
    });
    expect(await check(signed, NOW - CLOCK_SKEW_SECONDS * 1000 + 1)).toEqual({ ok: true });
    expect(await check(signed, NOW - CLOCK_SKEW_SECONDS * 1000 - 1)).toMatchObject({
      code: 'CommandExpired',
    });
  });

  it('the API side signs with whatever version the key names and fails before any work when it cannot sign', async () => {
    const signer = new CommandSigner(keys);
    const first = await signer.sign(apply());
    const rotated = keys.rotate();
    expect((await signer.sign(apply())).sig.kid).toBe(rotated);
    expect(first.sig.kid).not.toBe(rotated);
    const broken = new CommandSigner({
      sign: () => Promise.reject(new Error('no key')),
      ready: () => Promise.reject(new Error('Key Vault getKey failed (HTTP 403)')),
    });
    await expect(broken.ready()).rejects.toThrow('403');
  });
});

async function publicKeyOf(keys: FakeCommandKeys): Promise<KeyObject> {
  const { createPublicKey } = await import('node:crypto');
  const { jwk } = await keys.get(keys.current);
  return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: jwk.x!, y: jwk.y! }, format: 'jwk' });
}

describe('the agent refuses what the API did not sign', () => {
  function signedAgent() {
    const h = harness({ verifySignatures: true });
    const password = h.store.put('ccs-farm-a-identity-password', 'share-Pa55');
    h.backend.addShare('\\\\files\\ccs', 'CONTOSO\\svc', 'share-Pa55');
    h.backend.addShare('\\\\files\\ccs\\evil', 'CONTOSO\\svc', 'share-Pa55');
    const good = (generation: number, overrides: Partial<DesiredState> = {}): Command => ({
      ...command('apply', generation, { ...desired, password, ...overrides }),
      issuedAt: new Date(h.clock.now()).toISOString(),
    });
    return { ...h, good, sign: (c: Command) => signCommand(c, h.commandKeys) };
  }

  it('applies a signed command, reading the public key once per key version', async () => {
    const { agent, queue, backend, commandKeys, good, sign } = signedAgent();
    queue.push(await sign(good(1)));
    queue.push(await sign(good(2)));
    expect(await agent.pollOnce()).toBe('handled');
    expect(await agent.pollOnce()).toBe('handled');
    expect(backend.applied).toHaveLength(2);
    expect(commandKeys.reads).toEqual([commandKeys.current]);
  });

  it('keeps accepting the previous key version after a rotation, for the command lifetime', async () => {
    const { agent, queue, backend, commandKeys, good, sign } = signedAgent();
    const before = await sign(good(1));
    const previous = commandKeys.current;
    commandKeys.rotate();
    const after = await sign(good(2));
    queue.push(before);
    queue.push(after);
    expect(await agent.pollOnce()).toBe('handled');
    expect(await agent.pollOnce()).toBe('handled');
    expect(backend.applied).toHaveLength(2);
    expect(commandKeys.reads).toEqual([previous, commandKeys.current]);
  });

  it.each([
    ['an unsigned command', 'CommandUnsigned', (c: Command) => Promise.resolve(c)],
    [
      'an HMAC-signed command (the previous scheme)',
      'InvalidSignature',
      (c: Command, kid: string) => Promise.resolve(hmacStyle(c, kid)),
    ],
    [
      'a self-signed command naming the API key’s version',
      'InvalidSignature',
      (c: Command, kid: string) => signCommand(c, selfMadeKey(kid)),
    ],
    [
      'a signed command redirected to another share',
      'InvalidSignature',
      async (c: Command, _kid: string, sign: (c: Command) => Promise<Command>) => ({
        ...(await sign(c)),
        desired: { ...c.desired, path: '\\\\files\\ccs\\evil' },
      }),
    ],
    [
      'a signed command with a newer generation forged in',
      'InvalidSignature',
      async (c: Command, _kid: string, sign: (c: Command) => Promise<Command>) => ({
        ...(await sign(c)),
        generation: 99,
      }),
    ],
    [
      'a command naming a key version Key Vault does not have',
      'InvalidSignature',
      async (c: Command, _kid: string, sign: (c: Command) => Promise<Command>) => {
        const signed = (await sign(c)) as Command & { sig: { kid: string } };
        return { ...signed, sig: { ...signed.sig, kid: 'f'.repeat(32) } };
      },
    ],
    [
      'an expired signed command',
      'CommandExpired',
      (c: Command, _kid: string, sign: (c: Command) => Promise<Command>) =>
        sign({ ...c, issuedAt: '2020-01-01T00:00:00Z' }),
    ],
  ])(
    'poisons %s, reports a host-level error with nothing of the message, and leaves IIS alone',
    async (_what, code, forge) => {
      const { agent, queue, reports, backend, state, commandKeys, good, sign } = signedAgent();
      const forged = await forge(good(7), commandKeys.current, sign);
      queue.push(forged);
      expect(await agent.pollOnce()).toBe('handled');
      tally.add('forgeriesRefused');
      expect(backend.applied).toEqual([]);
      expect(state.record.appliedGeneration).toBe(0);
      expect(queue.poisoned).toHaveLength(1);
      expect(queue.messages).toHaveLength(0);
      const [report] = reports.ofType('result');
      expect(reports.sent).toHaveLength(1);
      expect(report).toMatchObject({
        operationId: null,
        generation: 0,
        appliedGeneration: 0,
        outcome: 'failed',
        error: { code, status: 403, name: 'host' },
      });
      expect(JSON.stringify(report)).not.toContain(forged.operationId!);
    },
  );

  it('refuses a command signed with a disabled key version, and says when this agent may not read the key', async () => {
    const { agent, queue, reports, backend, commandKeys, good, sign } = signedAgent();
    commandKeys.update(commandKeys.current, { enabled: false });
    queue.push(await sign(good(1)));
    expect(await agent.pollOnce()).toBe('handled');
    const other = signedAgent();
    other.commandKeys.failWith = 403;
    other.queue.push(await other.sign(other.good(1)));
    expect(await other.agent.pollOnce()).toBe('handled');
    expect(backend.applied).toEqual([]);
    expect(other.backend.applied).toEqual([]);
    expect(reports.ofType('result')[0]?.error?.code).toBe('InvalidSignature');
    expect(other.reports.ofType('result')[0]?.error).toMatchObject({
      code: 'SigningKeyForbidden',
      status: 403,
    });
  });

  it('leaves a command for redelivery while the signing key cannot be fetched, then applies it', async () => {
    const { agent, queue, backend, commandKeys, good, sign } = signedAgent();
    commandKeys.failWith = 503;
    queue.push(await sign(good(1)));
    expect(await agent.pollOnce()).toBe('failed');
    expect(queue.poisoned).toEqual([]);
    expect(backend.applied).toEqual([]);
    queue.releaseAll();
    commandKeys.failWith = undefined;
    expect(await agent.pollOnce()).toBe('handled');
    expect(backend.applied).toHaveLength(1);
  });

  it('does not let a command signed for one host be replayed on another', async () => {
    const { agent, queue, reports, backend, good, sign } = signedAgent();
    queue.push(await sign({ ...good(1), host: 'web02' }));
    queue.push({ ...(await sign({ ...good(1), host: 'web02' })), host: HOST });
    expect(await agent.pollOnce()).toBe('handled');
    expect(await agent.pollOnce()).toBe('handled');
    expect(backend.applied).toEqual([]);
    expect(queue.poisoned).toHaveLength(2);
    expect(reports.ofType('result').map((r) => r.error?.code)).toEqual(['InvalidSignature']);
  });

  it('reports a forged command delivered too often as a host-level error, a signed one against its operation', async () => {
    const { agent, queue, reports, commandKeys, good, sign } = signedAgent();
    const forged = await signCommand(good(3), selfMadeKey(commandKeys.current));
    queue.push(forged, 5);
    queue.push(await sign(good(4)), 5);
    expect(await agent.pollOnce()).toBe('handled');
    expect(await agent.pollOnce()).toBe('handled');
    const [first, second] = reports.ofType('result');
    expect(first).toMatchObject({ operationId: null, generation: 0, error: { code: 'CommandAbandoned' } });
    expect(second).toMatchObject({ generation: 4, error: { code: 'CommandAbandoned' } });
    expect(second?.operationId).toMatch(/^op-/);
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
