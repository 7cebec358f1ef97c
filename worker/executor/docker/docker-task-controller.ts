// Runs one task as one container, the way Swarm's executor does: prepare makes sure the image is
// there and creates the container (named and labelled as Swarm names and labels it); start starts
// it and, when it has a healthcheck, resolves only once it is healthy; its death arrives through
// the executor's shared event stream and its exit code from inspect. The container itself is the
// only state: a controller for a task whose container exists (an agent restart) takes it over.
//
// Engine calls per task started: create, start, inspect (its PID, ports and start time), plus an
// image inspect shared by the replicas that arrive together (image.ts). The engine is what a
// node's convergence waits on, so nothing is asked twice: what the container inherits from the
// image comes from that image inspect, not a container inspect after create; and a controller the
// executor knows has no container yet (its node's containers were listed at adoption) does not
// look for one by name before creating it (a create that races an existing one answers 409,
// which takes that container over).

import type Docker from 'dockerode';
import type {
  ExecutorError, ExecutorTask, ExitInfo, LogLine, LogOptions, PublishedHostPort, TaskController, TaskPhase, TaskRuntimeStatus,
} from '../executor.js';
import { DEFAULT_STOP_GRACE_PERIOD_MS, executorError, exitInfoFor, isExecutorError } from '../executor.js';
import type { ContainerCreateBody, ContainerPlan, DockerTask } from './container-config.js';
import { containerName, containerPlan, healthcheckEnabled } from './container-config.js';
import type { ContainerEvent, ContainerEvents } from './docker-events.js';
import { readContainerLogs } from './docker-logs.js';
import type { ExecutorLogger } from './engine.js';
import { engineError, engineStatus, isNotFound } from './engine.js';
import type { ImageStore } from './image.js';
import { LABEL_TASK_ID } from './labels.js';

export interface DockerControllerContext {
  docker: Docker;
  /** The engine's address, for messages. */
  host: string;
  nodeId: string;
  images: ImageStore;
  events: ContainerEvents;
  logger: ExecutorLogger;
  /** `{{.Node.Hostname}}`. */
  nodeHostname(): Promise<string>;
  /** Called once the container is removed, so the executor forgets the controller. */
  onRemoved(taskId: string): void;
}

type HealthOutcome = 'healthy' | 'unhealthy' | 'exited';

const CONTAINER_REMOVED = 'the container was removed outside the executor';
/** How long a SIGKILL death (137) waits for dockerd's `oom` event, which may trail the `die`. */
const OOM_EVENT_GRACE_MS = 200;

/** Docker's zero time (`0001-01-01T00:00:00Z`) means "never"; others become RFC 3339 with ms. */
function engineTime(value: string | undefined): string | undefined {
  if (!value || value.startsWith('0001-')) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** NetworkSettings.Ports → the host-mode ports actually bound (IPv4 and IPv6 bindings of one port count once). */
export function publishedPorts(ports: Record<string, { HostIp?: string; HostPort?: string }[] | null> | undefined | null): PublishedHostPort[] | undefined {
  if (!ports) return undefined;
  const out: PublishedHostPort[] = [];
  const seen = new Set<string>();
  for (const [key, bindings] of Object.entries(ports)) {
    if (!bindings) continue;
    const [target, protocol = 'tcp'] = key.split('/');
    for (const binding of bindings) {
      const published = Number(binding.HostPort);
      if (!published) continue;
      const id = `${target}/${protocol}/${published}`;
      if (seen.has(id)) continue;
      seen.add(id);
      out.push({ Protocol: protocol, TargetPort: Number(target), PublishedPort: published, PublishMode: 'host' });
    }
  }
  return out.length ? out : undefined;
}

export class DockerTaskController implements TaskController {
  readonly taskId: string;
  private readonly name: string;
  private phase: TaskPhase = 'new';
  private containerId?: string;
  private tty = false;
  private healthcheck = false;
  private stopGracePeriodMs: number;
  private pid?: number;
  private startedAt?: string;
  private ports?: PublishedHostPort[];
  private adopted = false;
  private stopRequested = false;
  /** Shut down, or removed, while preparing: the container is not started. */
  private cancelStart = false;
  /** The container is being stopped because its healthcheck failed (SwarmKit's ErrContainerUnhealthy). */
  private unhealthy = false;
  /** dockerd said `oom` for this container: the kernel killed it for its memory limit. */
  private oomKilled = false;
  private exit?: ExitInfo;
  private closed = false;
  private locating?: Promise<void>;
  private preparing?: Promise<void>;
  /** prepare + docker start; start() also waits for health. */
  private launching?: Promise<void>;
  private starting?: Promise<void>;
  private unwatch?: () => void;
  private readonly exited: Promise<ExitInfo>;
  private resolveExited!: (info: ExitInfo) => void;
  private healthOutcome?: Promise<HealthOutcome>;
  private resolveHealth?: (outcome: HealthOutcome) => void;

  /**
   * `found`: the container, as inspected, to take over. `knownAbsent`: the executor listed this
   * node's containers since it last could have made one for this task, and there was none, so
   * there is nothing to look for by name.
   */
  constructor(private readonly context: DockerControllerContext, private task: ExecutorTask, found?: Docker.ContainerInspectInfo, knownAbsent = false) {
    this.taskId = task.ID;
    this.name = containerName(task, context.nodeId);
    this.stopGracePeriodMs = DEFAULT_STOP_GRACE_PERIOD_MS;
    this.exited = new Promise((resolve) => { this.resolveExited = resolve; });
    if (found) {
      this.locating = Promise.resolve();
      this.takeOver(found);
    } else if (knownAbsent) {
      this.locating = Promise.resolve();
    }
  }

  // -------------------------------------------------------------------------------------------
  // Finding and taking over an existing container.

  /** Looks once for a container an earlier controller (or agent) created for this task. */
  private locate(): Promise<void> {
    this.locating ??= this.findExisting().catch((error: unknown) => {
      this.locating = undefined;
      throw error;
    });
    return this.locating;
  }

  private async findExisting(): Promise<void> {
    if (this.phase !== 'new' || this.containerId) return;
    let info: Docker.ContainerInspectInfo;
    try {
      info = await this.context.docker.getContainer(this.name).inspect();
    } catch (error) {
      if (isNotFound(error)) return;
      throw this.engineError(error, 'inspect');
    }
    if (info.Config?.Labels?.[LABEL_TASK_ID] === this.taskId) this.takeOver(info);
  }

  /** Adopts a container as inspect describes it: created → prepared; running → watched; over → its exit. */
  private takeOver(info: Docker.ContainerInspectInfo): void {
    this.containerId = info.Id;
    this.learnConfig(info);
    const state = info.State;
    if (state.Status === 'created') {
      this.phase = 'prepared';
      return;
    }
    this.adopted = true;
    this.phase = 'running';
    this.startedAt = engineTime(state.StartedAt);
    this.absorb(info);
    if (this.phase !== 'running') return;
    this.watch();
    // It may have died between the inspect and the watch (an already open stream replays nothing).
    void this.refresh();
  }

  private learnConfig(info: Docker.ContainerInspectInfo): void {
    this.tty = info.Config?.Tty === true;
    this.healthcheck = healthcheckEnabled(info.Config?.Healthcheck);
    // An adopted task's spec (rebuilt from labels) has no grace period; the container keeps it, in whole seconds.
    const stopTimeout = (info.Config as { StopTimeout?: number } | undefined)?.StopTimeout;
    if (typeof stopTimeout === 'number' && typeof this.task.Spec?.ContainerSpec?.StopGracePeriod !== 'number') {
      this.stopGracePeriodMs = stopTimeout * 1000;
    }
  }

  // -------------------------------------------------------------------------------------------
  // prepare / start.

  async prepare(): Promise<void> {
    this.assertNotRemoved();
    await this.locate();
    if (this.phase !== 'new') return;
    this.preparing ??= this.create().catch((error: unknown) => {
      // A failed pull or create may succeed on a later call (the registry came back).
      this.preparing = undefined;
      throw error;
    });
    return this.preparing;
  }

  private async create(): Promise<void> {
    const plan: ContainerPlan = containerPlan(this.task as DockerTask, { nodeId: this.context.nodeId, hostname: await this.context.nodeHostname() });
    this.stopGracePeriodMs = plan.stopGracePeriodMs;
    const images = this.context.images;
    let image = await images.ensure(plan.create.Image, plan.registryAuth);
    const docker = this.context.docker;
    const body: ContainerCreateBody & { name: string } = { name: plan.name, ...plan.create };
    let id: string;
    try {
      try {
        id = (await docker.createContainer(body as unknown as Docker.ContainerCreateOptions)).id;
      } catch (error) {
        // The image went since it was last seen (removed on the engine): make it present again, once.
        if (engineStatus(error) !== 404) throw error;
        images.forget(plan.create.Image);
        image = await images.ensure(plan.create.Image, plan.registryAuth);
        id = (await docker.createContainer(body as unknown as Docker.ContainerCreateOptions)).id;
      }
    } catch (error) {
      if (isExecutorError(error)) throw error;
      if (engineStatus(error) !== 409) {
        throw this.engineError(error, 'create', (reason) => executorError('CONTAINER_CREATE_FAILED', { reason }, { cause: error }));
      }
      // A create that raced ours (or an earlier agent's) under the same name: that container is this task's.
      await this.findExisting();
      if (this.phase === 'new') throw this.engineError(error, 'create', (reason) => executorError('CONTAINER_CREATE_FAILED', { reason }, { cause: error }));
      return;
    }
    this.containerId = id;
    // What inspect would say: the engine merges the image's healthcheck under the spec's (a spec
    // without Test inherits the image's); Tty and StopTimeout are the create body's.
    this.tty = plan.create.Tty === true;
    this.healthcheck = healthcheckEnabled(plan.create.Healthcheck?.Test?.length ? plan.create.Healthcheck : image.healthcheck);
    this.phase = 'prepared';
    this.context.logger.debug({ task: this.taskId, container: id, name: plan.name }, 'container created');
  }

  async start(): Promise<void> {
    this.assertNotRemoved();
    // Once over (a failed start included: that caller got the error), starting is a no-op; a call
    // while a start is under way (pulling, waiting for health) shares its outcome.
    if (this.phase === 'exited') return;
    if (this.starting) return this.starting;
    await this.locate();
    if (this.hasRun()) return;
    this.starting ??= this.run();
    return this.starting;
  }

  private async run(): Promise<void> {
    this.launching = this.launch();
    await this.launching;
    if (!this.healthOutcome) return;
    // SwarmKit's Start: a container with a healthcheck has started once it is healthy.
    const outcome = await this.healthOutcome;
    if (outcome !== 'unhealthy') return;
    const exit = await this.exited;
    if (exit.state === 'failed' && this.unhealthy) throw executorError('CONTAINER_UNHEALTHY', { exitCode: exit.exitCode });
  }

  private async launch(): Promise<void> {
    await this.prepare();
    if (this.phase !== 'prepared' || this.cancelStart) return;
    const container = this.context.docker.getContainer(this.containerId!);
    if (this.healthcheck) this.expectHealth();
    // Watching before starting: the death of a container that exits at once is not missed.
    this.watch();
    try {
      await container.start();
    } catch (error) {
      if (engineStatus(error) !== 304) {
        throw this.failStart(this.engineError(error, 'start', (reason) => executorError('START_FAILED', { reason }, { cause: error })));
      }
    }
    this.phase = 'running';
    this.startedAt = new Date().toISOString();
    const info = await this.inspect();
    if (info) this.absorb(info);
    this.context.logger.info({ task: this.taskId, container: this.containerId, pid: this.pid }, 'container started');
  }

  /** A start that failed ends the task: wait() reports the same failure the agent got from start(). */
  private failStart(error: ExecutorError): ExecutorError {
    this.finish({ state: 'failed', exitCode: null, signal: null, err: error.message, finishedAt: new Date().toISOString() });
    return error;
  }

  private expectHealth(): void {
    this.healthOutcome ??= new Promise((resolve) => { this.resolveHealth = resolve; });
  }

  // -------------------------------------------------------------------------------------------
  // Watching the container.

  private watch(): void {
    if (this.unwatch || this.closed || !this.containerId) return;
    this.unwatch = this.context.events.watch(this.containerId, {
      onEvent: (event) => this.onEvent(event),
      onResync: () => void this.refresh(),
    });
  }

  private onEvent(event: ContainerEvent): void {
    if (this.closed) return;
    switch (event.action) {
      case 'oom':
        this.oomKilled = true;
        return;
      case 'die':
        // dockerd may emit a memory kill's `oom` just after its `die` (137): give it a moment to arrive.
        if (event.attributes.exitCode === '137' && !this.oomKilled) setTimeout(() => void this.refresh(event), OOM_EVENT_GRACE_MS);
        else void this.refresh(event);
        return;
      case 'destroy':
        if (this.phase === 'running') void this.refresh(event);
        return;
      case 'health_status: healthy':
        this.resolveHealth?.('healthy');
        return;
      case 'health_status: unhealthy':
        this.onUnhealthy();
        return;
      default:
    }
  }

  /** Inspects the container and records what changed: its end, its ports, its health. */
  private async refresh(event?: ContainerEvent): Promise<void> {
    if (this.phase !== 'running' || this.closed) return;
    let info: Docker.ContainerInspectInfo | undefined;
    try {
      info = await this.context.docker.getContainer(this.containerId!).inspect();
    } catch (error) {
      if (!isNotFound(error)) {
        // The next event or reconnection looks again.
        this.context.logger.warn({ task: this.taskId, err: this.engineError(error, 'inspect').message }, 'inspecting a container failed');
        return;
      }
      const code = Number(event?.attributes.exitCode);
      this.finish(exitInfoFor({
        exitCode: event?.action === 'die' && Number.isInteger(code) ? code : null,
        signal: null,
        stopRequested: this.stopRequested,
        startedAt: this.startedAt,
        unknownReason: CONTAINER_REMOVED,
      }));
      return;
    }
    this.absorb(info);
  }

  private absorb(info: Docker.ContainerInspectInfo): void {
    if (this.phase !== 'running') return;
    const state = info.State;
    this.startedAt = engineTime(state.StartedAt) ?? this.startedAt;
    if (state.Running) {
      this.pid = state.Pid || this.pid;
      this.ports = publishedPorts(info.NetworkSettings?.Ports as Parameters<typeof publishedPorts>[0]) ?? this.ports;
      const health = state.Health?.Status;
      if (health === 'healthy') this.resolveHealth?.('healthy');
      else if (health === 'unhealthy') this.onUnhealthy();
      return;
    }
    this.finish(this.exitFrom(state));
  }

  private exitFrom(state: Docker.ContainerInspectInfo['State']): ExitInfo {
    const times = { startedAt: engineTime(state.StartedAt) ?? this.startedAt, finishedAt: engineTime(state.FinishedAt) };
    const exitCode = state.ExitCode;
    if (this.unhealthy && !this.stopRequested) {
      return {
        state: 'failed',
        exitCode,
        signal: null,
        err: executorError('CONTAINER_UNHEALTHY', { exitCode }).message,
        ...times,
        finishedAt: times.finishedAt ?? new Date().toISOString(),
      };
    }
    // Docker reports a signal death as 128+n, not as a signal: Swarm's message is `task: non-zero exit (137)`.
    const info = exitInfoFor({ exitCode, signal: null, stopRequested: this.stopRequested, ...times });
    if ((state.OOMKilled || this.oomKilled) && info.state === 'failed') info.err = `${info.err}: out of memory (OOMKilled)`;
    return info;
  }

  /** SwarmKit stops a container whose healthcheck fails (with its grace period) and fails the task. */
  private onUnhealthy(): void {
    if (this.phase !== 'running' || this.unhealthy || this.stopRequested) return;
    this.unhealthy = true;
    this.resolveHealth?.('unhealthy');
    this.context.logger.warn({ task: this.taskId, container: this.containerId }, 'container unhealthy; stopping it');
    void this.stopContainer(this.stopGracePeriodMs).catch((error: unknown) => {
      this.context.logger.error({ task: this.taskId, err: (error as Error).message }, 'stopping an unhealthy container failed');
    });
  }

  private finish(info: ExitInfo): void {
    if (this.phase === 'exited' || this.phase === 'removed') return;
    this.phase = 'exited';
    this.exit = info;
    this.unwatch?.();
    this.unwatch = undefined;
    this.resolveHealth?.('exited');
    this.resolveExited(info);
    this.context.logger.info({ task: this.taskId, container: this.containerId, state: info.state, exitCode: info.exitCode, err: info.err }, 'container exited');
  }

  // -------------------------------------------------------------------------------------------
  // wait / stop / remove.

  async wait(): Promise<ExitInfo> {
    if (this.exit) return this.exit;
    await this.locate();
    if (this.launching) await this.launching.catch(() => undefined);
    if (this.phase === 'running' || this.phase === 'exited') return this.exited;
    if (this.phase === 'removed') throw executorError('REMOVED', { taskId: this.taskId });
    throw executorError('NOT_STARTED', { taskId: this.taskId });
  }

  /** Lets an in-flight start finish its prepare without starting the container, so stop and remove act on a settled state. */
  private async settle(): Promise<void> {
    await this.locate();
    if (this.phase !== 'running' && this.launching) this.cancelStart = true;
    await Promise.all([this.preparing, this.launching].map((p) => p?.catch(() => undefined)));
  }

  async shutdown(options: { gracePeriodMs?: number } = {}): Promise<void> {
    await this.settle();
    if (this.phase !== 'running') return;
    this.stopRequested = true;
    await this.stopContainer(options.gracePeriodMs ?? this.stopGracePeriodMs);
    await this.exited;
  }

  /** `docker stop`: the container's StopSignal, SIGKILL after the grace (whole seconds, rounded up: the engine's unit). */
  private async stopContainer(gracePeriodMs: number): Promise<void> {
    const container = this.context.docker.getContainer(this.containerId!);
    try {
      await container.stop({ t: Math.ceil(Math.max(0, gracePeriodMs) / 1000) });
    } catch (error) {
      // 304: already stopped; 404: already gone. Both are what was asked.
      const status = engineStatus(error);
      if (status !== 304 && status !== 404) throw this.engineError(error, 'stop');
    }
    // The engine answers once the container has stopped: record it now rather than wait for the event.
    await this.refresh();
  }

  async terminate(): Promise<void> {
    await this.settle();
    if (this.phase !== 'running') return;
    this.stopRequested = true;
    const container = this.context.docker.getContainer(this.containerId!);
    try {
      await container.kill({ signal: 'SIGKILL' });
    } catch (error) {
      // 404: gone; 409: not running any more.
      const status = engineStatus(error);
      if (status !== 404 && status !== 409) throw this.engineError(error, 'kill');
    }
    // A kill returns once the signal is sent; `wait` returns once the container has stopped.
    try {
      await container.wait({ condition: 'not-running' });
    } catch (error) {
      if (!isNotFound(error)) this.context.logger.warn({ task: this.taskId, err: this.engineError(error, 'wait').message }, 'waiting for a killed container failed');
    }
    await this.refresh();
    await this.exited;
  }

  async remove(): Promise<void> {
    if (this.phase === 'removed') return;
    await this.settle();
    if (this.phase === 'running') await this.terminate();
    if (this.containerId) {
      try {
        // v: anonymous volumes go with the container, as with `docker rm -v` (named volumes stay).
        await this.context.docker.getContainer(this.containerId).remove({ force: true, v: true });
      } catch (error) {
        const status = engineStatus(error);
        // 404: already gone; 409: a removal is already in progress.
        if (status !== 404 && status !== 409) throw this.engineError(error, 'remove');
      }
    }
    this.close();
    this.phase = 'removed';
    this.context.onRemoved(this.taskId);
  }

  // -------------------------------------------------------------------------------------------
  // logs / status / close.

  async *logs(options: LogOptions = {}): AsyncGenerator<LogLine> {
    await this.locate();
    if (!this.containerId || this.phase === 'removed') return;
    const container = this.context.docker.getContainer(this.containerId);
    try {
      yield* readContainerLogs(container, this.tty, options);
    } catch (error) {
      if (isNotFound(error)) return;
      throw this.engineError(error, 'logs');
    }
  }

  async status(): Promise<TaskRuntimeStatus> {
    await this.locate();
    return {
      taskId: this.taskId,
      phase: this.phase,
      runtimeId: this.containerId,
      pid: this.pid,
      startedAt: this.startedAt,
      adopted: this.adopted,
      stopRequested: this.stopRequested,
      exit: this.exit,
      ports: this.ports,
    };
  }

  /** Takes the full task the agent passes once it confirms an adopted task (labels carry only part of it). */
  updateTask(task: ExecutorTask): void {
    if (task.ID !== this.taskId) return;
    this.task = task;
    const grace = task.Spec?.ContainerSpec?.StopGracePeriod;
    if (typeof grace === 'number' && grace >= 0) this.stopGracePeriodMs = Math.round(grace / 1e6);
  }

  close(): void {
    this.closed = true;
    this.unwatch?.();
    this.unwatch = undefined;
  }

  private async inspect(): Promise<Docker.ContainerInspectInfo | undefined> {
    try {
      return await this.context.docker.getContainer(this.containerId!).inspect();
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw this.engineError(error, 'inspect');
    }
  }

  private engineError(error: unknown, operation: string, otherwise?: (reason: string) => ExecutorError): ExecutorError {
    return engineError(error, { host: this.context.host, operation: `${operation} ${this.name}` }, otherwise);
  }

  /** Running or over (re-read after an await: the phase moves under our feet). */
  private hasRun(): boolean {
    return this.phase === 'running' || this.phase === 'exited';
  }

  private assertNotRemoved(): void {
    if (this.phase === 'removed') throw executorError('REMOVED', { taskId: this.taskId });
  }
}
