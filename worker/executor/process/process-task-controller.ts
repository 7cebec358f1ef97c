// Runs one task as a host process: the program from the task's ContainerSpec, in its own session
// and process group (so every signal reaches everything the task started), its stdout and stderr
// written to files the log collector stamps into lines. A controller made from stored state adopts
// a process an earlier agent started: it checks the process is the same one (PID + start time +
// boot ID), watches it by polling, and can still stop it.

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import os from 'node:os';
import type { ExecutorTask, ExitInfo, LogLine, LogOptions, TaskController, TaskPhase, TaskRuntimeStatus } from '../executor.js';
import { ExecutorError, executorError, exitInfoFor } from '../executor.js';
import type { LaunchPlan } from './launch-plan.js';
import { launchPlan, resolveExecutable } from './launch-plan.js';
import type { ProcessIdentity } from './proc-identity.js';
import { identify, liveness } from './proc-identity.js';
import type { PersistedTaskState, TaskFiles } from './task-files.js';
import { ensureTaskDir, removeTaskFiles, writeState } from './task-files.js';
import { LOG_COLLECT_INTERVAL_MS, LogCollector, nextChange, readLogs } from './task-logs.js';

/**
 * How often an adopted process is checked for exit. It is not our child, so no exit event will
 * come; one read of /proc/<pid>/stat per task per tick costs microseconds, and 100 ms keeps the
 * exit's report to the manager (and the restart that follows) well inside a heartbeat period.
 */
export const ADOPTED_POLL_INTERVAL_MS = 100;

const ADOPTED_EXIT_UNKNOWN = 'the process ended while adopted after an agent restart (it is not the new agent\'s child, so its exit code cannot be read)';

export interface ControllerContext {
  files: TaskFiles;
  nodeId?: string;
  /** Called once the task's files are deleted, so the executor forgets the controller. */
  onRemoved: (taskId: string) => void;
}

export class ProcessTaskController implements TaskController {
  readonly taskId: string;
  private phase: TaskPhase = 'new';
  private task: ExecutorTask;
  private plan?: LaunchPlan;
  private identity?: ProcessIdentity;
  private child?: ChildProcess;
  private startedAt?: string;
  private stopRequested = false;
  private adopted = false;
  private exit?: ExitInfo;
  private starting?: Promise<void>;
  private collector?: LogCollector;
  private pollTimer?: NodeJS.Timeout;
  private readonly exited: Promise<ExitInfo>;
  private resolveExited!: (info: ExitInfo) => void;

  constructor(private readonly context: ControllerContext, task: ExecutorTask, stored?: PersistedTaskState) {
    this.taskId = task.ID;
    this.task = task;
    this.exited = new Promise((resolve) => { this.resolveExited = resolve; });
    if (stored) this.restore(stored);
  }

  /** Takes over a task an earlier controller (usually of an earlier agent) left on disk. */
  private restore(stored: PersistedTaskState): void {
    this.task = stored.task;
    this.plan = stored.plan;
    this.startedAt = stored.startedAt;
    this.stopRequested = stored.stopRequested ?? false;
    if (stored.phase === 'prepared') {
      this.phase = 'prepared';
      return;
    }
    if (stored.phase === 'exited' && stored.exit) {
      this.phase = 'exited';
      this.exit = stored.exit;
      this.resolveExited(stored.exit);
      return;
    }
    // Running when the last agent stopped watching.
    this.phase = 'running';
    this.adopted = true;
    this.identity = stored.process;
    this.collector = new LogCollector(this.context.files);
    if (this.identity && liveness(this.identity) === 'alive') {
      this.collector.start();
      this.pollTimer = setInterval(() => this.pollAdopted(), ADOPTED_POLL_INTERVAL_MS);
    } else {
      // Gone while nobody watched, or its PID names another process now: never signal it.
      this.finish(exitInfoFor({ exitCode: null, signal: null, stopRequested: this.stopRequested, startedAt: this.startedAt, unknownReason: 'the process ended while no agent was running' }));
    }
  }

  async prepare(): Promise<void> {
    this.assertNotRemoved();
    if (this.phase !== 'new') return;
    this.plan = launchPlan(this.task, this.context.nodeId);
    ensureTaskDir(this.context.files);
    this.phase = 'prepared';
    this.persist();
  }

  async start(): Promise<void> {
    this.assertNotRemoved();
    // Once running or over (a failed start included: that caller got the error), starting is a no-op;
    // a call while a start is under way shares its outcome.
    if (this.phase === 'running' || this.phase === 'exited') return;
    this.starting ??= this.doStart();
    return this.starting;
  }

  private async doStart(): Promise<void> {
    if (this.phase === 'running' || this.phase === 'exited') return;
    await this.prepare();
    const plan = this.plan!;
    const files = this.context.files;
    const executable = resolveExecutable(plan.program, plan.env.PATH, plan.cwd);
    if (!executable) throw this.failStart(executorError('EXECUTABLE_NOT_FOUND', { program: plan.program }));

    const stdout = openSync(files.stdoutRaw, 'a', 0o600);
    const stderr = openSync(files.stderrRaw, 'a', 0o600);
    let child: ChildProcess;
    try {
      child = spawn(executable, plan.args, {
        argv0: plan.program,
        cwd: plan.cwd,
        env: plan.env,
        uid: plan.uid,
        gid: plan.gid,
        // setsid(): the task leads its own session and process group, apart from the agent's, so it
        // survives the agent and a signal to -pid reaches everything it started.
        detached: true,
        stdio: ['ignore', stdout, stderr],
      });
    } catch (error) {
      throw this.failStart(executorError('START_FAILED', { reason: (error as Error).message }));
    } finally {
      closeSync(stdout);
      closeSync(stderr);
    }
    if (child.pid === undefined) {
      const [error] = (await new Promise<[Error]>((resolve) => child.once('error', (e) => resolve([e]))));
      const code = (error as NodeJS.ErrnoException).code;
      throw this.failStart(code === 'ENOENT'
        ? executorError('EXECUTABLE_NOT_FOUND', { program: plan.program })
        : executorError('START_FAILED', { reason: error.message }));
    }
    // Read at once, before the event loop can reap it: even a process that exited already is still a zombie here.
    const pid = child.pid;
    this.identity = identify(pid) ?? { pid, startTime: 'unknown', bootId: '' };
    this.child = child;
    this.startedAt = new Date().toISOString();
    this.phase = 'running';
    this.persist();
    child.on('error', () => { /* after a successful spawn only kill() can fail, and it reports ESRCH through its return value */ });
    child.once('exit', (code, signal) => this.onChildExit(code, signal));
    this.collector = new LogCollector(files);
    this.collector.start();
  }

  /** A start that failed ends the task: wait() reports the same failure the agent got from start(). */
  private failStart(error: ExecutorError): ExecutorError {
    this.finish({ state: 'failed', exitCode: null, signal: null, err: error.message, finishedAt: new Date().toISOString() });
    return error;
  }

  private onChildExit(code: number | null, signal: NodeJS.Signals | null): void {
    // Like a container whose init exits, nothing the task started outlives it.
    this.killGroup('SIGKILL');
    const signo = signal ? (os.constants.signals as Record<string, number>)[signal] : undefined;
    this.finish(exitInfoFor({
      exitCode: code ?? (signo !== undefined ? 128 + signo : null),
      signal,
      stopRequested: this.stopRequested,
      startedAt: this.startedAt,
    }));
  }

  private pollAdopted(): void {
    if (!this.identity || this.phase !== 'running') return;
    const state = liveness(this.identity);
    if (state === 'alive') return;
    // Seen ending just now: its group's leftovers are still ours to clean up. (A group whose leader
    // vanished long ago is not signalled: restore() never gets here for it.)
    if (state === 'gone') this.killGroup('SIGKILL');
    this.finish(exitInfoFor({ exitCode: null, signal: null, stopRequested: this.stopRequested, startedAt: this.startedAt, unknownReason: ADOPTED_EXIT_UNKNOWN }));
  }

  private finish(info: ExitInfo): void {
    if (this.phase === 'exited' || this.phase === 'removed') return;
    clearInterval(this.pollTimer);
    this.pollTimer = undefined;
    this.collector?.finish();
    this.phase = 'exited';
    this.exit = info;
    this.persist();
    this.resolveExited(info);
  }

  /** Signals the task's process group, after checking its leader is still the process we started. */
  private signalTask(signal: NodeJS.Signals): void {
    if (!this.identity || this.phase !== 'running') return;
    // A child of ours cannot be reused before we reap it, but an adopted PID can.
    if (this.adopted && liveness(this.identity) !== 'alive') return;
    this.killGroup(signal);
  }

  private killGroup(signal: NodeJS.Signals): void {
    if (!this.identity) return;
    try {
      process.kill(-this.identity.pid, signal);
    } catch {
      // ESRCH: the group is already empty
    }
  }

  async wait(): Promise<ExitInfo> {
    if (this.exit) return this.exit;
    if (this.starting) await this.starting.catch(() => undefined);
    if (this.phase === 'running' || this.phase === 'exited') return this.exited;
    if (this.phase === 'removed') throw executorError('REMOVED', { taskId: this.taskId });
    throw executorError('NOT_STARTED', { taskId: this.taskId });
  }

  async shutdown(options: { gracePeriodMs?: number } = {}): Promise<void> {
    if (this.starting) await this.starting.catch(() => undefined);
    if (this.phase !== 'running') return;
    const grace = options.gracePeriodMs ?? this.plan?.stopGracePeriodMs ?? 0;
    this.requestStop();
    this.signalTask(this.plan?.stopSignal ?? 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.exited.then(() => false),
      new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(true), grace); }),
    ]);
    clearTimeout(timer);
    if (timedOut) this.signalTask('SIGKILL');
    await this.exited;
  }

  async terminate(): Promise<void> {
    if (this.starting) await this.starting.catch(() => undefined);
    if (this.phase !== 'running') return;
    this.requestStop();
    this.signalTask('SIGKILL');
    await this.exited;
  }

  private requestStop(): void {
    if (this.stopRequested) return;
    this.stopRequested = true;
    this.persist();
  }

  async remove(): Promise<void> {
    if (this.phase === 'removed') return;
    await this.terminate();
    this.close();
    this.phase = 'removed';
    removeTaskFiles(this.context.files);
    this.context.onRemoved(this.taskId);
  }

  logs(options: LogOptions = {}): AsyncIterable<LogLine> {
    return readLogs({
      path: this.context.files.log,
      isFinal: () => this.phase === 'exited' || this.phase === 'removed',
      changed: (signal) => nextChange(this.collector?.events, LOG_COLLECT_INTERVAL_MS * 2, signal),
    }, options);
  }

  async status(): Promise<TaskRuntimeStatus> {
    return {
      taskId: this.taskId,
      phase: this.phase,
      runtimeId: this.identity ? String(this.identity.pid) : undefined,
      pid: this.identity?.pid,
      startedAt: this.startedAt,
      adopted: this.adopted,
      stopRequested: this.stopRequested,
      exit: this.exit,
    };
  }

  close(): void {
    clearInterval(this.pollTimer);
    this.pollTimer = undefined;
    // Stop, not finish: a running task's remaining output is for the next agent's collector.
    if (this.phase === 'running') this.collector?.stop();
    // The process stays this agent's child until it exits, but a closed controller no longer
    // records anything: the controller that adopts the task does.
    this.child?.removeAllListeners('exit');
    this.child?.unref();
  }

  private assertNotRemoved(): void {
    if (this.phase === 'removed') throw executorError('REMOVED', { taskId: this.taskId });
  }

  private persist(): void {
    if (this.phase === 'new' || this.phase === 'removed') return;
    const state: PersistedTaskState = {
      version: 1,
      task: this.task,
      phase: this.phase,
      plan: this.plan,
      process: this.identity ? { ...this.identity, pgid: this.identity.pid } : undefined,
      startedAt: this.startedAt,
      stopRequested: this.stopRequested,
      exit: this.exit,
      files: this.context.files,
    };
    writeState(state);
  }
}
