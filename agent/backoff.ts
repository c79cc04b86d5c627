/**
 * Adaptive polling: right after activity the next poll is immediate (drain what is queued),
 * then the wait starts at the minimum and doubles on every empty poll up to the maximum — or,
 * when the activity completed a change and nothing more is expected, goes straight back to the
 * maximum. An idle fleet of hundreds of hosts then costs a few transactions a minute each,
 * while a change reaches a recently active host within about a second.
 */
export class Backoff {
  private nextDelayMs: number;

  constructor(
    private readonly minMs: number,
    private readonly maxMs: number,
  ) {
    this.nextDelayMs = minMs;
  }

  /** A message was handled: poll again at once, and restart the idle sequence at the minimum. */
  afterActivity(): number {
    this.nextDelayMs = this.minMs;
    return 0;
  }

  /** A change was completed here and nothing else is expected: poll once at once, then idle. */
  afterCompletion(): number {
    this.nextDelayMs = this.maxMs;
    return 0;
  }

  /** An empty (or failed) poll: wait the current delay, double it for next time. */
  afterIdle(): number {
    const delay = this.nextDelayMs;
    this.nextDelayMs = Math.min(this.nextDelayMs * 2, this.maxMs);
    return delay;
  }
}
