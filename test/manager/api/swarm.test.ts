import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Cluster } from '../../../manager/store/index.js';
import { CA_KEY, IDS, RECORDED_TLS_INFO, TRUST_ROOT, call, startApi } from './api-harness.js';
import type { ApiFixture } from './api-harness.js';

function storedCluster(store: ApiFixture['store']): Cluster {
  return store.get('cluster', IDS.cluster) as Cluster;
}

/** What `docker swarm update` sends: the spec it just read, edited, at the version it read. */
async function readSpec(app: ApiFixture['app']): Promise<{ version: number; spec: Record<string, any> }> {
  const swarm = (await call(app, { url: '/v1.41/swarm' })).json();
  return { version: swarm.Version.Index, spec: swarm.Spec };
}

const NO_ROTATION = 'rotateManagerToken=false&rotateManagerUnlockKey=false&rotateWorkerToken=false';

describe('GET /swarm', () => {
  it('returns the cluster with its join tokens, and never the CA key', async () => {
    const { app, tokens, store } = await startApi();
    const res = await call(app, { url: '/v1.41/swarm' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/json');
    const swarm = res.json();
    assert.deepEqual(Object.keys(swarm), [
      'ID', 'Version', 'CreatedAt', 'UpdatedAt', 'Spec', 'TLSInfo', 'RootRotationInProgress', 'DefaultAddrPool', 'SubnetSize', 'DataPathPort', 'JoinTokens',
    ]);
    assert.equal(swarm.ID, IDS.cluster);
    assert.equal(swarm.Version.Index, storedCluster(store).Version.Index);
    assert.deepEqual(swarm.JoinTokens, { Worker: tokens.worker, Manager: tokens.manager });
    assert.match(swarm.JoinTokens.Worker, /^SWMTKN-1-[0-9a-z]{50}-[0-9a-z]{25}$/);
    assert.equal(swarm.TLSInfo.TrustRoot, TRUST_ROOT);
    assert.equal(res.body.includes(CA_KEY), false);
    assert.doesNotMatch(res.body, /RootCA|CAKey|TOP-SECRET/);
  });

  it('derives TLSInfo from the root certificate as dockerd shows it, unless the cluster carries its own', async () => {
    const { app, store } = await startApi();
    assert.deepEqual((await call(app, { url: '/swarm' })).json().TLSInfo, RECORDED_TLS_INFO);
    const own = { TrustRoot: 'PEM', CertIssuerSubject: 'subject', CertIssuerPublicKey: 'key' };
    await store.update((tx) => {
      tx.update('cluster', { ...structuredClone(storedCluster(store)), TLSInfo: own });
    });
    assert.deepEqual((await call(app, { url: '/swarm' })).json().TLSInfo, own);
  });
});

describe('POST /swarm/update', () => {
  it('rotates exactly the worker token, bumping Version.Index (docker swarm join-token --rotate worker)', async () => {
    const { app, backend, tokens, store } = await startApi();
    const { version, spec } = await readSpec(app);
    const res = await call(app, {
      method: 'POST',
      url: `/v1.41/swarm/update?rotateManagerToken=false&rotateManagerUnlockKey=false&rotateWorkerToken=true&version=${version}`,
      body: spec,
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.body, '');
    const after = (await call(app, { url: '/v1.41/swarm' })).json();
    assert.equal(after.JoinTokens.Worker, backend.issuedTokens[0]);
    assert.notEqual(after.JoinTokens.Worker, tokens.worker);
    assert.equal(after.JoinTokens.Manager, tokens.manager);
    assert.ok(after.Version.Index > version);
    assert.equal(after.Version.Index, storedCluster(store).Version.Index);
    assert.deepEqual(after.Spec, spec, 'an unchanged spec stays unchanged');
  });

  it('rotates exactly the manager token when asked, spelled 1', async () => {
    const { app, tokens } = await startApi();
    const { version, spec } = await readSpec(app);
    const res = await call(app, { method: 'POST', url: `/swarm/update?rotateManagerToken=1&version=${version}`, body: spec });
    assert.equal(res.statusCode, 200, res.body);
    const after = (await call(app, { url: '/swarm' })).json();
    assert.equal(after.JoinTokens.Worker, tokens.worker);
    assert.notEqual(after.JoinTokens.Manager, tokens.manager);
    assert.match(after.JoinTokens.Manager, /^SWMTKN-1-/);
  });

  it('applies task history, dispatcher, raft and certificate settings', async () => {
    const { app, store } = await startApi();
    const { version, spec } = await readSpec(app);
    spec.Orchestration.TaskHistoryRetentionLimit = 3;
    spec.Dispatcher.HeartbeatPeriod = 10_000_000_000;
    spec.Raft.ElectionTick = 20;
    spec.Raft.HeartbeatTick = 2;
    spec.Raft.SnapshotInterval = 5000;
    spec.CAConfig.NodeCertExpiry = 24 * 3600 * 1e9;
    spec.Labels = { env: 'prod' };
    const res = await call(app, { method: 'POST', url: `/v1.41/swarm/update?${NO_ROTATION}&version=${version}`, body: spec });
    assert.equal(res.statusCode, 200, res.body);
    const stored = storedCluster(store).Spec as Record<string, any>;
    assert.equal(stored.Orchestration.TaskHistoryRetentionLimit, 3);
    assert.equal(stored.Dispatcher.HeartbeatPeriod, 10_000_000_000);
    assert.deepEqual(stored.Raft, { SnapshotInterval: 5000, KeepOldSnapshots: 0, LogEntriesForSlowFollowers: 500, ElectionTick: 20, HeartbeatTick: 2 });
    assert.equal(stored.CAConfig.NodeCertExpiry, 24 * 3600 * 1e9);
    assert.deepEqual(stored.Labels, { env: 'prod' });
    assert.deepEqual((await call(app, { url: '/info' })).json().Swarm.Cluster.Spec, stored);
  });

  it('fills zeros and omissions with dockerd’s defaults, keeping an explicit zero task history', async () => {
    const { app, store } = await startApi();
    const { version } = await readSpec(app);
    const res = await call(app, {
      method: 'POST',
      url: `/swarm/update?version=${version}`,
      body: { Name: 'default', Orchestration: { TaskHistoryRetentionLimit: 0 }, Raft: { ElectionTick: 0, HeartbeatTick: 0 }, Dispatcher: {}, CAConfig: {} },
    });
    assert.equal(res.statusCode, 200, res.body);
    const stored = storedCluster(store).Spec as Record<string, any>;
    assert.equal(stored.Orchestration.TaskHistoryRetentionLimit, 0);
    assert.equal(stored.Raft.ElectionTick, 10);
    assert.equal(stored.Raft.HeartbeatTick, 1);
    assert.equal(stored.Dispatcher.HeartbeatPeriod, 1_000_000_000, "Berth's 1 s default (Docker's is 5 s)");
    assert.equal(stored.CAConfig.NodeCertExpiry, 7_776_000_000_000_000);
  });

  it('refuses a stale version with "update out of sequence", leaving the tokens alone', async () => {
    const { app, tokens } = await startApi();
    const { version, spec } = await readSpec(app);
    const first = await call(app, { method: 'POST', url: `/swarm/update?${NO_ROTATION}&version=${version}`, body: spec });
    assert.equal(first.statusCode, 200);
    const stale = await call(app, { method: 'POST', url: `/swarm/update?rotateWorkerToken=true&version=${version}`, body: spec });
    assert.equal(stale.statusCode, 500);
    assert.equal(stale.headers['content-type'], 'application/json');
    assert.deepEqual(stale.json(), { message: 'rpc error: code = Unknown desc = update out of sequence' });
    assert.equal((await call(app, { url: '/swarm' })).json().JoinTokens.Worker, tokens.worker);
    const missing = await call(app, { method: 'POST', url: '/swarm/update', body: spec });
    assert.equal(missing.statusCode, 400);
    assert.deepEqual(missing.json(), { message: 'invalid swarm version \'\': strconv.ParseUint: parsing "": invalid syntax' });
  });

  it('refuses invalid settings with 400, naming the field', async () => {
    const { app, store } = await startApi();
    const { version, spec } = await readSpec(app);
    const edit = (change: (s: Record<string, any>) => void): Record<string, any> => {
      const copy = structuredClone(spec);
      change(copy);
      return copy;
    };
    const cases: [Record<string, any>, RegExp][] = [
      [edit((s) => { s.CAConfig.NodeCertExpiry = 60e9; }), /^invalid Spec\.CAConfig\.NodeCertExpiry: minimum certificate expiry time is 1h0m0s/],
      [edit((s) => { s.Raft.ElectionTick = 2; s.Raft.HeartbeatTick = 3; }), /^invalid Spec\.Raft\.ElectionTick: must be greater than Raft\.HeartbeatTick \(3\)/],
      [edit((s) => { s.Name = 'prod'; }), /^invalid Spec\.Name: modification of cluster name is not allowed/],
      [edit((s) => { s.Dispatcher.HeartbeatPeriod = -1; }), /^invalid Spec\.Dispatcher\.HeartbeatPeriod: must be a non-negative duration in nanoseconds$/],
      [edit((s) => { s.Orchestration.TaskHistoryRetentionLimit = 'five'; }), /^invalid Spec\.Orchestration\.TaskHistoryRetentionLimit: must be an integer$/],
      [edit((s) => { s.Labels = { a: true }; }), /^invalid Spec\.Labels\.a: must be a string$/],
      [edit((s) => { s.EncryptionConfig.AutoLockManagers = true; }), /^autolock \(Spec\.EncryptionConfig\.AutoLockManagers\) is not supported by Berth/],
    ];
    for (const [body, message] of cases) {
      const res = await call(app, { method: 'POST', url: `/swarm/update?${NO_ROTATION}&version=${version}`, body });
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(res.headers['content-type'], 'application/json');
      assert.match(res.json().message, message);
    }
    const badFlag = await call(app, { method: 'POST', url: `/swarm/update?rotateWorkerToken=yes&version=${version}`, body: spec });
    assert.equal(badFlag.statusCode, 400);
    assert.deepEqual(badFlag.json(), { message: 'invalid query parameter rotateWorkerToken: must be a boolean (1, true, True, 0, false or False)' });
    const badJson = await call(app, { method: 'POST', url: `/swarm/update?version=${version}`, raw: '{"Name":' });
    assert.equal(badJson.statusCode, 400);
    assert.match(badJson.json().message, /^invalid JSON in request body: /);
    assert.equal(storedCluster(store).Version.Index, version, 'nothing was written');
  });

  it('never renders a signing CA key sent for a root rotation', async () => {
    const { app } = await startApi();
    const { version, spec } = await readSpec(app);
    spec.CAConfig.SigningCACert = TRUST_ROOT;
    spec.CAConfig.SigningCAKey = CA_KEY;
    spec.CAConfig.ForceRotate = 1;
    assert.equal((await call(app, { method: 'POST', url: `/swarm/update?version=${version}`, body: spec })).statusCode, 200);
    const res = await call(app, { url: '/swarm' });
    assert.equal(res.json().Spec.CAConfig.ForceRotate, 1);
    assert.equal(res.json().Spec.CAConfig.SigningCACert, TRUST_ROOT);
    assert.equal(res.body.includes('TOP-SECRET'), false);
  });
});

describe('GET /swarm/unlockkey', () => {
  it('returns an empty key: autolock is never on', async () => {
    const { app } = await startApi();
    const res = await call(app, { url: '/v1.41/swarm/unlockkey' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { UnlockKey: '' });
  });
});

describe('swarm membership: init, join, leave', () => {
  const INIT_BODY = {
    ListenAddr: '0.0.0.0:2377', AdvertiseAddr: '127.0.0.1', DataPathAddr: '', DataPathPort: 0, ForceNewCluster: false,
    Spec: { Labels: null, Orchestration: {}, Raft: { ElectionTick: 0, HeartbeatTick: 0 }, Dispatcher: {}, CAConfig: {}, TaskDefaults: {}, EncryptionConfig: { AutoLockManagers: false } },
    AutoLockManagers: false, Availability: '', DefaultAddrPool: [], SubnetSize: 24,
  };
  const JOIN_BODY = { ListenAddr: '0.0.0.0:2377', AdvertiseAddr: '', DataPathAddr: '', RemoteAddrs: ['127.0.0.1:2377'], JoinToken: 'SWMTKN-1-xxx', Availability: '' };
  const ALREADY = 'This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.';

  it('refuses init and join on a node already in a swarm with dockerd’s 503', async () => {
    const { app, backend } = await startApi();
    for (const [url, body] of [['/v1.41/swarm/init', INIT_BODY], ['/v1.41/swarm/join', JOIN_BODY]] as const) {
      const res = await call(app, { method: 'POST', url, body });
      assert.equal(res.statusCode, 503, url);
      assert.equal(res.headers['content-type'], 'application/json');
      assert.deepEqual(res.json(), { message: ALREADY });
    }
    assert.deepEqual(backend.calls, { init: [], join: [], leave: [] });
  });

  it('passes init on with every default filled in, and answers the node ID as a JSON string', async () => {
    const { app, backend } = await startApi();
    backend.becomeInactive();
    const res = await call(app, { method: 'POST', url: '/v1.41/swarm/init', body: INIT_BODY });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(res.json(), 'newnode0000000000000000000');
    const [init] = backend.calls.init;
    assert.equal(init.Availability, 'active');
    assert.equal(init.DataPathPort, 4789);
    assert.equal(init.AdvertiseAddr, '127.0.0.1');
    assert.deepEqual(init.Spec.Raft, { SnapshotInterval: 10000, KeepOldSnapshots: 0, LogEntriesForSlowFollowers: 500, ElectionTick: 10, HeartbeatTick: 1 });
    assert.equal(init.Spec.Name, 'default');
    assert.deepEqual(init.Spec.Labels, {});
  });

  it('refuses an init asking for autolock or an out-of-range data path port', async () => {
    const { app, backend } = await startApi();
    backend.becomeInactive();
    const autolock = await call(app, { method: 'POST', url: '/swarm/init', body: { ...INIT_BODY, AutoLockManagers: true } });
    assert.equal(autolock.statusCode, 400);
    assert.match(autolock.json().message, /^autolock \(AutoLockManagers\) is not supported by Berth/);
    const port = await call(app, { method: 'POST', url: '/swarm/init', body: { ...INIT_BODY, DataPathPort: 80 } });
    assert.equal(port.statusCode, 400);
    assert.match(port.json().message, /^invalid DataPathPort: /);
    assert.equal(backend.calls.init.length, 0);
  });

  it('passes join on, and refuses one without a remote address', async () => {
    const { app, backend } = await startApi();
    backend.becomeInactive();
    const res = await call(app, { method: 'POST', url: '/swarm/join', body: JOIN_BODY });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(backend.calls.join, [{ ...JOIN_BODY, Availability: 'active' }]);
    const none = await call(app, { method: 'POST', url: '/swarm/join', body: { ...JOIN_BODY, RemoteAddrs: [] } });
    assert.equal(none.statusCode, 400);
    assert.deepEqual(none.json(), { message: 'invalid RemoteAddrs: must have at least 1 item' });
  });

  it('warns a manager before it leaves, with dockerd’s words, unless forced', async () => {
    const { app, backend } = await startApi();
    const res = await call(app, { method: 'POST', url: '/swarm/leave' });
    assert.equal(res.statusCode, 503);
    assert.equal(res.json().message,
      'You are attempting to leave the swarm on a node that is participating as a manager. The only way to restore a swarm that has lost consensus '
      + 'is to reinitialize it with `--force-new-cluster`. Use `--force` to suppress this message.');
    backend.setReachable(IDS.manager3, false);
    const atRisk = await call(app, { method: 'POST', url: '/swarm/leave' });
    assert.equal(atRisk.json().message,
      'You are attempting to leave the swarm on a node that is participating as a manager. Removing this node leaves 1 managers out of 3. '
      + 'Without a Raft quorum your swarm will be inaccessible. The only way to restore a swarm that has lost consensus is to reinitialize it '
      + 'with `--force-new-cluster`. Use `--force` to suppress this message.');
    backend.members = backend.members!.slice(0, 1);
    const last = await call(app, { method: 'POST', url: '/swarm/leave?force=0' });
    assert.equal(last.json().message,
      'You are attempting to leave the swarm on a node that is participating as a manager. Removing the last manager erases all current state of the swarm. Use `--force` to ignore this message. ');
    assert.deepEqual(backend.calls.leave, []);
    const forced = await call(app, { method: 'POST', url: '/swarm/leave?force=1' });
    assert.equal(forced.statusCode, 200, forced.body);
    assert.deepEqual(backend.calls.leave, [true]);
  });

  it('lets a worker leave, and tells a node outside any swarm it is not part of one', async () => {
    const { app, backend } = await startApi();
    backend.becomeWorker();
    assert.equal((await call(app, { method: 'POST', url: '/swarm/leave' })).statusCode, 200);
    assert.deepEqual(backend.calls.leave, [false]);
    backend.becomeInactive();
    const res = await call(app, { method: 'POST', url: '/swarm/leave' });
    assert.equal(res.statusCode, 503);
    assert.deepEqual(res.json(), { message: 'This node is not part of a swarm' });
  });
});
