/**
 * `ccs status [ccs-id]`: the fleet (every ccs-id from client/fleet.ts with its status), or one
 * ccs-id's desired state and hosts summary. `--json` prints the API's resource bodies.
 */
import { apiError } from '../../client/errors.js';
import { listFleet } from '../../client/fleet.js';
import type { CcsClient, Schemas } from '../../client/index.js';
import type { CommandContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { line, printJson, table } from '../output.js';

type Resource = Schemas['CentralizedCertificates'];

async function resourceOf(
  client: CcsClient,
  ccsId: string,
): Promise<{ resource: Resource | null; body: unknown }> {
  const { data, error, response } = await client.GET('/api/webserver/centralized-certificates/{ccsId}', {
    params: { path: { ccsId } },
  });
  if (response.ok && data) return { resource: data, body: data };
  // The IIS Administration 404: CCS is not enabled for this id (a state, not a failure).
  if (response.status === 404 && response.headers.get('x-ms-error-code') === 'CcsNotEnabled')
    return { resource: null, body: error };
  throw apiError(response, error);
}

export async function statusCommand(ctx: CommandContext, ccsId: string | undefined): Promise<number> {
  const { client } = await ctx.connect();
  const { output } = ctx;
  if (ccsId === undefined) {
    const fleet = await listFleet(client);
    const rows = await Promise.all(
      fleet.map(async (e) => ({ entry: e, ...(await resourceOf(client, e.id)) })),
    );
    if (output.json) {
      printJson(
        output,
        rows.map((r) => r.body),
      );
      return EXIT.ok;
    }
    table(
      output,
      ['CCS-ID', 'STATUS', 'GENERATION', 'HOSTS APPLIED', 'SHARE'],
      rows.map(({ entry, resource }) => [
        entry.id,
        resource?.status ?? 'not enabled',
        resource?.generation,
        resource ? `${resource.hosts.applied}/${resource.hosts.total}` : null,
        resource?.path,
      ]),
    );
    return EXIT.ok;
  }
  const { resource, body } = await resourceOf(client, ccsId);
  if (output.json) {
    printJson(output, body);
    return EXIT.ok;
  }
  if (!resource) {
    line(
      output,
      `${ccsId}: not enabled (IIS feature not installed). Enable it: ccs enable ${ccsId} --path … --username … --password-stdin`,
    );
    return EXIT.ok;
  }
  const h = resource.hosts;
  line(output, `${resource.id}: ${resource.status}, generation ${resource.generation}`);
  line(output, `  share     ${resource.path ?? '-'}`);
  line(output, `  identity  ${resource.identity.username ?? '-'}`);
  line(
    output,
    `  hosts     ${h.applied}/${h.total} applied, ${h.pending} pending, ${h.failed} failed, ${h.reboot_required} reboot required`,
  );
  return EXIT.ok;
}
