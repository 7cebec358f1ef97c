import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BERTH_VERSION } from '../../../manager/api/berth-version.js';
import { ADDRS, IDS, call, startApi } from './api-harness.js';

describe('API versions and /_ping', () => {
  it('answers HEAD /_ping with the headers version negotiation reads, and no body', async () => {
    const { app } = await startApi();
    const res = await call(app, { method: 'HEAD', url: '/_ping' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['api-version'], '1.41');
    assert.equal(res.headers.ostype, 'linux');
    assert.equal(res.headers['docker-experimental'], 'false');
    assert.equal(res.headers.swarm, 'active/manager');
    assert.equal(res.headers['cache-control'], 'no-cache, no-store, must-revalidate');
    assert.equal(res.headers.pragma, 'no-cache');
    assert.equal(res.body, '');
  });

  it('answers GET /_ping with OK, versioned or not', async () => {
    const { app } = await startApi();
    for (const url of ['/_ping', '/v1.41/_ping', '/v1.24/_ping']) {
      const res = await call(app, { url });
      assert.equal(res.statusCode, 200, url);
      assert.equal(res.body, 'OK');
      assert.equal(res.headers['api-version'], '1.41');
    }
  });

  it('reports the swarm state in the Swarm header: worker, and outside a swarm', async () => {
    const { app, backend } = await startApi();
    backend.becomeWorker();
    assert.equal((await call(app, { method: 'HEAD', url: '/_ping' })).headers.swarm, 'active/worker');
    backend.becomeInactive();
    assert.equal((await call(app, { method: 'HEAD', url: '/_ping' })).headers.swarm, 'inactive');
  });

  it('serves every route unversioned and under /v1.24 … /v1.41', async () => {
    const { app } = await startApi();
    for (const prefix of ['', '/v1.24', '/v1.30', '/v1.40', '/v1.41']) {
      const res = await call(app, { url: `${prefix}/nodes/${IDS.worker1}` });
      assert.equal(res.statusCode, 200, `${prefix}/nodes`);
      assert.equal(res.json().ID, IDS.worker1);
    }
  });

  it('refuses a version newer than 1.41 or older than 1.24 with dockerd’s messages', async () => {
    const { app } = await startApi();
    const tooNew = await call(app, { url: '/v1.99/nodes' });
    assert.equal(tooNew.statusCode, 400);
    assert.equal(tooNew.headers['content-type'], 'application/json');
    assert.deepEqual(tooNew.json(), { message: 'client version 1.99 is too new. Maximum supported API version is 1.41' });
    const tooOld = await call(app, { url: '/v1.12/swarm' });
    assert.equal(tooOld.statusCode, 400);
    assert.deepEqual(tooOld.json(), {
      message: 'client version 1.12 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version',
    });
    assert.equal((await call(app, { url: '/v2.0/_ping' })).statusCode, 400);
  });

  it('answers unknown routes with 404 page not found, as exactly application/json', async () => {
    const { app } = await startApi();
    for (const url of ['/nope', '/v1.41/nope', '/v1.41', '/vx.y/nodes']) {
      const res = await call(app, { url });
      assert.equal(res.statusCode, 404, url);
      assert.equal(res.headers['content-type'], 'application/json');
      assert.deepEqual(res.json(), { message: 'page not found' });
    }
    assert.equal((await call(app, { method: 'PUT', url: '/nodes' })).statusCode, 404);
  });
});

describe('over a real socket', () => {
  it('answers HEAD /_ping with an empty 200, and errors with exactly application/json', async () => {
    const { app, store } = await startApi();
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const ping = await fetch(`${address}/_ping`, { method: 'HEAD' });
      assert.equal(ping.status, 200);
      assert.equal(ping.headers.get('api-version'), '1.41');
      assert.equal(ping.headers.get('content-length'), '0');
      const missing = await fetch(`${address}/v1.41/nodes/nosuchnode`);
      assert.equal(missing.status, 404);
      assert.equal(missing.headers.get('content-type'), 'application/json');
      assert.equal(await missing.text(), '{"message":"node nosuchnode not found"}');
      // fetch labels a string body text/plain; the API reads it as JSON all the same.
      const version = store.get('node', IDS.worker1)!.Version.Index;
      const update = await fetch(`${address}/v1.41/nodes/${IDS.worker1}/update?version=${version}`, {
        method: 'POST', body: '{"Labels":{},"Role":"worker","Availability":"drain"}\n',
      });
      assert.equal(update.status, 200, await update.text());
      assert.equal(store.get('node', IDS.worker1)!.Spec.Availability, 'drain');
    } finally {
      await app.close();
    }
  });
});

describe('/version', () => {
  it('reports Berth’s version, API 1.41 with minimum 1.24, and an Engine component', async () => {
    const { app } = await startApi();
    const res = await call(app, { url: '/v1.41/version' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/json');
    const body = res.json();
    assert.equal(body.Version, BERTH_VERSION);
    assert.match(BERTH_VERSION, /^\d+\.\d+\.\d+/);
    assert.equal(body.ApiVersion, '1.41');
    assert.equal(body.MinAPIVersion, '1.24');
    assert.equal(body.Os, 'linux');
    assert.equal(typeof body.Arch, 'string');
    assert.equal(body.KernelVersion, '6.1.0-test');
    assert.equal(body.Components[0].Name, 'Engine');
    assert.equal(body.Components[0].Version, BERTH_VERSION);
    assert.equal(body.Components[0].Details.ApiVersion, '1.41');
    assert.equal(body.Components[0].Details.MinAPIVersion, '1.24');
  });
});

describe('/info', () => {
  it('gives a manager the full Swarm section, in dockerd’s key order, with the cluster but no join tokens', async () => {
    const { app, store } = await startApi();
    const res = await call(app, { url: '/v1.41/info' });
    assert.equal(res.statusCode, 200);
    const info = res.json();
    assert.equal(info.Name, 'vm');
    assert.equal(info.NCPU, 2);
    assert.equal(info.OSType, 'linux');
    assert.equal(info.ServerVersion, BERTH_VERSION);
    assert.deepEqual(info.Labels, ['rack=r1']);
    const swarm = info.Swarm;
    assert.deepEqual(Object.keys(swarm), [
      'NodeID', 'NodeAddr', 'LocalNodeState', 'ControlAvailable', 'Error', 'RemoteManagers', 'Nodes', 'Managers', 'Cluster',
    ]);
    assert.equal(swarm.NodeID, IDS.manager1);
    assert.equal(swarm.NodeAddr, ADDRS.manager1);
    assert.equal(swarm.LocalNodeState, 'active');
    assert.equal(swarm.ControlAvailable, true);
    assert.equal(swarm.Error, '');
    assert.deepEqual(swarm.RemoteManagers[0], { NodeID: IDS.manager1, Addr: `${ADDRS.manager1}:2377` });
    assert.equal(swarm.Nodes, 5);
    assert.equal(swarm.Managers, 3);
    const cluster = swarm.Cluster;
    assert.deepEqual(Object.keys(cluster), [
      'ID', 'Version', 'CreatedAt', 'UpdatedAt', 'Spec', 'TLSInfo', 'RootRotationInProgress', 'DefaultAddrPool', 'SubnetSize', 'DataPathPort',
    ]);
    assert.equal(cluster.ID, IDS.cluster);
    assert.equal(cluster.Version.Index, store.get('cluster', IDS.cluster)!.Version.Index);
    assert.deepEqual(cluster.Spec, {
      Name: 'default',
      Labels: {},
      Orchestration: { TaskHistoryRetentionLimit: 5 },
      Raft: { SnapshotInterval: 10000, KeepOldSnapshots: 0, LogEntriesForSlowFollowers: 500, ElectionTick: 10, HeartbeatTick: 1 },
      Dispatcher: { HeartbeatPeriod: 1000000000 },
      CAConfig: { NodeCertExpiry: 7776000000000000 },
      TaskDefaults: {},
      EncryptionConfig: { AutoLockManagers: false },
    }, 'the defaults are dockerd’s, as recorded, but for the 1 s heartbeat period (Docker: 5 s)');
    assert.equal(cluster.DefaultAddrPool, null);
    assert.equal(cluster.SubnetSize, 24);
    assert.equal(cluster.DataPathPort, 4789);
    assert.equal(cluster.RootRotationInProgress, false);
    assert.equal(cluster.JoinTokens, undefined);
    assert.doesNotMatch(res.body, /TOP-SECRET|CAKey|RootCA/);
  });

  it('gives a worker the Swarm section without Nodes, Managers or Cluster', async () => {
    const { app, backend } = await startApi();
    backend.becomeWorker();
    const swarm = (await call(app, { url: '/info' })).json().Swarm;
    assert.deepEqual(Object.keys(swarm), ['NodeID', 'NodeAddr', 'LocalNodeState', 'ControlAvailable', 'Error', 'RemoteManagers']);
    assert.equal(swarm.ControlAvailable, false);
    assert.equal(swarm.RemoteManagers.length, 3);
  });

  it('answers outside a swarm with an inactive Swarm section and null RemoteManagers', async () => {
    const { app, backend } = await startApi();
    backend.becomeInactive();
    const res = await call(app, { url: '/info' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json().Swarm, {
      NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null,
    });
  });
});
