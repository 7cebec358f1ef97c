// The `filters=` query parameter of list endpoints: JSON `map[key]map[value]bool`
// (`{"role":{"manager":true}}`), or the legacy `{"role":["manager"]}`. Values of one key are
// ORed and different keys ANDed by the callers; a key the endpoint does not know is dockerd's
// 400 `Invalid filter 'bogus'`.
import { apiError } from '../../shared/errors.js';

/** Each filter key the request used, with its values. */
export type Filters = ReadonlyMap<string, readonly string[]>;

function valuesOf(key: string, raw: unknown): string[] {
  if (Array.isArray(raw)) {
    if (raw.every((v) => typeof v === 'string')) return raw;
  } else if (typeof raw === 'object' && raw !== null) {
    const entries = Object.entries(raw);
    // dockerd lists a value whatever its boolean says; only the shape is checked.
    if (entries.every(([, flag]) => typeof flag === 'boolean')) return entries.map(([value]) => value);
  }
  throw apiError('MALFORMED_FILTERS', { reason: `the values of "${key}" must be an object of booleans or an array of strings` });
}

/** Parses `filters=`; throws the catalogued 400 for bad JSON or a key outside `accepted`. */
export function parseFilters(raw: string | undefined, accepted: readonly string[]): Filters {
  const filters = new Map<string, string[]>();
  if (raw === undefined || raw === '') return filters;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    throw apiError('MALFORMED_FILTERS', { reason: error instanceof Error ? error.message : String(error) });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw apiError('MALFORMED_FILTERS', { reason: 'the filters must be a JSON object' });
  }
  for (const [key, values] of Object.entries(parsed)) {
    if (!accepted.includes(key)) throw apiError('INVALID_FILTER', { key });
    filters.set(key, valuesOf(key, values));
  }
  return filters;
}

/**
 * Label filters: `k` requires the key, `k=v` the key with that value. Every one must hold, as
 * in swarmkit (a label filter narrows; it is not an alternative).
 */
export function matchesLabelFilters(labels: Readonly<Record<string, string>> | undefined, wanted: readonly string[]): boolean {
  return wanted.every((filter) => {
    const eq = filter.indexOf('=');
    const key = eq === -1 ? filter : filter.slice(0, eq);
    if (labels === undefined || !Object.hasOwn(labels, key)) return false;
    return eq === -1 || labels[key] === filter.slice(eq + 1);
  });
}
