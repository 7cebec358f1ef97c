// Everything a manager runs beside its worker agent, on ONE cluster port (mutual TLS, certificates
// from the cluster CA): raft (manager certificates only), the CA (joining nodes too), the
// dispatcher (every member), the log broker (nodes publish, managers subscribe) and raft
// membership (managers only). Also the role reconciler that turns a node demoted in the store into
// a raft removal.

import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type pino from 'pino';
import {
  MANAGER_CHANNEL_OPTIONS, NodeCAServer, NodeCertificateProvider, clusterClientCredentials, clusterServerCredentials, peerIdentity, requireRole,
} from '../../manager/ca/index.js';
import { Dispatcher } from '../../manager/dispatcher/dispatcher.js';
import { LeaderLogClient } from '../../manager/logbroker/leader-client.js';
import { LogBroker } from '../../manager/logbroker/log-broker.js';
import { MembershipClient, membershipImplementation, membershipService } from '../../manager/membership/membership-service.js';
import { GrpcTransport } from '../../manager/raft/grpc-transport.js';
import { LevelStorage } from '../../manager/raft/level-storage.js';
import { Member, RaftNode } from '../../manager/raft/node.js';
import {
  GlobalOrchestrator, JobOrchestrator, ReplicatedOrchestrator, RestartSupervisor, TaskReaper, Updater,
} from '../../manager/orchestrator/index.js';
import { Scheduler } from '../../manager/scheduler/index.js';
import { Store, thaw } from '../../manager/store/index.js';
import type { LogRecord, SubscribeLogsRequest } from '../../shared/log-protocol.js';
import type { NodeState } from './node-state.js';

/** Raft ticks of 100 ms, election after 10: the library's defaults (see manager/raft/README.md). */
const RAFT_TICK_MS = 100;
/**
 * A heartbeat every 3 ticks (300 ms), not every tick: each one is a TLS-encrypted gRPC message to
 * every follower and its answer back, a large part of what an idle manager spends (this and the
 * dispatcher's on-demand batch timers took an idle 3+2 cluster from ~53 to ~31 ms CPU per second:
 * leader ~20 → ~11, followers ~14 → ~7). Still 3 rounds per election timeout, so one
 * late heartbeat does not start an election; reads still confirm leadership at once (ReadIndex
 * sends its own round), and failover does not wait for heartbeats (followers campaign when the
 * leader's connection drops). SwarmKit heartbeats once per 1 s tick.
 */
const RAFT_HEARTBEAT_TICKS = 3;
/** A forwarded write waits for the leader's commit: the same bound as a local proposal (3 election timeouts). */
const FORWARD_TIMEOUT_MS = 3_000;
/** After a demotion, the leader is asked every 250 ms, for up to 10 s, whether we are out of raft yet. */
const REMOVAL_CHECKS = 40;
const REMOVAL_CHECK_INTERVAL_MS = 250;
/** How long a new manager waits to be elected (bootstrap) before giving up on init. */
const LEADERSHIP_TIMEOUT_MS = 10_000;

export interface ManagerStartOptions {
  state: NodeState;
  provider: NodeCertificateProvider;
  dataDir: string;
  logger: pino.Logger;
  /** A new cluster: this manager is its only voter. */
  bootstrap?: boolean;
  /** Join the raft group through this manager (host:port). */
  joinVia?: string;
  /** Restart this manager's data as a one-member cluster. */
  forceNewCluster?: boolean;
}

export class ManagerServices {
  readonly store: Store;
  private removedListeners: (() => void)[] = [];
  private reconciler: { close(): void } | null = null;
  /** The leader-only components that turn services into placed tasks (idle on followers). */
  private controllers: { start(): void; stop(): Promise<void> }[] = [];
  scheduler: Scheduler | null = null;
  /** Clients to the leaders this manager forwarded writes to, one per address, closed on stop. */
  private forwardClients = new Map<string, MembershipClient>();
  private logBroker: LogBroker | null = null;
  private leaderLogs: LeaderLogClient | null = null;

  private constructor(
    readonly raft: RaftNode,
    private readonly server: grpc.Server,
    private readonly storage: LevelStorage,
    store: Store,
    private readonly dispatcher: Dispatcher,
    private readonly logger: pino.Logger,
    readonly boundPort: number,
  ) {
    this.store = store;
  }

  static async start(options: ManagerStartOptions): Promise<ManagerServices> {
    const { state, provider, logger } = options;
    const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024, 'grpc.max_send_message_length': 64 * 1024 * 1024 });
    const boundPort = await new Promise<number>((resolve, reject) => {
      server.bindAsync(state.listenAddr, clusterServerCredentials(provider), (err, port) => {
        if (err) reject(new Error(`cannot listen on ${state.listenAddr}: ${err.message}`));
        else resolve(port);
      });
    });
    const storage = await LevelStorage.open(join(options.dataDir, 'raft'));
    const store = new Store();
    const managersOnly = (call: unknown): string | null => {
      const result = requireRole(call as Parameters<typeof requireRole>[0], provider, 'manager');
      return 'nodeId' in result ? null : result.message;
    };
    const transport = new GrpcTransport({
      id: state.raftId, server, logger,
      channelCredentials: clusterClientCredentials(provider), channelOptions: MANAGER_CHANNEL_OPTIONS,
      authorize: managersOnly,
    });

    let peers: Member[] | undefined;
    let joinClient: MembershipClient | null = null;
    let leaderAddr = options.joinVia;
    if (options.joinVia) {
      joinClient = new MembershipClient(options.joinVia, clusterClientCredentials(provider), MANAGER_CHANNEL_OPTIONS);
      const { members, leader_raft_id } = await joinClient.members();
      peers = members.map((m) => ({ id: m.raft_id, address: m.addr }));
      leaderAddr = members.find((m) => m.raft_id === leader_raft_id)?.addr ?? options.joinVia;
    }

    const leaderClients = new Map<string, MembershipClient>(); // handed to the instance below, which closes them
    const forward = async (leaderId: number, data: Uint8Array): Promise<{ index: number; term: number }> => {
      const addr = raft.memberList().find((m) => m.id === leaderId)?.address;
      if (!addr) throw Object.assign(new Error('the leader’s address is not known yet'), { code: 'NOT_LEADER', leaderId: 0 });
      let client = leaderClients.get(addr);
      if (!client) leaderClients.set(addr, (client = new MembershipClient(addr, clusterClientCredentials(provider), MANAGER_CHANNEL_OPTIONS)));
      try {
        return await client.propose(data, FORWARD_TIMEOUT_MS);
      } catch (err) {
        const code = (err as grpc.ServiceError).code;
        // Same meanings as a local proposal: the caller (the store, the API) maps them.
        if (code === grpc.status.FAILED_PRECONDITION) throw Object.assign(new Error('the leader changed; retry'), { code: 'NOT_LEADER', leaderId: 0 });
        throw Object.assign(new Error(`forwarding the write to the leader failed: ${(err as Error).message}`), { code: 'NO_QUORUM' });
      }
    };
    const raft: RaftNode = await RaftNode.start({
      id: state.raftId, storage, transport, stateMachine: store, logger, tickMs: RAFT_TICK_MS, heartbeatTicks: RAFT_HEARTBEAT_TICKS, forward,
      bootstrap: options.bootstrap ? [{ id: state.raftId, address: state.advertiseAddr }] : undefined,
      peers,
      forceNewCluster: options.forceNewCluster ? { address: state.advertiseAddr } : undefined,
    });
    store.attach(raft);

    const ca = new NodeCAServer({
      store, logger,
      leaderInfo: () => ({ isLeader: raft.isLeader, leaderAddr: raft.leaderAddress }),
    });
    ca.addTo(server);

    const dispatcher = new Dispatcher({
      store, logger,
      isLeader: () => raft.isLeader,
      leaderAddr: () => raft.leaderAddress,
      managers: () => raft.memberList().map((m) => ({ nodeId: nodeIdOfRaftMember(store, m.id), addr: m.address })),
      identify: (call) => {
        const peer = peerIdentity(call, provider);
        return peer && { nodeId: peer.nodeId, role: peer.role };
      },
    });
    const { definition, implementation } = dispatcher.service();
    server.addService(definition, implementation);

    // Logs: the leader asks nodes over their sessions on its dispatcher; followers forward.
    const leaderLogs = new LeaderLogClient(clusterClientCredentials(provider), MANAGER_CHANNEL_OPTIONS);
    const logBroker = new LogBroker({
      store, logger, leader: leaderLogs,
      isLeader: () => raft.isLeader,
      leaderAddr: () => raft.leaderAddress,
      sessions: {
        send: (nodeId, logSubscription) => dispatcher.sendToNode(nodeId, { kind: 'logSubscription', logSubscription }),
        connected: (nodeId) => dispatcher.hasSession(nodeId),
      },
      identify: (call) => {
        const peer = peerIdentity(call, provider);
        return peer && { nodeId: peer.nodeId, role: peer.role };
      },
    });
    dispatcher.onSessionChange((nodeId, connected) => logBroker.nodeSessionChanged(nodeId, connected));
    raft.on('leadership', () => logBroker.leadershipChanged());
    const logService = logBroker.service();
    server.addService(logService.definition, logService.implementation);

    server.addService(membershipService.definition, membershipImplementation({
      raft: () => raft,
      authorize: managersOnly,
      onJoined: (nodeId, raftId, addr) => recordManager(store, nodeId, raftId, addr),
    }));

    const services = new ManagerServices(raft, server, storage, store, dispatcher, logger, boundPort);
    services.forwardClients = leaderClients;
    services.logBroker = logBroker;
    services.leaderLogs = leaderLogs;
    raft.on('removed', () => { for (const l of services.removedListeners) l(); });

    if (options.bootstrap || options.forceNewCluster) await services.waitForLeadership();
    if (joinClient && leaderAddr) {
      // The leader adds us as a learner, waits until we caught up, then makes us a voter.
      const leaderClient = leaderAddr === options.joinVia ? joinClient : new MembershipClient(leaderAddr, clusterClientCredentials(provider), MANAGER_CHANNEL_OPTIONS);
      try {
        await leaderClient.join(state.raftId, state.advertiseAddr, state.nodeId);
      } finally {
        leaderClient.close();
        joinClient.close();
      }
    }
    services.reconciler = startRoleReconciler(services, logger);
    const leaderOnly = {
      store, logger,
      isLeader: () => raft.isLeader,
      // Told when leadership changes instead of polling it (six components × 10/s on every manager).
      onLeadershipChange: (listener: () => void) => {
        raft.on('leadership', listener);
        return () => { raft.off('leadership', listener); };
      },
    };
    services.scheduler = new Scheduler(leaderOnly);
    services.controllers = [
      new ReplicatedOrchestrator(leaderOnly), new GlobalOrchestrator(leaderOnly), new JobOrchestrator(leaderOnly),
      new RestartSupervisor(leaderOnly), new Updater(leaderOnly), new TaskReaper(leaderOnly), services.scheduler,
    ];
    for (const c of services.controllers) c.start();
    return services;
  }

  /** Task logs for the API: served by the leader's broker, forwarded there from a follower. */
  logs(request: SubscribeLogsRequest, signal: AbortSignal): Promise<AsyncIterable<LogRecord[]>> {
    return this.logBroker!.subscribe(request, signal);
  }

  /** Called when this manager has been removed from the raft group (demoted or forced out). */
  onRemoved(listener: () => void): void {
    this.removedListeners.push(listener);
  }

  async waitForLeadership(): Promise<void> {
    const deadline = Date.now() + LEADERSHIP_TIMEOUT_MS;
    while (!this.raft.isLeader) {
      if (Date.now() > deadline) throw new Error('this manager was not elected leader in time');
      this.raft.campaign();
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Leaves the raft group: through the leader, handing leadership over first if it is us. */
  async leaveRaft(provider: NodeCertificateProvider, raftId: number): Promise<void> {
    const voters = this.raft.status().confState.voters;
    if (voters.length <= 1) return;
    try {
      await this.raft.removeMember(raftId);
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== 'NOT_LEADER') throw err;
    }
    for (let attempt = 0; attempt < 20; attempt++) {
      const leader = this.raft.leaderAddress;
      if (leader && !this.raft.isLeader) {
        const client = new MembershipClient(leader, clusterClientCredentials(provider), MANAGER_CHANNEL_OPTIONS);
        try {
          await client.leave(raftId);
          return;
        } catch (err) {
          this.logger.warn({ err: (err as Error).message }, 'leaving raft through the leader failed; retrying');
        } finally {
          client.close();
        }
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error('could not reach the raft leader to leave the cluster');
  }

  /** Polls the leader's member list until `raftId` is gone (true) or a few seconds pass (false). */
  async waitUntilRemoved(provider: NodeCertificateProvider, raftId: number): Promise<boolean> {
    for (let attempt = 0; attempt < REMOVAL_CHECKS; attempt++) {
      // The leader if we know it; a removed member has often lost track of it, so else any other member.
      const others = this.raft.memberList().filter((m) => m.id !== raftId).map((m) => m.address);
      const ask = this.raft.isLeader ? undefined : this.raft.leaderAddress ?? others[attempt % Math.max(1, others.length)];
      if (ask) {
        const client = new MembershipClient(ask, clusterClientCredentials(provider), MANAGER_CHANNEL_OPTIONS);
        try {
          const { members } = await client.members();
          this.logger.debug({ members: members.map((m) => m.raft_id), raftId }, 'waiting for our removal from raft');
          if (!members.some((m) => m.raft_id === raftId)) return true;
        } catch (err) {
          this.logger.debug({ err: (err as Error).message }, 'asking the leader for members failed');
          // A removed manager's certificate may already be refused for manager calls: that is removal too.
          if ((err as grpc.ServiceError).code === grpc.status.PERMISSION_DENIED) return true;
        } finally {
          client.close();
        }
      }
      await new Promise((r) => setTimeout(r, REMOVAL_CHECK_INTERVAL_MS));
    }
    return false;
  }

  async stop(): Promise<void> {
    this.reconciler?.close();
    for (const c of this.controllers) await c.stop();
    for (const client of this.forwardClients.values()) client.close();
    this.forwardClients.clear();
    this.logBroker?.stop();
    this.leaderLogs?.close();
    await this.dispatcher.stop();
    await this.raft.stop();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => { this.server.forceShutdown(); resolve(); }, 200);
      this.server.tryShutdown(() => { clearTimeout(timer); resolve(); });
    });
    this.store.close();
    await this.storage.close();
  }
}

/** The swarm node ID of a raft member, from the ManagerStatus.RaftID its Node object records. */
export function nodeIdOfRaftMember(store: Store, raftId: number): string {
  for (const node of store.find('node')) {
    if ((node.ManagerStatus as { RaftID?: number } | undefined)?.RaftID === raftId) return node.ID;
  }
  return '';
}

/** Records on the Node object that it is a raft member (so ManagerStatus can be shown). */
export async function recordManager(store: Store, nodeId: string, raftId: number, addr: string): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      await store.update((tx) => {
        const node = tx.get('node', nodeId);
        if (!node) return;
        const editable = thaw(node);
        editable.ManagerStatus = { RaftID: raftId, Addr: addr };
        tx.update('node', editable);
      });
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== 'VERSION_CONFLICT') throw err;
    }
  }
}

/**
 * On the leader: records each manager's reachability (heard from within an election timeout) on
 * its Node object when it changes, so every manager shows the leader's view in ManagerStatus.
 */
async function publishReachability(services: ManagerServices, members: Set<number>): Promise<void> {
  const changes: { id: string; reachability: string }[] = [];
  for (const node of services.store.find('node')) {
    const status = node.ManagerStatus as { RaftID?: number; Reachability?: string } | undefined;
    if (!status?.RaftID || !members.has(status.RaftID)) continue;
    const reachability = services.raft.isPeerActive(status.RaftID) ? 'reachable' : 'unreachable';
    if (status.Reachability !== reachability) changes.push({ id: node.ID, reachability });
  }
  if (changes.length === 0) return;
  await services.store.update((tx) => {
    for (const change of changes) {
      const node = tx.get('node', change.id);
      if (!node?.ManagerStatus) continue;
      const editable = thaw(node);
      editable.ManagerStatus = { ...(editable.ManagerStatus as object), Reachability: change.reachability };
      tx.update('node', editable);
    }
  });
}

/**
 * On the leader: a node whose Spec.Role became worker while it is still a raft member is removed
 * from raft (the API already refused demotions that would lose quorum). The demoted manager sees
 * its removal and carries on as a worker.
 */
function startRoleReconciler(services: ManagerServices, logger: pino.Logger): { close(): void } {
  let running = false;
  const reconcile = async (): Promise<void> => {
    if (running || !services.raft.isLeader) return;
    running = true;
    try {
      const members = new Set(services.raft.status().confState.voters.concat(services.raft.status().confState.learners));
      await publishReachability(services, members);
      for (const node of services.store.find('node')) {
        const raftId = (node.ManagerStatus as { RaftID?: number } | undefined)?.RaftID;
        if (node.Spec.Role !== 'worker' || !raftId || !members.has(raftId)) continue;
        logger.info({ node: node.ID, raftId }, 'demoting manager: removing it from raft');
        await services.raft.removeMember(raftId);
        await services.store.update((tx) => {
          const current = tx.get('node', node.ID);
          if (!current) return;
          const editable = thaw(current);
          delete editable.ManagerStatus;
          tx.update('node', editable);
        });
      }
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'role reconciliation failed; will retry');
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void reconcile(), 500);
  return { close: () => clearInterval(timer) };
}
