// The log broker: every manager runs one; the leader's does the work. subscribe() is what the API
// calls, on any manager: the leader starts a Subscription (subscription.ts), a follower forwards
// the request to the leader's SubscribeLogs (leader-client.ts). The LogBroker gRPC service takes
// the nodes' PublishLogs calls and the followers' SubscribeLogs calls, on the manager's one
// cluster port.
//
// Nodes are reached through their agent sessions (NodeSessions, wired to the dispatcher by the
// daemon): the broker never talks to the dispatcher module itself, and learns of sessions coming
// and going through nodeSessionChanged(). A publisher's node is the one its verified client
// certificate names; its lines are only taken for the tasks its node was asked about.
//
// Leadership: subscriptions live on the leader, so when this manager stops leading (or stops),
// every subscription ends and its readers get the end of their stream.

import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { apiError } from '../../shared/errors.js';
import type { LogRecord, SubscribeLogsRequest } from '../../shared/log-protocol.js';
import { LOG_BROKER_SERVICE, decodeLogBatch, decodeSubscribeLogsRequest, encodeLogRecords } from '../../shared/log-protocol.js';
import type { Store, Subscription as StoreSubscription } from '../store/index.js';
import type { LeaderLogClient } from './leader-client.js';
import { readableTasksByNode } from './task-selection.js';
import type { NodeSessions, PublisherCall } from './subscription.js';
import { Subscription } from './subscription.js';

export type { NodeSessions } from './subscription.js';

/**
 * The most lines per SubscribeLogs message: keeps each message far below gRPC's limits however
 * much the queue held, and lets the follower start writing early.
 */
const SUBSCRIBE_MESSAGE_MAX_LINES = 1000;

/** A gRPC server call of any kind: what identify() reads the peer's certificate from. */
export type BrokerCall = grpc.ServerReadableStream<Buffer, Buffer> | grpc.ServerWritableStream<Buffer, Buffer>;

/** Who is calling, from its verified TLS client certificate. */
export interface CallerIdentity {
  nodeId: string;
  role: 'manager' | 'worker';
}

export interface LogBrokerOptions {
  store: Store;
  isLeader: () => boolean;
  /** The leader's cluster address (host:port); undefined while none is known. */
  leaderAddr: () => string | undefined;
  sessions: NodeSessions;
  /** The caller's identity from its verified client certificate; null without one. */
  identify: (call: BrokerCall) => CallerIdentity | null;
  /** How a follower reaches the leader's broker. */
  leader: LeaderLogClient;
  logger?: pino.Logger;
}

export interface LogBrokerService {
  definition: grpc.ServiceDefinition;
  implementation: grpc.UntypedServiceImplementation;
}

const EMPTY = Buffer.alloc(0);

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class LogBroker {
  private readonly store: Store;
  private readonly isLeader: () => boolean;
  private readonly leaderAddr: () => string | undefined;
  private readonly sessions: NodeSessions;
  private readonly identify: (call: BrokerCall) => CallerIdentity | null;
  private readonly leader: LeaderLogClient;
  private readonly logger: pino.Logger;
  private readonly subscriptions = new Map<string, Subscription>();
  private taskWatch: StoreSubscription | null = null;
  private stopped = false;

  constructor(options: LogBrokerOptions) {
    this.store = options.store;
    this.isLeader = options.isLeader;
    this.leaderAddr = options.leaderAddr;
    this.sessions = options.sessions;
    this.identify = options.identify;
    this.leader = options.leader;
    this.logger = (options.logger ?? pino({ level: 'warn' })).child({ component: 'logbroker' });
  }

  /** The LogBroker gRPC service: `server.addService(s.definition, s.implementation)`. */
  service(): LogBrokerService {
    return {
      definition: LOG_BROKER_SERVICE,
      implementation: {
        publishLogs: (call: grpc.ServerReadableStream<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => this.publishLogs(call, callback),
        subscribeLogs: (call: grpc.ServerWritableStream<Buffer, Buffer>) => this.subscribeLogs(call),
      },
    };
  }

  /**
   * The lines a request selects, in batches, on any manager. Resolves once the subscription is in
   * place; rejects with an ApiError when it cannot be (no leader, the leader unreachable). The
   * stream ends when a request that does not follow is complete, when `signal` aborts, or when
   * the leader stops serving it.
   */
  async subscribe(request: SubscribeLogsRequest, signal: AbortSignal): Promise<AsyncIterable<LogRecord[]>> {
    if (this.stopped) throw apiError('SHUTTING_DOWN');
    if (this.isLeader()) return this.subscribeHere(request, signal);
    const addr = this.leaderAddr();
    if (!addr) throw apiError('NO_LEADER');
    return this.leader.subscribe(addr, request, signal);
  }

  /** A node's session was acknowledged (true) or ended (false) on this manager's dispatcher. */
  nodeSessionChanged(nodeId: string, connected: boolean): void {
    for (const subscription of [...this.subscriptions.values()]) {
      if (connected) subscription.nodeConnected(nodeId);
      else subscription.nodeDisconnected(nodeId);
    }
  }

  /** How many subscriptions this manager serves now. */
  get size(): number {
    return this.subscriptions.size;
  }

  /** Ends every subscription. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const subscription of [...this.subscriptions.values()]) subscription.cancel();
    this.taskWatch?.close();
    this.taskWatch = null;
  }

  // ---------------------------------------------------------------- the leader's side

  private subscribeHere(request: SubscribeLogsRequest, signal: AbortSignal): Subscription['queue'] {
    const subscription = new Subscription({
      selector: request.selector,
      options: request.options,
      sessions: this.sessions,
      logger: this.logger,
      onFinished: (s) => this.forget(s),
    });
    this.subscriptions.set(subscription.id, subscription);
    if (subscription.follow) this.watchTasks();
    const cancel = (): void => subscription.cancel();
    if (signal.aborted) cancel();
    else signal.addEventListener('abort', cancel, { once: true });
    subscription.start(this.store);
    return subscription.queue;
  }

  private forget(subscription: Subscription): void {
    this.subscriptions.delete(subscription.id);
    if (this.taskWatch && ![...this.subscriptions.values()].some((s) => s.follow)) {
      this.taskWatch.close();
      this.taskWatch = null;
    }
  }

  /** Following subscriptions hear of every task change; one watch serves them all. */
  private watchTasks(): void {
    if (this.taskWatch || this.stopped) return;
    let watch: StoreSubscription;
    try {
      watch = this.store.subscribe({ kinds: ['task'] }, (event) => {
        if (event.kind !== 'task' || event.action === 'delete') return;
        for (const subscription of this.subscriptions.values()) subscription.taskChanged(event.object);
      });
    } catch (error) {
      this.logger.info({ err: describeError(error) }, 'cannot watch tasks; followed services get no new tasks');
      return;
    }
    this.taskWatch = watch;
    void watch.ended.then((error) => {
      if (this.taskWatch !== watch) return;
      this.taskWatch = null;
      if (error === undefined || this.stopped) return;
      // Overflow or a snapshot: what changed is unknown, so look at every selected task again.
      this.logger.warn({ err: describeError(error) }, 'task watch ended; watching again');
      this.watchTasks();
      for (const subscription of this.subscriptions.values()) {
        if (!subscription.follow) continue;
        for (const tasks of readableTasksByNode(this.store, subscription.selector).values()) {
          for (const task of tasks) subscription.taskChanged(task);
        }
      }
    });
  }

  /**
   * Call when this manager's leadership changes (raft's 'leadership' event). Losing it ends the
   * subscriptions here: their nodes' sessions are moving to the new leader anyway.
   */
  leadershipChanged(): void {
    if (this.subscriptions.size === 0 || this.isLeader()) return;
    this.logger.info({ subscriptions: this.subscriptions.size }, 'no longer leading: ending log subscriptions');
    for (const subscription of [...this.subscriptions.values()]) subscription.cancel();
  }

  // ---------------------------------------------------------------- gRPC

  private caller(call: BrokerCall): CallerIdentity | null {
    try {
      return this.identify(call);
    } catch (error) {
      this.logger.error({ err: describeError(error) }, 'identifying a caller failed');
      return null;
    }
  }

  /** A node's lines for one subscription; the first batch names it. */
  private publishLogs(call: grpc.ServerReadableStream<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>): void {
    const identity = this.caller(call);
    if (!identity) {
      callback({ code: grpc.status.UNAUTHENTICATED, details: 'publishing logs needs a node certificate issued by this cluster\'s CA' });
      return;
    }
    const nodeId = identity.nodeId;
    let subscription: Subscription | undefined;
    let answered = false;
    const answer = (error?: Partial<grpc.StatusObject>): void => {
      if (answered) return;
      answered = true;
      callback(error ?? null, error ? undefined : EMPTY);
    };
    const handle: PublisherCall = {
      pause: () => call.pause(),
      resume: () => call.resume(),
      // OK tells the node the subscription wants nothing more.
      finish: () => answer(),
    };
    const ended = (): void => {
      subscription?.callEnded(nodeId, handle);
    };
    call.on('data', (bytes: Buffer) => {
      if (answered) return;
      let batch;
      try {
        batch = decodeLogBatch(bytes);
      } catch (error) {
        ended();
        answer({ code: grpc.status.INVALID_ARGUMENT, details: `cannot decode a LogBatch: ${describeError(error)}` });
        return;
      }
      if (!subscription) {
        const found = this.subscriptions.get(batch.subscriptionId);
        if (!found || !found.callOpened(nodeId, handle)) {
          // Cancelled meanwhile, or never asked of this node: nothing to publish.
          answer();
          return;
        }
        subscription = found;
      } else if (batch.subscriptionId !== subscription.id) {
        ended();
        answer({ code: grpc.status.INVALID_ARGUMENT, details: 'one PublishLogs call carries one subscription' });
        return;
      }
      subscription.batch(nodeId, batch);
    });
    call.on('end', () => {
      ended();
      answer();
    });
    call.on('cancelled', ended);
    call.on('error', ended);
  }

  /** A follower's API request; managers only, answered by the leader. */
  private subscribeLogs(call: grpc.ServerWritableStream<Buffer, Buffer>): void {
    const fail = (code: grpc.status, details: string): void => {
      call.emit('error', Object.assign(new Error(details), { code, details }));
    };
    const identity = this.caller(call);
    if (!identity) return fail(grpc.status.UNAUTHENTICATED, 'subscribing to logs needs a node certificate issued by this cluster\'s CA');
    if (identity.role !== 'manager') return fail(grpc.status.PERMISSION_DENIED, `permission denied: subscribing to logs needs the manager role; node ${identity.nodeId} has the worker role`);
    if (this.stopped || !this.isLeader()) return fail(grpc.status.FAILED_PRECONDITION, 'this manager is not the leader');
    let request: SubscribeLogsRequest;
    try {
      request = decodeSubscribeLogsRequest(call.request);
    } catch (error) {
      return fail(grpc.status.INVALID_ARGUMENT, `cannot decode a SubscribeLogsRequest: ${describeError(error)}`);
    }
    const abort = new AbortController();
    call.on('cancelled', () => abort.abort());
    call.on('close', () => abort.abort());
    const queue = this.subscribeHere(request, abort.signal);
    call.sendMetadata(new grpc.Metadata());
    void (async () => {
      for await (const records of queue) {
        for (let at = 0; at < records.length; at += SUBSCRIBE_MESSAGE_MAX_LINES) {
          if (abort.signal.aborted) return;
          if (!call.write(encodeLogRecords(records.slice(at, at + SUBSCRIBE_MESSAGE_MAX_LINES)))) {
            await once(call, 'drain', { signal: abort.signal }).catch(() => undefined);
          }
        }
      }
      if (!abort.signal.aborted) call.end();
    })().catch((error: unknown) => {
      this.logger.warn({ err: describeError(error) }, 'forwarding logs to a follower failed');
      abort.abort();
    });
  }
}
