import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AlreadyExistsError, AmbiguousReferenceError, InvalidActionError, NameConflictError, NoQuorumError,
  NotFoundError, NotLeaderError, ProposalDroppedError, VersionConflictError,
} from '../../../manager/store/errors.js';
import { thaw } from '../../../manager/store/frozen.js';
import { Store } from '../../../manager/store/store.js';
import { createOne, newNode, newService, newTask, sequentialIds, steppingClock } from './fixtures.js';
import { startStoreCluster, waitFor } from './store-cluster.js';

describe('Store writes', () => {
  it('creates, updates and deletes, stamping Version.Index with the raft index', async () => {
    const { leader, committedEntries } = await startStoreCluster();
    const created = await leader.update((tx) => { tx.create('service', newService('web')); });
    assert.equal(created.events.length, 1);
    const [event] = created.events;
    assert.equal(event.action, 'create');
    assert.equal(event.index, created.index);
    assert.equal(created.index, committedEntries().at(-1)!.index);
    const service = leader.get('service', event.object.ID)!;
    assert.equal(service.Version.Index, created.index);
    assert.equal(leader.appliedIndex, created.index);

    const edited = thaw(service);
    edited.Spec.Labels = { tier: 'front' };
    const updated = await leader.update((tx) => { tx.update('service', edited); });
    const after = leader.get('service', service.ID)!;
    assert.equal(after.Version.Index, updated.index);
    assert.ok(updated.index > created.index);
    assert.deepEqual(after.Spec.Labels, { tier: 'front' });
    assert.equal(updated.events[0].action, 'update');
    assert.equal(updated.events[0].oldObject, service, 'the event carries the object it replaced');

    const deleted = await leader.update((tx) => { tx.delete('service', service.ID); });
    assert.equal(deleted.events[0].action, 'delete');
    assert.equal(deleted.events[0].object, after);
    assert.equal(leader.get('service', service.ID), undefined);
  });

  it('takes timestamps from the proposer, keeping CreatedAt across updates', async () => {
    const cluster = await startStoreCluster({ store: { now: steppingClock() } });
    const { leader, followers } = cluster;
    const network = await createOne(leader, 'network', { Spec: { Name: 'backend' } });
    assert.equal(network.CreatedAt, '2024-05-01T12:00:00.000Z');
    assert.equal(network.UpdatedAt, network.CreatedAt);
    await leader.update((tx) => { tx.update('network', thaw(network)); });
    const updated = leader.get('network', network.ID)!;
    assert.equal(updated.CreatedAt, '2024-05-01T12:00:00.000Z');
    assert.equal(updated.UpdatedAt, '2024-05-01T12:00:01.000Z');
    await cluster.settle();
    for (const follower of followers) assert.deepEqual(follower.get('network', network.ID), updated);
  });

  it('hands out frozen objects: mutating one throws instead of corrupting the store', async () => {
    const { leader } = await startStoreCluster();
    const service = await createOne(leader, 'service', newService('web'));
    assert.throws(() => { (service.Spec as { Name: string }).Name = 'hacked'; }, TypeError);
    assert.throws(() => { (service.Version as { Index: number }).Index = 0; }, TypeError);
    const copy = thaw(service);
    copy.Spec.Name = 'fine';
    assert.equal(leader.get('service', service.ID)!.Spec.Name, 'web');
  });

  it('rejects an update based on a stale version, naming both versions', async () => {
    const { leader } = await startStoreCluster();
    const stale = thaw(await createOne(leader, 'service', newService('web')));
    await leader.update((tx) => { tx.update('service', thaw(leader.get('service', stale.ID)!)); });
    const current = leader.get('service', stale.ID)!;
    await assert.rejects(leader.update((tx) => { tx.update('service', stale); }), (error: unknown) => {
      assert.ok(error instanceof VersionConflictError);
      assert.equal(error.code, 'VERSION_CONFLICT');
      assert.deepEqual(error.details, { kind: 'service', id: stale.ID, expectedVersion: stale.Version.Index, actualVersion: current.Version.Index });
      assert.match(error.message, /update out of sequence/);
      return true;
    });
    assert.equal(leader.get('service', stale.ID), current);
  });

  it('lets exactly one of two concurrent updates of the same version win', async () => {
    const cluster = await startStoreCluster();
    const { leader, members } = cluster;
    const base = await createOne(leader, 'service', newService('web'));
    const results = await Promise.allSettled(['a', 'b'].map((tier) => leader.update((tx) => {
      const edited = thaw(tx.get('service', base.ID)!);
      edited.Spec.Labels = { tier };
      tx.update('service', edited);
    })));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    const loser = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    assert.ok(loser.reason instanceof VersionConflictError, 'the loser is rejected at apply time, on every manager alike');
    const winner = leader.get('service', base.ID)!;
    await cluster.settle();
    for (const member of members) assert.deepEqual(member.get('service', base.ID), winner);
  });

  it('rejects duplicate names case-insensitively, naming the kind, the name and the holder', async () => {
    const { leader } = await startStoreCluster();
    const secret = await createOne(leader, 'secret', { Spec: { Name: 'db-password', Data: 'aHVudGVyMg==' } });
    await assert.rejects(leader.update((tx) => { tx.create('secret', { Spec: { Name: 'DB-Password' } }); }), (error: unknown) => {
      assert.ok(error instanceof NameConflictError);
      assert.deepEqual(error.details, { kind: 'secret', name: 'DB-Password', existingId: secret.ID });
      return true;
    });
    await leader.update((tx) => { tx.create('secret', { Spec: { Name: 'other' } }); });
    const other = leader.lookup('secret', 'other');
    const renamed = thaw(other);
    renamed.Spec.Name = 'db-password';
    await assert.rejects(leader.update((tx) => { tx.update('secret', renamed); }), NameConflictError);
    assert.equal(leader.find('secret').length, 2);
  });

  it('checks names against the state the whole batch leaves: a batch may swap names or reuse a freed one', async () => {
    const { leader } = await startStoreCluster();
    await leader.update((tx) => {
      tx.create('config', { Spec: { Name: 'x' } });
      tx.create('config', { Spec: { Name: 'y' } });
    });
    await leader.update((tx) => {
      const x = thaw(tx.lookup('config', 'x'));
      const y = thaw(tx.lookup('config', 'y'));
      x.Spec.Name = 'y';
      y.Spec.Name = 'x';
      tx.update('config', x);
      tx.update('config', y);
    });
    assert.deepEqual(leader.find('config').map((c) => c.Spec.Name), ['y', 'x']);
    await leader.update((tx) => {
      const oldX = tx.lookup('config', 'x');
      tx.create('config', { Spec: { Name: 'x' } });
      tx.delete('config', oldX.ID);
    });
    assert.deepEqual(leader.find('config').map((c) => c.Spec.Name).sort(), ['x', 'y']);
    assert.equal(leader.find('config', { name: 'x' }).length, 1);
    await assert.rejects(leader.update((tx) => {
      tx.create('config', { Spec: { Name: 'z' } });
      tx.create('config', { Spec: { Name: 'Z' } });
    }), NameConflictError);
  });

  it('requires names where they are unique', async () => {
    const { leader } = await startStoreCluster();
    await assert.rejects(leader.update((tx) => { tx.create('service', newService('')); }), InvalidActionError);
  });

  it('rejects creating an existing ID and updating or deleting a missing object', async () => {
    const { leader } = await startStoreCluster({ store: { newId: sequentialIds('svc') } });
    const web = await createOne(leader, 'service', newService('web'));
    await assert.rejects(leader.update((tx) => { tx.create('service', { ...newService('api'), ID: web.ID }); }), AlreadyExistsError);
    const ghost = { ...thaw(web), ID: 'g'.repeat(25) };
    await assert.rejects(leader.update((tx) => { tx.update('service', ghost); }), NotFoundError);
    await assert.rejects(leader.update((tx) => { tx.delete('service', ghost.ID); }), NotFoundError);
    await assert.rejects(leader.update((tx) => { tx.create('service', { ...newService('bad'), ID: 'Not-An-ID' }); }), InvalidActionError);
  });

  it('applies a batch all-or-nothing', async () => {
    const cluster = await startStoreCluster();
    const { leader, members, committedEntries } = cluster;
    await leader.update((tx) => { tx.create('service', newService('taken')); });
    const before = leader.snapshot();
    const entriesBefore = committedEntries().length;
    await assert.rejects(leader.update((tx) => {
      tx.create('service', newService('one'));
      tx.create('service', newService('two'));
      tx.create('service', newService('taken'));
    }), NameConflictError);
    assert.equal(committedEntries().length, entriesBefore, 'the proposer saw the conflict and proposed nothing');
    assert.deepEqual(leader.find('service').map((s) => s.Spec.Name), ['taken']);
    await cluster.settle();
    for (const member of members) assert.equal(member.find('service').length, 1);
    assert.deepEqual(Buffer.from(leader.snapshot()), Buffer.from(before));
  });

  it('rejects a batch at apply time without changing state, identically on every manager', async () => {
    const cluster = await startStoreCluster();
    const { leader, members, committedEntries } = cluster;
    const web = await createOne(leader, 'service', newService('web'));
    const api = await createOne(leader, 'service', newService('api'));
    const entriesBefore = committedEntries().length;
    // Two transactions read the same versions before either commits; the second batch's update
    // of `web` passes the proposer's pre-check but loses at apply, so its create of `db` must
    // not happen anywhere either.
    const first = leader.update((tx) => { tx.update('service', thaw(web)); });
    const second = leader.update((tx) => {
      tx.update('service', thaw(web));
      tx.update('service', thaw(api));
      tx.create('service', newService('db'));
    });
    await first;
    await assert.rejects(second, VersionConflictError);
    assert.equal(committedEntries().length, entriesBefore + 2, 'both batches reached the log');
    const rejectedEntry = committedEntries().at(-1)!;
    await cluster.settle();
    for (const member of members) {
      assert.equal(member.appliedIndex, rejectedEntry.index, 'the rejected entry still counts as applied');
      assert.equal(member.find('service').length, 2);
      assert.deepEqual(member.get('service', api.ID), api, 'the batch did not touch api either');
    }
  });

  it('proposes nothing for a transaction that writes nothing', async () => {
    const { leader, committedEntries } = await startStoreCluster();
    const entries = committedEntries().length;
    const result = await leader.update((tx) => { tx.find('service'); });
    assert.deepEqual(result, { index: leader.appliedIndex, events: [] });
    assert.equal(committedEntries().length, entries);
  });

  it('serializes many concurrent updates into distinct, ordered indexes', async () => {
    const cluster = await startStoreCluster();
    const { leader, members } = cluster;
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => leader.update((tx) => { tx.create('service', newService(`svc-${i}`)); })));
    const indexes = results.map((r) => r.index);
    assert.equal(new Set(indexes).size, 50);
    assert.deepEqual(indexes, [...indexes].sort((a, b) => a - b), 'proposals commit in the order they were made');
    await cluster.settle();
    for (const member of members) assert.equal(member.find('service').length, 50);
  });

  it('gets every increment through under contention when callers retry on conflict', async () => {
    const { leader } = await startStoreCluster();
    const { ID: id } = await createOne(leader, 'cluster', { Spec: { Name: 'default', Labels: { counter: '0' } } });
    let conflicts = 0;
    async function increment(): Promise<void> {
      for (;;) {
        try {
          await leader.update((tx) => {
            const cluster = thaw(tx.get('cluster', id)!);
            cluster.Spec.Labels = { counter: String(Number(cluster.Spec.Labels!.counter) + 1) };
            tx.update('cluster', cluster);
          });
          return;
        } catch (error) {
          if (!(error instanceof VersionConflictError)) throw error;
          conflicts++;
        }
      }
    }
    await Promise.all(Array.from({ length: 20 }, increment));
    assert.equal(leader.get('cluster', id)!.Spec.Labels!.counter, '20');
    assert.ok(conflicts > 0, 'the test did exercise contention');
  });
});

describe('Store indexes', () => {
  it('keeps tasks findable by service, node, slot and desired state through updates and deletes', async () => {
    const cluster = await startStoreCluster();
    const { leader, members } = cluster;
    const { events } = await leader.update((tx) => {
      tx.create('node', newNode('host-a'));
      tx.create('node', newNode('host-b'));
      tx.create('service', newService('web', 3));
    });
    const [nodeA, nodeB, web] = events.map((e) => e.object.ID);
    await leader.update((tx) => {
      for (const slot of [1, 2, 3]) tx.create('task', newTask(web, slot, slot === 3 ? nodeB : nodeA));
    });
    assert.equal(leader.find('task', { serviceId: web }).length, 3);
    assert.deepEqual(leader.find('task', { nodeId: nodeA }).map((t) => t.Slot), [1, 2]);

    // Reschedule slot 2 onto node B and replace slot 3 with a new task.
    const slot2 = thaw(leader.find('task', { slot: { serviceId: web, slot: 2 } })[0]);
    slot2.NodeID = nodeB;
    const oldSlot3 = leader.find('task', { slot: { serviceId: web, slot: 3 } })[0];
    const shutdown = thaw(oldSlot3);
    shutdown.DesiredState = 'shutdown';
    await leader.update((tx) => {
      tx.update('task', slot2);
      tx.update('task', shutdown);
      tx.create('task', newTask(web, 3, nodeA));
    });
    await cluster.settle();
    for (const member of members) {
      assert.deepEqual(member.find('task', { nodeId: nodeA }).map((t) => t.Slot), [1, 3]);
      assert.deepEqual(member.find('task', { nodeId: nodeB }).map((t) => t.Slot), [2, 3]);
      assert.equal(member.find('task', { slot: { serviceId: web, slot: 3 } }).length, 2);
      assert.deepEqual(member.find('task', { slot: { serviceId: web, slot: 3 }, desiredState: 'running' }).map((t) => t.NodeID), [nodeA]);
      assert.equal(member.find('task', { desiredState: 'shutdown' })[0].ID, oldSlot3.ID);
    }

    await leader.update((tx) => { tx.delete('task', oldSlot3.ID); });
    assert.deepEqual(leader.find('task', { nodeId: nodeB }).map((t) => t.Slot), [2]);
    assert.equal(leader.find('task', { desiredState: 'shutdown' }).length, 0);
    assert.equal(leader.find('task', { serviceId: web, where: (t) => t.Slot! > 1 }).length, 2);
  });

  it('refuses a query on an index the kind does not have', async () => {
    const { leader } = await startStoreCluster();
    assert.throws(() => leader.find('task', { name: 'x' } as never), /task has no index "name"/);
  });
});

describe('Store lookup', () => {
  it('resolves an exact ID, then an exact name, then a unique ID prefix', async () => {
    const ids = ['abc00000000000000000000001', 'abd00000000000000000000002', 'web00000000000000000000003'].map((id) => id.slice(0, 25));
    let next = 0;
    const { leader } = await startStoreCluster({ store: { newId: () => ids[next++] } });
    await leader.update((tx) => {
      tx.create('service', newService('web'));
      tx.create('service', newService('api'));
      // Named like the first service's ID prefix: an exact name beats a prefix.
      tx.create('service', newService('abc'));
    });
    assert.equal(leader.lookup('service', ids[0]).Spec.Name, 'web');
    assert.equal(leader.lookup('service', 'API').ID, ids[1], 'names match case-insensitively');
    assert.equal(leader.lookup('service', 'abc').ID, ids[2]);
    assert.equal(leader.lookup('service', 'abd').ID, ids[1]);
    assert.equal(leader.lookup('service', 'we').ID, ids[2], 'ID prefix of the third');
    assert.throws(() => leader.lookup('service', 'ab'), (error: unknown) => {
      assert.ok(error instanceof AmbiguousReferenceError);
      assert.equal(error.code, 'AMBIGUOUS_REFERENCE');
      assert.equal(error.details.matches, 2);
      return true;
    });
    assert.throws(() => leader.lookup('service', 'nope'), NotFoundError);
    assert.throws(() => leader.lookup('service', ''), NotFoundError);
  });

  it('reports an ambiguous node hostname instead of picking one', async () => {
    const { leader } = await startStoreCluster();
    const { events } = await leader.update((tx) => {
      tx.create('node', newNode('twin'));
      tx.create('node', newNode('twin'));
      tx.create('node', newNode('solo', 'edge-1'));
    });
    assert.throws(() => leader.lookup('node', 'twin'), AmbiguousReferenceError);
    assert.equal(leader.lookup('node', 'solo').ID, events[2].object.ID);
    assert.equal(leader.lookup('node', 'edge-1').ID, events[2].object.ID);
  });

  it('resolves tasks, which have no names, by ID and prefix', async () => {
    const { leader } = await startStoreCluster({ store: { newId: sequentialIds('task') } });
    const { ID: id } = await createOne(leader, 'task', newTask('s'.repeat(25), 1));
    assert.equal(leader.lookup('task', id.slice(0, 6)).ID, id);
  });
});

describe('Store reads and errors across managers', () => {
  it('gives followers the same state and refuses their writes with the leader id', async () => {
    const cluster = await startStoreCluster();
    const { leader, followers } = cluster;
    await leader.update((tx) => { tx.create('service', newService('web')); });
    await cluster.settle();
    for (const follower of followers) {
      assert.equal(follower.isLeader, false);
      assert.deepEqual(follower.snapshot(), leader.snapshot());
      await assert.rejects(follower.update((tx) => { tx.create('service', newService('api')); }), (error: unknown) => {
        assert.ok(error instanceof NotLeaderError);
        assert.equal(error.code, 'NOT_LEADER');
        assert.equal(error.leaderId, cluster.leaderId);
        return true;
      });
    }
  });

  it('fails writes and linearizable reads with NoQuorumError when the leader cannot reach a majority', async () => {
    // Requests time out (500 ms) long before check-quorum deposes the cut-off leader (after 200 to
    // 400 ticks, 2 s or more), so the leader itself reports the lost quorum.
    const cluster = await startStoreCluster({ raft: { electionTicks: 200, requestTimeoutMs: 500 } });
    const { leader, members } = cluster;
    cluster.isolate(leader);
    const [write, read] = await Promise.allSettled([
      leader.update((tx) => { tx.create('service', newService('web')); }),
      leader.readLinearizable(),
    ]);
    assert.ok(write.status === 'rejected' && write.reason instanceof NoQuorumError, `write: ${String(write.status === 'rejected' ? write.reason : 'fulfilled')}`);
    assert.ok(read.status === 'rejected' && read.reason instanceof NoQuorumError, `read: ${String(read.status === 'rejected' ? read.reason : 'fulfilled')}`);
    assert.equal(leader.isLeader, true, 'still the leader: quorum, not leadership, was what it lacked');

    cluster.heal();
    await leader.update((tx) => { tx.create('service', newService('api')); });
    await cluster.settle();
    for (const member of members) {
      assert.deepEqual(member.find('service').map((s) => s.Spec.Name), ['web', 'api'],
        'the timed-out write was in the leader\'s log and committed once the majority was back: NO_QUORUM leaves the outcome unknown');
    }
  });

  it('fails a write with ProposalDroppedError when a new leader overwrites it, and NotLeaderError with no leader known', async () => {
    const cluster = await startStoreCluster();
    const { leader: deposed, members } = cluster;
    cluster.isolate(deposed);
    // Appended to the cut-off leader's log only, at the index the majority's next leader will fill.
    const lost = deposed.update((tx) => { tx.create('service', newService('lost')); }).then(() => undefined, (error: unknown) => error);
    const successor = await cluster.waitForLeader({ excluding: deposed });
    assert.notEqual(successor, deposed);
    await successor.update((tx) => { tx.create('service', newService('kept')); });

    // Check-quorum makes the cut-off leader step down; it cannot learn who leads now.
    await waitFor(() => !deposed.isLeader, 'the cut-off leader steps down');
    const noLeader = (error: unknown) => error instanceof NotLeaderError && error.leaderId === 0;
    await assert.rejects(deposed.update((tx) => { tx.create('service', newService('web')); }), noLeader);
    await assert.rejects(deposed.readLinearizable(), noLeader);

    cluster.heal();
    const error = await lost;
    assert.ok(error instanceof ProposalDroppedError, `expected ProposalDroppedError, got ${String(error)}`);
    await cluster.settle();
    for (const member of members) assert.deepEqual(member.find('service').map((s) => s.Spec.Name), ['kept']);
  });

  it('serves linearizable reads once the local state has caught up', async () => {
    const { leader, followers } = await startStoreCluster();
    await leader.update((tx) => { tx.create('service', newService('web')); });
    assert.deepEqual(followers[0].find('service'), [], 'a follower applies commits after the leader');
    const names = await followers[0].view((reader) => reader.find('service').map((s) => s.Spec.Name));
    assert.deepEqual(names, ['web']);
  });

  it('refuses updates before it is attached to a log, and after close()', async () => {
    const store = new Store();
    await assert.rejects(store.update(() => {}), /not attached/);
    const { leader } = await startStoreCluster();
    leader.close();
    await assert.rejects(leader.update(() => {}), (error: unknown) => (error as { code?: string }).code === 'STOPPED');
  });

  it('refuses to apply an entry twice or out of order', () => {
    const store = new Store();
    store.apply(1, new Uint8Array(0));
    assert.throws(() => store.apply(1, new Uint8Array(0)), /after index 1/);
    assert.equal(store.appliedIndex, 1);
  });
});
