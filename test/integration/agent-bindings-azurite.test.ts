/**
 * Bindings end to end on the agent side: an agent wired as the service wires it (config file →
 * createAgent), real Azurite queues, the local Key Vault, the simulated IIS serving its sites over
 * real TLS. The test plays the API: it sends commands and reads the reports queue.
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inetsrvConfigDir, createShareAccount } from '../../agent/backends/simulated.js';
import { writeSimulatedSites, type SimulatedSite } from '../../agent/backends/simulated-iis/sites-file.js';
import { freePort } from '../../local/ports.js';
import type { BindingsReport, DesiredState, HelloReport, PreflightCommand } from '../../shared/messages.js';
import { secretName } from '../../shared/names.js';
import {
  applyCommand,
  preflightCommand,
  reportsOf,
  resultsOf,
  startAgent,
  startFleet,
  uniqueCcsId,
  waitFor,
  type Fleet,
  type RunningAgent,
} from '../support/agent-azurite.js';
import { FIXTURE_PASSWORD, fixturePath } from '../support/pfx-fixtures.js';

let fleet: Fleet;
let agent: RunningAgent;
const ccsId = uniqueCcsId('bind');
const host = 'web01';
let port: number;
let desired: DesiredState;

const sitesDir = () => inetsrvConfigDir(join(fleet.root, 'hosts', `${ccsId}-${host}`, 'iis'));
const sites = (extra: SimulatedSite[] = []): SimulatedSite[] => [
  {
    name: 'Contoso',
    bindings: [
      { bindingInformation: `*:${port}:www.contoso.com` },
      { bindingInformation: `*:${port}:shop.contoso.com` },
    ],
  },
  { name: 'Fabrikam', bindings: [{ bindingInformation: `*:${port}:www.fabrikam.com` }] },
  ...extra,
];
const result = (generation: number, phase: 'preflight' | 'apply') =>
  resultsOf(fleet, ccsId, host).filter((r) => r.generation === generation && r.phase === phase);

beforeAll(async () => {
  fleet = await startFleet();
  port = await freePort();
  // A store of its own: the demo share's www and wildcard files, plus one file that opens with
  // another password (so that password passes the share check but serves none of the sites).
  const folder = join(fleet.share.folder, 'bound');
  await mkdir(folder, { recursive: true });
  for (const file of ['www.contoso.com.pfx', '_.contoso.com.pfx']) {
    await copyFile(join(fleet.share.folder, file), join(folder, file));
  }
  await copyFile(fixturePath('aes256/api.contoso.com.pfx'), join(folder, 'other.contoso.net.pfx'));
  const username = `LOCALHOST\\${ccsId}`;
  const password = 'bind-share-Pa55';
  await createShareAccount(fleet.shareRoot, username, password, ['ccs']);
  desired = {
    enabled: true,
    path: `${fleet.share.path}\\bound`,
    username,
    password: await fleet.secrets.setSecret(secretName(ccsId, 'identity-password'), password),
    privateKeyPassword: await fleet.secrets.setSecret(
      secretName(ccsId, 'private-key-password'),
      fleet.share.privateKeyPassword,
    ),
  };
  await writeSimulatedSites(sitesDir(), sites());
  agent = await startAgent(fleet, ccsId, host, { extra: { driftIntervalSeconds: 0.2 } });
  await fleet.bus.ensureHostQueue(ccsId, host);
});

afterAll(async () => {
  await agent?.stop();
  await agent?.wired.backend.close?.();
  await fleet?.close();
});

describe('an agent with CCS bindings', () => {
  it('announces its bindings in hello', async () => {
    const hello = await waitFor(
      fleet,
      () => reportsOf(fleet, ccsId, host).find((r): r is HelloReport => r.type === 'hello'),
      'hello',
    );
    expect(hello.bindings).toMatchObject({ total: 3, error: null });
    expect(hello.bindings!.items!.map((b) => `${b.site}|${b.hostName}|${b.port}|${b.ip}|${b.sni}`)).toEqual([
      `Contoso|shop.contoso.com|${port}|*|true`,
      `Contoso|www.contoso.com|${port}|*|true`,
      `Fabrikam|www.fabrikam.com|${port}|*|true`,
    ]);
  });

  it('proves after an apply, with real handshakes, which sites serve the share’s certificates', async () => {
    await fleet.bus.send(applyCommand(ccsId, host, 1, desired));
    const [applied] = await waitFor(
      fleet,
      () => result(1, 'apply').length === 1 && result(1, 'apply'),
      'apply 1',
    );
    expect(applied).toMatchObject({ outcome: 'succeeded', bindings: { total: 3 } });
    expect(applied!.serving!.counts).toEqual({ ok: 2, mismatch: 0, failed: 1, skipped: 0 });
    const byName = Object.fromEntries(applied!.serving!.results.map((r) => [r.hostName, r]));
    expect(byName['www.contoso.com']).toMatchObject({ status: 'ok', file: 'www.contoso.com.pfx' });
    expect(byName['www.contoso.com']!.served).toBe(byName['www.contoso.com']!.expected);
    expect(byName['shop.contoso.com']).toMatchObject({ status: 'ok', file: '_.contoso.com.pfx' });
    expect(byName['www.fabrikam.com']).toMatchObject({ status: 'failed', file: null, served: null });
  });

  it('refuses a private-key password that would leave served sites without a certificate (409), unless forced', async () => {
    const next: DesiredState = {
      ...desired,
      privateKeyPassword: await fleet.secrets.setSecret(
        secretName(ccsId, 'private-key-password'),
        FIXTURE_PASSWORD,
      ),
    };
    await fleet.bus.send(preflightCommand(ccsId, host, 2, next));
    const [refused] = await waitFor(
      fleet,
      () => result(2, 'preflight').length === 1 && result(2, 'preflight'),
      'preflight',
    );
    expect(refused).toMatchObject({ outcome: 'failed', appliedGeneration: 1 });
    expect(refused!.error).toMatchObject({
      name: 'private_key_password',
      code: 'BoundNamesUncovered',
      status: 409,
      hostNames: ['shop.contoso.com', 'www.contoso.com'],
    });

    const forced = { ...(preflightCommand(ccsId, host, 2, next) as PreflightCommand), force: true };
    await fleet.bus.send(forced);
    const [, passed] = await waitFor(
      fleet,
      () => result(2, 'preflight').length === 2 && result(2, 'preflight'),
      'forced',
    );
    expect(passed).toMatchObject({ outcome: 'succeeded', error: null });
  });

  it('a share file replaced by another certificate is reported as a mismatch by the next serving check', async () => {
    await copyFile(
      fixturePath('aes256/api.contoso.com.pfx'),
      join(fleet.share.folder, 'bound', '_.contoso.com.pfx'),
    );
    const same: DesiredState = {
      ...desired,
      privateKeyPassword: await fleet.secrets.setSecret(
        secretName(ccsId, 'private-key-password'),
        fleet.share.privateKeyPassword,
      ),
    };
    await fleet.bus.send(applyCommand(ccsId, host, 3, same));
    const [applied] = await waitFor(
      fleet,
      () => result(3, 'apply').length === 1 && result(3, 'apply'),
      'apply 3',
    );
    const shop = applied!.serving!.results.find((r) => r.hostName === 'shop.contoso.com');
    // The simulated IIS still holds the wildcard certificate it loaded (CCS polling interval).
    expect(shop).toMatchObject({ status: 'mismatch', file: '_.contoso.com.pfx' });
    expect(shop!.served).not.toBe(shop!.expected);
  });

  it('reports bindings an administrator changed, noticed by the drift check', async () => {
    await writeSimulatedSites(
      sitesDir(),
      sites([
        {
          name: 'Intranet',
          bindings: [{ bindingInformation: `[::1]:${port}:intranet.contoso.com`, sslFlags: 2 }],
        },
      ]),
    );
    const changed = await waitFor(
      fleet,
      () => reportsOf(fleet, ccsId, host).find((r): r is BindingsReport => r.type === 'bindings'),
      'bindings report',
    );
    expect(changed).toMatchObject({
      total: 4,
      chunk: { index: 0, count: 1 },
      error: null,
      appliedGeneration: 3,
    });
    expect(changed.bindings).toContainEqual({
      site: 'Intranet',
      hostName: 'intranet.contoso.com',
      port,
      ip: '::1',
      sni: false,
    });
  });
});
