// A paused or drained node keeps (or sheds) its tasks but takes no new ones.
import { defineFilter } from './filter.js';

export const nodeActiveFilter = defineFilter({
  name: 'node-active',
  reason: 'node availability is not active',
  check: (_task, node) => node.availability === 'active',
});
