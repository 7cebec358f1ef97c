// `berth daemon`: one per host. Serves the Engine API on its -H addresses from the start, outside
// any cluster; `swarm init` makes it the first manager, `swarm join` a worker or manager. Its place
// in the cluster survives restarts (node-state.ts, certificates/, raft/). A manager also runs a
// worker agent, as in Docker Swarm.

import { randomInt } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import type { ClusterBackend, LocalNodeInfo, ManagerMemberStatus, SystemInfo } from '../../manager/api/backend.js';
import { buildApiServer } from '../../manager/api/app.js';
import {
  MANAGER_CHANNEL_OPTIONS, NodeCertificateProvider, clusterClientCredentials, createClusterCA, issueNodeIdentity, joinCluster,
  newClusterObject, renewNodeCertificate, scheduleRenewal, type RenewalHandle,
} from '../../manager/ca/index.js';
import { Store, newObjectId } from '../../manager/store/index.js';
import { apiError } from '../../shared/errors.js';
import { JoinTokenFormatError, generateJoinToken, loadNodeIdentity, parseNodeCertificate, saveNodeIdentity } from '../../shared/pki/index.js';
import type { SwarmInitRequest, SwarmJoinRequest } from '../../shared/engine-types.js';
import type { LogRecord, SubscribeLogsRequest } from '../../shared/log-protocol.js';
import { Agent } from '../../worker/agent/agent.js';
import { ProcessExecutor } from '../../worker/executor/process/process-executor.js';
import type { Executor } from '../../worker/executor/executor.js';
import { DockerExecutor, describeEngine, dockerAvailable } from '../../worker/executor/docker/docker-executor.js';
import type { NodeDescription } from '../../worker/node-description.js';
import { describeNode } from '../../worker/node-description.js';
import { listenApi, type ApiListener } from './api-listeners.js';
import { ManagerServices, nodeIdOfRaftMember } from './manager-services.js';
import { NodeState, clearNodeState, loadNodeState, saveNodeState } from './node-state.js';
import type { DaemonOptions } from './options.js';

/** Docker's default cluster port. */
const DEFAULT_LISTEN_ADDR = '0.0.0.0:2377';
/** Raft ids are random 48-bit numbers: unique in practice, and safe as JavaScript numbers. */
const MAX_RAFT_ID = 2 ** 48;

export async function runDaemon(options: DaemonOptions): Promise<void> {
  const logger = pino({ level: options.logLevel }, pino.destination(2));
  const daemon = new BerthDaemon(options, logger);
  await daemon.start();
  process.stdout.write(`berth daemon ready on ${options.hosts.join(', ')}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await daemon.stop();
}

export class BerthDaemon implements ClusterBackend {
  private state: NodeState | null = null;
  private provider: NodeCertificateProvider | null = null;
  private manager: ManagerServices | null = null;
  private agent: Agent | null = null;
  /** One per daemon, kept across agent restarts and role changes so running tasks are never restarted. */
  private executor: Executor | null = null;
  /** What runs tasks here, decided once at start (--runtime auto asks the Docker engine). */
  private runtime: 'docker' | 'process' = 'process';
  /** What this node reports (Description): the host's, or the Docker engine's when containers run here. */
  private node: NodeDescription;
  private renewal: RenewalHandle | null = null;
  private listeners: ApiListener[] = [];
  private errorMessage = '';
  /** Serializes init/join/leave/role changes: one cluster transition at a time. */
  private transition: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: DaemonOptions, private readonly logger: pino.Logger) {
    this.node = describeNode({ hostname: options.hostname, labels: options.labels });
  }

  async start(): Promise<void> {
    mkdirSync(this.options.dataDir, { recursive: true, mode: 0o700 });
    this.state = loadNodeState(this.options.dataDir);
    const identity = await loadNodeIdentity(this.certDir());
    this.runtime = await this.chooseRuntime();
    if (this.state && identity) {
      try {
        this.provider = new NodeCertificateProvider(identity);
        await this.startComponents({});
      } catch (err) {
        this.errorMessage = (err as Error).message;
        this.logger.error({ err: this.errorMessage }, 'could not rejoin the cluster');
      }
    }
    const app = buildApiServer({ backend: this, logger: this.logger });
    await app.ready();
    this.listeners = await listenApi(this.options.hosts, (req, res) => app.routing(req, res), this.options.tls, this.options.insecureTcp);
  }

  async stop(): Promise<void> {
    for (const l of this.listeners) await l.close();
    await this.stopComponents();
    // Tasks keep running: a restarted daemon re-adopts them.
    this.executor?.close();
  }

  // ---------------------------------------------------------------- ClusterBackend

  local(): LocalNodeInfo {
    const s = this.state;
    if (!s) {
      return { state: 'inactive', nodeId: '', nodeAddr: '', role: null, controlAvailable: false, error: '', remoteManagers: [] };
    }
    const remoteManagers = this.manager
      ? this.manager.raft.memberList().map((m) => ({ NodeID: nodeIdOfRaftMember(this.manager!.store, m.id), Addr: m.address }))
      : (this.agent?.managers() ?? []).map((m) => ({ NodeID: m.nodeId, Addr: m.addr }));
    return {
      state: this.errorMessage ? 'error' : this.agent?.status().connected || this.manager ? 'active' : 'pending',
      nodeId: s.nodeId,
      nodeAddr: hostOf(s.advertiseAddr),
      role: s.role,
      controlAvailable: this.manager !== null,
      error: this.errorMessage,
      remoteManagers,
    };
  }

  store(): Store | null {
    return this.manager?.store ?? null;
  }

  managers(): ManagerMemberStatus[] | null {
    const m = this.manager;
    if (!m) return null;
    const status = m.raft.status();
    const members = new Set([...status.confState.voters, ...status.confState.learners]);
    const recorded = new Map<number, string | undefined>();
    for (const node of m.store.find('node')) {
      const ms = node.ManagerStatus as { RaftID?: number; Reachability?: string } | undefined;
      if (ms?.RaftID) recorded.set(ms.RaftID, ms.Reachability);
    }
    return status.members.filter((member) => members.has(member.id)).map((member) => ({
      nodeId: nodeIdOfRaftMember(m.store, member.id),
      addr: member.address,
      leader: member.id === status.lead,
      // The leader sees whom it hears from; other managers show what the leader last recorded.
      reachable: member.id === status.id || member.id === status.lead
        || (status.role === 'leader' ? m.raft.isPeerActive(member.id) : recorded.get(member.id) !== 'unreachable'),
    }));
  }

  init(req: SwarmInitRequest): Promise<string> {
    return this.serialized(async () => {
      if (req.ForceNewCluster && this.state?.role === 'manager' && this.provider) {
        await this.stopComponents();
        await this.startComponents({ forceNewCluster: true });
        return this.state.nodeId;
      }
      if (this.state) throw new Error('This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.');
      const listenAddr = withDefaultPort(req.ListenAddr || DEFAULT_LISTEN_ADDR, 2377);
      const advertiseAddr = advertiseAddress(req.AdvertiseAddr, listenAddr);
      const clusterId = newObjectId();
      const nodeId = newObjectId();
      const ca = await createClusterCA(clusterId);
      const identity = await issueNodeIdentity(ca.RootCA, nodeId, 'manager');
      await saveNodeIdentity(this.certDir(), identity);
      const state: NodeState = {
        nodeId, role: 'manager', clusterId, raftId: randomInt(1, MAX_RAFT_ID), listenAddr, advertiseAddr, managers: [advertiseAddr],
      };
      await this.enterCluster(state, identity, async () => {
        await this.startManager({ bootstrap: true });
        const description = this.description();
        await this.manager!.store.update((tx) => {
          tx.create('cluster', newClusterObject(ca, req.Spec));
          tx.create('node', {
            ID: nodeId,
            Spec: { Role: 'manager', Availability: req.Availability || 'active', Labels: {} },
            Description: description,
            Status: { State: 'ready', Addr: hostOf(advertiseAddr) },
            ManagerStatus: { RaftID: state.raftId, Addr: advertiseAddr },
          });
        });
      });
      return nodeId;
    });
  }

  join(req: SwarmJoinRequest): Promise<void> {
    return this.serialized(async () => {
      if (this.state) throw new Error('This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.');
      const remote = req.RemoteAddrs[0];
      if (!remote) throw new Error('at least one manager address is needed to join');
      const listenAddr = withDefaultPort(req.ListenAddr || DEFAULT_LISTEN_ADDR, 2377);
      const advertiseAddr = req.AdvertiseAddr ? advertiseAddress(req.AdvertiseAddr, listenAddr) : '';
      const joined = await joinCluster({
        managerAddr: withDefaultPort(remote, 2377), token: req.JoinToken, advertiseAddr, availability: req.Availability,
      }).catch((err: unknown) => { throw joinError(err, withDefaultPort(remote, 2377)); });
      const cert = parseNodeCertificate(joined.certPem);
      await saveNodeIdentity(this.certDir(), joined);
      const state: NodeState = {
        nodeId: joined.nodeId, role: joined.role, clusterId: cert.clusterId,
        raftId: joined.role === 'manager' ? randomInt(1, MAX_RAFT_ID) : 0,
        listenAddr, advertiseAddr: advertiseAddr || advertiseAddress('', listenAddr), managers: [withDefaultPort(remote, 2377)],
      };
      await this.enterCluster(state, joined, async () => {
        if (joined.role === 'manager') await this.startManager({ joinVia: withDefaultPort(remote, 2377) });
      });
    });
  }

  /**
   * Becomes a member: runs `startRoles` (manager services, first writes), then persists the state
   * and starts the agent and certificate renewal; on any failure undoes everything, so a failed
   * init or join leaves the daemon outside the cluster as it was.
   */
  private async enterCluster(state: NodeState, identity: { caPem: string; certPem: string; keyPem: string }, startRoles: () => Promise<void>): Promise<void> {
    this.state = state;
    this.provider = new NodeCertificateProvider(identity);
    try {
      await startRoles();
      saveNodeState(this.options.dataDir, state);
      this.startAgent();
      this.startRenewal();
    } catch (err) {
      await this.stopComponents();
      this.state = null;
      this.provider = null;
      clearNodeState(this.options.dataDir);
      throw err;
    }
  }

  leave(force: boolean): Promise<void> {
    return this.serialized(async () => {
      if (!this.state) throw new Error('This node is not part of a swarm');
      if (this.manager && this.provider) {
        try {
          await this.manager.leaveRaft(this.provider, this.state.raftId);
        } catch (err) {
          if (!force) throw err;
          this.logger.warn({ err: (err as Error).message }, 'leaving raft failed; leaving anyway (--force)');
        }
      }
      await this.stopComponents();
      await this.stopAllTasks();
      clearNodeState(this.options.dataDir);
      this.state = null;
      this.provider = null;
      this.errorMessage = '';
    });
  }

  newJoinToken(): string {
    if (!this.provider) throw new Error('This node is not part of a swarm');
    return generateJoinToken(this.provider.identity.caPem);
  }

  systemInfo(): SystemInfo {
    const d = this.node;
    return {
      name: d.hostname, ncpu: d.nanoCpus / 1e9, memTotal: d.memoryBytes, kernelVersion: os.release(),
      operatingSystem: `${os.type()} ${os.release()}`, osType: 'linux', architecture: d.arch, labels: Object.entries(d.engineLabels).map(([k, v]) => `${k}=${v}`),
    };
  }

  logs(request: SubscribeLogsRequest, signal: AbortSignal): Promise<AsyncIterable<LogRecord[]>> {
    if (!this.manager) return Promise.reject(apiError('MANAGER_NOT_READY'));
    return this.manager.logs(request, signal);
  }

  // ---------------------------------------------------------------- components

  private async startComponents(options: { forceNewCluster?: boolean }): Promise<void> {
    if (this.state!.role === 'manager') await this.startManager({ forceNewCluster: options.forceNewCluster });
    this.startAgent();
    this.startRenewal();
  }

  private async startManager(options: { bootstrap?: boolean; joinVia?: string; forceNewCluster?: boolean }): Promise<void> {
    this.manager = await ManagerServices.start({
      state: this.state!, provider: this.provider!, dataDir: this.options.dataDir, logger: this.logger, ...options,
    });
    this.manager.onRemoved(() => void this.serialized(() => this.becomeWorker()));
  }

  /** Demoted (removed from raft): stop the manager services, take a worker certificate, carry on. */
  private async becomeWorker(): Promise<void> {
    if (!this.manager || !this.state) return;
    this.logger.info('this manager was removed from raft; continuing as a worker');
    const managers = this.manager.raft.memberList().filter((m) => m.id !== this.state!.raftId).map((m) => m.address);
    await this.stopComponents();
    // A later promotion joins raft afresh, under a new raft id.
    rmSync(join(this.options.dataDir, 'raft'), { recursive: true, force: true });
    this.state = { ...this.state, role: 'worker', raftId: 0, managers };
    saveNodeState(this.options.dataDir, this.state);
    await this.renewNow();
    this.startAgent();
    this.startRenewal();
  }

  /**
   * The dispatcher says our role changed. Promotion: take a manager certificate, join raft through
   * the leader, run the manager services. Demotion of a running manager is driven by its removal
   * from raft (becomeWorker); a worker only needs its certificate renewed.
   */
  private async changeRole(role: 'manager' | 'worker'): Promise<void> {
    if (!this.state || !this.provider) return;
    if (role === 'worker') {
      if (!this.manager) await this.renewNow();
      // A removed member often never learns of its own removal (the leader stops sending to it
      // before it commits the change), so ask the leader until the removal shows.
      else if (await this.manager.waitUntilRemoved(this.provider, this.state.raftId)) await this.becomeWorker();
      return;
    }
    if (this.manager) return;
    await this.renewNow();
    if (parseNodeCertificate(this.provider.identity.certPem).role !== 'manager') return;
    const joinVia = this.agent?.status().manager ?? this.state.managers[0];
    this.logger.info({ via: joinVia }, 'promoted: joining raft as a manager');
    await this.stopComponents();
    this.state = { ...this.state, role: 'manager', raftId: randomInt(1, MAX_RAFT_ID) };
    try {
      await this.startManager({ joinVia });
      saveNodeState(this.options.dataDir, this.state);
    } catch (err) {
      this.logger.error({ err: (err as Error).message }, 'could not start as a manager; staying a worker');
      this.manager = null;
      this.state = { ...this.state, role: 'worker', raftId: 0 };
    }
    this.startAgent();
    this.startRenewal();
  }

  /**
   * Containers when asked, or (auto) when a Docker engine answers; host processes otherwise. With
   * containers, the node reports the engine's CPUs, memory, version and labels, as Swarm does.
   */
  private async chooseRuntime(): Promise<'docker' | 'process'> {
    const { runtime, dockerHost, hostname, labels } = this.options;
    const useDocker = runtime === 'docker' || (runtime === 'auto' && await dockerAvailable(dockerHost));
    if (!useDocker) {
      this.logger.info({ runtime: 'process' }, 'tasks run as host processes');
      return 'process';
    }
    try {
      const { runtime: _, ...description } = await describeEngine({ dockerHost, hostname, labels });
      this.node = description;
    } catch (err) {
      throw new Error(`--runtime docker: ${(err as Error).message}`);
    }
    this.logger.info({ runtime: 'docker', engine: this.node.engineVersion, dockerHost: dockerHost ?? process.env.DOCKER_HOST }, 'tasks run as Docker containers');
    return 'docker';
  }

  private createExecutor(nodeId: string): Executor {
    const { dataDir, hostname, labels, dockerHost } = this.options;
    if (this.runtime === 'docker') {
      return new DockerExecutor({ nodeId, hostname, labels, dockerHost, logger: this.logger.child({ component: 'executor' }) });
    }
    return new ProcessExecutor({ stateDir: join(dataDir, 'executor', 'process'), nodeId, hostname, labels });
  }

  private startAgent(): void {
    const s = this.state!;
    const managers = this.manager ? [s.advertiseAddr] : s.managers;
    this.executor ??= this.createExecutor(s.nodeId);
    this.agent = new Agent({
      nodeId: s.nodeId,
      executor: this.executor,
      managers: managers.map((addr) => ({ addr })),
      credentials: clusterClientCredentials(this.provider!),
      channelOptions: MANAGER_CHANNEL_OPTIONS,
      description: this.node,
      advertiseAddr: hostOf(s.advertiseAddr),
      logger: this.logger,
      onRoleChanged: (role) => void this.serialized(() => this.changeRole(role)).catch((err: Error) => {
        this.logger.error({ err: err.message }, 'role change failed');
      }),
      onManagersChanged: (list) => {
        if (!this.state || list.length === 0) return;
        this.state = { ...this.state, managers: list.map((m) => m.addr) };
        saveNodeState(this.options.dataDir, this.state);
      },
    });
    this.agent.start();
  }

  /** On leaving the cluster, its tasks go too. */
  private async stopAllTasks(): Promise<void> {
    if (!this.executor) return;
    const { adopted } = await this.executor.adoptAll();
    for (const { controller } of adopted) {
      try {
        await controller.shutdown();
        await controller.remove();
      } catch (err) {
        this.logger.warn({ task: controller.taskId, err: (err as Error).message }, 'could not stop a task while leaving');
      }
    }
    this.executor.close();
    this.executor = null;
  }

  private startRenewal(): void {
    this.renewal = scheduleRenewal(this.provider!.identity, async () => {
      const renewed = await renewNodeCertificate({ managerAddr: this.someManager(), identity: this.provider!.identity });
      await this.applyIdentity(renewed);
      return renewed;
    }, { logger: this.logger });
  }

  private async renewNow(): Promise<void> {
    const renewed = await renewNodeCertificate({ managerAddr: this.someManager(), identity: this.provider!.identity });
    await this.applyIdentity(renewed);
  }

  private async applyIdentity(identity: { caPem: string; certPem: string; keyPem: string }): Promise<void> {
    await saveNodeIdentity(this.certDir(), identity);
    this.provider!.replace(identity);
  }

  private someManager(): string {
    const s = this.state!;
    if (this.manager) return this.manager.raft.leaderAddress ?? s.advertiseAddr;
    return this.agent?.status().manager ?? s.managers[0];
  }

  private async stopComponents(): Promise<void> {
    this.renewal?.stop();
    this.renewal = null;
    await this.agent?.stop();
    this.agent = null;
    await this.manager?.stop();
    this.manager = null;
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.transition.then(fn, fn);
    this.transition = next.catch(() => undefined);
    return next;
  }

  private certDir(): string {
    return join(this.options.dataDir, 'certificates');
  }

  private description(): Record<string, unknown> {
    const d = this.node;
    return {
      Hostname: d.hostname,
      Platform: { Architecture: d.arch, OS: d.os },
      Resources: { NanoCPUs: d.nanoCpus, MemoryBytes: d.memoryBytes },
      Engine: { EngineVersion: d.engineVersion, Labels: d.engineLabels, Plugins: [] },
    };
  }
}

/** Why a join failed, as the API reports it: the caller's mistake (400) or the network (503). */
function joinError(err: unknown, addr: string): Error {
  if (err instanceof JoinTokenFormatError) return apiError('JOIN_REFUSED', { reason: err.message });
  const code = (err as { code?: unknown }).code;
  const detail = (err as { details?: string }).details || (err as Error).message;
  if (code === grpc.status.PERMISSION_DENIED || code === grpc.status.UNAUTHENTICATED || code === grpc.status.INVALID_ARGUMENT) {
    return apiError('JOIN_REFUSED', { reason: detail });
  }
  if (typeof code === 'number') return apiError('MANAGER_UNREACHABLE', { addr, reason: detail });
  return err instanceof Error ? err : new Error(String(err));
}

function hostOf(addr: string): string {
  const at = addr.lastIndexOf(':');
  return (at < 0 ? addr : addr.slice(0, at)).replace(/^\[|\]$/g, '');
}

function withDefaultPort(addr: string, port: number): string {
  return /:\d+$/.test(addr) ? addr : `${addr}:${port}`;
}

/**
 * The address others reach this node at: --advertise-addr (its port defaulting to the listen
 * port), else the listen address when it names a host, else this host's first non-internal IPv4.
 */
function advertiseAddress(advertise: string, listenAddr: string): string {
  const listenPort = listenAddr.slice(listenAddr.lastIndexOf(':') + 1);
  if (advertise) return /:\d+$/.test(advertise) ? advertise : `${advertise}:${listenPort}`;
  const listenHost = hostOf(listenAddr);
  if (listenHost && listenHost !== '0.0.0.0' && listenHost !== '::') return listenAddr;
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return `${a.address}:${listenPort}`;
  }
  return `127.0.0.1:${listenPort}`;
}
