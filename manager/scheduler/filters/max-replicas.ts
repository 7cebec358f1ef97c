// Placement.MaxReplicas: at most that many tasks of the service on one node.
import { defineFilter } from './filter.js';

export const maxReplicasFilter = defineFilter({
  name: 'max-replicas',
  reason: 'max replicas per node limit reached',
  enabled: (task) => task.maxReplicas > 0,
  check: (task, node) => node.tasksOfService(task.serviceId) < task.maxReplicas,
});
