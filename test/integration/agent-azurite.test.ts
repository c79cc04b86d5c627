/**
 * Agents over real Azurite queues and the local Key Vault (real SDK clients), with the
 * simulated IIS backend and an openssl-made demo share. The test plays the API: it enrols
 * queues and writes commands with the API's QueueCommandBus and reads the reports queue.
 */
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createShareAccount,
  readStoredPasswordsForTests,
  setRegistryByHand,
} from '../../agent/backends/simulated.js';
import { DISABLED_STATE, encodeMessage, type DesiredState, type SecretRef } from '../../shared/messages.js';
import { commandQueueName, poisonQueueName, secretName } from '../../shared/names.js';
import { generateEnrolmentCode, hashEnrolmentCode, verifyEnrolmentProof } from '../../shared/enrolment.js';
import { jwkThumbprint, verifyReportSignature } from '../../shared/report-signature.js';
import type { SecretStore } from '../../shared/ports.js';
import {
  applyCommand,
  preflightCommand,
  reportsOf,
  resultsOf,
  startAgent,
  startFleet,
  uniqueCcsId,
  waitFor,
  writeAgentConfig,
  writeAgentConfigFile,
  type Fleet,
  type RunningAgent,
} from '../support/agent-azurite.js';
import { agentQueueService, classify, recordAgentQueueCalls, refused } from '../support/queue-permissions.js';

const run = promisify(execFile);
let fleet: Fleet;
const running: RunningAgent[] = [];

beforeAll(async () => {
  fleet = await startFleet();
});

afterAll(async () => {
  await Promise.all(running.map((a) => a.stop()));
  await fleet?.close();
});

async function agentOn(ccsId: string, host: string, options: Parameters<typeof startAgent>[3] = {}) {
  const agent = await startAgent(fleet, ccsId, host, options);
  running.push(agent);
  return agent;
}

/** A share account for this ccs-id on the demo share, and the desired state that uses it. */
async function enableState(ccsId: string, password = `pw-${randomUUID()}`) {
  const username = `LOCALHOST\\${ccsId}`;
  await createShareAccount(fleet.shareRoot, username, password, ['ccs']);
  const passwordRef = await fleet.secrets.setSecret(secretName(ccsId, 'identity-password'), password);
  const pkRef = await fleet.secrets.setSecret(
    secretName(ccsId, 'private-key-password'),
    fleet.share.privateKeyPassword,
  );
  const desired: DesiredState = {
    enabled: true,
    path: fleet.share.path,
    username,
    password: passwordRef,
    privateKeyPassword: pkRef,
  };
  return { desired, password, username };
}

const result = (ccsId: string, host: string, generation: number, phase: 'preflight' | 'apply' = 'apply') =>
  resultsOf(fleet, ccsId, host).filter((r) => r.generation === generation && r.phase === phase);

async function registryOf(agent: RunningAgent) {
  return JSON.parse(
    await readFile(join(agent.config.simulated!.stateDir, 'registry.json'), 'utf8'),
  ) as Record<string, unknown>;
}

async function queueDepth(name: string): Promise<number> {
  const props = await fleet.queues.getQueueClient(name).getProperties();
  return props.approximateMessagesCount ?? 0;
}

function assertNoSecretsIn(texts: string[], secrets: string[]) {
  const all = texts.join('\n') + JSON.stringify(fleet.reports);
  for (const secret of secrets) expect(all).not.toContain(secret);
}

describe('agents over Azurite and the local Key Vault', () => {
  it('a fleet enables, moves the path, rotates the password and disables; duplicates and reordering are harmless', async () => {
    const ccsId = uniqueCcsId('fleet');
    const hosts = ['web01', 'web02', 'web03'];
    // Agents start before the API created their queues: a missing queue is just empty.
    const agents = await Promise.all(hosts.map((h) => agentOn(ccsId, h)));
    await waitFor(
      fleet,
      () => reportsOf(fleet, ccsId).filter((r) => r.type === 'hello').length === 3,
      'hellos',
    );
    for (const hello of reportsOf(fleet, ccsId)) {
      expect(hello).toMatchObject({
        type: 'hello',
        backend: 'simulated',
        appliedGeneration: 0,
        actual: { enabled: false },
      });
    }
    await Promise.all(hosts.map((h) => fleet.bus.ensureHostQueue(ccsId, h)));

    // Generation 1: preflight (changes nothing), then apply.
    const { desired, password, username } = await enableState(ccsId);
    for (const h of hosts) await fleet.bus.send(preflightCommand(ccsId, h, 1, desired));
    await waitFor(
      fleet,
      () => hosts.every((h) => result(ccsId, h, 1, 'preflight').length === 1),
      'preflights',
    );
    for (const h of hosts)
      expect(result(ccsId, h, 1, 'preflight')[0]).toMatchObject({ outcome: 'succeeded' });
    for (const a of agents) expect((await registryOf(a).catch(() => ({ Enabled: 0 }))).Enabled ?? 0).toBe(0);

    for (const h of hosts) await fleet.bus.send(applyCommand(ccsId, h, 1, desired));
    await waitFor(fleet, () => hosts.every((h) => result(ccsId, h, 1).length === 1), 'apply 1');
    for (const a of agents) {
      expect(result(ccsId, a.host, 1)[0]).toMatchObject({
        outcome: 'succeeded',
        appliedGeneration: 1,
        actual: { enabled: true, path: fleet.share.path, username },
      });
      expect(await readStoredPasswordsForTests(a.config.simulated!.stateDir)).toEqual({
        password,
        privateKeyPassword: fleet.share.privateKeyPassword,
      });
    }

    // Generation 2: a new path (a sub folder of the share, no .pfx there yet).
    await mkdir(join(fleet.share.folder, 'v2'), { recursive: true });
    const moved = { ...desired, path: `${fleet.share.path}\\v2` };
    for (const h of hosts) await fleet.bus.send(applyCommand(ccsId, h, 2, moved));
    await waitFor(fleet, () => hosts.every((h) => result(ccsId, h, 2).length === 1), 'apply 2');
    for (const a of agents) expect((await registryOf(a)).CertStoreLocation).toBe(moved.path);

    // Generation 3: the identity's password rotates (new account password, new secret version).
    const rotated = `rotated-${randomUUID()}`;
    await createShareAccount(fleet.shareRoot, username, rotated, ['ccs']);
    const rotatedRef = await fleet.secrets.setSecret(secretName(ccsId, 'identity-password'), rotated);
    expect(rotatedRef.version).not.toBe(desired.password!.version);
    const rotatedState = { ...moved, password: rotatedRef };
    for (const h of hosts) await fleet.bus.send(applyCommand(ccsId, h, 3, rotatedState));
    await waitFor(fleet, () => hosts.every((h) => result(ccsId, h, 3).length === 1), 'apply 3');
    for (const a of agents) {
      expect(result(ccsId, a.host, 3)[0]?.outcome).toBe('succeeded');
      expect((await readStoredPasswordsForTests(a.config.simulated!.stateDir)).password).toBe(rotated);
    }

    // Generation 4: disable — credentials erased.
    for (const h of hosts) await fleet.bus.send(applyCommand(ccsId, h, 4, DISABLED_STATE));
    await waitFor(fleet, () => hosts.every((h) => result(ccsId, h, 4).length === 1), 'apply 4');
    for (const a of agents) {
      expect(await registryOf(a)).toMatchObject({
        Enabled: 0,
        UserName: null,
        Password: null,
        PrivateKeyPassword: null,
      });
    }

    // A duplicate of generation 2 and a late generation 1 arrive: acknowledged, not re-applied.
    await fleet.bus.send(applyCommand(ccsId, 'web01', 2, moved));
    await fleet.bus.send(applyCommand(ccsId, 'web01', 1, desired));
    await waitFor(
      fleet,
      () => result(ccsId, 'web01', 1).length === 2 && result(ccsId, 'web01', 2).length === 2,
      'late',
    );
    expect(result(ccsId, 'web01', 2)[1]).toMatchObject({ outcome: 'superseded', appliedGeneration: 4 });
    expect(result(ccsId, 'web01', 1)[1]).toMatchObject({ outcome: 'superseded', appliedGeneration: 4 });
    expect((await registryOf(agents[0]!)).Enabled).toBe(0);

    for (const h of hosts) expect(await queueDepth(commandQueueName(ccsId, h))).toBe(0);
    // Polling before the API created the queues was not an error.
    expect(agents.flatMap((a) => a.logs).join('')).not.toContain('receive failed');
    assertNoSecretsIn(
      agents.flatMap((a) => a.logs),
      [password, rotated, fleet.share.privateKeyPassword],
    );
  });

  it('does only what its Azure role allows: receive and delete its commands, send reports and poison, never update a message', async () => {
    const ccsId = uniqueCcsId('rbac');
    const recorder = recordAgentQueueCalls();
    try {
      // The API has created the queues (hosts never create one in Azure: they have no right to).
      await fleet.bus.ensureHostQueue(ccsId, 'web01');
      const agent = await agentOn(ccsId, 'web01', {
        queueService: agentQueueService(fleet.azurite.connectionString),
        extra: { visibilityTimeoutSeconds: 3600 },
      });
      const { desired } = await enableState(ccsId);
      await fleet.bus.send(preflightCommand(ccsId, 'web01', 1, desired));
      await fleet.bus.send(applyCommand(ccsId, 'web01', 1, desired));
      // A message that is not a command: set aside on the poison queue.
      await fleet.queues
        .getQueueClient(commandQueueName(ccsId, 'web01'))
        .sendMessage(encodeMessage({} as never));
      await waitFor(fleet, () => result(ccsId, 'web01', 1).length === 1, 'the apply');
      await waitFor(
        fleet,
        async () => (await queueDepth(poisonQueueName(commandQueueName(ccsId, 'web01')))) === 1,
        'poison',
      );
      await agent.stop();
    } finally {
      recorder.stop();
    }
    const operations = new Set(recorder.calls.map((c) => c.operation));
    // The scenario made every kind of call an agent makes...
    expect(operations).toEqual(new Set(['Get Messages', 'Delete Message', 'Put Message']));
    expect(new Set(recorder.calls.map((c) => c.queue))).toEqual(
      new Set([
        commandQueueName(ccsId, 'web01'),
        poisonQueueName(commandQueueName(ccsId, 'web01')),
        'ccs-reports',
      ]),
    );
    // ...and the role would have allowed each one. Update Message (keeping a message invisible)
    // is what it lacks: the agent never sends it.
    expect(refused(recorder.calls)).toEqual([]);
    const update = classify(
      'PUT',
      `/devstoreaccount1/${commandQueueName(ccsId, 'web01')}/messages/m1?popreceipt=r`,
    );
    expect(update.operation).toBe('Update Message');
    expect(refused([update])).toEqual([update]);
  });

  it('a failed preflight changes nothing on the host', async () => {
    const ccsId = uniqueCcsId('bad');
    const agent = await agentOn(ccsId, 'web01');
    await fleet.bus.ensureHostQueue(ccsId, 'web01');
    const { desired } = await enableState(ccsId);
    const wrongPk = await fleet.secrets.setSecret(
      secretName(ccsId, 'private-key-password'),
      'not-the-password',
    );
    await fleet.bus.send(preflightCommand(ccsId, 'web01', 1, { ...desired, privateKeyPassword: wrongPk }));
    await fleet.bus.send(applyCommand(ccsId, 'web01', 1, { ...desired, path: '\\\\fileserver\\ccs' }));
    await waitFor(fleet, () => resultsOf(fleet, ccsId).length === 2, 'results');
    expect(result(ccsId, 'web01', 1, 'preflight')[0]?.error).toMatchObject({
      name: 'private_key_password',
      code: 'InvalidPrivateKeyPassword',
      status: 400,
    });
    expect(result(ccsId, 'web01', 1)[0]?.error).toMatchObject({
      name: 'path',
      code: 'PathForbidden',
      status: 403,
    });
    await expect(readFile(join(agent.config.simulated!.stateDir, 'registry.json'))).rejects.toThrow();
  });

  it('a host that joins late gets the current state once it is sent', async () => {
    const ccsId = uniqueCcsId('late');
    const first = await agentOn(ccsId, 'web01');
    await fleet.bus.ensureHostQueue(ccsId, 'web01');
    const { desired } = await enableState(ccsId);
    await fleet.bus.send(applyCommand(ccsId, 'web01', 5, desired));
    await waitFor(fleet, () => result(ccsId, 'web01', 5).length === 1, 'first host');

    const late = await agentOn(ccsId, 'web09');
    const hello = await waitFor(
      fleet,
      () => reportsOf(fleet, ccsId, 'web09').find((r) => r.type === 'hello'),
      'late hello',
    );
    // The API's answer to a hello behind the desired state: enrol, then send the current state.
    expect(hello).toMatchObject({ appliedGeneration: 0 });
    await fleet.bus.ensureHostQueue(ccsId, 'web09');
    await fleet.bus.send(applyCommand(ccsId, 'web09', 5, desired));
    await waitFor(fleet, () => result(ccsId, 'web09', 5).length === 1, 'late apply');
    expect(result(ccsId, 'web09', 5)[0]).toMatchObject({ outcome: 'succeeded', appliedGeneration: 5 });
    expect(await registryOf(late)).toMatchObject({ Enabled: 1, CertStoreLocation: fleet.share.path });
    expect(result(ccsId, 'web01', 5)).toHaveLength(1);
    void first;
  });

  it('an agent stopped mid-command converges after restart (the message comes back)', async () => {
    const ccsId = uniqueCcsId('crash');
    await fleet.bus.ensureHostQueue(ccsId, 'web01');
    const { desired } = await enableState(ccsId);

    // Key Vault reads block until released: the agent is caught after receive, before its report.
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let reached!: () => void;
    const inHand = new Promise<void>((r) => (reached = r));
    const gated: SecretStore = {
      setSecret: (n, v) => fleet.secrets.setSecret(n, v),
      deleteSecret: (n) => fleet.secrets.deleteSecret(n),
      getSecret: async (ref: SecretRef) => {
        reached();
        await released;
        return fleet.secrets.getSecret(ref);
      },
    };
    const first = await startAgent(fleet, ccsId, 'web01', { secretStore: gated });
    await fleet.bus.send(applyCommand(ccsId, 'web01', 1, desired));
    await inHand;
    first.wired.agent.abort();
    release();
    await first.done;
    await fleet.collectReports();
    expect(resultsOf(fleet, ccsId)).toEqual([]);
    expect(await queueDepth(commandQueueName(ccsId, 'web01'))).toBe(1);

    // Restarted (same state folders): the message reappears after its 1 s visibility timeout.
    const second = await agentOn(ccsId, 'web01');
    await waitFor(fleet, () => result(ccsId, 'web01', 1).length === 1, 'converged after restart');
    expect(result(ccsId, 'web01', 1)[0]).toMatchObject({ outcome: 'succeeded', appliedGeneration: 1 });
    expect((await registryOf(second)).Enabled).toBe(1);
    expect(await queueDepth(commandQueueName(ccsId, 'web01'))).toBe(0);
  });

  it('signs every report with the host key it announced at enrolment, with a proof of its enrolment code', async () => {
    const ccsId = uniqueCcsId('signed');
    const code = generateEnrolmentCode();
    const agent = await agentOn(ccsId, 'web01', { extra: { enrolmentCode: code } });
    await fleet.bus.ensureHostQueue(ccsId, 'web01');
    const { desired } = await enableState(ccsId);
    await fleet.bus.send(applyCommand(ccsId, 'web01', 1, desired));
    await waitFor(fleet, () => result(ccsId, 'web01', 1).length === 1, 'apply');
    const hello = reportsOf(fleet, ccsId, 'web01').find((r) => r.type === 'hello');
    if (hello?.type !== 'hello' || !hello.hostKey || !hello.enrolmentProof)
      expect.unreachable('a hello with a key');
    expect(hello.hostKey).toEqual(agent.wired.hostKey.publicKey);
    expect(
      verifyEnrolmentProof(hello.enrolmentProof, hashEnrolmentCode(code), ccsId, 'web01', hello.hostKey),
    ).toBe(true);
    expect(JSON.stringify(fleet.reports)).not.toContain(code);
    for (const report of reportsOf(fleet, ccsId, 'web01')) {
      expect(verifyReportSignature(report, hello.hostKey)).toEqual({ ok: true });
    }
    // Another host's key verifies none of them.
    const other = await agentOn(ccsId, 'web02');
    for (const report of reportsOf(fleet, ccsId, 'web01')) {
      expect(verifyReportSignature(report, other.wired.hostKey.publicKey)).toMatchObject({ ok: false });
    }
  });

  it('moves malformed and over-delivered messages to the poison queue and keeps going', async () => {
    const ccsId = uniqueCcsId('poison');
    const queueName = commandQueueName(ccsId, 'web01');
    await fleet.bus.ensureHostQueue(ccsId, 'web01');
    const queue = fleet.queues.getQueueClient(queueName);
    await queue.sendMessage('this is not a command');
    await queue.sendMessage(encodeMessage(applyCommand(ccsId, 'web02', 1, DISABLED_STATE)));
    // A command that already failed five times: received and released by "another agent". It is
    // signed, so its failure is reported against its operation (an unsigned one would not be).
    await queue.sendMessage(encodeMessage(await fleet.sign(applyCommand(ccsId, 'web01', 7, DISABLED_STATE))));
    for (let i = 0; i < 5; i++) {
      const { receivedMessageItems } = await queue.receiveMessages({
        numberOfMessages: 32,
        visibilityTimeout: 1,
      });
      for (const item of receivedMessageItems) {
        await queue.updateMessage(item.messageId, item.popReceipt, undefined, 0);
      }
    }
    const { desired } = await enableState(ccsId);
    await queue.sendMessage(encodeMessage(await fleet.sign(applyCommand(ccsId, 'web01', 8, desired))));

    await agentOn(ccsId, 'web01');
    await waitFor(fleet, () => result(ccsId, 'web01', 8).length === 1, 'the good command');
    expect(result(ccsId, 'web01', 8)[0]?.outcome).toBe('succeeded');
    expect(result(ccsId, 'web01', 7)[0]).toMatchObject({
      outcome: 'failed',
      error: { code: 'CommandAbandoned' },
    });

    const poison = await fleet.queues
      .getQueueClient(poisonQueueName(queueName))
      .peekMessages({ numberOfMessages: 32 });
    expect(poison.peekedMessageItems).toHaveLength(3);
    expect(poison.peekedMessageItems.map((m) => m.messageText)).toContain('this is not a command');
    expect(await queueDepth(queueName)).toBe(0);
  });

  it('repairs drift: a hand edit of IIS is reverted and reported', async () => {
    const ccsId = uniqueCcsId('drift');
    const agent = await agentOn(ccsId, 'web01', { extra: { driftIntervalSeconds: 0.3 } });
    await fleet.bus.ensureHostQueue(ccsId, 'web01');
    const { desired, username } = await enableState(ccsId);
    await fleet.bus.send(applyCommand(ccsId, 'web01', 1, desired));
    await waitFor(fleet, () => result(ccsId, 'web01', 1).length === 1, 'apply');

    await setRegistryByHand(agent.config.simulated!.stateDir, {
      CertStoreLocation: '\\\\localhost\\elsewhere',
    });
    const drift = await waitFor(
      fleet,
      () => reportsOf(fleet, ccsId, 'web01').find((r) => r.type === 'drift'),
      'drift report',
    );
    expect(drift).toMatchObject({
      type: 'drift',
      generation: 1,
      found: { enabled: true, path: '\\\\localhost\\elsewhere' },
      actual: { enabled: true, path: fleet.share.path, username },
      repaired: true,
      error: null,
    });
    expect((await registryOf(agent)).CertStoreLocation).toBe(fleet.share.path);
  });

  // Each of these spawns node with tsx, which takes a few seconds on a busy machine.
  describe('the command line', { timeout: 60_000 }, () => {
    const cli = (args: string[]) =>
      run(process.execPath, ['--import', 'tsx', 'agent/main.ts', ...args], {
        cwd: join(import.meta.dirname, '..', '..'),
        env: { ...process.env, CCS_AGENT_CONFIG: '' },
        timeout: 20_000,
      }).then(
        (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
        (e: { code: number; stdout: string; stderr: string }) => ({
          code: e.code,
          stdout: e.stdout,
          stderr: e.stderr,
        }),
      );

    it('--once drains the queue and exits 0; status prints the applied and actual state', async () => {
      const ccsId = uniqueCcsId('cli');
      const { configFile, config } = await writeAgentConfig(fleet, ccsId, 'web01');
      await fleet.bus.ensureHostQueue(ccsId, 'web01');
      const pkRef = await fleet.secrets.setSecret(
        secretName(ccsId, 'private-key-password'),
        fleet.share.privateKeyPassword,
      );
      const pwRef = await fleet.secrets.setSecret(
        secretName(ccsId, 'identity-password'),
        fleet.share.password,
      );
      const desired: DesiredState = {
        enabled: true,
        path: fleet.share.path,
        username: fleet.share.username,
        password: pwRef,
        privateKeyPassword: pkRef,
      };
      await fleet.bus.send(applyCommand(ccsId, 'web01', 3, desired));

      const once = await cli(['run', '--once', '--config', configFile]);
      expect(once.stderr).toBe('');
      expect(once.code).toBe(0);
      await fleet.collectReports();
      expect(reportsOf(fleet, ccsId).map((r) => r.type)).toEqual(['hello', 'result']);
      expect(result(ccsId, 'web01', 3)[0]?.outcome).toBe('succeeded');
      for (const line of once.stdout.trim().split('\n'))
        expect(() => JSON.parse(line) as unknown).not.toThrow();
      assertNoSecretsIn([once.stdout], [fleet.share.password, fleet.share.privateKeyPassword]);

      const status = await cli(['status', '--config', configFile]);
      expect(status.code).toBe(0);
      const parsed = JSON.parse(status.stdout) as Record<string, unknown>;
      expect(parsed).toMatchObject({
        host: 'web01',
        ccsId,
        backend: 'simulated',
        appliedGeneration: 3,
        applied: { enabled: true, path: fleet.share.path, password: pwRef },
        actual: { enabled: true, path: fleet.share.path, username: fleet.share.username },
        inSync: true,
      });
      // The host key's thumbprint, as the hello announced the key (what an approver compares).
      const hello = reportsOf(fleet, ccsId).find((r) => r.type === 'hello');
      expect(hello?.type === 'hello' && hello.hostKey && jwkThumbprint(hello.hostKey)).toBe(parsed.hostKey);
      assertNoSecretsIn([status.stdout], [fleet.share.password, fleet.share.privateKeyPassword]);
      expect(config.stateDir).toBe(join(configFile, '..', 'state'));
    });

    it('run: SIGTERM stops the loop and exits 0', async () => {
      const ccsId = uniqueCcsId('cli-run');
      const configFile = await writeAgentConfigFile(fleet, ccsId, 'web01');
      const child = spawn(process.execPath, ['--import', 'tsx', 'agent/main.ts', '--config', configFile], {
        cwd: join(import.meta.dirname, '..', '..'),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      await waitFor(fleet, () => stdout.includes('"msg":"hello sent"'), 'the agent to start');
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stdout).toContain('"msg":"agent stopped"');
    });

    it('exits 1 with the setting named when the configuration is wrong', async () => {
      const ccsId = uniqueCcsId('cli-bad');
      const configFile = await writeAgentConfigFile(fleet, ccsId, 'web01', { pollMaxSeconds: 'slow' });
      const bad = await cli(['--once', '--config', configFile]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('pollMaxSeconds');
      const missing = await cli(['status', '--config', join(fleet.root, 'nope.json')]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('--config');
      const powershell = await writeAgentConfigFile(fleet, ccsId, 'web02', { backend: 'powershell' });
      const ps = await cli(['--once', '--config', powershell]);
      expect(ps.code).toBe(1);
      expect(ps.stderr).toContain('powershell.executable');
    });
  });
});
