import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WatchHistoryCompactedError, WatchResetError } from '../../../manager/store/errors.js';
import { thaw } from '../../../manager/store/frozen.js';
import { OBJECT_KINDS } from '../../../manager/store/objects.js';
import { Store } from '../../../manager/store/store.js';
import { createOne, newNode, newService, newTask } from './fixtures.js';
import { startStoreCluster } from './store-cluster.js';
import type { StoreCluster } from './store-cluster.js';

/** A cluster whose state has objects of several kinds, tasks in several index positions, and history. */
async function populatedCluster(): Promise<{ cluster: StoreCluster; serviceId: string; nodeIds: string[] }> {
  const cluster = await startStoreCluster({ followers: 0 });
  const { leader } = cluster;
  const nodes = [await createOne(leader, 'node', newNode('a')), await createOne(leader, 'node', newNode('b'))];
  const service = await createOne(leader, 'service', newService('web', 4));
  await leader.update((tx) => {
    for (const slot of [1, 2, 3, 4]) tx.create('task', newTask(service.ID, slot, nodes[slot % 2].ID));
    tx.create('network', { Spec: { Name: 'overlay' } });
    tx.create('secret', { Spec: { Name: 'token', Data: 'c2VjcmV0' } });
    tx.create('config', { Spec: { Name: 'nginx.conf', Data: 'eA==' } });
    tx.create('cluster', { Spec: { Name: 'default' } });
  });
  // Updates after creation, so creation order and index filing order differ.
  await leader.update((tx) => {
    const first = thaw(tx.find('task', { slot: { serviceId: service.ID, slot: 1 } })[0]);
    first.NodeID = nodes[0].ID;
    first.DesiredState = 'shutdown';
    tx.update('task', first);
    tx.delete('task', tx.find('task', { slot: { serviceId: service.ID, slot: 4 } })[0].ID);
  });
  return { cluster, serviceId: service.ID, nodeIds: nodes.map((n) => n.ID) };
}

function everyRead(store: Store, serviceId: string, nodeIds: string[]): unknown {
  return {
    all: OBJECT_KINDS.map((kind) => store.find(kind)),
    byService: store.find('task', { serviceId }),
    byNode: nodeIds.map((nodeId) => store.find('task', { nodeId })),
    bySlot: [1, 2, 3, 4].map((slot) => store.find('task', { slot: { serviceId, slot } })),
    byState: store.find('task', { desiredState: 'running' }),
    byName: store.lookup('service', 'WEB'),
    byNodeName: store.find('node', { name: 'a' }),
  };
}

describe('Store snapshots', () => {
  it('restores into a fresh store that equals the original, indexes included', async () => {
    const { cluster, serviceId, nodeIds } = await populatedCluster();
    const original = cluster.leader;
    const restored = new Store();
    restored.restore(original.snapshot(), original.appliedIndex);
    assert.equal(restored.appliedIndex, original.appliedIndex);
    assert.deepEqual(everyRead(restored, serviceId, nodeIds), everyRead(original, serviceId, nodeIds));
    assert.deepEqual(Buffer.from(restored.snapshot()), Buffer.from(original.snapshot()));
    assert.ok(Object.isFrozen(restored.lookup('service', 'web').Spec), 'restored objects are frozen too');
  });

  it('keeps applying later entries exactly like the original', async () => {
    const { cluster, serviceId, nodeIds } = await populatedCluster();
    const { leader, committedEntries } = cluster;
    const restored = new Store();
    const from = leader.appliedIndex;
    restored.restore(leader.snapshot(), from);
    await leader.update((tx) => {
      tx.create('task', newTask(serviceId, 4, nodeIds[1]));
      tx.create('service', newService('api'));
    });
    await assert.rejects(leader.update((tx) => { tx.create('network', { Spec: { Name: 'Overlay' } }); }));
    for (const { index, data } of committedEntries().filter((entry) => entry.index > from)) restored.apply(index, data);
    assert.deepEqual(everyRead(restored, serviceId, nodeIds), everyRead(leader, serviceId, nodeIds));
    assert.deepEqual(Buffer.from(restored.snapshot()), Buffer.from(leader.snapshot()));
  });

  it('replaces existing state entirely', async () => {
    const { cluster } = await populatedCluster();
    const other = await startStoreCluster({ followers: 0 });
    await createOne(other.leader, 'service', newService('stale-only-here'));
    other.leader.restore(cluster.leader.snapshot(), cluster.leader.appliedIndex + 5);
    assert.throws(() => other.leader.lookup('service', 'stale-only-here'));
    assert.equal(other.leader.lookup('service', 'web').Spec.Name, 'web');
    assert.equal(other.leader.appliedIndex, cluster.leader.appliedIndex + 5, 'raft names the index');
  });

  it('ends every watch with WatchResetError and restarts history at the snapshot index', async () => {
    const { cluster } = await populatedCluster();
    const target = await startStoreCluster({ followers: 0 });
    const watch = target.leader.watch();
    const pending = watch.next();
    const snapshotIndex = cluster.leader.appliedIndex;
    target.leader.restore(cluster.leader.snapshot(), snapshotIndex);
    await assert.rejects(pending, (error: unknown) => error instanceof WatchResetError && error.details.snapshotIndex === snapshotIndex);
    assert.ok(watch.error instanceof WatchResetError);
    assert.throws(() => target.leader.watch({ fromIndex: snapshotIndex - 1 }), WatchHistoryCompactedError);
    const resumed = target.leader.watch({ fromIndex: snapshotIndex });
    resumed.close();
  });

  it('refuses a corrupt snapshot and one taken after the index it is restored at', async () => {
    const store = new Store();
    assert.throws(() => store.restore(new TextEncoder().encode('{"format":2}'), 1), /unsupported format/);
    assert.throws(() => store.restore(new Uint8Array([0xff, 0xfe]), 1), /not UTF-8 JSON/);
    const { cluster } = await populatedCluster();
    assert.throws(() => store.restore(cluster.leader.snapshot(), 1), /taken at index/);
  });
});
