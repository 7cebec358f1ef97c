// How the driver (node.ts) talks to peers. The gRPC implementation is grpc-transport.ts;
// local-transport.ts connects nodes inside one process for tests.

import type { Message } from './types.js';

export interface TransportHandler {
  /** A message from a peer, already decoded and checked for shape. */
  onMessage(message: Message): void;
  /** The connection to a peer failed or broke (the core uses this to back off or to notice a dead leader). */
  onUnreachable(peer: number): void;
  /** The outcome of sending a Snapshot message (sent in chunks; ok once the peer has all of it). */
  onSnapshotStatus(peer: number, ok: boolean): void;
}

export interface Transport {
  setHandler(handler: TransportHandler): void;
  /** Starts serving; resolves once the listening address is bound. */
  start(): Promise<void>;
  /** Queues messages for their `to` peers; never blocks, never throws for an unknown or down peer. */
  send(messages: Message[]): void;
  setPeer(id: number, address: string): void;
  removePeer(id: number): void;
  close(): Promise<void>;
}
