// CPU reservation: the node's CPUs minus what its unfinished tasks reserved must cover the task's.
import { defineFilter } from './filter.js';

export const cpuFilter = defineFilter({
  name: 'cpu',
  reason: 'insufficient CPU',
  enabled: (task) => task.nanoCPUs > 0,
  check: (task, node) => node.available.nanoCPUs >= task.nanoCPUs,
});
