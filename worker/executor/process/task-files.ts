// Where the process executor keeps one task on disk, and the JSON state that lets a restarted
// agent adopt it. Layout, under the executor's state directory:
//
//   tasks/<task ID>/state.json   PersistedTaskState (mode 0600: the environment may hold secrets)
//   tasks/<task ID>/stdout.raw   the process's stdout, exactly as written (its fd 1 is this file)
//   tasks/<task ID>/stderr.raw   likewise fd 2
//   tasks/<task ID>/log.jsonl    {t, stream, line, off} per line, stamped by the log collector
//
// The process writes to plain files rather than pipes so that it keeps running, and its output
// keeps being kept, while no agent is there to read a pipe (a pipe without reader kills the
// writer with SIGPIPE). The collector turns the raw bytes into timestamped lines.

import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutorTask, ExitInfo } from '../executor.js';
import { executorError } from '../executor.js';
import type { LaunchPlan } from './launch-plan.js';
import type { ProcessIdentity } from './proc-identity.js';

export const STATE_VERSION = 1;

export interface PersistedTaskState {
  version: typeof STATE_VERSION;
  task: ExecutorTask;
  phase: 'prepared' | 'running' | 'exited';
  plan?: LaunchPlan;
  /** The main process; it leads its own process group (pgid = pid). */
  process?: ProcessIdentity & { pgid: number };
  startedAt?: string;
  stopRequested?: boolean;
  exit?: ExitInfo;
  /** Absolute paths, so tools (and people) reading the state need no knowledge of the layout. */
  files: TaskFiles;
}

export interface TaskFiles {
  dir: string;
  state: string;
  stdoutRaw: string;
  stderrRaw: string;
  log: string;
}

export function tasksDir(stateDir: string): string {
  return join(stateDir, 'tasks');
}

export function taskFiles(stateDir: string, taskId: string): TaskFiles {
  const dir = join(tasksDir(stateDir), taskId);
  return {
    dir,
    state: join(dir, 'state.json'),
    stdoutRaw: join(dir, 'stdout.raw'),
    stderrRaw: join(dir, 'stderr.raw'),
    log: join(dir, 'log.jsonl'),
  };
}

export function ensureTaskDir(files: TaskFiles): void {
  mkdirSync(files.dir, { recursive: true, mode: 0o700 });
}

/**
 * Written synchronously, through a temporary file and a rename, so a crash leaves the old state or
 * the new one, never half of either; synchronous so that nothing runs between spawning a process
 * and recording its PID.
 */
export function writeState(state: PersistedTaskState): void {
  const tmp = `${state.files.state}.tmp`;
  writeFileSync(tmp, JSON.stringify(state), { mode: 0o600 });
  renameSync(tmp, state.files.state);
}

/** The stored state of `taskId`, undefined if there is none; throws STATE_CORRUPT if it cannot be read. */
export function readState(stateDir: string, taskId: string): PersistedTaskState | undefined {
  const files = taskFiles(stateDir, taskId);
  let text: string;
  try {
    text = readFileSync(files.state, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw executorError('STATE_CORRUPT', { path: files.state, reason: (error as Error).message });
  }
  let state: PersistedTaskState;
  try {
    state = JSON.parse(text) as PersistedTaskState;
  } catch (error) {
    throw executorError('STATE_CORRUPT', { path: files.state, reason: (error as Error).message });
  }
  if (state?.version !== STATE_VERSION || state.task?.ID !== taskId || !['prepared', 'running', 'exited'].includes(state.phase)) {
    throw executorError('STATE_CORRUPT', { path: files.state, reason: `not a version ${STATE_VERSION} state for task ${taskId}` });
  }
  // The directory may have moved since the state was written; paths follow the directory.
  state.files = files;
  return state;
}

export function listTaskIds(stateDir: string): string[] {
  try {
    return readdirSync(tasksDir(stateDir), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  } catch {
    return [];
  }
}

export function removeTaskFiles(files: TaskFiles): void {
  rmSync(files.dir, { recursive: true, force: true });
}
