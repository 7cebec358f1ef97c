// Deterministic random histories for testing the checker. The generator simulates clients
// using a real atomic key/value store: each op is called, later takes effect atomically (the
// output is read from the store at that instant), and later still returns. Every history it
// makes is therefore linearizable. Clients can crash mid-op, leaving the op pending
// (return Infinity, output unknown), either before or after it took effect.

import type { KvInput, KvOperation } from './kv-model.js';

/** A small seeded PRNG (xorshift32 seeded through a murmur mix). Returns floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let x = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

export interface HistoryOptions {
  seed: number;
  ops: number;
  keys: number;
  clients: number;
  kinds?: KvInput['kind'][];
  /** Chance that a client crashes during an op (half before it takes effect, half after). */
  crashProbability?: number;
}

type ClientPhase = 'idle' | 'called' | 'applied';

export function generateLinearizableHistory(options: HistoryOptions): KvOperation[] {
  const { seed, ops: total, keys, clients, kinds = ['put', 'get'], crashProbability = 0 } = options;
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];

  const store = new Map<string, string>();
  const history: KvOperation[] = [];
  const slots: { phase: ClientPhase; op?: KvOperation }[] = Array.from({ length: clients }, () => ({ phase: 'idle' }));
  const clientIds = slots.map((_, i) => i);
  let nextClientId = clients;
  let started = 0;
  let nextValue = 0;

  for (let now = 0; history.length < total; now++) {
    const candidates = slots.map((_, i) => i).filter((i) => slots[i].phase !== 'idle' || started < total);
    const slot = pick(candidates);
    const client = slots[slot];

    if (client.phase === 'idle') {
      const key = `k${Math.floor(random() * keys)}`;
      const kind = pick(kinds);
      const input: KvInput = kind === 'get' ? { kind, key } : { kind, key, value: `v${nextValue++}` };
      client.op = { clientId: clientIds[slot], input, call: now, output: undefined, return: Infinity };
      client.phase = 'called';
      started++;
      continue;
    }

    const op = client.op!;
    if (random() < crashProbability / 2) {
      // The client dies: the op stays pending forever, with or without having taken effect.
      history.push(op);
      client.phase = 'idle';
      clientIds[slot] = nextClientId++;
      continue;
    }
    if (client.phase === 'called') {
      const { input } = op;
      if (input.kind === 'get') op.output = store.has(input.key) ? { value: store.get(input.key) } : {};
      else {
        store.set(input.key, input.kind === 'put' ? input.value : (store.get(input.key) ?? '') + input.value);
        op.output = {};
      }
      client.phase = 'applied';
    } else {
      op.return = now;
      history.push(op);
      client.phase = 'idle';
    }
  }
  // Pending ops still carry their real outputs; the checker must not see them.
  return history.map((op) => (op.return === Infinity ? { ...op, output: undefined } : op));
}

/**
 * Turns one read into a stale read: finds puts p1 then p2 on a key (p1 returned before p2 was
 * called) and a get called after p2 returned, and makes the get return p1's value. Put values
 * are unique, so no linearization can explain it. Returns null if the history has no such triple.
 * `where: 'last'` corrupts the latest such read, the costliest case for the search.
 */
export function injectStaleRead(history: KvOperation[], where: 'first' | 'last' = 'first'): KvOperation[] | null {
  const completedPuts = history.filter((op) => op.input.kind === 'put' && op.return !== Infinity);
  const order = [...history.entries()].sort(([, a], [, b]) => (where === 'first' ? a.call - b.call : b.call - a.call));
  for (const [index, get] of order) {
    if (get.input.kind !== 'get' || get.return === Infinity) continue;
    const key = get.input.key;
    const putsBefore = (before: number) => completedPuts.filter((p) => p.input.key === key && p.return < before);
    for (const overwrite of putsBefore(get.call)) {
      const stale = putsBefore(overwrite.call)[0];
      if (stale === undefined || stale.input.kind !== 'put') continue;
      const copy = history.slice();
      copy[index] = { ...get, output: { value: stale.input.value } };
      return copy;
    }
  }
  return null;
}
