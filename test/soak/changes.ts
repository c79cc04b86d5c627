/**
 * The changes the soak's callers make, drawn from a seed: valid ones and ones that must fail
 * the preflight on some or all hosts, disables and re-enables, concurrent callers, and
 * `If-Match` races. A change is a list of requests sent together; the driver (driver.ts) sends
 * them and follows their operations.
 */
import type { Random } from './random.js';

/** What the soak's fleet offers to change to (made by run.ts). */
export interface SoakFixture {
  /** `\\localhost\ccs` and folders under it, each holding the demo PFX files. */
  sharePaths: readonly string[];
  /** `C:\ccs`: allowed on most hosts, refused by the allow-list of some (`deniedOn`). */
  localPath: string;
  deniedOn: readonly string[];
  /** Share accounts that may read the share, with their passwords. */
  accounts: readonly { username: string; password: string }[];
  privateKeyPassword: string;
  /** Passwords that open nothing (canaries too). */
  wrongPasswords: readonly string[];
}

export type ChangeKind =
  | 'enable'
  | 'enable-wrong-private-key-password'
  | 'path'
  | 'path-refused-on-some-hosts'
  | 'identity'
  | 'identity-wrong-password'
  | 'private-key-password'
  | 'private-key-password-wrong'
  | 'disable'
  | 'concurrent-callers'
  | 'if-match-race';

export interface PlannedRequest {
  caller: string;
  method: 'POST' | 'PATCH' | 'DELETE';
  body?: Record<string, unknown>;
  /** Send with the ETag read just before (the race: all of them carry the same one). */
  ifMatch?: boolean;
}

export interface PlannedChange {
  kind: ChangeKind;
  requests: PlannedRequest[];
}

const WHEN_ENABLED: Readonly<
  Record<Exclude<ChangeKind, 'enable' | 'enable-wrong-private-key-password'>, number>
> = {
  path: 3,
  'path-refused-on-some-hosts': 1.5,
  identity: 2,
  'identity-wrong-password': 1,
  'private-key-password': 1.5,
  'private-key-password-wrong': 1,
  disable: 0.8,
  'concurrent-callers': 1.2,
  'if-match-race': 1.2,
};

const CALLERS = ['alice', 'bob', 'carol', 'dave'];

export function planChange(random: Random, fixture: SoakFixture, enabled: boolean): PlannedChange {
  const account = () => random.pick(fixture.accounts);
  const wrong = () => random.pick(fixture.wrongPasswords);
  const caller = () => random.pick(CALLERS);
  const patch = (body: Record<string, unknown>): PlannedRequest => ({
    caller: caller(),
    method: 'PATCH',
    body,
  });
  if (!enabled) {
    const kind = random.chance(0.8) ? 'enable' : 'enable-wrong-private-key-password';
    const who = account();
    return {
      kind,
      requests: [
        {
          caller: caller(),
          method: 'POST',
          body: {
            path: random.pick(fixture.sharePaths),
            identity: who,
            private_key_password: kind === 'enable' ? fixture.privateKeyPassword : wrong(),
          },
        },
      ],
    };
  }
  const kind = random.weighted(WHEN_ENABLED);
  switch (kind) {
    case 'path':
      return { kind, requests: [patch({ path: random.pick(fixture.sharePaths) })] };
    case 'path-refused-on-some-hosts':
      return { kind, requests: [patch({ path: fixture.localPath })] };
    case 'identity':
      return { kind, requests: [patch({ identity: account() })] };
    case 'identity-wrong-password':
      return { kind, requests: [patch({ identity: { username: account().username, password: wrong() } })] };
    case 'private-key-password':
      return { kind, requests: [patch({ private_key_password: fixture.privateKeyPassword })] };
    case 'private-key-password-wrong':
      return { kind, requests: [patch({ private_key_password: wrong() })] };
    case 'disable':
      return { kind, requests: [{ caller: caller(), method: 'DELETE' }] };
    case 'concurrent-callers': {
      const n = random.int(2, 4);
      const requests = Array.from({ length: n }, () =>
        random.chance(0.7)
          ? patch({ path: random.pick(fixture.sharePaths) })
          : patch({ identity: account() }),
      );
      return { kind, requests };
    }
    case 'if-match-race': {
      const n = random.int(2, 3);
      const requests = Array.from({ length: n }, () => ({
        ...patch({ path: random.pick(fixture.sharePaths) }),
        ifMatch: true,
      }));
      return { kind, requests };
    }
  }
}
