/**
 * `GET /api/audit`: the audit log (shared/services/audit-log.ts), newest first, for write-role
 * callers only — it shows who changed what. `?ccs_id=` narrows it to one ccs-id, `?top=` (1–500,
 * default 100) bounds it. Each entry carries its operation's current status (one query:
 * shared/services/audit-log.ts).
 */
import { invalid } from '../../shared/errors.js';
import { isCcsId } from '../../shared/names.js';
import { defineHttp } from '../route-table.js';
import { guarded } from './guard.js';
import { json } from './respond.js';
import { auditView } from './views.js';

export const MAX_AUDIT_TOP = 500;

function parseTop(raw: string | null): number {
  if (raw === null) return 100;
  if (!/^\d{1,4}$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_AUDIT_TOP) {
    throw invalid('top', `top must be an integer from 1 to ${MAX_AUDIT_TOP}`);
  }
  return Number(raw);
}

export const getAudit = guarded('write', async ({ app, request }) => {
  const ccsId = request.query.get('ccs_id');
  if (ccsId !== null && !isCcsId(ccsId)) {
    throw invalid('ccs_id', 'ccs_id must be 1-32 lowercase letters, digits or single inner hyphens');
  }
  const top = parseTop(request.query.get('top'));
  const entries = await app.audit.list({ ...(ccsId ? { ccsId } : {}), top });
  return json(200, auditView(entries));
});

defineHttp({ name: 'getAudit', route: 'audit', methods: ['GET'], handler: getAudit });
