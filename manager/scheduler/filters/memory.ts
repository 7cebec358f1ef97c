// Memory reservation: the node's memory minus what its unfinished tasks reserved must cover the task's.
import { defineFilter } from './filter.js';

export const memoryFilter = defineFilter({
  name: 'memory',
  reason: 'insufficient memory',
  enabled: (task) => task.memoryBytes > 0,
  check: (task, node) => node.available.memoryBytes >= task.memoryBytes,
});
