/**
 * The `ccs` command line against `npm start`'s stack, each command its own process as a user runs
 * it (test/support/ccs-cli.ts): `ccs enable … && ccs status` in a real shell, the reads, and one
 * case per exit code (0 success, 1 operation failed, 2 invalid input, 3 auth, 4 unreachable).
 * Called from operator-tools.test.ts, which owns the stack.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { StackProcess } from '../support/stack-process.js';
import { CCS_BIN, ccs, runProcess } from '../support/ccs-cli.js';

export function describeCli(stackOf: () => StackProcess): void {
  // Each case starts several `ccs` processes (Node with tsx, a few seconds each on a loaded
  // machine): CI saw one of four take over 30 s.
  describe('ccs, the command line', { timeout: 120_000 }, () => {
    const dir = () => stackOf().dir;
    const info = () => stackOf().info;
    const secrets = () => `${info().share.password}\n${info().share.privateKeyPassword}\n`;

    it('ccs enable … && ccs status: enables every host with plain progress lines, then shows it converged', async () => {
      // Start from CCS not enabled. By HTTP with `?force=true`: once the API refuses to disable
      // while sites use CCS (issue 13; the demo sites do) it needs force, and until then it ignores it.
      const off = await stackOf().request(
        'DELETE',
        `/webserver/centralized-certificates/${info().ccsId}?force=true`,
        { headers: { Prefer: 'wait=30' } },
      );
      expect(off.status).toBe(204);
      const node = JSON.stringify(process.execPath);
      const bin = JSON.stringify(CCS_BIN);
      const line =
        `${node} ${bin} enable "$CCS_ID" --path "$SHARE" --username "$SHARE_USER" --password-stdin --private-key-password-stdin` +
        ` && ${node} ${bin} status "$CCS_ID"`;
      const run = await runProcess('sh', ['-c', line], {
        env: {
          CCS_LOCAL_DIR: dir(),
          CCS_ID: info().ccsId,
          SHARE: info().share.path,
          SHARE_USER: info().share.username,
        },
        stdin: secrets(),
      });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain(`${info().ccsId}: enable applied on ${info().hosts.length} host(s)`);
      expect(run.stdout).toMatch(new RegExp(`^${info().ccsId}: converged, generation \\d+$`, 'm'));
      expect(run.stdout).toContain(`${info().hosts.length}/${info().hosts.length} applied`);
      // Not a terminal: one plain line per change of the counts, ending with every host applied.
      expect(run.stderr).toMatch(/^Running preflight: preflighted 0\/2/m);
      expect(run.stderr.trim().split('\n').pop()).toBe(
        'Succeeded done: preflighted 2/2, applied 2/2, failed 0',
      );
      expect(run.stdout + run.stderr).not.toContain(info().share.password);
    });

    it('ccs hosts, ccs certs --expiring 30 and ccs operation --watch read the fleet', async () => {
      const hosts = await ccs(dir(), ['hosts', info().ccsId]);
      expect(hosts.code, hosts.stderr).toBe(0);
      for (const host of info().hosts)
        expect(hosts.stdout).toMatch(new RegExp(`^${host}\\s+applied\\s`, 'm'));

      const certs = await ccs(dir(), ['--json', 'certs', '--expiring', '30']);
      expect(certs.code, certs.stderr).toBe(0);
      const list = JSON.parse(certs.stdout) as {
        certificates: { alias: string; problems?: { code: string }[] }[];
      };
      expect(list.certificates.map((c) => c.alias)).toEqual(['expired.contoso.com.pfx']);
      expect(list.certificates[0]?.problems?.map((p) => p.code)).toContain('expired');

      const audit = await ccs(dir(), ['--json', 'audit', '--top', '1']);
      expect(audit.code, audit.stderr).toBe(0);
      const [last] = (JSON.parse(audit.stdout) as { entries: { operation: { id: string; kind: string } }[] })
        .entries;
      expect(last?.operation.kind).toBe('enable');
      const op = await ccs(dir(), ['operation', last!.operation.id, '--watch']);
      expect(op.code, op.stderr).toBe(0);
      expect(op.stdout).toContain(`enable of ${info().ccsId}, Succeeded`);
    });

    it('exit 1 when the hosts refuse the change, naming the field and each host', async () => {
      const run = await ccs(dir(), ['update', info().ccsId, '--password-stdin'], {
        stdin: 'not-the-password\n',
      });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('identity: Cannot access certificate store');
      // The change ends at the first host that refuses it (docs/operations.md): a host whose
      // refusal is folded after that is closed as `skipped` and not named. Every host named is
      // named with the field; at least the first refusal is.
      const named = info().hosts.filter((host) => run.stderr.includes(`  ${host}: identity:`));
      expect(named.length).toBeGreaterThan(0);
      const hostLines = run.stderr.split('\n').filter((line) => /^ {2}\S+: /.test(line));
      for (const line of hostLines)
        expect(line).toMatch(/^ {2}\S+: identity: Cannot access certificate store/);
    });

    it('exit 2 for invalid input: a bad option, a secret on the command line, a field the API refuses', async () => {
      const days = await ccs(dir(), ['certs', '--expiring', 'soon']);
      expect([days.code, days.stderr]).toEqual([
        2,
        'ccs: --expiring: a whole number of days, e.g. --expiring 30\n',
      ]);
      const onArgv = await ccs(dir(), ['update', info().ccsId, '--password', 'x']);
      expect(onArgv.code).toBe(2);
      expect(onArgv.stderr).toContain("unknown option '--password'");
      const noPassword = await ccs(dir(), [
        'enable',
        'farm-2',
        '--path',
        info().share.path,
        '--username',
        'u',
      ]);
      expect(noPassword.code).toBe(2);
      expect(noPassword.stderr).toContain('identity.password: give it on stdin with --password-stdin');
      const outside = await ccs(dir(), ['update', info().ccsId, '--path', '\\\\elsewhere\\ccs']);
      expect(outside.code).toBe(2);
      expect(outside.stderr).toMatch(/^ccs: 403 path: /);
    });

    it('exit 3 for a read-only token writing, a token the API refuses, or no credentials; exit 4 when the API is unreachable', async () => {
      const readOnly = await ccs(dir(), ['disable', info().ccsId, '--yes'], {
        env: { CCS_TOKEN: info().readOnlyToken },
      });
      expect(readOnly.code).toBe(3);
      expect(readOnly.stderr).toContain('403 role:');
      const wrong = await ccs(dir(), ['status'], { env: { CCS_TOKEN: 'not-a-token' } });
      expect(wrong.code).toBe(3);
      // No token and no local stack for this API: it asks the API how to sign in; this one takes tokens only.
      const none = await ccs(join(dir(), 'elsewhere'), ['--api', info().api, 'status']);
      expect(none.code).toBe(3);
      expect(none.stderr).toBe(
        'ccs: No credentials: set CCS_TOKEN to an access token\n  This API accepts access tokens only.\n',
      );
      const down = await ccs(dir(), ['--api', 'http://127.0.0.1:1/api', 'status']);
      expect(down.code).toBe(4);
      expect(down.stderr).toContain('cannot be reached');
    });
  });
}
