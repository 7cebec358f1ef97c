import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { checkOperations, type Model, type Operation } from './checker.js';
import { kvModel, type KvInput, type KvOperation, type KvOutput } from './kv-model.js';
import { generateLinearizableHistory, injectStaleRead, seededRandom } from './random-history.js';

/** Builds a kv op; `output` is what a get saw (null = absent key), omitted for writes. */
function op(clientId: number, input: KvInput, call: number, ret: number, output?: string | null): KvOperation {
  let out: KvOutput | undefined;
  if (ret === Infinity) out = undefined;
  else if (input.kind !== 'get') out = {};
  else out = output === null || output === undefined ? {} : { value: output };
  return { clientId, input, call, output: out, return: ret };
}
const put = (key: string, value: string): KvInput => ({ kind: 'put', key, value });
const append = (key: string, value: string): KvInput => ({ kind: 'append', key, value });
const get = (key: string): KvInput => ({ kind: 'get', key });

function assertLinearizable(history: KvOperation[], model: Model<any, KvInput, KvOutput | undefined> = kvModel): void {
  const result = checkOperations(model, history);
  assert.deepEqual(result, { ok: true });
}

function assertViolation(history: KvOperation[]): { partialLinearization: string[]; reason: string } {
  const result = checkOperations(kvModel, history);
  assert.equal(result.ok, false, `expected a violation, got ${JSON.stringify(result)}`);
  return result as { partialLinearization: string[]; reason: string };
}

function shuffled<T>(items: T[], seed: number): T[] {
  const random = seededRandom(seed);
  const copy = items.slice();
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

describe('lincheck: simple histories', () => {
  it('accepts the empty history', () => {
    assertLinearizable([]);
  });

  it('accepts sequential histories', () => {
    assertLinearizable([
      op(0, get('x'), 0, 1, null),
      op(0, put('x', '1'), 2, 3),
      op(1, get('x'), 4, 5, '1'),
      op(1, append('x', '2'), 6, 7),
      op(0, get('x'), 8, 9, '12'),
      op(2, put('y', 'a'), 10, 11),
      op(2, get('y'), 12, 13, 'a'),
      op(2, get('x'), 14, 15, '12'),
    ]);
  });

  it('accepts concurrent histories that have a valid order', () => {
    // The read overlaps the write, so it may see either value.
    assertLinearizable([op(0, put('x', '1'), 0, 10), op(1, get('x'), 1, 2, '1'), op(2, get('x'), 3, 4, '1')]);
    assertLinearizable([op(0, put('x', '1'), 0, 10), op(1, get('x'), 1, 2, null), op(2, get('x'), 3, 4, '1')]);
    // Two overlapping writes, observed in the opposite order to their calls.
    assertLinearizable([
      op(0, put('x', '1'), 0, 5),
      op(1, put('x', '2'), 1, 10),
      op(2, get('x'), 2, 3, '2'),
      op(2, get('x'), 4, 5, '1'),
      op(3, get('x'), 11, 12, '1'),
    ]);
  });

  it('does not treat a write of the current value as a read', () => {
    // Putting "b" over "b" changes nothing here, but the put must still go after put(x, "a").
    assertLinearizable([
      op(0, put('x', 'b'), 2, 3),
      op(1, put('x', 'b'), 3, 5),
      op(2, put('x', 'a'), 5, 7),
      op(3, append('x', 'b'), 10, 14),
      op(4, get('x'), 11, 15, 'bb'),
    ]);
  });

  it('treats an op that calls exactly when another returns as concurrent with it', () => {
    assertLinearizable([op(0, put('x', '1'), 0, 5), op(1, get('x'), 5, 6, null)]);
  });

  it('does not depend on the order of the history array', () => {
    const history = [
      op(0, put('x', '1'), 0, 5),
      op(1, put('x', '2'), 1, 10),
      op(2, get('x'), 2, 3, '2'),
      op(2, get('x'), 4, 5, '1'),
    ];
    for (let seed = 1; seed <= 10; seed++) assertLinearizable(shuffled(history, seed));
  });

  it('rejects a stale read after a completed write', () => {
    const violation = assertViolation([op(0, put('x', '1'), 0, 1), op(1, get('x'), 2, 3, null)]);
    assert.deepEqual(violation.partialLinearization, ['put(x, "1") client 0 [0, 1]']);
    assert.match(violation.reason, /not linearizable/);
    assert.match(violation.reason, /get\(x\) -> \(absent\)/);
  });

  it('rejects a read of an overwritten value', () => {
    assertViolation([op(0, put('x', '1'), 0, 1), op(0, put('x', '2'), 2, 3), op(1, get('x'), 4, 5, '1')]);
  });

  it('rejects reads that disagree on the order of two writes', () => {
    assertViolation([
      op(0, put('x', '1'), 0, 10),
      op(1, put('x', '2'), 0, 10),
      op(2, get('x'), 1, 2, '1'),
      op(2, get('x'), 3, 4, '2'),
      op(3, get('x'), 5, 6, '1'),
      op(3, get('x'), 7, 8, '2'),
      op(4, get('x'), 11, 12, '1'),
    ]);
  });

  it('rejects a read of a value that was never written', () => {
    const violation = assertViolation([op(0, put('x', '1'), 0, 10), op(1, get('x'), 2, 3, '42')]);
    assert.deepEqual(violation.partialLinearization, ['put(x, "1") client 0 [0, 10]']);
    assert.match(violation.reason, /get\(x\) -> "42"/);
  });

  it('rejects a read of a value written only later', () => {
    assertViolation([op(1, get('x'), 0, 1, '1'), op(0, put('x', '1'), 2, 3)]);
  });

  it('checks appends', () => {
    assertLinearizable([op(0, append('x', 'a'), 0, 4), op(1, append('x', 'b'), 1, 3), op(2, get('x'), 5, 6, 'ba')]);
    assertViolation([op(0, append('x', 'a'), 0, 1), op(1, append('x', 'b'), 2, 3), op(2, get('x'), 4, 5, 'ba')]);
  });
});

describe('lincheck: pending operations (return Infinity)', () => {
  it('may have taken effect', () => {
    assertLinearizable([op(0, put('x', '1'), 0, Infinity), op(1, get('x'), 5, 6, '1')]);
  });

  it('may never have taken effect', () => {
    assertLinearizable([op(0, put('x', '1'), 0, Infinity), op(1, get('x'), 5, 6, null)]);
  });

  it('can take effect late, after reads that missed it', () => {
    assertLinearizable([op(0, put('x', '1'), 0, Infinity), op(1, get('x'), 5, 6, null), op(1, get('x'), 7, 8, '1')]);
  });

  it('cannot be undone once observed', () => {
    assertViolation([op(0, put('x', '1'), 0, Infinity), op(1, get('x'), 5, 6, '1'), op(1, get('x'), 7, 8, null)]);
  });

  it('cannot take effect before it was called', () => {
    assertViolation([op(1, get('x'), 0, 1, '1'), op(0, put('x', '1'), 2, Infinity)]);
  });

  it('accepts pending reads and histories of only pending ops', () => {
    assertLinearizable([op(0, get('x'), 0, Infinity), op(1, put('x', '1'), 0, Infinity)]);
    assertLinearizable([op(0, put('x', '1'), 0, 1), op(1, get('x'), 2, Infinity), op(0, get('x'), 3, 4, '1')]);
  });

  it('keeps trying other sets of pending ops that reach the same state', () => {
    // "ab" is reachable as put a + append b or as append a + append b; only the second
    // leaves put a for the last read.
    assertLinearizable([
      op(0, put('x', 'a'), 0, Infinity),
      op(1, append('x', 'b'), 0, Infinity),
      op(2, get('x'), 2, 3, 'ab'),
      op(3, append('x', 'a'), 3, Infinity),
      op(4, get('x'), 5, 9, 'a'),
    ]);
  });

  it('can leave many unobserved pending writes out without blowing up', () => {
    // 30 concurrent pending writes, none observed, and a violation after them: the search
    // has to show that no subset of them helps.
    const history: KvOperation[] = [];
    for (let i = 0; i < 30; i++) history.push(op(100 + i, put('x', `p${i}`), i, Infinity));
    history.push(op(0, put('x', 'a'), 40, 41), op(0, put('x', 'b'), 42, 43), op(1, get('x'), 44, 45, 'a'));
    assertViolation(history);
  });
});

describe('lincheck: partitions and models', () => {
  it('checks each key separately and reports the failing one', () => {
    const violation = assertViolation([
      op(0, put('x', '1'), 0, 1),
      op(1, put('y', '1'), 0, 1),
      op(0, get('x'), 2, 3, '1'),
      op(1, get('y'), 2, 3, null),
    ]);
    assert.match(violation.reason, /partition 2 of 2/);
    assert.deepEqual(violation.partialLinearization, ['put(y, "1") client 1 [0, 1]']);
  });

  it('also works without partitioning, with all keys in one state', () => {
    const unpartitioned = { ...kvModel, partition: undefined };
    const history = [op(0, put('x', '1'), 0, 3), op(1, put('y', '2'), 1, 4), op(2, get('y'), 2, 5, '2'), op(3, get('x'), 6, 7, '1')];
    assertLinearizable(history, unpartitioned);
    const stale = [...history, op(3, get('y'), 8, 9, null)];
    assert.equal(checkOperations(unpartitioned, stale).ok, false);
  });

  it('works with other models: a fetch-and-increment counter', () => {
    const counter = counterModel;
    const inc = (clientId: number, call: number, ret: number, output?: number): Operation<null, number | undefined> => ({
      clientId,
      input: null,
      call,
      output,
      return: ret,
    });
    assert.deepEqual(checkOperations(counter, [inc(0, 0, 10, 1), inc(1, 1, 2, 0), inc(2, 3, 4, 2)]), { ok: true });
    // A crashed increment that did happen explains the gap from 0 to 2.
    assert.deepEqual(checkOperations(counter, [inc(0, 0, 1, 0), inc(1, 2, Infinity), inc(2, 3, 4, 2)]), { ok: true });
    assert.equal(checkOperations(counter, [inc(0, 0, 1, 0), inc(2, 3, 4, 2)]).ok, false);
    // Two crashed increments that commute with each other must still both be usable.
    assert.deepEqual(checkOperations(counter, [inc(0, 0, Infinity), inc(1, 0, Infinity), inc(2, 5, 6, 2)]), { ok: true });
  });

  it('rejects malformed operations', () => {
    assert.throws(() => checkOperations(kvModel, [op(0, put('x', '1'), 5, 4)]), RangeError);
    assert.throws(() => checkOperations(kvModel, [op(0, put('x', '1'), Infinity, Infinity)]), RangeError);
  });

  it('answers unknown when it runs out of time', () => {
    const history = generateLinearizableHistory({ seed: 1, ops: 200, keys: 1, clients: 5 });
    const result = checkOperations(kvModel, history, { timeoutMs: 0 });
    assert.equal(result.ok, 'unknown');
    assert.match((result as { reason: string }).reason, /timed out/);
  });
});

/**
 * Reference checker: tries every order of every subset of pending ops, remembering only which
 * (placed ops, state) pairs already failed. Exponential; small histories only.
 */
function bruteForceLinearizable<S, I, O>(model: Model<S, I, O>, history: Operation<I, O>[]): boolean {
  const placed = history.map(() => false);
  const failed = new Set<string>();
  const mayGoNext = (i: number) => history.every((other, j) => placed[j] || j === i || !(other.return < history[i].call));
  const search = (state: S, completedLeft: number): boolean => {
    if (completedLeft === 0) return true;
    const key = `${placed.map(Number).join('')}|${model.hash(state)}`;
    if (failed.has(key)) return false;
    for (let i = 0; i < history.length; i++) {
      if (placed[i] || !mayGoNext(i)) continue;
      const result = model.step(state, history[i].input, history[i].output);
      if (!result.ok) continue;
      placed[i] = true;
      const found = search(result.state, completedLeft - (history[i].return === Infinity ? 0 : 1));
      placed[i] = false;
      if (found) return true;
    }
    failed.add(key);
    return false;
  };
  return search(model.init(), history.filter((op) => op.return !== Infinity).length);
}

/** Random intervals with small integer times (so ties are common), random outputs, many pending. */
function randomSmallHistory<I, O>(
  random: () => number,
  size: number,
  makeOp: (random: () => number, pending: boolean) => { input: I; output: O },
): Operation<I, O>[] {
  return Array.from({ length: size }, (_, clientId) => {
    const call = Math.floor(random() * 12);
    const pending = random() < 0.3;
    const ret = pending ? Infinity : call + Math.floor(random() * 6);
    return { clientId, call, return: ret, ...makeOp(random, pending) };
  });
}

const pickFrom = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)];

/** Few keys and values, so that equal states, blind overwrites and duplicate writes are common. */
function randomKvOp(random: () => number, pending: boolean): { input: KvInput; output: KvOutput | undefined } {
  const key = pickFrom(random, ['x', 'x', 'y']);
  const kind = pickFrom(random, ['put', 'put', 'append', 'get', 'get'] as const);
  if (kind !== 'get') return { input: { kind, key, value: pickFrom(random, ['a', 'b']) }, output: pending ? undefined : {} };
  const seen = pickFrom(random, [undefined, 'a', 'b', 'ab', 'ba', 'aa', 'bb']);
  return { input: { kind, key }, output: pending ? undefined : seen === undefined ? {} : { value: seen } };
}

/** Fetch-and-increment: the output is the value before the increment. Every pair of increments commutes. */
const counterModel: Model<number, null, number | undefined> = {
  init: () => 0,
  step: (n, _input, seen) => ({ ok: seen === undefined || seen === n, state: n + 1 }),
  equal: (a, b) => a === b,
  hash: (n) => String(n),
};

describe('lincheck: agrees with a brute-force checker on small random histories', () => {
  it('for the key/value model, partitioned or not', () => {
    const unpartitioned = { ...kvModel, partition: undefined };
    const verdicts = { linearizable: 0, violation: 0 };
    for (let seed = 1; seed <= 10_000; seed++) {
      const history = randomSmallHistory(seededRandom(seed), 1 + (seed % 12), randomKvOp);
      const expected = bruteForceLinearizable(unpartitioned, history);
      verdicts[expected ? 'linearizable' : 'violation']++;
      assert.equal(checkOperations(kvModel, history).ok, expected, `seed ${seed}, partitioned`);
      assert.equal(checkOperations(unpartitioned, history).ok, expected, `seed ${seed}, unpartitioned`);
    }
    assert.ok(verdicts.linearizable > 2000 && verdicts.violation > 2000, JSON.stringify(verdicts));
  });

  it('for a counter, whose pending increments commute', () => {
    const verdicts = { linearizable: 0, violation: 0 };
    for (let seed = 1; seed <= 3000; seed++) {
      const history = randomSmallHistory(seededRandom(seed), 1 + (seed % 8), (random, pending) => ({
        input: null,
        output: pending ? undefined : Math.floor(random() * 4),
      }));
      const expected = bruteForceLinearizable(counterModel, history);
      verdicts[expected ? 'linearizable' : 'violation']++;
      assert.equal(checkOperations(counterModel, history).ok, expected, `seed ${seed}`);
    }
    assert.ok(verdicts.linearizable > 300 && verdicts.violation > 300, JSON.stringify(verdicts));
  });
});

describe('lincheck: randomized histories from a simulated atomic store', () => {
  it('accepts every history of a real atomic store', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const history = generateLinearizableHistory({
        seed,
        ops: 80,
        keys: 1 + (seed % 3),
        clients: 2 + (seed % 5),
        kinds: ['put', 'get', 'append'],
        crashProbability: 0.05,
      });
      const result = checkOperations(kvModel, shuffled(history, seed));
      assert.deepEqual(result, { ok: true }, `seed ${seed}`);
    }
  });

  it('accepts them without partitioning too', () => {
    const unpartitioned = { ...kvModel, partition: undefined };
    for (let seed = 1; seed <= 50; seed++) {
      const history = generateLinearizableHistory({ seed, ops: 40, keys: 2, clients: 3, crashProbability: 0.05 });
      assert.deepEqual(checkOperations(unpartitioned, history), { ok: true }, `seed ${seed}`);
    }
  });

  it('rejects every such history once one read is made stale', () => {
    let checked = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const history = generateLinearizableHistory({
        seed,
        ops: 80,
        keys: 1 + (seed % 3),
        clients: 2 + (seed % 5),
        crashProbability: 0.05,
      });
      const stale = injectStaleRead(history, seed % 2 === 0 ? 'first' : 'last');
      if (stale === null) continue;
      checked++;
      const result = checkOperations(kvModel, stale);
      assert.equal(result.ok, false, `seed ${seed}: ${JSON.stringify(result)}`);
    }
    assert.ok(checked >= 250, `only ${checked} seeds had a read to corrupt`);
  });
});

describe('lincheck: performance', () => {
  const options = { ops: 2000, keys: 5, clients: 8, crashProbability: 0.02 };

  it('checks a 2,000-op history over 5 keys', () => {
    const started = Date.now();
    const history = generateLinearizableHistory({ seed: 42, ...options, kinds: ['put', 'get', 'append'] });
    assert.deepEqual(checkOperations(kvModel, history, { timeoutMs: 10_000 }), { ok: true });
    assert.ok(Date.now() - started < 10_000);
  });

  it('finds a late stale read in a 2,000-op history over 5 keys', () => {
    const history = generateLinearizableHistory({ seed: 7, ...options });
    const stale = injectStaleRead(history, 'last');
    assert.ok(stale);
    assert.equal(checkOperations(kvModel, stale, { timeoutMs: 10_000 }).ok, false);
  });
});
