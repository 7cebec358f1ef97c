// The driver: runs the pure core against real time, storage and network. One loop turn takes a
// Ready, persists it with one synced write (group commit: every proposal, vote and append that
// arrived since the last turn shares the fsync), sends its messages, applies committed entries
// to the state machine and advances the core. Proposals and reads are promises resolved here.

import { EventEmitter } from 'node:events';
import pino from 'pino';
import { Clock, systemClock } from './clock.js';
import { decodeConfChange, encodeConfChange } from './conf-change.js';
import { RaftCore, RaftStatus } from './core.js';
import { NoQuorumError, NotLeaderError, ProposalDroppedError, RaftError, StoppedError } from './errors.js';
import type { PersistentStorage } from './storage.js';
import type { Transport } from './transport.js';
import { ConfChange, ConfChangeType, EMPTY, Entry, EntryType, Message, MessageType, NONE, Ready, Role, Snapshot } from './types.js';

/** The application replicated by raft (the object store, a test key-value map). */
export interface StateMachine {
  /**
   * Applies one committed entry, in log order; must be deterministic. The result reaches the
   * proposer. Every index arrives: entries with nothing for the application (a new leader's
   * empty entry, membership changes) come with empty data, so applied indexes stay equal.
   */
  apply(index: number, data: Uint8Array): unknown;
  /** Serializes the whole state as of the last applied index. */
  snapshot(): Uint8Array;
  /** Replaces the whole state with a snapshot's, taken at `index`. */
  restore(data: Uint8Array, index: number): void;
}

export interface Member {
  id: number;
  address: string;
}

export interface RaftNodeOptions {
  id: number;
  storage: PersistentStorage;
  transport: Transport;
  stateMachine: StateMachine;
  /** Founding voters of a new cluster (this node among them). Ignored once storage holds state. */
  bootstrap?: Member[];
  /** Addresses of existing members, for a node joining a running cluster before it has their snapshot. */
  peers?: Member[];
  tickMs?: number;
  electionTicks?: number;
  heartbeatTicks?: number;
  /** Applied entries between snapshots. */
  snapshotEntries?: number;
  /** Entries kept in the log behind a snapshot, so a briefly lagging follower catches up without one. */
  snapshotCatchUpEntries?: number;
  /** How long a proposal or read may wait for a quorum before failing. */
  requestTimeoutMs?: number;
  /** Proposals accepted but not yet applied; past it, new ones fail at once (backpressure). */
  maxPendingProposals?: number;
  maxProposalBytes?: number;
  logger?: pino.Logger;
  random?: () => number;
  /** Time source and scheduler; virtual in simulations. */
  clock?: Clock;
  /**
   * Sends a proposal made on a follower to the leader (e.g. over gRPC) and resolves with where the
   * leader put it; without it, proposals on followers fail with NOT_LEADER.
   */
  forward?: (leaderId: number, data: Uint8Array) => Promise<{ index: number; term: number }>;
  /**
   * Disaster recovery: restart this member's existing data as a one-member cluster (every other
   * member is dropped from the configuration), keeping every entry in its log — committed or not,
   * since the lost members may have acknowledged writes this node never learned were committed
   * (etcd's force-new-cluster does the same). `address` is where this node serves raft.
   */
  forceNewCluster?: { address: string };
}

/** 100 ms ticks: heartbeats ten times a second cost little on a LAN and keep failure detection fast. */
export const DEFAULT_TICK_MS = 100;
/** Election after 10 ticks (1 s, randomized to 1–2 s): several lost heartbeats before anyone campaigns. */
export const DEFAULT_ELECTION_TICKS = 10;
export const DEFAULT_HEARTBEAT_TICKS = 1;
/** Snapshot every 10,000 entries: bounds restart replay time and log size for store-sized entries. */
export const DEFAULT_SNAPSHOT_ENTRIES = 10_000;
/** Keep 5,000 entries after a snapshot: a follower that blinked catches up from the log, not a snapshot. */
export const DEFAULT_SNAPSHOT_CATCH_UP_ENTRIES = 5_000;
/** A request that has not completed within 3 election timeouts is not going to: fail it clearly. */
const DEFAULT_REQUEST_TIMEOUT_TICKS = 30;
/** 50,000 pending proposals of ~256 B is ~12 MiB of queued work: enough for any burst, bounded for memory. */
export const DEFAULT_MAX_PENDING_PROPOSALS = 50_000;
/** Results of recently applied entries kept for forwarded proposals whose answer arrives after the apply. */
const RECENT_RESULTS = 4096;
/** A learner this close to the leader's commit index is caught up and may become a voter. */
const PROMOTION_LAG_ENTRIES = 100;

interface ProposalWaiter {
  term: number;
  resolve: (v: { index: number; term: number; result: unknown }) => void;
  reject: (err: Error) => void;
  deadline: number;
}

interface QueuedProposal {
  data: Uint8Array;
  confChange?: ConfChange;
  resolve: (v: { index: number; term: number; result: unknown }) => void;
  reject: (err: Error) => void;
}

interface ReadWaiter {
  resolve: () => void;
  reject: (err: Error) => void;
  deadline: number;
}

/**
 * Events: 'leader' (leaderId, term) when the known leader or the term changes; 'leadership'
 * (isLeader) when this node becomes or stops being the leader; 'removed' when a configuration
 * change removed this node; 'fatal' (error) when it stopped on a storage failure.
 */
export class RaftNode extends EventEmitter {
  readonly id: number;
  private readonly core: RaftCore;
  private readonly storage: PersistentStorage;
  private readonly transport: Transport;
  private readonly sm: StateMachine;
  private readonly log: pino.Logger;
  private readonly members = new Map<number, string>();
  private readonly clock: Clock;
  private readonly lastHeard = new Map<number, number>();
  private readonly forward: RaftNodeOptions['forward'];
  private readonly recentResults = new Map<number, { term: number; result: unknown }>();
  private readonly electionTicks: number;

  private readonly tickMs: number;
  private readonly requestTimeoutMs: number;
  private readonly snapshotEntries: number;
  private readonly snapshotCatchUpEntries: number;
  private readonly maxPendingProposals: number;

  private queuedProposals: QueuedProposal[] = [];
  private readonly proposalWaiters = new Map<number, ProposalWaiter>();
  private queuedReads: ReadWaiter[] = [];
  private readonly readRounds = new Map<string, ReadWaiter[]>();
  private readsAwaitingApply: { index: number; waiters: ReadWaiter[] }[] = [];
  private readSeq = 0;

  private applied: number;
  private snapshotIndex: number;
  private ticker: unknown = null;
  private scheduled = false;
  private processing = false;
  private stopped = false;
  private leader = NONE;
  private term = 0;
  /** Whether this node was leader at the last soft-state change: 'leadership' fires when it flips. */
  private leading = false;

  private constructor(options: RaftNodeOptions, core: RaftCore, snapshot: Snapshot) {
    super();
    this.id = options.id;
    this.core = core;
    this.storage = options.storage;
    this.transport = options.transport;
    this.sm = options.stateMachine;
    this.log = (options.logger ?? pino({ level: 'warn' })).child({ raft: options.id.toString(16) });
    this.clock = options.clock ?? systemClock;
    this.tickMs = options.tickMs ?? DEFAULT_TICK_MS;
    this.electionTicks = options.electionTicks ?? DEFAULT_ELECTION_TICKS;
    this.forward = options.forward;
    this.requestTimeoutMs = options.requestTimeoutMs ?? this.tickMs * DEFAULT_REQUEST_TIMEOUT_TICKS;
    this.snapshotEntries = options.snapshotEntries ?? DEFAULT_SNAPSHOT_ENTRIES;
    this.snapshotCatchUpEntries = options.snapshotCatchUpEntries ?? DEFAULT_SNAPSHOT_CATCH_UP_ENTRIES;
    this.maxPendingProposals = options.maxPendingProposals ?? DEFAULT_MAX_PENDING_PROPOSALS;
    this.applied = snapshot.metadata.index;
    this.snapshotIndex = snapshot.metadata.index;
    for (const p of options.peers ?? []) this.members.set(p.id, p.address);
  }

  /** Opens the node: bootstraps or recovers state, restores the state machine, starts ticking and serving. */
  static async start(options: RaftNodeOptions): Promise<RaftNode> {
    const { storage } = options;
    const fresh = storage.lastIndex() === 0 && storage.initialState().hardState.term === 0;
    if (fresh && options.bootstrap && options.bootstrap.length > 0) {
      // Every founding member writes the same genesis snapshot at index 1: the initial voters and
      // their addresses, and the state machine's empty state.
      const members = options.bootstrap;
      if (!members.some((m) => m.id === options.id)) throw new Error('raft: bootstrap members must include this node');
      const genesis: Snapshot = {
        metadata: { index: 1, term: 1, confState: { voters: members.map((m) => m.id).sort((a, b) => a - b), learners: [] } },
        data: wrapSnapshot(members, options.stateMachine.snapshot()),
      };
      await storage.save({ term: 1, vote: NONE, commit: 1 }, [], genesis);
    }
    if (options.forceNewCluster && !fresh) await RaftNode.rewriteAsSingleMember(options, options.forceNewCluster.address);
    const snapshot = storage.snapshot();
    const core = new RaftCore({
      id: options.id, storage,
      electionTicks: options.electionTicks ?? DEFAULT_ELECTION_TICKS,
      heartbeatTicks: options.heartbeatTicks ?? DEFAULT_HEARTBEAT_TICKS,
      random: options.random ?? Math.random,
      applied: snapshot.metadata.index,
      maxProposalBytes: options.maxProposalBytes,
    });
    const node = new RaftNode(options, core, snapshot);
    if (snapshot.metadata.index > 0) node.installSnapshot(snapshot);
    node.transport.setHandler({
      onMessage: (m) => node.onMessage(m),
      onUnreachable: (peer) => node.input(() => node.core.reportUnreachable(peer)),
      onSnapshotStatus: (peer, ok) => node.input(() => node.core.reportSnapshot(peer, ok)),
    });
    for (const [id, address] of node.members) if (id !== node.id) node.transport.setPeer(id, address);
    await node.transport.start();
    node.ticker = node.clock.setInterval(() => node.onTick(), node.tickMs);
    node.schedule();
    return node;
  }

  /**
   * Rebuilds the state machine from every entry in the log and stores it as a snapshot whose
   * configuration is this node alone, one position past the old log (with one voter, nothing
   * else can ever claim those positions).
   */
  private static async rewriteAsSingleMember(options: RaftNodeOptions, address: string): Promise<void> {
    const { storage, stateMachine: sm, id } = options;
    const old = storage.snapshot();
    const { hardState } = storage.initialState();
    if (old.metadata.index > 0) sm.restore(unwrapSnapshot(old.data).app, old.metadata.index);
    const last = Math.max(storage.lastIndex(), old.metadata.index);
    for (let i = old.metadata.index + 1; i <= last; i++) {
      const [e] = storage.entries(i, i + 1, Infinity);
      sm.apply(i, e.type === EntryType.Normal ? e.data : EMPTY);
    }
    const term = Math.max(hardState.term, storage.lastIndex() > 0 ? storage.term(storage.lastIndex()) : 0) + 1;
    const index = last + 1;
    const snapshot: Snapshot = {
      metadata: { index, term, confState: { voters: [id], learners: [] } },
      data: wrapSnapshot([{ id, address }], sm.snapshot()),
    };
    await storage.save({ term, vote: NONE, commit: index }, [], snapshot, true);
  }

  // ---------------------------------------------------------------- public API

  get isLeader(): boolean {
    return this.core.role === Role.Leader;
  }

  get leaderId(): number {
    return this.core.lead;
  }

  get leaderAddress(): string | undefined {
    return this.members.get(this.core.lead);
  }

  get appliedIndex(): number {
    return this.applied;
  }

  status(): RaftStatus & { members: Member[] } {
    return { ...this.core.status(), members: this.memberList() };
  }

  memberList(): Member[] {
    return [...this.members].map(([id, address]) => ({ id, address })).sort((a, b) => a.id - b.id);
  }

  /**
   * Replicates data; resolves once it is committed and applied here, with the state machine's
   * result. On a follower the proposal is forwarded to the leader when `forward` is configured.
   */
  propose(data: Uint8Array): Promise<{ index: number; term: number; result: unknown }> {
    if (this.core.role !== Role.Leader && this.forward && this.core.lead !== NONE && !this.stopped) {
      return this.proposeThroughLeader(data);
    }
    return new Promise((resolve, reject) => {
      if (this.stopped) return reject(new StoppedError());
      if (this.core.role !== Role.Leader) return reject(this.notLeader());
      if (this.queuedProposals.length + this.proposalWaiters.size >= this.maxPendingProposals) {
        return reject(new ProposalDroppedError(`too many proposals in flight (${this.maxPendingProposals}); retry later`));
      }
      this.queuedProposals.push({ data, resolve, reject });
      this.schedule();
    });
  }

  /** The leader placed our proposal at (index, term); answer once it is applied here too. */
  private async proposeThroughLeader(data: Uint8Array): Promise<{ index: number; term: number; result: unknown }> {
    const { index, term } = await this.forward!(this.core.lead, data);
    const done = this.recentResults.get(index);
    if (done) {
      if (done.term !== term) throw new ProposalDroppedError('leadership changed before it committed; it was not applied');
      return { index, term, result: done.result };
    }
    if (index <= this.applied) throw new NoQuorumError(`entry ${index} was applied before its result could be kept; the write may have taken effect`);
    return new Promise((resolve, reject) => {
      if (this.stopped) return reject(new StoppedError());
      this.proposalWaiters.set(index, { term, resolve, reject, deadline: this.clock.now() + this.requestTimeoutMs });
    });
  }

  /** Resolves once this node's state reflects every write committed before the call (ReadIndex). */
  readIndex(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.stopped) return reject(new StoppedError());
      if (this.core.lead === NONE) return reject(this.notLeader());
      this.queuedReads.push({ resolve, reject, deadline: this.clock.now() + this.requestTimeoutMs });
      this.schedule();
    });
  }

  /** Adds a member as a learner, waits until it has caught up, then makes it a voter. */
  async addMember(id: number, address: string, options: { voter?: boolean } = {}): Promise<void> {
    const context = new TextEncoder().encode(JSON.stringify({ address }));
    const status = this.core.status();
    if (!status.confState.learners.includes(id) && !status.confState.voters.includes(id)) {
      await this.proposeConfChange({ type: ConfChangeType.AddLearner, nodeId: id, context });
    }
    if (options.voter === false) return;
    const deadline = this.clock.now() + this.requestTimeoutMs * 10;
    for (;;) {
      if (this.core.role !== Role.Leader) throw this.notLeader();
      const pr = this.core.status().progress.get(id);
      if (pr && pr.match + PROMOTION_LAG_ENTRIES >= this.core.log.committed) break;
      if (this.clock.now() > deadline) throw new NoQuorumError(`new member ${id.toString(16)} did not catch up in time`);
      await this.clock.sleep(this.tickMs);
    }
    await this.proposeConfChange({ type: ConfChangeType.AddVoter, nodeId: id, context });
  }

  async removeMember(id: number): Promise<void> {
    if (id === this.id && this.isLeader) {
      // Hand leadership over first so the cluster does not wait out an election timeout.
      const other = this.core.confState().voters.find((v) => v !== this.id);
      if (other !== undefined) {
        await this.transferLeadership(other);
        throw this.notLeader();
      }
    }
    await this.proposeConfChange({ type: ConfChangeType.Remove, nodeId: id, context: new Uint8Array(0) });
  }

  /** Moves leadership to `to` and resolves once it has it (or fails after an election timeout). */
  async transferLeadership(to: number): Promise<void> {
    this.core.transferLeadership(to);
    this.schedule();
    const deadline = this.clock.now() + this.tickMs * (DEFAULT_ELECTION_TICKS * 2);
    while (this.core.lead !== to) {
      if (this.clock.now() > deadline) throw new NoQuorumError(`leadership transfer to ${to.toString(16)} did not complete`);
      await this.clock.sleep(this.tickMs / 4);
    }
  }

  /** Starts an election now (tests, operators forcing a re-election). */
  campaign(): void {
    this.input(() => this.core.campaign());
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.ticker !== null) this.clock.clearInterval(this.ticker);
    this.failAll(new StoppedError());
    // Let a write in progress finish so the storage is left consistent.
    while (this.processing) await this.clock.sleep(1);
    await this.transport.close();
  }

  // ---------------------------------------------------------------- inputs

  private proposeConfChange(cc: ConfChange): Promise<{ index: number; term: number; result: unknown }> {
    return new Promise((resolve, reject) => {
      if (this.core.role !== Role.Leader) return reject(this.notLeader());
      this.queuedProposals.push({ data: encodeConfChange(cc), confChange: cc, resolve, reject });
      this.schedule();
    });
  }

  /** Whether `peer` sent us anything within an election timeout (the leader hears from every member each tick). */
  isPeerActive(peer: number): boolean {
    if (peer === this.id) return true;
    const at = this.lastHeard.get(peer);
    return at !== undefined && this.clock.now() - at < this.tickMs * this.electionTicks;
  }

  private onMessage(m: Message): void {
    if (this.stopped) return;
    this.lastHeard.set(m.from, this.clock.now());
    if (!this.members.has(m.from) && !this.core.isVoter(m.from)) {
      this.log.warn({ from: m.from, type: MessageType[m.type] }, 'dropping raft message from an unknown member');
      return;
    }
    this.input(() => this.core.step(m));
  }

  private onTick(): void {
    this.input(() => this.core.tick());
    this.expireRequests();
  }

  /** Runs one input against the core. A peer's impossible message must not take the node down. */
  private input(fn: () => void): void {
    if (this.stopped) return;
    try {
      fn();
    } catch (err) {
      this.log.error({ err }, 'raft core rejected an input; dropped');
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    this.clock.setImmediate(() => {
      this.scheduled = false;
      void this.process();
    });
  }

  // ---------------------------------------------------------------- the loop

  private async process(): Promise<void> {
    if (this.processing || this.stopped) return;
    this.processing = true;
    try {
      this.flushProposals();
      this.flushReads();
      while (this.core.hasReady() && !this.stopped) {
        await this.handleReady(this.core.ready());
        // Proposals that arrived during the write join the next batch.
        this.flushProposals();
        this.flushReads();
      }
    } catch (err) {
      // Storage failure: continuing could acknowledge what is not durable. Stop hard.
      this.log.fatal({ err }, 'raft storage failed; stopping this node');
      this.emit('fatal', err);
      this.processing = false;
      await this.stop();
      return;
    }
    this.processing = false;
  }

  private async handleReady(rd: Ready): Promise<void> {
    if (rd.softState) this.onSoftState();
    // A leader may send appends while it writes the same entries locally (thesis §10.2.1): it
    // counts itself for commit, but nothing is applied or announced committed until its own
    // write is done, because commit indexes leave only in a later Ready.
    const early: Message[] = [];
    const late: Message[] = [];
    for (const m of rd.messages) {
      if (this.core.role === Role.Leader && (m.type === MessageType.Append || m.type === MessageType.Heartbeat)) early.push(m);
      else late.push(m);
    }
    if (early.length > 0) this.transport.send(early);
    // A Ready that only moves the commit index is written without fsync: the index survives a
    // process crash (it is in the OS cache) for restarts and force-new-cluster, and after a power
    // loss it is simply re-learned from the leader.
    if (rd.mustSync || rd.entries.length > 0 || rd.snapshot) {
      await this.storage.save(rd.hardState, rd.entries, rd.snapshot, rd.mustSync);
    } else if (rd.hardState) {
      // Nothing waits on an unsynced commit-index write: storage applies writes in order, and a
      // failed write stops the node at the next save (so it is not left unhandled either).
      const written = this.storage.save(rd.hardState, [], null, false);
      if (written instanceof Promise) written.catch((err) => this.log.error({ err }, 'writing the commit index failed'));
    }
    if (late.length > 0) this.transport.send(late);
    if (rd.snapshot) this.installSnapshot(rd.snapshot);
    for (const e of rd.committedEntries) this.applyEntry(e);
    for (const rs of rd.readStates) this.onReadState(rs.requestCtx, rs.index, rs.rejected === true);
    this.core.advance(rd);
    this.releaseReads();
    await this.maybeSnapshot();
  }

  private onSoftState(): void {
    const { lead, role } = this.core;
    if (lead !== this.leader || this.core.term !== this.term) {
      this.leader = lead;
      this.term = this.core.term;
      this.emit('leader', lead, this.core.term);
      // Read rounds sent to the old leader will never be answered: ask the new one, or fail
      // at once when there is none (callers may then answer from local state).
      const waiting = [...this.readRounds.values()].flat();
      this.readRounds.clear();
      if (lead === NONE) for (const w of waiting) w.reject(this.notLeader());
      else this.queuedReads.push(...waiting);
    }
    if ((role === Role.Leader) !== this.leading) {
      this.leading = role === Role.Leader;
      // Components that act only on the leader listen for this instead of polling isLeader.
      this.emit('leadership', this.leading);
    }
    if (role !== Role.Leader) {
      // Queued proposals never reached the log; fail them now rather than at the timeout.
      const queued = this.queuedProposals;
      this.queuedProposals = [];
      for (const q of queued) q.reject(this.notLeader());
    }
  }

  private applyEntry(e: Entry): void {
    if (e.index <= this.applied) return;
    this.applied = e.index;
    let result: unknown;
    if (e.type === EntryType.ConfChange) {
      const cc = decodeConfChange(e.data);
      this.core.applyConfChange(cc);
      this.applyMembership(cc);
      this.sm.apply(e.index, EMPTY);
      result = cc;
    } else {
      result = this.sm.apply(e.index, e.data);
    }
    if (this.forward) {
      this.recentResults.set(e.index, { term: e.term, result });
      if (this.recentResults.size > RECENT_RESULTS) this.recentResults.delete(this.recentResults.keys().next().value!);
    }
    const waiter = this.proposalWaiters.get(e.index);
    if (waiter) {
      this.proposalWaiters.delete(e.index);
      // Another leader's entry at our index means ours was overwritten, never committed.
      if (waiter.term === e.term) waiter.resolve({ index: e.index, term: e.term, result });
      else waiter.reject(new ProposalDroppedError('leadership changed before it committed; it was not applied'));
    }
  }

  private applyMembership(cc: ConfChange): void {
    if (cc.type === ConfChangeType.Remove) {
      this.members.delete(cc.nodeId);
      if (cc.nodeId !== this.id) this.transport.removePeer(cc.nodeId);
      else this.emit('removed');
      return;
    }
    try {
      const { address } = JSON.parse(new TextDecoder().decode(cc.context)) as { address: string };
      this.members.set(cc.nodeId, address);
      if (cc.nodeId !== this.id) this.transport.setPeer(cc.nodeId, address);
    } catch {
      this.log.error({ node: cc.nodeId }, 'membership change without an address');
    }
  }

  private installSnapshot(snapshot: Snapshot): void {
    const { members, app } = unwrapSnapshot(snapshot.data);
    for (const m of members) {
      this.members.set(m.id, m.address);
      if (m.id !== this.id) this.transport.setPeer(m.id, m.address);
    }
    this.sm.restore(app, snapshot.metadata.index);
    this.applied = snapshot.metadata.index;
    this.snapshotIndex = snapshot.metadata.index;
  }

  private async maybeSnapshot(): Promise<void> {
    if (this.applied - this.snapshotIndex < this.snapshotEntries) return;
    const index = this.applied;
    const data = wrapSnapshot(this.memberList(), this.sm.snapshot());
    await this.storage.createSnapshot(index, this.core.confState(), data, Math.max(1, index - this.snapshotCatchUpEntries));
    this.snapshotIndex = index;
  }

  // ---------------------------------------------------------------- proposals and reads

  private flushProposals(): void {
    if (this.queuedProposals.length === 0) return;
    const batch = this.queuedProposals;
    this.queuedProposals = [];
    const deadline = this.clock.now() + this.requestTimeoutMs;
    const normal = batch.filter((q) => !q.confChange);
    if (normal.length > 0) {
      try {
        const positions = this.core.propose(normal.map((q) => q.data));
        positions.forEach((pos, i) => {
          this.proposalWaiters.set(pos.index, { term: pos.term, resolve: normal[i].resolve, reject: normal[i].reject, deadline });
        });
      } catch (err) {
        for (const q of normal) q.reject(this.translate(err));
      }
    }
    for (const q of batch) {
      if (!q.confChange) continue;
      try {
        const pos = this.core.proposeConfChange(q.confChange, q.data);
        this.proposalWaiters.set(pos.index, { term: pos.term, resolve: q.resolve, reject: q.reject, deadline });
      } catch (err) {
        q.reject(this.translate(err));
      }
    }
  }

  /** All reads queued since the last round share one ReadIndex round trip. */
  private flushReads(): void {
    if (this.queuedReads.length === 0) return;
    const waiters = this.queuedReads;
    this.queuedReads = [];
    const ctx = new Uint8Array(12);
    const view = new DataView(ctx.buffer);
    view.setFloat64(0, this.id, true);
    view.setUint32(8, ++this.readSeq, true);
    this.readRounds.set(hexKey(ctx), waiters);
    this.core.readIndex(ctx);
  }

  private onReadState(ctx: Uint8Array, index: number, rejected: boolean): void {
    const key = hexKey(ctx);
    const waiters = this.readRounds.get(key);
    if (!waiters) return;
    this.readRounds.delete(key);
    if (rejected) {
      for (const w of waiters) w.reject(this.notLeader());
      return;
    }
    this.readsAwaitingApply.push({ index, waiters });
  }

  private releaseReads(): void {
    if (this.readsAwaitingApply.length === 0) return;
    const still: { index: number; waiters: ReadWaiter[] }[] = [];
    for (const r of this.readsAwaitingApply) {
      if (r.index <= this.applied) for (const w of r.waiters) w.resolve();
      else still.push(r);
    }
    this.readsAwaitingApply = still;
  }

  private expireRequests(): void {
    const now = this.clock.now();
    for (const [index, w] of this.proposalWaiters) {
      if (w.deadline > now) continue;
      this.proposalWaiters.delete(index);
      // The entry may still commit later: the outcome is unknown, so this is never PROPOSAL_DROPPED.
      w.reject(new NoQuorumError(this.core.role === Role.Leader
        ? `entry ${index} was not committed within ${this.requestTimeoutMs} ms; a majority of managers is not reachable (the write may still take effect)`
        : `leadership changed and entry ${index} was not committed within ${this.requestTimeoutMs} ms (the write may still take effect)`));
    }
    for (const [key, waiters] of this.readRounds) {
      if (waiters.every((w) => w.deadline > now)) continue;
      this.readRounds.delete(key);
      for (const w of waiters) w.reject(new NoQuorumError(`read not confirmed by a majority within ${this.requestTimeoutMs} ms`));
    }
  }

  private failAll(err: Error): void {
    for (const q of this.queuedProposals) q.reject(err);
    this.queuedProposals = [];
    for (const w of this.proposalWaiters.values()) w.reject(err);
    this.proposalWaiters.clear();
    for (const w of this.queuedReads) w.reject(err);
    this.queuedReads = [];
    for (const ws of this.readRounds.values()) for (const w of ws) w.reject(err);
    this.readRounds.clear();
    for (const r of this.readsAwaitingApply) for (const w of r.waiters) w.reject(err);
    this.readsAwaitingApply = [];
  }

  private notLeader(): NotLeaderError {
    return new NotLeaderError(this.core.lead, this.members.get(this.core.lead));
  }

  private translate(err: unknown): Error {
    if (err instanceof NotLeaderError) return this.notLeader();
    if (err instanceof RaftError) return err;
    return err instanceof Error ? err : new Error(String(err));
  }
}

// Snapshot payload: [u32 header length][header JSON: members][application bytes]. The members'
// addresses travel with the snapshot so a node that installs one can reach everybody.
function wrapSnapshot(members: Member[], app: Uint8Array): Uint8Array {
  const header = new TextEncoder().encode(JSON.stringify({ members }));
  const out = new Uint8Array(4 + header.byteLength + app.byteLength);
  new DataView(out.buffer).setUint32(0, header.byteLength, true);
  out.set(header, 4);
  out.set(app, 4 + header.byteLength);
  return out;
}

function unwrapSnapshot(data: Uint8Array): { members: Member[]; app: Uint8Array } {
  if (data.byteLength < 4) throw new Error('raft: snapshot payload is too short');
  const length = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0, true);
  if (4 + length > data.byteLength) throw new Error('raft: snapshot payload header overruns the data');
  const header = JSON.parse(new TextDecoder().decode(data.subarray(4, 4 + length))) as { members: Member[] };
  return { members: header.members, app: data.subarray(4 + length) };
}

function hexKey(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}
