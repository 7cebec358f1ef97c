import assert from 'node:assert/strict';
import { test } from 'node:test';
import { containerFilters, systemLabels, taskFromLabels } from '../../../../worker/executor/docker/labels.js';

const identity = { taskId: 'abc123', taskName: 'web.3.abc123', serviceId: 'svc1', serviceName: 'web', nodeId: 'node1' };

test('a container carries Swarm\'s task labels and Berth\'s marker', () => {
  assert.deepEqual(systemLabels(identity), {
    'com.docker.swarm.node.id': 'node1',
    'com.docker.swarm.service.id': 'svc1',
    'com.docker.swarm.service.name': 'web',
    'com.docker.swarm.task': '',
    'com.docker.swarm.task.id': 'abc123',
    'com.docker.swarm.task.name': 'web.3.abc123',
    'com.berth.managed': 'true',
  });
  assert.deepEqual(containerFilters('node1'), { label: ['com.docker.swarm.node.id=node1', 'com.berth.managed=true', 'com.docker.swarm.task.id'] });
  assert.deepEqual(containerFilters('node1', 'abc123').label.at(-1), 'com.docker.swarm.task.id=abc123');
});

test('an adopted container\'s task is rebuilt from its labels: ID, service, name, slot, node', () => {
  const task = taskFromLabels({ ...systemLabels(identity), team: 'blue' }, 'busybox:latest');
  assert.deepEqual(task, {
    ID: 'abc123',
    ServiceID: 'svc1',
    Name: 'web.3.abc123',
    Slot: 3,
    NodeID: 'node1',
    ServiceAnnotations: { Name: 'web' },
    Spec: { ContainerSpec: { Image: 'busybox:latest', Labels: { team: 'blue' } } },
  });
  // A global task's name has the node ID where the slot would be: no slot.
  const global = taskFromLabels(systemLabels({ ...identity, taskName: 'agent.node1.abc123' }));
  assert.equal(global.Slot, undefined);
  assert.equal(global.Name, 'agent.node1.abc123');
});
