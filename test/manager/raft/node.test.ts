// The driver with real cores, in-memory storage and the in-process network: elections,
// replication, reads, membership, transfer, snapshots and restarts through RaftNode's API.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RaftNode, StateMachine } from '../../../manager/raft/node.js';
import { LocalNetwork } from '../../../manager/raft/local-transport.js';
import { MemoryStorage } from '../../../manager/raft/storage.js';
import { NotLeaderError } from '../../../manager/raft/errors.js';

const TICK_MS = 10;

/** A key-value map as the replicated state machine: "key=value" entries. */
class KvMachine implements StateMachine {
  kv = new Map<string, string>();
  apply(_index: number, data: Uint8Array): unknown {
    if (data.byteLength === 0) return null;
    const [k, v] = new TextDecoder().decode(data).split('=');
    const previous = this.kv.get(k);
    this.kv.set(k, v);
    return previous ?? null;
  }
  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify([...this.kv]));
  }
  restore(data: Uint8Array): void {
    this.kv = new Map(data.byteLength ? JSON.parse(new TextDecoder().decode(data)) : []);
  }
}

interface TestMember {
  id: number;
  storage: MemoryStorage;
  machine: KvMachine;
  node: RaftNode | null;
}

class TestCluster {
  readonly net = new LocalNetwork();
  readonly members = new Map<number, TestMember>();

  async start(ids: number[], options: { snapshotEntries?: number } = {}): Promise<void> {
    const bootstrap = ids.map((id) => ({ id, address: `node-${id}` }));
    for (const id of ids) {
      const m: TestMember = { id, storage: new MemoryStorage(), machine: new KvMachine(), node: null };
      this.members.set(id, m);
      await this.boot(m, { bootstrap, snapshotEntries: options.snapshotEntries });
    }
  }

  async boot(m: TestMember, extra: { bootstrap?: { id: number; address: string }[]; peers?: { id: number; address: string }[]; snapshotEntries?: number } = {}): Promise<void> {
    m.machine = new KvMachine();
    m.node = await RaftNode.start({
      id: m.id, storage: m.storage, transport: this.net.transport(m.id), stateMachine: m.machine,
      tickMs: TICK_MS, snapshotEntries: extra.snapshotEntries ?? 50, snapshotCatchUpEntries: 5,
      bootstrap: extra.bootstrap, peers: extra.peers,
    });
  }

  async leader(timeoutMs = 5000): Promise<RaftNode> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      for (const m of this.members.values()) if (m.node?.isLeader) return m.node;
      await sleep(TICK_MS);
    }
    throw new Error('no leader elected');
  }

  async put(key: string, value: string): Promise<void> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const leader = await this.leader();
      try {
        await leader.propose(new TextEncoder().encode(`${key}=${value}`));
        return;
      } catch {
        await sleep(TICK_MS * 2);
      }
    }
    throw new Error(`put ${key} failed`);
  }

  async converged(ids: number[], key: string, value: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (ids.every((id) => this.members.get(id)!.machine.kv.get(key) === value)) return;
      await sleep(TICK_MS);
    }
    throw new Error(`members ${ids} did not converge on ${key}=${value}`);
  }

  async stop(): Promise<void> {
    for (const m of this.members.values()) await m.node?.stop();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

test('three nodes elect one leader and replicate proposals to every state machine', async () => {
  const c = new TestCluster();
  await c.start([1, 2, 3]);
  try {
    const leader = await c.leader();
    const { index, result } = await leader.propose(new TextEncoder().encode('a=1'));
    assert.ok(index > 1);
    assert.equal(result, null);
    const second = await leader.propose(new TextEncoder().encode('a=2'));
    assert.equal(second.result, '1', 'the state machine result reaches the proposer');
    await c.converged([1, 2, 3], 'a', '2');
    const leaders = [...c.members.values()].filter((m) => m.node!.isLeader);
    assert.equal(leaders.length, 1);
  } finally {
    await c.stop();
  }
});

test('a proposal on a follower fails fast with NOT_LEADER naming the leader', async () => {
  const c = new TestCluster();
  await c.start([1, 2, 3]);
  try {
    const leader = await c.leader();
    await c.put('x', '1');
    const follower = [...c.members.values()].find((m) => m.id !== leader.id)!.node!;
    await assert.rejects(follower.propose(new TextEncoder().encode('y=1')), (err: unknown) => {
      assert.ok(err instanceof NotLeaderError);
      assert.equal(err.code, 'NOT_LEADER');
      assert.equal(err.leaderId, leader.id);
      assert.match(err.message, new RegExp(`node-${leader.id}`));
      return true;
    });
  } finally {
    await c.stop();
  }
});

test('readIndex on a follower sees every write acknowledged before it', async () => {
  const c = new TestCluster();
  await c.start([1, 2, 3]);
  try {
    const leader = await c.leader();
    const follower = [...c.members.values()].find((m) => m.id !== leader.id)!;
    for (let i = 0; i < 20; i++) {
      await leader.propose(new TextEncoder().encode(`k=${i}`));
      await follower.node!.readIndex();
      assert.equal(follower.machine.kv.get('k'), String(i));
    }
  } finally {
    await c.stop();
  }
});

test('a partitioned minority cannot commit; the majority elects a new leader and continues', async () => {
  const c = new TestCluster();
  await c.start([1, 2, 3]);
  try {
    const old = await c.leader();
    c.net.isolate(old.id);
    const write = old.propose(new TextEncoder().encode('lost=1'));
    const others = [...c.members.values()].filter((m) => m.id !== old.id);
    let next: RaftNode | undefined;
    for (let i = 0; i < 300 && !next; i++) {
      next = others.find((m) => m.node!.isLeader)?.node ?? undefined;
      await sleep(TICK_MS);
    }
    assert.ok(next, 'majority elected a leader');
    await next.propose(new TextEncoder().encode('after=1'));
    c.net.heal();
    await assert.rejects(write);
    await c.converged([1, 2, 3], 'after', '1');
    for (const m of c.members.values()) assert.equal(m.machine.kv.has('lost'), false);
  } finally {
    await c.stop();
  }
});

test('leadership transfer hands over to the named voter', async () => {
  const c = new TestCluster();
  await c.start([1, 2, 3]);
  try {
    const leader = await c.leader();
    await c.put('t', '1');
    const target = [1, 2, 3].find((id) => id !== leader.id)!;
    await leader.transferLeadership(target);
    assert.equal((await c.leader()).id, target);
    await c.put('t', '2');
    await c.converged([1, 2, 3], 't', '2');
  } finally {
    await c.stop();
  }
});

test('\'leadership\' tells a node when it becomes and stops being the leader', async () => {
  const c = new TestCluster();
  await c.start([1, 2, 3]);
  try {
    const leader = await c.leader();
    const target = [1, 2, 3].find((id) => id !== leader.id)!;
    const next = c.members.get(target)!.node!;
    const seen: string[] = [];
    leader.on('leadership', (leading: boolean) => seen.push(`${leader.id}:${leading}:${leader.isLeader}`));
    next.on('leadership', (leading: boolean) => seen.push(`${next.id}:${leading}:${next.isLeader}`));
    await leader.transferLeadership(target);
    await c.put('t', '1');
    // Each flip once, and the getter agrees when the event arrives.
    assert.deepEqual(seen.sort(), [`${leader.id}:false:false`, `${next.id}:true:true`].sort());
  } finally {
    await c.stop();
  }
});

test('a new member joins as a learner, catches up through a snapshot, and becomes a voter', async () => {
  const c = new TestCluster();
  await c.start([1, 2, 3], { snapshotEntries: 20 });
  try {
    for (let i = 0; i < 60; i++) await c.put(`k${i}`, String(i));
    const joiner: TestMember = { id: 4, storage: new MemoryStorage(), machine: new KvMachine(), node: null };
    c.members.set(4, joiner);
    await c.boot(joiner, { peers: [1, 2, 3].map((id) => ({ id, address: `node-${id}` })), snapshotEntries: 20 });
    const leader = await c.leader();
    await leader.addMember(4, 'node-4');
    const status = leader.status();
    assert.deepEqual(status.confState.voters, [1, 2, 3, 4]);
    assert.deepEqual(status.confState.learners, []);
    await c.put('joined', 'yes');
    await c.converged([1, 2, 3, 4], 'joined', 'yes');
    assert.equal(joiner.machine.kv.get('k0'), '0', 'old state arrived through the snapshot');
    // With four voters, losing one still leaves a quorum of three.
    const victim = [1, 2, 3, 4].find((id) => id !== leader.id && id !== 4)!;
    c.net.isolate(victim);
    await c.put('quorum', 'kept');
    c.net.heal();
  } finally {
    await c.stop();
  }
});

test('removing a member shrinks the configuration and the rest keep committing', async () => {
  const c = new TestCluster();
  await c.start([1, 2, 3, 4, 5]);
  try {
    const leader = await c.leader();
    const victim = [1, 2, 3, 4, 5].find((id) => id !== leader.id)!;
    await leader.removeMember(victim);
    assert.equal(leader.status().confState.voters.includes(victim), false);
    await c.members.get(victim)!.node!.stop();
    await c.put('after-remove', '1');
  } finally {
    await c.stop();
  }
});

test('a restarted node recovers its state from storage and rejoins', async () => {
  const c = new TestCluster();
  await c.start([1, 2, 3], { snapshotEntries: 10 });
  try {
    for (let i = 0; i < 35; i++) await c.put(`r${i}`, String(i));
    const leader = await c.leader();
    const follower = [...c.members.values()].find((m) => m.id !== leader.id)!;
    await follower.node!.stop();
    await c.put('while-down', '1');
    await c.boot(follower, { snapshotEntries: 10 });
    await c.converged([follower.id], 'while-down', '1');
    assert.equal(follower.machine.kv.get('r0'), '0');
    assert.equal(follower.machine.kv.get('r34'), '34');
  } finally {
    await c.stop();
  }
});

test('forceNewCluster restarts a surviving member alone, with every committed write', async () => {
  const c = new TestCluster();
  await c.start([1, 2, 3], { snapshotEntries: 10 });
  try {
    for (let i = 0; i < 25; i++) await c.put(`f${i}`, String(i));
    for (const m of c.members.values()) await m.node!.stop();
    // One member survives, the other two are gone for good; the operator picks the one with the
    // longest log (the acknowledged last write reached a majority, so at least one has it).
    const survivor = [...c.members.values()].sort((a, b) => b.storage.lastIndex() - a.storage.lastIndex())[0];
    survivor.machine = new KvMachine();
    survivor.node = await RaftNode.start({
      id: survivor.id, storage: survivor.storage, transport: c.net.transport(survivor.id), stateMachine: survivor.machine,
      tickMs: TICK_MS, forceNewCluster: { address: `node-${survivor.id}` },
    });
    const deadline = Date.now() + 3000;
    while (!survivor.node.isLeader && Date.now() < deadline) await sleep(TICK_MS);
    assert.ok(survivor.node.isLeader, 'the survivor leads alone');
    assert.deepEqual(survivor.node.status().confState.voters, [survivor.id]);
    assert.equal(survivor.machine.kv.get('f24'), '24');
    await survivor.node.propose(new TextEncoder().encode('after=1'));
    assert.equal(survivor.machine.kv.get('after'), '1');
  } finally {
    await c.stop();
  }
});
