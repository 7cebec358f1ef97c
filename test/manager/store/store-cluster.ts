// The one place store tests get their stores from: a real raft cluster in this process. Each
// member is a Store driven by its own RaftNode (manager/raft) over MemoryStorage, the members
// talking through a LocalNetwork, wired exactly as a manager wires them:
//
//   const store = new Store();
//   const node = await RaftNode.start({ stateMachine: store, ... });
//   store.attach(node);
//
// Failures are produced for real, through the network: isolate() the leader and its writes time
// out (NO_QUORUM) or are overwritten by the leader the majority elects (PROPOSAL_DROPPED).
//
// Every cluster started here is stopped after the test that started it (the afterEach hook below
// applies to every test in any file importing this module), passed or failed, so no raft ticker
// keeps the test process alive.
import { afterEach } from 'node:test';
import { LocalNetwork } from '../../../manager/raft/local-transport.js';
import { RaftNode } from '../../../manager/raft/node.js';
import { MemoryStorage } from '../../../manager/raft/storage.js';
import { EntryType } from '../../../manager/raft/types.js';
import { Store } from '../../../manager/store/store.js';
import type { StoreOptions } from '../../../manager/store/store.js';

/** Raft ticks every 10 ms: an election takes 100–200 ms with the default 10 election ticks. */
export const TICK_MS = 10;

/** A committed entry as the state machine receives it. */
export interface CommittedEntry {
  readonly index: number;
  readonly data: Uint8Array;
}

export interface StoreClusterOptions {
  /** Members besides the leader; 2 by default (three managers). 0 gives a one-member cluster. */
  followers?: number;
  /** Options for every member's Store (clock, ID generator, watch history). */
  store?: Omit<StoreOptions, 'log'>;
  /** Raft timing, for tests that make raft fail: how long a request waits, how soon leaders fall. */
  raft?: { electionTicks?: number; requestTimeoutMs?: number };
}

export interface StoreCluster {
  /** The store whose manager was elected raft leader at start: where updates go. */
  readonly leader: Store;
  /** That leader's raft node id, as NotLeaderError.leaderId names it. */
  readonly leaderId: number;
  /** Stores on the other managers: they apply the same entries and refuse writes. */
  readonly followers: readonly Store[];
  /** The leader, then the followers. */
  readonly members: readonly Store[];
  /** The raft node driving a member's store. */
  raftOf(store: Store): RaftNode;
  /**
   * Every entry committed so far that reached the state machines, in log order: the current
   * leader's log from its first index to its commit index, without raft's own entries (a new
   * leader's empty entry and membership changes, which RaftNode never hands the state machine).
   */
  committedEntries(): CommittedEntry[];
  /** Cuts a member off from every other member, both ways, until heal(). */
  isolate(store: Store): void;
  heal(): void;
  /**
   * Waits until one member leads and every member (but `excluding`) knows it; returns its store.
   * Excluding an isolated member waits for the majority's leader.
   */
  waitForLeader(options?: { excluding?: Store }): Promise<Store>;
  /** Waits until every member reflects every write committed so far (followers lag the leader). */
  settle(): Promise<void>;
  /** Stops every raft node and closes every store; safe to call twice. */
  stop(): Promise<void>;
}

/** Applied entries between raft snapshots: more than any test writes, so the log is never compacted. */
const NEVER_SNAPSHOT = 1_000_000;
/**
 * Long enough that no healthy proposal or read times out even on an overloaded machine (event
 * loop stalls of over a second have been seen with many test processes per CPU); tests that need
 * NO_QUORUM pass a short requestTimeoutMs of their own.
 */
const DEFAULT_REQUEST_TIMEOUT_MS = 5000;
const WAIT_TIMEOUT_MS = 5000;

/** stop() of every cluster not yet stopped. */
const running = new Set<() => Promise<void>>();

afterEach(async () => {
  await Promise.all([...running].map((stop) => stop()));
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every tick until it holds; fails naming `what` after a few seconds. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = WAIT_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await sleep(TICK_MS);
  }
}

interface Member {
  readonly id: number;
  readonly store: Store;
  readonly storage: MemoryStorage;
  node: RaftNode | undefined;
}

export async function startStoreCluster(options: StoreClusterOptions = {}): Promise<StoreCluster> {
  const size = 1 + (options.followers ?? 2);
  const net = new LocalNetwork();
  const bootstrap = Array.from({ length: size }, (_, i) => ({ id: i + 1, address: `manager-${i + 1}` }));
  const all: Member[] = bootstrap.map(({ id }) => ({ id, store: new Store(options.store), storage: new MemoryStorage(), node: undefined }));

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      running.delete(stop);
      for (const member of all) {
        await member.node?.stop();
        member.store.close();
      }
    })();
    return stopped;
  };
  // Registered before anything can fail, so a half-started cluster is stopped too.
  running.add(stop);

  const memberOf = (store: Store): Member => {
    const member = all.find((m) => m.store === store);
    if (!member) throw new Error('that store is not a member of this cluster');
    return member;
  };
  const nodeOf = (member: Member): RaftNode => {
    if (!member.node) throw new Error(`member ${member.id} has no raft node`);
    return member.node;
  };

  const waitForLeader = async ({ excluding }: { excluding?: Store } = {}): Promise<Store> => {
    const voters = all.filter((m) => m.store !== excluding);
    let leader: Member | undefined;
    await waitFor(() => {
      leader = voters.find((m) => nodeOf(m).isLeader);
      return leader !== undefined && voters.every((m) => nodeOf(m).leaderId === leader!.id);
    }, `members ${voters.map((m) => m.id).join(', ')} agree on a leader`);
    return leader!.store;
  };

  const settle = async (): Promise<void> => {
    await waitForLeader();
    await Promise.all(all.map((m) => m.store.readLinearizable()));
  };

  let leaderMember: Member;
  try {
    for (const member of all) {
      member.node = await RaftNode.start({
        id: member.id,
        storage: member.storage,
        transport: net.transport(member.id),
        stateMachine: member.store,
        bootstrap,
        tickMs: TICK_MS,
        electionTicks: options.raft?.electionTicks,
        requestTimeoutMs: options.raft?.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
        snapshotEntries: NEVER_SNAPSHOT,
      });
      member.store.attach(member.node);
    }
    // Campaign at once instead of waiting out an election timeout; any member may still win.
    nodeOf(all[0]).campaign();
    leaderMember = memberOf(await waitForLeader());
    await settle();
  } catch (error) {
    await stop();
    throw error;
  }
  const followerMembers = all.filter((m) => m !== leaderMember);
  const leader = leaderMember.store;
  const followers = followerMembers.map((m) => m.store);

  const committedEntries = (): CommittedEntry[] => {
    const source = all.find((m) => nodeOf(m).isLeader) ?? leaderMember;
    const { commit } = nodeOf(source).status();
    const first = source.storage.firstIndex();
    if (commit < first) return [];
    return source.storage.entries(first, commit + 1, Number.POSITIVE_INFINITY)
      .filter((entry) => entry.type === EntryType.Normal && entry.data.byteLength > 0)
      .map((entry) => ({ index: entry.index, data: entry.data.slice() }));
  };

  return {
    leader,
    leaderId: leaderMember.id,
    followers,
    members: [leader, ...followers],
    raftOf: (store: Store) => nodeOf(memberOf(store)),
    committedEntries,
    isolate: (store: Store) => net.isolate(memberOf(store).id),
    heal: () => net.heal(),
    waitForLeader,
    settle,
    stop,
  };
}
