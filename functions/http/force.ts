/** `?force=true` on POST, PATCH and DELETE of the resource (issue 13): make a change that takes certificates away. */
import type { HttpRequest } from '@azure/functions';
import { invalid } from '../../shared/errors.js';

/** `force=true` / `force=false` (absent: false); anything else is 400 `force`. */
export function forceOf(request: HttpRequest): boolean {
  const raw = request.query.get('force');
  if (raw === null) return false;
  const value = raw.trim().toLowerCase();
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw invalid('force', 'force must be true or false');
}
