/**
 * IIS Administration's own CCS tests, ported: the HTTP flow of
 * microsoft/IIS.Administration test/Microsoft.IIS.Administration.Tests/CentralCertificates.cs
 * (CanEnable, PathMustBeAllowed, CredentialsMustBeValid, DynamicallyAddsToStores,
 * CcsCertificatesShown), the same requests in the same shapes, driven against `npm start`'s
 * stack as processes. The client is given the API root and nothing else: every other URL comes
 * from a `_links` href (test/support/iis-admin-client.ts mirrors the suite's ApiHttpClient and
 * Utils). `Prefer: wait=60` (the most the API waits) on every request makes a change's answer
 * final, as the real API's answers are (README, "Compatibility with IIS Administration API
 * clients").
 *
 * The suite's constants, mapped onto the demo stack: FOLDER_PATH is the demo share, USER_NAME /
 * USER_PASS its account, PVK_PASS its private-key password, and CERT_NAME a file the share
 * holds. The tests run in the order written, one stack for all of them; each one that needs a
 * state first disables, as the originals do.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as delay } from 'node:timers/promises';
import { startStackProcess, type StackProcess } from '../support/stack-process.js';
import { IisAdminClient, type Hal } from '../support/iis-admin-client.js';

const NAME = 'IIS Central Certificate Store';
const CERT_NAME = 'www.contoso.com';

let stack: StackProcess;
let client: IisAdminClient;

beforeAll(async () => {
  // The suite's test server has no site bound through CCS; with some, DELETE would answer 409
  // (issue 13: disabling CCS under bound sites needs ?force=true).
  stack = await startStackProcess(undefined, { env: { CCS_LOCAL_DEMO_SITES: '0' } });
  client = new IisAdminClient(stack.info.api, stack.info.accessToken, { Prefer: 'wait=60' });
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

const share = () => stack.info.share;

/** `client.Get(".../api/webserver/")`, reached by link from the root instead. */
async function webserver(): Promise<Hal> {
  const found = await client.followLink(await client.root(), 'webserver');
  if (!found) throw new Error('GET webserver did not succeed');
  return found;
}

const ccsLink = async (): Promise<string> => client.link(await webserver(), 'central_certificates');

const ccsInfo = (path: string, username: string, password: string, privateKeyPassword: string) => ({
  path,
  identity: { username, password },
  private_key_password: privateKeyPassword,
});

/** CentralCertificates.Enable: POST the model to the `central_certificates` link. */
async function enable(path: string, username: string, password: string, pvk: string): Promise<Hal | null> {
  return client.post(await ccsLink(), ccsInfo(path, username, password, pvk));
}

/** CentralCertificates.Disable: DELETE the `central_certificates` link. */
async function disable(): Promise<boolean> {
  return client.delete(await ccsLink());
}

/** CentralCertificates.GetStores, through the root's `certificate_stores` link. */
async function getStores(): Promise<Hal[]> {
  const stores = await client.followLink(await client.root(), 'certificate_stores');
  return (stores?.stores as Hal[] | undefined) ?? [];
}

/** CentralCertificates.GetCertificates: the `certificates` link with `?fields=*`. */
async function getCertificates(): Promise<Hal[]> {
  const certificates = await client.get(`${client.link(await client.root(), 'certificates')}?fields=*`);
  return (certificates?.certificates as Hal[] | undefined) ?? [];
}

const isCcsStore = (store: Hal) => String(store.name).toLowerCase() === NAME.toLowerCase();

// A test makes up to three changes, each awaited for up to 60 s on a loaded machine.
describe(
  'IIS Administration CentralCertificates tests, through link discovery from GET /api',
  { timeout: 200_000 },
  () => {
    it('answers GET /api/webserver/ as the real suite requests it, trailing slash included', async () => {
      const direct = await client.get(`${new URL(stack.info.api).origin}/api/webserver/`);
      expect(direct).toEqual(await webserver());
      expect(await ccsLink()).toBe(
        `${new URL(stack.info.api).origin}/api/webserver/centralized-certificates/default`,
      );
    });

    it('CanEnable', async () => {
      expect(await disable()).toBe(true);
      const model = await enable(
        share().path,
        share().username,
        share().password,
        share().privateKeyPassword,
      );
      expect(model).not.toBeNull();
      // The model's fields as IIS Administration returns them (plus status/generation/hosts extras).
      expect(model).toMatchObject({
        id: 'default',
        path: share().path,
        identity: { username: share().username },
      });
      expect(client.link(model!, 'self')).toBe(await ccsLink());
      expect(await client.followLink(await webserver(), 'central_certificates')).toMatchObject({
        id: 'default',
      });
    });

    it('PathMustBeAllowed', async () => {
      expect(await disable()).toBe(true);
      const res = await client.postRaw(
        await ccsLink(),
        ccsInfo('C:\\Not\\Allowed\\Path', share().username, share().password, share().privateKeyPassword),
      );
      expect(res.status).toBe(403);
    });

    it('CredentialsMustBeValid', async () => {
      expect(await disable()).toBe(true);
      const res = await client.postRaw(
        await ccsLink(),
        ccsInfo(share().path, share().username, 'fgsfds', share().privateKeyPassword),
      );
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toContain('json');
      expect(((await res.json()) as Hal).name).toBe('identity');
    });

    it('DynamicallyAddsToStores', async () => {
      expect(await disable()).toBe(true);
      expect((await getStores()).some(isCcsStore)).toBe(false);
      expect(
        await enable(share().path, share().username, share().password, share().privateKeyPassword),
      ).not.toBeNull();
      expect((await getStores()).some(isCcsStore)).toBe(true);
      expect(await disable()).toBe(true);
      expect((await getStores()).some(isCcsStore)).toBe(false);
    });

    it('CcsCertificatesShown', async () => {
      expect(
        await enable(share().path, share().username, share().password, share().privateKeyPassword),
      ).not.toBeNull();
      // IIS Administration reads the share when asked; here the elected host's scan reports it a
      // few seconds after the enable (CCS_INVENTORY_INTERVAL_SECONDS=5 locally), so ask until then.
      const shown = (certs: Hal[]) =>
        certs.some((cert) => cert.alias === `${CERT_NAME}.pfx` && isCcsStore(cert.store as Hal));
      const deadline = Date.now() + 30_000;
      let certificates = await getCertificates();
      while (!shown(certificates) && Date.now() < deadline) {
        await delay(250);
        certificates = await getCertificates();
      }
      expect(shown(certificates)).toBe(true);
    });
  },
);
