// The Raft algorithm as a pure, deterministic state machine: no clock, no I/O, no randomness of
// its own. Its inputs are tick(), step(message) and the local requests (propose, read index,
// configuration change, leadership transfer); its output is a Ready batch that the driver
// persists, sends and applies before calling advance(). Section numbers refer to the Raft paper
// (Ongaro & Ousterhout, 2014) and the thesis (Ongaro, 2014) for pre-vote, check-quorum, leader
// transfer, ReadIndex and single-server membership changes.

import { ConfChangeError, NotLeaderError, ProposalDroppedError, ProposalTooLargeError } from './errors.js';
import { Progress, ProgressState } from './progress.js';
import { VoteResult, committedIndex, voteResult } from './quorum.js';
import { RaftLog } from './raft-log.js';
import { CompactedError, Storage } from './storage.js';
import {
  ConfChange, ConfChangeType, ConfState, EMPTY, Entry, EntryType, HardState, Message, MessageType,
  NONE, ReadState, Ready, Role, Snapshot, SoftState, emptyMessage, hardStateEqual,
} from './types.js';

export interface RaftConfig {
  id: number;
  storage: Storage;
  /** Ticks without hearing from a leader before a follower campaigns (randomized in [n, 2n)). */
  electionTicks: number;
  /** Ticks between leader heartbeats; must be well below electionTicks. */
  heartbeatTicks: number;
  /** Uniform random number in [0, 1): injected so simulations are reproducible from a seed. */
  random: () => number;
  /** Last index the state machine had applied when the node restarted (0 to re-apply from the snapshot). */
  applied?: number;
  /** Upper bound on the entry bytes in one append message. */
  maxBytesPerMessage?: number;
  /** Append messages in flight per follower in replicate state (the pipelining window). */
  maxInflightMessages?: number;
  /** Upper bound on one proposal's data. */
  maxProposalBytes?: number;
  /** Upper bound on committed-entry bytes handed out in one Ready. */
  maxApplyBytes?: number;
  preVote?: boolean;
  checkQuorum?: boolean;
}

/** 1 MiB per append keeps messages well under gRPC limits while amortising per-message costs. */
export const DEFAULT_MAX_BYTES_PER_MESSAGE = 1 << 20;
/** 256 appends in flight per follower: deep enough for loopback/LAN pipelining, bounded for slow peers. */
export const DEFAULT_MAX_INFLIGHT = 256;
/** 1.5 MiB, etcd's request limit: big objects belong elsewhere, and huge entries stall replication. */
export const DEFAULT_MAX_PROPOSAL_BYTES = 1.5 * 1024 * 1024;
/** 16 MiB of committed entries per Ready bounds how long one apply step can hold the event loop. */
export const DEFAULT_MAX_APPLY_BYTES = 16 << 20;

/** Context marking a vote request as part of a leadership transfer: voters skip their leader lease. */
export const TRANSFER_CONTEXT = new Uint8Array([0x74]);

interface PendingRead {
  ctx: Uint8Array;
  key: string;
  index: number;
  from: number;
  acks: Set<number>;
}

export interface ProposalPosition {
  index: number;
  term: number;
}

export interface ProgressStatus {
  match: number;
  next: number;
  state: ProgressState;
  isLearner: boolean;
  recentActive: boolean;
}

export interface RaftStatus {
  id: number;
  term: number;
  vote: number;
  lead: number;
  role: Role;
  commit: number;
  applied: number;
  lastIndex: number;
  firstIndex: number;
  leadTransferee: number;
  confState: ConfState;
  /** Only on the leader. */
  progress: Map<number, ProgressStatus>;
}

export class RaftCore {
  readonly id: number;
  term = 0;
  vote = NONE;
  lead = NONE;
  role: Role = Role.Follower;
  readonly log: RaftLog;

  private readonly voters = new Set<number>();
  private readonly learners = new Set<number>();
  private readonly progress = new Map<number, Progress>();
  private readonly votes = new Map<number, boolean>();

  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private leadTransferee = NONE;
  /** Index of the last conf change appended by this leader; no new one until it is applied. */
  private pendingConfIndex = 0;

  private pendingReads: PendingRead[] = [];
  /** Read requests that arrived before this leader committed an entry of its own term. */
  private readsAwaitingCommit: { ctx: Uint8Array; from: number }[] = [];

  private msgs: Message[] = [];
  private readStates: ReadState[] = [];
  private prevSoftState: SoftState;
  private prevHardState: HardState;

  private readonly electionTicks: number;
  private readonly heartbeatTicks: number;
  private readonly random: () => number;
  private readonly maxBytesPerMessage: number;
  private readonly maxInflight: number;
  private readonly maxProposalBytes: number;
  private readonly maxApplyBytes: number;
  private readonly preVote: boolean;
  private readonly checkQuorum: boolean;

  constructor(config: RaftConfig) {
    if (!Number.isSafeInteger(config.id) || config.id <= 0) throw new Error(`raft: invalid node id ${config.id}`);
    if (config.heartbeatTicks <= 0 || config.electionTicks <= config.heartbeatTicks) {
      throw new Error('raft: electionTicks must be greater than heartbeatTicks, both positive');
    }
    this.id = config.id;
    this.electionTicks = config.electionTicks;
    this.heartbeatTicks = config.heartbeatTicks;
    this.random = config.random;
    this.maxBytesPerMessage = config.maxBytesPerMessage ?? DEFAULT_MAX_BYTES_PER_MESSAGE;
    this.maxInflight = config.maxInflightMessages ?? DEFAULT_MAX_INFLIGHT;
    this.maxProposalBytes = config.maxProposalBytes ?? DEFAULT_MAX_PROPOSAL_BYTES;
    this.maxApplyBytes = config.maxApplyBytes ?? DEFAULT_MAX_APPLY_BYTES;
    this.preVote = config.preVote ?? true;
    this.checkQuorum = config.checkQuorum ?? true;

    this.log = new RaftLog(config.storage);
    const { hardState, confState } = config.storage.initialState();
    for (const id of confState.voters) this.voters.add(id);
    for (const id of confState.learners) this.learners.add(id);
    if (hardState.commit > this.log.lastIndex()) {
      throw new Error(`raft: stored commit ${hardState.commit} is beyond the stored log (last index ${this.log.lastIndex()})`);
    }
    this.log.committed = Math.max(this.log.committed, hardState.commit);
    this.term = hardState.term;
    this.vote = hardState.vote;
    if (config.applied) this.log.appliedTo(config.applied);
    this.becomeFollower(this.term, NONE);
    this.prevSoftState = { lead: this.lead, role: this.role };
    this.prevHardState = this.hardState();
  }

  // ---------------------------------------------------------------- inputs

  /** Advances logical time by one tick. */
  tick(): void {
    if (this.role === Role.Leader) this.tickLeader();
    else this.tickElection();
  }

  /** Appends proposals to the leader's log; returns where each landed. Throws NotLeaderError elsewhere. */
  propose(datas: Uint8Array[]): ProposalPosition[] {
    this.checkCanPropose();
    for (const data of datas) {
      if (data.byteLength > this.maxProposalBytes) throw new ProposalTooLargeError(data.byteLength, this.maxProposalBytes);
    }
    const entries: Entry[] = datas.map((data) => ({ term: 0, index: 0, type: EntryType.Normal, data }));
    this.appendEntries(entries);
    this.broadcastAppend();
    return entries.map((e) => ({ index: e.index, term: e.term }));
  }

  /** Proposes one membership change; only one may be in flight (single-server changes, thesis §4.1). */
  proposeConfChange(cc: ConfChange, encoded: Uint8Array): ProposalPosition {
    this.checkCanPropose();
    if (this.pendingConfIndex > this.log.applied) {
      throw new ConfChangeError('a membership change is already in progress; retry once it is applied');
    }
    this.validateConfChange(cc);
    const entry: Entry = { term: 0, index: 0, type: EntryType.ConfChange, data: encoded };
    this.appendEntries([entry]);
    this.pendingConfIndex = entry.index;
    this.broadcastAppend();
    return { index: entry.index, term: entry.term };
  }

  /** Applies a committed membership change (the driver calls this in log order) and returns the new configuration. */
  applyConfChange(cc: ConfChange): ConfState {
    const id = cc.nodeId;
    switch (cc.type) {
      case ConfChangeType.AddLearner:
        if (!this.voters.has(id)) {
          this.learners.add(id);
          this.ensureProgress(id, true);
        }
        break;
      case ConfChangeType.AddVoter:
        this.learners.delete(id);
        this.voters.add(id);
        this.ensureProgress(id, false);
        break;
      case ConfChangeType.Remove:
        this.voters.delete(id);
        this.learners.delete(id);
        this.progress.delete(id);
        if (id === this.leadTransferee) this.abortLeaderTransfer();
        if (id === this.id && this.role === Role.Leader) {
          // A removed leader must stop leading; with no vote of its own it never campaigns again.
          this.becomeFollower(this.term, NONE);
        }
        break;
    }
    if (this.role === Role.Leader && this.voters.size > 0) {
      // The quorum changed: entries may now be committed, and new members need the log.
      if (this.maybeCommit()) this.broadcastAppend();
      else for (const peer of this.progress.keys()) if (peer !== this.id) this.sendAppend(peer, false);
    }
    return this.confState();
  }

  /** Starts handing leadership to `to` (thesis §3.10): catch it up, then tell it to campaign now. */
  transferLeadership(to: number): void {
    if (this.role !== Role.Leader) throw new NotLeaderError(this.lead);
    if (to === this.id) return;
    if (!this.voters.has(to)) throw new ConfChangeError(`cannot transfer leadership to ${to.toString(16)}: not a voter`);
    if (this.leadTransferee === to) return;
    this.abortLeaderTransfer();
    // The transfer must finish within one election timeout or it is abandoned (tickLeader).
    this.electionElapsed = 0;
    this.leadTransferee = to;
    const pr = this.progress.get(to)!;
    if (pr.match === this.log.lastIndex()) this.send(this.message(MessageType.TimeoutNow, to));
    else this.sendAppend(to, true);
  }

  /** Requests a linearizable read point (thesis §6.4); the answer arrives as a ReadState with the same ctx. */
  readIndex(ctx: Uint8Array): void {
    if (this.role === Role.Leader) {
      this.handleReadIndex(ctx, this.id);
    } else if (this.role === Role.Follower && this.lead !== NONE) {
      const m = this.message(MessageType.ReadIndex, this.lead);
      m.context = ctx;
      this.send(m);
    } else {
      this.readStates.push({ index: 0, requestCtx: ctx, rejected: true });
    }
  }

  /**
   * The transport could not reach `peer`. A leader stops pipelining to it; a follower that lost
   * its leader's connection campaigns soon instead of waiting out the election timeout.
   */
  reportUnreachable(peer: number): void {
    if (this.role === Role.Leader) {
      const pr = this.progress.get(peer);
      if (pr && pr.state === ProgressState.Replicate) pr.becomeProbe();
      return;
    }
    if (this.role === Role.Follower && peer === this.lead && this.lead !== NONE) {
      this.lead = NONE;
      // Stagger by rank among the other voters so survivors do not split the vote.
      let rank = 0;
      for (const v of this.voters) if (v !== peer && v !== this.id && v < this.id) rank++;
      const delay = FAST_ELECTION_DELAY_TICKS + rank * FAST_ELECTION_STAGGER_TICKS;
      this.electionElapsed = Math.max(this.electionElapsed, this.randomizedElectionTimeout - delay);
    }
  }

  /** The outcome of sending a snapshot to `peer`. */
  reportSnapshot(peer: number, ok: boolean): void {
    if (this.role !== Role.Leader) return;
    const pr = this.progress.get(peer);
    if (!pr || pr.state !== ProgressState.Snapshot) return;
    if (!ok) pr.pendingSnapshot = 0;
    // Either way, probe: on success the follower answers with its new position.
    pr.becomeProbe();
    pr.probeSent = true; // wait for the follower's answer or the next heartbeat
  }

  /** Starts an election now (tests and operators); pre-vote applies as usual. */
  campaign(): void {
    if (this.role !== Role.Leader) this.startElection(this.preVote ? 'pre-election' : 'election', false);
  }

  /** Handles a message from a peer. Impossible messages (unknown type, from self) are ignored. */
  step(m: Message): void {
    if (m.from === this.id || m.from === NONE) return;

    if (m.term > this.term) {
      if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
        const forced = isTransfer(m.context);
        const inLease = this.checkQuorum && this.lead !== NONE && this.electionElapsed < this.electionTicks;
        // A voter that heard from a live leader recently ignores campaigners (thesis §4.2.3):
        // a partitioned node coming back cannot depose a healthy leader.
        if (!forced && inLease) return;
      }
      if (m.type === MessageType.PreVote) {
        // Pre-votes never change our term.
      } else if (m.type === MessageType.PreVoteResponse && !m.reject) {
        // Our term is bumped only if the pre-election is won.
      } else if (m.type === MessageType.Append || m.type === MessageType.Heartbeat || m.type === MessageType.Snapshot) {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, NONE);
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === MessageType.Heartbeat || m.type === MessageType.Append)) {
        // Tell a stale leader about the new term so it steps down; otherwise a node that
        // was partitioned with a higher term could be stuck ignoring it forever.
        this.send(this.message(MessageType.AppendResponse, m.from));
      } else if (m.type === MessageType.PreVote) {
        const resp = this.message(MessageType.PreVoteResponse, m.from);
        resp.reject = true;
        this.send(resp);
      }
      return;
    }

    if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
      this.handleVoteRequest(m);
      return;
    }
    switch (this.role) {
      case Role.Leader:
        this.stepLeader(m);
        break;
      case Role.Candidate:
      case Role.PreCandidate:
        this.stepCandidate(m);
        break;
      case Role.Follower:
        this.stepFollower(m);
        break;
    }
  }

  // ---------------------------------------------------------------- ready / advance

  hasReady(): boolean {
    if (this.msgs.length > 0 || this.readStates.length > 0) return true;
    if (this.lead !== this.prevSoftState.lead || this.role !== this.prevSoftState.role) return true;
    if (!hardStateEqual(this.hardState(), this.prevHardState)) return true;
    if (this.log.unstable.entries.length > 0 || this.log.unstable.snapshot !== null) return true;
    return this.log.hasNextCommittedEntries();
  }

  /** Collects the work accumulated since the last Ready. Call advance(ready) once it is done. */
  ready(): Ready {
    const soft: SoftState = { lead: this.lead, role: this.role };
    const hard = this.hardState();
    const softChanged = soft.lead !== this.prevSoftState.lead || soft.role !== this.prevSoftState.role;
    const hardChanged = !hardStateEqual(hard, this.prevHardState);
    const entries = this.log.unstable.entries.slice();
    const rd: Ready = {
      softState: softChanged ? soft : null,
      hardState: hardChanged ? hard : null,
      entries,
      snapshot: this.log.unstable.snapshot,
      committedEntries: this.log.nextCommittedEntries(this.maxApplyBytes),
      messages: this.msgs,
      readStates: this.readStates,
      mustSync: entries.length > 0 || hard.term !== this.prevHardState.term || hard.vote !== this.prevHardState.vote
        || this.log.unstable.snapshot !== null,
    };
    this.msgs = [];
    this.readStates = [];
    if (softChanged) this.prevSoftState = soft;
    if (hardChanged) this.prevHardState = hard;
    return rd;
  }

  /** The driver persisted, sent and applied everything in `rd`. */
  advance(rd: Ready): void {
    if (rd.snapshot) {
      this.log.stableSnapTo(rd.snapshot.metadata.index);
      if (rd.snapshot.metadata.index > this.log.applied) this.log.applied = rd.snapshot.metadata.index;
    }
    if (rd.entries.length > 0) {
      const last = rd.entries[rd.entries.length - 1];
      this.log.stableTo(last.index, last.term);
    }
    if (rd.committedEntries.length > 0) {
      this.log.appliedTo(rd.committedEntries[rd.committedEntries.length - 1].index);
    }
  }

  // ---------------------------------------------------------------- views

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  confState(): ConfState {
    return { voters: [...this.voters].sort((a, b) => a - b), learners: [...this.learners].sort((a, b) => a - b) };
  }

  isVoter(id: number): boolean {
    return this.voters.has(id);
  }

  status(): RaftStatus {
    const progress = new Map<number, ProgressStatus>();
    if (this.role === Role.Leader) {
      for (const [id, pr] of this.progress) {
        progress.set(id, { match: pr.match, next: pr.next, state: pr.state, isLearner: pr.isLearner, recentActive: pr.recentActive });
      }
    }
    return {
      id: this.id, term: this.term, vote: this.vote, lead: this.lead, role: this.role,
      commit: this.log.committed, applied: this.log.applied, lastIndex: this.log.lastIndex(),
      firstIndex: this.log.firstIndex(), leadTransferee: this.leadTransferee, confState: this.confState(), progress,
    };
  }

  // ---------------------------------------------------------------- roles

  private becomeFollower(term: number, lead: number): void {
    this.reset(term);
    this.lead = lead;
    this.role = Role.Follower;
  }

  private becomePreCandidate(): void {
    if (this.role === Role.Leader) throw new Error('raft: leader cannot become pre-candidate');
    // A pre-candidate keeps its term and vote: it only asks whether it could win.
    this.votes.clear();
    this.lead = NONE;
    this.role = Role.PreCandidate;
  }

  private becomeCandidate(): void {
    if (this.role === Role.Leader) throw new Error('raft: leader cannot become candidate');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = Role.Candidate;
  }

  private becomeLeader(): void {
    if (this.role === Role.Follower) throw new Error('raft: follower cannot become leader directly');
    this.reset(this.term);
    this.lead = this.id;
    this.role = Role.Leader;
    for (const pr of this.progress.values()) pr.recentActive = true;
    // No membership change until everything before this term is applied: the guard that makes
    // single-server changes safe across leader changes.
    this.pendingConfIndex = this.log.lastIndex();
    // An empty entry of our term lets us commit everything before it (§5.4.2, §8).
    this.appendEntries([{ term: 0, index: 0, type: EntryType.Normal, data: EMPTY }]);
  }

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.electionTicks + Math.floor(this.random() * this.electionTicks);
    this.abortLeaderTransfer();
    this.votes.clear();
    const last = this.log.lastIndex();
    this.progress.clear();
    for (const id of this.voters) this.progress.set(id, this.newProgress(id, last, false));
    for (const id of this.learners) this.progress.set(id, this.newProgress(id, last, true));
    this.pendingConfIndex = 0;
    this.failPendingReads();
  }

  private newProgress(id: number, lastIndex: number, isLearner: boolean): Progress {
    const pr = new Progress(lastIndex + 1, this.maxInflight, isLearner);
    if (id === this.id) pr.match = lastIndex;
    return pr;
  }

  private ensureProgress(id: number, isLearner: boolean): void {
    const pr = this.progress.get(id);
    if (pr) {
      pr.isLearner = isLearner;
      return;
    }
    const created = this.newProgress(id, this.log.lastIndex(), isLearner);
    // A new member counts as active so check-quorum does not depose the leader before it answers.
    created.recentActive = true;
    this.progress.set(id, created);
  }

  private promotable(): boolean {
    return this.voters.has(this.id) && this.log.unstable.snapshot === null;
  }

  // ---------------------------------------------------------------- time

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.startElection(this.preVote ? 'pre-election' : 'election', false);
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTicks) {
      this.electionElapsed = 0;
      if (this.checkQuorum) {
        // Check-quorum (thesis §6.2): a leader cut off from a majority steps down, so clients
        // stop waiting on it and reads through it cannot be stale for long.
        if (!this.quorumActive()) {
          this.becomeFollower(this.term, NONE);
          return;
        }
      }
      if (this.leadTransferee !== NONE) this.abortLeaderTransfer();
    }
    if (this.heartbeatElapsed >= this.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.broadcastHeartbeat(EMPTY);
    }
  }

  private quorumActive(): boolean {
    let active = 0;
    for (const id of this.voters) {
      const pr = this.progress.get(id);
      if (id === this.id || (pr && pr.recentActive)) active++;
    }
    for (const [id, pr] of this.progress) if (id !== this.id) pr.recentActive = false;
    return active >= Math.floor(this.voters.size / 2) + 1;
  }

  // ---------------------------------------------------------------- elections

  private startElection(kind: 'pre-election' | 'election', transfer: boolean): void {
    if (!this.promotable()) return;
    // A node that has not applied a committed membership change might campaign under an old
    // configuration; wait until it has applied them.
    if (this.hasUnappliedConfChanges()) return;

    let voteType: MessageType;
    let term: number;
    if (kind === 'pre-election') {
      this.becomePreCandidate();
      voteType = MessageType.PreVote;
      term = this.term + 1; // the term we would campaign in; ours stays as it is
    } else {
      this.becomeCandidate();
      voteType = MessageType.Vote;
      term = this.term;
    }
    if (this.poll(this.id, true) === VoteResult.Won) {
      // Single-voter cluster.
      if (kind === 'pre-election') this.startElection('election', transfer);
      else this.becomeLeader();
      return;
    }
    for (const id of this.voters) {
      if (id === this.id) continue;
      const m = emptyMessage(voteType, this.id, id, term);
      m.index = this.log.lastIndex();
      m.logTerm = this.log.lastTerm();
      if (transfer) m.context = TRANSFER_CONTEXT;
      this.msgs.push(m);
    }
  }

  private hasUnappliedConfChanges(): boolean {
    if (this.log.committed <= this.log.applied) return false;
    const lo = Math.max(this.log.applied + 1, this.log.firstIndex());
    let i = lo;
    while (i <= this.log.committed) {
      const ents = this.log.slice(i, this.log.committed + 1, this.maxApplyBytes);
      for (const e of ents) if (e.type === EntryType.ConfChange) return true;
      i += ents.length;
    }
    return false;
  }

  private poll(id: number, granted: boolean): VoteResult {
    if (!this.votes.has(id)) this.votes.set(id, granted);
    return voteResult(this.voters, this.votes);
  }

  private handleVoteRequest(m: Message): void {
    const isPre = m.type === MessageType.PreVote;
    const respType = isPre ? MessageType.PreVoteResponse : MessageType.VoteResponse;
    // We may vote for the candidate if we already did, if we have voted for nobody and know no
    // leader in this term, or — for a pre-vote — if it is for a later term than ours.
    const canVote = this.vote === m.from
      || (this.vote === NONE && this.lead === NONE)
      || (isPre && m.term > this.term);
    if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
      // A granted pre-vote answers with the term it asked about; a vote with ours (now equal).
      const resp = emptyMessage(respType, this.id, m.from, m.term);
      this.msgs.push(resp);
      if (!isPre) {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      const resp = this.message(respType, m.from);
      resp.reject = true;
      this.msgs.push(resp);
    }
  }

  private stepCandidate(m: Message): void {
    const myResponse = this.role === Role.PreCandidate ? MessageType.PreVoteResponse : MessageType.VoteResponse;
    switch (m.type) {
      case MessageType.Append:
        this.becomeFollower(m.term, m.from);
        this.handleAppend(m);
        return;
      case MessageType.Heartbeat:
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case MessageType.Snapshot:
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      case MessageType.ReadIndex: {
        const resp = this.message(MessageType.ReadIndexResponse, m.from);
        resp.reject = true;
        resp.context = m.context;
        this.send(resp);
        return;
      }
      default:
        if (m.type !== myResponse) return;
        switch (this.poll(m.from, !m.reject)) {
          case VoteResult.Won:
            if (this.role === Role.PreCandidate) this.startElection('election', false);
            else {
              this.becomeLeader();
              this.broadcastAppend();
            }
            break;
          case VoteResult.Lost:
            this.becomeFollower(this.term, NONE);
            break;
          case VoteResult.Pending:
            break;
        }
    }
  }

  // ---------------------------------------------------------------- follower

  private stepFollower(m: Message): void {
    switch (m.type) {
      case MessageType.Append:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppend(m);
        break;
      case MessageType.Heartbeat:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        break;
      case MessageType.Snapshot:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        break;
      case MessageType.TimeoutNow:
        // The leader hands over: campaign at once, skipping pre-vote (voters know it is sanctioned).
        this.startElection('election', true);
        break;
      case MessageType.ReadIndexResponse:
        this.readStates.push({ index: m.index, requestCtx: m.context, rejected: m.reject });
        break;
      case MessageType.ReadIndex: {
        const resp = this.message(MessageType.ReadIndexResponse, m.from);
        resp.reject = true;
        resp.context = m.context;
        this.send(resp);
        break;
      }
      default:
        break;
    }
  }

  private handleAppend(m: Message): void {
    if (m.index < this.log.committed) {
      const resp = this.message(MessageType.AppendResponse, m.from);
      resp.index = this.log.committed;
      this.send(resp);
      return;
    }
    const lastNew = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    const resp = this.message(MessageType.AppendResponse, m.from);
    if (lastNew >= 0) {
      resp.index = lastNew;
    } else {
      // Tell the leader where our log could match so it skips whole terms (§5.3).
      const hintIndex = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex()), m.logTerm);
      resp.index = m.index;
      resp.reject = true;
      resp.rejectHint = hintIndex;
      resp.logTerm = this.log.termOrZero(hintIndex);
    }
    this.send(resp);
  }

  private handleHeartbeat(m: Message): void {
    // The leader only sends a commit we are known to have (min of its commit and our match).
    this.log.commitTo(Math.min(m.commit, this.log.lastIndex()));
    const resp = this.message(MessageType.HeartbeatResponse, m.from);
    resp.context = m.context;
    this.send(resp);
  }

  private handleSnapshot(m: Message): void {
    const resp = this.message(MessageType.AppendResponse, m.from);
    if (m.snapshot && this.restore(m.snapshot)) resp.index = this.log.lastIndex();
    else resp.index = this.log.committed;
    this.send(resp);
  }

  /** Installs a snapshot from the leader; false when it is not newer than what we have committed. */
  private restore(s: Snapshot): boolean {
    const { index, term } = s.metadata;
    if (index <= this.log.committed) return false;
    if (this.log.matchTerm(index, term)) {
      // We already have the entry: just move the commit point (§7, "retain following entries").
      this.log.commitTo(index);
      return false;
    }
    this.log.restore(s);
    this.voters.clear();
    this.learners.clear();
    for (const id of s.metadata.confState.voters) this.voters.add(id);
    for (const id of s.metadata.confState.learners) this.learners.add(id);
    this.progress.clear();
    const last = this.log.lastIndex();
    for (const id of this.voters) this.progress.set(id, this.newProgress(id, last, false));
    for (const id of this.learners) this.progress.set(id, this.newProgress(id, last, true));
    return true;
  }

  // ---------------------------------------------------------------- leader

  private checkCanPropose(): void {
    if (this.role !== Role.Leader) throw new NotLeaderError(this.lead);
    if (this.leadTransferee !== NONE) {
      throw new ProposalDroppedError(`leadership is being transferred to ${this.leadTransferee.toString(16)}`);
    }
    if (!this.progress.has(this.id)) throw new ProposalDroppedError('this node was removed from the cluster');
  }

  private validateConfChange(cc: ConfChange): void {
    const id = cc.nodeId;
    switch (cc.type) {
      case ConfChangeType.AddLearner:
        if (this.voters.has(id)) throw new ConfChangeError(`node ${id.toString(16)} is already a voter`);
        if (this.learners.has(id)) throw new ConfChangeError(`node ${id.toString(16)} is already a learner`);
        break;
      case ConfChangeType.AddVoter:
        if (this.voters.has(id)) throw new ConfChangeError(`node ${id.toString(16)} is already a voter`);
        break;
      case ConfChangeType.Remove:
        if (!this.voters.has(id) && !this.learners.has(id)) {
          throw new ConfChangeError(`node ${id.toString(16)} is not a member`);
        }
        if (this.voters.has(id) && this.voters.size === 1) {
          throw new ConfChangeError('cannot remove the last voter');
        }
        break;
    }
  }

  private appendEntries(entries: Entry[]): void {
    let index = this.log.lastIndex();
    for (const e of entries) {
      e.term = this.term;
      e.index = ++index;
    }
    this.log.append(entries);
    this.progress.get(this.id)?.maybeUpdate(this.log.lastIndex());
    this.maybeCommit();
  }

  private maybeCommit(): boolean {
    const index = committedIndex(this.voters, (id) => this.progress.get(id)?.match ?? 0);
    const committed = this.log.maybeCommit(index, this.term);
    if (committed) this.onCommitAdvanced();
    return committed;
  }

  /** Reads waiting for this term's first commit can proceed now. */
  private onCommitAdvanced(): void {
    if (this.readsAwaitingCommit.length === 0) return;
    if (this.log.termOrZero(this.log.committed) !== this.term) return;
    const waiting = this.readsAwaitingCommit;
    this.readsAwaitingCommit = [];
    for (const r of waiting) this.handleReadIndex(r.ctx, r.from);
  }

  private stepLeader(m: Message): void {
    const pr = this.progress.get(m.from);
    switch (m.type) {
      case MessageType.ReadIndex:
        this.handleReadIndex(m.context, m.from);
        return;
      case MessageType.AppendResponse:
        if (!pr) return;
        pr.recentActive = true;
        this.handleAppendResponse(m, pr);
        return;
      case MessageType.HeartbeatResponse:
        if (!pr) return;
        pr.recentActive = true;
        pr.probeSent = false;
        if (pr.state === ProgressState.Replicate && pr.inflights.full()) pr.inflights.freeFirstOne();
        if (pr.match < this.log.lastIndex()) this.sendAppend(m.from, true);
        if (m.context.byteLength > 0) this.ackRead(m.context, m.from);
        return;
      default:
        return;
    }
  }

  private handleAppendResponse(m: Message, pr: Progress): void {
    if (m.reject) {
      let hint = m.rejectHint;
      if (m.logTerm > 0) hint = this.log.findConflictByTerm(m.rejectHint, m.logTerm);
      if (pr.maybeDecrTo(m.index, hint)) {
        if (pr.state === ProgressState.Replicate) pr.becomeProbe();
        this.sendAppend(m.from, true);
      }
      return;
    }
    const wasPaused = pr.isPaused();
    if (!pr.maybeUpdate(m.index)) {
      if (wasPaused && !pr.isPaused()) this.sendAppend(m.from, false);
      return;
    }
    switch (pr.state) {
      case ProgressState.Probe:
        pr.becomeReplicate();
        break;
      case ProgressState.Snapshot:
        if (pr.match >= pr.pendingSnapshot) pr.becomeProbe();
        break;
      case ProgressState.Replicate:
        pr.inflights.freeLE(m.index);
        break;
    }
    if (this.maybeCommit()) {
      // Let followers learn the new commit index promptly.
      this.broadcastAppend();
    } else if (wasPaused) {
      this.sendAppend(m.from, false);
    }
    // Keep the pipeline full while there is more to send.
    while (this.sendAppend(m.from, false)) { /* fill the window */ }
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
      this.send(this.message(MessageType.TimeoutNow, m.from));
    }
  }

  private broadcastAppend(): void {
    for (const id of this.progress.keys()) if (id !== this.id) this.sendAppend(id, true);
  }

  private broadcastHeartbeat(ctx: Uint8Array): void {
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue;
      const m = this.message(MessageType.Heartbeat, id);
      m.commit = Math.min(pr.match, this.log.committed);
      m.context = ctx;
      this.send(m);
    }
  }

  /** Sends the next append (or a snapshot) to `to`; false when nothing was sent. */
  private sendAppend(to: number, sendIfEmpty: boolean): boolean {
    const pr = this.progress.get(to);
    if (!pr || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    let prevTerm: number;
    let entries: Entry[];
    try {
      prevTerm = this.log.term(prevIndex);
      entries = this.log.entriesFrom(pr.next, this.maxBytesPerMessage);
    } catch (err) {
      if (!(err instanceof CompactedError)) throw err;
      return this.sendSnapshot(to, pr);
    }
    if (entries.length === 0 && !sendIfEmpty) return false;
    const m = this.message(MessageType.Append, to);
    m.index = prevIndex;
    m.logTerm = prevTerm;
    m.entries = entries;
    m.commit = this.log.committed;
    if (entries.length > 0) {
      const last = entries[entries.length - 1].index;
      if (pr.state === ProgressState.Replicate) {
        pr.optimisticUpdate(last);
        pr.inflights.add(last);
      } else if (pr.state === ProgressState.Probe) {
        pr.probeSent = true;
      }
    } else if (pr.state === ProgressState.Probe) {
      pr.probeSent = true;
    }
    this.send(m);
    return true;
  }

  private sendSnapshot(to: number, pr: Progress): boolean {
    // Only to a follower we have heard from: a snapshot to a dead node is wasted bandwidth.
    if (!pr.recentActive) return false;
    const snapshot = this.log.snapshot();
    if (snapshot.metadata.index === 0) throw new Error('raft: need a snapshot but none is available');
    pr.becomeSnapshot(snapshot.metadata.index);
    const m = this.message(MessageType.Snapshot, to);
    m.snapshot = snapshot;
    this.send(m);
    return true;
  }

  private abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  // ---------------------------------------------------------------- ReadIndex

  private handleReadIndex(ctx: Uint8Array, from: number): void {
    // Until this leader commits an entry of its own term it does not know the full commit index.
    if (this.log.termOrZero(this.log.committed) !== this.term) {
      this.readsAwaitingCommit.push({ ctx, from });
      return;
    }
    const index = this.log.committed;
    if (this.voters.size === 1 && this.voters.has(this.id)) {
      this.releaseRead({ ctx, key: '', index, from, acks: new Set() });
      return;
    }
    const key = ctxKey(ctx);
    this.pendingReads.push({ ctx, key, index, from, acks: new Set([this.id]) });
    // A heartbeat round answered by a majority proves we were still leader when the read arrived.
    this.broadcastHeartbeat(ctx);
  }

  private ackRead(ctx: Uint8Array, from: number): void {
    if (!this.voters.has(from)) return;
    const key = ctxKey(ctx);
    const at = this.pendingReads.findIndex((r) => r.key === key);
    if (at < 0) return;
    const read = this.pendingReads[at];
    read.acks.add(from);
    let acked = 0;
    for (const id of read.acks) if (this.voters.has(id)) acked++;
    if (acked < Math.floor(this.voters.size / 2) + 1) return;
    // This read and every earlier one are confirmed.
    const done = this.pendingReads.splice(0, at + 1);
    for (const r of done) this.releaseRead(r);
  }

  private releaseRead(r: PendingRead): void {
    if (r.from === this.id) {
      this.readStates.push({ index: r.index, requestCtx: r.ctx });
    } else {
      const resp = this.message(MessageType.ReadIndexResponse, r.from);
      resp.index = r.index;
      resp.context = r.ctx;
      this.send(resp);
    }
  }

  private failPendingReads(): void {
    const failed = [...this.pendingReads, ...this.readsAwaitingCommit];
    this.pendingReads = [];
    this.readsAwaitingCommit = [];
    for (const r of failed) {
      if (r.from === this.id) this.readStates.push({ index: 0, requestCtx: r.ctx, rejected: true });
      else {
        const resp = emptyMessage(MessageType.ReadIndexResponse, this.id, r.from, this.term);
        resp.reject = true;
        resp.context = r.ctx;
        this.msgs.push(resp);
      }
    }
  }

  // ---------------------------------------------------------------- messages

  private message(type: MessageType, to: number): Message {
    return emptyMessage(type, this.id, to, this.term);
  }

  private send(m: Message): void {
    this.msgs.push(m);
  }
}

/** After losing the leader's connection, campaign within this many ticks… */
export const FAST_ELECTION_DELAY_TICKS = 1;
/** …plus this many per lower-ranked survivor, so the survivors take turns rather than split votes. */
export const FAST_ELECTION_STAGGER_TICKS = 2;

function isTransfer(ctx: Uint8Array): boolean {
  return ctx.byteLength === 1 && ctx[0] === TRANSFER_CONTEXT[0];
}

function ctxKey(ctx: Uint8Array): string {
  let s = '';
  for (let i = 0; i < ctx.byteLength; i++) s += ctx[i].toString(16).padStart(2, '0');
  return s;
}
