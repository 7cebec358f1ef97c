// Name/ID/prefix resolution, written once over a source so the Store and a Transaction (which
// also sees its own pending writes) resolve references identically.
import { AmbiguousReferenceError, NotFoundError } from './errors.js';
import type { ObjectKind } from './objects.js';

export interface ReferenceSource<T> {
  byId(id: string): T | undefined;
  /** Objects whose name matches case-insensitively; empty for kinds without names (tasks). */
  byName(name: string): T[];
  byIdPrefix(prefix: string): T[];
}

/** Exact ID, then exact name, then unique ID prefix — the Engine API's order. */
export function resolveReference<T>(kind: ObjectKind, reference: string, source: ReferenceSource<T>): T {
  if (reference === '') throw new NotFoundError(kind, '""');
  const byId = source.byId(reference);
  if (byId !== undefined) return byId;
  const named = source.byName(reference);
  if (named.length === 1) return named[0];
  if (named.length > 1) throw new AmbiguousReferenceError(kind, reference, named.length);
  const prefixed = source.byIdPrefix(reference);
  if (prefixed.length === 1) return prefixed[0];
  if (prefixed.length > 1) throw new AmbiguousReferenceError(kind, reference, prefixed.length);
  throw new NotFoundError(kind, reference);
}
