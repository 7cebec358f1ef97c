// The scheduler's public surface: the daemon starts a Scheduler; the API reuses parseConstraint
// (400 on a bad constraint) and Scheduler.placementVerdicts (GET /berth/tasks/{id}/placement).
export { Scheduler, BATCH_DELAY_MS, MAX_TASKS_PER_WRITE, RESCAN_INTERVAL_MS, ASSIGNED_MESSAGE, PENDING_MESSAGE } from './scheduler.js';
export type { SchedulerOptions } from './scheduler.js';
export { parseConstraint, parseConstraints, matchConstraint, ConstraintParseError } from './constraints.js';
export type { Constraint, ConstraintKey, ConstraintOperator } from './constraints.js';
export { placeTasks, placementVerdicts, explainUnplaceable } from './pipeline.js';
export type { Assignment, Unplaced, PlacementResult, PlacementOptions, NodeVerdict } from './pipeline.js';
export { NodeInfo, buildNodeInfos, FAILURE_WINDOW_MS } from './node-info.js';
export { requirementsOf, resourceDemandOf } from './requirements.js';
export type { TaskRequirements, ResourceDemand, SchedulableTask } from './requirements.js';
