// The filters in the order they run: a node is charged to the first one it fails, so cheap,
// common reasons (node down, drained) come first and the explanation reads like a diagnosis.
import type { TaskRequirements } from '../requirements.js';
import { constraintFilter } from './constraint.js';
import { cpuFilter } from './cpu.js';
import type { Filter } from './filter.js';
import { hostPortsFilter } from './host-ports.js';
import { maxReplicasFilter } from './max-replicas.js';
import { memoryFilter } from './memory.js';
import { nodeActiveFilter } from './node-active.js';
import { nodeReadyFilter } from './node-ready.js';
import { platformFilter } from './platform.js';

export type { Filter } from './filter.js';
export { nodesPhrase } from './filter.js';
export { constraintFilter, constraintsFilter } from './constraint.js';
export { cpuFilter, hostPortsFilter, maxReplicasFilter, memoryFilter, nodeActiveFilter, nodeReadyFilter, platformFilter };

/** The filters that apply to a task with these requirements, in pipeline order. */
export function filtersFor(task: TaskRequirements): Filter[] {
  const filters: Filter[] = [nodeReadyFilter, nodeActiveFilter];
  for (const f of [cpuFilter, memoryFilter]) if (f.enabled(task)) filters.push(f);
  for (const c of task.constraints) filters.push(constraintFilter(c));
  for (const f of [platformFilter, hostPortsFilter, maxReplicasFilter]) if (f.enabled(task)) filters.push(f);
  return filters;
}
