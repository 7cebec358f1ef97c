// Host-mode published ports bind on the node itself, so two tasks cannot share one there.
import { defineFilter } from './filter.js';

export const hostPortsFilter = defineFilter({
  name: 'host-ports',
  reason: 'host-mode published port already in use',
  enabled: (task) => task.hostPorts.length > 0,
  check: (task, node) => task.hostPorts.every((port) => !node.hostPortInUse(port)),
});
