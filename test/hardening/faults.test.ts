/**
 * Faults with real processes (test/hardening/support/fault-stack.ts): agents killed at each step
 * of a change, Key Vault throttling and failing, storage going away and coming back, fifty
 * concurrent changes, and a canary scan of everything a run leaves behind. The stack and the
 * enabled ccs-id are shared (started once: processes are expensive); each test sets up what it
 * relies on itself and leaves no host paused, so any one of them can run alone.
 */
import { createPrivateKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStoredPasswordsForTests } from '../../agent/backends/simulated.js';
import { CRASH_STEPS, type CrashStep } from '../../agent/crash-points.js';
import { HOST_KEY_FILE } from '../../agent/host-key.js';
import {
  agentLogLines,
  drainVaultFaults,
  secretVersions,
  startFaultStack,
  uniqueCanary,
  type FaultStack,
} from './support/fault-stack.js';
import { recordFigures, Tally } from './support/results.js';
import { CryptographyClient } from '@azure/keyvault-keys';
import { ecdsaSign } from '../../local/keyvault/key-crypto.js';
import { commandSigningKey, keyClientOptions } from '../../shared/adapters/keyvault-command-key.js';
import { StaticTokenCredential } from '../../shared/adapters/static-token-credential.js';
import {
  MESSAGE_VERSION,
  encodeMessage,
  type Command,
  type DesiredState,
  type HostPublicKey,
} from '../../shared/messages.js';
import { signReport } from '../../shared/report-signature.js';
import { REPORTS_QUEUE, commandQueueName, poisonQueueName } from '../../shared/names.js';
import { COMMAND_SIGNING_KEY, CommandSigner, signCommand } from '../../shared/signing.js';
import { TableClient, TableServiceClient } from '@azure/data-tables';
import { scanFiles, scanText, type Canary, type CanaryHit } from './support/canary.js';

const HOSTS = ['web-01', 'web-02'];
const SHARE_PASSWORD = uniqueCanary('share');
const PRIVATE_KEY_PASSWORD = uniqueCanary('pk');
const WRONG_PASSWORD = uniqueCanary('wrong');
const tally = new Tally();
let stack: FaultStack;

const resource = () => `/webserver/centralized-certificates/${stack.ccsId}`;
const wait = (seconds: number) => ({ Prefer: `wait=${seconds}` });

beforeAll(async () => {
  stack = await startFaultStack({
    hosts: HOSTS,
    privateKeyPassword: PRIVATE_KEY_PASSWORD,
    sharePassword: SHARE_PASSWORD,
  });
  const res = await stack.request('POST', resource(), {
    body: {
      path: stack.share.path,
      identity: { username: stack.share.username, password: SHARE_PASSWORD },
      private_key_password: PRIVATE_KEY_PASSWORD,
    },
    headers: wait(40),
  });
  expect(res.status, res.text).toBe(200);
}, 180_000);

afterAll(async () => {
  recordFigures('faults', tally.entries());
  await stack?.close();
});

/** The registry, applied-state file and log of one host, as evidence. */
function hostEvidence(host: string) {
  const agent = stack.agents.get(host)!;
  const registry = JSON.parse(readFileSync(join(agent.registryDir, 'registry.json'), 'utf8')) as {
    Enabled: number;
    CertStoreLocation: string | null;
  };
  const applied = JSON.parse(readFileSync(join(agent.stateDir, 'applied.json'), 'utf8')) as {
    appliedGeneration: number;
  };
  // One entry per process life: the log lines from one `agent started` to the next.
  const lives: Record<string, unknown>[][] = [];
  for (const line of agentLogLines(agent.logFile)) {
    if (line.msg === 'agent started' || lives.length === 0) lives.push([]);
    lives[lives.length - 1]!.push(line);
  }
  return { agent, registry, applied, lives };
}

/** The desired state as the API shows it (the fleet summary beside it moves on its own). */
async function current(): Promise<{ generation: number; path: string; username: string }> {
  const res = await stack.request('GET', resource());
  expect(res.status).toBe(200);
  const body = res.json() as { generation: number; path: string; identity: { username: string } };
  return { generation: body.generation, path: body.path, username: body.identity.username };
}

describe('an agent killed (SIGKILL) at each step of a change', () => {
  // Two rounds, each host dying at a different step of the same change.
  const rounds: CrashStep[][] = [
    ['after-receive', 'after-secrets'],
    ['after-apply', 'before-report'],
  ];

  it(`converges after its restart with the change applied exactly once (${rounds.flat().join(', ')})`, async () => {
    for (const [round, steps] of rounds.entries()) {
      const before = await current();
      const target = before.generation + 1;
      const folder = `killed-${round}`;
      mkdirSync(join(stack.share.folder, folder), { recursive: true });
      const newPath = `${stack.share.path}\\${folder}`;
      // Armed for this change's apply only: a late duplicate of the previous round's apply
      // must not spend the one-shot crash.
      await Promise.all(steps.map((step, i) => stack.arm(HOSTS[i]!, step, 'apply', target)));
      tally.add('agentsKilled', steps.length);

      const res = await stack.request('PATCH', resource(), { body: { path: newPath }, headers: wait(50) });
      expect(res.status, res.text).toBe(200);
      expect(res.json()).toMatchObject({ generation: target, path: newPath });
      const body = res.json() as { _links: { last_operation: { href: string } } };
      const operation = await stack.request('GET', body._links.last_operation.href.replace(/^\/api/, ''));
      expect(operation.json()).toMatchObject({ status: 'Succeeded', generation: target });
      // The hosts' own rows follow their reports (a restarted host's hello may still be in the
      // queue when the operation has ended): the fleet shows converged once they are folded.
      for (let seen = ''; seen !== 'converged';) {
        seen = ((await stack.request('GET', resource())).json() as { status: string }).status;
        if (seen !== 'converged') await new Promise((r) => setTimeout(r, 200));
      }

      for (const [i, step] of steps.entries()) {
        const host = HOSTS[i]!;
        const { agent, registry, applied, lives } = hostEvidence(host);
        // It really died at that step (a SIGKILL), and was restarted.
        expect(
          agent.exits.filter((e) => e.signal === 'SIGKILL'),
          host,
        ).toHaveLength(round + 1);
        // Nothing lost: IIS, the applied state and the stored passwords are the new change.
        expect(registry).toMatchObject({ Enabled: 1, CertStoreLocation: newPath });
        expect(applied.appliedGeneration, host).toBe(target);
        expect(await readStoredPasswordsForTests(agent.registryDir)).toEqual({
          password: SHARE_PASSWORD,
          privateKeyPassword: PRIVATE_KEY_PASSWORD,
        });
        // Nothing doubled: the generation was recorded as applied exactly once, in the life the
        // step implies — after the crash when it came before the persist, before it otherwise.
        const appliedIn = lives
          .map((lines, life) => ({
            life,
            n: lines.filter((l) => l.msg === 'applied' && l.generation === target).length,
          }))
          .filter((x) => x.n > 0);
        expect(appliedIn, `${host} (${step})`).toHaveLength(1);
        expect(appliedIn[0]!.n).toBe(1);
        const crashedLife = lives.length - 2;
        expect(appliedIn[0]!.life, `${host} (${step})`).toBe(
          step === 'before-report' ? crashedLife : crashedLife + 1,
        );
        if (step === 'before-report') {
          // The redelivered command found the generation already applied.
          expect(
            lives[crashedLife + 1]!.some((l) => l.msg === 'command superseded' && l.generation === target),
          ).toBe(true);
        }
      }
      const hosts = await stack.request('GET', `${resource()}/hosts`);
      for (const h of (hosts.json() as { hosts: { status: string; applied_generation: number }[] }).hosts) {
        expect(h).toMatchObject({ status: 'applied', applied_generation: target });
      }
      expect((await current()).generation).toBe(target);
    }
  }, 120_000);

  it('lists every step it can kill at', () => {
    expect(CRASH_STEPS).toEqual(expect.arrayContaining(rounds.flat()));
  });
});

describe('duplicate, stale, expired, malformed, unsigned and poisoned messages', () => {
  /** Commands signed as the API signs them (the test plays the API here, with its identity). */
  const signer = () =>
    new CommandSigner(
      commandSigningKey({
        CCS_KEY_VAULT_URL: stack.vault.url,
        CCS_KEY_VAULT_CA_FILE: stack.vault.caCertPath,
        CCS_KEY_VAULT_LOCAL_TOKEN: stack.vaultTokens.api,
      }),
    );
  const queueOf = (host: string) => stack.storage.queue(commandQueueName(stack.ccsId, host));
  const poisonOf = (host: string) =>
    stack.storage.queue(poisonQueueName(commandQueueName(stack.ccsId, host)));
  const poisonTexts = async (host: string) =>
    (await poisonOf(host).peekMessages({ numberOfMessages: 32 })).peekedMessageItems.map(
      (m) => m.messageText,
    );
  const send = async (host: string, message: unknown, ttl?: number): Promise<string> => {
    tally.add('messagesInjected');
    const text = typeof message === 'string' ? message : encodeMessage(message as Command);
    return (await queueOf(host).sendMessage(text, ttl === undefined ? {} : { messageTimeToLive: ttl }))
      .messageId;
  };
  const registryText = (host: string) =>
    readFileSync(join(stack.agents.get(host)!.registryDir, 'registry.json'), 'utf8');
  async function state(): Promise<{ generation: number; desired: DesiredState }> {
    const found = await stack.stores.desired.get(stack.ccsId);
    return { generation: found!.record.generation, desired: found!.record.desired };
  }
  const command = (
    host: string,
    generation: number,
    desired: DesiredState,
    type: 'apply' | 'preflight' = 'apply',
  ): Command => ({
    v: MESSAGE_VERSION,
    type,
    ccsId: stack.ccsId,
    host,
    operationId: null as unknown as string,
    generation,
    desired,
    issuedAt: new Date().toISOString(),
  });
  const reportsFor = (host: string) =>
    stack.reportsSeen.filter(
      (
        r,
      ): r is {
        type: string;
        host: string;
        outcome: string;
        generation: number;
        operationId: string | null;
        error: { code: string } | null;
      } =>
        typeof r === 'object' &&
        r !== null &&
        (r as { host?: string }).host === host &&
        (r as { type?: string }).type === 'result',
    );

  it('duplicates and stale generations are acknowledged as superseded and change nothing', async () => {
    const { generation, desired } = await state();
    const host = HOSTS[0]!;
    const before = registryText(host);
    const seen = reportsFor(host).length;
    const sign = signer();
    // A duplicate of an earlier operation's apply: its answer must not rewrite that result.
    let lastOperation = '';
    for (const entry of await stack.app.audit.list({ top: 50 })) {
      const rows = await stack.stores.operations.hosts(entry.operationId);
      if (rows.some((r) => r.host === host && r.apply === 'succeeded')) {
        lastOperation = entry.operationId;
        break;
      }
    }
    expect(lastOperation).not.toBe('');
    await send(host, await sign.sign({ ...command(host, generation, desired), operationId: lastOperation }));
    await send(host, await sign.sign(command(host, generation, desired)));
    await send(host, await sign.sign(command(host, generation - 1, desired)));
    // A stale preflight naming an operation that does not exist.
    const ghost = randomUUID();
    await send(
      host,
      await sign.sign({ ...command(host, generation - 1, desired, 'preflight'), operationId: ghost }),
    );
    await stack.waitFor(() => reportsFor(host).length >= seen + 4, 'four answers');
    // (A catch-up sent after the host's last restart may answer here too: superseded as well.)
    const outcomes = reportsFor(host)
      .slice(seen)
      .map((r) => r.outcome);
    expect(outcomes.length).toBeGreaterThanOrEqual(4);
    expect(new Set(outcomes)).toEqual(new Set(['superseded']));
    expect(registryText(host)).toBe(before);
    expect((await state()).generation).toBe(generation);
    // …and its answer left nothing behind in the operations table.
    expect(await stack.stores.operations.hosts(ghost)).toEqual([]);
    const resultAfter = (await stack.stores.operations.hosts(lastOperation)).find((r) => r.host === host);
    expect(resultAfter?.apply).toBe('succeeded');
  }, 30_000);

  it('nothing the API did not sign is applied — unsigned, forged, tampered, expired, replayed for another host', async () => {
    const { generation, desired } = await state();
    const host = HOSTS[0]!;
    mkdirSync(join(stack.share.folder, 'evil'), { recursive: true });
    const evil: DesiredState = { ...desired, path: `${stack.share.path}\\evil` };
    const before = registryText(host);
    const poisoned = (await poisonTexts(host)).length;
    const seen = reportsFor(host).length;
    const sign = signer();
    const genuine = await sign.sign(command(host, generation + 1, desired));
    // A key pair of the attacker's own, presented under the API key's version.
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const d = Buffer.from(privateKey.export({ format: 'jwk' }).d ?? '', 'base64url');
    const selfMade = {
      sign: (digest: Buffer) =>
        Promise.resolve({ kid: genuine.sig.kid, signature: ecdsaSign('P-256', d, digest) }),
    };
    // The agents' own vault identity cannot sign with the API's key: Key Vault refuses it.
    const agentCrypto = new CryptographyClient(
      `${stack.vault.url}/keys/${COMMAND_SIGNING_KEY}/${genuine.sig.kid}`,
      new StaticTokenCredential(stack.vaultTokens.agent),
      keyClientOptions({
        caCertPem: readFileSync(stack.vault.caCertPath, 'utf8'),
        retryOptions: { maxRetries: 0 },
      }),
    );
    const refused = await agentCrypto.sign('ES256', Buffer.alloc(32, 1)).then(
      () => undefined,
      (e: unknown) => e as { statusCode?: number; code?: string },
    );
    expect(refused).toMatchObject({ statusCode: 403, code: 'Forbidden' });
    const forged = [
      command(host, generation + 1, evil), // unsigned
      {
        ...command(host, generation + 1, evil),
        sig: { alg: 'HMAC-SHA256', kid: genuine.sig.kid, mac: 'm'.repeat(43) },
      }, // the previous scheme
      await signCommand(command(host, generation + 1, evil), selfMade), // the right kid, a key of one's own
      { ...genuine, desired: evil }, // tampered after signing
      await sign.sign({ ...command(host, generation + 1, evil), issuedAt: '2020-01-01T00:00:00.000Z' }), // expired
    ];
    for (const message of forged) await send(host, message);
    // A genuine command for another host, put on this host's queue.
    await send(host, await sign.sign(command(HOSTS[1]!, generation + 1, evil)));
    await stack.waitFor(
      async () => (await poisonTexts(host)).length >= poisoned + forged.length + 1,
      'six messages in poison',
    );
    const refusals = () =>
      reportsFor(host)
        .slice(seen)
        .filter((r) => r.outcome === 'failed');
    await stack.waitFor(() => refusals().length >= forged.length, 'the five refusals to be reported');
    tally.add('forgedCommandsRefused', forged.length + 1);
    expect(registryText(host)).toBe(before);
    expect(refusals().map((r) => r.error?.code)).toEqual([
      'CommandUnsigned',
      'InvalidSignature',
      'InvalidSignature',
      'InvalidSignature',
      'CommandExpired',
    ]);
    // Host-level errors only: no operation, and the host's own generation, not the forged one.
    for (const r of refusals()) expect(r).toMatchObject({ operationId: null, generation });
    const hosts = (await stack.request('GET', `${resource()}/hosts`)).json() as {
      hosts: {
        name: string;
        status: string;
        applied_generation: number;
        last_error: { code: string } | null;
      }[];
    };
    // The refusal is visible to operators, and nothing moved.
    expect(hosts.hosts.find((h) => h.name === host)).toMatchObject({
      status: 'failed',
      applied_generation: generation,
    });
    expect((await state()).generation).toBe(generation);
  }, 30_000);

  it('a report claiming another host — unsigned, or signed with the wrong key — changes no row', async () => {
    const [attacker, victim] = [HOSTS[0]!, HOSTS[1]!];
    const reportsQueue = stack.storage.queue(REPORTS_QUEUE);
    const reportsPoison = stack.storage.queue(poisonQueueName(REPORTS_QUEUE));
    const poisoned = async () =>
      (await reportsPoison.peekMessages({ numberOfMessages: 32 })).peekedMessageItems.length;
    const before = await poisoned();
    const victimRow = JSON.stringify(await stack.stores.hosts.get(stack.ccsId, victim));
    const victimKey = JSON.stringify(await stack.stores.enrolment.getHostKey(stack.ccsId, victim));
    const { generation } = await state();
    // What one compromised agent host holds: its own host key, read from its own state folder.
    const file = join(stack.agents.get(attacker)!.stateDir, HOST_KEY_FILE);
    const stolen = JSON.parse(readFileSync(file, 'utf8')) as { publicKey: HostPublicKey; privateKey: string };
    const attackerKey = {
      publicKey: stolen.publicKey,
      privateKey: createPrivateKey({
        key: Buffer.from(stolen.privateKey, 'base64'),
        format: 'der',
        type: 'pkcs8',
      }),
    };
    const claim = {
      v: MESSAGE_VERSION,
      type: 'result' as const,
      ccsId: stack.ccsId,
      host: victim,
      operationId: null,
      phase: 'apply' as const,
      generation: generation + 5,
      outcome: 'failed' as const,
      error: { name: 'identity', code: 'Forged', detail: 'forged by another host', status: 400 },
      actual: { enabled: false, path: null, username: null },
      appliedGeneration: generation + 5,
      at: new Date().toISOString(),
    };
    const forged = [
      claim, // unsigned
      signReport(claim, attackerKey), // signed with the attacker's own (registered) key
      {
        ...signReport(claim, attackerKey),
        sig: {
          ...signReport(claim, attackerKey).sig,
          kid: victimKey ? JSON.parse(victimKey).record.thumbprint : 'x',
        },
      }, // under the victim's kid
      signReport(
        { ...claim, type: 'drift', generation, found: claim.actual, repaired: false } as never,
        attackerKey,
      ),
    ];
    for (const report of forged) await reportsQueue.sendMessage(encodeMessage(report));
    tally.add('forgedReportsRefused', forged.length);
    await stack.waitFor(
      async () => (await poisoned()) >= before + forged.length,
      'the forged reports in poison',
    );
    // The victim's row and registered key are as they were, and the API shows nothing of it.
    expect(JSON.stringify(await stack.stores.hosts.get(stack.ccsId, victim))).toBe(victimRow);
    expect(JSON.stringify(await stack.stores.enrolment.getHostKey(stack.ccsId, victim))).toBe(victimKey);
    const hosts = (await stack.request('GET', `${resource()}/hosts`)).json() as {
      hosts: {
        name: string;
        applied_generation: number;
        last_error: unknown;
        enrolment: { status: string };
      }[];
    };
    expect(hosts.hosts.find((h) => h.name === victim)).toMatchObject({
      applied_generation: generation,
      enrolment: { status: 'enrolled' },
    });
    expect(JSON.stringify(hosts)).not.toContain('Forged');
    // Each refusal is in the API's log, with why.
    const refusals = stack.apiLog
      .map((line) => JSON.parse(line) as { msg: string; code?: string; host?: string })
      .filter((l) => l.msg === 'report refused and moved to the poison queue' && l.host === victim);
    expect(refusals.map((l) => l.code)).toEqual(
      expect.arrayContaining(['ReportUnsigned', 'WrongHostKey', 'InvalidReportSignature']),
    );
  }, 30_000);

  it('a message past its queue TTL is never delivered', async () => {
    const { generation, desired } = await state();
    const host = HOSTS[1]!;
    const seen = reportsFor(host).length;
    stack.pause(host);
    try {
      const id = await send(host, await signer().sign(command(host, generation, desired)), 1);
      const peek = async () =>
        (await queueOf(host).peekMessages({ numberOfMessages: 32 })).peekedMessageItems.map(
          (m) => m.messageId,
        );
      expect(await peek()).toContain(id);
      // The queue drops it once its one-second TTL has run out (the service's clock, not ours).
      await stack.waitFor(async () => !(await peek()).includes(id), 'the message to expire', 10_000);
    } finally {
      stack.resume(host);
    }
    // Back at work, the host never answers it.
    await stack.waitFor(
      async () => (await queueOf(host).peekMessages()).peekedMessageItems.length === 0,
      'an empty queue',
    );
    expect(
      reportsFor(host)
        .slice(seen)
        .filter((r) => r.generation === generation),
    ).toEqual([]);
    tally.add('expiredMessages');
  }, 30_000);

  it('malformed messages go to poison; a command failing five times is set aside with a report', async () => {
    const { generation, desired } = await state();
    const host = HOSTS[1]!;
    const poisoned = (await poisonTexts(host)).length;
    const seen = reportsFor(host).length;
    stack.pause(host);
    for (const junk of [
      'not base64 !!',
      Buffer.from('not json').toString('base64'),
      encodeMessage({ hello: 1 } as never),
    ]) {
      await send(host, junk);
    }
    await send(host, await signer().sign(command(host, generation, desired)));
    // "Another agent" received the last one five times without finishing it.
    const queue = queueOf(host);
    for (let i = 0; i < 5; i++) {
      const { receivedMessageItems } = await queue.receiveMessages({
        numberOfMessages: 32,
        visibilityTimeout: 1,
      });
      for (const item of receivedMessageItems)
        await queue.updateMessage(item.messageId, item.popReceipt, undefined, 0);
    }
    stack.resume(host);
    await stack.waitFor(
      async () => (await poisonTexts(host)).length >= poisoned + 4,
      'four messages in poison',
    );
    await stack.waitFor(() => reportsFor(host).length > seen, 'the abandoned command to be reported');
    // The only answer: the abandoned command.
    expect(reportsFor(host).slice(seen)).toMatchObject([
      { outcome: 'failed', error: { code: 'CommandAbandoned' } },
    ]);
    // A malformed report goes to the reports poison queue, the processor keeps going.
    const reports = stack.storage.queue(REPORTS_QUEUE);
    await reports.sendMessage(Buffer.from('{"type":"result","host":"x"}').toString('base64'));
    tally.add('messagesInjected');
    await stack.waitFor(
      async () =>
        (await stack.storage.queue(poisonQueueName(REPORTS_QUEUE)).peekMessages({ numberOfMessages: 32 }))
          .peekedMessageItems.length > 0,
      'the malformed report in poison',
    );
  }, 30_000);

  it('the fleet still converges on the next real change, and a refusal is cleared', async () => {
    // A host refused a command (not signed by the API): operators see it failed…
    const { generation, desired } = await state();
    const host = HOSTS[0]!;
    const seen = reportsFor(host).length;
    await send(host, command(host, generation + 1, desired));
    await stack.waitFor(() => reportsFor(host).length > seen, 'the refusal to be reported');
    const hostsNow = async () =>
      (
        (await stack.request('GET', `${resource()}/hosts`)).json() as {
          hosts: { name: string; status: string; last_error: { code: string } | null }[];
        }
      ).hosts.find((h) => h.name === host);
    await stack.waitFor(async () => (await hostsNow())?.status === 'failed', 'the refusal to show');
    // …until the next real change applies.
    const before = await current();
    const folder = `converge-${randomUUID().slice(0, 8)}`;
    mkdirSync(join(stack.share.folder, folder), { recursive: true });
    const res = await stack.request('PATCH', resource(), {
      body: { path: `${stack.share.path}\\${folder}` },
      headers: wait(40),
    });
    expect(res.status, res.text).toBe(200);
    expect(res.json()).toMatchObject({ generation: before.generation + 1, status: 'converged' });
    expect(await hostsNow()).toMatchObject({ status: 'applied', last_error: null });
  }, 60_000);
});

/** Poll an operation until it ends (tolerating a dependency that is briefly down). */
async function settle(operationHref: string, ms = 60_000): Promise<Record<string, unknown>> {
  const path = operationHref.replace(/^\/api/, '');
  return stack.waitFor(
    async () => {
      const res = await stack.request('GET', path);
      // While a dependency is down the API may answer 503, never another 5xx.
      if (res.status >= 500) expect(res.status, res.text).toBe(503);
      if (res.status !== 200) return undefined;
      const op = res.json();
      return op.status === 'Succeeded' || op.status === 'Failed' ? op : undefined;
    },
    `operation ${path} to end`,
    ms,
  );
}

const PASSWORD_SECRET = () => `ccs-${stack.ccsId}-identity-password`;

describe('Key Vault answering 429 (Retry-After) and 503', () => {
  it('the API honours Retry-After on 429 while storing a new password version, then succeeds', async () => {
    const before = await current();
    const versions = await secretVersions(stack, PASSWORD_SECRET());
    // Meant for the API's write of the new version (a timer's or an agent's read must not take it).
    stack.vault.injectFaults({ status: 429, retryAfterSeconds: 1, times: 1, operation: 'setSecret' });
    tally.add('vaultFaultsServed', 1);
    const started = Date.now();
    const res = await stack.request('PATCH', resource(), {
      body: { identity: { password: SHARE_PASSWORD } },
      headers: wait(40),
    });
    expect(res.status, res.text).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(res.json()).toMatchObject({ generation: before.generation + 1, status: 'converged' });
    expect(await secretVersions(stack, PASSWORD_SECRET())).toBe(versions + 1);
    expect(await drainVaultFaults(stack)).toBe(0);
  }, 60_000);

  it('the API answers 503 with Retry-After when Key Vault stays down, and records nothing', async () => {
    const before = await current();
    const versions = await secretVersions(stack, PASSWORD_SECRET());
    const operations = await stack.stores.operations.activeIds();
    stack.vault.injectFaults({ status: 503, times: 30 });
    const res = await stack.request('PATCH', resource(), {
      body: { identity: { password: SHARE_PASSWORD } },
    });
    tally.add('vaultFaultsServed', 30 - (await drainVaultFaults(stack)));
    expect(res.status, res.text).toBe(503);
    expect(res.headers.get('retry-after')).toBeTruthy();
    expect(res.json()).toMatchObject({ title: 'Service unavailable', status: 503 });
    expect(await current()).toEqual(before);
    expect(await secretVersions(stack, PASSWORD_SECRET())).toBe(versions);
    expect(await stack.stores.operations.activeIds()).toEqual(operations);
  }, 60_000);

  it('agents honour Retry-After on 429 while fetching a new version, and the change succeeds', async () => {
    const before = await current();
    HOSTS.forEach((h) => stack.pause(h));
    const res = await stack.request('PATCH', resource(), {
      body: { identity: { password: SHARE_PASSWORD } },
    });
    expect(res.status, res.text).toBe(202);
    // Now only the agents talk to Key Vault: the first two fetches are throttled.
    stack.vault.injectFaults({ status: 429, retryAfterSeconds: 1, times: 2 });
    tally.add('vaultFaultsServed', 2);
    HOSTS.forEach((h) => stack.resume(h));
    const op = await settle(res.headers.get('operation-location')!);
    expect(op, JSON.stringify(op)).toMatchObject({ status: 'Succeeded', generation: before.generation + 1 });
    expect(await drainVaultFaults(stack)).toBe(0);
  }, 60_000);

  it('agents that cannot get the secret fail the preflight with a clear error; nothing changes', async () => {
    const before = await current();
    const registries = HOSTS.map((h) =>
      readFileSync(join(stack.agents.get(h)!.registryDir, 'registry.json'), 'utf8'),
    );
    HOSTS.forEach((h) => stack.pause(h));
    const res = await stack.request('PATCH', resource(), {
      body: { identity: { password: SHARE_PASSWORD } },
    });
    expect(res.status, res.text).toBe(202);
    stack.vault.injectFaults({ status: 503, times: 60 });
    HOSTS.forEach((h) => stack.resume(h));
    const op = await settle(res.headers.get('operation-location')!);
    tally.add('vaultFaultsServed', 60 - (await drainVaultFaults(stack)));
    expect(op).toMatchObject({
      status: 'Failed',
      phase: 'done',
      error: { code: 'SecretUnavailable', target: 'identity', status: 502 },
    });
    expect(await current()).toEqual(before);
    expect(
      HOSTS.map((h) => readFileSync(join(stack.agents.get(h)!.registryDir, 'registry.json'), 'utf8')),
    ).toEqual(registries);
    // Once Key Vault is back, the same change goes through.
    const retry = await stack.request('PATCH', resource(), {
      body: { identity: { password: SHARE_PASSWORD } },
      headers: wait(40),
    });
    expect(retry.status, retry.text).toBe(200);
    expect(retry.json()).toMatchObject({ generation: before.generation + 1 });
  }, 90_000);
});

describe('storage unavailable, and Azurite restarted mid-operation', () => {
  it('a change in flight finishes once Azurite is back; a read meanwhile answers 503 with Retry-After, never 500', async () => {
    const before = await current();
    mkdirSync(join(stack.share.folder, 'restarted'), { recursive: true });
    const newPath = `${stack.share.path}\\restarted`;
    const patch = await stack.request('PATCH', resource(), { body: { path: newPath } });
    expect(patch.status, patch.text).toBe(202);
    const href = patch.headers.get('operation-location')!;
    await stack.azurite.stop();
    tally.add('storageOutages');
    // While it is down: a read waits out the SDK's retries, then answers 503 with Retry-After.
    const answer = await stack.request('GET', resource());
    expect(answer.status, answer.text).toBe(503);
    expect(answer.headers.get('retry-after')).toBeTruthy();
    await stack.azurite.start();
    const op = await settle(href, 90_000);
    expect(op, JSON.stringify(op)).toMatchObject({ status: 'Succeeded', generation: before.generation + 1 });
    await stack.waitFor(async () => {
      const hosts = (await stack.request('GET', `${resource()}/hosts`)).json() as {
        hosts: { applied_generation: number; actual: { path: string } | null }[];
      };
      return hosts.hosts.every(
        (h) => h.applied_generation === before.generation + 1 && h.actual?.path === newPath,
      );
    }, 'the fleet to converge after the restart');
  }, 150_000);
});

describe('50 concurrent PATCHes to one ccs-id', () => {
  it('every change is answered; the accepted ones have consecutive generations; the fleet ends on the last', async () => {
    const before = await current();
    const N = 50;
    const paths = Array.from({ length: N }, (_, i) => `C:\\ccs\\c${String(i).padStart(2, '0')}`);
    for (let i = 0; i < N; i++)
      mkdirSync(join(stack.localFolder, `c${String(i).padStart(2, '0')}`), { recursive: true });
    const answers = await Promise.all(
      paths.map((path) => stack.request('PATCH', resource(), { body: { path } })),
    );
    tally.add('concurrentPatches', N);
    for (const a of answers) expect(a.status, a.text).toBe(202);
    // One query for "anything still running" instead of fifty pollers; then each operation once.
    await stack.waitFor(
      async () => (await stack.stores.operations.activeIds()).length === 0,
      'the operations to end',
      90_000,
    );
    const ops = await Promise.all(answers.map((a) => settle(a.headers.get('operation-location')!, 10_000)));
    const succeeded = ops.filter((o) => o.status === 'Succeeded');
    const failed = ops.filter((o) => o.status === 'Failed');
    expect(succeeded.length + failed.length).toBe(N);
    expect(succeeded.length).toBeGreaterThanOrEqual(1);
    // A refused change is refused loudly, as a conflict — never lost silently.
    for (const f of failed) expect(f.error).toMatchObject({ code: 'Conflict', status: 409 });
    // Generations strictly increase: one per accepted change, no gap, no duplicate.
    const generations = succeeded.map((o) => o.generation as number).sort((a, b) => a - b);
    expect(generations).toEqual(
      Array.from({ length: succeeded.length }, (_, i) => before.generation + 1 + i),
    );
    const last = succeeded.find((o) => o.generation === generations[generations.length - 1])!;
    const lastPath =
      paths[answers.findIndex((a) => a.headers.get('operation-location')!.endsWith(last.id as string))]!;
    const state = await current();
    expect(state).toMatchObject({ generation: before.generation + succeeded.length, path: lastPath });
    await stack.waitFor(async () => {
      const hosts = (await stack.request('GET', `${resource()}/hosts`)).json() as {
        hosts: { applied_generation: number; actual: { path: string } | null }[];
      };
      return hosts.hosts.every(
        (h) => h.applied_generation === state.generation && h.actual?.path === lastPath,
      );
    }, 'the fleet to end on the last accepted state');
    for (const host of HOSTS) {
      const { registry, applied } = hostEvidence(host);
      expect(registry.CertStoreLocation).toBe(lastPath);
      expect(applied.appliedGeneration).toBe(state.generation);
    }
    tally.add('concurrentAccepted', succeeded.length);
    tally.add('concurrentConflicts', failed.length);
  }, 150_000);
});

describe('canaries: no secret value anywhere', () => {
  it('finds none of the known secrets in any file, table, queue, log, response or report', async () => {
    const reportsBefore = stack.reportsSeen.length;
    // The paths a secret could take: a password rotated through both phases on every host…
    const rotated = await stack.request('PATCH', resource(), {
      body: { identity: { password: SHARE_PASSWORD }, private_key_password: PRIVATE_KEY_PASSWORD },
      headers: wait(40),
    });
    expect(rotated.status, rotated.text).toBe(200);
    // …and a wrong password, refused by every host's preflight.
    const wrong = await stack.request('PATCH', resource(), {
      body: { path: stack.share.path, identity: { password: WRONG_PASSWORD } },
      headers: wait(40),
    });
    expect(wrong.status, wrong.text).toBe(400);
    expect(wrong.json()).toMatchObject({ name: 'identity', detail: 'Cannot access certificate store' });

    // Everything the API can show: every operation, the audit log, the resource and its hosts.
    const operations = stack.storage.table('ccsoperations');
    for await (const row of operations.listEntities({ queryOptions: { filter: "RowKey eq 'op'" } })) {
      await stack.request('GET', `/operations/${row.partitionKey}`);
    }
    await stack.request('GET', '/audit?top=500');
    await stack.request('GET', resource());
    await stack.request('GET', `${resource()}/hosts`);

    // The command-signing key's private scalar, from the vault's own store: it never leaves it.
    const vaultData = JSON.parse(readFileSync(join(stack.dir, 'keyvault.json'), 'utf8')) as {
      keys: { name: string; versions: { privateKey: string }[] }[];
    };
    const signingKey = vaultData.keys.find((k) => k.name === COMMAND_SIGNING_KEY)!.versions[0]!.privateKey;
    const passwords: Canary[] = [
      { label: 'share password', value: SHARE_PASSWORD },
      { label: 'private-key password', value: PRIVATE_KEY_PASSWORD },
      { label: 'a refused password', value: WRONG_PASSWORD },
      {
        label: 'the command signing key (private)',
        value: createPrivateKey(signingKey).export({ format: 'jwk' }).d!,
      },
    ];
    // Each host's private key (its own key file holds it): it never leaves that file.
    const hostKeys: Canary[] = HOSTS.map((host) => {
      const file = join(stack.agents.get(host)!.stateDir, HOST_KEY_FILE);
      const { privateKey } = JSON.parse(readFileSync(file, 'utf8')) as { privateKey: string };
      const d = createPrivateKey({
        key: Buffer.from(privateKey, 'base64'),
        format: 'der',
        type: 'pkcs8',
      }).export({
        format: 'jwk',
      }).d!;
      return { label: `host key of ${host}`, value: d };
    });
    const credentials: Canary[] = [
      { label: 'write access token', value: stack.writeToken },
      { label: 'read access token', value: stack.readToken },
      { label: 'API vault token', value: stack.vaultTokens.api },
      { label: 'agent vault token', value: stack.vaultTokens.agent },
    ];
    // The one-time codes the hosts enrolled with: only each host's own configuration holds one.
    const codes: Canary[] = HOSTS.map((host) => ({
      label: `enrolment code of ${host}`,
      value: stack.enrolmentCodes.get(host)!,
    }));
    const canaries = [...passwords, ...hostKeys, ...credentials, ...codes];

    // The scanner can fail: a planted canary is found.
    expect(
      scanText(`x${Buffer.from(`{"p":"${SHARE_PASSWORD}"}`).toString('base64')}`, 'planted', canaries),
    ).not.toEqual([]);

    const hits: CanaryHit[] = [];
    // Every file the run left: logs of every process life, Azurite's tables and queue extents,
    // agent state and simulated registries, share accounts. Exempt: the vault's own store, the
    // simulated file server's record of its account, each agent's config (its vault token) and
    // each host's own key file (its private key).
    const files = scanFiles(
      stack.dir,
      canaries,
      (path, canary) =>
        path.endsWith('keyvault.json') ||
        path.endsWith(join('shares', 'demo.json')) ||
        (path.endsWith('agent.json') && canary.label === 'agent vault token') ||
        HOSTS.some(
          (host) =>
            canary.label === `enrolment code of ${host}` && path === stack.agents.get(host)!.configFile,
        ) ||
        HOSTS.some(
          (host) =>
            canary.label === `host key of ${host}` &&
            path === join(stack.agents.get(host)!.stateDir, HOST_KEY_FILE),
        ),
    );
    hits.push(...files.hits);

    // Every table entity and every queue message (poison queues too), through the SDK.
    let entities = 0;
    const tables = TableServiceClient.fromConnectionString(stack.azurite.connectionString, {
      allowInsecureConnection: true,
    });
    for await (const table of tables.listTables()) {
      const client = TableClient.fromConnectionString(stack.azurite.connectionString, table.name!, {
        allowInsecureConnection: true,
      });
      for await (const entity of client.listEntities()) {
        entities += 1;
        hits.push(...scanText(JSON.stringify(entity), `table ${table.name}`, canaries));
      }
    }
    let messages = 0;
    for await (const queue of stack.storage.queues.listQueues()) {
      const peeked = await stack.storage.queue(queue.name).peekMessages({ numberOfMessages: 32 });
      for (const m of peeked.peekedMessageItems) {
        messages += 1;
        hits.push(...scanText(m.messageText, `queue ${queue.name}`, canaries));
      }
    }
    hits.push(...scanText(stack.apiLog.join(''), 'API log', canaries));
    stack.responses.forEach((text, i) => hits.push(...scanText(text, `response #${i}`, canaries)));
    stack.reportsSeen.forEach((r, i) => hits.push(...scanText(JSON.stringify(r), `report #${i}`, canaries)));

    recordFigures('canary', {
      secretsSearched: canaries.length,
      filesScanned: files.files,
      bytesScanned: files.bytes,
      tableEntities: entities,
      queueMessages: messages,
      apiLogLines: stack.apiLog.length,
      responseBodies: stack.responses.length,
      reportsProcessed: stack.reportsSeen.length,
      secretsFound: hits.length,
    });
    expect(hits).toEqual([]);
    // It looked at what this test made pass through the system: every host's reports of the
    // rotation and of the refusal, and the stack's own files.
    expect(stack.reportsSeen.length - reportsBefore).toBeGreaterThanOrEqual(3 * HOSTS.length);
    expect(files.files).toBeGreaterThan(20);
  }, 90_000);
});
