// A key/value register model for the linearizability checker: put, get and append on string
// keys. The state maps keys to values; a missing key reads as absent (`{}`), and append to a
// missing key starts from ''. `partition` splits the history by key, since ops on different
// keys never constrain each other, which keeps the search small.

import type { Model, Operation } from './checker.js';

export type KvInput =
  | { kind: 'put'; key: string; value: string }
  | { kind: 'get'; key: string }
  | { kind: 'append'; key: string; value: string };

/** What a get returned: `{ value: 'x' }`, or `{}` for an absent key. Ignored for put and append. */
export interface KvOutput {
  value?: string;
}

/** `undefined` output means "unknown": the op never returned (pass it with `return: Infinity`). */
export type KvOperation = Operation<KvInput, KvOutput | undefined>;

/**
 * Key -> value as a flat array sorted by key: [key0, value0, key1, value1, ...]. Immutable
 * (step copies on write). Cheaper to copy than a Map, and the search copies a state for every
 * write it tries; with `partition` each state holds a single key anyway. Read with `readValue`.
 */
export type KvState = readonly string[];

/** Index of `key` in the flat array, or of where it would be inserted. */
function keySlot(state: KvState, key: string): number {
  let slot = 0;
  while (slot < state.length && state[slot] < key) slot += 2;
  return slot;
}

export function readValue(state: KvState, key: string): string | undefined {
  const slot = keySlot(state, key);
  return state[slot] === key ? state[slot + 1] : undefined;
}

function withValue(state: KvState, key: string, value: string): KvState {
  const slot = keySlot(state, key);
  const copy = state.slice();
  if (copy[slot] === key) copy[slot + 1] = value;
  else copy.splice(slot, 0, key, value);
  return copy;
}

export const kvModel: Model<KvState, KvInput, KvOutput | undefined> = {
  init: () => [],

  step(state, input, output) {
    const current = readValue(state, input.key);
    switch (input.kind) {
      case 'get':
        return { ok: output === undefined || output.value === current, state };
      case 'put':
        return { ok: true, state: withValue(state, input.key, input.value) };
      case 'append':
        return { ok: true, state: withValue(state, input.key, (current ?? '') + input.value) };
    }
  },

  equal(a, b) {
    return a.length === b.length && a.every((item, i) => item === b[i]);
  },

  hash(state) {
    return JSON.stringify(state);
  },

  readOnly: (input) => input.kind === 'get',

  partition(history) {
    const byKey = new Map<string, KvOperation[]>();
    for (const op of history) {
      const ops = byKey.get(op.input.key);
      if (ops) ops.push(op);
      else byKey.set(op.input.key, [op]);
    }
    return [...byKey.values()];
  },

  describe(op) {
    const ret = op.return === Infinity ? 'pending' : op.return;
    const where = `client ${op.clientId} [${op.call}, ${ret}]`;
    const { input, output } = op;
    switch (input.kind) {
      case 'get': {
        const seen = output === undefined ? '?' : output.value === undefined ? '(absent)' : JSON.stringify(output.value);
        return `get(${input.key}) -> ${seen} ${where}`;
      }
      case 'put':
      case 'append':
        return `${input.kind}(${input.key}, ${JSON.stringify(input.value)}) ${where}`;
    }
  },
};
