import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import pino from 'pino';
import { buildApiServer } from '../../../manager/api/app.js';
import { ADDRS, IDS, TestBackend, call, startApi, storedNode } from './api-harness.js';
import type { Sent } from './api-harness.js';

const NOT_IN_SWARM = 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';
const WORKER = "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Please run this command on a manager node or promote the current node to a manager.";
const NO_LEADER = "The swarm does not have a leader. It's possible that too few managers are online. Make sure more than half of the managers are online.";

/** One request per cluster-state endpoint. */
const CLUSTER_STATE_REQUESTS: Sent[] = [
  { url: '/v1.41/swarm' },
  { url: '/v1.41/swarm/unlockkey' },
  { method: 'POST', url: '/v1.41/swarm/update?version=1', body: { Name: 'default' } },
  { url: '/v1.41/nodes' },
  { url: `/v1.41/nodes/${IDS.worker1}` },
  { method: 'POST', url: `/v1.41/nodes/${IDS.worker1}/update?version=1`, body: { Role: 'worker', Availability: 'drain' } },
  { method: 'DELETE', url: `/v1.41/nodes/${IDS.worker2}` },
];

async function expectEverywhere(app: Awaited<ReturnType<typeof startApi>>['app'], status: number, message: string): Promise<void> {
  for (const request of CLUSTER_STATE_REQUESTS) {
    const res = await call(app, request);
    assert.equal(res.statusCode, status, `${request.method ?? 'GET'} ${request.url}`);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.deepEqual(res.json(), { message }, `${request.method ?? 'GET'} ${request.url}`);
  }
}

describe('who may serve cluster state', () => {
  it('answers every cluster-state endpoint outside a swarm with dockerd’s 503', async () => {
    const { app, backend } = await startApi();
    backend.becomeInactive();
    await expectEverywhere(app, 503, NOT_IN_SWARM);
  });

  it('answers every cluster-state endpoint on a worker with dockerd’s worker 503', async () => {
    const { app, backend } = await startApi();
    backend.becomeWorker();
    await expectEverywhere(app, 503, WORKER);
  });

  it('answers on a locked swarm, and on a manager still starting, with dockerd’s 503s', async () => {
    const { app, backend } = await startApi();
    backend.localInfo = { ...backend.localInfo, controlAvailable: false };
    await expectEverywhere(app, 503, 'This node is not a swarm manager. Manager is being prepared or has trouble connecting to the cluster.');
    backend.localInfo = { ...backend.localInfo, state: 'locked' };
    await expectEverywhere(app, 503, 'Swarm is encrypted and needs to be unlocked before it can be used. Please use "docker swarm unlock" to unlock it.');
  });
});

describe('raft trouble', () => {
  it('serves reads on a follower manager, and names the leader when a write lands there', async () => {
    const { app, backend, cluster } = await startApi();
    // This daemon is now manager2, whose store follows the leader's (manager1's).
    backend.storeRef = cluster.followers[0];
    backend.localInfo = { ...backend.localInfo, nodeId: IDS.manager2, nodeAddr: ADDRS.manager2 };
    const list = await call(app, { url: '/v1.41/nodes' });
    assert.equal(list.statusCode, 200, list.body);
    assert.equal(list.json().length, 5, 'the follower’s read waited for what the leader had committed');
    const version = storedNode(cluster.leader, IDS.worker1).Version.Index;
    const res = await call(app, {
      method: 'POST', url: `/nodes/${IDS.worker1}/update?version=${version}`, body: { Labels: {}, Role: 'worker', Availability: 'drain' },
    });
    assert.equal(res.statusCode, 503);
    assert.deepEqual(res.json(), {
      message: `this manager is not the swarm leader and cannot take writes; send the request to the leader, node ${IDS.manager1} at ${ADDRS.manager1}:2377`,
    });
  });

  it('without a quorum, refuses writes with dockerd’s no-leader 503 but still answers reads from local state', async () => {
    const { app, cluster } = await startApi({ raft: { requestTimeoutMs: 300 } });
    const version = storedNode(cluster.leader, IDS.worker1).Version.Index;
    cluster.isolate(cluster.leader);
    const write = await call(app, {
      method: 'POST', url: `/nodes/${IDS.worker1}/update?version=${version}`, body: { Labels: {}, Role: 'worker', Availability: 'drain' },
    });
    assert.equal(write.statusCode, 503, write.body);
    assert.deepEqual(write.json(), { message: NO_LEADER });
    const read = await call(app, { url: '/nodes' });
    assert.equal(read.statusCode, 200, read.body);
    assert.equal(read.json().length, 5);
    const info = await call(app, { url: '/info' });
    assert.equal(info.statusCode, 200, '`docker info` still answers from local state');
    assert.equal(info.json().Swarm.Nodes, 5);
  });
});

describe('unexpected failures', () => {
  it('answer 500 with a message, and are logged with their stack', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write(chunk, _encoding, done) { lines.push(String(chunk)); done(); } });
    const { store } = await startApi();
    const backend = new TestBackend(store);
    backend.becomeWorker();
    backend.leave = async () => { throw new Error('the agent did not stop'); };
    const app = buildApiServer({ backend, logger: pino({ level: 'info' }, sink) });
    const res = await call(app, { method: 'POST', url: '/swarm/leave' });
    assert.equal(res.statusCode, 500);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.deepEqual(res.json(), { message: 'internal error: the agent did not stop' });
    const logged = lines.map((line) => JSON.parse(line) as { level: number; msg: string; err?: { stack?: string } });
    const entry = logged.find((l) => l.msg === 'request failed unexpectedly');
    assert.ok(entry, `logged: ${lines.join('')}`);
    assert.equal(entry.level, 50);
    assert.match(entry.err?.stack ?? '', /the agent did not stop/);
    assert.equal(logged.some((l) => l.msg === 'request completed'), false, 'per-request lines are debug-level');
  });
});
