/**
 * A clock whose time can run faster than the machine's from a chosen moment on. The idle
 * benchmark runs its agents on virtual clocks (fleet.ts `virtualClock`: an hour in an hour /
 * scale); the API's time-based savings (a host row's `lastSeen` refreshed every 9 minutes, a
 * host's key kept 10, the desired generation 30 s) must then run at the same pace, or every
 * hello would look 120 times closer to the last one than it is. Only the services' clock runs
 * fast: the storage clients sign with the machine's time, as they must.
 */
import type { Clock } from '../../shared/ports.js';

export class RateClock implements Clock {
  private anchorReal = Date.now();
  private anchorVirtual = this.anchorReal;
  private rate = 1;

  now(): Date {
    return new Date(this.anchorVirtual + (Date.now() - this.anchorReal) * this.rate);
  }

  /** From now on, `rate` virtual milliseconds pass per real one (time never goes back). */
  setRate(rate: number): void {
    if (!(rate > 0)) throw new Error(`clock rate must be positive, not ${rate}`);
    this.anchorVirtual = this.now().getTime();
    this.anchorReal = Date.now();
    this.rate = rate;
  }
}
