/**
 * The coverage endpoint (`GET …/{ccs-id}/coverage`, issue 13) is being built while the console is;
 * until it is in the OpenAPI document and the typed client is regenerated, this reads its answer
 * by the shape issue 13 describes — per bound host name: the file IIS would serve it from, its
 * status and problems, the hosts that bind it; names without a usable file; unused files — and
 * tolerates the field names it may end up with. Replace with the generated types once it lands.
 */

export interface CoverageRow {
  name: string;
  file: string | null;
  status: string;
  problems: string[];
  hosts: string[];
}

export interface Coverage {
  rows: CoverageRow[];
  unusedFiles: string[];
  summary: Record<string, number> | null;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (o: Json, keys: string[]): string | null => {
  for (const key of keys) if (typeof o[key] === 'string') return o[key];
  return null;
};
const NAME_KEYS = ['host_name', 'hostname', 'name', 'host'];

function namesOf(list: unknown, keys: string[]): string[] {
  if (!Array.isArray(list)) return [];
  return list
    .map((item) => (typeof item === 'string' ? item : isObject(item) ? text(item, keys) : null))
    .filter((v): v is string => v !== null);
}

function rowOf(o: Json): CoverageRow | null {
  const name = text(o, NAME_KEYS);
  if (name === null) return null;
  const certificate = isObject(o.certificate) ? o.certificate : {};
  const file =
    text(o, ['file', 'alias', 'file_name']) ??
    (isObject(o.file) ? text(o.file, ['name', 'alias']) : null) ??
    text(certificate, ['alias', 'file']);
  const problems = namesOf(o.problems ?? certificate.problems, ['code']);
  const hosts = [...new Set(namesOf(o.hosts ?? o.bound_by ?? o.bindings, ['host', 'name', 'host_name']))];
  const status = text(o, ['status', 'coverage']) ?? (file ? 'covered' : 'uncovered');
  return { name, file, status, problems, hosts };
}

/** The coverage answer as rows, or null when it has none of the expected shape (shown raw then). */
export function readCoverage(body: unknown): Coverage | null {
  if (!isObject(body)) return null;
  const rows: CoverageRow[] = [];
  let unusedFiles: string[] = [];
  for (const [key, value] of Object.entries(body)) {
    if (!Array.isArray(value)) continue;
    if (/unused|unbound|orphan/i.test(key)) {
      unusedFiles = namesOf(value, ['alias', 'file', 'name']);
      continue;
    }
    for (const item of value) {
      const row = isObject(item) ? rowOf(item) : null;
      if (row && !rows.some((r) => r.name === row.name)) {
        rows.push(/uncovered/i.test(key) && !(item as Json).status ? { ...row, status: 'uncovered' } : row);
      }
    }
  }
  const summary = isObject(body.summary)
    ? Object.fromEntries(
        Object.entries(body.summary).filter((e): e is [string, number] => typeof e[1] === 'number'),
      )
    : null;
  return rows.length > 0 || unusedFiles.length > 0 || summary ? { rows, unusedFiles, summary } : null;
}
