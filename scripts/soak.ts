/**
 * The chaos soak (issue 22, docs/reliability.md): a simulated fleet on the real stack, a seeded
 * stream of changes through the HTTP API, seeded faults, and the invariants checked over the
 * whole recorded history.
 *
 *   npm run soak                                          # 50 hosts, 200 changes, a random seed
 *   npm run soak -- --hosts 12 --changes 200 --seed 7     # reproduce a run's plan
 *   npm run soak -- --faults-per-change 2 --preflight-timeout 8 --operation-timeout 60
 *   npm run soak -- --change-wait 20      # the next change after 20 s at most: changes overlap
 *
 * Exit code 0 only with 0 violations (and every answer as the OpenAPI document says). A
 * violation prints the seed and the window of history around it. The history and the figures
 * are written to `.local/soak/seed-<S>.json` for a post-mortem (they hold no secret: that is
 * invariant 6).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatViolations } from '../test/soak/checker.js';
import { figuresMarkdown } from '../test/soak/figures.js';
import { runSoak } from '../test/soak/run.js';

const { values } = parseArgs({
  options: {
    hosts: { type: 'string', default: '50' },
    changes: { type: 'string', default: '200' },
    seed: { type: 'string' },
    'faults-per-change': { type: 'string', default: '1.6' },
    'preflight-timeout': { type: 'string', default: '8' },
    'operation-timeout': { type: 'string', default: '60' },
    'change-wait': { type: 'string' },
  },
});

function positive(name: string, raw: string | undefined): number {
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
  return value;
}

const seed = values.seed === undefined ? Date.now() % 2 ** 31 : Math.trunc(Number(values.seed));
if (!Number.isSafeInteger(seed) || seed < 0) throw new Error('--seed must be a non-negative integer');
// Ctrl-C: no more changes; the run settles, is checked and stops its processes. Twice: at once.
const stop = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stop.signal.aborted) process.exit(130);
    console.log(`${signal}: stopping after the change in hand (again to stop at once)`);
    stop.abort();
  });
}
const result = await runSoak({
  signal: stop.signal,
  hosts: Math.trunc(positive('hosts', values.hosts)),
  changes: Math.trunc(positive('changes', values.changes)),
  seed,
  faultsPerChange: positive('faults-per-change', values['faults-per-change']),
  preflightTimeoutSeconds: positive('preflight-timeout', values['preflight-timeout']),
  operationTimeoutSeconds: positive('operation-timeout', values['operation-timeout']),
  ...(values['change-wait'] ? { changeWaitSeconds: positive('change-wait', values['change-wait']) } : {}),
  log: (line) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`),
});

const dir = join(new URL('..', import.meta.url).pathname, '.local', 'soak');
mkdirSync(dir, { recursive: true });
const file = join(dir, `seed-${seed}.json`);
writeFileSync(
  file,
  JSON.stringify({ figures: result.figures, check: result.check, history: result.history }),
);

console.log(JSON.stringify(result.figures, null, 2));
console.log(`\n${figuresMarkdown(result, new Date().toISOString().slice(0, 10))}\n`);
console.log(formatViolations(result.history, result.check));
for (const breach of result.figures.contractBreaches) {
  console.log(`answer off the OpenAPI document (${breach.requestId}): ${breach.error}`);
}
console.log(`history: ${file}`);
const failed = result.check.violations.length > 0 || result.figures.contractBreaches.length > 0;
process.exit(failed ? 1 : 0);
