/**
 * Issue 19's "Done when", on `npm start` with ten simulated hosts (CCS_LOCAL_HOSTS): a change
 * whose effect breaks serving only after apply — the canary's simulated IIS cannot load
 * certificates from the new store, a fault injected on that host alone (iis-faults.json,
 * agent/backends/simulated.ts) that the agent's preflight cannot see — reaches the canary only,
 * halts, and with auto_rollback the canary serves its old certificates again, shown by the
 * agents' serving checks (real TLS handshakes, thumbprints compared). Then a healthy change rolls
 * through every wave and the operation shows the waves' timing.
 */
import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CentralizedCertificatesSchema,
  HostListSchema,
  OperationSchema,
} from '../../functions/openapi/response-schemas.js';
import { readJson } from '../support/api-harness.js';
import { startStackProcess, type StackProcess } from '../support/stack-process.js';

const HOSTS = Array.from({ length: 10 }, (_, i) => `web-${String(i + 1).padStart(2, '0')}`);
let stack: StackProcess;
const resource = () => `/webserver/centralized-certificates/${stack.info.ccsId}`;
type Operation = ReturnType<typeof OperationSchema.parse>;

/** A copy of the demo share's files in a folder of the same share; its CCS path. */
async function copyOfShare(name: string): Promise<string> {
  const { folder, path } = stack.info.share;
  await mkdir(join(folder, name), { recursive: true });
  for (const file of (await readdir(folder)).filter((f) => f.endsWith('.pfx'))) {
    await copyFile(join(folder, file), join(folder, name, file));
  }
  return `${path}\\${name}`;
}

/** The operation once it ended (polled: the agents are other processes). */
async function ended(href: string): Promise<Operation> {
  const deadline = Date.now() + 150_000;
  for (;;) {
    const op = OperationSchema.parse(await readJson(await stack.request('GET', href.replace(/^\/api/, ''))));
    if (op.status !== 'Running') return op;
    if (Date.now() > deadline) throw new Error(`operation still running: ${JSON.stringify(op.rollout)}`);
    await delay(500);
  }
}

/** Each host's serving results of `generation`: host → host name → status. */
async function servingOf(generation: number): Promise<Map<string, Record<string, string>>> {
  const hosts = HostListSchema.parse(await readJson(await stack.request('GET', `${resource()}/hosts`)));
  return new Map(
    hosts.hosts
      .filter((h) => h.serving?.generation === generation)
      .map((h) => [h.name, Object.fromEntries(h.serving!.results.map((r) => [r.host_name, r.status]))]),
  );
}

const SERVED = {
  'www.contoso.com': 'ok',
  'shop.contoso.com': 'ok',
  'expired.contoso.com': 'ok',
  'www.fabrikam.com': 'failed',
};

beforeAll(async () => {
  // Ten agents' handshakes share a loaded CI machine: a slow handshake is not a serving fault.
  stack = await startStackProcess(undefined, {
    env: { CCS_LOCAL_HOSTS: HOSTS.join(','), CCS_AGENT_SERVING_CHECK_TIMEOUT_SECONDS: '20' },
  });
}, 180_000);
afterAll(async () => {
  await stack?.stop();
});

describe('npm start with ten hosts: rollouts gated on real TLS handshakes', () => {
  it('enables CCS on every host at once (no policy: as before) and every host serves', async () => {
    const res = await stack.request('POST', resource(), {
      body: {
        path: stack.info.share.path,
        identity: { username: stack.info.share.username, password: stack.info.share.password },
        private_key_password: stack.info.share.privateKeyPassword,
      },
    });
    expect(res.status).toBe(202);
    const op = await ended(res.headers.get('operation-location')!);
    expect(op.status).toBe('Succeeded');
    expect(op.rollout).toBeUndefined();
    const serving = await servingOf(1);
    expect([...serving.keys()].sort()).toEqual(HOSTS);
    for (const results of serving.values()) expect(results).toEqual(SERVED);
  }, 180_000);

  it('halts a change that breaks serving on the canary and rolls it back by itself', async () => {
    const broken = await copyOfShare('broken');
    await writeFile(
      join(stack.dir, 'agents', 'web-01', 'registry', 'iis-faults.json'),
      JSON.stringify({ unloadableStores: [broken] }),
    );
    const res = await stack.request('PATCH', resource(), {
      body: { path: broken, rollout: { canary: ['web-01'], max_concurrency: '30%', auto_rollback: true } },
    });
    expect(res.status).toBe(202);
    const op = await ended(res.headers.get('operation-location')!);
    expect(op).toMatchObject({
      status: 'Failed',
      error: { code: 'RolledBack' },
      rollout: { state: 'rolled_back', current_wave: 0, rollback: { generation: 3, hosts: 1 } },
    });
    // The evidence: the canary's bindings that served ok before and failed after the apply.
    expect(op.rollout!.errors).toHaveLength(1);
    expect(op.rollout!.errors[0]).toMatchObject({ host: 'web-01', wave: 0, reason: 'serving_regressed' });
    expect(op.rollout!.errors[0]!.bindings.map((b) => [b.host_name, b.status]).sort()).toEqual([
      ['expired.contoso.com', 'failed'],
      ['shop.contoso.com', 'failed'],
      ['www.contoso.com', 'failed'],
    ]);
    expect(op.rollout!.waves.map((w) => [w.hosts, w.started !== null])).toEqual([
      [1, true],
      [3, false],
      [3, false],
      [3, false],
    ]);
    // The canary serves its old certificates again: the rollback waited for its serving check
    // (real handshakes after the rollback's apply), and the host's own check says the same.
    expect(op.rollout!.rollback!.serving).toEqual({ ok: 3, mismatch: 0, failed: 1, skipped: 0 });
    expect(Object.fromEntries(await servingOf(3))).toEqual({ 'web-01': SERVED });
    // Only the canary received the change (the other rows were never sent an apply: their step
    // closed as skipped when the operation ended); the rollback is a new generation equal to the
    // old state.
    for (const h of op.hosts.filter((row) => row.name !== 'web-01')) expect(h.apply).toBe('skipped');
    const hosts = HostListSchema.parse(await readJson(await stack.request('GET', `${resource()}/hosts`)));
    expect(hosts.desired_generation).toBe(3);
    expect(hosts.hosts.find((h) => h.name === 'web-01')?.applied_generation).toBe(3);
    const body = CentralizedCertificatesSchema.parse(await readJson(await stack.request('GET', resource())));
    expect(body.path).toBe(stack.info.share.path);
  }, 180_000);

  it('rolls a healthy change through every wave and shows their timing', async () => {
    await stack.request('PUT', `${resource()}/rollout`, {
      body: { canary: 1, max_concurrency: '30%', bake_seconds: 1 },
    });
    const res = await stack.request('PATCH', resource(), { body: { path: await copyOfShare('healthy') } });
    expect(res.status).toBe(202);
    const op = await ended(res.headers.get('operation-location')!);
    expect(op).toMatchObject({ status: 'Succeeded', rollout: { state: 'succeeded', error_count: 0 } });
    const waves = op.rollout!.waves;
    expect(waves.map((w) => w.hosts)).toEqual([1, 3, 3, 3]);
    for (let i = 1; i < waves.length; i++) {
      // Each wave started at least the bake time after the previous one settled.
      expect(Date.parse(waves[i]!.started!) - Date.parse(waves[i - 1]!.settled!)).toBeGreaterThanOrEqual(
        1000,
      );
    }
    expect(op.hosts.map((h) => [h.name, h.wave])).toEqual(
      HOSTS.map((h, i) => [h, i === 0 ? 0 : Math.ceil(i / 3)]),
    );
    const serving = await servingOf(4);
    expect(serving.size).toBe(10);
    for (const results of serving.values()) expect(results).toEqual(SERVED);
  }, 180_000);
});
