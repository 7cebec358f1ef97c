// The Docker executor: runs each task as a container on the local dockerd, named and labelled as
// Docker Swarm names and labels task containers. One instance per agent; the containers are the
// only state, so a new instance (the agent restarted) finds what the last one left by label and
// takes it over without restarting anything.

import os from 'node:os';
import type Docker from 'dockerode';
import type { AdoptionReport, EngineDescription, Executor, ExecutorTask, TaskController } from '../executor.js';
import { adoptEach, executorError } from '../executor.js';
import { validTaskId } from './container-config.js';
import { ContainerEvents } from './docker-events.js';
import { DockerTaskController } from './docker-task-controller.js';
import type { ExecutorLogger } from './engine.js';
import { dockerClient, dockerHostLabel, engineError, isNotFound, silentLogger } from './engine.js';
import { ImageStore } from './image.js';
import { LABEL_TASK_ID, containerFilters, taskFromLabels } from './labels.js';

export { dockerAvailable } from './engine.js';

export interface DockerExecutorOptions {
  /** This node's ID: the `com.docker.swarm.node.id` label of its containers, how it finds them again. */
  nodeId: string;
  /** Reported instead of the engine's host name (several nodes on one test machine need distinct names). */
  hostname?: string;
  /** `unix:///path` or `tcp://host:port`; default DOCKER_HOST, else unix:///var/run/docker.sock. */
  dockerHost?: string;
  /** Engine labels, merged over (and overriding) the engine's own `dockerd --label`s. */
  labels?: Record<string, string>;
  logger?: ExecutorLogger;
}

const ONE_CPU_IN_NANO_CPUS = 1e9;

export class DockerExecutor implements Executor {
  private readonly docker: Docker;
  private readonly host: string;
  private readonly logger: ExecutorLogger;
  private readonly events: ContainerEvents;
  private readonly images: ImageStore;
  private readonly controllers = new Map<string, DockerTaskController>();
  private hostname?: Promise<string>;
  /**
   * adoptAll() listed every container of this node: from then on, a task this executor has no
   * controller for has no container (only a controller creates one), so its first use need not
   * look for one by name. A race with a container made elsewhere still ends well: its create
   * answers 409 and the controller takes that container over.
   */
  private listedAll = false;

  constructor(private readonly options: DockerExecutorOptions) {
    if (typeof options.nodeId !== 'string' || options.nodeId === '') throw new Error('DockerExecutor needs the node ID');
    this.docker = dockerClient(options.dockerHost);
    this.host = dockerHostLabel(options.dockerHost);
    this.logger = options.logger ?? silentLogger;
    this.events = new ContainerEvents(this.docker, options.nodeId, this.logger);
    this.images = new ImageStore(this.docker, this.host, this.logger);
  }

  async describe(): Promise<EngineDescription> {
    return describeDockerEngine(this.docker, this.host, this.options);
  }

  controller(task: ExecutorTask): TaskController {
    const known = this.controllers.get(task.ID);
    if (known) {
      known.updateTask(task);
      return known;
    }
    if (!validTaskId(task.ID)) throw executorError('INVALID_SPEC', { field: 'task ID', reason: `${JSON.stringify(task.ID)} is not a task ID` });
    // A container this task already has (an agent restart before adoption) is found on first use and taken over, not created twice.
    return this.track(new DockerTaskController(this.context(), task, undefined, this.listedAll));
  }

  async adopt(taskId: string): Promise<TaskController | undefined> {
    const known = this.controllers.get(taskId);
    if (known) return known;
    if (!validTaskId(taskId)) return undefined;
    const [summary] = await this.list(taskId);
    if (!summary) return undefined;
    return this.adoptContainer(summary.Id);
  }

  async adoptAll(): Promise<AdoptionReport> {
    const listed = await this.list();
    this.listedAll = true;
    const containerOf = new Map<string, string>();
    for (const summary of listed) {
      const taskId = summary.Labels?.[LABEL_TASK_ID];
      if (taskId && validTaskId(taskId)) containerOf.set(taskId, summary.Id);
    }
    return adoptEach(containerOf.keys(), async (taskId) => this.controllers.get(taskId) ?? this.adoptContainer(containerOf.get(taskId)!));
  }

  close(): void {
    for (const controller of this.controllers.values()) controller.close();
    this.controllers.clear();
    this.events.close();
  }

  private async list(taskId?: string): Promise<Docker.ContainerInfo[]> {
    try {
      const found = await this.docker.listContainers({ all: true, filters: containerFilters(this.options.nodeId, taskId) });
      // Oldest first, so that of two containers for one task (never made by us) the first one made wins.
      return found.sort((a, b) => a.Created - b.Created);
    } catch (error) {
      throw engineError(error, { host: this.host, operation: 'list containers' });
    }
  }

  private async adoptContainer(id: string): Promise<DockerTaskController | undefined> {
    let info: Docker.ContainerInspectInfo;
    try {
      info = await this.docker.getContainer(id).inspect();
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw engineError(error, { host: this.host, operation: `inspect ${id}` });
    }
    const labels = info.Config?.Labels ?? {};
    const taskId = labels[LABEL_TASK_ID];
    const known = this.controllers.get(taskId);
    if (known) return known;
    const controller = new DockerTaskController(this.context(), taskFromLabels(labels, info.Config?.Image), info);
    this.logger.info({ task: taskId, container: info.Id, running: info.State.Running }, 'adopted a container');
    return this.track(controller);
  }

  private nodeHostname(): Promise<string> {
    if (this.options.hostname) return Promise.resolve(this.options.hostname);
    this.hostname ??= this.docker.info().then((info: { Name?: string }) => info.Name || os.hostname(), () => {
      this.hostname = undefined;
      return os.hostname();
    });
    return this.hostname;
  }

  private context() {
    return {
      docker: this.docker,
      host: this.host,
      nodeId: this.options.nodeId,
      images: this.images,
      events: this.events,
      logger: this.logger,
      nodeHostname: () => this.nodeHostname(),
      onRemoved: (taskId: string) => this.controllers.delete(taskId),
    };
  }

  private track(controller: DockerTaskController): DockerTaskController {
    this.controllers.set(controller.taskId, controller);
    return controller;
  }
}

/**
 * The node description as the engine tells it (CPUs, memory, version, `dockerd --label`s), with
 * the options' hostname and labels over the engine's. The daemon asks before it has a node ID.
 */
export async function describeEngine(options: Omit<DockerExecutorOptions, 'nodeId'>): Promise<EngineDescription> {
  return describeDockerEngine(dockerClient(options.dockerHost), dockerHostLabel(options.dockerHost), options);
}

async function describeDockerEngine(docker: Docker, host: string, options: Omit<DockerExecutorOptions, 'nodeId'>): Promise<EngineDescription> {
  let info: Record<string, unknown>;
  try {
    info = (await docker.info()) as Record<string, unknown>;
  } catch (error) {
    throw engineError(error, { host, operation: 'info' });
  }
  const engineLabels: Record<string, string> = {};
  for (const label of Array.isArray(info.Labels) ? (info.Labels as unknown[]) : []) {
    if (typeof label !== 'string') continue;
    const eq = label.indexOf('=');
    if (eq > 0) engineLabels[label.slice(0, eq)] = label.slice(eq + 1);
  }
  return {
    hostname: options.hostname ?? String(info.Name ?? os.hostname()),
    os: String(info.OSType ?? 'linux'),
    // The engine already spells it as uname -m does (x86_64, aarch64), as Swarm's constraints expect.
    arch: String(info.Architecture ?? ''),
    nanoCpus: Number(info.NCPU ?? 0) * ONE_CPU_IN_NANO_CPUS,
    memoryBytes: Number(info.MemTotal ?? 0),
    engineVersion: String(info.ServerVersion ?? ''),
    engineLabels: { ...engineLabels, ...options.labels },
    runtime: 'docker',
  };
}
