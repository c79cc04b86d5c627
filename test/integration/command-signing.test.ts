/**
 * Commands signed with the Key Vault key, end to end over real Azurite and the local Key Vault
 * (real KeyClient and CryptographyClient): the API's identity signs, the agents' identity reads
 * the public part and cannot sign, rotation keeps the previous version valid, and every agent of
 * a fleet refuses a forged HMAC-style or self-signed command, changing nothing.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CryptographyClient, KeyClient } from '@azure/keyvault-keys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandVerifier } from '../../agent/command-signature.js';
import { ecdsaSign } from '../../local/keyvault/key-crypto.js';
import { API_ROLES, AGENT_ROLES, deployCommandSigningKey } from '../../local/keyvault/fleet-roles.js';
import { startKeyVaultServer, type LocalKeyVault } from '../../local/keyvault/server.js';
import {
  KeyVaultCommandPublicKeys,
  KeyVaultCommandSigningKey,
  keyClientOptions,
} from '../../shared/adapters/keyvault-command-key.js';
import { StaticTokenCredential } from '../../shared/adapters/static-token-credential.js';
import { DISABLED_STATE, encodeMessage, type Command } from '../../shared/messages.js';
import { commandQueueName, poisonQueueName } from '../../shared/names.js';
import { COMMAND_SIGNING_KEY, KEY_CACHE_MS, signCommand } from '../../shared/signing.js';
import {
  applyCommand,
  reportsOf,
  startAgent,
  startFleet,
  uniqueCcsId,
  waitFor,
  type Fleet,
  type RunningAgent,
} from '../support/agent-azurite.js';

describe('the command-signing key in Key Vault', () => {
  const tokens = {
    admin: `admin-${randomUUID()}`,
    api: `api-${randomUUID()}`,
    agent: `agent-${randomUUID()}`,
  };
  let dir: string;
  let vault: LocalKeyVault;
  let options: ReturnType<typeof keyClientOptions>;
  const client = (token: string) => new KeyClient(vault.url, new StaticTokenCredential(token), options);
  const apiKey = (now: () => number = Date.now) =>
    new KeyVaultCommandSigningKey(
      client(tokens.api),
      new StaticTokenCredential(tokens.api),
      options,
      COMMAND_SIGNING_KEY,
      now,
    );
  const agentVerifier = () => new CommandVerifier(new KeyVaultCommandPublicKeys(client(tokens.agent)));
  const command = (): Command => ({ ...applyCommand('farm-a', 'web01', 1, DISABLED_STATE) });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ccs-command-signing-'));
    vault = await startKeyVaultServer({
      port: 0,
      certDir: join(dir, 'certs'),
      acceptedTokens: [tokens.admin],
      principals: [
        { name: 'api', token: tokens.api, roles: API_ROLES },
        { name: 'agents', token: tokens.agent, roles: AGENT_ROLES },
      ],
    });
    options = keyClientOptions({
      caCertPem: await readFile(vault.caCertPath, 'utf8'),
      retryOptions: { maxRetries: 0 },
    });
    await deployCommandSigningKey(vault);
  });

  afterAll(async () => {
    await vault?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('the API signs through Key Vault with the newest version; an agent verifies with the public part', async () => {
    const signed = await signCommand(command(), apiKey());
    const newest = await client(tokens.admin).getKey(COMMAND_SIGNING_KEY);
    expect(signed.sig.kid).toBe(newest.properties.version);
    expect(await agentVerifier().verify(JSON.parse(JSON.stringify(signed)))).toEqual({ ok: true });
  });

  it('the agents’ identity reads the key but cannot sign with it: Key Vault answers 403', async () => {
    const newest = await client(tokens.agent).getKey(COMMAND_SIGNING_KEY);
    const crypto = new CryptographyClient(newest.id!, new StaticTokenCredential(tokens.agent), options);
    const refused = await crypto.sign('ES256', Buffer.alloc(32, 7)).then(
      () => undefined,
      (e: unknown) => e as { statusCode?: number; code?: string; message: string },
    );
    expect(refused).toMatchObject({ statusCode: 403, code: 'Forbidden' });
    expect(refused?.message).toContain('keys/sign/action');
  });

  it('rotates: new commands use the new version within the cache time, the previous version still verifies', async () => {
    let now = Date.now();
    const key = apiKey(() => now);
    const before = await signCommand(command(), key);
    const rotated = await client(tokens.admin).createEcKey(COMMAND_SIGNING_KEY, { curve: 'P-256' });
    expect((await signCommand(command(), key)).sig.kid).toBe(before.sig.kid);
    now += KEY_CACHE_MS + 1;
    const after = await signCommand(command(), key);
    expect(after.sig.kid).toBe(rotated.properties.version);
    const verifier = agentVerifier();
    const reads = () => vault.stats().getKey ?? 0;
    const start = reads();
    for (const signed of [before, after, before, after]) {
      expect(await verifier.verify(JSON.parse(JSON.stringify(signed)))).toEqual({ ok: true });
    }
    expect(reads() - start).toBe(2); // once per version
  });

  it('a disabled version stops verifying (for agents that read it after it was disabled)', async () => {
    const signed = await signCommand(command(), apiKey());
    await client(tokens.admin).updateKeyProperties(COMMAND_SIGNING_KEY, signed.sig.kid, { enabled: false });
    expect(await agentVerifier().verify(JSON.parse(JSON.stringify(signed)))).toMatchObject({
      ok: false,
      permanent: true,
      code: 'InvalidSignature',
    });
    await expect(signCommand(command(), apiKey())).rejects.toMatchObject({ code: 'SigningKeyUnavailable' });
    await client(tokens.admin).updateKeyProperties(COMMAND_SIGNING_KEY, signed.sig.kid, { enabled: true });
  });
});

describe('every agent of a fleet refuses forged commands', () => {
  let fleet: Fleet;
  const running: RunningAgent[] = [];

  beforeAll(async () => {
    fleet = await startFleet();
  });

  afterAll(async () => {
    await Promise.all(running.map((a) => a.stop()));
    await fleet?.close();
  });

  it('an HMAC-style and a self-signed command are poisoned by every host, reported as host errors, and change nothing', async () => {
    const ccsId = uniqueCcsId('forged');
    const hosts = ['web01', 'web02', 'web03'];
    for (const host of hosts) await fleet.bus.ensureHostQueue(ccsId, host);
    const genuine = await fleet.sign(applyCommand(ccsId, hosts[0]!, 1, DISABLED_STATE));
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const d = Buffer.from(privateKey.export({ format: 'jwk' }).d ?? '', 'base64url');
    const selfMade = {
      sign: (digest: Buffer) =>
        Promise.resolve({ kid: genuine.sig.kid, signature: ecdsaSign('P-256', d, digest) }),
    };
    for (const host of hosts) {
      const queue = fleet.queues.getQueueClient(commandQueueName(ccsId, host));
      const hmac = {
        ...applyCommand(ccsId, host, 1, DISABLED_STATE),
        sig: { alg: 'HMAC-SHA256', kid: genuine.sig.kid, mac: 'm'.repeat(43) },
      };
      await queue.sendMessage(encodeMessage(hmac));
      await queue.sendMessage(
        encodeMessage(await signCommand(applyCommand(ccsId, host, 2, DISABLED_STATE), selfMade)),
      );
    }
    for (const host of hosts) running.push(await startAgent(fleet, ccsId, host));
    await waitFor(
      fleet,
      () =>
        reportsOf(fleet, ccsId).filter((r) => r.type === 'result' && r.error?.code === 'InvalidSignature')
          .length ===
        hosts.length * 2,
      'six refusals',
    );
    for (const host of hosts) {
      const results = reportsOf(fleet, ccsId, host).filter((r) => r.type === 'result');
      expect(results).toHaveLength(2);
      for (const r of results) {
        expect(r).toMatchObject({
          operationId: null,
          generation: 0,
          appliedGeneration: 0,
          outcome: 'failed',
        });
      }
      const poison = await fleet.queues
        .getQueueClient(poisonQueueName(commandQueueName(ccsId, host)))
        .peekMessages({ numberOfMessages: 32 });
      expect(poison.peekedMessageItems).toHaveLength(2);
    }
    const states = await Promise.all(running.map((a) => a.wired.state.load()));
    expect(states.map((s) => s.appliedGeneration)).toEqual([0, 0, 0]);
  });
});
