// The dispatcher through its door: real agents (and raw sessions, for what an agent never sends)
// over real gRPC with mutual TLS, against three managers on a real in-process raft cluster.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { gracePeriodMs, DEFAULT_HEARTBEAT_PERIOD_MS } from '../../../manager/dispatcher/heartbeat-period.js';
import { HEARTBEAT_FAILURE } from '../../../manager/dispatcher/node-status.js';
import { newObjectId } from '../../../manager/store/object-id.js';
import { berthVersion, describeNode } from '../../../worker/node-description.js';
import type { AgentProcessConfig } from './agent-process.js';
import {
  setHeartbeatPeriod, sleep, startDispatcherHarness, waitFor, waitForSession,
} from './harness.js';

/** The product target: a dead node is marked down within 3 s with the default settings. */
const DOWN_WITHIN_MS = 3000;

function register(nodeId: string) {
  return { kind: 'register' as const, register: { nodeId, description: describeNode({ hostname: 'raw' }), addr: '' } };
}

test('an agent registers: its node becomes ready with its description and the address it connected from', async (t) => {
  const h = await startDispatcherHarness(t);
  const leader = await h.leader();
  const nodeId = await h.createNode();
  const agent = h.startAgent(nodeId, [leader.addr]);

  const status = await waitForSession(agent);
  assert.equal(status.manager, leader.addr);
  assert.match(status.sessionId ?? '', /^[0-9a-f-]{36}$/);
  assert.equal(status.heartbeatPeriodMs, DEFAULT_HEARTBEAT_PERIOD_MS);
  const node = await h.node(nodeId);
  assert.deepEqual(node.Status, { State: 'ready', Addr: '127.0.0.1' });
  const expected = describeNode({ hostname: `host-${nodeId.slice(0, 6)}` });
  assert.deepEqual(node.Description, {
    Hostname: expected.hostname,
    Platform: { Architecture: expected.arch, OS: 'linux' },
    Resources: { NanoCPUs: expected.nanoCpus, MemoryBytes: expected.memoryBytes },
    Engine: { EngineVersion: berthVersion(), Labels: { zone: 'test' }, Plugins: [] },
  });
  // The ack told the agent every manager, so it can fail over.
  assert.deepEqual(agent.managers(), h.managers.map((m) => ({ nodeId: m.nodeId, addr: m.addr })));
});

test('an advertised address is recorded instead of the connection\'s', async (t) => {
  const h = await startDispatcherHarness(t);
  const leader = await h.leader();
  const nodeId = await h.createNode();
  await waitForSession(h.startAgent(nodeId, [leader.addr], { advertiseAddr: '10.1.2.3' }));
  assert.equal((await h.node(nodeId)).Status?.Addr, '10.1.2.3');
});

test('a Register claiming another node\'s ID is refused with PERMISSION_DENIED', async (t) => {
  const h = await startDispatcherHarness(t);
  const leader = await h.leader();
  const mine = await h.createNode();
  const theirs = await h.createNode();

  const session = h.openRawSession(leader.addr, h.credentials(mine));
  session.send(register(theirs));
  const status = await session.status;
  assert.equal(status.code, grpc.status.PERMISSION_DENIED);
  assert.equal(status.details, `this connection's certificate is for node ${mine}; it cannot register as node ${theirs}`);
  assert.equal((await h.node(theirs)).Status?.State, 'unknown');
  assert.equal((await h.node(mine)).Status?.State, 'unknown');
});

test('a node without a Node object is refused with NOT_FOUND', async (t) => {
  const h = await startDispatcherHarness(t);
  const leader = await h.leader();
  const stranger = newObjectId();

  const session = h.openRawSession(leader.addr, h.credentials(stranger));
  session.send(register(stranger));
  const status = await session.status;
  assert.equal(status.code, grpc.status.NOT_FOUND);
  assert.match(status.details, new RegExp(`^node ${stranger} is not part of this cluster .*join the cluster again$`));
});

test('a certificate without a node role is refused with UNAUTHENTICATED; a session must start with Register', async (t) => {
  const h = await startDispatcherHarness(t);
  const leader = await h.leader();
  const nodeId = await h.createNode();

  const outsider = h.openRawSession(leader.addr, h.credentials(nodeId, 'some-client'));
  outsider.send(register(nodeId));
  assert.equal((await outsider.status).code, grpc.status.UNAUTHENTICATED);

  const early = h.openRawSession(leader.addr, h.credentials(nodeId));
  early.send({ kind: 'heartbeat' });
  const status = await early.status;
  assert.equal(status.code, grpc.status.FAILED_PRECONDITION);
  assert.equal(status.details, 'the first message of a session must be Register');
});

test('heartbeats keep a node ready without any raft write', async (t) => {
  const h = await startDispatcherHarness(t);
  const periodMs = 200;
  await setHeartbeatPeriod(h.cluster, periodMs * 1e6);
  const leader = await h.leader();
  const nodeId = await h.createNode();
  const agent = h.startAgent(nodeId, [leader.addr]);
  assert.equal((await waitForSession(agent)).heartbeatPeriodMs, periodMs);
  await h.cluster.settle();

  const before = leader.store.appliedIndex;
  // Ten periods: more than two grace periods (900 ms), so only heartbeats can keep it ready.
  const watchedMs = 10 * periodMs;
  assert.ok(watchedMs > 2 * gracePeriodMs(periodMs));
  await sleep(watchedMs);
  const after = leader.store.appliedIndex;

  console.log(`raft index ${before} → ${after} over ${watchedMs / periodMs} heartbeat periods`);
  assert.equal(after, before, 'heartbeats must not write to raft');
  assert.equal(h.stateOf(nodeId), 'ready');
  assert.equal(agent.status().connected, true);
});

test('a killed agent\'s node is marked down within 3 s with the default settings', async (t) => {
  const h = await startDispatcherHarness(t);
  const leader = await h.leader();
  const nodeId = await h.createNode();
  const identity = h.pki.issue(nodeId, 'swarm-worker');
  const config: AgentProcessConfig = {
    nodeId, managers: [leader.addr], caPath: h.pki.caPath, certPath: identity.certPath, keyPath: identity.keyPath,
  };
  const script = fileURLToPath(new URL('./agent-process.js', import.meta.url));
  const child = spawn(process.execPath, [script, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('connected')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the agent process exited (${code}) before connecting`)));
  });
  await waitFor(() => h.stateOf(nodeId) === 'ready', 'the node is ready');

  const killedAt = performance.now();
  child.kill('SIGKILL');
  await waitFor(() => h.stateOf(nodeId) === 'down', 'the node is marked down', 2 * DOWN_WITHIN_MS);
  const elapsedMs = performance.now() - killedAt;

  console.log(`node marked down ${Math.round(elapsedMs)} ms after its agent was killed (limit ${DOWN_WITHIN_MS} ms)`);
  assert.ok(elapsedMs <= DOWN_WITHIN_MS, `marked down after ${Math.round(elapsedMs)} ms`);
  assert.equal((await h.node(nodeId)).Status?.Message, HEARTBEAT_FAILURE);
});

test('an agent that goes silent with its stream open is marked down after the grace period, within 3 s', async (t) => {
  const h = await startDispatcherHarness(t);
  const leader = await h.leader();
  const nodeId = await h.createNode();
  const session = h.openRawSession(leader.addr, h.credentials(nodeId));
  session.send(register(nodeId));
  await waitFor(() => session.received.some((m) => m.kind === 'sessionAck'), 'the session is acknowledged');

  // Heartbeat past the grace period counted from registration: only heartbeats keep it ready.
  const graceMs = gracePeriodMs(DEFAULT_HEARTBEAT_PERIOD_MS);
  let lastHeartbeat = performance.now();
  for (let i = 0; i < 3; i++) {
    await sleep(DEFAULT_HEARTBEAT_PERIOD_MS);
    session.send({ kind: 'heartbeat' });
    lastHeartbeat = performance.now();
  }
  assert.equal(h.stateOf(nodeId), 'ready');
  // Silence from here, the stream left open.
  await waitFor(() => h.stateOf(nodeId) === 'down', 'the silent node is marked down', 2 * DOWN_WITHIN_MS);
  const elapsedMs = performance.now() - lastHeartbeat;

  console.log(`silent node marked down ${Math.round(elapsedMs)} ms after its last heartbeat (grace ${graceMs} ms, limit ${DOWN_WITHIN_MS} ms)`);
  assert.ok(elapsedMs >= graceMs - 100, `marked down only ${Math.round(elapsedMs)} ms after its last heartbeat`);
  assert.ok(elapsedMs <= DOWN_WITHIN_MS, `marked down after ${Math.round(elapsedMs)} ms`);
  const status = await session.status;
  assert.equal(status.code, grpc.status.DEADLINE_EXCEEDED);
});

test('an agent connected to a follower is redirected to the leader', async (t) => {
  const h = await startDispatcherHarness(t);
  const leader = await h.leader();
  const follower = h.managers.find((m) => m !== leader)!;
  const nodeId = await h.createNode();

  const raw = h.openRawSession(follower.addr, h.credentials(nodeId));
  assert.equal((await raw.status).code, grpc.status.OK);
  assert.deepEqual(raw.received, [{
    kind: 'notLeader',
    notLeader: { leaderAddr: leader.addr, managers: h.managers.map((m) => ({ nodeId: m.nodeId, addr: m.addr })) },
  }]);

  const agent = h.startAgent(nodeId, [follower.addr]);
  assert.equal((await waitForSession(agent)).manager, leader.addr);
  assert.equal((await h.node(nodeId)).Status?.State, 'ready');
});

test('when leadership moves, agents follow to the new leader and their nodes are never marked down', async (t) => {
  const h = await startDispatcherHarness(t);
  const oldLeader = await h.leader();
  const nodes = [await h.createNode(), await h.createNode()];
  const agents = nodes.map((nodeId) => h.startAgent(nodeId, [oldLeader.addr]));
  const firstSessions = await Promise.all(agents.map((agent) => waitForSession(agent)));

  // Every member applies every write, so a follower's watch sees any mark-down wherever it is made.
  const witness = h.managers.find((m) => m !== oldLeader)!;
  const markedDown: string[] = [];
  const subscription = witness.store.subscribe({ kinds: ['node'] }, (event) => {
    if (event.kind === 'node' && event.object.Status?.State === 'down') markedDown.push(event.object.ID);
  });
  t.after(() => subscription.close());

  const newLeader = h.managers.find((m) => m !== oldLeader && m !== witness)!;
  await h.cluster.raftOf(oldLeader.store).transferLeadership(newLeader.raftId);
  await waitFor(() => agents.every((a) => a.status().connected && a.status().manager === newLeader.addr), 'both agents are connected to the new leader');
  for (const [i, agent] of agents.entries()) assert.notEqual(agent.status().sessionId, firstSessions[i].sessionId);

  // Outlast the grace period the new leader gave every node when it took over.
  await sleep(gracePeriodMs(DEFAULT_HEARTBEAT_PERIOD_MS) + 500);
  assert.deepEqual(markedDown, []);
  for (const nodeId of nodes) assert.equal((await h.node(nodeId)).Status?.State, 'ready');
  assert.equal(await h.leader(), newLeader);
});

test('the cluster\'s heartbeat period reaches agents, at registration and when it changes', async (t) => {
  const h = await startDispatcherHarness(t);
  await setHeartbeatPeriod(h.cluster, 300_000_000);
  const leader = await h.leader();
  const nodeId = await h.createNode();
  const agent = h.startAgent(nodeId, [leader.addr]);
  const first = await waitForSession(agent);
  assert.equal(first.heartbeatPeriodMs, 300);

  await setHeartbeatPeriod(h.cluster, 450_000_000);
  await waitFor(() => agent.status().heartbeatPeriodMs === 450, 'the agent heartbeats every 450 ms');
  assert.equal(agent.status().sessionId, first.sessionId, 'the period changes within the session');
});

test('a change in the manager list reaches connected agents', async (t) => {
  const h = await startDispatcherHarness(t);
  const leader = await h.leader();
  const nodeId = await h.createNode();
  const reported: string[][] = [];
  const agent = h.startAgent(nodeId, [leader.addr], { onManagersChanged: (list) => reported.push(list.map((m) => m.addr)) });
  await waitForSession(agent);

  const promoted = { nodeId: newObjectId(), addr: '127.0.0.1:1' };
  h.reportManagers([...h.managers.map((m) => ({ nodeId: m.nodeId, addr: m.addr })), promoted]);
  await waitFor(() => agent.managers().length === 4, 'the agent knows four managers');
  assert.deepEqual(reported.at(-1), [...h.managers.map((m) => m.addr), promoted.addr]);
  assert.equal(agent.status().connected, true);
});

test('a node removed from the cluster loses its session', async (t) => {
  const h = await startDispatcherHarness(t);
  const leader = await h.leader();
  const nodeId = await h.createNode();
  const session = h.openRawSession(leader.addr, h.credentials(nodeId));
  session.send(register(nodeId));
  await waitFor(() => session.received.some((m) => m.kind === 'sessionAck'), 'the session is acknowledged');

  await leader.store.update((tx) => tx.delete('node', nodeId));
  const status = await session.status;
  assert.equal(status.code, grpc.status.NOT_FOUND);
  assert.equal(status.details, `node ${nodeId} was removed from the cluster`);
});
