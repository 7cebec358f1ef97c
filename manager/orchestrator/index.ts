// The orchestrators' public surface; the manager wires them, each with the same options.
export { ReplicatedOrchestrator } from './replicated.js';
export { GlobalOrchestrator, nodeKeepsGlobalTask, nodeTakesGlobalTask } from './global.js';
export { RestartSupervisor, shouldRestart, replicatedReplaceReason } from './restart.js';
export type { ReplaceReason } from './restart.js';
export { TaskReaper, DEFAULT_TASK_HISTORY_RETENTION_LIMIT } from './task-reaper.js';
export { meetsConstraint, meetsConstraints, constraintsOf } from './constraints.js';
export { restartPolicyOf, modeOf, isDesiredLive, hasEnded, hasStopped, DEFAULT_RESTART_DELAY_MS } from './tasks.js';
export type { RestartPolicy, RestartCondition, ServiceMode } from './tasks.js';
export { LEADERSHIP_CHECK_MS, BATCH_DELAY_MS, RETRY_DELAY_MS, MAX_WRITES_PER_PASS } from './reconciler.js';
export type { OrchestratorOptions, OrchestratorClock } from './reconciler.js';
export { Updater } from './updater.js';
export { updatePolicyOf, activeUpdatePolicy, updateStateOf, isStartFirstSwitch, DEFAULT_UPDATE_MONITOR_MS } from './update-policy.js';
export type { UpdatePolicy, FailureAction, UpdateOrder } from './update-policy.js';
export { JobOrchestrator, jobModeOf, jobIterationOf, jobRestartPolicyOf, isJobTaskActive, newJobTask } from './jobs.js';
export type { JobMode, JobStatus } from './jobs.js';
