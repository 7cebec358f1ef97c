// The task reconciler starts at most `startConcurrency` tasks at once; the rest wait, reported
// 'accepted', and a task stopped while it waits never starts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { TaskReconciler } from '../../../worker/agent/task-reconciler.js';
import type { Executor, ExitInfo, TaskController, TaskRuntimeStatus } from '../../../worker/executor/executor.js';
import type { AssignedTask, TaskStatusUpdate } from '../../../shared/session-protocol.js';

/** Controllers whose starts finish only when the test says so. */
class GatedExecutor {
  readonly starting = new Set<string>();
  readonly started: string[] = [];
  maxStarting = 0;
  private readonly gates = new Map<string, () => void>();
  private readonly controllers = new Map<string, TaskController>();

  finish(taskId: string): void {
    this.gates.get(taskId)?.();
  }

  asExecutor(): Executor {
    return {
      describe: async () => { throw new Error('not used'); },
      controller: (task: { ID: string }) => {
        let controller = this.controllers.get(task.ID);
        if (!controller) this.controllers.set(task.ID, (controller = this.controller(task.ID)));
        return controller;
      },
      adopt: async () => undefined,
      adoptAll: async () => ({ adopted: [], unreadable: [] }),
      close: () => {},
    } as unknown as Executor;
  }

  private controller(taskId: string): TaskController {
    let phase: TaskRuntimeStatus['phase'] = 'new';
    const status = async (): Promise<TaskRuntimeStatus> => ({ taskId, phase, adopted: false, stopRequested: false });
    return {
      prepare: async () => {
        this.starting.add(taskId);
        this.maxStarting = Math.max(this.maxStarting, this.starting.size);
      },
      start: async () => {
        await new Promise<void>((resolve) => this.gates.set(taskId, resolve));
        this.starting.delete(taskId);
        this.started.push(taskId);
        phase = 'running';
      },
      wait: () => new Promise<ExitInfo>(() => {}),
      shutdown: async () => {},
      terminate: async () => {},
      remove: async () => {},
      status,
      close: () => {},
    } as unknown as TaskController;
  }
}

function assigned(id: string, desired = 'running'): AssignedTask {
  return { ID: id, DesiredState: desired, Spec: {} };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.fail(`timed out waiting until ${what}`);
}

test('at most startConcurrency tasks prepare and start at once; the rest wait accepted, in order', async () => {
  const executor = new GatedExecutor();
  const reports: TaskStatusUpdate[] = [];
  const tasks = new TaskReconciler({ executor: executor.asExecutor(), onStatus: (u) => reports.push(u), logger: pino({ level: 'silent' }), startConcurrency: 2 });
  const ids = ['t1', 't2', 't3', 't4', 't5'];
  tasks.assign({ full: true, tasks: ids.map((id) => assigned(id)), removed: [] });
  await until(() => executor.starting.size === 2, 'two tasks start');
  const stateOf = (id: string) => tasks.tasks().find((t) => t.taskId === id)?.state;
  assert.deepEqual(ids.map(stateOf), ['starting', 'starting', 'accepted', 'accepted', 'accepted']);

  // Stopped while waiting for a slot: it never starts.
  tasks.assign({ full: false, tasks: [assigned('t4', 'shutdown')], removed: [] });
  executor.finish('t1');
  await until(() => stateOf('t3') === 'starting', 'the next task takes the freed slot');
  executor.finish('t2');
  executor.finish('t3');
  await until(() => stateOf('t5') === 'starting', 'the last task starts');
  executor.finish('t5');
  await until(() => ids.every((id) => ['running', 'shutdown'].includes(stateOf(id) ?? '')), 'every task settles');
  assert.equal(stateOf('t4'), 'shutdown');
  assert.deepEqual(executor.started, ['t1', 't2', 't3', 't5']);
  assert.equal(executor.maxStarting, 2);
  assert.ok(!reports.some((r) => r.taskId === 't4' && r.state === 'preparing'), 't4 was never prepared');
  tasks.stop();
});
