// Query parameters as the docker CLI spells them. Booleans arrive as `force=1`,
// `rotateWorkerToken=false`, `insertDefaults=true` (catalog §1.2), so the schema accepts Go's
// strconv.ParseBool spellings and handlers read them through queryBool. Object versions are
// checked by hand because dockerd's message for a bad one is well known.
import { apiError } from '../../shared/errors.js';

const TRUE_SPELLINGS = ['1', 't', 'T', 'true', 'True', 'TRUE'] as const;
const FALSE_SPELLINGS = ['0', 'f', 'F', 'false', 'False', 'FALSE'] as const;

/** JSON schema of a boolean query parameter; an empty value (`?force=`) means false. */
export const BOOLEAN_QUERY_SCHEMA = {
  type: 'string',
  enum: [...TRUE_SPELLINGS, ...FALSE_SPELLINGS, ''],
  description: 'a boolean (1, true, True, 0, false or False)',
} as const;

/** JSON schema of the `version=` of an update; parsed by parseObjectVersion for dockerd's message. */
export const OBJECT_VERSION_QUERY_SCHEMA = { type: 'string' } as const;

/** JSON schema of `filters=`; parsed by parseFilters. */
export const FILTERS_QUERY_SCHEMA = { type: 'string' } as const;

/** Reads a boolean the schema has already checked; absent means false. */
export function queryBool(raw: string | undefined): boolean {
  return raw !== undefined && (TRUE_SPELLINGS as readonly string[]).includes(raw);
}

/**
 * The `version=` an update must carry: the Version.Index the client read. Missing or malformed
 * is dockerd's 400 (`invalid node version '': strconv.ParseUint: …`), never a silent "latest".
 */
export function parseObjectVersion(kind: string, raw: string | undefined): number {
  const text = raw ?? '';
  if (!/^[0-9]+$/.test(text)) throw apiError('INVALID_OBJECT_VERSION', { kind, raw: text, reason: 'invalid syntax' });
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw apiError('INVALID_OBJECT_VERSION', { kind, raw: text, reason: 'value out of range' });
  return value;
}
