// Transactions through their public door, Store.update: reads see pending writes, and repeated
// writes to one object fold into the single action the batch format allows.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidActionError, NotFoundError, VersionConflictError } from '../../../manager/store/errors.js';
import { thaw } from '../../../manager/store/frozen.js';
import type { Transaction } from '../../../manager/store/transaction.js';
import { createOne, newNode, newService, newTask, sequentialIds } from './fixtures.js';
import { startStoreCluster } from './store-cluster.js';

describe('Transaction', () => {
  it('sees its own creates, updates and deletes in get, find and lookup', async () => {
    const ids = [sequentialIds('doomed')(), sequentialIds('web')()];
    const { leader } = await startStoreCluster({ store: { newId: () => ids.shift()! } });
    const doomed = await createOne(leader, 'service', newService('doomed'));
    await leader.update((tx) => {
      const web = tx.create('service', newService('web'));
      assert.equal(web.Version.Index, 0, 'not committed yet');
      assert.equal(tx.get('service', web.ID), web);
      assert.equal(tx.lookup('service', 'WEB'), web);
      assert.equal(tx.lookup('service', 'we'), web, 'by the prefix of a pending ID');
      assert.deepEqual(tx.find('service', { name: 'web' }), [web]);

      tx.delete('service', doomed.ID);
      assert.equal(tx.get('service', doomed.ID), undefined);
      assert.throws(() => tx.lookup('service', 'doomed'), NotFoundError);
      assert.deepEqual(tx.find('service').map((s) => s.Spec.Name), ['web']);

      // The committed state is untouched until the batch applies.
      assert.equal(leader.get('service', web.ID), undefined);
      assert.ok(leader.get('service', doomed.ID));
    });
  });

  it('moves pending objects between index entries as it edits them', async () => {
    const { leader } = await startStoreCluster();
    const [nodeA, nodeB] = [await createOne(leader, 'node', newNode('a')), await createOne(leader, 'node', newNode('b'))];
    const service = await createOne(leader, 'service', newService('web'));
    const task = await createOne(leader, 'task', newTask(service.ID, 1, nodeA.ID));
    await leader.update((tx) => {
      const moved = thaw(task);
      moved.NodeID = nodeB.ID;
      tx.update('task', moved);
      assert.deepEqual(tx.find('task', { nodeId: nodeA.ID }), []);
      assert.deepEqual(tx.find('task', { nodeId: nodeB.ID }).map((t) => t.ID), [task.ID]);
    });
    assert.equal(leader.find('task', { nodeId: nodeB.ID })[0].ID, task.ID);
  });

  it('folds a create and later updates of the same object into one create', async () => {
    const { leader, committedEntries } = await startStoreCluster();
    const entries = committedEntries().length;
    const { index, events } = await leader.update((tx) => {
      const created = tx.create('service', newService('web'));
      const edited = thaw(created);
      edited.Spec.Labels = { a: '1' };
      const again = thaw(tx.update('service', edited));
      again.Spec.Labels = { a: '2' };
      tx.update('service', again);
    });
    assert.equal(committedEntries().length, entries + 1);
    assert.equal(events.length, 1);
    assert.equal(events[0].action, 'create');
    const stored = leader.lookup('service', 'web');
    assert.deepEqual(stored.Spec.Labels, { a: '2' });
    assert.equal(stored.Version.Index, index);
  });

  it('proposes nothing for an object created and deleted in the same transaction', async () => {
    const { leader, committedEntries } = await startStoreCluster();
    const entries = committedEntries().length;
    const { events } = await leader.update((tx) => {
      const temp = tx.create('network', { Spec: { Name: 'temp' } });
      tx.delete('network', temp.ID);
    });
    assert.deepEqual(events, []);
    assert.equal(committedEntries().length, entries);
  });

  it('turns an update then a delete into a delete guarded by the version the update read', async () => {
    const { leader } = await startStoreCluster();
    const service = await createOne(leader, 'service', newService('web'));
    const { events } = await leader.update((tx) => {
      tx.update('service', thaw(tx.get('service', service.ID)!));
      tx.delete('service', service.ID);
    });
    assert.equal(events.length, 1);
    assert.equal(events[0].action, 'delete');

    const again = await createOne(leader, 'service', newService('api'));
    const racing = leader.update(async (tx) => {
      tx.update('service', thaw(tx.get('service', again.ID)!));
      // Let a competing update commit before this one is proposed.
      await leader.update((other) => { other.update('service', thaw(other.get('service', again.ID)!)); });
      tx.delete('service', again.ID);
    });
    await assert.rejects(racing, VersionConflictError);
    assert.ok(leader.get('service', again.ID), 'the guarded delete did not happen');
  });

  it('checks delete versions when asked to', async () => {
    const { leader } = await startStoreCluster();
    const service = await createOne(leader, 'service', newService('web'));
    await assert.rejects(leader.update((tx) => { tx.delete('service', service.ID, service.Version.Index - 1); }), VersionConflictError);
    await leader.update((tx) => { tx.delete('service', service.ID, service.Version.Index); });
    assert.equal(leader.get('service', service.ID), undefined);
  });

  it('refuses to reuse an ID deleted earlier in the same transaction', async () => {
    const { leader } = await startStoreCluster();
    const service = await createOne(leader, 'service', newService('web'));
    await assert.rejects(leader.update((tx) => {
      tx.delete('service', service.ID);
      tx.create('service', { ...newService('web'), ID: service.ID });
    }), InvalidActionError);
  });

  it('refuses updates of objects that were not read from the store', async () => {
    const { leader } = await startStoreCluster();
    const service = await createOne(leader, 'service', newService('web'));
    const { Version: _dropped, ...unversioned } = thaw(service);
    await assert.rejects(leader.update((tx) => { tx.update('service', unversioned as typeof service); }), /Version.Index it was read at/);
  });

  it('proposes nothing when the callback throws, and rejects with its error', async () => {
    const { leader, committedEntries } = await startStoreCluster();
    const entries = committedEntries().length;
    await assert.rejects(leader.update((tx) => {
      tx.create('service', newService('web'));
      throw new Error('changed my mind');
    }), /changed my mind/);
    assert.equal(committedEntries().length, entries);
    assert.deepEqual(leader.find('service'), []);
  });

  it('cannot be written once its update has been proposed', async () => {
    const { leader } = await startStoreCluster();
    let escaped!: Transaction;
    await leader.update((tx) => { escaped = tx; });
    assert.throws(() => escaped.create('service', newService('late')), InvalidActionError);
  });

  it('stores exactly what it showed: undefined fields dropped, dates as strings', async () => {
    const { leader } = await startStoreCluster();
    let shown: unknown;
    await leader.update((tx) => {
      shown = tx.create('service', { Spec: { Name: 'web', Labels: undefined, Deadline: new Date(0) } });
    });
    const stored = leader.lookup('service', 'web');
    assert.deepEqual({ ...stored, Version: undefined }, { ...(shown as object), Version: undefined });
    assert.equal(stored.Spec.Deadline, '1970-01-01T00:00:00.000Z');
    assert.equal('Labels' in stored.Spec, false);
    await assert.rejects(leader.update((tx) => { tx.create('service', { Spec: { Name: 'big', Size: 1n } }); }), InvalidActionError);
  });
});
