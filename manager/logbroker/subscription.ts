// One log request on the leader: which node was asked for which tasks, what each node has sent,
// and when the request is complete.
//
// Not following, the request is complete once every node asked has closed its part (sent all
// its lines), or lost its session, or never started (PUBLISH_START_TIMEOUT_MS); nodes without a
// session when the request starts are skipped. So a request never waits on a node that is gone.
//
// Following, the request lasts until it is cancelled (the client went away, or this manager
// stopped leading). A task of a selected service that reaches a node later is added to that
// node's subscription; a node that reconnects is asked again for the tasks still running there,
// for new lines only once it had sent some (no line twice; lines written while it was away are
// not shown).
//
// Per task, lines are passed on in the order the node sent them; a node sends each task's lines
// in order on one call. Tasks interleave as their lines arrive.

import { randomUUID } from 'node:crypto';
import type pino from 'pino';
import type { Frozen, Store, Task } from '../store/index.js';
import type { LogBatch, LogReadOptions, LogRecord, LogSelector, LogSubscriptionMessage } from '../../shared/log-protocol.js';
import { RecordQueue } from './record-queue.js';
import { isReadable, readableTasksByNode, selects } from './task-selection.js';

/**
 * How long a node asked for logs may take to open its PublishLogs call when the request does not
 * follow. An agent opens it as soon as the subscription arrives (one round trip on a LAN); 10 s
 * covers a very loaded node, and bounds how long a node that never answers (an agent from before
 * logs existed ignores the message) can hold the request open.
 */
export const PUBLISH_START_TIMEOUT_MS = 10_000;

/** How the subscription reaches nodes: over their agent sessions, on this (the leader's) dispatcher. */
export interface NodeSessions {
  /** Sends over the node's session; false when it has none here. */
  send(nodeId: string, message: LogSubscriptionMessage): boolean;
  connected(nodeId: string): boolean;
}

/** A node's PublishLogs call, as the subscription drives it. */
export interface PublisherCall {
  pause(): void;
  resume(): void;
  /** Ends the call from this side: the node stops publishing. */
  finish(): void;
}

interface NodePart {
  readonly nodeId: string;
  /** Every task asked of this node → its service. */
  readonly tasks: Map<string, string>;
  /** Tasks whose part the node says is over. */
  readonly ended: Set<string>;
  readonly calls: Set<PublisherCall>;
  /** Asked in its current session. */
  asked: boolean;
  /** Has sent at least one line. */
  delivered: boolean;
  /** Will send nothing more (not following: closed, gone, or never started). */
  done: boolean;
  openTimer?: NodeJS.Timeout;
}

export interface SubscriptionOptions {
  selector: LogSelector;
  options: LogReadOptions;
  sessions: NodeSessions;
  logger: pino.Logger;
  /** Called once, when the subscription is complete or cancelled. */
  onFinished: (subscription: Subscription) => void;
}

export class Subscription {
  readonly id = randomUUID();
  readonly selector: LogSelector;
  readonly options: LogReadOptions;
  readonly queue: RecordQueue;
  private readonly sessions: NodeSessions;
  private readonly logger: pino.Logger;
  private readonly onFinished: (subscription: Subscription) => void;
  private readonly parts = new Map<string, NodePart>();
  private paused = false;
  private finished = false;

  constructor(options: SubscriptionOptions) {
    this.selector = options.selector;
    this.options = options.options;
    this.sessions = options.sessions;
    this.onFinished = options.onFinished;
    this.logger = options.logger.child({ subscription: this.id });
    this.queue = new RecordQueue((paused) => this.setPaused(paused));
  }

  get follow(): boolean {
    return this.options.follow;
  }

  get isFinished(): boolean {
    return this.finished;
  }

  /** Asks every node that holds a selected task; complete at once when there is nothing to read. */
  start(store: Store): void {
    for (const [nodeId, tasks] of readableTasksByNode(store, this.selector)) {
      const part = this.part(nodeId);
      for (const task of tasks) part.tasks.set(task.ID, task.ServiceID);
      if (this.sessions.connected(nodeId)) this.ask(part, [...part.tasks.keys()], this.options);
      else if (!this.follow) part.done = true;
    }
    this.logger.debug({ nodes: [...this.parts.keys()], follow: this.follow }, 'log subscription started');
    this.checkComplete();
  }

  /** Following: a task of a selected service that a node can now be asked about. */
  taskChanged(task: Frozen<Task>): void {
    if (this.finished || !this.follow || !selects(this.selector, task) || !isReadable(task)) return;
    const part = this.part(task.NodeID!);
    if (part.tasks.has(task.ID)) return;
    part.tasks.set(task.ID, task.ServiceID);
    // A task that started after the request: all of its lines are new.
    if (this.sessions.connected(part.nodeId)) this.ask(part, [task.ID], { ...this.options, tail: undefined });
  }

  /** The node's session was acknowledged (again). */
  nodeConnected(nodeId: string): void {
    const part = this.parts.get(nodeId);
    if (!part || this.finished || !this.follow || part.asked) return;
    const open = [...part.tasks.keys()].filter((id) => !part.ended.has(id));
    if (open.length === 0) return;
    this.ask(part, open, part.delivered ? { ...this.options, tail: 0 } : this.options);
  }

  /** The node's session ended: its calls go with it, and (not following) its part is over. */
  nodeDisconnected(nodeId: string): void {
    const part = this.parts.get(nodeId);
    if (!part) return;
    part.asked = false;
    clearTimeout(part.openTimer);
    for (const call of part.calls) call.finish();
    part.calls.clear();
    if (!this.follow && !part.done) {
      this.logger.info({ node: nodeId }, 'node went away; its part of the logs ends here');
      this.endPart(part);
    }
  }

  /** A PublishLogs call from `nodeId` for this subscription; false when the node has nothing to send here. */
  callOpened(nodeId: string, call: PublisherCall): boolean {
    const part = this.parts.get(nodeId);
    if (!part || this.finished || part.done) return false;
    clearTimeout(part.openTimer);
    part.calls.add(call);
    if (this.paused) call.pause();
    return true;
  }

  /** Lines from `nodeId`; only its own tasks' lines are kept, their context filled in here. */
  batch(nodeId: string, batch: LogBatch): void {
    const part = this.parts.get(nodeId);
    if (!part || this.finished) return;
    const records: LogRecord[] = [];
    let foreign = 0;
    for (const message of batch.messages) {
      const taskId = message.context.taskId;
      const serviceId = part.tasks.get(taskId);
      if (serviceId === undefined || part.ended.has(taskId)) {
        foreign += 1;
        continue;
      }
      records.push({ context: { serviceId, nodeId, taskId }, time: message.time, stream: message.stream, line: message.line });
    }
    if (foreign > 0) this.logger.warn({ node: nodeId, lines: foreign }, 'dropped lines of tasks this node was not asked about, or sent after their end');
    if (records.length > 0) {
      part.delivered = true;
      this.queue.push(records);
    }
    for (const taskId of batch.endedTasks) if (part.tasks.has(taskId)) part.ended.add(taskId);
    if (batch.close) this.endPart(part);
  }

  /** A call ended; not following, a node that stops without closing has nothing more to send either. */
  callEnded(nodeId: string, call: PublisherCall): void {
    const part = this.parts.get(nodeId);
    if (!part || !part.calls.delete(call)) return;
    if (!this.follow && !part.done) this.endPart(part);
  }

  /** The reader went away, or this manager stops leading: nodes stop, the reader gets the end. */
  cancel(): void {
    this.finish();
  }

  private part(nodeId: string): NodePart {
    let part = this.parts.get(nodeId);
    if (!part) {
      part = { nodeId, tasks: new Map(), ended: new Set(), calls: new Set(), asked: false, delivered: false, done: false };
      this.parts.set(nodeId, part);
    }
    return part;
  }

  private ask(part: NodePart, taskIds: string[], options: LogReadOptions): void {
    if (!this.sessions.send(part.nodeId, { id: this.id, taskIds, options, close: false })) {
      if (!this.follow) this.endPart(part);
      return;
    }
    part.asked = true;
    if (!this.follow && part.calls.size === 0 && part.openTimer === undefined) {
      part.openTimer = setTimeout(() => {
        if (part.calls.size > 0 || part.done) return;
        this.logger.warn({ node: part.nodeId, timeoutMs: PUBLISH_START_TIMEOUT_MS }, 'node did not start publishing logs; going on without it');
        this.endPart(part);
      }, PUBLISH_START_TIMEOUT_MS);
    }
  }

  private endPart(part: NodePart): void {
    if (part.done) return;
    part.done = true;
    clearTimeout(part.openTimer);
    for (const call of part.calls) call.finish();
    part.calls.clear();
    this.checkComplete();
  }

  private checkComplete(): void {
    if (this.follow || this.finished) return;
    for (const part of this.parts.values()) if (!part.done) return;
    this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    for (const part of this.parts.values()) {
      clearTimeout(part.openTimer);
      if (part.asked && !part.done) {
        this.sessions.send(part.nodeId, { id: this.id, taskIds: [], options: this.options, close: true });
      }
      part.done = true;
      for (const call of part.calls) call.finish();
      part.calls.clear();
    }
    if (this.queue.dropped > 0) {
      this.logger.warn({ dropped: this.queue.dropped }, 'the reader was too slow: lines were dropped to bound memory');
    }
    this.queue.end();
    this.logger.debug('log subscription finished');
    this.onFinished(this);
  }

  private setPaused(paused: boolean): void {
    this.paused = paused;
    for (const part of this.parts.values()) {
      for (const call of part.calls) {
        if (paused) call.pause();
        else call.resume();
      }
    }
  }
}
