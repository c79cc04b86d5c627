/**
 * One agent's inventory work, in a process of its own so that its memory is its own: the
 * agent's InventoryScanner (agent/inventory/scanner.ts) over the simulated backend, against a
 * share of PFX files the parent made, and the unavoidable work on the same files, with
 * node:crypto alone: read the file, derive the certificate bag's key (PBKDF2) and decrypt the
 * bag (AES-CBC). Answers over IPC (see child.ts).
 */
import { createDecipheriv, pbkdf2Sync } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SimulatedBackend } from '../../agent/backends/simulated.js';
import { FileInventoryCache } from '../../agent/inventory/cache.js';
import { InventoryScanner } from '../../agent/inventory/scanner.js';
import { SecretCache } from '../../agent/secrets.js';
import { MemoryStateStore } from '../../agent/state.js';
import { MESSAGE_VERSION, type InventoryReport } from '../../shared/messages.js';
import {
  explicit,
  parseSingle,
  readAlgorithm,
  readInteger,
  readNode,
  readOctetString,
  readOid,
  readUnsigned,
  sequence,
} from '../../shared/pkcs12/der.js';
import { problemLog } from './problems.js';
import { rssSampler, serveParent } from './child.js';

export interface InventoryChildOptions {
  shareRoot: string;
  stateDir: string;
  password: string;
}

export interface ScanTiming {
  ms: number;
  files: number;
  parsed: number;
  reused: number;
  chunks: number;
  reportBytes: number;
}

const OID_ENCRYPTED_DATA = '1.2.840.113549.1.7.6';
const OID_PBES2 = '1.2.840.113549.1.5.13';
const PRF: Record<string, string> = {
  '1.2.840.113549.2.7': 'sha1',
  '1.2.840.113549.2.9': 'sha256',
  '1.2.840.113549.2.10': 'sha384',
  '1.2.840.113549.2.11': 'sha512',
};
const CIPHER: Record<string, { name: string; keyLength: number }> = {
  '2.16.840.1.101.3.4.1.2': { name: 'aes-128-cbc', keyLength: 16 },
  '2.16.840.1.101.3.4.1.22': { name: 'aes-192-cbc', keyLength: 24 },
  '2.16.840.1.101.3.4.1.42': { name: 'aes-256-cbc', keyLength: 32 },
};

/** The unavoidable work for one file: PBKDF2 of the certificate bag's key, then AES-CBC. */
export function decryptCertBag(pfx: Buffer, password: string): Buffer {
  const top = sequence(readNode(pfx, 0), 'PFX');
  const authSafe = readOctetString(explicit(sequence(top[1], 'authSafe')[1], 0, 'authSafe'), 'authSafe');
  for (const info of sequence(parseSingle(authSafe, 'AuthenticatedSafe'), 'AuthenticatedSafe')) {
    const parts = sequence(info, 'ContentInfo');
    if (readOid(parts[0]) !== OID_ENCRYPTED_DATA) continue;
    const ed = sequence(explicit(parts[1], 0, 'EncryptedData'), 'EncryptedData');
    readInteger(ed[0]);
    const eci = sequence(ed[1], 'EncryptedContentInfo');
    const alg = readAlgorithm(eci[1]);
    if (alg.oid !== OID_PBES2) throw new Error('the benchmark files use PBES2 (OpenSSL 3 defaults)');
    const [kdfNode, encNode] = sequence(alg.params, 'PBES2 parameters');
    const kdf = sequence(readAlgorithm(kdfNode).params, 'PBKDF2 parameters');
    const salt = readOctetString(kdf[0], 'salt');
    const iterations = readUnsigned(kdf[1], 'iterations');
    const prfNode = kdf.find((n, i) => i >= 2 && n.tag === 0x10);
    const prf = prfNode ? (PRF[readAlgorithm(prfNode).oid] ?? 'sha1') : 'sha1';
    const enc = readAlgorithm(encNode);
    const cipher = CIPHER[enc.oid];
    if (!cipher) throw new Error('the benchmark files use AES-CBC');
    const iv = readOctetString(enc.params, 'iv');
    const data = readOctetString(eci[2], 'encrypted content', 0);
    const key = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, cipher.keyLength, prf);
    const decipher = createDecipheriv(cipher.name, key, iv);
    return Buffer.concat([decipher.update(data), decipher.final()]);
  }
  throw new Error('no encrypted certificate bag');
}

const options = JSON.parse(process.env.BENCH_INVENTORY_OPTIONS ?? '{}') as InventoryChildOptions;
const rss = rssSampler(50);
const SHARE = '\\\\localhost\\ccs';
const ref = { name: 'ccs-bench-private-key-password', version: 'v1' };

serveParent(
  () => {
    const backend = new SimulatedBackend({
      stateDir: join(options.stateDir, 'iis'),
      shareRoot: options.shareRoot,
    });
    const state = new MemoryStateStore({
      appliedGeneration: 1,
      desired: {
        enabled: true,
        path: SHARE,
        username: 'LOCALHOST\\ccs-reader',
        password: { name: 'ccs-bench-identity-password', version: 'v1' },
        privateKeyPassword: ref,
      },
      appliedAt: new Date().toISOString(),
    });
    const secrets = new SecretCache({
      getSecret: () => Promise.resolve(options.password),
      setSecret: () => Promise.reject(new Error('not here')),
      deleteSecret: () => Promise.reject(new Error('not here')),
    });
    let reports: InventoryReport[] = [];
    const log = problemLog();
    const scannerWith = (cache: FileInventoryCache) =>
      new InventoryScanner({
        ccsId: 'bench',
        hostName: 'web-0000',
        backend,
        secrets,
        state,
        cache,
        reports: {
          send: (report) => {
            if (report.type === 'inventory') reports.push(report);
            return Promise.resolve();
          },
        },
        environment: {},
        log,
        now: () => new Date(),
      });
    let scanner = scannerWith(new FileInventoryCache(options.stateDir, 'bench'));
    let seq = 0;
    const scan = async (params: unknown): Promise<ScanTiming> => {
      const { full, restart } = (params ?? {}) as { full?: boolean; restart?: boolean };
      // An agent restarted since the last scan: its cache comes back from disk.
      if (restart) scanner = scannerWith(new FileInventoryCache(options.stateDir, 'bench'));
      reports = [];
      const t = performance.now();
      const outcome = await scanner.scan({
        v: MESSAGE_VERSION,
        type: 'scan',
        ccsId: 'bench',
        host: 'web-0000',
        generation: 1,
        scanSeq: ++seq,
        full: full ?? false,
        issuedAt: new Date().toISOString(),
      });
      const ms = performance.now() - t;
      if (outcome.error) throw new Error(`scan failed: ${outcome.error}`);
      return {
        ms,
        files: outcome.files,
        parsed: outcome.parsed,
        reused: outcome.reused,
        chunks: outcome.chunks,
        reportBytes: reports.reduce((n, r) => n + JSON.stringify(r).length, 0),
      };
    };
    return Promise.resolve({
      scan,
      /** The unavoidable work over every file of the share, in the same process. */
      baseline: async () => {
        const folder = join(options.shareRoot, 'ccs');
        const names = (await readdir(folder)).filter((n) => n.toLowerCase().endsWith('.pfx')).sort();
        let readMs = 0;
        let cryptoMs = 0;
        for (const name of names) {
          let t = performance.now();
          const bytes = await readFile(join(folder, name));
          readMs += performance.now() - t;
          t = performance.now();
          decryptCertBag(bytes, options.password);
          cryptoMs += performance.now() - t;
        }
        return { files: names.length, readMs, cryptoMs, ms: readMs + cryptoMs };
      },
      rss: () => ({ peak: rss.peak(), now: process.memoryUsage.rss() }),
      resetRss: () => rss.reset(),
      problems: () => log.counts(),
    });
  },
  () => Promise.resolve(),
);
