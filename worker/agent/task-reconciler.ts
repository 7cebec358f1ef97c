// Makes what runs on this node match what the dispatcher assigned to it, through the Executor, and
// reports every observed state change. One TaskRunner per task serializes what is done to that
// task (start, stop, remove), so a change that arrives mid-start is acted on once the start
// settles, never concurrently with it. At most START_CONCURRENCY tasks prepare and start at once
// (StartSlots): the rest wait, reported 'accepted'.
//
// Surviving an agent restart: adopt() takes over every task an earlier agent left in the runtime
// (the executor keeps each task's document and process identity on disk) and reports how it
// stands; the first full set from a dispatcher then says which of them are still this node's, and
// the rest are shut down and removed. A task that kept running is never started again.

import pino from 'pino';
import type { ExecutorTask, ExitInfo, Executor, TaskController } from '../executor/executor.js';
import { ExecutorError } from '../executor/executor.js';
import type { AssignedTask, AssignmentsMessage, PortStatus, TaskStatusUpdate } from '../../shared/session-protocol.js';

/** The lifecycle order (manager/store's TASK_STATES; the agent must not import manager/). */
const TASK_STATES = [
  'new', 'pending', 'assigned', 'accepted', 'preparing', 'starting', 'running',
  'complete', 'failed', 'shutdown', 'rejected', 'orphaned', 'remove',
] as const;

function rank(state: string): number {
  return (TASK_STATES as readonly string[]).indexOf(state);
}

const RUNNING = rank('running');
const COMPLETE = rank('complete');

/**
 * How many tasks prepare and start at once on this node (the rest report 'accepted' and wait).
 * Unbounded, a 100-replica create has some 20 container creates and starts in flight per engine
 * at once, and dockerd/containerd/runc thrash on a small host. Measured on 2 cores (5 engines,
 * 3+2 cluster, `bench:converge --runtime docker`, medians of 3): converge 50/100 took ~3.1/6.5 s
 * unbounded, 2.9/5.4 s with 2, 2.7/5.3 s with 4, 2.5/5.4 s with 8 (and the least engine and
 * control-plane CPU). A node starting a handful of tasks is not slowed at all.
 */
export const START_CONCURRENCY = 8;
/**
 * A start that takes longer than this (pulling an image, waiting for a healthcheck) gives up its
 * slot while it goes on: the bound is for the engine's create/start work, which takes tens to
 * hundreds of ms; it must not make one slow image or health check hold back the node's other tasks.
 */
export const START_SLOT_MAX_HOLD_MS = 2_000;

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** What an assignment asks of its task. */
function intent(task: AssignedTask): 'run' | 'prepare' | 'stop' {
  // 'ready' is Swarm's "prepare, do not start" (the store has no such state yet; handled for peers that send it).
  if (task.DesiredState === 'ready') return 'prepare';
  const desired = rank(task.DesiredState);
  // A job's task is desired 'complete': run it to the end.
  return (desired >= 0 && desired <= RUNNING) || task.DesiredState === 'complete' ? 'run' : 'stop';
}

interface ReportDetails {
  message?: string;
  err?: string;
  exitCode?: number | null;
  runtimeId?: string;
  pid?: number;
  ports?: PortStatus[];
}

class TaskRunner {
  /** The assignment in force; undefined for a task adopted before any dispatcher confirmed it. */
  task: AssignedTask | undefined;
  controller: TaskController | undefined;
  /** The last state reported; '' before the first. */
  state = '';
  private chain: Promise<void> = Promise.resolve();
  private watchingExit = false;
  private removing = false;

  constructor(
    readonly taskId: string,
    private readonly owner: TaskReconciler,
  ) {}

  get terminal(): boolean {
    return this.state !== '' && rank(this.state) >= COMPLETE;
  }

  /** Takes over a task an earlier agent left, reporting where it stands. */
  adopted(controller: TaskController): void {
    this.controller = controller;
    this.enqueue(() => this.observe(controller));
  }

  assign(task: AssignedTask): void {
    if (this.removing) return;
    this.task = task;
    this.enqueue(() => this.reconcile());
  }

  /** No longer this node's: stop it and delete what the runtime kept. */
  remove(): Promise<void> {
    this.removing = true;
    return this.enqueue(async () => {
      const controller = this.controller;
      if (controller) {
        await controller.shutdown();
        await controller.remove();
      }
      this.owner.forget(this);
    });
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(async () => {
      if (this.owner.isStopped) return;
      try {
        await step();
      } catch (error) {
        this.owner.logger.error({ task: this.taskId, err: describeError(error) }, 'acting on a task failed');
      }
    });
    return this.chain;
  }

  private async reconcile(): Promise<void> {
    const task = this.task;
    if (!task || this.removing) return;
    const wanted = intent(task);
    if (wanted === 'stop') return this.stop();
    if (this.terminal || this.state === 'running') return;
    try {
      const controller = this.controller ?? this.owner.executor.controller(task as unknown as ExecutorTask);
      this.controller = controller;
      const { phase } = await controller.status();
      // Started by an earlier agent, or this one before a reconnect: report, never start again.
      if (phase === 'running' || phase === 'exited') return await this.observe(controller);
      if (rank(this.state) < rank('accepted')) this.report('accepted', { message: 'accepted' });
      const release = await this.owner.startSlots.acquire();
      const slotTimer = setTimeout(release, START_SLOT_MAX_HOLD_MS);
      try {
        // Waiting for the slot, the task may have been stopped or removed, or the agent stopped.
        if (this.owner.isStopped || this.removing || this.changedFrom(task)) return;
        this.report('preparing', { message: 'preparing' });
        await controller.prepare();
        if (wanted === 'prepare' || this.changedFrom(task)) return;
        this.report('starting', { message: 'starting' });
        await controller.start();
      } finally {
        clearTimeout(slotTimer);
        release();
      }
      await this.observe(controller);
    } catch (error) {
      this.fail(error);
    }
  }

  /** Whether a newer assignment arrived; its own reconcile is queued and decides. */
  private changedFrom(task: AssignedTask): boolean {
    return this.task !== task && intent(this.task!) !== 'run';
  }

  /** Reports the runtime's state of a started (or adopted) task and watches for its end. */
  private async observe(controller: TaskController): Promise<void> {
    const status = await controller.status();
    const ids = { runtimeId: status.runtimeId ?? '', pid: status.pid ?? 0 };
    if (status.phase === 'running') {
      this.report('running', { message: 'started', ...ids, ports: status.ports });
      this.watchExit(controller, ids);
    } else if (status.phase === 'exited' && status.exit) {
      this.reportExit(status.exit, ids);
    }
  }

  private watchExit(controller: TaskController, ids: { runtimeId: string; pid: number }): void {
    if (this.watchingExit) return;
    this.watchingExit = true;
    controller.wait().then((exit) => {
      if (!this.owner.isStopped && this.controller === controller) this.reportExit(exit, ids);
    }, (error: unknown) => {
      if (!this.owner.isStopped) this.fail(error);
    });
  }

  private reportExit(exit: ExitInfo, ids: { runtimeId: string; pid: number }): void {
    this.report(exit.state, { message: 'finished', err: exit.err, exitCode: exit.exitCode, ...ids });
  }

  private async stop(): Promise<void> {
    if (this.terminal) return;
    if (this.controller) {
      await this.controller.shutdown();
      const status = await this.controller.status();
      if (status.exit) {
        this.reportExit(status.exit, { runtimeId: status.runtimeId ?? '', pid: status.pid ?? 0 });
        return;
      }
    }
    // Never started (or only prepared): it stops here.
    this.report('shutdown', { message: 'shutdown' });
  }

  private fail(error: unknown): void {
    const state = error instanceof ExecutorError && error.taskState ? error.taskState : 'failed';
    this.owner.logger.info({ task: this.taskId, state, err: describeError(error) }, 'task did not start');
    this.report(state, { message: state === 'rejected' ? 'rejected' : 'failed', err: describeError(error) });
  }

  private report(state: string, details: ReportDetails): void {
    // A task ends once: the first end observed is the one reported.
    if (this.terminal || (this.state !== '' && rank(state) < rank(this.state))) return;
    this.state = state;
    this.owner.reported({
      taskId: this.taskId,
      state,
      message: details.message ?? '',
      err: details.err ?? '',
      exitCode: details.exitCode ?? null,
      timestampMs: Date.now(),
      runtimeId: details.runtimeId ?? '',
      pid: details.pid ?? 0,
      ...(details.ports && details.ports.length > 0 ? { ports: details.ports.map((p) => ({ ...p })) } : {}),
    });
  }

  /** The task's controller, made for its assignment if nothing has needed one yet. */
  logSource(): TaskController | undefined {
    if (this.controller) return this.controller;
    if (!this.task || this.removing) return undefined;
    this.controller = this.owner.executor.controller(this.task as unknown as ExecutorTask);
    return this.controller;
  }
}

/** Bounds how many tasks prepare and start at once on this node (START_CONCURRENCY); FIFO. */
class StartSlots {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  /** Resolves with the slot's release (idempotent) once one is free. */
  async acquire(): Promise<() => void> {
    if (this.active < this.limit) this.active++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    };
  }
}

export interface TaskReconcilerOptions {
  executor: Executor;
  /** Called with every state change observed, in order per task. */
  onStatus: (update: TaskStatusUpdate) => void;
  logger?: pino.Logger;
  /** See START_CONCURRENCY (the default). */
  startConcurrency?: number;
}

export class TaskReconciler {
  readonly executor: Executor;
  readonly logger: pino.Logger;
  private readonly onStatus: (update: TaskStatusUpdate) => void;
  private readonly runners = new Map<string, TaskRunner>();
  /** The latest report of every task this node still holds: resent to each new session. */
  private readonly latest = new Map<string, TaskStatusUpdate>();
  private stopped = false;
  readonly startSlots: StartSlots;

  constructor(options: TaskReconcilerOptions) {
    this.executor = options.executor;
    this.onStatus = options.onStatus;
    this.startSlots = new StartSlots(Math.max(1, options.startConcurrency ?? START_CONCURRENCY));
    this.logger = (options.logger ?? pino({ level: 'warn' })).child({ component: 'tasks' });
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** Takes over what an earlier agent left running; call once, before the first assignments. */
  async adopt(): Promise<void> {
    const report = await this.executor.adoptAll();
    for (const { taskId, controller, running } of report.adopted) {
      if (this.runners.has(taskId)) continue;
      const runner = new TaskRunner(taskId, this);
      this.runners.set(taskId, runner);
      runner.adopted(controller);
      this.logger.info({ task: taskId, running }, 'adopted a task an earlier agent left');
    }
    for (const { taskId, error } of report.unreadable) {
      this.logger.error({ task: taskId, err: error.message }, 'cannot adopt a task: its executor state is unreadable');
    }
  }

  /** Acts on a full set or an increment from the dispatcher. */
  assign(message: AssignmentsMessage): void {
    if (this.stopped) return;
    if (message.full) {
      const keep = new Set(message.tasks.map((t) => t.ID));
      for (const runner of [...this.runners.values()]) if (!keep.has(runner.taskId)) void runner.remove();
    }
    for (const id of message.removed) void this.runners.get(id)?.remove();
    for (const task of message.tasks) {
      let runner = this.runners.get(task.ID);
      if (!runner) {
        runner = new TaskRunner(task.ID, this);
        this.runners.set(task.ID, runner);
      }
      runner.assign(task);
    }
  }

  /** The latest report of every task held, to resend after a reconnect. */
  statuses(): TaskStatusUpdate[] {
    return [...this.latest.values()];
  }

  /**
   * The controller whose logs() serve a task this node holds (one an earlier agent left
   * included); undefined for a task it does not hold.
   */
  controllerOf(taskId: string): TaskController | undefined {
    try {
      return this.runners.get(taskId)?.logSource();
    } catch (error) {
      this.logger.warn({ task: taskId, err: describeError(error) }, 'no controller for a task\'s logs');
      return undefined;
    }
  }

  /** The tasks this node holds and their last reported state. */
  tasks(): { taskId: string; state: string }[] {
    return [...this.runners.values()].map((r) => ({ taskId: r.taskId, state: r.state }));
  }

  /** Stops acting on tasks; they keep running, for the next agent to adopt. */
  stop(): void {
    this.stopped = true;
  }

  // Called by runners.
  reported(update: TaskStatusUpdate): void {
    if (this.stopped) return;
    this.latest.set(update.taskId, update);
    this.onStatus(update);
  }

  forget(runner: TaskRunner): void {
    if (this.runners.get(runner.taskId) === runner) this.runners.delete(runner.taskId);
    this.latest.delete(runner.taskId);
  }
}
