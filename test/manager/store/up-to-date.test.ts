import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTaskUpToDate, jsonEqual } from '../../../manager/store/index.js';

test('jsonEqual ignores key order and undefined members, not array order', () => {
  assert.ok(jsonEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1, d: undefined }));
  assert.ok(!jsonEqual([1, 2], [2, 1]));
  assert.ok(!jsonEqual({ a: 1 }, { a: 1, b: null }));
});

test('a task is up to date with the template and, when it carries one, the endpoint spec', () => {
  const spec = { TaskTemplate: { ContainerSpec: { Image: 'x' }, ForceUpdate: 0 }, EndpointSpec: { Mode: 'vip' } };
  assert.ok(isTaskUpToDate({ Spec: { ContainerSpec: { Image: 'x' }, ForceUpdate: 0 } }, spec));
  assert.ok(!isTaskUpToDate({ Spec: { ContainerSpec: { Image: 'x' }, ForceUpdate: 1 } }, spec), 'a ForceUpdate bump');
  const endpoint = { Spec: { Mode: 'vip', Ports: [{ TargetPort: 80, PublishedPort: 8080, PublishMode: 'host' }] } };
  assert.ok(!isTaskUpToDate({ Spec: spec.TaskTemplate, Endpoint: endpoint }, spec), 'a changed host port');
  assert.ok(isTaskUpToDate({ Spec: spec.TaskTemplate, Endpoint: { Spec: { Mode: 'vip' } } }, spec));
});
