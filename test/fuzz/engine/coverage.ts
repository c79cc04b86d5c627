/**
 * Coverage feedback from V8 itself: precise block coverage through an in-process inspector
 * session (`Profiler.startPreciseCoverage` with call counts, `Profiler.takePreciseCoverage`
 * after each input, which also resets the counters). No instrumentation and no native addon.
 *
 * A feature is one block (script, start, end offset) with its hit count in a libFuzzer-style
 * bucket (1, 2, 3, 4–7, 8–15, 16–31, 32–127, 128+): an input is kept when it reaches a block
 * never reached before, or reaches a known one a different number of times (a loop that ran
 * longer, a recursion that went deeper).
 */
import { Session } from 'node:inspector';

interface CoverageRange {
  startOffset: number;
  endOffset: number;
  count: number;
}
interface ScriptCoverage {
  url: string;
  functions: { ranges: CoverageRange[] }[];
}

/**
 * The count of a block in one report: that of the innermost reported range containing it (V8
 * reports the function's range first, then nested blocks whose count differs from the
 * enclosing one).
 */
function effectiveCount(block: CoverageRange, reported: readonly CoverageRange[]): number {
  let best: CoverageRange | undefined;
  for (const range of reported) {
    if (range.startOffset <= block.startOffset && block.endOffset <= range.endOffset) {
      if (!best || range.endOffset - range.startOffset <= best.endOffset - best.startOffset) best = range;
    }
  }
  return best?.count ?? 0;
}

function bucket(count: number): number {
  if (count <= 3) return count;
  if (count < 8) return 4;
  if (count < 16) return 5;
  if (count < 32) return 6;
  if (count < 128) return 7;
  return 8;
}

/**
 * V8 gives block granularity only to functions compiled after coverage started: start the probe
 * before the code under test is imported (or first run), then narrow it with `scope`.
 */
export class CoverageProbe {
  private readonly session = new Session();
  private readonly blockIds = new Map<string, number>();
  private readonly scriptKeys = new Map<string, string>();
  private readonly blocksByFunction = new Map<string, CoverageRange[]>();
  private scope: readonly string[] = [];

  constructor() {
    this.session.connect();
    this.post('Profiler.enable');
    this.post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
  }

  /** Which scripts count from now on: URLs containing one of these substrings. */
  setScope(scope: readonly string[]): void {
    this.scope = scope;
    this.scriptKeys.clear();
  }

  /** Features of everything run since the previous call (the counters are reset). */
  take(): number[] {
    const result = this.post('Profiler.takePreciseCoverage') as { result: ScriptCoverage[] };
    const features: number[] = [];
    for (const script of result.result) {
      const key = this.scriptKey(script.url);
      if (key === '') continue;
      for (const fn of script.functions) {
        const [whole] = fn.ranges;
        if (!whole || whole.count === 0) continue;
        const known = this.knownRanges(`${key}:${whole.startOffset}:${whole.endOffset}`, fn.ranges);
        for (const range of known) {
          const count = effectiveCount(range, fn.ranges);
          if (count > 0)
            features.push(
              this.blockId(`${key}:${range.startOffset}:${range.endOffset}`) * 16 + bucket(count),
            );
        }
      }
    }
    return features;
  }

  /** Every block ever reported for this function (V8 omits a block whose count equals its parent's). */
  private knownRanges(fnKey: string, reported: readonly CoverageRange[]): CoverageRange[] {
    let known = this.blocksByFunction.get(fnKey);
    if (!known) {
      known = [];
      this.blocksByFunction.set(fnKey, known);
    }
    for (const range of reported) {
      if (!known.some((k) => k.startOffset === range.startOffset && k.endOffset === range.endOffset)) {
        known.push({ startOffset: range.startOffset, endOffset: range.endOffset, count: 0 });
      }
    }
    return known;
  }

  /** Distinct blocks (without counts) that any input has reached. */
  get blocksSeen(): number {
    return this.blockIds.size;
  }

  disconnect(): void {
    this.session.disconnect();
  }

  private scriptKey(url: string): string {
    let key = this.scriptKeys.get(url);
    if (key === undefined) {
      key = this.scope.some((s) => url.includes(s)) ? url : '';
      this.scriptKeys.set(url, key);
    }
    return key;
  }

  private blockId(block: string): number {
    let id = this.blockIds.get(block);
    if (id === undefined) {
      id = this.blockIds.size;
      this.blockIds.set(block, id);
    }
    return id;
  }

  /** An in-process session answers synchronously: the callback has run when `post` returns. */
  private post(method: string, params?: object): unknown {
    const outcome: { answer?: unknown; failure?: Error } = {};
    this.session.post(method, params, (error, result) => {
      if (error) outcome.failure = error;
      outcome.answer = result;
    });
    if (outcome.failure) throw outcome.failure;
    return outcome.answer;
  }
}
