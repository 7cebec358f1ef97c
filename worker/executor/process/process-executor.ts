// The process executor: runs tasks as host processes, for hosts without a container engine.
// One instance per agent, over one state directory; a new instance over the same directory (the
// agent restarted) adopts what the old one left running.

import { mkdirSync } from 'node:fs';
import type { DescribeNodeOptions } from '../../node-description.js';
import { describeNode } from '../../node-description.js';
import type { AdoptionReport, EngineDescription, Executor, ExecutorTask, TaskController } from '../executor.js';
import { adoptEach, executorError } from '../executor.js';
import { ProcessTaskController } from './process-task-controller.js';
import { listTaskIds, readState, taskFiles, tasksDir } from './task-files.js';

export interface ProcessExecutorOptions extends DescribeNodeOptions {
  /** Where tasks' state and logs live; must survive agent restarts (e.g. /var/lib/berth/executor/process). */
  stateDir: string;
  /** This node's ID, for the BERTH_NODE_ID of tasks that do not carry NodeID. */
  nodeId?: string;
}

export class ProcessExecutor implements Executor {
  private readonly controllers = new Map<string, ProcessTaskController>();

  constructor(private readonly options: ProcessExecutorOptions) {
    mkdirSync(tasksDir(options.stateDir), { recursive: true, mode: 0o700 });
  }

  async describe(): Promise<EngineDescription> {
    return { ...describeNode(this.options), runtime: 'process' };
  }

  controller(task: ExecutorTask): TaskController {
    const known = this.controllers.get(task.ID);
    if (known) return known;
    if (typeof task.ID !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(task.ID) || task.ID.startsWith('.')) {
      throw executorError('INVALID_SPEC', { field: 'task ID', reason: `${JSON.stringify(task.ID)} is not a task ID` });
    }
    // A task this runtime already ran (an agent restart between assignment and adoption) is taken over, not run twice.
    const stored = readState(this.options.stateDir, task.ID);
    return this.track(new ProcessTaskController(this.context(task.ID), task, stored));
  }

  async adopt(taskId: string): Promise<TaskController | undefined> {
    const known = this.controllers.get(taskId);
    if (known) return known;
    if (!/^[A-Za-z0-9_.-]+$/.test(taskId) || taskId.startsWith('.')) return undefined;
    const stored = readState(this.options.stateDir, taskId);
    return stored ? this.track(new ProcessTaskController(this.context(taskId), stored.task, stored)) : undefined;
  }

  async adoptAll(): Promise<AdoptionReport> {
    return adoptEach(listTaskIds(this.options.stateDir), (taskId) => this.adopt(taskId));
  }

  close(): void {
    for (const controller of this.controllers.values()) controller.close();
    this.controllers.clear();
  }

  private context(taskId: string) {
    return {
      files: taskFiles(this.options.stateDir, taskId),
      nodeId: this.options.nodeId,
      onRemoved: (id: string) => this.controllers.delete(id),
    };
  }

  private track(controller: ProcessTaskController): ProcessTaskController {
    this.controllers.set(controller.taskId, controller);
    return controller;
  }
}
