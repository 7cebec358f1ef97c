// Only nodes whose agent is connected and reporting (Status.State ready) get new tasks.
import { defineFilter } from './filter.js';

export const nodeReadyFilter = defineFilter({
  name: 'node-ready',
  reason: 'node is not ready',
  check: (_task, node) => node.state === 'ready',
});
