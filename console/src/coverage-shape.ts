/**
 * The coverage answer (`GET …/{ccs-id}/coverage`, issue 13) as the console shows it. That route is
 * built on another branch (api13) at the same time as the console, so it is not in this tree's
 * OpenAPI document nor in the generated client yet: `CoverageBody` below copies the part of its
 * schema the console reads (api13: functions/openapi/coverage-schemas.ts, `Coverage`). Once the
 * route is merged and `npm run client` regenerated client/schema.ts, use `Schemas['Coverage']`
 * instead. Until then, an answer of another shape is shown raw rather than misread.
 */

/** One bound host name: the file IIS serves it from (`<host>.pfx`, else `_.<parent>.pfx`) and who binds it. */
export interface CoverageName {
  host_name: string;
  status: 'covered' | 'uncovered';
  reason: string | null;
  certificate: { alias: string; problems: { code: string }[] } | null;
  expiring: boolean;
  bound_by: { host: string; site: string }[];
  bound_by_total: number;
}

export interface CoverageBody {
  summary: { covered: number; uncovered: number; expiring: number };
  names: CoverageName[];
  unused: { alias: string }[];
}

export interface CoverageRow {
  name: string;
  file: string | null;
  status: 'covered' | 'uncovered';
  problems: string[];
  /** The hosts that bind the name (of the first 50 bindings the API lists). */
  hosts: string[];
}

export interface Coverage {
  rows: CoverageRow[];
  unusedFiles: string[];
  summary: CoverageBody['summary'];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

function isCoverageBody(body: unknown): body is CoverageBody {
  return (
    isObject(body) &&
    isObject(body.summary) &&
    typeof body.summary.covered === 'number' &&
    Array.isArray(body.names) &&
    body.names.every((n) => isObject(n) && typeof n.host_name === 'string' && Array.isArray(n.bound_by)) &&
    Array.isArray(body.unused)
  );
}

/** The coverage answer as rows (uncovered names first), or null when it is not of that shape. */
export function readCoverage(body: unknown): Coverage | null {
  if (!isCoverageBody(body)) return null;
  const rows = body.names.map((n) => ({
    name: n.host_name,
    file: n.certificate?.alias ?? null,
    status: n.status,
    problems: [
      ...new Set([...(n.certificate?.problems.map((p) => p.code) ?? []), ...(n.reason ? [n.reason] : [])]),
    ],
    hosts: [...new Set(n.bound_by.map((b) => b.host))].sort(),
  }));
  rows.sort(
    (a, b) =>
      Number(b.status === 'uncovered') - Number(a.status === 'uncovered') || a.name.localeCompare(b.name),
  );
  return { rows, unusedFiles: body.unused.map((u) => u.alias), summary: body.summary };
}
