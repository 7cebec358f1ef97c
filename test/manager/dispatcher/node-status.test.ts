import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEARTBEAT_FAILURE, ipOfPeer, markDown, markReady } from '../../../manager/dispatcher/node-status.js';
import { newObjectId } from '../../../manager/store/object-id.js';
import { describeNode } from '../../../worker/node-description.js';
import { createOne } from '../store/fixtures.js';
import { startStoreCluster } from '../store/store-cluster.js';

test('the IP is taken from grpc-js peer strings; IPv4-mapped addresses read as IPv4', () => {
  assert.equal(ipOfPeer('10.0.0.5:51234'), '10.0.0.5');
  assert.equal(ipOfPeer('::ffff:10.0.0.5:51234'), '10.0.0.5');
  assert.equal(ipOfPeer('::1:51234'), '::1');
  assert.equal(ipOfPeer('[fe80::1]:51234'), 'fe80::1');
  assert.equal(ipOfPeer('10.0.0.5'), '10.0.0.5');
  assert.equal(ipOfPeer('unknown'), '');
});

test('registration writes the description and ready status, keeps fields others own, and skips a write that changes nothing', async () => {
  const cluster = await startStoreCluster({ followers: 0 });
  const store = cluster.leader;
  const node = await createOne(store, 'node', {
    ID: newObjectId(),
    Spec: { Role: 'worker', Availability: 'active' },
    Description: { TLSInfo: { CertIssuerSubject: 'ca' }, Engine: { Plugins: [{ Type: 'Volume', Name: 'local' }] } },
    Status: { State: 'down', Message: HEARTBEAT_FAILURE, Addr: '10.0.0.9' },
  });
  const description = describeNode({ hostname: 'h1', labels: { a: 'b' } });

  await markReady(store, node.ID, description, '10.0.0.5');
  const ready = store.get('node', node.ID)!;
  assert.deepEqual(ready.Status, { State: 'ready', Addr: '10.0.0.5' });
  assert.deepEqual(ready.Description?.TLSInfo, { CertIssuerSubject: 'ca' });
  assert.deepEqual(ready.Description?.Engine, { EngineVersion: description.engineVersion, Labels: { a: 'b' }, Plugins: [{ Type: 'Volume', Name: 'local' }] });
  assert.equal(ready.Description?.Hostname, 'h1');

  const index = store.appliedIndex;
  await markReady(store, node.ID, description, '10.0.0.5');
  assert.equal(store.appliedIndex, index, 'a reconnect with nothing new writes nothing');
});

test('marking down writes every picked node in one update and reports the ones that are gone', async () => {
  const cluster = await startStoreCluster({ followers: 0 });
  const store = cluster.leader;
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    ids.push((await createOne(store, 'node', { Spec: { Role: 'worker', Availability: 'active' }, Status: { State: 'ready', Addr: `10.0.0.${i}` } })).ID);
  }
  const gone = newObjectId();
  const index = store.appliedIndex;

  const outcome = await markDown(store, () => [...ids, gone]);
  assert.deepEqual(outcome, { down: ids, missing: [gone] });
  assert.equal(store.appliedIndex, index + 1);
  for (const [i, id] of ids.entries()) {
    assert.deepEqual(store.get('node', id)!.Status, { State: 'down', Message: HEARTBEAT_FAILURE, Addr: `10.0.0.${i}` });
  }
});
