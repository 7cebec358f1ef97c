// The one interface every task runtime on a worker implements: the agent drives a task through
// prepare → start → wait, stops it with shutdown (graceful) or terminate (forceful), reads its logs,
// and finally removes what the runtime kept for it. The process executor (process/) and the Docker
// executor (docker/, next) sit behind it, so the agent never knows which one runs a task.
//
// Shaped after SwarmKit's agent/exec Controller, with two differences worth knowing:
//  - prepare and start are idempotent instead of answering "already prepared/started" sentinel
//    errors: a controller runs its task at most once, and calling start again after an agent
//    restart (or after the task exited) is a no-op; wait() then reports the one exit.
//  - every failure is an ExecutorError whose `taskState` says which terminal state it sends the
//    task to (rejected before anything ran, failed after) and whose message is the Status.Err
//    the user reads in `docker service ps --no-trunc`.

import type { NodeDescription } from '../node-description.js';

// ---------------------------------------------------------------------------------------------
// What the executor reads of a task (Docker Engine API shapes; everything else is ignored).

export interface ContainerSpec {
  Image?: string;
  Labels?: Record<string, string>;
  Command?: string[];
  Args?: string[];
  Hostname?: string;
  /** `KEY=value`; a bare `KEY` removes KEY from the environment, as Docker does. */
  Env?: string[];
  Dir?: string;
  /** `user`, `uid`, `user:group` or `uid:gid`. */
  User?: string;
  Groups?: string[];
  TTY?: boolean;
  OpenStdin?: boolean;
  ReadOnly?: boolean;
  Mounts?: unknown[];
  /** Nanoseconds, as on the wire. */
  StopGracePeriod?: number;
  /** `SIGTERM`, `TERM` or `15`. */
  StopSignal?: string;
  Healthcheck?: Record<string, unknown>;
  Secrets?: unknown[];
  Configs?: unknown[];
  [field: string]: unknown;
}

export interface TaskSpec {
  ContainerSpec?: ContainerSpec;
  RestartPolicy?: Record<string, unknown>;
  Resources?: Record<string, unknown>;
  [field: string]: unknown;
}

/** The fields of a Task (Engine API) an executor reads; a stored Task is assignable to it. */
export interface ExecutorTask {
  ID: string;
  ServiceID?: string;
  /** Swarm's `<service>.<slot>.<id>`; computed from the other fields when absent. */
  Name?: string;
  Slot?: number;
  NodeID?: string;
  /** The service's name, as SwarmKit copies it onto the task (`ServiceAnnotations.Name`). */
  ServiceAnnotations?: { Name?: string };
  Spec: TaskSpec;
}

// ---------------------------------------------------------------------------------------------
// Results.

/** How a task's main process ended, and the task state that follows (Status.State / Status.Err). */
export interface ExitInfo {
  /**
   * complete: exit code 0. failed: non-zero, a signal, or an unknown end. shutdown: the process
   * ended after the executor was asked to stop it (shutdown or terminate), whatever its code.
   */
  state: 'complete' | 'failed' | 'shutdown';
  /** Exit code; 128 + n when killed by signal n (as a shell and Docker report it); null when unknown. */
  exitCode: number | null;
  /** The signal that killed the process (`SIGKILL`), if one did. */
  signal: string | null;
  /** The Status.Err to report: absent when the task completed or was shut down as asked. */
  err?: string;
  /** RFC 3339. */
  startedAt?: string;
  /** RFC 3339; when the executor observed the end. */
  finishedAt: string;
}

export type TaskPhase = 'new' | 'prepared' | 'running' | 'exited' | 'removed';

/** What the runtime can say about a task now (ContainerStatus in the Engine API). */
export interface TaskRuntimeStatus {
  taskId: string;
  phase: TaskPhase;
  /** The runtime's handle: a container ID for docker, the PID (as text) for the process executor. */
  runtimeId?: string;
  pid?: number;
  startedAt?: string;
  /** True when this controller took the task over from an earlier agent rather than starting it. */
  adopted: boolean;
  /** The executor has been asked to stop the task. */
  stopRequested: boolean;
  exit?: ExitInfo;
  /** Host-mode published ports as bound once the task runs (the host port the engine chose when the spec left it 0); docker only. */
  ports?: PublishedHostPort[];
}

/** One host-mode published port of a running task, in the Engine API's PortConfig spelling. */
export interface PublishedHostPort {
  Protocol: string;
  TargetPort: number;
  PublishedPort: number;
  PublishMode: 'host';
}

export type LogStream = 'stdout' | 'stderr';

export interface LogLine {
  stream: LogStream;
  /** When the runtime captured the line (RFC 3339, ms precision for the process executor). */
  time: string;
  /** The line without its newline. Lines longer than MAX_LOG_LINE_BYTES arrive in pieces, as Docker splits them. */
  line: string;
}

export interface LogOptions {
  /** Keep streaming new lines until the task exits (or `signal` aborts). Default false. */
  follow?: boolean;
  /** Only the last N lines that pass the other filters; default all. */
  tail?: number;
  /** Only lines captured at or after this instant (Date or ms since the epoch). */
  since?: Date | number;
  /** Only lines captured before this instant. */
  until?: Date | number;
  /** Include stdout / stderr; both default true. */
  stdout?: boolean;
  stderr?: boolean;
  /** Carried for the API layer's formatting (see formatLogLine); every LogLine has its time regardless. */
  timestamps?: boolean;
  /** Ends a following stream early. */
  signal?: AbortSignal;
}

/** Docker splits log lines at 16 KiB; so do we, so a runaway line without newline cannot grow without bound. */
export const MAX_LOG_LINE_BYTES = 16 * 1024;

/** A log line as `docker service logs` prints it: with `--timestamps`, the time then a space. */
export function formatLogLine(line: LogLine, options: { timestamps?: boolean } = {}): string {
  return options.timestamps ? `${line.time} ${line.line}` : line.line;
}

// ---------------------------------------------------------------------------------------------
// The interfaces.

/** Drives one task on one runtime. Methods are safe to call in any order; see each for what it does when early or late. */
export interface TaskController {
  readonly taskId: string;
  /**
   * Checks the spec against what this runtime can do and makes ready what the task needs. A spec
   * the runtime cannot honour rejects with an ExecutorError (taskState 'rejected'). Idempotent.
   */
  prepare(): Promise<void>;
  /**
   * Starts the task (prepares it first if needed) and resolves once it runs. A start that fails
   * (executable missing, not permitted) rejects with an ExecutorError (taskState 'failed').
   * Idempotent: no-op once started, exited or adopted.
   */
  start(): Promise<void>;
  /** Resolves with how the task ended, once it has and its last log lines are stored. Rejects if it was never started. */
  wait(): Promise<ExitInfo>;
  /**
   * Graceful stop: the task's stop signal, then a forced kill after the grace period
   * (default: the spec's StopGracePeriod, else DEFAULT_STOP_GRACE_PERIOD_MS). Resolves once exited. No-op if not running.
   */
  shutdown(options?: { gracePeriodMs?: number }): Promise<void>;
  /** Forced stop (SIGKILL to everything the task started). Resolves once exited. No-op if not running. */
  terminate(): Promise<void>;
  /** Deletes what the runtime kept for the task (state, logs); stops it first if it still runs. */
  remove(): Promise<void>;
  /** The task's captured output; the stream ends at the last line (or, following, when the task has exited). */
  logs(options?: LogOptions): AsyncIterable<LogLine>;
  status(): Promise<TaskRuntimeStatus>;
  /** Releases this controller's timers and handles without touching the task (it keeps running). */
  close(): void;
}

/** What this node offers, as the agent reports it: the node description plus the runtime's name. */
export interface EngineDescription extends NodeDescription {
  runtime: 'process' | 'docker';
}

export interface AdoptedTask {
  taskId: string;
  controller: TaskController;
  /** Still running (identity verified); otherwise it ended while no agent watched and wait() says how. */
  running: boolean;
}

export interface AdoptionReport {
  adopted: AdoptedTask[];
  /** Tasks whose stored state could not be read (STATE_CORRUPT); the agent reports and removes them. */
  unreadable: { taskId: string; error: ExecutorError }[];
}

export interface Executor {
  describe(): Promise<EngineDescription>;
  /** The controller for `task`: the same instance for the same task ID; one that remembers a task this runtime already ran. */
  controller(task: ExecutorTask): TaskController;
  /** The controller of a task an earlier agent left in this runtime, or undefined if there is none. */
  adopt(taskId: string): Promise<TaskController | undefined>;
  /** Every task an earlier agent left in this runtime; the agent keeps those it is still assigned and removes the rest. */
  adoptAll(): Promise<AdoptionReport>;
  /** Releases every controller's handles; tasks keep running, to be adopted by the next executor. */
  close(): void;
}

// ---------------------------------------------------------------------------------------------
// Errors: a catalogue of stable codes, each with the task state it leads to and a message template.

type TerminalState = 'rejected' | 'failed' | null;

interface ExecutorErrorTemplate<P> {
  readonly taskState: TerminalState;
  readonly message: (params: P) => string;
}

function template<P = void>(taskState: TerminalState, message: (params: P) => string): ExecutorErrorTemplate<P> {
  return { taskState, message };
}

export const EXECUTOR_ERRORS = {
  /** The spec is malformed or asks for something this runtime cannot do; nothing ran. */
  INVALID_SPEC: template<{ field: string; reason: string }>('rejected', (p) => `invalid ${p.field}: ${p.reason}`),
  UNSUPPORTED: template<{ runtime: string; feature: string; reason: string }>('rejected',
    (p) => `the ${p.runtime} executor does not support ${p.feature}: ${p.reason}`),
  /** Docker's runtime says `exec: "x": executable file not found in $PATH`; ours names the program the same way. */
  EXECUTABLE_NOT_FOUND: template<{ program: string }>('failed', (p) => `executable file not found: ${p.program}`),
  START_FAILED: template<{ reason: string }>('failed', (p) => `starting task failed: ${p.reason}`),
  NOT_STARTED: template<{ taskId: string }>(null, (p) => `task ${p.taskId} was never started`),
  REMOVED: template<{ taskId: string }>(null, (p) => `task ${p.taskId} has been removed`),
  STATE_CORRUPT: template<{ path: string; reason: string }>(null, (p) => `executor state ${p.path} is unreadable: ${p.reason}`),
  // The Docker executor's (docker/): the engine's own sentence is kept, as Swarm shows it in Status.Err.
  /** The image is not on the engine and pulling it failed; the pull's reason follows (registry credentials never appear). */
  IMAGE_NOT_FOUND: template<{ image: string; reason: string }>('rejected', (p) => `No such image: ${p.image} (pull failed: ${p.reason})`),
  /** The engine refused to create the container (a bind source that does not exist, an invalid option): its message as is. */
  CONTAINER_CREATE_FAILED: template<{ reason: string }>('rejected', (p) => p.reason),
  /** SwarmKit's exitError with its ErrContainerUnhealthy cause: the container was stopped because its healthcheck failed. */
  CONTAINER_UNHEALTHY: template<{ exitCode: number | null }>('failed',
    (p) => (p.exitCode ? `task: non-zero exit (${p.exitCode}): dockerexec: unhealthy container` : 'dockerexec: unhealthy container')),
  /** No answer from dockerd (socket missing, connection refused, timeout). */
  ENGINE_UNAVAILABLE: template<{ host: string; reason: string }>(null, (p) => `cannot connect to the Docker engine at ${p.host}: ${p.reason}`),
  /** The engine answered an operation on an existing task with an error; the task's state is unchanged. */
  ENGINE_ERROR: template<{ operation: string; reason: string }>(null, (p) => `docker ${p.operation} failed: ${p.reason}`),
} as const;

export type ExecutorErrorCode = keyof typeof EXECUTOR_ERRORS;
type ExecutorErrorParams<C extends ExecutorErrorCode> = (typeof EXECUTOR_ERRORS)[C] extends ExecutorErrorTemplate<infer P> ? P : never;

export class ExecutorError extends Error {
  constructor(
    readonly code: ExecutorErrorCode,
    message: string,
    /** The terminal state the task goes to (its Status.Err is `message`), or null when the error is the caller's. */
    readonly taskState: TerminalState,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ExecutorError';
  }
}

export function executorError<C extends ExecutorErrorCode>(code: C, params: ExecutorErrorParams<C>, options?: ErrorOptions): ExecutorError {
  const entry = EXECUTOR_ERRORS[code] as ExecutorErrorTemplate<ExecutorErrorParams<C>>;
  return new ExecutorError(code, entry.message(params), entry.taskState, options);
}

export function isExecutorError(error: unknown, code?: ExecutorErrorCode): error is ExecutorError {
  return error instanceof ExecutorError && (code === undefined || error.code === code);
}

// ---------------------------------------------------------------------------------------------
// Shared defaults and helpers.

/**
 * The adoption report of taking over each task in turn (`adopt` gives its controller, or
 * undefined when there is nothing to take over): a task whose state cannot be read is reported
 * as unreadable, for the agent to remove, instead of failing the whole adoption.
 */
export async function adoptEach(taskIds: Iterable<string>, adopt: (taskId: string) => Promise<TaskController | undefined>): Promise<AdoptionReport> {
  const report: AdoptionReport = { adopted: [], unreadable: [] };
  for (const taskId of taskIds) {
    try {
      const controller = await adopt(taskId);
      if (!controller) continue;
      report.adopted.push({ taskId, controller, running: (await controller.status()).phase === 'running' });
    } catch (error) {
      if (!isExecutorError(error)) throw error;
      report.unreadable.push({ taskId, error });
    }
  }
  return report;
}

/** Docker's and Swarm's default stop grace period: long enough for a server to drain connections. */
export const DEFAULT_STOP_GRACE_PERIOD_MS = 10_000;

/** Swarm's task name, `<service name or ID>.<slot, or node ID for global tasks>.<task ID>`. */
export function taskName(task: ExecutorTask): string {
  if (task.Name) return task.Name;
  const service = task.ServiceAnnotations?.Name || task.ServiceID || 'task';
  const slot = task.Slot ? String(task.Slot) : task.NodeID || '0';
  return `${service}.${slot}.${task.ID}`;
}

/** Swarm's Status.Err for an exit: `task: non-zero exit (N)`. */
export function exitInfoFor(params: {
  exitCode: number | null;
  signal: string | null;
  stopRequested: boolean;
  startedAt?: string;
  finishedAt?: string;
  unknownReason?: string;
}): ExitInfo {
  const finishedAt = params.finishedAt ?? new Date().toISOString();
  const base = { exitCode: params.exitCode, signal: params.signal, startedAt: params.startedAt, finishedAt };
  if (params.stopRequested) return { state: 'shutdown', ...base };
  if (params.signal) return { state: 'failed', ...base, err: `task: killed by signal ${params.signal}` };
  if (params.exitCode === null) return { state: 'failed', ...base, err: `task: exit status unknown: ${params.unknownReason ?? 'not observed'}` };
  if (params.exitCode === 0) return { state: 'complete', ...base };
  return { state: 'failed', ...base, err: `task: non-zero exit (${params.exitCode})` };
}
