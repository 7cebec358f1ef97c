// Deterministic simulation of the replicated store: real RaftNodes (the real driver and core)
// and real Stores, on virtual time and a seeded virtual network with delays, loss and
// partitions. Clients run a key-value workload through the store API — puts as store updates of
// config objects, gets as linearizable reads — on random managers, and the history is checked
// with the linearizability checker. `staleReads` plants a bug (followers read local state
// without ReadIndex) that the checker must catch.

import { Clock } from '../../manager/raft/clock.js';
import { RaftNode } from '../../manager/raft/node.js';
import { MemoryStorage } from '../../manager/raft/storage.js';
import type { Transport, TransportHandler } from '../../manager/raft/transport.js';
import { Message, MessageType } from '../../manager/raft/types.js';
import { Store } from '../../manager/store/store.js';
import { checkOperations } from '../lincheck/checker.js';
import { KvOperation, kvModel } from '../lincheck/kv-model.js';
import { EventQueue } from './event-queue.js';
import { Prng } from './prng.js';

const TICK_MS = 100;
const KEYS = ['a', 'b', 'c'];

export interface StoreSimOptions {
  durationMs?: number;
  clients?: number;
  /** Planted bug: gets on followers read local state without a ReadIndex round. */
  staleReads?: boolean;
}

export interface StoreSimResult {
  seed: number;
  linearizable: boolean | 'unknown';
  reason?: string;
  operations: number;
  completed: number;
  staleCandidates: number;
}

/** Virtual time: callbacks run in (time, insertion) order; nothing real is waited for. */
class VirtualClock implements Clock {
  current = 0;
  readonly queue = new EventQueue<() => void>();
  private readonly cancelled = new Set<number>();
  private nextHandle = 1;

  now(): number {
    return this.current;
  }

  setInterval(fn: () => void, ms: number): unknown {
    const handle = this.nextHandle++;
    const fire = (): void => {
      if (this.cancelled.has(handle)) return;
      fn();
      this.queue.push(this.current + ms, fire);
    };
    this.queue.push(this.current + ms, fire);
    return handle;
  }

  clearInterval(handle: unknown): void {
    this.cancelled.add(handle as number);
  }

  setImmediate(fn: () => void): void {
    this.queue.push(this.current, fn);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.queue.push(this.current + ms, resolve));
  }

  at(delay: number, fn: () => void): void {
    this.queue.push(this.current + delay, fn);
  }
}

/** A seeded network: per-message delay, loss, and cut links. Snapshot outcomes are reported like grpc-transport's. */
class SimNetwork {
  readonly handlers = new Map<number, TransportHandler>();
  readonly cut = new Set<string>();

  constructor(private readonly clock: VirtualClock, private readonly rng: Prng, private readonly maxDelay: number, private readonly dropRate: number) {}

  transport(id: number): Transport {
    return {
      setHandler: (h) => { this.handlers.set(id, h); },
      start: async () => {},
      send: (messages) => { for (const m of messages) this.deliver(id, m); },
      setPeer: () => {},
      removePeer: () => {},
      close: async () => { this.handlers.delete(id); },
    };
  }

  private deliver(from: number, m: Message): void {
    const lost = this.cut.has(`${from}>${m.to}`) || this.rng.chance(this.dropRate);
    const delay = this.rng.int(1, this.maxDelay);
    if (m.type === MessageType.Snapshot) {
      this.clock.at(delay + 1, () => this.handlers.get(from)?.onSnapshotStatus(m.to, !lost));
    }
    if (lost) return;
    const copy: Message = { ...m, entries: m.entries.slice() };
    this.clock.at(delay, () => this.handlers.get(m.to)?.onMessage(copy));
  }

  isolate(id: number, ids: number[]): void {
    for (const other of ids) {
      if (other === id) continue;
      this.cut.add(`${id}>${other}`);
      this.cut.add(`${other}>${id}`);
    }
  }
}

interface Manager {
  id: number;
  node: RaftNode;
  store: Store;
}

export async function runStoreSeed(seed: number, options: StoreSimOptions = {}): Promise<StoreSimResult> {
  const rng = new Prng(seed);
  const clock = new VirtualClock();
  const network = new SimNetwork(clock, rng, rng.pick([2, 10, 30]), rng.pick([0, 0.01, 0.05]));
  const ids = [1, 2, 3];
  const members = ids.map((id) => ({ id, address: `manager-${id}` }));
  const managers: Manager[] = [];
  let idSeq = 0;
  for (const id of ids) {
    const store = new Store({ now: () => new Date(Date.UTC(2026, 0, 1) + clock.now()), newId: () => `obj${seed}x${++idSeq}`.padEnd(25, '0') });
    const node = await RaftNode.start({
      id, storage: new MemoryStorage(), transport: network.transport(id), stateMachine: store, bootstrap: members,
      clock, random: () => rng.next(), tickMs: TICK_MS, requestTimeoutMs: 2000, snapshotEntries: 40, snapshotCatchUpEntries: 5,
    });
    store.attach(node);
    managers.push({ id, node, store });
  }

  const durationMs = options.durationMs ?? 6000;
  const history: KvOperation[] = [];
  let order = 0; // a global sequence: call/return order as it really happened
  let staleCandidates = 0;
  let running = true;

  const leaderStore = (): Manager | undefined => managers.find((m) => m.node.isLeader);

  async function setupKeys(): Promise<void> {
    for (const key of KEYS) {
      for (;;) {
        const m = leaderStore();
        if (m) {
          try {
            await m.store.update((tx) => { tx.create('config', { Spec: { Name: key, Data: '' } }); });
            history.push({ clientId: 0, input: { kind: 'put', key, value: '' }, call: order++, output: {}, return: order++ });
            break;
          } catch { /* retry after the election settles */ }
        }
        await clock.sleep(50);
      }
    }
  }

  async function client(clientId: number): Promise<void> {
    let n = 0;
    while (running) {
      await clock.sleep(rng.int(1, 40));
      const key = rng.pick(KEYS);
      const m = rng.pick(managers);
      if (rng.chance(0.5)) {
        const value = `c${clientId}-${++n}`;
        const op: KvOperation = { clientId, input: { kind: 'put', key, value }, call: order++, output: {}, return: Infinity };
        try {
          await m.store.update((tx) => {
            const current = tx.lookup('config', key);
            tx.update('config', { ...current, Spec: { ...current.Spec, Data: value } });
          });
          op.return = order++;
          history.push(op);
        } catch (err) {
          const code = (err as { code?: string }).code;
          // Definite failures change nothing and are left out; an unknown outcome stays pending.
          if (code === 'PROPOSAL_DROPPED' || code === 'NO_QUORUM') history.push({ ...op, output: undefined });
        }
      } else {
        const call = order++;
        try {
          if (!(options.staleReads && !m.node.isLeader)) await m.store.readLinearizable();
          else staleCandidates++;
          const value = m.store.lookup('config', key).Spec.Data as string;
          history.push({ clientId, input: { kind: 'get', key }, call, output: { value }, return: order++ });
        } catch { /* a failed read observed nothing */ }
      }
    }
  }

  function chaos(): void {
    if (clock.now() > durationMs) return;
    network.cut.clear();
    switch (rng.int(0, 3)) {
      case 0: network.isolate(rng.pick(ids), ids); break;
      case 1: {
        const leader = leaderStore();
        if (leader) network.isolate(leader.id, ids);
        break;
      }
      default: break; // healed
    }
    clock.at(rng.int(200, 1500), chaos);
  }

  // The simulation loop: run due callbacks in order, letting promise chains settle after each.
  let finished = false;
  const workload = (async () => {
    await setupKeys();
    clock.at(500, chaos);
    const clients = Array.from({ length: options.clients ?? 4 }, (_, i) => client(i + 1));
    await clock.sleep(durationMs);
    running = false;
    network.cut.clear();
    await Promise.all(clients);
  })().finally(() => { finished = true; });

  let steps = 0;
  while (!finished) {
    const item = clock.queue.pop();
    if (!item) break;
    clock.current = Math.max(clock.current, item.at);
    item.event();
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (++steps > 5_000_000) throw new Error('store simulation did not finish');
  }
  await workload;
  for (const m of managers) {
    void m.node.stop();
    m.store.close();
  }

  const result = checkOperations(kvModel, history, { timeoutMs: 20_000 });
  return {
    seed,
    linearizable: result.ok,
    reason: result.ok === true ? undefined : result.reason,
    operations: history.length,
    completed: history.filter((op) => op.return !== Infinity).length,
    staleCandidates,
  };
}
