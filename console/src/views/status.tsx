/** Status shown as text and color together (never color alone), with AA contrast. */

const LABELS: Record<string, string> = {
  converged: 'converged',
  converging: 'converging',
  degraded: 'degraded',
  applied: 'applied',
  pending: 'pending',
  failed: 'failed',
  reboot_required: 'reboot required',
  succeeded: 'passed',
  superseded: 'superseded',
  unreachable: 'unreachable',
  skipped: 'skipped',
  NotStarted: 'not started',
  Running: 'running',
  Succeeded: 'succeeded',
  Failed: 'failed',
  Canceled: 'canceled',
};

const TONE: Record<string, 'ok' | 'busy' | 'bad' | 'warn' | 'none'> = {
  converged: 'ok',
  applied: 'ok',
  succeeded: 'ok',
  Succeeded: 'ok',
  converging: 'busy',
  pending: 'busy',
  Running: 'busy',
  NotStarted: 'busy',
  degraded: 'bad',
  failed: 'bad',
  Failed: 'bad',
  unreachable: 'warn',
  reboot_required: 'warn',
  Canceled: 'none',
  superseded: 'none',
  skipped: 'none',
};

export function StatusBadge(props: { status: string }) {
  return (
    <span class={`badge tone-${TONE[props.status] ?? 'none'}`}>{LABELS[props.status] ?? props.status}</span>
  );
}
