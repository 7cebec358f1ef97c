import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HOSTNAMES, IDS, call, startApi } from './api-harness.js';

function filtersParam(filters: unknown): string {
  return `filters=${encodeURIComponent(JSON.stringify(filters))}`;
}

describe('GET /tasks', () => {
  it('lists tasks filtered by node (ID or hostname), service and desired state; inspects one', async () => {
    const { app, store } = await startApi();
    let taskId = '';
    await store.update((tx) => {
      const service = tx.create('service', { Spec: { Name: 'web' } });
      const task = tx.create('task', {
        ServiceID: service.ID, Slot: 1, NodeID: IDS.worker1, Name: 'web.1', Spec: {}, DesiredState: 'running', Status: { State: 'running' },
      });
      taskId = task.ID;
      tx.create('task', { ServiceID: service.ID, Slot: 2, NodeID: IDS.worker2, Name: 'web.2', Spec: {}, DesiredState: 'shutdown', Status: { State: 'complete' } });
    });
    const list = async (filters: unknown): Promise<string[]> => {
      const res = await call(app, { url: `/v1.41/tasks?${filtersParam(filters)}` });
      assert.equal(res.statusCode, 200, res.body);
      return (res.json() as { Name: string }[]).map((t) => t.Name).sort();
    };
    assert.deepEqual(await list({}), ['web.1', 'web.2']);
    assert.deepEqual(await list({ node: { [IDS.worker1]: true } }), ['web.1']);
    assert.deepEqual(await list({ node: { [HOSTNAMES.worker2]: true } }), ['web.2']);
    assert.deepEqual(await list({ service: { web: true }, 'desired-state': { running: true } }), ['web.1']);
    assert.deepEqual(await list({ node: { nosuchnode: true } }), []);
    const one = await call(app, { url: `/v1.41/tasks/${taskId}` });
    assert.equal(one.statusCode, 200);
    assert.equal(one.json().Name, 'web.1');
    const missing = await call(app, { url: '/v1.41/tasks/nosuchtask' });
    assert.equal(missing.statusCode, 404);
    const bad = await call(app, { url: `/v1.41/tasks?${filtersParam({ bogus: { x: true } })}` });
    assert.equal(bad.statusCode, 400);
    assert.deepEqual(bad.json(), { message: "Invalid filter 'bogus'" });
  });
});
