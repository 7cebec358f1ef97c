// A linearizability checker in the style of Porcupine: the Wing & Gong search with Lowe's
// improvements. The history becomes a time-ordered doubly linked list of call and return
// entries. A depth-first search picks an op whose call comes before the first remaining return,
// applies it to the model, and "lifts" (unlinks) its two entries; when no op can go next it
// backtracks and "unlifts" them again. Visited (linearized-set bitset, model state) nodes are
// memoized, so the same sub-problem is never explored twice.
//
// Real-time order: op A precedes op B only if A.return < B.call. When A.return === B.call the
// two are treated as concurrent (calls sort before returns at equal times), which can only
// make the checker more permissive, never report a false violation.
//
// Pending operations (the client crashed or the ack was lost) are passed with
// `return: Infinity`. Such an op may have taken effect at any moment after its call, or never:
// the search may linearize it anywhere after its call, and succeeds once every *completed* op
// is linearized, whatever pending ops are left. The caller passes an output meaning "unknown"
// (e.g. `undefined`), which the model's `step` must accept in any state; the op's effect on
// the state is whatever `step` says.
//
// Reductions beyond Porcupine. Each is sound because any valid linearization can be rewritten
// into one the search still tries; without them, high concurrency or many pending writes on
// one key make the search exponential.
//  - Reads first: a completed op that may go next and that the model declares read-only is the
//    only candidate tried. Moving it to the front of a valid order keeps the order valid:
//    nothing left must precede it in real time, and it changes no state, wherever it goes.
//    (Leaving the current state unchanged is not enough: a put of the value already there
//    changes the state if placed elsewhere.)
//  - Needed pending ops only: a pending op is linearized only if the op right after it depends
//    on it, i.e. is not ok without it, and neither absorbs it (same state with or without it;
//    then drop it) nor commutes with it (then move it later; two commuting pending ops go in
//    index order). Pending ops can always be dropped or moved later, so some valid order (if
//    any) meets this everywhere.
//  - Covering: a node is skipped if a recorded node has the same completed ops and state and
//    a subset of its pending ops. Children are recorded before any is explored, so every
//    recorded node does get explored.
// Ordering heuristics (blocker first, completed before pending) only change the speed.

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
  /**
   * Applies `input` to `state`; `ok` is false if the model could not have produced `output`.
   * Must be deterministic and must not mutate `state`.
   */
  step(state: S, input: I, output: O): { ok: boolean; state: S };
  equal(a: S, b: S): boolean;
  /** Equal states must hash equally; used to bucket the memo cache. */
  hash(state: S): string;
  /** Optional: split the history into independent sub-histories (e.g. one per key), checked separately. */
  partition?(history: Operation<I, O>[]): Operation<I, O>[][];
  describe?(op: Operation<I, O>): string;
  /**
   * Optional: true if `step` with this input never changes the state (a read). Lets the
   * search take such an op as soon as it fits instead of trying alternatives. Must only say
   * true when that holds in every state, or real linearizations may be missed.
   */
  readOnly?(input: I): boolean;
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
  const label = (i: number) => (partitions.length > 1 ? `partition ${i + 1} of ${partitions.length}` : 'history');
  // With a time limit, each partition first gets a fair share of what is left, so one hard
  // partition cannot hide a violation in another; the undecided ones then share the rest.
  const undecided: number[] = [];
  for (let i = 0; i < partitions.length; i++) {
    const share = deadline === Infinity ? Infinity : Date.now() + (deadline - Date.now()) / (partitions.length - i);
    const result = checkPartition(model, partitions[i], share, label(i));
    if (result.ok === false) return result;
    if (result.ok === 'unknown') undecided.push(i);
  }
  let timedOut: UnknownResult | undefined;
  for (const i of undecided) {
    const result = checkPartition(model, partitions[i], deadline, label(i));
    if (result.ok === false) return result;
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
    return new Bitset(new Uint32Array(Math.max(1, Math.ceil(bits / 32))));
  }
  set(i: number): void {
    this.words[i >>> 5] |= 1 << (i & 31);
  }
  clear(i: number): void {
    this.words[i >>> 5] &= ~(1 << (i & 31));
  }
}

/**
 * Copies of bitsets, packed end to end in one growable Uint32Array: the cache keeps a copy
 * per node, and one allocation per copy would dominate the run time.
 */
class BitsetPool {
  words = new Uint32Array(1024);
  private used = 0;
  constructor(private readonly width: number) {}

  /** Stores a copy and returns its offset. */
  add(bits: Bitset): number {
    if (this.used + this.width > this.words.length) {
      const grown = new Uint32Array(this.words.length * 2 + this.width);
      grown.set(this.words.subarray(0, this.used));
      this.words = grown;
    }
    this.words.set(bits.words, this.used);
    this.used += this.width;
    return this.used - this.width;
  }
}

/**
 * Set on a node reached by linearizing a pending op (see "needed pending ops" at the top):
 * the op linearized next must depend on it.
 */
interface PendingJunction<S> {
  opIndex: number;
  stateBefore: S;
}

interface CacheEntry<S> {
  /** Offset of the linearized set in the pool. */
  linearized: number;
  state: S;
  junction: PendingJunction<S> | null;
}

/**
 * Nodes already explored or queued for exploration. A node is covered by a recorded one with
 * the same completed ops, an equal state, a *subset* of its pending ops and no stricter
 * junction: whatever the new node can still do, the recorded one can too, since a pending op
 * never has to be linearized. Bucket key: XOR of per-op Zobrist keys over the *completed* ops
 * only, plus the state hash.
 */
class MemoCache<S> {
  private readonly buckets = new Map<string, CacheEntry<S>[]>();
  private readonly pool: BitsetPool;
  constructor(
    private readonly model: Model<S, any, any>,
    /** Bit i set iff op i is completed (not pending). */
    private readonly completedMask: Bitset,
  ) {
    this.pool = new BitsetPool(completedMask.words.length);
  }

  /** Records the node and returns true, or returns false if a recorded node covers it. */
  enter(linearized: Bitset, completedHash: number, state: S, junction: PendingJunction<S> | null): boolean {
    const key = `${completedHash}:${this.model.hash(state)}`;
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = [];
      this.buckets.set(key, bucket);
    }
    for (const seen of bucket) {
      if (
        this.coversOps(seen.linearized, linearized) &&
        this.model.equal(seen.state, state) &&
        this.coversJunction(seen.junction, junction)
      ) {
        return false;
      }
    }
    bucket.push({ linearized: this.pool.add(linearized), state, junction });
    return true;
  }

  /** seen ⊆ current, and the two agree on completed ops. */
  private coversOps(seenOffset: number, current: Bitset): boolean {
    const seen = this.pool.words;
    const now = current.words;
    const completed = this.completedMask.words;
    for (let w = 0; w < now.length; w++) {
      const was = seen[seenOffset + w];
      if ((was & ~now[w]) !== 0) return false;
      if ((now[w] & ~was & completed[w]) !== 0) return false;
    }
    return true;
  }

  private coversJunction(seen: PendingJunction<S> | null, current: PendingJunction<S> | null): boolean {
    if (seen === null) return true;
    return current !== null && seen.opIndex === current.opIndex && this.model.equal(seen.stateBefore, current.stateBefore);
  }
}

// ---------------------------------------------------------------------------------------------
// Search

const DEADLINE_CHECK_EVERY = 32;

/** An op that may be linearized next from some node, and the node it leads to. */
interface Candidate<S> {
  call: Entry;
  state: S;
  junction: PendingJunction<S> | null;
}

/** A node on the current search path. */
interface Frame<S> {
  /** The call lifted to reach this node; null at the root. */
  lifted: Entry | null;
  state: S;
  junction: PendingJunction<S> | null;
  /** Completed ops are tried first; pending ones only once those are exhausted. */
  phase: 'completed' | 'pending';
  candidates: Candidate<S>[];
  nextCandidate: number;
}

function checkPartition<S, I, O>(
  model: Model<S, I, O>,
  history: Operation<I, O>[],
  deadline: number,
  label: string,
): CheckResult | UnknownResult {
  const search = new PartitionSearch(model, history, deadline);
  const pendingCount = history.filter((op) => op.return === Infinity).length;
  // Pending ops the search may linearize multiply its work, and histories seldom need many of
  // them (only those some later op observed). So first come cheap rounds that may linearize
  // at most 0, 1, 4, 16, ... pending ops and give up after a bounded number of steps. Any
  // linearization they find is valid; only the final, unrestricted round can prove a violation.
  const roundSteps = 5 * history.length + 1000;
  let longest = 0;
  for (let budget = 0; budget < pendingCount; budget = Math.max(1, budget * 4)) {
    const outcome = search.run(budget, roundSteps);
    longest = Math.max(longest, search.longestPrefix.length);
    if (outcome === 'linearizable') return { ok: true };
    if (outcome === 'timeout') break;
  }
  const outcome = search.run(pendingCount, Infinity);
  if (outcome === 'linearizable') return { ok: true };
  if (outcome === 'not linearizable') return violation(model, history, search.longestPrefix, label);
  longest = Math.max(longest, search.longestPrefix.length);
  return { ok: 'unknown', reason: `${label}: timed out after linearizing at most ${longest} of ${history.length} operations` };
}

/** The search over one partition. `run` may be called repeatedly, with growing budgets. */
class PartitionSearch<S, I, O> {
  private readonly isPending: boolean[];
  private readonly completedMask: Bitset;
  private readonly head: Entry;
  private readonly linearized: Bitset;
  private completedHash = 0;
  private completedLeft = 0;
  private pendingLinearized = 0;
  private pendingBudget = 0;
  private cache!: MemoCache<S>;
  /** Op indexes of the longest path seen in the last run. */
  longestPrefix: number[] = [];

  constructor(
    private readonly model: Model<S, I, O>,
    private readonly history: Operation<I, O>[],
    private readonly deadline: number,
  ) {
    this.isPending = history.map((op) => op.return === Infinity);
    this.completedMask = Bitset.ofSize(history.length);
    this.isPending.forEach((pending, i) => pending || this.completedMask.set(i));
    this.head = buildEntryList(history);
    this.linearized = Bitset.ofSize(history.length);
  }

  /** Searches for a linearization that linearizes at most `pendingBudget` pending ops. */
  run(pendingBudget: number, maxSteps: number): 'linearizable' | 'not linearizable' | 'gave up' | 'timeout' {
    // Earlier runs left the entry list and bitset as they found them; reset the rest.
    this.completedLeft = this.isPending.filter((pending) => !pending).length;
    this.pendingLinearized = 0;
    this.pendingBudget = pendingBudget;
    this.cache = new MemoCache(this.model, this.completedMask);
    this.longestPrefix = [];
    if (this.completedLeft === 0) return 'linearizable';

    const initialState = this.model.init();
    this.cache.enter(this.linearized, this.completedHash, initialState, null);
    const path: Frame<S>[] = [this.frameFor(null, initialState, null)];
    for (let steps = 0; ; steps++) {
      if (steps % DEADLINE_CHECK_EVERY === 0 && Date.now() >= this.deadline) return this.giveUp(path, 'timeout');
      if (steps >= maxSteps) return this.giveUp(path, 'gave up');
      const frame = path[path.length - 1];
      const candidate = frame.candidates[frame.nextCandidate++];
      if (candidate !== undefined) {
        const i = candidate.call.opIndex;
        lift(candidate.call);
        this.linearized.set(i);
        if (this.isPending[i]) {
          this.pendingLinearized++;
        } else {
          this.completedHash ^= mix32(i);
          if (--this.completedLeft === 0) return 'linearizable';
        }
        path.push(this.frameFor(candidate.call, candidate.state, candidate.junction));
        if (path.length - 1 > this.longestPrefix.length) this.longestPrefix = path.slice(1).map((f) => f.lifted!.opIndex);
      } else if (frame.phase === 'completed') {
        frame.phase = 'pending';
        frame.candidates = this.expand(frame.state, frame.junction, true);
        frame.nextCandidate = 0;
      } else {
        // Every way forward from this node fails: undo the lift that led here.
        path.pop();
        if (frame.lifted === null) return 'not linearizable';
        const i = frame.lifted.opIndex;
        unlift(frame.lifted);
        this.linearized.clear(i);
        if (this.isPending[i]) {
          this.pendingLinearized--;
        } else {
          this.completedHash ^= mix32(i);
          this.completedLeft++;
        }
      }
    }
  }

  /** Unlifts everything on the path, so that a later run starts from the full entry list. */
  private giveUp<T>(path: Frame<S>[], outcome: T): T {
    for (let frame = path.pop(); frame?.lifted; frame = path.pop()) {
      unlift(frame.lifted);
      this.linearized.clear(frame.lifted.opIndex);
      if (!this.isPending[frame.lifted.opIndex]) this.completedHash ^= mix32(frame.lifted.opIndex);
    }
    return outcome;
  }

  private frameFor(lifted: Entry | null, state: S, junction: PendingJunction<S> | null): Frame<S> {
    return { lifted, state, junction, phase: 'completed', candidates: this.expand(state, junction, false), nextCandidate: 0 };
  }

  /**
   * The ops that may be linearized next are the calls before the first remaining return:
   * that return's op must be linearized before anything called after it. Of those, the ones
   * of this phase's kind that the model and the reductions allow become candidates. They are
   * registered in the cache before any is explored, so a node deep in one candidate's subtree
   * is recognised as covered by a sibling still waiting its turn.
   */
  private expand(state: S, junction: PendingJunction<S> | null, pendingPhase: boolean): Candidate<S>[] {
    if (pendingPhase && this.pendingLinearized >= this.pendingBudget) return [];
    const { model, history } = this;
    let candidates: Candidate<S>[] = [];
    let entry = this.head.next;
    for (; entry !== null && entry.isCall; entry = entry.next) {
      const i = entry.opIndex;
      if (this.isPending[i] !== pendingPhase) continue;
      const op = history[i];
      const result = model.step(state, op.input, op.output);
      if (!result.ok) continue;
      if (junction !== null && !this.mayFollowPending(junction, i, result.state)) continue;
      const childJunction = pendingPhase ? { opIndex: i, stateBefore: state } : null;
      if (childJunction !== null && !this.hasFollower(childJunction, result.state)) continue;
      if (!pendingPhase && model.readOnly?.(op.input) && model.equal(result.state, state)) {
        candidates = [{ call: entry, state: result.state, junction: childJunction }]; // reads first
        entry = null;
        break;
      }
      candidates.push({ call: entry, state: result.state, junction: childJunction });
    }
    if (entry !== null && candidates.length > 1) {
      // The blocker, whose return comes first, must be linearized soonest. Try it first, then
      // the candidates after which it can go, then the rest, each group in call order (the
      // sort is stable).
      const blocker = entry.opIndex;
      const { input, output } = history[blocker];
      const rank = (c: Candidate<S>) => (c.call.opIndex === blocker ? 0 : model.step(c.state, input, output).ok ? 1 : 2);
      candidates = candidates
        .map((c) => ({ c, rank: rank(c) }))
        .sort((a, b) => a.rank - b.rank)
        .map(({ c }) => c);
    }
    // Registered only now, so candidates dropped by "reads first" never enter the cache:
    // everything in the cache must get explored.
    return candidates.filter((c) => {
      const i = c.call.opIndex;
      this.linearized.set(i);
      const hash = pendingPhase ? this.completedHash : this.completedHash ^ mix32(i);
      const fresh = this.cache.enter(this.linearized, hash, c.state, c.junction);
      this.linearized.clear(i);
      return fresh;
    });
  }

  /**
   * Whether op `next` (giving `stateAfter`) may come right after the junction's pending op:
   * only if it depends on it. If it does not need it and absorbs it, the pending op could be
   * dropped; if they commute, the pending op could move later. Two commuting pending ops are
   * allowed in index order only, so that one of their two orders stays available.
   */
  private mayFollowPending(junction: PendingJunction<S>, next: number, stateAfter: S): boolean {
    const { model, history } = this;
    const op = history[next];
    const without = model.step(junction.stateBefore, op.input, op.output);
    if (!without.ok) return true;
    if (model.equal(without.state, stateAfter)) return false;
    const pending = history[junction.opIndex];
    const swapped = model.step(without.state, pending.input, pending.output);
    const commutes = swapped.ok && model.equal(swapped.state, stateAfter);
    return !commutes || (this.isPending[next] && next > junction.opIndex);
  }

  /** Whether any op may go right after the junction's pending op (which is not yet lifted). */
  private hasFollower(junction: PendingJunction<S>, stateAfterPending: S): boolean {
    const budgetLeftAfter = this.pendingBudget - this.pendingLinearized - 1;
    for (let entry = this.head.next; entry !== null && entry.isCall; entry = entry.next) {
      const i = entry.opIndex;
      if (i === junction.opIndex || (this.isPending[i] && budgetLeftAfter <= 0)) continue;
      const op = this.history[i];
      const result = this.model.step(stateAfterPending, op.input, op.output);
      if (result.ok && this.mayFollowPending(junction, i, result.state)) return true;
    }
    return false;
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
