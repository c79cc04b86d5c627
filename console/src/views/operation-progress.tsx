/**
 * A change's two phases, live: every host preflights (phase one), then — only if none failed —
 * every host applies (phase two). Followed by reading the operation until it ends (Retry-After
 * paced); the outcome is the one a caller that sent `Prefer: wait` would get, with each host's
 * error. Progress is announced politely to screen readers.
 */
import { useEffect, useState } from 'preact/hooks';
import { adviceFor } from '../../../client/errors.js';
import { followOperation, operationFailure, progressOf, type Operation } from '../../../client/operations.js';
import type { CcsClient } from '../../../client/index.js';
import { ErrorMessage } from './error-message.js';
import { StatusBadge } from './status.js';

const PHASE: Record<Operation['phase'], string> = {
  staging: 'the publisher writes a re-encrypted copy of the share',
  preflight: 'phase one: every host checks the change',
  committing: 'committing the change',
  apply: 'phase two: every host applies it',
  waves: 'phase two: the hosts apply it wave by wave',
  halted: 'halted: the rollout waits for an operator (resume or roll back)',
  rollback: 'rolling back the hosts already changed',
  reencrypting: "the publisher re-encrypts the share's own files",
  done: 'done',
};

export function OperationProgress(props: { client: CcsClient; id: string; onEnd?: (op: Operation) => void }) {
  const [op, setOp] = useState<Operation | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    const abort = new AbortController();
    followOperation(props.client, props.id, setOp, { signal: abort.signal })
      .then((last) => props.onEnd?.(last))
      .catch((reason: unknown) => {
        if (!abort.signal.aborted) setError(reason);
      });
    return () => abort.abort();
  }, [props.client, props.id]);

  if (error) return <ErrorMessage error={error} />;
  if (!op) return <p aria-busy="true">Reading the operation…</p>;
  const counts = progressOf(op);
  const ended = op.status === 'Succeeded' || op.status === 'Failed' || op.status === 'Canceled';
  return (
    <div class="operation" data-testid="operation-progress" data-status={op.status}>
      <p aria-live="polite">
        <StatusBadge status={op.status} /> {op.kind} of <strong>{op.ccs_id}</strong> — {PHASE[op.phase]}
      </p>
      <div class="phases">
        <label for={`pre-${op.id}`}>
          Preflight: {counts.preflighted} of {counts.total} hosts passed
          {counts.unreachable > 0 ? `, ${counts.unreachable} unreachable` : ''}
        </label>
        <progress id={`pre-${op.id}`} max={Math.max(counts.total, 1)} value={counts.preflighted} />
        <label for={`apply-${op.id}`}>
          Apply: {counts.applied} of {counts.total} hosts applied
          {counts.failed > 0 ? `, ${counts.failed} failed` : ''}
        </label>
        <progress id={`apply-${op.id}`} max={Math.max(counts.total, 1)} value={counts.applied} />
      </div>
      {ended && <Outcome op={op} />}
      <table class="grid-table">
        <caption>Each host's preflight and apply</caption>
        <thead>
          <tr>
            <th scope="col">Host</th>
            <th scope="col">Preflight</th>
            <th scope="col">Apply</th>
            <th scope="col">Error</th>
          </tr>
        </thead>
        <tbody>
          {op.hosts.map((h) => (
            <tr key={h.name} data-host={h.name}>
              <th scope="row">{h.name}</th>
              <td>
                <StatusBadge status={h.preflight} />
              </td>
              <td>
                <StatusBadge status={h.apply} />
              </td>
              <td>{h.error ? `${h.error.name}: ${h.error.detail} (${h.error.code})` : '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Outcome(props: { op: Operation }) {
  const { op } = props;
  if (op.status === 'Succeeded') {
    const what = op.kind === 'disable' ? 'CCS is disabled on' : 'The change is applied on';
    return (
      <p class="outcome ok" role="status">
        {what} every host ({op.hosts.length}); generation {op.generation}.
      </p>
    );
  }
  const asApi = operationFailure(op);
  const committed = op.hosts.some((h) => h.apply === 'succeeded');
  const consequence = committed
    ? 'The change was committed; hosts that did not report converge when they return.'
    : 'Nothing changed: the desired state and every host stay as they were.';
  return (
    <div class="outcome bad" role="alert">
      <p>
        {op.status === 'Canceled' ? 'Canceled.' : 'Failed.'} {asApi?.message}
      </p>
      <p>{consequence}</p>
      {asApi && adviceFor(asApi) && <p class="advice">{adviceFor(asApi)}</p>}
    </div>
  );
}
