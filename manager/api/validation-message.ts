// Turns a schema validation failure into a sentence naming the field as the user wrote it and
// why it was refused: `invalid Spec.Availability: must be one of active, pause, drain`, not
// ajv's `body/Availability must be equal to one of the allowed values`. A schema's
// `description` says what a value must be, and replaces the generic reason when present.
import type { FastifySchemaValidationError } from 'fastify';
import { apiError } from '../../shared/errors.js';
import type { ApiError } from '../../shared/errors.js';

/** The request part a validation error is about (fastify's validationContext). */
type RequestPart = 'body' | 'headers' | 'params' | 'querystring';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** How messages name the request body's root: "Spec" for endpoints whose body is a spec. */
    bodyName?: string;
  }
}

/** What ajv reports with `verbose: true`, which the API's validator is built with. */
interface VerboseError extends FastifySchemaValidationError {
  parentSchema?: { description?: unknown };
  data?: unknown;
}

function decodePointer(pointer: string): string[] {
  return pointer === '' ? [] : pointer.slice(1).split('/').map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** `Spec` + ["Labels", "zone"] → `Spec.Labels.zone`; array indexes as `[0]`. */
function joinPath(root: string, parts: readonly string[]): string {
  let path = root;
  for (const part of parts) {
    if (/^[0-9]+$/.test(part)) path += `[${part}]`;
    else path += path === '' ? part : `.${part}`;
  }
  return path;
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function reasonFor(error: VerboseError): string {
  const description = error.parentSchema?.description;
  if (typeof description === 'string') return `must be ${description}`;
  const p = error.params;
  switch (error.keyword) {
    case 'type':
      return `must be ${String(p.type).split(',').map(article).join(' or ')}`;
    case 'enum':
      return `must be one of ${(p.allowedValues as unknown[]).map((v) => (v === '' ? '""' : String(v))).join(', ')}`;
    case 'minimum':
      return `must be at least ${String(p.limit)}`;
    case 'maximum':
      return `must be at most ${String(p.limit)}`;
    case 'minItems':
      return `must have at least ${String(p.limit)} item${p.limit === 1 ? '' : 's'}`;
    case 'minLength':
      return p.limit === 1 ? 'must not be empty' : `must be at least ${String(p.limit)} characters long`;
    case 'maxLength':
      return `must be at most ${String(p.limit)} characters long`;
    default:
      return error.message ?? `failed the "${error.keyword}" check`;
  }
}

/** The catalogued 400 for the first validation error of a request part. */
export function validationError(
  errors: readonly FastifySchemaValidationError[],
  part: RequestPart | undefined,
  bodyName = '',
): ApiError {
  const error = errors[0] as VerboseError | undefined;
  if (!error) return apiError('BAD_REQUEST', { reason: 'the request failed validation' });
  const parts = decodePointer(error.instancePath);
  if (part === 'body' && parts.length === 0 && error.keyword === 'type' && (error.data === undefined || error.data === null)) {
    return apiError('MISSING_BODY', { expected: bodyName === '' ? 'a JSON object' : `the ${bodyName}` });
  }
  const label = part === 'querystring' ? 'query parameter ' : part === 'params' ? 'path parameter ' : part === 'headers' ? 'header ' : '';
  const root = part === 'body' ? bodyName : '';
  if (error.keyword === 'required') {
    return apiError('MISSING_FIELD', { field: label + joinPath(root, [...parts, String(error.params.missingProperty)]) });
  }
  const field = label + joinPath(root, parts);
  return apiError('INVALID_FIELD', { field: field.trim() === '' ? 'request body' : field, reason: reasonFor(error) });
}
