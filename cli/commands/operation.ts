/** `ccs operation <id> [--watch]` and `ccs audit`: what a change did, and who changed what. */
import { apiError } from '../../client/errors.js';
import { followOperation, readOperation } from '../../client/operations.js';
import type { CommandContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { line, printJson, show, table } from '../output.js';
import { progressView } from '../progress.js';

export async function operationCommand(
  ctx: CommandContext,
  id: string,
  options: { watch?: boolean },
): Promise<number> {
  const { client } = await ctx.connect();
  let op = await readOperation(client, id);
  if (options.watch) {
    const view = progressView(ctx.output.err, ctx.output.json);
    try {
      op = await followOperation(client, id, (next) => view.update(next));
    } finally {
      view.stop();
    }
  }
  if (ctx.output.json) printJson(ctx.output, op);
  else {
    line(
      ctx.output,
      `${op.id}: ${op.kind} of ${op.ccs_id}, ${op.status} (${op.phase}), generation ${op.generation}`,
    );
    line(
      ctx.output,
      `  requested by ${op.requested_by} at ${op.created}; changed ${op.changed_fields.join(', ') || 'nothing'}`,
    );
    if (op.error)
      line(
        ctx.output,
        `  error: ${op.error.target ? `${op.error.target}: ` : ''}${op.error.message} (${op.error.code})`,
      );
    table(
      ctx.output,
      ['HOST', 'PREFLIGHT', 'APPLY', 'ERROR'],
      op.hosts.map((h) => [
        h.name,
        h.preflight,
        h.apply,
        h.error ? `${h.error.name}: ${h.error.detail}` : null,
      ]),
    );
  }
  return op.status === 'Failed' || op.status === 'Canceled' ? EXIT.operationFailed : EXIT.ok;
}

export async function auditCommand(
  ctx: CommandContext,
  options: { ccsId?: string; top?: string },
): Promise<number> {
  const { client } = await ctx.connect();
  const { data, error, response } = await client.GET('/api/audit', {
    params: {
      query: {
        ...(options.ccsId ? { ccs_id: options.ccsId } : {}),
        ...(options.top ? { top: Number(options.top) } : {}),
      },
    },
  });
  if (!response.ok || !data) throw apiError(response, error);
  show(ctx.output, data, () => {
    table(
      ctx.output,
      ['AT', 'WHO', 'CCS-ID', 'KIND', 'STATUS', 'CHANGES'],
      data.entries.map((e) => [
        e.at,
        e.who,
        e.ccs_id,
        e.kind,
        e.status,
        e.changes.map((c) => `${c.field}: ${String(c.from)} → ${String(c.to)}`).join('; '),
      ]),
    );
  });
  return EXIT.ok;
}
