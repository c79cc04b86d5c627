/**
 * Benchmark 4 — inventory throughput (and benchmark 5's agent memory).
 *
 * A share of N PFX files (default 10,000) in OpenSSL 3's default encoding (PBES2: PBKDF2-HMAC-
 * SHA256 with 2,048 iterations + AES-256-CBC for the certificate bag and the key, SHA-256 MAC
 * with 2,048 iterations): one key and certificate made with the openssl CLI, the file copied
 * under N names (the work is per file either way), and a second certificate for the files
 * that change. In a child process playing one agent (bench/support/inventory-child.ts):
 *
 * - the unavoidable work on every file: read it, derive the certificate bag's key, decrypt the
 *   bag, with node:crypto alone — measured before and after the full scan, averaged;
 * - a full scan by the agent's InventoryScanner with no cache (every file parsed);
 * - a rescan with nothing changed (cache in memory; and again after an agent restart, cache
 *   from disk); then 1% of the files replaced by another certificate, and a rescan;
 * - the process's peak RSS with the N entries inventoried.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startChild } from './support/child.js';
import type { InventoryChildOptions, ScanTiming } from './support/inventory-child.js';
import { scratchDir } from './support/system.js';
import { MB, round } from './support/stats.js';

const run = promisify(execFile);

export interface InventoryOptions {
  files?: number;
  log?: (line: string) => void;
}

export interface InventoryResult {
  name: 'inventory';
  files: number;
  encoding: string;
  /** The unavoidable work: read + PBKDF2 + AES-CBC of the certificate bag, per file set. */
  limit: { ms: number; readMs: number; cryptoMs: number };
  fullScan: ScanTiming & { ratio: number; perFileMs: number };
  unchanged: ScanTiming;
  unchangedAfterRestart: ScanTiming;
  changed: ScanTiming & { changedFiles: number };
  memory: { startMB: number; peakMB: number; perFileKB: number };
  problems: Record<string, number>;
}

const PASSWORD = 'Bench-Pk-Pa55!';

async function makePfx(dir: string, name: string): Promise<Buffer> {
  const env = { ...process.env, BENCH_PFX_PASSWORD: PASSWORD };
  await run(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
      '-days',
      '825',
      '-subj',
      `/CN=${name}.contoso.com`,
      '-addext',
      `subjectAltName=DNS:${name}.contoso.com`,
    ],
    { cwd: dir, env },
  );
  await run(
    'openssl',
    [
      'pkcs12',
      '-export',
      '-inkey',
      `${name}.key`,
      '-in',
      `${name}.crt`,
      '-out',
      `${name}.pfx`,
      '-passout',
      'env:BENCH_PFX_PASSWORD',
    ],
    { cwd: dir, env },
  );
  return readFileSync(join(dir, `${name}.pfx`));
}

export async function runInventory(options: InventoryOptions = {}): Promise<InventoryResult> {
  const log = options.log ?? (() => {});
  const count = options.files ?? 10_000;
  const scratch = scratchDir('ccs-bench-inventory-');
  try {
    const work = join(scratch, 'openssl');
    mkdirSync(work, { recursive: true });
    const [original, replacement] = await Promise.all([
      makePfx(work, 'original'),
      makePfx(work, 'replacement'),
    ]);
    rmSync(work, { recursive: true, force: true }); // the private keys
    const shareRoot = join(scratch, 'shares');
    const folder = join(shareRoot, 'ccs');
    mkdirSync(folder, { recursive: true });
    const names = Array.from(
      { length: count },
      (_, i) => `host-${String(i).padStart(5, '0')}.contoso.com.pfx`,
    );
    const source = join(scratch, 'original.pfx');
    const changedSource = join(scratch, 'replacement.pfx');
    await Promise.all([
      import('node:fs/promises').then((fs) => fs.writeFile(source, original)),
      import('node:fs/promises').then((fs) => fs.writeFile(changedSource, replacement)),
    ]);
    const past = new Date(Date.now() - 86_400_000);
    for (const name of names) {
      copyFileSync(source, join(folder, name));
      utimesSync(join(folder, name), past, past);
    }
    log(`  inventory: ${count} PFX files of ${original.length} bytes`);

    const childOptions: InventoryChildOptions = {
      shareRoot,
      stateDir: join(scratch, 'state'),
      password: PASSWORD,
    };
    const child = await startChild('inventory-child.ts', [], {
      BENCH_INVENTORY_OPTIONS: JSON.stringify(childOptions),
    });
    try {
      const start = await child.call<{ now: number }>('rss');
      const first = await child.call<{ ms: number; readMs: number; cryptoMs: number }>('baseline');
      const full = await child.call<ScanTiming>('scan', { full: true });
      const second = await child.call<{ ms: number; readMs: number; cryptoMs: number }>('baseline');
      const limit = {
        ms: (first.ms + second.ms) / 2,
        readMs: (first.readMs + second.readMs) / 2,
        cryptoMs: (first.cryptoMs + second.cryptoMs) / 2,
      };
      const unchanged = await child.call<ScanTiming>('scan');
      const memory = await child.call<{ peak: number }>('rss');
      const unchangedAfterRestart = await child.call<ScanTiming>('scan', { restart: true });
      const changedCount = Math.max(1, Math.round(count / 100));
      for (let i = 0; i < changedCount; i++) {
        copyFileSync(changedSource, join(folder, names[Math.floor((i * count) / changedCount)]!));
      }
      const changed = await child.call<ScanTiming>('scan');
      const problems = await child.call<Record<string, number>>('problems');
      const result: InventoryResult = {
        name: 'inventory',
        files: count,
        encoding: 'OpenSSL 3 default: PBES2 (PBKDF2-HMAC-SHA256, 2048 iterations, AES-256-CBC), SHA-256 MAC',
        limit: { ms: round(limit.ms, 0), readMs: round(limit.readMs, 0), cryptoMs: round(limit.cryptoMs, 0) },
        fullScan: {
          ...roundTiming(full),
          ratio: round(full.ms / limit.ms, 2),
          perFileMs: round(full.ms / count, 3),
        },
        unchanged: roundTiming(unchanged),
        unchangedAfterRestart: roundTiming(unchangedAfterRestart),
        changed: { ...roundTiming(changed), changedFiles: changedCount },
        memory: {
          startMB: round(start.now / MB, 1),
          peakMB: round(memory.peak / MB, 1),
          perFileKB: round((memory.peak - start.now) / 1024 / count, 2),
        },
        problems,
      };
      log(
        `  full scan ${(full.ms / 1000).toFixed(2)} s = ${result.fullScan.ratio}× the limit (${(limit.ms / 1000).toFixed(2)} s); ` +
          `unchanged ${unchanged.ms.toFixed(0)} ms; 1% changed ${changed.ms.toFixed(0)} ms; peak RSS ${result.memory.peakMB} MB`,
      );
      return result;
    } finally {
      await child.close();
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function roundTiming(t: ScanTiming): ScanTiming {
  return { ...t, ms: round(t.ms, 1) };
}
