// The agent against real dispatchers (test/manager/dispatcher/harness.ts): where it connects,
// how it fails over, what it reports.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_HEARTBEAT_PERIOD_MS } from '../../../manager/dispatcher/heartbeat-period.js';
import { newObjectId } from '../../../manager/store/object-id.js';
import { createOne } from '../../manager/store/fixtures.js';
import { sleep, startDispatcherHarness, waitFor, waitForSession } from '../../manager/dispatcher/harness.js';

/** A loopback port nothing listens on (1 is privileged and unused): connections are refused at once. */
const DEAD_MANAGER = '127.0.0.1:1';

test('an agent fails over past an unreachable manager, follows the redirect to the leader and learns every manager', async (t) => {
  const h = await startDispatcherHarness(t);
  const leader = await h.leader();
  const follower = h.managers.find((m) => m !== leader)!;
  const nodeId = await h.createNode();
  const reported: string[][] = [];
  const agent = h.startAgent(nodeId, [DEAD_MANAGER, follower.addr], {
    onManagersChanged: (list) => reported.push(list.map((m) => m.addr)),
  });

  const status = await waitForSession(agent);
  assert.equal(status.manager, leader.addr);
  assert.equal(status.lastError, undefined);
  assert.deepEqual(reported, [h.managers.map((m) => m.addr)]);
  assert.equal((await h.node(nodeId)).Status?.State, 'ready');
});

test('a refused agent says why, keeps trying, and registers once its node exists', async (t) => {
  const h = await startDispatcherHarness(t);
  const leader = await h.leader();
  const nodeId = newObjectId();
  const agent = h.startAgent(nodeId, [leader.addr]);

  await waitFor(() => /NOT_FOUND/.test(agent.status().lastError ?? ''), 'the agent reports the refusal');
  assert.equal(agent.status().connected, false);
  assert.match(agent.status().lastError!, /is not part of this cluster/);

  await createOne(leader.store, 'node', { ID: nodeId, Spec: { Role: 'worker', Availability: 'active' }, Status: { State: 'unknown' } });
  const status = await waitForSession(agent, 'the agent registers once its node exists');
  assert.equal(status.lastError, undefined);
  assert.equal((await h.node(nodeId)).Status?.State, 'ready');
});

test('stop() ends the session and the node is marked down about a heartbeat period later', async (t) => {
  const h = await startDispatcherHarness(t);
  const leader = await h.leader();
  const nodeId = await h.createNode();
  const agent = h.startAgent(nodeId, [leader.addr]);
  await waitForSession(agent);

  const stoppedAt = performance.now();
  await agent.stop();
  assert.deepEqual(agent.status(), { connected: false });
  await waitFor(() => h.stateOf(nodeId) === 'down', 'the departed node is marked down');
  const elapsedMs = performance.now() - stoppedAt;
  console.log(`node marked down ${Math.round(elapsedMs)} ms after its agent stopped (heartbeat period ${DEFAULT_HEARTBEAT_PERIOD_MS} ms)`);
  assert.ok(elapsedMs >= DEFAULT_HEARTBEAT_PERIOD_MS - 100 && elapsedMs <= DEFAULT_HEARTBEAT_PERIOD_MS + 1000, `${Math.round(elapsedMs)} ms`);
});

test('when the leader\'s manager dies, agents move to the new leader and their nodes stay ready', async (t) => {
  const h = await startDispatcherHarness(t);
  const dead = await h.leader();
  const nodes = [await h.createNode(), await h.createNode()];
  const agents = nodes.map((nodeId) => h.startAgent(nodeId, [dead.addr]));
  await Promise.all(agents.map((agent) => waitForSession(agent)));

  const witness = h.managers.find((m) => m !== dead)!;
  const markedDown: string[] = [];
  const subscription = witness.store.subscribe({ kinds: ['node'] }, (event) => {
    if (event.kind === 'node' && event.object.Status?.State === 'down') markedDown.push(event.object.ID);
  });
  t.after(() => subscription.close());

  // The whole manager goes: its connections drop, raft elects a leader among the other two.
  await dead.dispatcher.stop();
  dead.server.forceShutdown();
  await h.cluster.raftOf(dead.store).stop();
  const survivor = h.endpointOf(await h.cluster.waitForLeader({ excluding: dead.store }));
  await waitFor(() => agents.every((a) => a.status().connected && a.status().manager === survivor.addr), 'both agents are connected to the new leader');

  await sleep(2 * DEFAULT_HEARTBEAT_PERIOD_MS + 1000);
  assert.deepEqual(markedDown, []);
  for (const nodeId of nodes) assert.equal(survivor.store.get('node', nodeId)?.Status?.State, 'ready');
});
