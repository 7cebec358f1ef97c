// A small deterministic network of RaftCores for unit tests. Each member has a MemoryStorage and
// a toy state machine (the list of applied payloads); the harness drives every Ready exactly like
// a real driver: persist (storage.save) → send → apply (conf changes via applyConfChange) →
// advance. Nothing is delivered until the test asks for it, so a test can inspect, reorder, drop
// or inject messages at every step. There is no clock: time is tick().

import { RaftCore, RaftConfig } from '../../../manager/raft/core.js';
import { decodeConfChange, encodeConfChange } from '../../../manager/raft/conf-change.js';
import { MemoryStorage } from '../../../manager/raft/storage.js';
import {
  ConfChange, ConfChangeType, EMPTY, Entry, EntryType, Message, MessageType, ReadState, Ready, Snapshot, emptyMessage,
} from '../../../manager/raft/types.js';

export const ELECTION_TICKS = 10;
export const HEARTBEAT_TICKS = 1;

const enc = new TextEncoder();
const dec = new TextDecoder();

export function bytes(s: string): Uint8Array {
  return enc.encode(s);
}

export function text(b: Uint8Array): string {
  return dec.decode(b);
}

/** Knobs passed through to RaftConfig; `random` defaults to () => 0 so timeouts are exactly electionTicks. */
export type CoreOptions = Partial<Omit<RaftConfig, 'id' | 'storage'>>;

/** A node's durable state before the test starts, on top of the genesis snapshot (index 1, term 1). */
export interface InitialState {
  /** Terms of the log entries at indices 2, 3, 4, … */
  logTerms?: number[];
  term?: number;
  vote?: number;
  commit?: number;
}

export const GENESIS_INDEX = 1;
export const GENESIS_TERM = 1;

/** Storage holding the genesis snapshot that names the founding members, plus an optional log. */
export function genesisStorage(voters: number[], learners: number[] = [], init: InitialState = {}): MemoryStorage {
  const storage = new MemoryStorage();
  storage.applySnapshot({
    metadata: { index: GENESIS_INDEX, term: GENESIS_TERM, confState: { voters: [...voters], learners: [...learners] } },
    data: EMPTY,
  });
  const terms = init.logTerms ?? [];
  storage.append(terms.map((term, i) => entry(GENESIS_INDEX + 1 + i, term, `e${GENESIS_INDEX + 1 + i}@${term}`)));
  const lastTerm = terms.length > 0 ? terms[terms.length - 1] : 0;
  // Like RaftNode's bootstrap, the founding members start in the genesis term, so the first
  // election is for term 2.
  storage.setHardState({ term: init.term ?? Math.max(GENESIS_TERM, lastTerm), vote: init.vote ?? 0, commit: init.commit ?? GENESIS_INDEX });
  return storage;
}

export function entry(index: number, term: number, data: string | Uint8Array = EMPTY, type = EntryType.Normal): Entry {
  return { index, term, type, data: typeof data === 'string' ? bytes(data) : data };
}

/** Entries with the given terms starting at `first`. */
export function entries(first: number, terms: number[]): Entry[] {
  return terms.map((t, i) => entry(first + i, t, `e${first + i}@${t}`));
}

export function newCore(id: number, storage: MemoryStorage, options: CoreOptions = {}): RaftCore {
  return new RaftCore({
    id, storage,
    electionTicks: ELECTION_TICKS, heartbeatTicks: HEARTBEAT_TICKS, random: () => 0,
    ...options,
  });
}

/** A message as a peer would send it; fields not given are empty. */
export function msg(type: MessageType, from: number, to: number, term: number, fields: Partial<Message> = {}): Message {
  return { ...emptyMessage(type, from, to, term), ...fields };
}

/** Terms of the core's log from firstIndex-1 (the snapshot or dummy) to lastIndex, for comparing logs. */
export function logTerms(core: RaftCore, from = core.log.firstIndex()): number[] {
  const out: number[] = [];
  for (let i = from; i <= core.log.lastIndex(); i++) out.push(core.log.term(i));
  return out;
}

export class Member {
  core: RaftCore | null;
  /** The state machine: payloads of applied non-empty normal entries, in order. */
  data: string[] = [];
  appliedIndex: number;
  /** Every committed entry handed to this member (including empty and conf-change ones). */
  appliedEntries: Entry[] = [];
  readStates: ReadState[] = [];
  snapshotsInstalled: Snapshot[] = [];
  /** Every Ready this member processed, newest last (handy for checking what was persisted). */
  readies: Ready[] = [];

  constructor(readonly id: number, readonly storage: MemoryStorage, readonly options: CoreOptions) {
    this.appliedIndex = storage.snapshot().metadata.index;
    this.core = newCore(id, storage, options);
  }

  get raft(): RaftCore {
    if (!this.core) throw new Error(`node ${this.id} is down`);
    return this.core;
  }
}

export interface NetworkOptions {
  /** Founding learners (the genesis configuration names them too). */
  learners?: number[];
  /** Options for every core… */
  core?: CoreOptions;
  /** …overridden per node. */
  perNode?: Record<number, CoreOptions>;
  /** Durable state per node on top of the genesis snapshot. */
  init?: Record<number, InitialState>;
}

/**
 * A network of members. Sent messages wait in `pending` (FIFO) until delivered; links can be cut
 * in either direction, which drops messages at send time (as a partition would).
 */
export class Network {
  readonly members = new Map<number, Member>();
  pending: Message[] = [];
  /** Every message any member sent, including those a cut link dropped. */
  sent: Message[] = [];
  private readonly cut = new Set<string>();

  constructor(voters: number[], opts: NetworkOptions = {}) {
    const learners = opts.learners ?? [];
    for (const id of [...voters, ...learners]) {
      const core = { ...opts.core, ...opts.perNode?.[id] };
      this.members.set(id, new Member(id, genesisStorage(voters, learners, opts.init?.[id]), core));
    }
  }

  /** Adds a brand-new member with empty storage (it learns the cluster from the leader's snapshot). */
  addEmpty(id: number, core: CoreOptions = {}): Member {
    const m = new Member(id, new MemoryStorage(), core);
    this.members.set(id, m);
    return m;
  }

  member(id: number): Member {
    const m = this.members.get(id);
    if (!m) throw new Error(`no member ${id}`);
    return m;
  }

  core(id: number): RaftCore {
    return this.member(id).raft;
  }

  // ---------------------------------------------------------------- faults

  /** Drops messages from `from` to `to` (one direction). */
  cutLink(from: number, to: number): void {
    this.cut.add(`${from}>${to}`);
  }

  /** Drops everything to and from `id`. */
  isolate(id: number): void {
    for (const other of this.members.keys()) {
      if (other === id) continue;
      this.cutLink(id, other);
      this.cutLink(other, id);
    }
  }

  heal(): void {
    this.cut.clear();
  }

  /** The node stops: its in-memory core is lost; its storage survives. */
  crash(id: number): void {
    this.member(id).core = null;
  }

  /** Restarts a node from its storage; the state machine is rebuilt from the storage's snapshot. */
  restart(id: number): RaftCore {
    const m = this.member(id);
    const snap = m.storage.snapshot();
    m.data = snapData(snap);
    m.appliedIndex = snap.metadata.index;
    m.core = newCore(id, m.storage, m.options);
    this.process(id);
    return m.core;
  }

  // ---------------------------------------------------------------- inputs

  tick(id: number, n = 1): void {
    for (let i = 0; i < n; i++) {
      this.core(id).tick();
      this.process(id);
    }
  }

  /** `rounds` rounds of: tick each of `ids` once, then deliver everything. */
  tickRounds(ids: number[], rounds: number): void {
    for (let r = 0; r < rounds; r++) {
      for (const id of ids) if (this.member(id).core) this.tick(id);
      this.deliverAll();
    }
  }

  /** Campaigns on `id` and delivers everything; returns the core (not necessarily leader). */
  campaign(id: number): RaftCore {
    this.core(id).campaign();
    this.process(id);
    this.deliverAll();
    return this.core(id);
  }

  propose(id: number, ...payloads: string[]): void {
    this.core(id).propose(payloads.map(bytes));
    this.process(id);
  }

  proposeConfChange(id: number, type: ConfChangeType, nodeId: number): void {
    const cc: ConfChange = { type, nodeId, context: EMPTY };
    this.core(id).proposeConfChange(cc, encodeConfChange(cc));
    this.process(id);
  }

  readIndex(id: number, ctx: string): void {
    this.core(id).readIndex(bytes(ctx));
    this.process(id);
  }

  /** Runs `fn` against a member's core and processes the resulting Ready. */
  input(id: number, fn: (core: RaftCore) => void): void {
    fn(this.core(id));
    this.process(id);
  }

  /** Steps one message into its recipient (bypassing `pending` and cut links) and processes the Ready. */
  inject(m: Message): void {
    const target = this.members.get(m.to);
    if (!target?.core) return;
    target.core.step({ ...m, entries: m.entries.slice() });
    this.process(m.to);
  }

  // ---------------------------------------------------------------- delivery

  /** Delivers pending messages (and everything they cause) until the network is quiet. */
  deliverAll(limit = 100_000): void {
    let n = 0;
    while (this.pending.length > 0) {
      if (++n > limit) throw new Error('network did not quiesce');
      this.inject(this.pending.shift()!);
    }
  }

  /** Delivers, once, the pending messages that match; the rest stay pending. Returns what was delivered. */
  deliver(pred: (m: Message) => boolean): Message[] {
    const chosen = this.take(pred);
    for (const m of chosen) this.inject(m);
    return chosen;
  }

  /** Delivers matching messages, and the matching messages they cause, until none is pending. */
  deliverWhile(pred: (m: Message) => boolean, limit = 100_000): void {
    let n = 0;
    for (;;) {
      const i = this.pending.findIndex(pred);
      if (i < 0) return;
      if (++n > limit) throw new Error('network did not quiesce');
      const [m] = this.pending.splice(i, 1);
      this.inject(m);
    }
  }

  /** Removes and returns the pending messages that match. */
  take(pred: (m: Message) => boolean = () => true): Message[] {
    const chosen = this.pending.filter(pred);
    this.pending = this.pending.filter((m) => !pred(m));
    return chosen;
  }

  // ---------------------------------------------------------------- the driver

  /** Handles every Ready the member has: persist → send → apply → advance. */
  process(id: number): void {
    const m = this.member(id);
    const core = m.core;
    if (!core) return;
    while (core.hasReady()) {
      const rd = core.ready();
      m.readies.push(rd);
      // 1. Persist (one write), before any message that depends on it leaves.
      m.storage.save(rd.hardState, rd.entries, rd.snapshot);
      // 2. Send.
      for (const msg of rd.messages) this.send(msg);
      // 3. Apply.
      if (rd.snapshot) {
        m.data = snapData(rd.snapshot);
        m.appliedIndex = rd.snapshot.metadata.index;
        m.snapshotsInstalled.push(rd.snapshot);
      }
      for (const e of rd.committedEntries) {
        if (e.index <= m.appliedIndex) continue;
        if (e.index !== m.appliedIndex + 1) throw new Error(`node ${id} applies ${e.index} after ${m.appliedIndex}`);
        m.appliedIndex = e.index;
        m.appliedEntries.push(e);
        if (e.type === EntryType.ConfChange) core.applyConfChange(decodeConfChange(e.data));
        else if (e.data.byteLength > 0) m.data.push(text(e.data));
      }
      m.readStates.push(...rd.readStates);
      // 4. Advance.
      core.advance(rd);
    }
  }

  private send(m: Message): void {
    const copy: Message = { ...m, entries: m.entries.slice() };
    this.sent.push(copy);
    if (this.cut.has(`${m.from}>${m.to}`)) return;
    this.pending.push(copy);
  }

  /** Takes a snapshot of `id`'s state machine at its applied index and compacts the log up to it. */
  compact(id: number, keep = 0): number {
    const m = this.member(id);
    const index = m.appliedIndex;
    m.storage.createSnapshot(index, m.raft.confState(), bytes(JSON.stringify(m.data)), index - keep);
    return index;
  }

  /** Campaigns on `id`, delivers everything and checks it won. */
  elect(id: number): RaftCore {
    const core = this.campaign(id);
    if (core.role !== 'leader') throw new Error(`node ${id} did not win the election (role ${core.role})`);
    return core;
  }
}

function snapData(s: Snapshot): string[] {
  return s.data.byteLength > 0 ? (JSON.parse(text(s.data)) as string[]) : [];
}

export function isType(...types: MessageType[]): (m: Message) => boolean {
  return (m) => types.includes(m.type);
}

export function between(from: number, to: number, ...types: MessageType[]): (m: Message) => boolean {
  return (m) => m.from === from && m.to === to && (types.length === 0 || types.includes(m.type));
}

/** Completes every Ready of a standalone core like a driver would (persist, apply, advance) and returns them. */
export function drainReadies(core: RaftCore, storage: MemoryStorage): Ready[] {
  const out: Ready[] = [];
  while (core.hasReady()) {
    const rd = core.ready();
    storage.save(rd.hardState, rd.entries, rd.snapshot);
    for (const e of rd.committedEntries) {
      if (e.type === EntryType.ConfChange) core.applyConfChange(decodeConfChange(e.data));
    }
    core.advance(rd);
    out.push(rd);
  }
  return out;
}

/** Like drainReadies, returning only the messages the core sent. */
export function drain(core: RaftCore, storage: MemoryStorage): Message[] {
  return drainReadies(core, storage).flatMap((rd) => rd.messages);
}

/** A standalone core (no network) over a genesis storage, with its startup Ready already handled. */
export function solo(id: number, init: InitialState = {}, options: CoreOptions = {}, voters = [1, 2, 3]) {
  const storage = genesisStorage(voters, [], init);
  const core = newCore(id, storage, options);
  drainReadies(core, storage);
  return {
    core, storage,
    /** Handles the pending Readies; returns the messages sent. */
    out: () => drain(core, storage),
    readies: () => drainReadies(core, storage),
    /** Steps a message and returns what the core sent in response. */
    step: (m: Message) => { core.step(m); return drain(core, storage); },
  };
}
