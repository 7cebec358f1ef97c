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

/** Immutable: step copies on write. A Map, not an object, so any string is a safe key. */
export type KvState = ReadonlyMap<string, string>;

function withValue(state: KvState, key: string, value: string): KvState {
  return new Map(state).set(key, value);
}

export const kvModel: Model<KvState, KvInput, KvOutput | undefined> = {
  init: () => new Map(),

  step(state, input, output) {
    const current = state.get(input.key);
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
    if (a.size !== b.size) return false;
    for (const [key, value] of a) if (b.get(key) !== value) return false;
    return true;
  },

  hash(state) {
    return JSON.stringify([...state].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  },

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
