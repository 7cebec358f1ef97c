// A linearizability checker in the style of Porcupine: the Wing & Gong search with Lowe's
// improvements. The history becomes a time-ordered doubly linked list of call and return
// entries. A depth-first search picks an op whose call comes before the first remaining return,
// applies it to the model, and "lifts" (unlinks) its two entries; when no op can go next it
// backtracks and "unlifts" them again. Visited (linearized-set bitset, model state) pairs are
// memoized, so the same sub-problem is never explored twice.
//
// Real-time order: op A precedes op B only if A.return < B.call. When A.return === B.call the
// two are treated as concurrent (calls sort before returns at equal times), which can only
// make the checker more permissive, never report a false violation.
//
// Pending operations (the client crashed or the ack was lost) are passed with
// `return: Infinity`. Such an operation may have taken effect at any moment after its call, or
// never. The checker lets the search linearize it at any point after its call and also lets it
// stay unlinearized: the search succeeds once every *completed* operation is linearized. The
// caller passes an output that means "unknown" (e.g. `undefined`), and the model's `step` must
// accept that output for any state; the op's effect on the state is then whatever `step` says.

export interface Operation<I, O> {
  clientId: number;
  input: I;
  /** Timestamp at which the client issued the call. Must be finite. */
  call: number;
  output: O;
  /** Timestamp at which the response arrived, >= call; Infinity if it never did (pending). */
  return: number;
}

export interface Model<S, I, O> {
  init(): S;
  /** Applies `input` to `state`; `ok` is false if the model could not have produced `output`. Must not mutate `state`. */
  step(state: S, input: I, output: O): { ok: boolean; state: S };
  equal(a: S, b: S): boolean;
  /** Equal states must hash equally; used to bucket the memo cache. */
  hash(state: S): string;
  /** Optional: split the history into independent sub-histories (e.g. one per key), checked separately. */
  partition?(history: Operation<I, O>[]): Operation<I, O>[][];
  describe?(op: Operation<I, O>): string;
}

export type CheckResult = { ok: true } | { ok: false; partialLinearization: string[]; reason: string };
export type UnknownResult = { ok: 'unknown'; reason: string };

export interface CheckOptions {
  /** Give up and answer 'unknown' after this long. Default: no limit. */
  timeoutMs?: number;
}

export function checkOperations<S, I, O>(
  model: Model<S, I, O>,
  history: Operation<I, O>[],
  opts: CheckOptions = {},
): CheckResult | UnknownResult {
  history.forEach(validateOperation);
  const deadline = opts.timeoutMs === undefined ? Infinity : Date.now() + opts.timeoutMs;
  const partitions = model.partition ? model.partition(history) : [history];
  let timedOut: UnknownResult | undefined;
  for (let i = 0; i < partitions.length; i++) {
    const label = partitions.length > 1 ? `partition ${i + 1} of ${partitions.length}` : 'history';
    const result = checkPartition(model, partitions[i], deadline, label);
    if (result.ok === false) return result;
    // Keep going after a timeout: a later partition may still give a definite violation.
    if (result.ok === 'unknown') timedOut ??= result;
  }
  return timedOut ?? { ok: true };
}

function validateOperation(op: Operation<unknown, unknown>, index: number): void {
  if (!Number.isFinite(op.call)) throw new RangeError(`operation ${index}: call time must be finite, got ${op.call}`);
  if (Number.isNaN(op.return) || op.return < op.call) {
    throw new RangeError(`operation ${index}: return time ${op.return} is before call time ${op.call}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Entry list

/** One node of the doubly linked call/return list. The head sentinel has opIndex -1. */
class Entry {
  prev: Entry | null = null;
  next: Entry | null = null;
  constructor(
    readonly opIndex: number,
    readonly time: number,
    /** For a call entry, its return entry; null for return entries. */
    readonly match: Entry | null,
  ) {}
  get isCall(): boolean {
    return this.match !== null;
  }
}

function buildEntryList(history: Operation<unknown, unknown>[]): Entry {
  const entries: Entry[] = [];
  history.forEach((op, i) => {
    const ret = new Entry(i, op.return, null);
    entries.push(new Entry(i, op.call, ret), ret);
  });
  entries.sort((a, b) => {
    if (a.time !== b.time) return a.time < b.time ? -1 : 1;
    if (a.isCall !== b.isCall) return a.isCall ? -1 : 1; // calls first: equal times are concurrent
    return a.opIndex - b.opIndex;
  });
  const head = new Entry(-1, -Infinity, null);
  let last = head;
  for (const entry of entries) {
    last.next = entry;
    entry.prev = last;
    last = entry;
  }
  return head;
}

/** Unlinks a call entry and its return entry. */
function lift(call: Entry): void {
  const ret = call.match!;
  call.prev!.next = call.next;
  call.next!.prev = call.prev;
  ret.prev!.next = ret.next;
  if (ret.next) ret.next.prev = ret.prev;
}

/** Exact inverse of lift: relinks in reverse order, so the pointers the entries kept are valid again. */
function unlift(call: Entry): void {
  const ret = call.match!;
  ret.prev!.next = ret;
  if (ret.next) ret.next.prev = ret;
  call.prev!.next = call;
  call.next!.prev = call;
}

// ---------------------------------------------------------------------------------------------
// Linearized-set bitset and memo cache

/** A 32-bit mix (murmur3 finalizer); gives each op index a pseudo-random Zobrist key. */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

class Bitset {
  constructor(readonly words: Uint32Array) {}
  static ofSize(bits: number): Bitset {
    return new Bitset(new Uint32Array(Math.ceil(bits / 32)));
  }
  has(i: number): boolean {
    return (this.words[i >>> 5] & (1 << (i & 31))) !== 0;
  }
  set(i: number): void {
    this.words[i >>> 5] |= 1 << (i & 31);
  }
  clear(i: number): void {
    this.words[i >>> 5] &= ~(1 << (i & 31));
  }
  clone(): Bitset {
    return new Bitset(this.words.slice());
  }
}

interface CacheEntry<S> {
  linearized: Bitset;
  state: S;
}

/**
 * Memo of search nodes already entered or queued for exploration. Beyond Porcupine's exact
 * match, a node is also covered by a recorded one with the same completed ops, an equal state
 * and a *subset* of the pending ops: whatever the larger node can still do, the smaller can
 * too, since a pending op never has to be linearized. (So linearizing a pending op that leaves
 * the state unchanged is always pruned.) Bucket key: XOR of per-op Zobrist keys over the
 * *completed* ops only, plus the state hash.
 */
class MemoCache<S> {
  private readonly buckets = new Map<string, CacheEntry<S>[]>();
  constructor(
    private readonly model: Model<S, any, any>,
    /** Bit i set iff op i is completed (not pending). */
    private readonly completedMask: Bitset,
  ) {}

  /** Records the node and returns true, or returns false if an entered node already covers it. */
  enter(linearized: Bitset, completedHash: number, state: S): boolean {
    const key = `${completedHash}:${this.model.hash(state)}`;
    const bucket = this.buckets.get(key);
    if (bucket === undefined) {
      this.buckets.set(key, [{ linearized: linearized.clone(), state }]);
      return true;
    }
    for (const seen of bucket) {
      if (this.covers(seen.linearized, linearized) && this.model.equal(seen.state, state)) return false;
    }
    bucket.push({ linearized: linearized.clone(), state });
    return true;
  }

  /** seen ⊆ current, and the two agree on completed ops. */
  private covers(seen: Bitset, current: Bitset): boolean {
    const a = seen.words;
    const b = current.words;
    const completed = this.completedMask.words;
    for (let w = 0; w < a.length; w++) {
      if ((a[w] & ~b[w]) !== 0) return false;
      if ((b[w] & ~a[w] & completed[w]) !== 0) return false;
    }
    return true;
  }
}

// ---------------------------------------------------------------------------------------------
// Search

const DEADLINE_CHECK_EVERY = 256;

/** A call that may be linearized next from some node, and the state it leads to. */
interface Candidate<S> {
  call: Entry;
  state: S;
}

/** A node on the current search path. */
interface Frame<S> {
  /** The call lifted to reach this node; null at the root. */
  lifted: Entry | null;
  state: S;
  candidates: Candidate<S>[];
  nextCandidate: number;
}

function checkPartition<S, I, O>(
  model: Model<S, I, O>,
  history: Operation<I, O>[],
  deadline: number,
  label: string,
): CheckResult | UnknownResult {
  const n = history.length;
  const isPending = history.map((op) => op.return === Infinity);
  const completedMask = Bitset.ofSize(n);
  isPending.forEach((pending, i) => pending || completedMask.set(i));
  let completedLeft = isPending.filter((pending) => !pending).length;
  if (completedLeft === 0) return { ok: true };

  const head = buildEntryList(history);
  const linearized = Bitset.ofSize(n);
  let completedHash = 0;
  const cache = new MemoCache(model, completedMask);

  // The ops that may be linearized next are the calls before the first remaining return:
  // that return's op must be linearized before anything called after it. Each is stepped,
  // and those leading to unseen nodes are registered in the cache *before* any is explored,
  // so a node deep in one candidate's subtree is recognised as covered by a sibling still
  // waiting its turn. (Without that, n concurrent pending writes cost 2^n.)
  const expand = (state: S): Candidate<S>[] => {
    const candidates: Candidate<S>[] = [];
    for (let entry = head.next; entry !== null && entry.isCall; entry = entry.next) {
      const i = entry.opIndex;
      const op = history[i];
      const result = model.step(state, op.input, op.output);
      if (!result.ok) continue;
      linearized.set(i);
      const childHash = isPending[i] ? completedHash : completedHash ^ mix32(i);
      if (cache.enter(linearized, childHash, result.state)) candidates.push({ call: entry, state: result.state });
      linearized.clear(i);
    }
    return candidates;
  };

  const initialState = model.init();
  cache.enter(linearized, completedHash, initialState);
  const path: Frame<S>[] = [{ lifted: null, state: initialState, candidates: expand(initialState), nextCandidate: 0 }];
  let longestPrefix: number[] = [];
  let iterations = 0;

  for (;;) {
    if (iterations++ % DEADLINE_CHECK_EVERY === 0 && Date.now() >= deadline) {
      return { ok: 'unknown', reason: `${label}: timed out after linearizing at most ${longestPrefix.length} of ${n} operations` };
    }
    const frame = path[path.length - 1];
    const candidate = frame.candidates[frame.nextCandidate++];
    if (candidate !== undefined) {
      const i = candidate.call.opIndex;
      lift(candidate.call);
      linearized.set(i);
      if (!isPending[i]) {
        completedHash ^= mix32(i);
        if (--completedLeft === 0) return { ok: true };
      }
      path.push({ lifted: candidate.call, state: candidate.state, candidates: expand(candidate.state), nextCandidate: 0 });
      if (path.length - 1 > longestPrefix.length) longestPrefix = path.slice(1).map((f) => f.lifted!.opIndex);
    } else {
      // Every way forward from this node fails: undo the lift that led here.
      path.pop();
      if (frame.lifted === null) return violation(model, history, longestPrefix, label);
      const i = frame.lifted.opIndex;
      unlift(frame.lifted);
      linearized.clear(i);
      if (!isPending[i]) {
        completedHash ^= mix32(i);
        completedLeft++;
      }
    }
  }
}

function violation<S, I, O>(
  model: Model<S, I, O>,
  history: Operation<I, O>[],
  longestPrefix: number[],
  label: string,
): CheckResult {
  const describe = model.describe?.bind(model) ?? describeOperation;
  const inPrefix = new Set(longestPrefix);
  // The earliest-returning completed op left out of the longest prefix is the one that had
  // to be placed next and could not be.
  let stuck: Operation<I, O> | undefined;
  history.forEach((op, i) => {
    if (!inPrefix.has(i) && op.return !== Infinity && (stuck === undefined || op.return < stuck.return)) stuck = op;
  });
  return {
    ok: false,
    partialLinearization: longestPrefix.map((i) => describe(history[i])),
    reason:
      `${label} is not linearizable: the longest linearizable prefix has ${longestPrefix.length} of ` +
      `${history.length} operations` +
      (stuck ? `; no extension of it gets past the return of ${describe(stuck)}` : ''),
  };
}

export function describeOperation(op: Operation<unknown, unknown>): string {
  const output = op.output === undefined ? '?' : JSON.stringify(op.output);
  const ret = op.return === Infinity ? 'pending' : String(op.return);
  return `client ${op.clientId}: ${JSON.stringify(op.input)} -> ${output} [${op.call}, ${ret}]`;
}
