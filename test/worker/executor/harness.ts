// Test helpers for executors: fresh state directories, task specs, and cleanup that kills every
// process group a test started, even when the test fails half-way.

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { ContainerSpec, ExecutorTask, LogLine, LogOptions, TaskController } from '../../../worker/executor/executor.js';
import { ProcessExecutor } from '../../../worker/executor/process/process-executor.js';

let counter = 0;

export function task(containerSpec: ContainerSpec, extra: Partial<ExecutorTask> = {}): ExecutorTask {
  counter += 1;
  return {
    ID: `task${process.pid}x${counter}`,
    ServiceID: 'svc1',
    ServiceAnnotations: { Name: 'web' },
    Slot: 1,
    NodeID: 'node1',
    Spec: { ContainerSpec: containerSpec },
    ...extra,
  };
}

export function sh(script: string, spec: Partial<ContainerSpec> = {}): ContainerSpec {
  return { Image: 'none', Command: ['/bin/sh', '-c', script], ...spec };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface Harness {
  stateDir: string;
  scratch: string;
  /** A new executor over the harness's state directory (a second call is "the agent restarted"). */
  executor(): ProcessExecutor;
  /** Kill the process group `pid` leads at cleanup. */
  track(pid: number): void;
  /** Starts a task and tracks its process group. */
  started(controller: TaskController): Promise<number>;
}

export function harness(t: TestContext): Harness {
  const stateDir = mkdtempSync(join(os.tmpdir(), 'berth-executor-'));
  const scratch = mkdtempSync(join(os.tmpdir(), 'berth-scratch-'));
  const executors: ProcessExecutor[] = [];
  const groups = new Set<number>();
  t.after(() => {
    for (const executor of executors) executor.close();
    for (const pid of groups) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  });
  const h: Harness = {
    stateDir,
    scratch,
    executor() {
      const executor = new ProcessExecutor({ stateDir, nodeId: 'node1' });
      executors.push(executor);
      return executor;
    },
    track(pid) {
      groups.add(pid);
    },
    async started(controller) {
      await controller.start();
      const { pid } = await controller.status();
      if (pid === undefined) throw new Error('started task has no pid');
      groups.add(pid);
      return pid;
    },
  };
  return h;
}

export async function collect(iterable: AsyncIterable<LogLine>): Promise<LogLine[]> {
  const lines: LogLine[] = [];
  for await (const line of iterable) lines.push(line);
  return lines;
}

export async function lines(controller: TaskController, options: LogOptions = {}): Promise<string[]> {
  return (await collect(controller.logs(options))).map((l) => `${l.stream}:${l.line}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` until true or `timeoutMs` passes. */
export async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(20);
  }
}
