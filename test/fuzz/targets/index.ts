/**
 * The fuzz target registry: every parser of untrusted bytes, by name. `npm run fuzz` runs them
 * (scripts/fuzz.ts), `test/unit/fuzz-corpus.test.ts` replays their seeds and committed corpora.
 *
 * To add a parser (the applicationHost.config reader is next), write a FuzzTarget beside these,
 * list it here, and commit its minimised corpus under test/fuzz/corpus/<name>/ after a run.
 */
import type { FuzzTarget } from '../engine/target.js';
import { commandMessageTarget, reportMessageTarget } from './messages.js';
import { pkcs12SafeContentsTarget } from './pkcs12-safe-contents.js';
import { pkcs12Target } from './pkcs12.js';
import { x509Target } from './x509.js';

export const FUZZ_TARGETS: readonly FuzzTarget[] = [
  pkcs12Target,
  pkcs12SafeContentsTarget,
  x509Target,
  commandMessageTarget,
  reportMessageTarget,
];

export function fuzzTarget(name: string): FuzzTarget {
  const target = FUZZ_TARGETS.find((t) => t.name === name);
  if (!target) {
    throw new Error(`no fuzz target "${name}" (targets: ${FUZZ_TARGETS.map((t) => t.name).join(', ')})`);
  }
  return target;
}
