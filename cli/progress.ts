/**
 * A change's progress while `ccs` follows its operation: on a terminal two live bars (hosts
 * preflighted of N, hosts applied of N, with failures), elsewhere one plain line each time the
 * counts change — readable in CI logs, no control characters.
 */
import type { Writable } from 'node:stream';
import { MultiBar, Presets } from 'cli-progress';
import { progressOf, type Operation } from '../client/operations.js';

export interface ProgressView {
  update(op: Operation): void;
  stop(): void;
}

export function progressView(stream: Writable & { isTTY?: boolean }, quiet: boolean): ProgressView {
  if (quiet) return { update: () => undefined, stop: () => undefined };
  if (stream.isTTY && process.env.TERM !== 'dumb') return barView(stream);
  let last = '';
  return {
    update(op) {
      const p = progressOf(op);
      const line = `${op.status} ${op.phase}: preflighted ${p.preflighted}/${p.total}, applied ${p.applied}/${p.total}, failed ${p.failed}${p.unreachable ? `, unreachable ${p.unreachable}` : ''}`;
      if (line !== last) stream.write(`${line}\n`);
      last = line;
    },
    stop: () => undefined,
  };
}

function barView(stream: Writable): ProgressView {
  const bars = new MultiBar(
    {
      stream,
      format: ' {phase} |{bar}| {value}/{total} hosts {note}',
      hideCursor: true,
      clearOnComplete: false,
      forceRedraw: true,
    },
    Presets.shades_classic,
  );
  let preflight: ReturnType<MultiBar['create']> | undefined;
  let apply: ReturnType<MultiBar['create']> | undefined;
  return {
    update(op) {
      const p = progressOf(op);
      const total = Math.max(p.total, 1);
      preflight ??= bars.create(total, 0, { phase: 'preflight', note: '' });
      apply ??= bars.create(total, 0, { phase: 'apply    ', note: '' });
      preflight.setTotal(total);
      apply.setTotal(total);
      preflight.update(p.preflighted, { note: p.unreachable ? `(${p.unreachable} unreachable)` : '' });
      apply.update(p.applied, { note: p.failed ? `(${p.failed} failed)` : '' });
    },
    stop: () => bars.stop(),
  };
}
