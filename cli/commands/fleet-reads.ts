/** `ccs hosts <ccs-id>` and `ccs certs [ccs-id] [--expiring N]`: the fleet's hosts and certificates. */
import { apiError } from '../../client/errors.js';
import type { CommandContext } from '../context.js';
import { CliError, EXIT } from '../exit-codes.js';
import { show, table } from '../output.js';

export async function hostsCommand(ctx: CommandContext, ccsId: string): Promise<number> {
  const { client } = await ctx.connect();
  const { data, error, response } = await client.GET(
    '/api/webserver/centralized-certificates/{ccsId}/hosts',
    {
      params: { path: { ccsId } },
    },
  );
  if (!response.ok || !data) throw apiError(response, error);
  show(ctx.output, data, () => {
    table(
      ctx.output,
      ['HOST', 'STATUS', 'APPLIED/DESIRED', 'LAST SEEN', 'AGENT', 'REBOOT', 'LAST DRIFT', 'LAST ERROR'],
      data.hosts.map((h) => [
        h.name,
        h.status,
        `${h.applied_generation}/${h.desired_generation}`,
        h.last_seen,
        h.agent.version,
        h.actual?.reboot_required ? 'yes' : 'no',
        h.last_drift,
        h.last_error ? `${h.last_error.name}: ${h.last_error.detail}` : null,
      ]),
    );
  });
  return EXIT.ok;
}

export async function certsCommand(
  ctx: CommandContext,
  ccsId: string | undefined,
  options: { expiring?: string },
): Promise<number> {
  let expiring: number | undefined;
  if (options.expiring !== undefined) {
    expiring = Number(options.expiring);
    if (!/^\d{1,5}$/.test(options.expiring)) {
      throw new CliError('--expiring: a whole number of days, e.g. --expiring 30', EXIT.invalidInput);
    }
  }
  const { client } = await ctx.connect();
  const stores = await client.GET('/api/certificates/stores');
  if (!stores.response.ok || !stores.data) throw apiError(stores.response, stores.error);
  const ccsIdOf = new Map(stores.data.stores.map((s) => [s.id, s.ccs_id]));
  let storeId: string | undefined;
  if (ccsId !== undefined) {
    storeId = stores.data.stores.find((s) => s.ccs_id === ccsId)?.id;
    if (!storeId)
      throw new CliError(`${ccsId}: no certificate store (CCS is not enabled for it)`, EXIT.invalidInput);
  }
  const { data, error, response } = await client.GET('/api/certificates', {
    params: {
      query: {
        fields: '*',
        ...(storeId ? { 'store.id': storeId } : {}),
        ...(expiring !== undefined ? { expiring_within: expiring } : {}),
      },
    },
  });
  if (!response.ok || !data) throw apiError(response, error);
  show(ctx.output, data, () => {
    const certificates = [...data.certificates].sort(
      (a, b) => (a.expires_in_days ?? Infinity) - (b.expires_in_days ?? Infinity),
    );
    table(
      ctx.output,
      ['CCS-ID', 'FILE', 'SUBJECT', 'VALID TO', 'DAYS LEFT', 'PROBLEMS'],
      certificates.map((c) => [
        c.store ? (ccsIdOf.get(c.store.id) ?? c.store.id) : null,
        c.alias,
        c.subject,
        c.valid_to?.slice(0, 10),
        c.expires_in_days,
        (c.problems ?? []).map((p) => p.code).join(',') || null,
      ]),
    );
  });
  return EXIT.ok;
}
