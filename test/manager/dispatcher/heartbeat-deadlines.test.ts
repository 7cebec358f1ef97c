import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HeartbeatDeadlines } from '../../../manager/dispatcher/heartbeat-deadlines.js';

test('a node expires once its deadline has passed, not before', () => {
  const deadlines = new HeartbeatDeadlines();
  deadlines.set('a', 1000);
  deadlines.set('b', 2000);
  assert.deepEqual(deadlines.expired(999).map(([id]) => id), []);
  assert.deepEqual(deadlines.expired(1000).map(([id]) => id), ['a']);
  assert.deepEqual(deadlines.expired(5000).map(([id]) => id), ['a', 'b']);
});

test('shorten only moves a deadline earlier and extend only later; untracked nodes stay untracked', () => {
  const deadlines = new HeartbeatDeadlines();
  deadlines.set('a', 1000);
  deadlines.shorten('a', 1500);
  assert.equal(deadlines.get('a')!.at, 1000);
  deadlines.shorten('a', 400);
  assert.equal(deadlines.get('a')!.at, 400);
  deadlines.extend('a', 300);
  assert.equal(deadlines.get('a')!.at, 400);
  deadlines.extend('a', 900);
  assert.equal(deadlines.get('a')!.at, 900);
  deadlines.shorten('ghost', 1);
  deadlines.extend('ghost', 1);
  assert.equal(deadlines.get('ghost'), undefined);
  assert.equal(deadlines.size, 1);
});

test('forget with a deadline forgets only if nothing was heard since it was judged', () => {
  const deadlines = new HeartbeatDeadlines();
  deadlines.set('a', 1000);
  const [[, judged]] = deadlines.expired(1000);
  deadlines.set('a', 3000); // a heartbeat arrived meanwhile
  assert.equal(deadlines.forget('a', judged), false);
  assert.equal(deadlines.get('a')!.at, 3000);
  const [[, again]] = deadlines.expired(3000);
  assert.equal(deadlines.forget('a', again), true);
  assert.equal(deadlines.size, 0);
});
