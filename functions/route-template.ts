/**
 * How the Functions host matches a request path against the route templates of the route
 * table (functions/route-table.ts), reproduced for the local host and the tests.
 */

/**
 * host.json's `extensions.http.routePrefix`: the Functions host puts it in front of every
 * template (WebJobsRouteBuilder.BuildRouteTemplate, azure-webjobs-sdk-extensions), so the API
 * is under `/api`. A unit test keeps host.json and this constant equal.
 */
export const ROUTE_PREFIX = 'api';

/*
 * Route templates the way the Functions host matches them: it gives each function an ASP.NET
 * Core `Route` over `<routePrefix>/<template>` (azure-functions-host,
 * WebScriptHostHttpRoutesManager; aspnetcore src/Http/Routing). Literal segments compare
 * case-insensitively; `{name}` takes one non-empty segment; `{name?}` may be missing (or empty)
 * at the end; a constraint such as `{name:maxlength(0)?}` must hold when the value is there
 * (OptionalRouteConstraint); and ONE trailing slash is ignored (PathTokenizer: "routing ignores
 * a trailing slash"), so `/api/webserver/` is `/api/webserver` but `/api/webserver//` is not.
 * Only the syntax below is supported, and defineHttp refuses any other, so the local host
 * cannot route a template differently from Azure.
 */
type Segment =
  | { literal: string }
  | { name: string; optional: boolean; constraints: ((value: string) => boolean)[]; catchAll?: true };

/** The inline constraints we support (aspnetcore Constraints/MaxLengthRouteConstraint.cs, …). */
const CONSTRAINTS: Record<string, (n: number) => (value: string) => boolean> = {
  maxlength: (n) => (value) => value.length <= n,
  minlength: (n) => (value) => value.length >= n,
};

function parseSegment(text: string, template: string): Segment {
  if (!text.includes('{') && !text.includes('}')) return { literal: text };
  // `{*rest}`: a catch-all, last only — it takes the rest of the path, slashes included, and may
  // be empty (ASP.NET Core route templates, "catch-all parameters").
  const catchAll = /^\{\*(\w+)\}$/.exec(text);
  if (catchAll) return { name: catchAll[1]!, optional: true, constraints: [], catchAll: true };
  const match = /^\{(\w+)((?::\w+\(\d+\))*)(\??)\}$/.exec(text);
  if (!match) throw new Error(`route template ${template}: unsupported segment ${text}`);
  const constraints = [...(match[2] ?? '').matchAll(/:(\w+)\((\d+)\)/g)].map(([, kind, n]) => {
    const make = CONSTRAINTS[kind!.toLowerCase()];
    if (!make) throw new Error(`route template ${template}: unsupported constraint ${kind}`);
    return make(Number(n));
  });
  return { name: match[1]!, optional: match[3] === '?', constraints };
}

const parsed = new Map<string, Segment[]>();

/** The template's segments; throws on syntax the local host does not route as Azure does. */
export function parseTemplate(template: string): Segment[] {
  let segments = parsed.get(template);
  if (segments) return segments;
  segments = template === '' ? [] : template.split('/').map((text) => parseSegment(text, template));
  const firstOptional = segments.findIndex((s) => 'name' in s && s.optional);
  if (firstOptional >= 0 && segments.slice(firstOptional).some((s) => !('name' in s) || !s.optional)) {
    throw new Error(`route template ${template}: an optional parameter must be at the end`);
  }
  if (segments.slice(0, -1).some((s) => 'catchAll' in s)) {
    throw new Error(`route template ${template}: a catch-all parameter must be the last segment`);
  }
  parsed.set(template, segments);
  return segments;
}

/**
 * The path a request addresses relative to the route prefix, as the host sees it: `/api` and
 * `/api/` are the API root (''), one trailing slash is dropped; null outside the prefix.
 */
export function routePath(pathname: string): string | null {
  const trimmed = pathname.length > 1 && pathname.endsWith('/') ? pathname.slice(0, -1) : pathname;
  const prefix = `/${ROUTE_PREFIX}`;
  if (trimmed.toLowerCase() === prefix) return '';
  if (!trimmed.toLowerCase().startsWith(`${prefix}/`)) return null;
  // `/api//` keeps an empty segment once one slash is dropped: not the root, as `/api/x//` is not `x`.
  return trimmed.slice(prefix.length + 1) || '/';
}

/** The URL path a template documents: `/api/…` without optional segments or constraints. */
export function documentedPath(template: string): string {
  const parts = parseTemplate(template).flatMap((s) =>
    'literal' in s ? [s.literal] : s.optional ? [] : [`{${s.name}}`],
  );
  return `/${[ROUTE_PREFIX, ...parts].join('/')}`;
}

/** Match a Functions route template (`a/{x}/b`) against a path relative to `/api/` (routePath). */
export function matchRoute(template: string, path: string): Record<string, string> | null {
  const want = parseTemplate(template);
  const last = want[want.length - 1];
  if (last && 'catchAll' in last) {
    const head = want.length - 1;
    const segments = path === '' ? [] : path.split('/');
    const params = matchRoute(parseTemplatePrefix(template, head), segments.slice(0, head).join('/'));
    if (params === null || segments.length < head) return null;
    try {
      return { ...params, [last.name]: decodeURIComponent(segments.slice(head).join('/')) };
    } catch {
      return null;
    }
  }
  const got = path === '' ? [] : path.split('/');
  if (got.length > want.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i];
    if ('literal' in w) {
      if (g === undefined || w.literal.toLowerCase() !== g.toLowerCase()) return null;
      continue;
    }
    if (g === undefined || g === '') {
      if (w.optional) continue;
      return null;
    }
    let value: string;
    try {
      value = decodeURIComponent(g);
    } catch {
      return null;
    }
    if (!w.constraints.every((holds) => holds(value))) return null;
    params[w.name] = value;
  }
  return params;
}

/** The template of the first `count` segments (the part before a catch-all). */
function parseTemplatePrefix(template: string, count: number): string {
  return template.split('/').slice(0, count).join('/');
}
