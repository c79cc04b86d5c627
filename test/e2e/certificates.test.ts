/**
 * `npm start`, then enable `default`: the demo share's three certificates appear in
 * /api/certificates within seconds (the expired one with its problem), and the store goes away
 * when CCS is disabled. The whole stack runs as processes, as a newcomer runs it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as delay } from 'node:timers/promises';
import { startStackProcess, type StackProcess } from '../support/stack-process.js';
import { readJson } from '../support/api-harness.js';
import { CertificateListSchema, StoreListSchema } from '../../functions/openapi/certificate-schemas.js';

let stack: StackProcess;

beforeAll(async () => {
  stack = await startStackProcess();
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

describe('npm start: the demo share in the certificates API', () => {
  it('lists the three demo certificates shortly after enabling default, the expired one with a problem', async () => {
    const resource = `/webserver/centralized-certificates/${stack.info.ccsId}`;
    const enabled = await stack.request('POST', resource, {
      body: {
        path: stack.info.share.path,
        identity: { username: stack.info.share.username, password: stack.info.share.password },
        private_key_password: stack.info.share.privateKeyPassword,
      },
      headers: { Prefer: 'wait=30' },
    });
    expect(enabled.status).toBe(200);

    const stores = StoreListSchema.parse(
      await readJson(await stack.request('GET', '/certificates/stores', { token: stack.info.readOnlyToken })),
    );
    expect(stores.stores).toHaveLength(1);
    const store = stores.stores[0]!;
    expect(store).toMatchObject({
      name: 'IIS Central Certificate Store',
      claims: ['read'],
      ccs_id: 'default',
    });

    const deadline = Date.now() + 30_000;
    let certificates: ReturnType<typeof CertificateListSchema.parse>['certificates'] = [];
    while (Date.now() < deadline) {
      const res = await stack.request('GET', `/certificates?store.id=${store.id}`, {
        token: stack.info.readOnlyToken,
      });
      certificates = CertificateListSchema.parse(await readJson(res)).certificates;
      if (certificates.length === 3) break;
      await delay(250);
    }
    expect(certificates.map((c) => [c.alias, c.problems?.map((p) => p.code)])).toEqual([
      ['_.contoso.com.pfx', []],
      ['expired.contoso.com.pfx', ['expired']],
      ['www.contoso.com.pfx', []],
    ]);
    expect(certificates.find((c) => c.alias === '_.contoso.com.pfx')?.subject).toBe('CN=*.contoso.com');
    expect(certificates.find((c) => c.alias === 'expired.contoso.com.pfx')?.expires_in_days).toBeLessThan(0);

    // The demo sites use CCS: disabling it takes their certificates away, hence force.
    const disabled = await stack.request('DELETE', `${resource}?force=true`, {
      headers: { Prefer: 'wait=30' },
    });
    expect(disabled.status).toBe(204);
    const after = StoreListSchema.parse(await readJson(await stack.request('GET', '/certificates/stores')));
    expect(after.stores).toEqual([]);
    const none = CertificateListSchema.parse(await readJson(await stack.request('GET', '/certificates')));
    expect(none.certificates).toEqual([]);
  }, 90_000);
});
