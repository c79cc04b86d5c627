/**
 * An evaluator for Azure role-assignment conditions (ABAC, condition version 2.0): the local Key
 * Vault applies the conditions of its role assignments with it (rbac.ts), and the infra tests ask
 * the conditions of the compiled Bicep "may this principal do action A on the object named N?"
 * instead of matching their text. It follows the documented format
 * (learn.microsoft.com/azure/role-based-access-control/conditions-format): `ActionMatches{'…'}`,
 * `!( … )`, `AND`/`OR` (AND binds tighter), and string operators on `@Resource[<type>:name]`
 * (`StringEquals`, `StringNotEquals`, `StringStartsWith`, `StringNotStartsWith`, `StringLike`,
 * `StringNotLike`; `*` in a Like pattern is any characters). An object without a name (a list
 * of the vault) matches no name comparison, so a name-conditioned action is refused there, as an
 * attribute that is absent fails its expression in Azure. Anything else throws: a condition this
 * cannot read is an error, never an allowance.
 */

/** One request: the data action and the name of the object it acts on. */
export interface AbacRequest {
  action: string;
  name: string;
}

type Node = (request: AbacRequest) => boolean;

const TOKEN =
  /\s*(?:(\()|(\))|(!)|\b(AND|OR)\b|ActionMatches\{'([^']+)'\}|@Resource\[([^\]]+):name\]\s+(\w+)\s+'([^']*)')/y;

interface Token {
  kind: '(' | ')' | '!' | 'AND' | 'OR' | 'action' | 'compare';
  action?: string;
  operator?: string;
  value?: string;
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let rest = text.trim();
  while (rest !== '') {
    TOKEN.lastIndex = 0;
    const m = TOKEN.exec(rest);
    if (!m) throw new Error(`unreadable condition at: ${rest.slice(0, 60)}`);
    if (m[1]) tokens.push({ kind: '(' });
    else if (m[2]) tokens.push({ kind: ')' });
    else if (m[3]) tokens.push({ kind: '!' });
    else if (m[4]) tokens.push({ kind: m[4] as 'AND' | 'OR' });
    else if (m[5]) tokens.push({ kind: 'action', action: m[5] });
    else tokens.push({ kind: 'compare', operator: m[7], value: m[8] });
    rest = rest.slice(m[0].length).trim();
  }
  return tokens;
}

/** An ABAC `StringLike` pattern (`*` = any characters) as a regular expression. */
export const likePattern = (pattern: string): RegExp =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );

function compare(operator: string, value: string): Node {
  switch (operator) {
    case 'StringEquals':
      return (r) => r.name === value;
    case 'StringNotEquals':
      return (r) => r.name !== value;
    case 'StringStartsWith':
      return (r) => r.name.startsWith(value);
    case 'StringNotStartsWith':
      return (r) => !r.name.startsWith(value);
    case 'StringLike':
      return (r) => likePattern(value).test(r.name);
    case 'StringNotLike':
      return (r) => !likePattern(value).test(r.name);
    default:
      throw new Error(`unknown ABAC operator ${operator}`);
  }
}

/** Compiles a condition into a predicate over requests. */
export function parseCondition(text: string): (request: AbacRequest) => boolean {
  const tokens = tokenize(text);
  let at = 0;
  const peek = (): Token | undefined => tokens[at];
  const take = (kind: Token['kind']): Token => {
    const token = tokens[at++];
    if (token?.kind !== kind) throw new Error(`expected ${kind} in condition, got ${token?.kind ?? 'end'}`);
    return token;
  };
  const primary = (): Node => {
    const token = peek();
    if (token?.kind === '!') {
      at++;
      const inner = primary();
      return (r) => !inner(r);
    }
    if (token?.kind === '(') {
      at++;
      const inner = or();
      take(')');
      return inner;
    }
    if (token?.kind === 'action') {
      at++;
      // Action names compare case-insensitively, as in role definitions.
      return (r) => r.action.toLowerCase() === token.action!.toLowerCase();
    }
    if (token?.kind === 'compare') {
      at++;
      // An absent attribute (no name: a list) fails every comparison, negated ones included.
      const test = compare(token.operator!, token.value!);
      return (r) => r.name !== '' && test(r);
    }
    throw new Error(`unexpected ${token?.kind ?? 'end'} in condition`);
  };
  const and = (): Node => {
    let left = primary();
    while (peek()?.kind === 'AND') {
      at++;
      const [l, right] = [left, primary()];
      left = (r) => l(r) && right(r);
    }
    return left;
  };
  const or = (): Node => {
    let left = and();
    while (peek()?.kind === 'OR') {
      at++;
      const [l, right] = [left, and()];
      left = (r) => l(r) || right(r);
    }
    return left;
  };
  const root = or();
  if (at !== tokens.length) throw new Error('trailing tokens in condition');
  return root;
}
