// Connects RaftNodes inside one process, for tests of the driver and of the layers above it
// without sockets. Messages are delivered asynchronously and in order per link; links can be cut
// to partition the cluster. The wire codec is still applied, so what arrives is a fresh copy.

import { decodeMessageBatch, encodeMessageBatch } from './codec.js';
import type { Transport, TransportHandler } from './transport.js';
import { Message, MessageType } from './types.js';

export class LocalNetwork {
  private readonly endpoints = new Map<number, LocalTransport>();
  private readonly cut = new Set<string>();

  transport(id: number): LocalTransport {
    const t = new LocalTransport(id, this);
    this.endpoints.set(id, t);
    return t;
  }

  /** Drops all traffic between a and b in both directions. */
  partition(a: number, b: number): void {
    this.cut.add(`${a}>${b}`);
    this.cut.add(`${b}>${a}`);
  }

  /** Cuts `id` off from everyone. */
  isolate(id: number): void {
    for (const other of this.endpoints.keys()) if (other !== id) this.partition(id, other);
  }

  heal(): void {
    this.cut.clear();
  }

  /** @internal */
  deliver(from: number, messages: Message[]): void {
    const byPeer = new Map<number, Message[]>();
    for (const m of messages) {
      if (this.cut.has(`${from}>${m.to}`)) {
        if (m.type === MessageType.Snapshot) this.endpoints.get(from)?.handler?.onSnapshotStatus(m.to, false);
        continue;
      }
      let list = byPeer.get(m.to);
      if (!list) byPeer.set(m.to, (list = []));
      list.push(m);
    }
    for (const [to, list] of byPeer) {
      const target = this.endpoints.get(to);
      const sender = this.endpoints.get(from);
      if (!target || target.closed) {
        sender?.handler?.onUnreachable(to);
        continue;
      }
      const bytes = encodeMessageBatch(list);
      setImmediate(() => {
        if (target.closed || this.cut.has(`${from}>${to}`)) return;
        for (const m of decodeMessageBatch(bytes)) {
          target.handler?.onMessage(m);
          if (m.type === MessageType.Snapshot) sender?.handler?.onSnapshotStatus(to, true);
        }
      });
    }
  }
}

export class LocalTransport implements Transport {
  handler: TransportHandler | null = null;
  closed = false;

  constructor(readonly id: number, private readonly network: LocalNetwork) {}

  setHandler(handler: TransportHandler): void {
    this.handler = handler;
  }

  async start(): Promise<void> {
    this.closed = false;
  }

  send(messages: Message[]): void {
    if (!this.closed) this.network.deliver(this.id, messages);
  }

  setPeer(): void {}

  removePeer(): void {}

  async close(): Promise<void> {
    this.closed = true;
  }
}
