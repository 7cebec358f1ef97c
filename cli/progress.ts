// Waiting for a service to converge, as `docker service create|update|scale` do without -d
// (docker/cli cli/command/service/progress/progress.go; catalog §5.9): every 200 ms
//   GET /services/<ref>?insertDefaults=false, GET /tasks?filters={"_up-to-date":…,"service":…}, GET /nodes
// until the running up-to-date tasks match the spec, then for UpdateConfig.Monitor more to be sure.
//
// Output follows docker's jsonmessage rendering: on a terminal one line per slot, redrawn in place
// with a bar; elsewhere plain lines ("overall progress: 1 out of 3 tasks"), the bars left out and a
// line printed only when its text changes (docker repeats the same line every 200 ms).

import type { EngineClient } from './client.js';
import { formatGoDuration } from './service-flags.js';

/** docker's numberedStates: the order a task goes through; 0 (absent) means a state we ignore. */
const STATE_ORDER: Record<string, number> = {
  new: 1,
  allocated: 2,
  pending: 3,
  assigned: 4,
  accepted: 5,
  preparing: 6,
  ready: 7,
  starting: 8,
  running: 9,
  complete: 10,
  shutdown: 11,
  failed: 12,
  rejected: 13,
};
const RUNNING = STATE_ORDER.running;
const MAX_PROGRESS = 9;
const MAX_JOB_PROGRESS = 10;
const MAX_PROGRESS_BARS = 20;
/** The longest state name shown in a progress line ("preparing", "allocated"), for alignment. */
const LONGEST_STATE = 9;
const POLL_INTERVAL_MS = 200;
const DEFAULT_MONITOR_NS = 5e9;

function isTerminal(state: string | undefined): boolean {
  return (STATE_ORDER[state ?? ''] ?? 0) > RUNNING;
}

export interface PollService {
  ID: string;
  Spec?: {
    Mode?: {
      Replicated?: { Replicas?: number };
      Global?: object;
      ReplicatedJob?: { MaxConcurrent?: number; TotalCompletions?: number };
      GlobalJob?: object;
    };
    UpdateConfig?: { Monitor?: number } | null;
  };
  UpdateStatus?: { State?: string; Message?: string } | null;
  JobStatus?: { JobIteration?: { Index?: number } } | null;
}

export interface PollTask {
  ID: string;
  Slot?: number;
  NodeID?: string;
  DesiredState?: string;
  Status?: { State?: string; Err?: string };
  JobIteration?: { Index?: number } | null;
}

interface PollNode {
  ID: string;
  Status?: { State?: string };
}

/** One progress item, as docker's progress.Progress: an ID'd line with an action and maybe a bar. */
interface Progress {
  id: string;
  action: string;
  current?: number;
  total?: number;
}

/** Renders progress items the way docker's jsonmessage.DisplayJSONMessagesStream does. */
export class ProgressWriter {
  private readonly lines = new Map<string, number>();
  private readonly last = new Map<string, string>();

  constructor(
    private readonly out: NodeJS.WriteStream | { write(text: string): unknown; isTTY?: boolean; columns?: number },
    private readonly quiet = false,
  ) {}

  private get tty(): boolean {
    return Boolean(this.out.isTTY);
  }

  progress(item: Progress): void {
    if (this.quiet) return;
    const hasBar = (item.current ?? 0) > 0 || (item.total ?? 0) > 0;
    if (!this.tty) {
      // docker leaves progress bars out when not on a terminal; we also leave out repeats.
      if (hasBar) return;
      const text = `${item.id}: ${item.action}`;
      if (this.last.get(item.id) === text) return;
      this.last.set(item.id, text);
      this.out.write(`${text}\n`);
      return;
    }
    let line = this.lines.get(item.id);
    if (line === undefined) {
      line = this.lines.size;
      this.lines.set(item.id, line);
      this.out.write('\n');
    }
    const up = this.lines.size - line;
    const bar = hasBar ? ` ${this.bar(item.current ?? 0, item.total ?? 0)}` : '';
    this.out.write(`\x1b[${up}A\x1b[2K\r${item.id}: ${item.action}${bar}\r\x1b[${up}B`);
  }

  /** A line with no ID: it ends the in-place block, as in docker. */
  message(text: string): void {
    if (this.quiet) return;
    this.lines.clear();
    this.last.clear();
    this.out.write(this.tty ? `\n${text}\n` : `${text}\n`);
  }

  /** On a terminal, moves below the block so what follows starts on a fresh line. */
  finish(): void {
    if (!this.quiet && this.tty && this.lines.size > 0) this.out.write('\n');
    this.lines.clear();
  }

  /** jsonmessage's bar: 50 columns, shown only on terminals wider than 110. */
  private bar(current: number, total: number): string {
    if ((this.out.columns ?? 200) <= 110 || total <= 0) return '';
    const filled = Math.min(50, Math.floor((current / total) * 100) / 2 | 0);
    return `[${'='.repeat(filled)}>${' '.repeat(Math.max(0, 50 - filled))}] `;
  }
}

interface Updater {
  update(service: PollService, tasks: PollTask[], activeNodes: Set<string>, rollback: boolean): boolean;
}

function overall(out: ProgressWriter, numerator: number, denominator: number, rollback: boolean): void {
  out.progress({
    id: 'overall progress',
    action: rollback ? `rolling back update: ${numerator} out of ${denominator} tasks` : `${numerator} out of ${denominator} tasks`,
  });
}

/** progress.truncError: one line, at most 75 characters. */
function truncError(message: string): string {
  const flat = message.replaceAll('\n', ' ');
  return flat.length > 75 ? `${flat.slice(0, 74)}…` : flat;
}

function taskLine(out: ProgressWriter, id: string, task: PollTask, max: number, always = false): void {
  if (task.Status?.Err) {
    out.progress({ id, action: truncError(task.Status.Err) });
    return;
  }
  if (always || (!isTerminal(task.DesiredState) && !isTerminal(task.Status?.State))) {
    const state = task.Status?.State ?? '';
    out.progress({ id, action: state.padEnd(LONGEST_STATE), current: STATE_ORDER[state] ?? 0, total: max });
  }
}

/**
 * Several tasks for one slot (or node): keep the one with the lowest desired state, ties going
 * to the lowest observed state (start-first updates), as docker does.
 */
function preferred(existing: PollTask | undefined, task: PollTask): boolean {
  if (!existing) return true;
  const e = STATE_ORDER[existing.DesiredState ?? ''];
  const t = STATE_ORDER[task.DesiredState ?? ''];
  if (e < t) return false;
  if (e === t && STATE_ORDER[existing.Status?.State ?? ''] <= STATE_ORDER[task.Status?.State ?? '']) return false;
  return true;
}

function known(task: PollTask): boolean {
  return Boolean(STATE_ORDER[task.DesiredState ?? ''] && STATE_ORDER[task.Status?.State ?? '']);
}

class ReplicatedUpdater implements Updater {
  private readonly slotMap = new Map<number, number>();
  private initialized = false;
  private done = false;

  constructor(private readonly out: ProgressWriter) {}

  update(service: PollService, tasks: PollTask[], activeNodes: Set<string>, rollback: boolean): boolean {
    const replicas = service.Spec?.Mode?.Replicated?.Replicas;
    if (replicas === undefined) throw new Error('no replica count');
    if (!this.initialized) {
      overall(this.out, 0, replicas, rollback);
      if (replicas <= MAX_PROGRESS_BARS) for (let i = 1; i <= replicas; i++) this.out.progress({ id: `${i}/${replicas}`, action: ' ' });
      this.initialized = true;
    }
    const bySlot = new Map<number, PollTask>();
    for (const task of tasks) {
      if (!known(task)) continue;
      const slot = task.Slot ?? 0;
      if (!preferred(bySlot.get(slot), task)) continue;
      if (task.NodeID && !activeNodes.has(task.NodeID)) continue;
      bySlot.set(slot, task);
    }
    if (this.done && [...bySlot.values()].some((t) => t.Status?.State !== 'running')) this.done = false;
    let running = 0;
    for (const [slot, task] of [...bySlot].sort((a, b) => a[0] - b[0])) {
      let mapped = this.slotMap.get(slot);
      if (mapped === undefined) {
        mapped = this.slotMap.size + 1;
        this.slotMap.set(slot, mapped);
      }
      if (!isTerminal(task.DesiredState) && task.Status?.State === 'running') running++;
      if (!this.done && replicas <= MAX_PROGRESS_BARS && mapped <= replicas) taskLine(this.out, `${mapped}/${replicas}`, task, MAX_PROGRESS);
    }
    if (!this.done) {
      overall(this.out, running, replicas, rollback);
      if (running === replicas) this.done = true;
    }
    return running === replicas;
  }
}

class GlobalUpdater implements Updater {
  private initialized = false;
  private done = false;

  constructor(private readonly out: ProgressWriter) {}

  update(_service: PollService, tasks: PollTask[], activeNodes: Set<string>, rollback: boolean): boolean {
    const byNode = new Map<string, PollTask>();
    for (const task of tasks) {
      if (!known(task)) continue;
      const node = task.NodeID ?? '';
      if (preferred(byNode.get(node), task)) byNode.set(node, task);
    }
    const nodeCount = byNode.size;
    if (!this.initialized) {
      if (nodeCount === 0) {
        this.out.progress({ id: 'overall progress', action: 'waiting for new tasks' });
        return false;
      }
      overall(this.out, 0, nodeCount, rollback);
      this.initialized = true;
    }
    if (this.done && [...byNode.values()].some((t) => t.Status?.State !== 'running')) this.done = false;
    let running = 0;
    for (const [node, task] of [...byNode].sort((a, b) => a[0].localeCompare(b[0]))) {
      if (!activeNodes.has(node)) continue;
      if (!isTerminal(task.DesiredState) && task.Status?.State === 'running') running++;
      if (!this.done && nodeCount <= MAX_PROGRESS_BARS) taskLine(this.out, node.slice(0, 12), task, MAX_PROGRESS);
    }
    if (!this.done) {
      overall(this.out, running, nodeCount, rollback);
      if (running === nodeCount) this.done = true;
    }
    return running === nodeCount;
  }
}

/** Jobs: converged when every task of the current iteration completed. */
class JobUpdater implements Updater {
  private initialized = false;
  private total = 0;
  private nodes: Set<string> | undefined;

  constructor(
    private readonly out: ProgressWriter,
    private readonly global: boolean,
  ) {}

  update(service: PollService, tasks: PollTask[], activeNodes: Set<string>): boolean {
    const iteration = service.JobStatus?.JobIteration?.Index;
    const current = tasks.filter((t) => t.JobIteration?.Index === iteration && known(t));
    if (!this.initialized) {
      if (this.global) {
        if (tasks.length === 0 && activeNodes.size !== 0) {
          this.out.progress({ id: 'job progress', action: 'waiting for tasks' });
          return false;
        }
        this.nodes = new Set(current.map((t) => t.NodeID ?? ''));
        this.total = this.nodes.size;
      } else {
        this.total = service.Spec?.Mode?.ReplicatedJob?.TotalCompletions ?? 1;
      }
      this.initialized = true;
    }
    const byKey = new Map<string, PollTask>();
    for (const task of current) {
      if (this.nodes && !this.nodes.has(task.NodeID ?? '')) continue;
      const key = this.global ? (task.NodeID ?? '') : String(task.Slot ?? 0);
      const existing = byKey.get(key);
      if (!existing || STATE_ORDER[existing.Status?.State ?? ''] > STATE_ORDER[task.Status?.State ?? '']) byKey.set(key, task);
    }
    let complete = 0;
    for (const [key, task] of [...byKey].sort((a, b) => a[0].localeCompare(b[0], 'en', { numeric: true }))) {
      if (this.total <= MAX_PROGRESS_BARS) {
        taskLine(this.out, this.global ? key : `${Number(key) + 1}/${this.total}`, task, MAX_JOB_PROGRESS, true);
      }
      if (task.Status?.State === 'complete') complete++;
    }
    const width = String(this.total).length;
    this.out.progress({ id: 'job progress', action: `${String(complete).padStart(width)} out of ${this.total} complete` });
    return complete === this.total;
  }
}

function updaterFor(service: PollService, out: ProgressWriter): Updater {
  const mode = service.Spec?.Mode ?? {};
  if (mode.Replicated && mode.Replicated.Replicas !== undefined) return new ReplicatedUpdater(out);
  if (mode.Global) return new GlobalUpdater(out);
  if (mode.ReplicatedJob) return new JobUpdater(out, false);
  if (mode.GlobalJob) return new JobUpdater(out, true);
  throw new Error('unrecognized service mode');
}

export interface WaitOptions {
  /** -q: poll the same way, print nothing. */
  quiet: boolean;
  /** Give up after this long (nanoseconds); 0 waits for ever, as docker does. */
  timeoutNs: number;
  /** The command that shows why, for the timeout and interrupt messages. */
  psHint: string;
}

export class ConvergenceTimeout extends Error {}

/**
 * docker's ServiceProgress: polls until converged and stable for the monitor period. `ref` is what
 * the command was given (create passes the new ID, update and scale the argument), as in docker.
 */
export async function waitOnService(client: EngineClient, ref: string, options: WaitOptions): Promise<void> {
  const out = new ProgressWriter(process.stdout, options.quiet);
  const started = Date.now();
  let interrupted = false;
  const onInterrupt = (): void => {
    interrupted = true;
  };
  process.once('SIGINT', onInterrupt);
  let updater: Updater | undefined;
  let converged = false;
  let convergedAt = 0;
  let monitorMs = DEFAULT_MONITOR_NS / 1e6;
  let rollback = false;
  let finalMessage: Progress | undefined;
  let lastTally = '';
  try {
    for (;;) {
      const service = await client.get<PollService>(`/services/${encodeURIComponent(ref)}`, { insertDefaults: 'false' });
      const monitor = service.Spec?.UpdateConfig?.Monitor;
      if (monitor) monitorMs = monitor / 1e6;
      updater ??= updaterFor(service, out);

      const status = service.UpdateStatus;
      switch (status?.State) {
        case 'updating':
          rollback = false;
          break;
        case 'completed':
          if (!converged) {
            out.finish();
            return;
          }
          break;
        case 'paused':
          out.finish();
          throw new Error(`service update paused: ${status.Message ?? ''}`);
        case 'rollback_started':
          if (!rollback && status.Message) out.progress({ id: 'rollback', action: status.Message });
          rollback = true;
          break;
        case 'rollback_paused':
          out.finish();
          throw new Error(`service rollback paused: ${status.Message ?? ''}`);
        case 'rollback_completed':
          if (!converged) finalMessage = { id: 'rollback', action: status.Message ?? '' };
          rollback = true;
          break;
        default:
          break;
      }
      if (converged && Date.now() - convergedAt >= monitorMs) {
        out.progress({ id: 'verify', action: `Service ${ref} converged` });
        if (finalMessage) out.progress(finalMessage);
        out.finish();
        return;
      }

      const tasks = await client.get<PollTask[]>('/tasks', { filters: upToDateFilter(service.ID) });
      const nodes = await client.get<PollNode[]>('/nodes');
      const active = new Set(nodes.filter((n) => n.Status?.State !== 'down').map((n) => n.ID));

      converged = updater.update(service, tasks, active, rollback);
      lastTally = tally(service, tasks, active);
      if (converged) {
        if (service.JobStatus) {
          out.message('job complete');
          return;
        }
        if (!convergedAt) convergedAt = Date.now();
        const waitMs = monitorMs - (Date.now() - convergedAt);
        if (waitMs >= 0) {
          out.progress({ id: 'verify', action: `Waiting ${Math.floor(waitMs / 1000) + 1} seconds to verify that tasks are stable...` });
        }
      } else {
        if (convergedAt) out.progress({ id: 'verify', action: 'Detected task failure' });
        convergedAt = 0;
      }

      const elapsedNs = (Date.now() - started) * 1e6;
      if (options.timeoutNs > 0 && elapsedNs >= options.timeoutNs) {
        out.finish();
        throw new ConvergenceTimeout(
          `service ${ref} did not converge within ${formatGoDuration(options.timeoutNs)}${lastTally ? ` (${lastTally})` : ''}; ` +
            `the change goes on in the background: see \`${options.psHint}\``,
        );
      }
      await sleepUnlessInterrupted(POLL_INTERVAL_MS, () => interrupted);
      if (interrupted) {
        // As docker: ^C stops the waiting, not the change.
        if (!converged) {
          out.message('Operation continuing in background.');
          out.message(`Use \`${options.psHint}\` to check progress.`);
        }
        out.finish();
        return;
      }
    }
  } finally {
    process.removeListener('SIGINT', onInterrupt);
  }
}

/** {"_up-to-date":{"true":true},"service":{"<id>":true}}, keys sorted as Go's json encodes a map. */
function upToDateFilter(serviceId: string): string {
  return JSON.stringify({ '_up-to-date': { true: true }, service: { [serviceId]: true } });
}

/** "1 of 3 tasks running", for the timeout message. */
function tally(service: PollService, tasks: PollTask[], active: Set<string>): string {
  const running = tasks.filter(
    (t) => !isTerminal(t.DesiredState) && t.Status?.State === 'running' && (!t.NodeID || active.has(t.NodeID)),
  ).length;
  const replicas = service.Spec?.Mode?.Replicated?.Replicas;
  return replicas === undefined ? `${running} up-to-date tasks running` : `${running} of ${replicas} tasks running`;
}

async function sleepUnlessInterrupted(ms: number, interrupted: () => boolean): Promise<void> {
  const step = 50;
  for (let waited = 0; waited < ms && !interrupted(); waited += step) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(step, ms - waited)));
  }
}
