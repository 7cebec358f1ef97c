import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DEFAULT_HEARTBEAT_PERIOD_MS, GRACE_PERIODS, GRACE_SLACK_MS, gracePeriodMs, heartbeatPeriodMs,
} from '../../../manager/dispatcher/heartbeat-period.js';
import { CHECK_INTERVAL_MS } from '../../../manager/dispatcher/dispatcher.js';
import type { Store } from '../../../manager/store/index.js';

/** A store holding one cluster object with this Spec.Dispatcher (or none at all). */
function storeWith(dispatcher?: Record<string, unknown>): Pick<Store, 'find'> {
  const clusters = dispatcher === undefined ? [] : [{ Spec: { Name: 'default', Dispatcher: dispatcher } }];
  return { find: (() => clusters) as unknown as Store['find'] };
}

test('the defaults mark a silent node down within 3 s', () => {
  assert.equal(DEFAULT_HEARTBEAT_PERIOD_MS, 1000);
  assert.equal(gracePeriodMs(DEFAULT_HEARTBEAT_PERIOD_MS), GRACE_PERIODS * 1000 + GRACE_SLACK_MS);
  assert.ok(gracePeriodMs(DEFAULT_HEARTBEAT_PERIOD_MS) + CHECK_INTERVAL_MS < 3000);
});

test('the period comes from the cluster spec, in nanoseconds as in Docker', () => {
  assert.equal(heartbeatPeriodMs(storeWith()), DEFAULT_HEARTBEAT_PERIOD_MS);
  assert.equal(heartbeatPeriodMs(storeWith({})), DEFAULT_HEARTBEAT_PERIOD_MS);
  assert.equal(heartbeatPeriodMs(storeWith({ HeartbeatPeriod: 5_000_000_000 })), 5000);
  assert.equal(heartbeatPeriodMs(storeWith({ HeartbeatPeriod: 250_400_000 })), 250);
});

test('an unusable period falls back to the default or the protocol\'s floor', () => {
  assert.equal(heartbeatPeriodMs(storeWith({ HeartbeatPeriod: 0 })), DEFAULT_HEARTBEAT_PERIOD_MS);
  assert.equal(heartbeatPeriodMs(storeWith({ HeartbeatPeriod: -1 })), DEFAULT_HEARTBEAT_PERIOD_MS);
  assert.equal(heartbeatPeriodMs(storeWith({ HeartbeatPeriod: '1s' })), DEFAULT_HEARTBEAT_PERIOD_MS);
  assert.equal(heartbeatPeriodMs(storeWith({ HeartbeatPeriod: 1 })), 100);
});
