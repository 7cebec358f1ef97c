import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ADDRS, HOSTNAMES, IDS, TRUST_ROOT, call, startApi, storedNode } from './api-harness.js';

function filtersParam(filters: unknown): string {
  return `filters=${encodeURIComponent(JSON.stringify(filters))}`;
}

async function listIds(app: Awaited<ReturnType<typeof startApi>>['app'], filters: unknown): Promise<string[]> {
  const res = await call(app, { url: `/v1.41/nodes?${filtersParam(filters)}` });
  assert.equal(res.statusCode, 200, res.body);
  return (res.json() as { ID: string }[]).map((n) => n.ID).sort();
}

describe('GET /nodes', () => {
  it('lists every node in dockerd’s shape; ManagerStatus only on raft members, Leader only on the leader', async () => {
    const { app } = await startApi();
    const res = await call(app, { url: '/v1.41/nodes' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/json');
    const nodes = res.json() as Record<string, any>[];
    assert.equal(nodes.length, 5);
    const byId = new Map(nodes.map((n) => [n.ID, n]));
    const leader = byId.get(IDS.manager1)!;
    assert.deepEqual(Object.keys(leader), ['ID', 'Version', 'CreatedAt', 'UpdatedAt', 'Spec', 'Description', 'Status', 'ManagerStatus']);
    assert.deepEqual(leader.Spec, { Labels: {}, Role: 'manager', Availability: 'active' });
    assert.deepEqual(leader.ManagerStatus, { Leader: true, Reachability: 'reachable', Addr: `${ADDRS.manager1}:2377` });
    assert.deepEqual(byId.get(IDS.manager2)!.ManagerStatus, { Reachability: 'reachable', Addr: `${ADDRS.manager2}:2377` });
    assert.equal('ManagerStatus' in byId.get(IDS.worker1)!, false);
    assert.equal(leader.Description.Hostname, 'vm');
    assert.equal(leader.Description.Engine.EngineVersion, '0.1.0');
    assert.equal(leader.Description.TLSInfo.TrustRoot, TRUST_ROOT, 'a node without its own TLSInfo shows the cluster root');
    assert.deepEqual(leader.Status, { State: 'ready', Addr: ADDRS.manager1 });
    assert.equal(byId.get(IDS.worker2)!.Status.State, 'down');
    assert.equal(typeof leader.Version.Index, 'number');
  });

  it('shows a manager the daemon cannot reach as unreachable', async () => {
    const { app, backend } = await startApi();
    backend.setReachable(IDS.manager3, false);
    const node = (await call(app, { url: `/nodes/${IDS.manager3}` })).json();
    assert.equal(node.ManagerStatus.Reachability, 'unreachable');
  });

  it('filters by role, id prefix, name prefix, engine label, node label and membership', async () => {
    const { app } = await startApi();
    assert.deepEqual(await listIds(app, { role: { manager: true } }), [IDS.manager1, IDS.manager2, IDS.manager3]);
    assert.deepEqual(await listIds(app, { role: { worker: true } }), [IDS.worker1, IDS.worker2]);
    assert.deepEqual(await listIds(app, { role: { Worker: true } }), [IDS.worker1, IDS.worker2], 'roles are case-insensitive, as in dockerd');
    assert.deepEqual(await listIds(app, { id: { wrk1: true } }), [IDS.worker1]);
    assert.deepEqual(await listIds(app, { name: { 'manager-': true } }), [IDS.manager2, IDS.manager3]);
    assert.deepEqual(await listIds(app, { label: { 'disk=ssd': true } }), [IDS.worker1]);
    assert.deepEqual(await listIds(app, { label: { disk: true } }), [IDS.worker1]);
    assert.deepEqual(await listIds(app, { 'node.label': { zone: true } }), [IDS.worker1, IDS.worker2]);
    assert.deepEqual(await listIds(app, { 'node.label': { 'zone=b': true } }), [IDS.worker2]);
    assert.deepEqual(await listIds(app, { 'node.label': { zone: true, gpu: true } }), [IDS.worker2], 'label filters must all hold');
    assert.deepEqual(await listIds(app, { membership: { accepted: true } }), [IDS.manager1, IDS.manager2, IDS.manager3, IDS.worker1, IDS.worker2]);
    assert.deepEqual(await listIds(app, { membership: { pending: true } }), []);
  });

  it('ORs the values of one key and ANDs different keys; takes the legacy list form', async () => {
    const { app } = await startApi();
    assert.deepEqual(await listIds(app, { name: { 'worker-1': true, 'manager-2': true } }), [IDS.manager2, IDS.worker1]);
    assert.deepEqual(await listIds(app, { role: { worker: true }, 'node.label': { 'zone=a': true } }), [IDS.worker1]);
    assert.deepEqual(await listIds(app, { role: ['manager'], id: ['mgr2', 'mgr3'] }), [IDS.manager2, IDS.manager3]);
  });

  it('refuses an unknown filter key, a bad role or membership value, and malformed filters with 400', async () => {
    const { app } = await startApi();
    const bogus = await call(app, { url: `/v1.41/nodes?${filtersParam({ bogus: { x: true } })}` });
    assert.equal(bogus.statusCode, 400);
    assert.equal(bogus.headers['content-type'], 'application/json');
    assert.deepEqual(bogus.json(), { message: "Invalid filter 'bogus'" });
    const role = await call(app, { url: `/nodes?${filtersParam({ role: { boss: true } })}` });
    assert.equal(role.statusCode, 400);
    assert.deepEqual(role.json(), { message: "Invalid role filter: 'boss'" });
    const membership = await call(app, { url: `/nodes?${filtersParam({ membership: { maybe: true } })}` });
    assert.deepEqual(membership.json(), { message: "Invalid membership filter: 'maybe'" });
    const broken = await call(app, { url: '/nodes?filters=%7Bnot-json' });
    assert.equal(broken.statusCode, 400);
    assert.match(broken.json().message, /^invalid filters: /);
    const wrongShape = await call(app, { url: `/nodes?${filtersParam({ role: 'manager' })}` });
    assert.equal(wrongShape.statusCode, 400);
    assert.match(wrongShape.json().message, /the values of "role" must be/);
  });
});

describe('GET /nodes/{id}', () => {
  it('resolves a full ID, a hostname, and a unique ID prefix', async () => {
    const { app } = await startApi();
    for (const reference of [IDS.worker1, HOSTNAMES.worker1, 'wrk1', 'WORKER-1']) {
      const res = await call(app, { url: `/v1.41/nodes/${reference}` });
      assert.equal(res.statusCode, 200, reference);
      assert.equal(res.json().ID, IDS.worker1, reference);
    }
  });

  it('answers an unknown node with 404 and dockerd’s exact message and content type', async () => {
    const { app } = await startApi();
    const res = await call(app, { url: '/v1.41/nodes/nosuchnode' });
    assert.equal(res.statusCode, 404);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(res.body, '{"message":"node nosuchnode not found"}');
  });

  it('refuses an ambiguous prefix with 400 naming the number of matches', async () => {
    const { app } = await startApi();
    const res = await call(app, { url: '/nodes/mgr' });
    assert.equal(res.statusCode, 400);
    assert.match(res.json().message, /^node mgr is ambiguous \(3 matches found\)/);
  });
});

describe('POST /nodes/{id}/update', () => {
  it('replaces labels and availability at the version read, bumping Version.Index', async () => {
    const { app, store } = await startApi();
    const before = storedNode(store, IDS.worker1);
    const res = await call(app, {
      method: 'POST',
      url: `/v1.41/nodes/${IDS.worker1}/update?version=${before.Version.Index}`,
      body: { Labels: { zone: 'c', tier: 'edge' }, Role: 'worker', Availability: 'drain' },
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.body, '');
    const after = storedNode(store, IDS.worker1);
    assert.deepEqual(after.Spec, { Labels: { zone: 'c', tier: 'edge' }, Role: 'worker', Availability: 'drain' });
    assert.ok(after.Version.Index > before.Version.Index);
    assert.equal((await call(app, { url: `/nodes/${IDS.worker1}` })).json().Version.Index, after.Version.Index);

    const cleared = await call(app, {
      method: 'POST', url: `/nodes/${IDS.worker1}/update?version=${after.Version.Index}`, body: { Labels: {}, Role: 'worker', Availability: 'active' },
    });
    assert.equal(cleared.statusCode, 200);
    assert.deepEqual(storedNode(store, IDS.worker1).Spec.Labels, {});
  });

  it('accepts a body without Content-Type, and null Labels as none', async () => {
    const { app, store } = await startApi();
    const version = storedNode(store, IDS.worker1).Version.Index;
    const res = await call(app, {
      method: 'POST', url: `/nodes/worker-1/update?version=${version}`, raw: '{"Labels":null,"Role":"worker","Availability":"pause"}\n',
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(storedNode(store, IDS.worker1).Spec, { Labels: {}, Role: 'worker', Availability: 'pause' });
  });

  it('refuses a stale version with dockerd’s 500 "update out of sequence", and a missing one with 400', async () => {
    const { app, store } = await startApi();
    const stale = storedNode(store, IDS.worker1).Version.Index - 1;
    const res = await call(app, {
      method: 'POST', url: `/nodes/${IDS.worker1}/update?version=${stale}`, body: { Labels: {}, Role: 'worker', Availability: 'drain' },
    });
    assert.equal(res.statusCode, 500);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.deepEqual(res.json(), { message: 'rpc error: code = Unknown desc = update out of sequence' });
    assert.equal(storedNode(store, IDS.worker1).Spec.Availability, 'active');

    const missing = await call(app, { method: 'POST', url: `/nodes/${IDS.worker1}/update`, body: { Role: 'worker', Availability: 'drain' } });
    assert.equal(missing.statusCode, 400);
    assert.deepEqual(missing.json(), { message: 'invalid node version \'\': strconv.ParseUint: parsing "": invalid syntax' });
    const garbage = await call(app, { method: 'POST', url: `/nodes/${IDS.worker1}/update?version=abc`, body: { Role: 'worker', Availability: 'drain' } });
    assert.equal(garbage.statusCode, 400);
  });

  it('promotes a worker by writing Spec.Role, and demotes a manager while the raft keeps its quorum', async () => {
    const { app, store } = await startApi();
    const worker = storedNode(store, IDS.worker1);
    const promoted = await call(app, {
      method: 'POST', url: `/nodes/${IDS.worker1}/update?version=${worker.Version.Index}`, body: { Labels: { zone: 'a' }, Role: 'manager', Availability: 'active' },
    });
    assert.equal(promoted.statusCode, 200, promoted.body);
    assert.equal(storedNode(store, IDS.worker1).Spec.Role, 'manager');

    const manager = storedNode(store, IDS.manager3);
    const demoted = await call(app, {
      method: 'POST', url: `/nodes/${IDS.manager3}/update?version=${manager.Version.Index}`, body: { Labels: {}, Role: 'worker', Availability: 'active' },
    });
    assert.equal(demoted.statusCode, 200, demoted.body);
    assert.equal(storedNode(store, IDS.manager3).Spec.Role, 'worker');
  });

  it('refuses to demote the last manager', async () => {
    const { app, store, backend } = await startApi();
    // Leave manager1 the only manager in the store and the raft.
    for (const id of [IDS.manager2, IDS.manager3]) {
      const node = storedNode(store, id);
      backend.members = backend.members!.filter((m) => m.nodeId !== id);
      const res = await call(app, {
        method: 'POST', url: `/nodes/${id}/update?version=${node.Version.Index}`, body: { Labels: {}, Role: 'worker', Availability: 'active' },
      });
      assert.equal(res.statusCode, 200, res.body);
    }
    const last = storedNode(store, IDS.manager1);
    const res = await call(app, {
      method: 'POST', url: `/nodes/${IDS.manager1}/update?version=${last.Version.Index}`, body: { Labels: {}, Role: 'worker', Availability: 'active' },
    });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(res.json(), { message: 'rpc error: code = FailedPrecondition desc = attempting to demote the last manager of the swarm' });
    assert.equal(storedNode(store, IDS.manager1).Spec.Role, 'manager');
  });

  it('refuses a demotion that would leave the raft without a reachable quorum', async () => {
    const { app, store, backend } = await startApi();
    backend.setReachable(IDS.manager3, false);
    const node = storedNode(store, IDS.manager2);
    const res = await call(app, {
      method: 'POST', url: `/nodes/${IDS.manager2}/update?version=${node.Version.Index}`, body: { Labels: {}, Role: 'worker', Availability: 'active' },
    });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().message,
      `rpc error: code = FailedPrecondition desc = can't remove member from the raft: this would result in a loss of quorum (demoting node ${IDS.manager2} would leave 1 of 2 managers reachable; 2 are needed)`);
    assert.equal(storedNode(store, IDS.manager2).Spec.Role, 'manager');
    // The unreachable member itself may go: the two that remain are both reachable.
    const unreachable = storedNode(store, IDS.manager3);
    const ok = await call(app, {
      method: 'POST', url: `/nodes/${IDS.manager3}/update?version=${unreachable.Version.Index}`, body: { Labels: {}, Role: 'worker', Availability: 'active' },
    });
    assert.equal(ok.statusCode, 200, ok.body);
  });

  it('validates the spec, naming the field and why', async () => {
    const { app, store } = await startApi();
    const version = storedNode(store, IDS.worker1).Version.Index;
    const url = `/nodes/${IDS.worker1}/update?version=${version}`;
    const cases: [unknown, string][] = [
      [{ Role: 'worker', Availability: 'sleeping' }, 'invalid Spec.Availability: must be one of active, pause, drain'],
      [{ Role: 'boss', Availability: 'active' }, 'invalid Spec.Role: must be one of manager, worker'],
      [{ Availability: 'active' }, 'missing required field Spec.Role'],
      [{ Role: 'worker', Availability: 'active', Labels: { zone: 1 } }, 'invalid Spec.Labels.zone: must be a string'],
      [{ Role: 'worker', Availability: 'active', Labels: ['zone'] }, 'invalid Spec.Labels: must be an object'],
      [['worker'], 'invalid Spec: must be an object'],
    ];
    for (const [body, message] of cases) {
      const res = await call(app, { method: 'POST', url, body });
      assert.equal(res.statusCode, 400, JSON.stringify(body));
      assert.equal(res.headers['content-type'], 'application/json');
      assert.deepEqual(res.json(), { message }, JSON.stringify(body));
    }
    const empty = await call(app, { method: 'POST', url });
    assert.equal(empty.statusCode, 400);
    assert.deepEqual(empty.json(), { message: 'missing request body: expected the Spec as JSON' });
    const badJson = await call(app, { method: 'POST', url, raw: '{"Role": worker}', headers: { 'content-type': 'application/json' } });
    assert.equal(badJson.statusCode, 400);
    assert.match(badJson.json().message, /^invalid JSON in request body: .*JSON/);
    const poisoned = await call(app, { method: 'POST', url, raw: '{"__proto__":{"admin":true},"Role":"worker","Availability":"active"}' });
    assert.equal(poisoned.statusCode, 400);
    assert.match(poisoned.json().message, /__proto__/);
    assert.equal(storedNode(store, IDS.worker1).Version.Index, version, 'nothing was written');
  });

  it('answers an unknown node with 404', async () => {
    const { app } = await startApi();
    const res = await call(app, { method: 'POST', url: '/nodes/ghost/update?version=1', body: { Role: 'worker', Availability: 'active' } });
    assert.equal(res.statusCode, 404);
    assert.deepEqual(res.json(), { message: 'node ghost not found' });
  });
});

describe('DELETE /nodes/{id}', () => {
  it('refuses to remove a raft member with dockerd’s message', async () => {
    const { app, store } = await startApi();
    for (const force of ['', '?force=1']) {
      const res = await call(app, { method: 'DELETE', url: `/v1.41/nodes/${IDS.manager2}${force}` });
      assert.equal(res.statusCode, 400);
      assert.deepEqual(res.json(), {
        message: `rpc error: code = FailedPrecondition desc = node ${IDS.manager2} is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal`,
      });
    }
    assert.ok(store.get('node', IDS.manager2));
  });

  it('refuses to remove a node that is not down unless forced', async () => {
    const { app, store } = await startApi();
    const res = await call(app, { method: 'DELETE', url: '/nodes/worker-1' });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(res.json(), { message: `rpc error: code = FailedPrecondition desc = node ${IDS.worker1} is not down and can't be removed` });
    assert.ok(store.get('node', IDS.worker1));
    const forced = await call(app, { method: 'DELETE', url: '/nodes/worker-1?force=True' });
    assert.equal(forced.statusCode, 200, forced.body);
    assert.equal(store.get('node', IDS.worker1), undefined);
  });

  it('removes a down node without force, and then it is not found', async () => {
    const { app, store } = await startApi();
    const res = await call(app, { method: 'DELETE', url: `/nodes/${IDS.worker2}?force=false` });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(store.get('node', IDS.worker2), undefined);
    const again = await call(app, { method: 'DELETE', url: `/nodes/${IDS.worker2}` });
    assert.equal(again.statusCode, 404);
    assert.deepEqual(again.json(), { message: `node ${IDS.worker2} not found` });
  });

  it('removes a demoted manager once it has left the raft', async () => {
    const { app, store, backend } = await startApi();
    const node = storedNode(store, IDS.manager3);
    await call(app, { method: 'POST', url: `/nodes/${IDS.manager3}/update?version=${node.Version.Index}`, body: { Labels: {}, Role: 'worker', Availability: 'active' } });
    const stillMember = await call(app, { method: 'DELETE', url: `/nodes/${IDS.manager3}?force=1` });
    assert.equal(stillMember.statusCode, 400);
    assert.match(stillMember.json().message, /still a member of the raft cluster/);
    backend.members = backend.members!.filter((m) => m.nodeId !== IDS.manager3);
    const removed = await call(app, { method: 'DELETE', url: `/nodes/${IDS.manager3}?force=1` });
    assert.equal(removed.statusCode, 200, removed.body);
  });

  it('validates the force flag’s spelling', async () => {
    const { app } = await startApi();
    const res = await call(app, { method: 'DELETE', url: `/nodes/${IDS.worker2}?force=maybe` });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(res.json(), { message: 'invalid query parameter force: must be a boolean (1, true, True, 0, false or False)' });
  });
});
