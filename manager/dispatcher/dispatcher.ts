// The leader's end of every node's Session (proto/dispatcher.proto): registration, heartbeats,
// failure detection. Served by every manager, on the gRPC server the daemon owns (the same port as
// raft and the CA); only the leader keeps sessions, followers answer NotLeader so agents move to
// the leader.
//
// Failure detection. Heartbeats only move an in-memory deadline (heartbeat-deadlines.ts), never a
// raft write. Every CHECK_INTERVAL_MS the nodes past their deadline are marked down in one store
// update. A node's deadline is its grace period after it was last heard from, or one heartbeat
// period after its stream broke: a killed process or rebooted host breaks the TCP connection at
// once, so it is marked down about a second later; a silent one (network partition) after the
// grace period. A manager that becomes leader gives every node that is not down a fresh grace
// period to reconnect (deadlines are not replicated), and one that stops being leader ends every
// session with NotLeader.
//
// The node's identity is taken only from its verified client certificate (`identify`); what a
// Register claims is checked against it, never trusted.
//
// Tasks. Right after SessionAck the node gets the full set of tasks it must act on
// (task-assignments.ts), then increments: a watch on the task table marks nodes whose tasks
// changed, and each marked node with a session gets what changed in its set, at most once per
// ASSIGNMENT_BATCH_MS. Status reports from agents are queued and written at most once per
// STATUS_BATCH_MS in one store transaction (task-status.ts), one write in flight at a time, only
// to the reporting node's own tasks and only forward. Both batches are leading-edge (BatchTimer):
// the first change after a quiet period goes out at once, later ones wait for the rest of the
// period; and a timer is armed only when there is something to send or write, never as a
// standing interval: an idle manager (every follower, always) should not wake up for nothing.
//
// Other messages for a node (log subscriptions, from manager/logbroker) go out on its session
// through sendToNode(); onSessionChange() tells their senders when a node's session comes
// (acknowledged, its full assignments sent) and goes. The daemon wires the two together: the
// dispatcher does not know what it carries.

import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import type { Store } from '../store/index.js';
import { NotFoundError, NotLeaderError } from '../store/index.js';
import type { Subscription } from '../store/index.js';
import type { DispatcherMessage, ManagerInfo, RegisterMessage, TaskStatusUpdate } from '../../shared/session-protocol.js';
import { DISPATCHER_SERVICE, decodeAgentMessage } from '../../shared/session-protocol.js';
import { AgentSession } from './agent-session.js';
import type { NodeIdentity, SessionCall } from './agent-session.js';
import type { Deadline } from './heartbeat-deadlines.js';
import { HeartbeatDeadlines } from './heartbeat-deadlines.js';
import { DEFAULT_HEARTBEAT_PERIOD_MS, gracePeriodMs, heartbeatPeriodMs } from './heartbeat-period.js';
import { ipOfPeer, markDown, markReady } from './node-status.js';
import { ASSIGNMENT_BATCH_MS, NodeAssignments, assignedTasks } from './task-assignments.js';
import { STATUS_BATCH_MS, StatusQueue, writeStatuses } from './task-status.js';

export type { NodeIdentity, SessionCall } from './agent-session.js';

/**
 * How often deadlines, leadership, the heartbeat period and the manager list are checked. It is
 * how late a node may be marked down past its deadline: 100 ms keeps a killed node's detection
 * (one 1 s period after the break, plus this, plus a raft write) far under the 3 s target, while a
 * pass over in-memory deadlines costs microseconds even for thousands of nodes.
 */
export const CHECK_INTERVAL_MS = 100;

/** Time and timers, injectable (raft's Clock fits). */
export interface DispatcherClock {
  now(): number;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const systemClock: DispatcherClock = {
  now: () => Date.now(),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * Leading-edge batching: armed when nothing fired within the last `periodMs`, it fires at once
 * (on the next turn of the event loop, so the events of one store commit go together); armed
 * sooner, it fires `periodMs` after the last firing. So the first change after a quiet spell
 * costs no wait, a steady stream still goes out at most once per period (the same work as a
 * trailing batch under load), and an idle manager has no timer at all.
 */
class BatchTimer {
  private handle: unknown = undefined;
  private lastFired = Number.NEGATIVE_INFINITY;

  constructor(private readonly clock: DispatcherClock, private readonly periodMs: number, private readonly fire: () => void) {}

  arm(): void {
    if (this.handle !== undefined) return;
    const delay = Math.max(0, this.lastFired + this.periodMs - this.clock.now());
    this.handle = this.clock.setTimeout(() => {
      this.handle = undefined;
      this.lastFired = this.clock.now();
      this.fire();
    }, delay);
  }

  cancel(): void {
    if (this.handle === undefined) return;
    this.clock.clearTimeout(this.handle);
    this.handle = undefined;
  }
}

export interface DispatcherOptions {
  store: Store;
  /** Whether this manager is the raft leader now; polled, so a plain getter will do. */
  isLeader: () => boolean;
  /** The leader's Dispatcher address (host:port), sent to agents in NotLeader; undefined while unknown. */
  leaderAddr: () => string | undefined;
  /** Every manager's node ID and Dispatcher address, sent to agents so they can fail over. */
  managers: () => ManagerInfo[];
  /** The caller's identity from its verified TLS client certificate; null when it has none. */
  identify: (call: SessionCall) => NodeIdentity | null;
  logger?: pino.Logger;
  clock?: DispatcherClock;
}

/** Told when a node's session is acknowledged (true) and when it ends (false). */
export type SessionListener = (nodeId: string, connected: boolean) => void;

/** What the daemon hands to grpc.Server.addService. */
export interface DispatcherService {
  definition: grpc.ServiceDefinition;
  implementation: grpc.UntypedServiceImplementation;
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class Dispatcher {
  private readonly store: Store;
  private readonly isLeader: () => boolean;
  private readonly leaderAddr: () => string | undefined;
  private readonly managers: () => ManagerInfo[];
  private readonly identify: (call: SessionCall) => NodeIdentity | null;
  private readonly logger: pino.Logger;
  private readonly clock: DispatcherClock;
  /** Every open call, registered or not: all end when leadership is lost or on stop(). */
  private readonly open = new Set<AgentSession>();
  /** Each node's registered session; a newer registration replaces (and ends) an older one. */
  private readonly byNode = new Map<string, AgentSession>();
  private readonly deadlines = new HeartbeatDeadlines();
  /** Store writes in flight, awaited by stop(). */
  private readonly writes = new Set<Promise<unknown>>();
  private readonly timer: unknown;
  private readonly assignmentTimer: BatchTimer;
  private readonly statusTimer: BatchTimer;
  /** Nodes whose tasks changed since their sessions were last told. */
  private readonly dirtyNodes = new Set<string>();
  private taskWatch: Subscription | null = null;
  private readonly statuses = new StatusQueue();
  private writingStatuses = false;
  private leading = false;
  private periodMs = DEFAULT_HEARTBEAT_PERIOD_MS;
  private managersKey = '';
  private markingDown = false;
  private stopped = false;
  private readonly sessionListeners = new Set<SessionListener>();

  constructor(options: DispatcherOptions) {
    this.store = options.store;
    this.isLeader = options.isLeader;
    this.leaderAddr = options.leaderAddr;
    this.managers = options.managers;
    this.identify = options.identify;
    this.logger = (options.logger ?? pino({ level: 'warn' })).child({ component: 'dispatcher' });
    this.clock = options.clock ?? systemClock;
    this.timer = this.clock.setInterval(() => this.check(), CHECK_INTERVAL_MS);
    this.assignmentTimer = new BatchTimer(this.clock, ASSIGNMENT_BATCH_MS, () => this.sendAssignmentChanges());
    this.statusTimer = new BatchTimer(this.clock, STATUS_BATCH_MS, () => this.writeQueuedStatuses());
    this.watchTasks();
  }

  /** The Dispatcher gRPC service: `server.addService(s.definition, s.implementation)`. */
  service(): DispatcherService {
    return {
      definition: DISPATCHER_SERVICE,
      implementation: { session: (call: SessionCall) => this.openSession(call) },
    };
  }

  /**
   * Sends `message` on the node's acknowledged session, after everything sent on it before;
   * false when the node has no session here (not connected, or this manager is not leading).
   */
  sendToNode(nodeId: string, message: DispatcherMessage): boolean {
    const session = this.byNode.get(nodeId);
    if (this.stopped || !this.leading || !session?.acknowledged || session.isEnded) return false;
    session.send(message);
    return true;
  }

  /** Whether the node has an acknowledged session here. */
  hasSession(nodeId: string): boolean {
    const session = this.byNode.get(nodeId);
    return !this.stopped && this.leading && Boolean(session?.acknowledged) && !session!.isEnded;
  }

  /** Calls `listener` whenever a node's session is acknowledged or ends; returns the way to stop. */
  onSessionChange(listener: SessionListener): () => void {
    this.sessionListeners.add(listener);
    return () => this.sessionListeners.delete(listener);
  }

  /** Ends every session (agents move to another manager) and stops marking nodes down. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.clock.clearInterval(this.timer);
    this.assignmentTimer.cancel();
    this.statusTimer.cancel();
    this.taskWatch?.close();
    this.taskWatch = null;
    for (const session of [...this.open]) {
      this.endSession(session, { code: grpc.status.UNAVAILABLE, details: 'this manager is shutting down; connect to another manager' });
    }
    this.deadlines.clear();
    this.leading = false;
    await Promise.allSettled([...this.writes]);
  }

  // ---------------------------------------------------------------- sessions

  private openSession(call: SessionCall): void {
    if (this.stopped) {
      call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'this manager is shutting down; connect to another manager' });
      return;
    }
    let identity: NodeIdentity | null;
    try {
      identity = this.identify(call);
    } catch (error) {
      this.logger.error({ peer: call.getPeer(), err: describeError(error) }, 'identifying a caller failed');
      identity = null;
    }
    if (identity === null) {
      call.emit('error', {
        code: grpc.status.UNAUTHENTICATED,
        details: 'a session needs a node certificate issued by this cluster\'s CA',
      });
      return;
    }
    const session = new AgentSession(call, identity, call.getPeer());
    this.open.add(session);
    call.on('data', (bytes: Buffer) => this.onMessage(session, bytes));
    // The agent half-closed: it is stopping. End our side too; its node is going away.
    call.on('end', () => {
      this.detach(session, { broken: true });
      session.end();
    });
    // The call was cancelled or the connection dropped.
    call.on('cancelled', () => this.dropped(session));
    call.on('close', () => this.dropped(session));

    this.syncLeadership();
    if (!this.leading) this.redirect(session);
  }

  private onMessage(session: AgentSession, bytes: Buffer): void {
    if (session.isEnded) return;
    let message;
    try {
      message = decodeAgentMessage(bytes);
    } catch (error) {
      this.endSession(session, { code: grpc.status.INVALID_ARGUMENT, details: `cannot decode an AgentMessage: ${describeError(error)}` });
      return;
    }
    if (!session.registering) {
      if (message.kind !== 'register') {
        this.endSession(session, { code: grpc.status.FAILED_PRECONDITION, details: 'the first message of a session must be Register' });
        return;
      }
      session.registering = true;
      this.track(this.register(session, message.register));
      return;
    }
    if (message.kind === 'register') {
      this.endSession(session, { code: grpc.status.FAILED_PRECONDITION, details: 'this session is already registered; open a new session to register again' });
      return;
    }
    // Any message after Register proves the agent alive: heartbeats and task status alike.
    this.heardFrom(session);
    if (message.kind === 'taskStatuses') this.queueStatuses(session, message.taskStatuses.updates);
  }

  private async register(session: AgentSession, register: RegisterMessage): Promise<void> {
    const { nodeId } = session;
    if (register.nodeId !== nodeId) {
      this.logger.warn({ node: nodeId, claimed: register.nodeId, peer: session.peer }, 'refused a registration for another node');
      this.endSession(session, {
        code: grpc.status.PERMISSION_DENIED,
        details: `this connection's certificate is for node ${nodeId}; it cannot register as node ${register.nodeId}`,
      });
      return;
    }
    this.syncLeadership();
    if (!this.leading) {
      this.redirect(session);
      return;
    }
    const previous = this.byNode.get(nodeId);
    if (previous) this.endSession(previous, { code: grpc.status.ABORTED, details: 'replaced by a newer session of the same node' });
    this.byNode.set(nodeId, session);
    session.heartbeatPeriodMs = this.periodMs;
    this.deadlines.set(nodeId, this.clock.now() + gracePeriodMs(this.periodMs));
    const addr = register.addr || ipOfPeer(session.peer);

    try {
      await markReady(this.store, nodeId, register.description, addr);
    } catch (error) {
      if (session.isEnded) return;
      if (error instanceof NotFoundError) {
        this.logger.warn({ node: nodeId, peer: session.peer }, 'refused a registration: no such node');
        this.endSession(session, {
          code: grpc.status.NOT_FOUND,
          details: `node ${nodeId} is not part of this cluster (there is no node object for it: it was removed, or never joined); join the cluster again`,
        });
        this.deadlines.forget(nodeId);
      } else if (error instanceof NotLeaderError || (error as { code?: unknown }).code === 'NOT_LEADER') {
        this.redirect(session);
      } else {
        this.logger.warn({ node: nodeId, err: describeError(error) }, 'could not record a registration');
        this.endSession(session, { code: grpc.status.UNAVAILABLE, details: `cannot record the registration: ${describeError(error)}` });
      }
      return;
    }
    // Dropped while the write was in flight: its deadline was shortened already.
    if (session.isEnded || this.byNode.get(nodeId) !== session) return;
    // markReady read linearizably: the cluster object now reflects every committed change, so the
    // agent is told the period in force even if it changed an instant ago.
    this.refreshHeartbeatPeriod();
    session.heartbeatPeriodMs = this.periodMs;
    this.deadlines.set(nodeId, this.clock.now() + gracePeriodMs(this.periodMs));
    session.acknowledged = true;
    session.send({
      kind: 'sessionAck',
      sessionAck: { sessionId: session.id, heartbeatPeriodMs: session.heartbeatPeriodMs, managers: this.managers() },
    });
    this.logger.info({ node: nodeId, role: session.identity.role, addr, session: session.id, heartbeatPeriodMs: session.heartbeatPeriodMs }, 'node registered');
    // The same read markReady made linearizable: every task committed so far is in the set.
    session.assignments = new NodeAssignments();
    const full = session.assignments.full(assignedTasks(this.store, nodeId));
    session.send({ kind: 'assignments', assignments: full });
    this.logger.debug({ node: nodeId, tasks: full.tasks.length }, 'sent the full set of assignments');
    this.announceSession(nodeId, true);
  }

  private heardFrom(session: AgentSession): void {
    if (!this.leading || this.byNode.get(session.nodeId) !== session) return;
    this.deadlines.set(session.nodeId, this.clock.now() + gracePeriodMs(session.heartbeatPeriodMs));
  }

  /** Tells the agent where the leader is and ends the call; the agent reconnects there. */
  private redirect(session: AgentSession): void {
    session.send({ kind: 'notLeader', notLeader: { leaderAddr: this.leaderAddr() ?? '', managers: this.managers() } });
    this.endSession(session);
  }

  /** Ends a session by this side's decision: its node's deadline stands as it is. */
  private endSession(session: AgentSession, error?: { code: grpc.status; details: string }): void {
    this.detach(session, { broken: false });
    session.end(error);
  }

  /** The agent's side went away: its node gets one heartbeat period to come back. */
  private dropped(session: AgentSession): void {
    session.markEnded();
    this.detach(session, { broken: true });
  }

  private detach(session: AgentSession, { broken }: { broken: boolean }): void {
    if (!this.open.delete(session)) return;
    if (this.byNode.get(session.nodeId) !== session) return;
    this.byNode.delete(session.nodeId);
    if (session.acknowledged) this.announceSession(session.nodeId, false);
    if (broken && this.leading) {
      this.deadlines.shorten(session.nodeId, this.clock.now() + session.heartbeatPeriodMs);
      this.logger.info({ node: session.nodeId, session: session.id }, 'session broke; the node is marked down unless it reconnects within a heartbeat period');
    }
  }

  // ---------------------------------------------------------------- tasks

  /** Marks the nodes whose tasks change; re-watches (and marks every node) when the watch fails. */
  private watchTasks(): void {
    if (this.stopped) return;
    let watch: Subscription;
    try {
      watch = this.store.subscribe({ kinds: ['task'] }, (event) => {
        if (event.kind !== 'task') return;
        if (event.object.NodeID) this.markDirty(event.object.NodeID);
        if (event.oldObject?.NodeID) this.markDirty(event.oldObject.NodeID);
      });
    } catch (error) {
      // The store is closed: the manager is going away.
      this.logger.info({ err: describeError(error) }, 'cannot watch tasks; assignments stop');
      return;
    }
    this.taskWatch = watch;
    void watch.ended.then((error) => {
      if (this.stopped || error === undefined || this.taskWatch !== watch) return;
      // Overflow or a snapshot replaced the state: what changed is unknown, so check every node.
      this.logger.warn({ err: describeError(error) }, 'task watch ended; watching again');
      for (const nodeId of this.byNode.keys()) this.markDirty(nodeId);
      this.watchTasks();
    });
  }

  /** Node IDs of tasks that changed: their sessions get the change with the next batch. */
  private markDirty(nodeId: string): void {
    if (this.stopped) return;
    this.dirtyNodes.add(nodeId);
    // Only the leader has sessions to tell; a follower just forgets (a new leader sends full sets).
    if (this.leading) this.assignmentTimer.arm();
    else this.dirtyNodes.clear();
  }

  private sendAssignmentChanges(): void {
    if (this.stopped || this.dirtyNodes.size === 0) return;
    const nodes = [...this.dirtyNodes];
    this.dirtyNodes.clear();
    if (!this.leading) return;
    for (const nodeId of nodes) {
      const session = this.byNode.get(nodeId);
      if (!session?.acknowledged || !session.assignments) continue;
      const increment = session.assignments.increment(assignedTasks(this.store, nodeId));
      if (!increment) continue;
      session.send({ kind: 'assignments', assignments: increment });
      this.logger.debug({ node: nodeId, changed: increment.tasks.length, removed: increment.removed.length }, 'sent assignment changes');
    }
  }

  private queueStatuses(session: AgentSession, updates: readonly TaskStatusUpdate[]): void {
    if (!session.acknowledged || !this.leading || this.byNode.get(session.nodeId) !== session) return;
    for (const update of updates) {
      if (!this.statuses.add(session.nodeId, update)) {
        this.logger.warn({ node: session.nodeId, task: update.taskId, state: update.state }, 'ignored a status report with a state an agent cannot report');
      }
    }
    // While a write is in flight its end arms the next batch (at least STATUS_BATCH_MS after it began).
    if (this.statuses.size > 0 && !this.writingStatuses) this.statusTimer.arm();
  }

  private writeQueuedStatuses(): void {
    if (this.stopped || this.writingStatuses || this.statuses.size === 0) return;
    if (!this.leading) {
      // The agents resend their statuses to the next leader.
      this.statuses.clear();
      return;
    }
    const entries = this.statuses.take();
    this.writingStatuses = true;
    this.track(writeStatuses(this.store, entries).then((written) => {
      this.logger.debug({ reports: entries.length, written }, 'task statuses written');
    }, (error: unknown) => {
      if (this.stopped || !this.leading) return;
      // A version conflict (the orchestrator wrote a task meanwhile) or a lost quorum: try again.
      this.logger.info({ reports: entries.length, err: describeError(error) }, 'could not write task statuses; retrying');
      this.statuses.restore(entries);
    }).finally(() => {
      this.writingStatuses = false;
      // Reports that arrived during the write (or a failed batch) go with the next one.
      if (this.statuses.size > 0 && !this.stopped) this.statusTimer.arm();
    }));
  }

  // ---------------------------------------------------------------- periodic check

  private check(): void {
    if (this.stopped) return;
    this.syncLeadership();
    if (!this.leading) return;
    this.refreshHeartbeatPeriod();
    this.refreshManagers();
    this.announceRoleChanges();
    this.endSessionsOfRemovedNodes();
    this.markExpiredNodesDown();
  }

  private syncLeadership(): void {
    if (this.stopped) return;
    const leading = this.isLeader();
    if (leading === this.leading) return;
    this.leading = leading;
    this.deadlines.clear();
    if (leading) {
      this.periodMs = heartbeatPeriodMs(this.store);
      this.managersKey = JSON.stringify(this.managers());
      // Deadlines are not replicated: every node that is not down gets a full grace period to
      // reconnect here before it can be marked down.
      const deadline = this.clock.now() + gracePeriodMs(this.periodMs);
      for (const node of this.store.find('node')) {
        if (node.Status?.State !== 'down') this.deadlines.set(node.ID, deadline);
      }
      this.logger.info({ nodes: this.deadlines.size, heartbeatPeriodMs: this.periodMs }, 'leading: accepting sessions; nodes have a grace period to reconnect');
    } else {
      this.logger.info({ sessions: this.open.size, leader: this.leaderAddr() }, 'no longer leading: sending agents to the leader');
      for (const session of [...this.open]) this.redirect(session);
    }
  }

  /** A changed cluster heartbeat period reaches every agent as a fresh SessionAck. */
  private refreshHeartbeatPeriod(): void {
    const periodMs = heartbeatPeriodMs(this.store);
    if (periodMs === this.periodMs) return;
    const previous = this.periodMs;
    this.periodMs = periodMs;
    const now = this.clock.now();
    for (const session of this.byNode.values()) {
      if (!session.acknowledged) continue;
      session.heartbeatPeriodMs = periodMs;
      // A heartbeat sent at the old pace may still be on its way.
      this.deadlines.extend(session.nodeId, now + gracePeriodMs(Math.max(previous, periodMs)));
      session.send({ kind: 'sessionAck', sessionAck: { sessionId: session.id, heartbeatPeriodMs: periodMs, managers: this.managers() } });
    }
    this.logger.info({ heartbeatPeriodMs: periodMs, previous }, 'heartbeat period changed');
  }

  private refreshManagers(): void {
    const managers = this.managers();
    const key = JSON.stringify(managers);
    if (key === this.managersKey) return;
    this.managersKey = key;
    for (const session of this.byNode.values()) {
      if (session.acknowledged) session.send({ kind: 'managersChanged', managersChanged: { managers } });
    }
  }

  /**
   * A node whose Spec.Role no longer matches its certificate's role (promoted or demoted) is told
   * once per session, so it renews its certificate and starts or stops its manager.
   */
  private announceRoleChanges(): void {
    for (const session of this.byNode.values()) {
      if (!session.acknowledged) continue;
      const role = this.store.get('node', session.nodeId)?.Spec.Role;
      if ((role !== 'manager' && role !== 'worker') || role === session.identity.role || session.announcedRole === role) continue;
      session.announcedRole = role;
      this.logger.info({ node: session.nodeId, role }, 'telling node its role changed');
      session.send({ kind: 'roleChanged', roleChanged: { role } });
    }
  }

  /** A node removed from the cluster (docker node rm --force) loses its session. */
  private endSessionsOfRemovedNodes(): void {
    for (const session of [...this.byNode.values()]) {
      if (!session.acknowledged || this.store.get('node', session.nodeId)) continue;
      this.deadlines.forget(session.nodeId);
      this.endSession(session, { code: grpc.status.NOT_FOUND, details: `node ${session.nodeId} was removed from the cluster` });
    }
  }

  private markExpiredNodesDown(): void {
    if (this.markingDown || this.deadlines.expired(this.clock.now()).length === 0) return;
    this.markingDown = true;
    const judged = new Map<string, Deadline>();
    const work = markDown(this.store, () => {
      // Decided when the write is proposed: whoever was heard from by then is spared.
      for (const [nodeId, deadline] of this.deadlines.expired(this.clock.now())) judged.set(nodeId, deadline);
      return [...judged.keys()];
    }).then(({ down, missing }) => {
      for (const nodeId of [...down, ...missing]) {
        // Heard from since (a registration proposed after this write wins), or no longer leading.
        if (!this.deadlines.forget(nodeId, judged.get(nodeId))) continue;
        const silent = this.byNode.get(nodeId);
        if (silent) {
          this.endSession(silent, { code: grpc.status.DEADLINE_EXCEEDED, details: 'no heartbeat within the grace period; the node was marked down, register again' });
        }
      }
      if (down.length > 0) this.logger.warn({ nodes: down }, 'nodes marked down: heartbeat failure');
    }, (error: unknown) => {
      this.logger.warn({ nodes: [...judged.keys()], err: describeError(error) }, 'could not mark nodes down; retrying');
    }).finally(() => {
      this.markingDown = false;
    });
    this.track(work);
  }

  private announceSession(nodeId: string, connected: boolean): void {
    for (const listener of [...this.sessionListeners]) {
      try {
        listener(nodeId, connected);
      } catch (error) {
        this.logger.error({ node: nodeId, err: describeError(error) }, 'a session listener failed');
      }
    }
  }

  /** Keeps a background task for stop() to await; a failure here is a bug, logged rather than left unhandled. */
  private track(work: Promise<unknown>): void {
    const guarded = work.catch((error: unknown) => {
      this.logger.error({ err: describeError(error) }, 'dispatcher task failed');
    });
    this.writes.add(guarded);
    void guarded.finally(() => this.writes.delete(guarded));
  }
}
