import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WatchHistoryCompactedError, WatchOverflowError } from '../../../manager/store/errors.js';
import type { StoreEvent } from '../../../manager/store/events.js';
import { thaw } from '../../../manager/store/frozen.js';
import type { Watch } from '../../../manager/store/watch-hub.js';
import { createOne, newService, newTask } from './fixtures.js';
import { startStoreCluster } from './store-cluster.js';

async function take(watch: Watch, count: number): Promise<StoreEvent[]> {
  const events: StoreEvent[] = [];
  while (events.length < count) {
    const next = await watch.next();
    if (next.done) break;
    events.push(next.value);
  }
  return events;
}

function summary(events: readonly StoreEvent[]): string[] {
  return events.map((e) => `${e.index} ${e.action} ${e.kind} ${(e.object.Spec as { Name?: string }).Name ?? e.object.ID}`);
}

describe('Store watches', () => {
  it('delivers every change in raft-index order, with the old object on updates', async () => {
    const { leader } = await startStoreCluster();
    const watch = leader.watch();
    const web = await createOne(leader, 'service', newService('web'));
    const edited = thaw(web);
    edited.Spec.Labels = { v: '2' };
    const { index: updateIndex } = await leader.update((tx) => {
      tx.update('service', edited);
      tx.create('network', { Spec: { Name: 'net' } });
    });
    await leader.update((tx) => { tx.delete('service', web.ID); });
    const events = await take(watch, 4);
    assert.deepEqual(summary(events), [
      `${web.Version.Index} create service web`,
      `${updateIndex} update service web`,
      `${updateIndex} create network net`,
      `${updateIndex + 1} delete service web`,
    ]);
    assert.equal(events[1].oldObject, web);
    assert.ok(Object.isFrozen(events[1]));
    watch.close();
    assert.deepEqual(await watch.next(), { value: undefined, done: true });
  });

  it('filters by kind and by predicate, outside apply', async () => {
    const { leader } = await startStoreCluster();
    const tasksOfWeb = leader.watch({ kinds: ['task'], filter: (e) => e.kind === 'task' && e.object.Slot === 2 });
    const web = await createOne(leader, 'service', newService('web'));
    await leader.update((tx) => { for (const slot of [1, 2, 3]) tx.create('task', newTask(web.ID, slot)); });
    const [event] = await take(tasksOfWeb, 1);
    assert.equal(event.kind, 'task');
    assert.equal(event.kind === 'task' && event.object.Slot, 2);
    tasksOfWeb.close();
  });

  it('resumes from an index, replaying retained history before live events, with no gap or duplicate', async () => {
    const { leader } = await startStoreCluster();
    const names = ['a', 'b', 'c', 'd'];
    const indexes: number[] = [];
    for (const name of names.slice(0, 3)) indexes.push((await createOne(leader, 'config', { Spec: { Name: name } })).Version.Index);
    const resumed = leader.watch({ fromIndex: indexes[0] });
    const first = await take(resumed, 2);
    await createOne(leader, 'config', { Spec: { Name: 'd' } });
    const rest = await take(resumed, 1);
    assert.deepEqual([...first, ...rest].map((e) => e.object.Spec.Name), ['b', 'c', 'd']);
    resumed.close();
  });

  it('supports list-then-watch without missing a change: read and take appliedIndex in one turn', async () => {
    const { leader } = await startStoreCluster();
    const writes = (async () => { for (let i = 0; i < 20; i++) await createOne(leader, 'service', newService(`s${i}`)); })();
    // Let some writes land, then list and open the watch with no await in between.
    while (leader.find('service').length < 5) await new Promise((resolve) => setImmediate(resolve));
    const listed = new Set(leader.find('service').map((s) => s.Spec.Name));
    const watch = leader.watch({ fromIndex: leader.appliedIndex });
    assert.ok(listed.size > 0 && listed.size < 20, 'the list caught the writes midway');
    await writes;
    const seen = await take(watch, 20 - listed.size);
    for (const event of seen) {
      assert.equal(listed.has(event.object.Spec.Name as string), false, 'no duplicate of a listed object');
      listed.add(event.object.Spec.Name as string);
    }
    assert.equal(listed.size, 20);
    watch.close();
  });

  it('refuses to resume from before the retained history, telling the watcher to re-list', async () => {
    const { leader } = await startStoreCluster({ store: { watchHistory: 3 } });
    const first = await createOne(leader, 'service', newService('s0'));
    for (let i = 1; i < 5; i++) await createOne(leader, 'service', newService(`s${i}`));
    assert.throws(() => leader.watch({ fromIndex: first.Version.Index - 1 }), (error: unknown) => {
      assert.ok(error instanceof WatchHistoryCompactedError);
      assert.equal(error.code, 'WATCH_HISTORY_COMPACTED');
      assert.match(error.message, /re-list/);
      return true;
    });
    const recent = leader.watch({ fromIndex: leader.appliedIndex - 3 });
    assert.equal((await take(recent, 3)).length, 3);
    recent.close();
  });

  it('closes a watcher that falls too far behind, without blocking apply or other watchers', async () => {
    const { leader } = await startStoreCluster({ store: { watchHistory: 5 } });
    const slow = leader.watch();
    const fast = leader.watch();
    const received: string[] = [];
    const draining = (async () => { for await (const event of fast) received.push(event.object.Spec.Name as string); })();
    for (let i = 0; i < 12; i++) await createOne(leader, 'secret', { Spec: { Name: `s${i}` } });
    assert.equal(slow.closed, true, 'closed as soon as it was overtaken');
    assert.ok(slow.error instanceof WatchOverflowError);
    await assert.rejects(slow.next(), WatchOverflowError);
    assert.equal(await slow.ended, slow.error);
    assert.equal(leader.find('secret').length, 12, 'every write applied regardless');
    fast.close();
    await draining;
    assert.deepEqual(received, Array.from({ length: 12 }, (_, i) => `s${i}`));
  });

  it('fails only the watcher whose filter throws', async () => {
    const { leader } = await startStoreCluster();
    const broken = leader.watch({ filter: () => { throw new Error('bad filter'); } });
    const healthy = leader.watch();
    const brokenNext = broken.next();
    await createOne(leader, 'service', newService('web'));
    await assert.rejects(brokenNext, /bad filter/);
    assert.equal((await take(healthy, 1))[0].object.Spec.Name, 'web');
    healthy.close();
  });

  it('delivers to a subscription callback one event at a time, awaiting it', async () => {
    const { leader } = await startStoreCluster();
    const seen: string[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const subscription = leader.subscribe({ kinds: ['service'] }, async (event) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 1));
      seen.push(event.object.Spec.Name as string);
      inFlight--;
    });
    await Promise.all(['a', 'b', 'c'].map((name) => createOne(leader, 'service', newService(name))));
    while (seen.length < 3) await new Promise((resolve) => setTimeout(resolve, 1));
    subscription.close();
    assert.equal(await subscription.ended, undefined);
    assert.deepEqual(seen, ['a', 'b', 'c']);
    assert.equal(maxInFlight, 1);
  });

  it('ends a subscription whose listener throws, reporting the error', async () => {
    const { leader } = await startStoreCluster();
    const subscription = leader.subscribe({}, () => { throw new Error('listener broke'); });
    await createOne(leader, 'service', newService('web'));
    const error = await subscription.ended;
    assert.match(String(error), /listener broke/);
  });

  it('ends iteration when the consumer breaks out of for-await, and on store close()', async () => {
    const { leader } = await startStoreCluster();
    const watch = leader.watch();
    await createOne(leader, 'service', newService('a'));
    await createOne(leader, 'service', newService('b'));
    for await (const event of watch) {
      assert.equal(event.object.Spec.Name, 'a');
      break;
    }
    assert.equal(watch.closed, true);
    const other = leader.watch();
    const pending = other.next();
    leader.close();
    assert.deepEqual(await pending, { value: undefined, done: true });
    assert.equal(await other.ended, undefined);
  });

  it('delivers the same stream on every manager', async () => {
    const cluster = await startStoreCluster();
    const watches = cluster.members.map((store) => store.watch());
    await createOne(cluster.leader, 'service', newService('web'));
    await cluster.leader.update((tx) => { tx.create('task', newTask(tx.lookup('service', 'web').ID, 1)); });
    const streams = await Promise.all(watches.map((watch) => take(watch, 2)));
    for (const stream of streams) assert.deepEqual(stream, streams[0]);
    for (const watch of watches) watch.close();
  });
});
