// Stored objects are deep-frozen once, when apply writes them, and then shared by every reader,
// event and snapshot. Freezing costs one walk per write; copying on read would cost one walk
// per read, and reads (scheduler passes, API lists, watchers) far outnumber writes. A caller that
// tries to mutate a stored object gets a TypeError (ES modules are strict mode) instead of
// silently corrupting the store; to change an object, thaw() it, edit the copy, tx.update() it.

/** A stored object as readers see it: readonly all the way down. */
export type Frozen<T> = T extends (infer E)[]
  ? ReadonlyArray<Frozen<E>>
  : T extends object
    ? { readonly [P in keyof T]: Frozen<T[P]> }
    : T;

/** Freezes a JSON-shaped value (plain objects, arrays, primitives) in place and returns it. */
export function deepFreeze<T>(value: T): Frozen<T> {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value as Frozen<T>;
}

/** The editable form of a Frozen type: what thaw() returns. */
export type Thawed<T> = T extends ReadonlyArray<infer E>
  ? Thawed<E>[]
  : T extends object
    ? { -readonly [P in keyof T]: Thawed<T[P]> }
    : T;

/** A private, mutable deep copy of a stored object, for editing before tx.update(). */
export function thaw<T>(value: T): Thawed<T> {
  return structuredClone(value) as Thawed<T>;
}
