/**
 * The preflight's private-key password check with a backend that lists sizes (statPfx): a file
 * over the PKCS#12 size limit is never read into memory — the reader would refuse it anyway.
 */
import { describe, expect, it } from 'vitest';
import type { PfxFileStat } from '../../agent/backends/backend.js';
import { preflight } from '../../agent/preflight.js';
import { SecretCache } from '../../agent/secrets.js';
import { MAX_PFX_BYTES } from '../../shared/pkcs12/pfx.js';
import { FakeBackend, FakeSecretStore, fakeVerifyPfx } from '../support/agent-fakes.js';

const SHARE = 'C:\\certs';

/** FakeBackend with sizes: every file is small except the ones named in `huge`. */
class SizedBackend extends FakeBackend {
  readonly huge = new Set<string>();
  readonly reads: string[] = [];

  async statPfx(path: string): Promise<PfxFileStat[]> {
    return (await this.listPfx(path)).map((name) => ({
      name,
      size: this.huge.has(name) ? MAX_PFX_BYTES + 1 : 3000,
      mtimeMs: 0,
    }));
  }
  override readFile(path: string, fileName: string): Promise<Buffer> {
    this.reads.push(fileName);
    return super.readFile(path, fileName);
  }
}

describe('preflight with a file over the size limit on the share', () => {
  it('opens the other files and never reads the huge one', async () => {
    const backend = new SizedBackend();
    // The huge file sorts first and would refuse the password if it were read.
    backend.addShare(SHARE, 'reader', 'share-pw', { 'a-huge.pfx': 'other-pw', 'www.pfx': 'pk-pw' });
    backend.huge.add('a-huge.pfx');
    const store = new FakeSecretStore();
    const result = await preflight(
      {
        enabled: true,
        path: SHARE,
        username: 'reader',
        password: store.put('ccs-farm-a-identity-password', 'share-pw'),
        privateKeyPassword: store.put('ccs-farm-a-private-key-password', 'pk-pw'),
      },
      {
        ccsId: 'farm-a',
        backend,
        secrets: new SecretCache(store),
        allowedLocations: [{ path: 'C:\\certs', claims: ['read'] }],
        environment: {},
        verifyPfx: fakeVerifyPfx,
      },
    );
    expect(result.ok).toBe(true);
    expect(backend.reads).toEqual(['www.pfx']);
  });
});
