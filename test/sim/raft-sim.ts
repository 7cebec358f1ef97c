// Deterministic simulation of a Raft cluster built from the pure core. One seed draws the cluster
// size, the network's behaviour (delay, loss, duplication, reordering, symmetric and one-way
// partitions), crashes and restarts (what was synced survives, a Ready still being written is
// lost), membership changes, leadership transfers, snapshots and client traffic. After every
// event the safety properties of the Raft paper (Figure 3) are checked; a violation stops the
// run with a description, and the seed replays it exactly.

import { RaftCore } from '../../manager/raft/core.js';
import { decodeConfChange, encodeConfChange } from '../../manager/raft/conf-change.js';
import { MemoryStorage } from '../../manager/raft/storage.js';
import { ConfChangeType, Entry, EntryType, Message, MessageType, Ready, Role } from '../../manager/raft/types.js';
import { EventQueue } from './event-queue.js';
import { Prng } from './prng.js';

/** Virtual milliseconds per raft tick, as in the real driver's default. */
const TICK_MS = 100;
const ELECTION_TICKS = 10;

export interface SimOptions {
  /** Virtual duration of the chaotic phase. */
  durationMs?: number;
  /** Force a cluster size instead of drawing 3, 5 or 7. */
  size?: number;
  /** Let clients read through ReadIndex and check no read is stale. */
  reads?: boolean;
  /** Print a trace of events (for replaying a failing seed). */
  trace?: boolean;
  /**
   * Plant a driver bug, to prove the checks catch it: 'send-before-persist' sends a Ready's
   * messages before its write is durable (a crash then loses acknowledged entries);
   * 'forget-vote' loses the persisted vote on every crash.
   */
  plantedBug?: 'send-before-persist' | 'forget-vote';
}

export interface SimResult {
  seed: number;
  ok: boolean;
  failure?: string;
  stats: { size: number; events: number; commits: number; elections: number; crashes: number; snapshots: number; confChanges: number; transfers: number; reads: number; virtualMs: number };
}

type SimEvent =
  | { kind: 'deliver'; message: Message }
  | { kind: 'tick'; node: number; incarnation: number }
  | { kind: 'persisted'; node: number; incarnation: number }
  | { kind: 'chaos' }
  | { kind: 'client' }
  | { kind: 'restart'; node: number }
  | { kind: 'snapshot-status'; node: number; peer: number; ok: boolean };

/** What a simulated node keeps across a crash: its storage. Everything else is rebuilt. */
interface SimNode {
  id: number;
  storage: MemoryStorage;
  core: RaftCore | null;
  incarnation: number;
  pending: Ready | null;
  /** The state machine: a hash chain over every applied (index, payload), so snapshots are tiny but exact. */
  applied: number;
  digest: number;
  lastRole: Role;
  lastTerm: number;
  /** Proposals this node accepted as leader, waiting to be applied: index -> (term, key). */
  proposals: Map<number, { term: number; key: string }>;
  reads: Map<string, { requestedAt: number; minIndex: number }>;
  readsAwaitingApply: { index: number; minIndex: number }[];
}

class InvariantViolation extends Error {}

export function runSeed(seed: number, options: SimOptions = {}): SimResult {
  const sim = new RaftSimulation(seed, options);
  try {
    sim.run();
    return { seed, ok: true, stats: sim.stats() };
  } catch (err) {
    const message = err instanceof InvariantViolation ? err.message : `crash: ${(err as Error).stack ?? err}`;
    return { seed, ok: false, failure: `seed ${seed} at t=${sim.now}ms: ${message}`, stats: sim.stats() };
  }
}

class RaftSimulation {
  now = 0;
  private readonly rng: Prng;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly nodes = new Map<number, SimNode>();
  /** Directed links that drop everything: "a>b". */
  private readonly blocked = new Set<string>();
  /** index -> the entry every state machine must apply there (term and payload key). */
  private readonly committed = new Map<number, { term: number; key: string }>();
  private readonly leaders = new Map<number, number>();
  private readonly ackedKeys = new Map<string, number>();
  private highestAckedIndex = 0;
  private nextNodeId: number;
  private clientSeq = 0;
  private readSeq = 0;
  private counters = { events: 0, commits: 0, elections: 0, crashes: 0, snapshots: 0, confChanges: 0, transfers: 0, reads: 0 };

  private readonly size: number;
  private readonly durationMs: number;
  private dropRate: number;
  private readonly dupRate: number;
  private readonly maxDelay: number;
  private readonly persistDelayMax: number;
  private readonly snapshotEvery: number;
  private readonly chaosEveryMs: number;
  private readonly clientEveryMs: number;
  private readonly membership: boolean;
  private readonly reads: boolean;
  private readonly trace: boolean;
  private readonly plantedBug: SimOptions['plantedBug'];

  constructor(readonly seed: number, options: SimOptions) {
    this.rng = new Prng(seed);
    const r = this.rng;
    this.size = options.size ?? r.pick([3, 3, 5, 5, 7]);
    this.durationMs = options.durationMs ?? 20_000;
    this.dropRate = r.pick([0, 0.01, 0.05, 0.15]);
    this.dupRate = r.pick([0, 0.02, 0.1]);
    this.maxDelay = r.pick([2, 10, 40]);
    this.persistDelayMax = r.pick([0, 2, 8, 30]);
    this.snapshotEvery = r.pick([5, 20, 100]);
    this.chaosEveryMs = r.pick([100, 300, 800, 2000]);
    this.clientEveryMs = r.pick([5, 20, 50]);
    this.membership = r.chance(0.5);
    this.reads = options.reads ?? true;
    this.trace = options.trace ?? false;
    this.plantedBug = options.plantedBug;
    this.nextNodeId = this.size + 1;

    const voters = Array.from({ length: this.size }, (_, i) => i + 1);
    for (const id of voters) this.addNode(id, voters);
  }

  stats(): SimResult['stats'] {
    return { size: this.size, ...this.counters, virtualMs: this.now };
  }

  run(): void {
    this.queue.push(this.chaosEveryMs, { kind: 'chaos' });
    this.queue.push(1, { kind: 'client' });
    this.loop(this.durationMs);
    this.healAndConverge();
  }

  private loop(until: number): void {
    for (;;) {
      const item = this.queue.pop();
      if (!item) return;
      if (item.at > until) {
        this.queue.push(item.at, item.event);
        this.now = until;
        return;
      }
      this.now = item.at;
      this.counters.events++;
      this.handle(item.event);
    }
  }

  // ------------------------------------------------------------------ nodes

  private addNode(id: number, voters: number[]): SimNode {
    const storage = new MemoryStorage();
    if (voters.length > 0) {
      // Every founding member starts from the same genesis snapshot naming the voters.
      storage.applySnapshot({ metadata: { index: 1, term: 1, confState: { voters, learners: [] } }, data: encodeDigest(0) });
    }
    const node: SimNode = {
      id, storage, core: null, incarnation: 0, pending: null, applied: 0, digest: 0,
      lastRole: Role.Follower, lastTerm: 0, proposals: new Map(), reads: new Map(), readsAwaitingApply: [],
    };
    this.nodes.set(id, node);
    this.start(node);
    return node;
  }

  private start(node: SimNode): void {
    node.incarnation++;
    const snap = node.storage.snapshot();
    node.digest = decodeDigest(snap.data);
    node.applied = snap.metadata.index;
    node.core = new RaftCore({
      id: node.id, storage: node.storage, electionTicks: ELECTION_TICKS, heartbeatTicks: 1,
      random: () => this.rng.next(), applied: node.applied,
      maxBytesPerMessage: this.rng.pick([256, 4096, 1 << 20]), maxInflightMessages: this.rng.pick([1, 4, 256]),
    });
    node.pending = null;
    node.lastRole = node.core.role;
    node.lastTerm = node.core.term;
    node.proposals.clear();
    node.reads.clear();
    node.readsAwaitingApply = [];
    this.queue.push(this.now + this.rng.int(1, TICK_MS), { kind: 'tick', node: node.id, incarnation: node.incarnation });
  }

  private crash(node: SimNode): void {
    this.log(`crash ${node.id}`);
    this.counters.crashes++;
    node.core = null;
    node.pending = null; // a Ready still being written never reached the disk
    if (this.plantedBug === 'forget-vote') {
      const { hardState } = node.storage.initialState();
      node.storage.setHardState({ ...hardState, vote: 0 });
    }
    this.queue.push(this.now + this.rng.int(10, this.rng.pick([300, 3000])), { kind: 'restart', node: node.id });
  }

  // ------------------------------------------------------------------ events

  private handle(ev: SimEvent): void {
    switch (ev.kind) {
      case 'deliver': {
        const node = this.nodes.get(ev.message.to);
        if (!node?.core) return;
        node.core.step(ev.message);
        this.afterInput(node);
        return;
      }
      case 'tick': {
        const node = this.nodes.get(ev.node);
        if (!node?.core || node.incarnation !== ev.incarnation) return;
        node.core.tick();
        this.afterInput(node);
        this.queue.push(this.now + TICK_MS, ev);
        return;
      }
      case 'persisted': {
        const node = this.nodes.get(ev.node);
        if (!node?.core || node.incarnation !== ev.incarnation || !node.pending) return;
        this.finishReady(node, node.pending);
        node.pending = null;
        this.afterInput(node);
        return;
      }
      case 'restart': {
        const node = this.nodes.get(ev.node);
        if (!node || node.core) return;
        this.log(`restart ${node.id}`);
        this.start(node);
        return;
      }
      case 'snapshot-status': {
        const node = this.nodes.get(ev.node);
        if (!node?.core) return;
        node.core.reportSnapshot(ev.peer, ev.ok);
        this.afterInput(node);
        return;
      }
      case 'chaos':
        if (this.now >= this.durationMs) return; // the heal phase has begun
        this.chaos();
        if (this.now < this.durationMs) this.queue.push(this.now + this.rng.int(1, 2 * this.chaosEveryMs), { kind: 'chaos' });
        return;
      case 'client':
        if (this.now >= this.durationMs) return; // the heal phase sends only its final write
        this.clientAction();
        this.queue.push(this.now + this.rng.int(1, 2 * this.clientEveryMs), { kind: 'client' });
        return;
    }
  }

  /** After any input: check invariants and start writing the next Ready if none is in flight. */
  private afterInput(node: SimNode): void {
    const core = node.core!;
    this.observeRole(node);
    if (node.pending || !core.hasReady()) return;
    const rd = core.ready();
    node.pending = rd;
    if (this.plantedBug === 'send-before-persist') {
      for (const m of rd.messages) this.send(m);
      rd.messages = [];
    }
    const delay = this.rng.int(0, this.persistDelayMax);
    if (delay === 0 && this.rng.chance(0.5)) {
      this.finishReady(node, rd);
      node.pending = null;
      this.afterInput(node);
    } else {
      this.queue.push(this.now + delay, { kind: 'persisted', node: node.id, incarnation: node.incarnation });
    }
  }

  /** The driver's job: persist, send, apply, advance. */
  private finishReady(node: SimNode, rd: Ready): void {
    const core = node.core!;
    node.storage.save(rd.hardState, rd.entries, rd.snapshot);
    for (const m of rd.messages) this.send(m);
    if (rd.snapshot) {
      node.digest = decodeDigest(rd.snapshot.data);
      node.applied = rd.snapshot.metadata.index;
    }
    for (const e of rd.committedEntries) this.apply(node, e);
    for (const rs of rd.readStates) this.readReady(node, rs.requestCtx, rs.index, rs.rejected === true);
    core.advance(rd);
    this.maybeSnapshot(node);
    this.serveReads(node);
  }

  private apply(node: SimNode, e: Entry): void {
    if (e.index <= node.applied) return; // covered by a snapshot this node installed
    if (e.index !== node.applied + 1) this.fail(`node ${node.id} applies ${e.index} after ${node.applied}`);
    const key = e.type === EntryType.ConfChange ? `cc:${hex(e.data)}` : new TextDecoder().decode(e.data);
    const known = this.committed.get(e.index);
    if (known) {
      // State machine safety: no two servers apply different entries at one index.
      if (known.term !== e.term || known.key !== key) {
        this.fail(`state machine safety: node ${node.id} applies (${e.term}, ${key}) at ${e.index}, another applied (${known.term}, ${known.key})`);
      }
    } else {
      this.committed.set(e.index, { term: e.term, key });
      this.counters.commits++;
    }
    node.applied = e.index;
    node.digest = chain(node.digest, e.index, key);
    if (e.type === EntryType.ConfChange) {
      const cc = decodeConfChange(e.data);
      node.core!.applyConfChange(cc);
      this.log(`node ${node.id} applies conf change ${ConfChangeType[cc.type]} ${cc.nodeId} at ${e.index}`);
      if (cc.type === ConfChangeType.AddLearner && !this.nodes.has(cc.nodeId)) this.addNode(cc.nodeId, []);
    }
    const proposal = node.proposals.get(e.index);
    if (proposal) {
      node.proposals.delete(e.index);
      if (proposal.term === e.term && proposal.key === key) {
        this.ackedKeys.set(key, e.index);
        this.highestAckedIndex = Math.max(this.highestAckedIndex, e.index);
      }
    }
  }

  private maybeSnapshot(node: SimNode): void {
    const snapIndex = node.storage.snapshot().metadata.index;
    if (node.applied - snapIndex < this.snapshotEvery) return;
    const keep = this.rng.int(0, 5);
    node.storage.createSnapshot(node.applied, node.core!.confState(), encodeDigest(node.digest), node.applied - keep);
    this.counters.snapshots++;
  }

  private send(m: Message): void {
    const lost = this.blocked.has(`${m.from}>${m.to}`) || this.rng.chance(this.dropRate);
    if (m.type === MessageType.Snapshot) {
      // The transport streams snapshots and tells the sender how it went, as grpc-transport does.
      const at = this.now + this.rng.int(1, this.maxDelay) + 1;
      this.queue.push(at, { kind: 'snapshot-status', node: m.from, peer: m.to, ok: !lost });
    }
    if (lost) return;
    const copies = this.rng.chance(this.dupRate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      // A shallow copy stands for the wire: the receiver never shares the sender's message object.
      const copy: Message = { ...m, entries: m.entries.slice() };
      this.queue.push(this.now + this.rng.int(1, this.maxDelay), { kind: 'deliver', message: copy });
    }
  }

  // ------------------------------------------------------------------ invariants

  private observeRole(node: SimNode): void {
    const core = node.core!;
    if (core.role === Role.Leader && (node.lastRole !== Role.Leader || node.lastTerm !== core.term)) {
      this.counters.elections++;
      this.log(`node ${node.id} leads term ${core.term}`);
      const other = this.leaders.get(core.term);
      // Election safety: at most one leader per term.
      if (other !== undefined && other !== node.id) {
        this.fail(`election safety: nodes ${other} and ${node.id} both lead term ${core.term}`);
      }
      this.leaders.set(core.term, node.id);
      this.checkLeaderCompleteness(node);
    }
    if (core.role !== Role.Leader && node.lastRole === Role.Leader) {
      // Proposals it had not applied may still commit under another leader; they are just not acknowledged.
      node.proposals.clear();
    }
    node.lastRole = core.role;
    node.lastTerm = core.term;
  }

  /** Leader completeness: a new leader's log holds every entry committed so far. */
  private checkLeaderCompleteness(node: SimNode): void {
    const log = node.core!.log;
    const first = log.firstIndex();
    for (const [index, entry] of this.committed) {
      if (index < first) continue; // inside its snapshot, which only holds committed state
      const term = log.termOrZero(index);
      if (term !== entry.term) {
        this.fail(`leader completeness: leader ${node.id} of term ${node.core!.term} has term ${term} at committed index ${index} (committed term ${entry.term})`);
      }
    }
  }

  /** Log matching: if two logs hold an entry with the same index and term, they agree up to it. */
  private checkLogMatching(): void {
    const live = [...this.nodes.values()].filter((n) => n.core);
    for (let a = 0; a < live.length; a++) {
      for (let b = a + 1; b < live.length; b++) {
        const la = live[a].core!.log;
        const lb = live[b].core!.log;
        const lo = Math.max(la.firstIndex(), lb.firstIndex());
        const hi = Math.min(la.lastIndex(), lb.lastIndex());
        let matched = false;
        for (let i = hi; i >= lo; i--) {
          const ta = la.term(i);
          const tb = lb.term(i);
          if (!matched && ta === tb) matched = true;
          if (matched) {
            const ea = la.slice(i, i + 1, Infinity)[0];
            const eb = lb.slice(i, i + 1, Infinity)[0];
            if (ta !== tb || hex(ea.data) !== hex(eb.data)) {
              this.fail(`log matching: nodes ${live[a].id} and ${live[b].id} agree above ${i} but differ at ${i}`);
            }
          }
        }
      }
    }
  }

  private fail(message: string): never {
    throw new InvariantViolation(message);
  }

  // ------------------------------------------------------------------ chaos and clients

  private chaos(): void {
    const r = this.rng;
    const ids = [...this.nodes.keys()];
    const leader = this.currentLeader();
    this.checkLogMatching();
    switch (r.int(0, 9)) {
      case 0:
      case 1: {
        // Symmetric partition: split the members in two groups.
        this.blocked.clear();
        const shuffled = r.shuffle(ids.slice());
        const cut = r.int(1, shuffled.length - 1);
        const left = new Set(shuffled.slice(0, cut));
        for (const x of ids) for (const y of ids) if (left.has(x) !== left.has(y)) this.blocked.add(`${x}>${y}`);
        this.log(`partition ${[...left].join(',')} | ${shuffled.slice(cut).join(',')}`);
        break;
      }
      case 2: {
        // One-way partition: a node can send but not hear (or the reverse).
        this.blocked.clear();
        const x = r.pick(ids);
        const inbound = r.chance(0.5);
        for (const y of ids) if (y !== x) this.blocked.add(inbound ? `${y}>${x}` : `${x}>${y}`);
        this.log(`one-way ${inbound ? 'to' : 'from'} ${x}`);
        break;
      }
      case 3:
        this.blocked.clear();
        this.log('heal');
        break;
      case 4: {
        const live = ids.filter((id) => this.nodes.get(id)!.core);
        if (live.length > 0) this.crash(this.nodes.get(r.pick(live))!);
        break;
      }
      case 5:
        if (leader) this.crash(leader);
        break;
      case 6:
        if (leader) {
          const voters = leader.core!.confState().voters.filter((v) => v !== leader.id);
          if (voters.length > 0) {
            try {
              leader.core!.transferLeadership(r.pick(voters));
              this.counters.transfers++;
              this.afterInput(leader);
            } catch { /* not possible right now */ }
          }
        }
        break;
      case 7:
      case 8:
        if (this.membership && leader) this.changeMembership(leader);
        break;
      default: {
        // Crash at the worst moment: while a write is still in flight.
        const writing = ids.filter((id) => this.nodes.get(id)!.pending);
        if (writing.length > 0) this.crash(this.nodes.get(r.pick(writing))!);
        break;
      }
    }
  }

  private changeMembership(leader: SimNode): void {
    const core = leader.core!;
    const { voters, learners } = core.confState();
    const r = this.rng;
    let cc;
    if (learners.length > 0) {
      const learner = learners[0];
      const status = core.status().progress.get(learner);
      // Promote once it has caught up, as the real driver does.
      if (!status || status.match + 5 < core.log.committed) return;
      cc = { type: ConfChangeType.AddVoter, nodeId: learner, context: new Uint8Array(0) };
    } else if (voters.length > 3 && r.chance(0.5)) {
      cc = { type: ConfChangeType.Remove, nodeId: r.pick(voters), context: new Uint8Array(0) };
    } else if (voters.length < 7) {
      cc = { type: ConfChangeType.AddLearner, nodeId: this.nextNodeId, context: new Uint8Array(0) };
    } else {
      return;
    }
    try {
      core.proposeConfChange(cc, encodeConfChange(cc));
      if (cc.type === ConfChangeType.AddLearner) this.nextNodeId++;
      this.counters.confChanges++;
      this.log(`propose ${ConfChangeType[cc.type]} ${cc.nodeId}`);
      this.afterInput(leader);
    } catch { /* one change at a time, or leadership moved */ }
  }

  private clientAction(): void {
    const leader = this.currentLeader();
    const live = [...this.nodes.values()].filter((n) => n.core);
    if (this.reads && live.length > 0 && this.rng.chance(0.3)) {
      const node = this.rng.pick(live);
      const ctx = new TextEncoder().encode(`r${++this.readSeq}`);
      node.reads.set(hex(ctx), { requestedAt: this.now, minIndex: this.highestAckedIndex });
      node.core!.readIndex(ctx);
      this.afterInput(node);
      return;
    }
    if (!leader) return;
    const key = `k${++this.clientSeq}`;
    try {
      const [pos] = leader.core!.propose([new TextEncoder().encode(key)]);
      leader.proposals.set(pos.index, { term: pos.term, key });
      this.afterInput(leader);
    } catch { /* not leader any more, or transferring */ }
  }

  private readReady(node: SimNode, ctx: Uint8Array, index: number, rejected: boolean): void {
    const read = node.reads.get(hex(ctx));
    if (!read) return;
    node.reads.delete(hex(ctx));
    if (rejected) return;
    node.readsAwaitingApply.push({ index, minIndex: read.minIndex });
  }

  /** A read is served once the node applied its read index; it must see every write acknowledged before it began. */
  private serveReads(node: SimNode): void {
    if (node.readsAwaitingApply.length === 0) return;
    const still: { index: number; minIndex: number }[] = [];
    for (const r of node.readsAwaitingApply) {
      if (node.applied < r.index) {
        still.push(r);
        continue;
      }
      if (r.index < r.minIndex) {
        this.fail(`stale read on node ${node.id}: read index ${r.index} is below acknowledged write ${r.minIndex}`);
      }
      this.counters.reads++;
    }
    node.readsAwaitingApply = still;
  }

  private currentLeader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.nodes.values()) {
      if (n.core?.role === Role.Leader && (!best || n.core.term > best.core!.term)) best = n;
    }
    return best;
  }

  // ------------------------------------------------------------------ liveness

  /** Heal everything and require the cluster to elect a leader, commit, and converge. */
  private healAndConverge(): void {
    // A healed network delivers everything (still late, duplicated and reordered).
    this.blocked.clear();
    this.dropRate = 0;
    for (const n of this.nodes.values()) if (!n.core) this.start(n);
    this.loop(this.now + 8_000);
    const leader = this.currentLeader();
    if (!leader) this.fail(`liveness: no leader 8 s after healing the network; ${this.describe()}`);
    const key = `final-${this.seed}`;
    let pos;
    try {
      [pos] = leader.core!.propose([new TextEncoder().encode(key)]);
    } catch (err) {
      this.fail(`liveness: leader ${leader.id} refused a proposal after healing: ${(err as Error).message}`);
    }
    leader.proposals.set(pos.index, { term: pos.term, key });
    this.afterInput(leader);
    this.loop(this.now + 5_000);
    if (!this.ackedKeys.has(key)) {
      this.fail(`liveness: final write at ${pos.index} not acknowledged 5 s after healing; ${this.describe()}`);
    }
    this.checkLogMatching();
    // Every member of the final configuration converges on the same state, holding every acknowledged write.
    const members = leader.core!.confState();
    for (const id of [...members.voters, ...members.learners]) {
      const n = this.nodes.get(id)!;
      if (n.applied < pos.index) {
        const pr = leader.core!.status().progress.get(id);
        this.fail(`liveness: member ${id} applied only ${n.applied} of ${pos.index} (leader ${leader.id} sees ${JSON.stringify(pr)}; member ${JSON.stringify(n.core ? { ...n.core.hardState(), role: n.core.role, lead: n.core.lead, last: n.core.log.lastIndex(), first: n.core.log.firstIndex() } : 'down')})`);
      }
      // Its state equals the chain over the committed log, so it holds every acknowledged write.
      if (n.digest !== this.expectedDigest(n.applied)) {
        this.fail(`durability: member ${id}'s state at ${n.applied} differs from the committed log's`);
      }
    }
    for (const [k, index] of this.ackedKeys) {
      if (this.committed.get(index)?.key !== k) this.fail(`durability: acknowledged write ${k} at ${index} is not in the committed log`);
    }
  }

  private expectedDigest(upTo: number): number {
    let digest = 0;
    for (let i = 2; i <= upTo; i++) {
      const e = this.committed.get(i);
      if (!e) this.fail(`committed log has a hole at ${i}`);
      digest = chain(digest, i, e.key);
    }
    return digest;
  }

  private describe(): string {
    const parts: string[] = [];
    for (const n of this.nodes.values()) {
      if (!n.core) {
        parts.push(`${n.id}: down`);
        continue;
      }
      const st = n.core.status();
      const progress = [...st.progress].map(([id, p]) => `${id}:${p.state}/${p.match}/${p.next}${p.recentActive ? '' : '/inactive'}`).join(' ');
      parts.push(`${n.id}: ${st.role} term ${st.term} vote ${st.vote} lead ${st.lead} commit ${st.commit} applied ${n.applied} last ${st.lastIndex}/${n.core.log.lastTerm()} voters ${st.confState.voters} learners ${st.confState.learners} pending ${n.pending ? 'yes' : 'no'} ${progress}`);
    }
    return parts.join('; ');
  }

  private log(line: string): void {
    if (this.trace) console.log(`${String(this.now).padStart(7)} ${line}`);
  }
}

/** FNV-1a over the index and payload, chained: equal digests mean equal applied sequences (with high probability). */
function chain(digest: number, index: number, key: string): number {
  let h = (digest ^ index) >>> 0;
  h = Math.imul(h, 16777619) >>> 0;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 16777619) >>> 0;
  }
  return h;
}

function encodeDigest(digest: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, digest, true);
  return out;
}

function decodeDigest(data: Uint8Array): number {
  if (data.byteLength === 0) return 0; // a new member's empty storage
  return new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0, true);
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

