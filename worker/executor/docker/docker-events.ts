// The executor's one subscription to dockerd's event stream, shared by every controller: how a
// container's death or health change reaches its controller within milliseconds, with one
// connection per node instead of one `wait` request per task. Filtered by this node's label, so
// several Berth nodes sharing one dockerd (tests, demos) each see their own containers only.
//
// The stream can break (dockerd restarted, socket reset). It is reopened with backoff from the
// time of the last event seen (`since`), so the engine replays what was missed, and every
// subscriber is told to re-inspect its container after each (re)connection: a death that fell in
// the gap, or happened before the first connection, is still seen.

import type Docker from 'dockerode';
import type { IncomingMessage } from 'node:http';
import type { ExecutorLogger } from './engine.js';
import { engineMessage } from './engine.js';
import { LABEL_NODE_ID } from './labels.js';

export interface ContainerEvent {
  /** `die`, `destroy`, `health_status: healthy`, `health_status: unhealthy`. */
  action: string;
  containerId: string;
  /** The container's labels plus the event's own attributes (`exitCode` on die, `name`, `image`). */
  attributes: Record<string, string>;
}

export interface ContainerWatcher {
  onEvent(event: ContainerEvent): void;
  /** The stream (re)connected: events may have been missed, look at the container again. */
  onResync(): void;
}

/** The events a controller acts on; health checks' own exec_* events (one per interval per container) are left at the engine. */
const WATCHED_EVENTS = ['oom', 'die', 'destroy', 'health_status'];

/** First retry after 100 ms (a dockerd restart takes seconds, a reset socket milliseconds), doubling up to 2 s. */
const RECONNECT_INITIAL_MS = 100;
const RECONNECT_MAX_MS = 2000;

interface EngineEventMessage {
  Type?: string;
  Action?: string;
  status?: string;
  id?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  time?: number;
}

export class ContainerEvents {
  private readonly watchers = new Map<string, Set<ContainerWatcher>>();
  private response?: IncomingMessage;
  private connecting = false;
  private closed = false;
  private retryTimer?: NodeJS.Timeout;
  private backoffMs = RECONNECT_INITIAL_MS;
  /** `seconds.nanoseconds` of the last event seen: where a reconnection resumes. */
  private resumeFrom?: string;

  constructor(private readonly docker: Docker, private readonly nodeId: string, private readonly logger: ExecutorLogger) {}

  /** Delivers `containerId`'s events to `watcher` until the returned function is called. Opens the stream on first use. */
  watch(containerId: string, watcher: ContainerWatcher): () => void {
    let set = this.watchers.get(containerId);
    if (!set) this.watchers.set(containerId, (set = new Set()));
    set.add(watcher);
    this.ensureConnected();
    this.updateRef();
    return () => {
      const current = this.watchers.get(containerId);
      current?.delete(watcher);
      if (current?.size === 0) this.watchers.delete(containerId);
      this.updateRef();
    };
  }

  get connected(): boolean {
    return this.response !== undefined;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.watchers.clear();
    this.response?.destroy();
    this.response = undefined;
  }

  private ensureConnected(): void {
    if (this.closed || this.connecting || this.response || this.retryTimer) return;
    this.connecting = true;
    void this.connect();
  }

  private async connect(): Promise<void> {
    const options: Record<string, unknown> = {
      filters: { type: ['container'], event: WATCHED_EVENTS, label: [`${LABEL_NODE_ID}=${this.nodeId}`] },
    };
    if (this.resumeFrom) options.since = this.resumeFrom;
    let response: IncomingMessage;
    try {
      response = (await this.docker.getEvents(options)) as unknown as IncomingMessage;
    } catch (error) {
      this.connecting = false;
      this.logger.warn({ err: engineMessage(error), retryInMs: this.backoffMs }, 'docker events stream unavailable');
      this.retryLater();
      return;
    }
    this.connecting = false;
    if (this.closed) {
      response.destroy();
      return;
    }
    this.response = response;
    this.backoffMs = RECONNECT_INITIAL_MS;
    this.updateRef();
    let buffered = '';
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      buffered += chunk;
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        this.dispatch(buffered.slice(0, newline));
        buffered = buffered.slice(newline + 1);
      }
    });
    const ended = (error?: Error): void => {
      if (this.response !== response) return;
      this.response = undefined;
      if (this.closed) return;
      this.logger.warn({ err: error ? engineMessage(error) : 'stream ended' }, 'docker events stream broke; reconnecting');
      this.retryLater();
    };
    response.once('error', ended);
    response.once('end', () => ended());
    response.once('close', () => ended());
    // Anything that happened before this connection (or while the last one was down) is found by looking.
    for (const set of [...this.watchers.values()]) for (const watcher of [...set]) watcher.onResync();
  }

  private retryLater(): void {
    if (this.closed || this.retryTimer) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, RECONNECT_MAX_MS);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.watchers.size > 0) this.ensureConnected();
    }, delay);
    // Retrying is worth keeping the process alive only while some container is watched.
    if (this.watchers.size === 0) this.retryTimer.unref();
  }

  private dispatch(line: string): void {
    if (line.trim() === '') return;
    let message: EngineEventMessage;
    try {
      message = JSON.parse(line) as EngineEventMessage;
    } catch {
      return;
    }
    // timeNano exceeds 2^53: read its digits from the text, not the parsed number.
    const timeNano = /"timeNano":(\d{10,})/.exec(line)?.[1];
    if (timeNano) this.resumeFrom = `${timeNano.slice(0, -9)}.${timeNano.slice(-9)}`;
    else if (typeof message.time === 'number') this.resumeFrom = String(message.time);
    const containerId = message.Actor?.ID ?? message.id;
    const action = message.Action ?? message.status;
    if (!containerId || !action) return;
    const set = this.watchers.get(containerId);
    if (!set) return;
    const event: ContainerEvent = { action, containerId, attributes: message.Actor?.Attributes ?? {} };
    for (const watcher of [...set]) {
      try {
        watcher.onEvent(event);
      } catch (error) {
        this.logger.error({ err: (error as Error).message, containerId }, 'handling a container event failed');
      }
    }
  }

  /** The stream keeps the process alive only while a container is watched (a running task is the agent's reason to live, an idle stream is not). */
  private updateRef(): void {
    const socket = this.response?.socket;
    if (!socket) return;
    if (this.watchers.size > 0) socket.ref();
    else socket.unref();
  }
}
