// This node's end of its Session with the leader's dispatcher (proto/dispatcher.proto). The agent
// connects to a manager, registers, and heartbeats at the period the dispatcher acknowledges.
// A follower answers NotLeader with the leader's address, and the agent goes there at once; any
// other ending (connection refused or lost, manager shutting down, a refusal) sends it to the next
// manager it knows, after a backoff. Every SessionAck, NotLeader and ManagersChanged carries the
// current manager list, which replaces the agent's own, so it can still find the leader after the
// managers it was configured with are gone.
//
// With an executor, the agent also runs this node's tasks (task-reconciler.ts): it acts on the
// Assignments the dispatcher sends (a full set after every SessionAck, then increments) and sends
// back every observed state change, at most one message per STATUS_FLUSH_MS. A new session (a reconnect, a
// new leader) gets the latest state of every task again, so nothing is lost with a session. On
// start it adopts what an earlier agent left running before it first connects. The dispatcher's
// LogSubscriptions are served by the log publisher (log-publisher.ts), on PublishLogs calls to the
// same manager, for as long as the session lasts.

import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import type { NodeDescription } from '../node-description.js';
import type { Executor } from '../executor/executor.js';
import type { DispatcherMessage, ManagerInfo, TaskStatusUpdate } from '../../shared/session-protocol.js';
import { MIN_HEARTBEAT_PERIOD_MS, SESSION_PATH, decodeDispatcherMessage, encodeAgentMessage } from '../../shared/session-protocol.js';
import { PUBLISH_LOGS_PATH } from '../../shared/log-protocol.js';
import { LogPublisher } from './log-publisher.js';
import { TaskReconciler } from './task-reconciler.js';

/**
 * The least time between two status messages (leading-edge: a report after a quiet spell goes at
 * once, on the next turn of the event loop). A starting task passes four states within
 * milliseconds, and a node starting many tasks at once passes many; 50 ms sends them as a few
 * messages instead of hundreds, and the dispatcher keeps only the furthest state per task, so the
 * store sees one write where there would have been four.
 */
export const STATUS_FLUSH_MS = 50;

/**
 * First wait before retrying after a failed session, doubling per failure up to the maximum.
 * 50 ms finds a manager that just failed over (a new raft leader is elected in ~0.1 s after a
 * crash on a LAN) almost at once; 2 s caps how long a node stays away once a manager is
 * reachable again, well inside the 2.5 s default grace period a new leader gives every node, while
 * thousands of agents retrying an unreachable cluster stay at a fraction of a request per second
 * each.
 */
const RECONNECT_BACKOFF_MIN_MS = 50;
const RECONNECT_BACKOFF_MAX_MS = 2000;

/**
 * Keepalive pings every 2 s, answered within 1 s: a manager that vanished without closing the
 * connection (host powered off, network partition) is noticed within about 3 s and the agent
 * moves on, as raft's transport does between managers.
 */
const KEEPALIVE_TIME_MS = 2000;
const KEEPALIVE_TIMEOUT_MS = 1000;

/**
 * How long a manager may take to answer Register (SessionAck or NotLeader). Registration is a
 * linearizable read and a raft write, tens of ms on a LAN; without this, a manager whose address
 * silently drops packets would hold the agent for TCP's connect timeout (20 s and more).
 */
const REGISTER_TIMEOUT_MS = 5000;

/** Redirects followed without waiting; more in a row (managers disagreeing during an election) back off. */
const FREE_REDIRECTS = 1;

const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.keepalive_time_ms': KEEPALIVE_TIME_MS,
  'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MS,
  'grpc.keepalive_permit_without_calls': 1,
  // gRPC's own reconnect backoff (up to 120 s by default) must not outlast ours.
  'grpc.initial_reconnect_backoff_ms': RECONNECT_BACKOFF_MIN_MS,
  'grpc.max_reconnect_backoff_ms': RECONNECT_BACKOFF_MAX_MS,
  // Each session owns its connection: ending it really closes it, even when other clients in
  // this process (raft, another agent in a test) talk to the same address.
  'grpc.use_local_subchannel_pool': 1,
};

export interface AgentOptions {
  /** This node's ID: the CN of the certificate in `credentials`. */
  nodeId: string;
  /** Managers to start from (host:port of their Dispatcher service); replaced by what managers report. */
  managers: { addr: string }[];
  /** Mutual TLS with this node's certificate, trusting the cluster's CA. */
  credentials: grpc.ChannelCredentials;
  description: NodeDescription;
  /** The IP other nodes reach this one at (Status.Addr); default: the address the manager sees. */
  advertiseAddr?: string;
  logger?: pino.Logger;
  /** Called whenever the manager list changes (persist it, so a restart can find the cluster). */
  onManagersChanged?: (managers: ManagerInfo[]) => void;
  /** The node was promoted or demoted: renew the certificate, start or stop the manager. */
  onRoleChanged?: (role: 'manager' | 'worker') => void;
  /** Extra gRPC channel options, e.g. grpc.ssl_target_name_override when managers are dialed by an address their certificates do not name. */
  channelOptions?: grpc.ChannelOptions;
  /**
   * Runs this node's tasks. Without one the agent only keeps its session (assignments are
   * ignored). The agent adopts what the executor already runs on start(), and leaves tasks
   * running on stop(); closing the executor is its owner's job.
   */
  executor?: Executor;
}

export interface AgentStatus {
  /** A session is registered and acknowledged. */
  connected: boolean;
  /** The manager the session is with, or being opened with. */
  manager?: string;
  sessionId?: string;
  /** The heartbeat period the dispatcher last set. */
  heartbeatPeriodMs?: number;
  /** Why the last session attempt or session ended, until a session is acknowledged again. */
  lastError?: string;
}

/** How one session ended: whether it was ever acknowledged, and where NotLeader pointed. */
interface SessionOutcome {
  acknowledged: boolean;
  /** NotLeader's leader_addr; '' when the manager knew no leader. */
  redirect?: string;
}

const passBytes = (bytes: Buffer): Buffer => bytes;

function sameManagers(a: readonly ManagerInfo[], b: readonly ManagerInfo[]): boolean {
  return a.length === b.length && a.every((m, i) => m.addr === b[i].addr && m.nodeId === b[i].nodeId);
}

export class Agent {
  private readonly nodeId: string;
  private readonly credentials: grpc.ChannelCredentials;
  private readonly description: NodeDescription;
  private readonly advertiseAddr: string;
  private readonly logger: pino.Logger;
  private readonly onManagersChanged?: (managers: ManagerInfo[]) => void;
  private readonly onRoleChanged?: (role: 'manager' | 'worker') => void;
  private readonly channelOptions: grpc.ChannelOptions;
  private known: ManagerInfo[];
  /** Index in `known` of the manager tried last, for round-robin failover. */
  private cursor = 0;
  private state: AgentStatus = { connected: false };
  private call: grpc.ClientDuplexStream<Buffer, Buffer> | null = null;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private stopped = false;
  private readonly tasks: TaskReconciler | null;
  private readonly logs: LogPublisher | null;
  /** Status reports not yet sent, the latest per task. */
  private readonly unsent = new Map<string, TaskStatusUpdate>();
  private flushTimer: NodeJS.Timeout | undefined;
  /** When reports last went out (Date.now()); the next message waits until STATUS_FLUSH_MS after it. */
  private lastFlushAt = Number.NEGATIVE_INFINITY;

  constructor(options: AgentOptions) {
    if (options.managers.length === 0) throw new Error('an agent needs at least one manager address');
    this.nodeId = options.nodeId;
    this.credentials = options.credentials;
    this.description = options.description;
    this.advertiseAddr = options.advertiseAddr ?? '';
    this.logger = (options.logger ?? pino({ level: 'warn' })).child({ component: 'agent', node: options.nodeId });
    this.onManagersChanged = options.onManagersChanged;
    this.onRoleChanged = options.onRoleChanged;
    this.channelOptions = { ...CHANNEL_OPTIONS, ...options.channelOptions };
    this.known = options.managers.map((m) => ({ nodeId: '', addr: m.addr }));
    this.tasks = options.executor
      ? new TaskReconciler({ executor: options.executor, logger: this.logger, onStatus: (update) => this.queueStatus(update) })
      : null;
    const tasks = this.tasks;
    this.logs = tasks ? new LogPublisher({ controllerOf: (taskId) => tasks.controllerOf(taskId), logger: this.logger }) : null;
  }

  /** Starts connecting; the agent keeps a session open (reconnecting as needed) until stop(). */
  start(): void {
    if (this.loop || this.stopped) return;
    this.loop = this.run();
  }

  status(): AgentStatus {
    return { ...this.state };
  }

  /** The managers this agent currently knows. */
  managers(): ManagerInfo[] {
    return this.known.map((m) => ({ ...m }));
  }

  /** The tasks this agent holds and the state it last reported for each (empty without an executor). */
  taskStates(): { taskId: string; state: string }[] {
    return this.tasks?.tasks() ?? [];
  }

  /**
   * Ends the session (the dispatcher marks the node down a heartbeat period later) and stops
   * reconnecting. Tasks keep running: the next agent on this executor's state adopts them.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.tasks?.stop();
    this.logs?.stopAll();
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.wake?.();
    this.call?.cancel();
    await this.loop;
  }

  private async run(): Promise<void> {
    if (this.tasks) {
      try {
        await this.tasks.adopt();
      } catch (error) {
        this.logger.error({ err: error instanceof Error ? error.message : String(error) }, 'adopting the tasks an earlier agent left failed');
      }
    }
    let target = this.known[0].addr;
    let backoffMs = RECONNECT_BACKOFF_MIN_MS;
    let redirects = 0;
    while (!this.stopped) {
      const outcome = await this.session(target);
      if (this.stopped) break;
      if (outcome.acknowledged) {
        backoffMs = RECONNECT_BACKOFF_MIN_MS;
        redirects = 0;
      }
      if (outcome.redirect) {
        target = outcome.redirect;
        if (redirects++ < FREE_REDIRECTS) continue;
      } else {
        target = this.nextManager(target);
      }
      await this.sleep(backoffMs);
      backoffMs = Math.min(backoffMs * 2, RECONNECT_BACKOFF_MAX_MS);
    }
    this.state = { connected: false };
  }

  /** Runs one session with `addr` to its end. Never rejects. */
  private session(addr: string): Promise<SessionOutcome> {
    return new Promise((resolve) => {
      const outcome: SessionOutcome = { acknowledged: false };
      const client = new grpc.Client(addr, this.credentials, this.channelOptions);
      const call = client.makeBidiStreamRequest<Buffer, Buffer>(SESSION_PATH, passBytes, passBytes);
      this.call = call;
      this.state = { connected: false, manager: addr, lastError: this.state.lastError };
      let heartbeat: NodeJS.Timeout | undefined;
      let failure: string | undefined;
      let resent = false;
      const registerTimer = setTimeout(() => {
        failure = `no answer to Register within ${REGISTER_TIMEOUT_MS} ms`;
        call.cancel();
      }, REGISTER_TIMEOUT_MS);

      const onMessage = (message: DispatcherMessage): void => {
        switch (message.kind) {
          case 'sessionAck': {
            const ack = message.sessionAck;
            clearTimeout(registerTimer);
            outcome.acknowledged = true;
            const periodMs = Math.max(ack.heartbeatPeriodMs, MIN_HEARTBEAT_PERIOD_MS);
            if (!this.state.connected) this.logger.info({ manager: addr, session: ack.sessionId, heartbeatPeriodMs: periodMs }, 'session established');
            this.state = { connected: true, manager: addr, sessionId: ack.sessionId, heartbeatPeriodMs: periodMs };
            clearInterval(heartbeat);
            heartbeat = setInterval(() => call.write(encodeAgentMessage({ kind: 'heartbeat' })), periodMs);
            this.updateManagers(ack.managers);
            // A new session: its dispatcher may be a new leader that never heard these.
            if (this.tasks && !resent) {
              resent = true;
              for (const update of this.tasks.statuses()) if (!this.unsent.has(update.taskId)) this.unsent.set(update.taskId, update);
            }
            // What waited for a session goes now (with the next flush).
            this.scheduleFlush();
            return;
          }
          case 'assignments':
            this.tasks?.assign(message.assignments);
            return;
          case 'logSubscription':
            this.logs?.handle(message.logSubscription, (done) => client.makeClientStreamRequest(PUBLISH_LOGS_PATH, passBytes, passBytes, done));
            return;
          case 'notLeader':
            clearTimeout(registerTimer);
            outcome.redirect = message.notLeader.leaderAddr;
            this.updateManagers(message.notLeader.managers);
            if (!message.notLeader.leaderAddr) failure = `${addr} is not the leader and knows no leader`;
            return;
          case 'managersChanged':
            this.updateManagers(message.managersChanged.managers);
            return;
          case 'roleChanged':
            this.logger.info({ role: message.roleChanged.role }, 'this node’s role changed');
            try {
              this.onRoleChanged?.(message.roleChanged.role);
            } catch (error) {
              this.logger.error({ err: error instanceof Error ? error.message : String(error) }, 'onRoleChanged failed');
            }
            return;
          case 'unrecognized':
            // A newer dispatcher's message kind; nothing this version can do with it.
            return;
        }
      };

      call.on('data', (bytes: Buffer) => {
        let message: DispatcherMessage;
        try {
          message = decodeDispatcherMessage(bytes);
        } catch (error) {
          failure = `undecodable message from ${addr}: ${error instanceof Error ? error.message : String(error)}`;
          call.cancel();
          return;
        }
        onMessage(message);
      });
      call.on('error', (error: grpc.ServiceError) => {
        failure ??= `${addr}: ${grpc.status[error.code] ?? error.code}: ${error.details}`;
      });
      call.on('status', () => {
        clearTimeout(registerTimer);
        clearInterval(heartbeat);
        // The broker forgets this session's subscriptions too; a new session is asked again.
        this.logs?.stopAll();
        client.close();
        if (this.call === call) this.call = null;
        if (outcome.redirect === undefined && !this.stopped) failure ??= `${addr} ended the session`;
        if (failure !== undefined && !this.stopped) {
          this.logger.warn({ manager: addr, reason: failure }, 'session ended; trying another manager');
        } else if (outcome.redirect) {
          this.logger.info({ manager: addr, leader: outcome.redirect }, 'redirected to the leader');
        }
        this.state = { connected: false, manager: addr, lastError: failure ?? (outcome.acknowledged ? undefined : this.state.lastError) };
        resolve(outcome);
      });

      call.write(encodeAgentMessage({
        kind: 'register',
        register: { nodeId: this.nodeId, description: this.description, addr: this.advertiseAddr },
      }));
    });
  }

  /** Sends the reports gathered since the last flush, when a session is up; they wait otherwise. */
  private queueStatus(update: TaskStatusUpdate): void {
    this.unsent.set(update.taskId, update);
    this.scheduleFlush();
  }

  /**
   * Arms the flush: at once if nothing went out within STATUS_FLUSH_MS, else STATUS_FLUSH_MS after
   * the last message. A timer only while reports wait, not a standing interval (an idle agent has
   * no reason to wake 20 times a second).
   */
  private scheduleFlush(): void {
    if (this.flushTimer || this.stopped || this.unsent.size === 0) return;
    const delay = Math.max(0, this.lastFlushAt + STATUS_FLUSH_MS - Date.now());
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flushStatuses();
    }, delay);
  }

  /** Sends what waits; without a session it keeps waiting for the next SessionAck. */
  private flushStatuses(): void {
    if (this.unsent.size === 0 || !this.state.connected || !this.call) return;
    const updates = [...this.unsent.values()];
    this.unsent.clear();
    this.lastFlushAt = Date.now();
    this.call.write(encodeAgentMessage({ kind: 'taskStatuses', taskStatuses: { updates } }));
  }

  /** The manager after `current` in the known list, round-robin. */
  private nextManager(current: string): string {
    const at = this.known.findIndex((m) => m.addr === current);
    this.cursor = ((at >= 0 ? at : this.cursor) + 1) % this.known.length;
    return this.known[this.cursor].addr;
  }

  private updateManagers(managers: ManagerInfo[]): void {
    if (managers.length === 0 || sameManagers(managers, this.known)) return;
    this.known = managers.map((m) => ({ nodeId: m.nodeId, addr: m.addr }));
    this.cursor = 0;
    this.logger.info({ managers: this.known }, 'manager list changed');
    try {
      this.onManagersChanged?.(this.managers());
    } catch (error) {
      this.logger.error({ err: error instanceof Error ? error.message : String(error) }, 'onManagersChanged failed');
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
