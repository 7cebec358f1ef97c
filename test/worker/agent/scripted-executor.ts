// A runtime for agent tests that runs nothing: every task is 'running' at once, with three log
// lines (then, following or with `hang`, a stream that waits until aborted) and the ports it is
// told to report. It records the signals its log readers got, so a test can see a reader stop.
import type {
  AdoptionReport, EngineDescription, Executor, ExecutorTask, ExitInfo, LogLine, LogOptions, PublishedHostPort, TaskController,
  TaskRuntimeStatus,
} from '../../../worker/executor/executor.js';
import { describeNode } from '../../../worker/node-description.js';

/** Runs tasks as a script says: each yields its lines, then (following, or `hang`) waits until aborted. */
export class ScriptedExecutor implements Executor {
  readonly controllers = new Map<string, ScriptedController>();
  hang = false;
  /** Reported in every task's status (host-mode published ports). */
  ports: PublishedHostPort[] | undefined;

  async describe(): Promise<EngineDescription> {
    return { ...describeNode({}), runtime: 'process' };
  }

  controller(task: ExecutorTask): TaskController {
    let controller = this.controllers.get(task.ID);
    if (!controller) {
      controller = new ScriptedController(task.ID, this);
      this.controllers.set(task.ID, controller);
    }
    return controller;
  }

  async adopt(): Promise<TaskController | undefined> {
    return undefined;
  }

  async adoptAll(): Promise<AdoptionReport> {
    return { adopted: [], unreadable: [] };
  }

  close(): void {}
}

export class ScriptedController implements TaskController {
  readonly signals: AbortSignal[] = [];
  readonly lines: LogLine[] = [];

  constructor(readonly taskId: string, private readonly executor: ScriptedExecutor) {
    for (let i = 1; i <= 3; i++) this.lines.push({ stream: 'stdout', time: new Date().toISOString(), line: `${taskId.slice(0, 4)} ${i}` });
  }

  async prepare(): Promise<void> {}
  async start(): Promise<void> {}
  wait(): Promise<ExitInfo> {
    return new Promise(() => {});
  }
  async shutdown(): Promise<void> {}
  async terminate(): Promise<void> {}
  async remove(): Promise<void> {}
  close(): void {}

  async *logs(options: LogOptions = {}): AsyncGenerator<LogLine> {
    const signal = options.signal!;
    this.signals.push(signal);
    for (const line of this.lines) yield line;
    if (!options.follow && !this.executor.hang) return;
    if (!signal.aborted) await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  }

  async status(): Promise<TaskRuntimeStatus> {
    return { taskId: this.taskId, phase: 'running', runtimeId: 'scripted', pid: 1, adopted: false, stopRequested: false, ports: this.executor.ports };
  }
}
