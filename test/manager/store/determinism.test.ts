// Every manager applies the same entries; these tests replay one log into independent stores
// and require identical results and identical state, including for entries that are rejected.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeBatch } from '../../../manager/store/codec.js';
import { thaw } from '../../../manager/store/frozen.js';
import { Store } from '../../../manager/store/store.js';
import { newNode, newService, newTask, steppingClock } from './fixtures.js';
import { startStoreCluster } from './store-cluster.js';
import type { CommittedEntry } from './store-cluster.js';

const utf8 = new TextEncoder();

/** A real raft log's worth of traffic (creates, updates, deletes, conflicts), then malformed entries. */
async function recordBusyLog(): Promise<CommittedEntry[]> {
  const { leader, committedEntries } = await startStoreCluster({ followers: 0, store: { now: steppingClock() } });
  const { events } = await leader.update((tx) => {
    tx.create('node', newNode('host-a'));
    tx.create('service', newService('web', 2));
  });
  const [node, web] = events.map((e) => e.object.ID);
  await leader.update((tx) => {
    tx.create('task', newTask(web, 1, node));
    tx.create('task', newTask(web, 2));
  });
  const stale = thaw(leader.get('service', web)!);
  await Promise.allSettled([1, 2, 3].map((replicas) => leader.update((tx) => {
    const service = thaw(stale);
    service.Spec.Mode = { Replicated: { Replicas: replicas } };
    tx.update('service', service);
  })));
  await leader.update((tx) => { tx.delete('task', tx.find('task', { slot: { serviceId: web, slot: 2 } })[0].ID); });
  const committed = committedEntries();
  const last = committed.at(-1)!.index;
  return [
    ...committed,
    // Entries no proposer of ours would produce; every manager must still agree on them.
    { index: last + 1, data: utf8.encode('not json') },
    { index: last + 2, data: utf8.encode(JSON.stringify({ format: 99, at: 'x', actions: [] })) },
    { index: last + 3, data: encodeBatch({ at: '2024-05-01T00:00:00Z', actions: [{ op: 'delete', kind: 'task', id: 'bad id' }] }) },
    { index: last + 4, data: encodeBatch({ at: '2024-05-01T00:00:00Z', actions: [{ op: 'create', kind: 'service', object: { ID: web, Spec: { Name: 'dup' } } }] }) },
  ];
}

describe('Store determinism', () => {
  it('two stores fed the same entries return the same results and end identical', async () => {
    const entries = await recordBusyLog();
    const stores = [new Store(), new Store()];
    const results = stores.map((store) => entries.map(({ index, data }) => store.apply(index, data)));
    assert.deepEqual(results[0], results[1]);
    assert.deepEqual(Buffer.from(stores[0].snapshot()), Buffer.from(stores[1].snapshot()));
    assert.equal(stores[0].appliedIndex, entries.at(-1)!.index);

    const rejectionCodes = results[0].flatMap((r) => (r && typeof r === 'object' && 'rejection' in r ? [(r.rejection as { code: string }).code] : []));
    assert.deepEqual(rejectionCodes, ['VERSION_CONFLICT', 'VERSION_CONFLICT', 'INVALID_ACTION', 'INVALID_ACTION', 'INVALID_ACTION', 'ALREADY_EXISTS']);
  });

  it('stamps the same timestamps and versions on every manager, whatever their clocks say', async () => {
    const entries = await recordBusyLog();
    const clocks = [() => new Date(0), () => new Date(8.64e15)];
    const stores = clocks.map((now) => new Store({ now }));
    for (const store of stores) for (const { index, data } of entries) store.apply(index, data);
    assert.deepEqual(stores[0].find('task'), stores[1].find('task'));
    assert.equal(stores[0].find('node')[0].CreatedAt, '2024-05-01T12:00:00.000Z');
  });

  it('treats a malformed entry as a rejected no-op that still advances the applied index', () => {
    const store = new Store();
    const before = store.snapshot();
    const outcome = store.apply(7, utf8.encode('{"format":1,"at":"2024-05-01T00:00:00Z","actions":[{"op":"explode","kind":"node"}]}'));
    assert.deepEqual(outcome, { ok: false, rejection: { code: 'INVALID_ACTION', message: 'invalid store action: action 0: unknown op "explode"', details: { reason: 'action 0: unknown op "explode"' } } });
    assert.equal(store.appliedIndex, 7);
    assert.notDeepEqual(store.snapshot(), before, 'only the applied index moved');
    assert.deepEqual(store.find('node'), []);
  });
});
