// Raft traffic between managers over gRPC (service berth.raft.Raft in proto/raft.proto).
//
// Sending: send() only queues; one flush per event-loop turn writes everything queued for a peer
// as a single MessageBatch on a long-lived client stream to that peer (one stream per peer keeps
// messages in order). A stream that breaks is reported once through onUnreachable, its queue is
// dropped (Raft retransmits), and the next send reopens it after a growing backoff. Snapshot
// messages go separately, in chunks, on a SendSnapshot call, and end in onSnapshotStatus.
//
// Receiving: every batch is decoded and each message checked (codec.validateMessage); anything
// impossible is logged and dropped, so a broken peer never crashes this node. When a peer's
// inbound stream breaks, that peer is reported unreachable too: a follower notices a dead leader
// without waiting for an election timeout.
//
// Both directions use mutual TLS when `tls` is given (every node is server and client alike).

import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import {
  SnapshotChunk, decodeMessageBatch, decodeSnapshotChunk, encodeMessageBatch, encodeSnapshotChunk, validateMessage,
} from './codec.js';
import type { Transport, TransportHandler } from './transport.js';
import { Message, MessageType, Snapshot, emptyMessage, entrySize } from './types.js';

/** Snapshot data per SendSnapshot chunk: large enough to amortize per-message costs, small enough not to stall other traffic. */
const SNAPSHOT_CHUNK_BYTES = 512 * 1024;
/** Largest gRPC message either side accepts; batches are kept well below it (maxBatchBytes). */
const MAX_GRPC_MESSAGE_BYTES = 64 * 1024 * 1024;
/** Default cap on one MessageBatch: big enough for a full append pipeline, far under the gRPC limit. */
const DEFAULT_MAX_BATCH_BYTES = 4 * 1024 * 1024;
/** Estimate of a message's bytes besides entries and context (header fields, framing), for batch sizing. */
const MESSAGE_OVERHEAD_BYTES = 64;
/** Messages kept per peer while its stream is backed up; past that they are dropped (Raft retransmits). */
const MAX_QUEUED_MESSAGES = 10_000;
/** Wait before reopening a broken stream, doubling per failure: a dead peer is not hammered, a restarted one is found fast. */
const RECONNECT_BACKOFF_MIN_MS = 50;
const RECONNECT_BACKOFF_MAX_MS = 1000;
/** Keepalive pings every 2 s, answered within 1 s: a silently dead peer is noticed in about 3 s, in both directions. */
const KEEPALIVE_TIME_MS = 2000;
const KEEPALIVE_TIMEOUT_MS = 1000;
/** How long close() lets calls finish before cutting them, so closing is prompt. */
const CLOSE_GRACE_MS = 100;
/** Metadata naming the sending node on every call, so a receiver knows whose stream broke even before any message. */
const SENDER_METADATA_KEY = 'berth-raft-from';

const STREAM_PATH = '/berth.raft.Raft/Stream';
const SEND_SNAPSHOT_PATH = '/berth.raft.Raft/SendSnapshot';
/** StreamAck and SnapshotAck have no fields, so their encoding is empty. */
const EMPTY_ACK = Buffer.alloc(0);

/** Views bytes as a Buffer without copying (gRPC wants Buffers; protobufjs already returns them in Node). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const passBytes = (bytes: Buffer): Buffer => bytes;
const serializeChunk = (chunk: SnapshotChunk): Buffer => asBuffer(encodeSnapshotChunk(chunk));

/**
 * The Raft service with codec.ts as its (de)serializers. Stream batches pass through as bytes and
 * are decoded in the handler: a batch that fails to decode is then dropped alone, whereas a
 * deserializer error would make gRPC fail the whole stream. A bad snapshot chunk does fail its call,
 * which is right: the transfer is unusable and the sender learns it through onSnapshotStatus.
 */
const RAFT_SERVICE: grpc.ServiceDefinition = {
  stream: {
    path: STREAM_PATH,
    requestStream: true,
    responseStream: false,
    requestSerialize: passBytes,
    requestDeserialize: passBytes,
    responseSerialize: passBytes,
    responseDeserialize: passBytes,
    originalName: 'Stream',
  },
  sendSnapshot: {
    path: SEND_SNAPSHOT_PATH,
    requestStream: true,
    responseStream: false,
    requestSerialize: serializeChunk,
    requestDeserialize: decodeSnapshotChunk,
    responseSerialize: passBytes,
    responseDeserialize: passBytes,
    originalName: 'SendSnapshot',
  },
};

const KEEPALIVE_OPTIONS = {
  'grpc.keepalive_time_ms': KEEPALIVE_TIME_MS,
  'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MS,
  'grpc.keepalive_permit_without_calls': 1,
};

const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  ...KEEPALIVE_OPTIONS,
  'grpc.max_send_message_length': MAX_GRPC_MESSAGE_BYTES,
  'grpc.max_receive_message_length': MAX_GRPC_MESSAGE_BYTES,
  // gRPC's own reconnect backoff (default up to 120 s) would otherwise outlast ours and keep a restarted peer unreachable.
  'grpc.initial_reconnect_backoff_ms': RECONNECT_BACKOFF_MIN_MS,
  'grpc.max_reconnect_backoff_ms': RECONNECT_BACKOFF_MAX_MS,
  // Each transport owns its connections: closing one never affects another in the same process.
  'grpc.use_local_subchannel_pool': 1,
};

const SERVER_OPTIONS: grpc.ServerOptions = {
  ...KEEPALIVE_OPTIONS,
  'grpc.max_send_message_length': MAX_GRPC_MESSAGE_BYTES,
  'grpc.max_receive_message_length': MAX_GRPC_MESSAGE_BYTES,
};

export interface GrpcTransportOptions {
  /** This node's id: inbound messages addressed to anyone else are dropped. */
  id: number;
  /** host:port to serve on; port 0 picks a free port (see `port`). Ignored with `server`. */
  listen?: string;
  /**
   * A server owned by the caller (already bound, carrying other services too): the raft
   * service is added to it and removed again on close, and the server itself is left running.
   */
  server?: grpc.Server;
  /** Credentials for dialling peers when the caller manages identities (overrides `tls` for clients). */
  channelCredentials?: grpc.ChannelCredentials;
  /** Extra channel options for dialling peers (e.g. the TLS name peers' certificates carry). */
  channelOptions?: grpc.ChannelOptions;
  /** Checks every inbound call; returns why it is refused (e.g. not a manager), or null to allow it. */
  authorize?: (call: grpc.ServerReadableStream<unknown, unknown>) => string | null;
  /** Mutual TLS for both directions; without it everything is plaintext (loopback tests only). */
  tls?: { ca: Buffer; cert: Buffer; key: Buffer };
  logger?: pino.Logger;
  /** Cap on one MessageBatch's estimated size; more queued messages go out as several batches. */
  maxBatchBytes?: number;
}

/** Everything this node keeps about one peer it sends to. */
class Peer {
  stream: grpc.ClientWritableStream<Buffer> | null = null;
  queue: Message[] = [];
  /** The stream's buffer is full: keep queueing until it drains. */
  awaitingDrain = false;
  /** Already reported unreachable because the queue overflowed; reset once the queue drains. */
  overflowReported = false;
  backoffMs = RECONNECT_BACKOFF_MIN_MS;
  /** No new stream is opened before this time (ms since epoch). */
  retryAt = 0;
  readonly snapshotCalls = new Set<grpc.ClientWritableStream<SnapshotChunk>>();

  constructor(readonly id: number, readonly address: string, readonly client: grpc.Client) {}
}

function estimatedSize(m: Message): number {
  let size = MESSAGE_OVERHEAD_BYTES + m.context.byteLength;
  for (const e of m.entries) size += entrySize(e);
  return size;
}

function senderOf(metadata: grpc.Metadata): number {
  const value = Number(metadata.get(SENDER_METADATA_KEY)[0]);
  return Number.isSafeInteger(value) && value > 0 ? value : 0;
}

function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class GrpcTransport implements Transport {
  readonly id: number;
  private readonly listen: string;
  private readonly logger: pino.Logger;
  private readonly maxBatchBytes: number;
  private readonly serverCredentials: grpc.ServerCredentials;
  private channelCredentials: grpc.ChannelCredentials;
  private readonly server: grpc.Server;
  private readonly ownsServer: boolean;
  private readonly authorize: GrpcTransportOptions['authorize'];
  private readonly channelOptions: grpc.ChannelOptions;
  private readonly peers = new Map<number, Peer>();
  /** Open inbound streams per sender: a sender is unreachable only once its last one breaks. */
  private readonly inboundStreams = new Map<number, number>();
  private handler: TransportHandler | null = null;
  private boundPort = 0;
  private flushScheduled = false;
  private closed = false;

  constructor(options: GrpcTransportOptions) {
    this.id = options.id;
    this.listen = options.listen ?? '';
    this.ownsServer = !options.server;
    this.server = options.server ?? new grpc.Server(SERVER_OPTIONS);
    this.authorize = options.authorize;
    this.channelOptions = { ...CHANNEL_OPTIONS, ...options.channelOptions };
    if (this.ownsServer && !options.listen) throw new Error('raft transport: `listen` is required without `server`');
    this.logger = (options.logger ?? pino({ level: 'warn' })).child({ component: 'raft-transport', node: options.id });
    this.maxBatchBytes = options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
    if (options.tls) {
      const { ca, cert, key } = options.tls;
      this.serverCredentials = grpc.ServerCredentials.createSsl(ca, [{ cert_chain: cert, private_key: key }], true);
      this.channelCredentials = grpc.credentials.createSsl(ca, key, cert);
    } else {
      this.serverCredentials = grpc.ServerCredentials.createInsecure();
      this.channelCredentials = grpc.credentials.createInsecure();
    }
    if (options.channelCredentials) this.channelCredentials = options.channelCredentials;
    this.server.addService(RAFT_SERVICE, {
      stream: this.guard(this.handleStream),
      sendSnapshot: this.guard(this.handleSnapshot),
    });
  }

  /** New client credentials (a renewed certificate): peers are redialled with them. */
  setChannelCredentials(credentials: grpc.ChannelCredentials): void {
    this.channelCredentials = credentials;
    for (const peer of [...this.peers.values()]) {
      this.removePeer(peer.id);
      this.setPeer(peer.id, peer.address);
    }
  }

  /** Refuses calls that `authorize` rejects before any raft message is read. */
  private guard<Req>(
    handler: (call: grpc.ServerReadableStream<Req, Buffer>, callback: grpc.sendUnaryData<Buffer>) => void,
  ): (call: grpc.ServerReadableStream<Req, Buffer>, callback: grpc.sendUnaryData<Buffer>) => void {
    return (call, callback) => {
      const denied = this.authorize?.(call as grpc.ServerReadableStream<unknown, unknown>) ?? null;
      if (denied === null) return handler(call, callback);
      this.logger.warn({ peer: call.getPeer(), reason: denied }, 'refusing raft call');
      callback({ code: grpc.status.PERMISSION_DENIED, details: denied });
    };
  }

  /** The port actually bound (useful when `listen` asked for port 0); 0 before start(). */
  get port(): number {
    return this.boundPort;
  }

  setHandler(handler: TransportHandler): void {
    this.handler = handler;
  }

  start(): Promise<void> {
    if (!this.ownsServer) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.server.bindAsync(this.listen, this.serverCredentials, (err, port) => {
        if (err) {
          reject(new Error(`raft transport: cannot listen on ${this.listen}: ${err.message}`, { cause: err }));
          return;
        }
        this.boundPort = port;
        resolve();
      });
    });
  }

  setPeer(id: number, address: string): void {
    if (this.closed || id === this.id) return;
    const existing = this.peers.get(id);
    if (existing?.address === address) return;
    if (existing) this.removePeer(id);
    this.peers.set(id, new Peer(id, address, new grpc.Client(address, this.channelCredentials, this.channelOptions)));
  }

  removePeer(id: number): void {
    const peer = this.peers.get(id);
    if (!peer) return;
    this.peers.delete(id);
    this.disconnect(peer);
  }

  send(messages: Message[]): void {
    if (this.closed) return;
    for (const m of messages) {
      const peer = this.peers.get(m.to);
      if (!peer) {
        this.logger.debug({ to: m.to, type: MessageType[m.type] }, 'dropping message for unknown peer');
        continue;
      }
      if (m.type === MessageType.Snapshot) {
        this.sendSnapshot(peer, m);
        continue;
      }
      if (peer.queue.length >= MAX_QUEUED_MESSAGES) {
        if (!peer.overflowReported) {
          peer.overflowReported = true;
          this.logger.warn({ peer: peer.id, queued: peer.queue.length }, 'peer is not keeping up; dropping messages');
          this.notifyLater(() => this.handler?.onUnreachable(peer.id));
        }
        continue;
      }
      peer.queue.push(m);
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // One flush per event-loop turn: everything the driver sends in this turn shares a batch.
      setImmediate(() => {
        this.flushScheduled = false;
        for (const peer of this.peers.values()) this.flush(peer);
      });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const peer of this.peers.values()) this.disconnect(peer);
    this.peers.clear();
    if (!this.ownsServer) {
      this.server.removeService(RAFT_SERVICE);
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, CLOSE_GRACE_MS);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Writes the peer's queue as batches until it is empty or the stream pushes back. */
  private flush(peer: Peer): void {
    if (this.closed || peer.queue.length === 0 || peer.awaitingDrain || this.peers.get(peer.id) !== peer) return;
    const stream = this.streamTo(peer);
    if (stream === null) {
      this.logger.debug({ peer: peer.id, dropped: peer.queue.length }, 'peer stream is backing off; dropping messages');
      peer.queue = [];
      return;
    }
    while (peer.queue.length > 0) {
      const batch = this.takeBatch(peer);
      let bytes: Uint8Array;
      try {
        bytes = encodeMessageBatch(batch);
      } catch (err) {
        this.logger.error({ peer: peer.id, messages: batch.length, err: describeError(err) }, 'cannot encode raft messages; dropping them');
        continue;
      }
      if (!stream.write(asBuffer(bytes))) {
        this.logger.debug({ peer: peer.id, queued: peer.queue.length }, 'stream to peer is full; queueing until it drains');
        peer.awaitingDrain = true;
        stream.once('drain', () => {
          if (peer.stream !== stream) return;
          peer.awaitingDrain = false;
          this.flush(peer);
        });
        return;
      }
    }
    peer.overflowReported = false;
  }

  /** Takes the longest prefix of the queue within maxBatchBytes (at least one message). */
  private takeBatch(peer: Peer): Message[] {
    const queue = peer.queue;
    let size = estimatedSize(queue[0]);
    let n = 1;
    while (n < queue.length) {
      size += estimatedSize(queue[n]);
      if (size > this.maxBatchBytes) break;
      n++;
    }
    if (n === queue.length) {
      peer.queue = [];
      return queue;
    }
    return queue.splice(0, n);
  }

  /** The peer's open stream, a newly opened one, or null while backing off after a failure. */
  private streamTo(peer: Peer): grpc.ClientWritableStream<Buffer> | null {
    if (peer.stream !== null) return peer.stream;
    if (Date.now() < peer.retryAt) return null;
    const stream: grpc.ClientWritableStream<Buffer> = peer.client.makeClientStreamRequest<Buffer, Buffer>(
      STREAM_PATH, passBytes, passBytes, this.callMetadata(), {},
      (err) => this.streamClosed(peer, stream, err),
    );
    // The receiver sends headers as soon as it accepts the stream: the connection works again.
    stream.on('metadata', () => {
      peer.backoffMs = RECONNECT_BACKOFF_MIN_MS;
    });
    peer.stream = stream;
    return stream;
  }

  private streamClosed(peer: Peer, stream: grpc.ClientWritableStream<Buffer>, err: grpc.ServiceError | null): void {
    if (peer.stream !== stream) return; // replaced or shut down on purpose
    peer.stream = null;
    peer.awaitingDrain = false;
    const dropped = peer.queue.length;
    peer.queue = [];
    peer.retryAt = Date.now() + peer.backoffMs;
    peer.backoffMs = Math.min(peer.backoffMs * 2, RECONNECT_BACKOFF_MAX_MS);
    if (this.closed) return;
    this.logger.info(
      { peer: peer.id, address: peer.address, code: err?.code, details: err?.details, dropped, retryInMs: peer.retryAt - Date.now() },
      'stream to peer broke',
    );
    this.notify(() => this.handler?.onUnreachable(peer.id));
  }

  private sendSnapshot(peer: Peer, m: Message): void {
    const snapshot: Snapshot | null = m.snapshot;
    if (snapshot === null) {
      this.logger.error({ peer: peer.id }, 'snapshot message without a snapshot; not sent');
      this.notifyLater(() => this.handler?.onSnapshotStatus(peer.id, false));
      return;
    }
    const call: grpc.ClientWritableStream<SnapshotChunk> = peer.client.makeClientStreamRequest<SnapshotChunk, Buffer>(
      SEND_SNAPSHOT_PATH, serializeChunk, passBytes, this.callMetadata(), {},
      (err) => {
        peer.snapshotCalls.delete(call);
        if (this.closed) return;
        if (err) {
          this.logger.warn({ peer: peer.id, index: snapshot.metadata.index, code: err.code, details: err.details }, 'snapshot transfer failed');
        } else {
          this.logger.info({ peer: peer.id, index: snapshot.metadata.index, bytes: snapshot.data.byteLength }, 'snapshot sent');
        }
        this.notify(() => this.handler?.onSnapshotStatus(peer.id, err === null));
      },
    );
    peer.snapshotCalls.add(call);

    const data = snapshot.data;
    let offset = 0;
    const writeChunks = (): void => {
      for (;;) {
        const end = Math.min(offset + SNAPSHOT_CHUNK_BYTES, data.byteLength);
        const chunk: SnapshotChunk = {
          from: m.from, to: m.to, term: m.term,
          metadata: offset === 0 ? snapshot.metadata : null,
          offset, data: data.subarray(offset, end), last: end === data.byteLength,
        };
        offset = end;
        const more = call.write(chunk);
        if (chunk.last) {
          call.end();
          return;
        }
        if (!more) {
          call.once('drain', writeChunks);
          return;
        }
      }
    };
    writeChunks();
  }

  /** Stops everything in flight to a peer that is removed or when closing; nothing is reported for the streams. */
  private disconnect(peer: Peer): void {
    const stream = peer.stream;
    peer.stream = null;
    peer.queue = [];
    stream?.cancel();
    for (const call of peer.snapshotCalls) call.cancel();
    peer.client.close();
  }

  private callMetadata(): grpc.Metadata {
    const metadata = new grpc.Metadata();
    metadata.set(SENDER_METADATA_KEY, String(this.id));
    return metadata;
  }

  /** Runs a handler callback; a throwing handler is a bug to log, not a reason to break the stream it came from. */
  private notify(callback: () => void): void {
    try {
      callback();
    } catch (err) {
      this.logger.error({ err: describeError(err) }, 'raft transport handler threw');
    }
  }

  /** For outcomes known inside send(): the caller is in the middle of its own work, so it hears later. */
  private notifyLater(callback: () => void): void {
    setImmediate(() => {
      if (!this.closed) this.notify(callback);
    });
  }

  private readonly handleStream = (call: grpc.ServerReadableStream<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>): void => {
    const sender = senderOf(call.metadata);
    if (sender !== 0) this.inboundStreams.set(sender, (this.inboundStreams.get(sender) ?? 0) + 1);
    let finished = false;
    const finish = (how: string): void => {
      if (finished) return;
      finished = true;
      if (sender === 0) return;
      const open = (this.inboundStreams.get(sender) ?? 1) - 1;
      if (open > 0) {
        this.inboundStreams.set(sender, open);
        return;
      }
      this.inboundStreams.delete(sender);
      if (this.closed) return;
      this.logger.info({ peer: sender, how }, 'stream from peer ended');
      this.notify(() => this.handler?.onUnreachable(sender));
    };

    // Headers right away tell the sender the stream is accepted (it resets its reconnect backoff).
    call.sendMetadata(new grpc.Metadata());
    call.on('data', (bytes: Buffer) => this.receiveBatch(bytes, sender, call.getPeer()));
    call.on('end', () => {
      callback(null, EMPTY_ACK);
      finish('ended');
    });
    call.on('cancelled', () => finish('cancelled'));
    call.on('error', (err: Error) => finish(`failed: ${err.message}`));
  };

  private receiveBatch(bytes: Buffer, sender: number, remote: string): void {
    if (this.closed) return;
    let messages: Message[];
    try {
      messages = decodeMessageBatch(bytes);
    } catch (err) {
      this.logger.warn({ peer: sender, remote, bytes: bytes.byteLength, err: describeError(err) }, 'dropping undecodable message batch');
      return;
    }
    for (const m of messages) {
      const why = validateMessage(m);
      if (why !== null) {
        this.logger.warn({ peer: sender, remote, why }, 'dropping impossible message');
        continue;
      }
      if (m.to !== this.id) {
        this.logger.warn({ peer: sender, remote, to: m.to, type: MessageType[m.type] }, 'dropping message addressed to another node');
        continue;
      }
      this.notify(() => this.handler?.onMessage(m));
    }
  }

  private readonly handleSnapshot = (
    call: grpc.ServerReadableStream<SnapshotChunk, Buffer>,
    callback: grpc.sendUnaryData<Buffer>,
  ): void => {
    let first: SnapshotChunk | null = null;
    const parts: Uint8Array[] = [];
    let received = 0;
    let sawLast = false;
    let failed = false;
    const fail = (details: string): void => {
      if (failed) return;
      failed = true;
      parts.length = 0;
      this.logger.warn({ peer: senderOf(call.metadata), remote: call.getPeer(), details }, 'rejecting snapshot transfer');
      callback({ code: grpc.status.INVALID_ARGUMENT, details });
    };

    call.on('data', (chunk: SnapshotChunk) => {
      if (failed) return;
      if (sawLast) return fail('chunk after the last one');
      if (first === null) {
        if (chunk.offset !== 0 || chunk.metadata === null) return fail('first chunk lacks metadata or does not start at offset 0');
        first = chunk;
      } else if (chunk.from !== first.from || chunk.to !== first.to || chunk.term !== first.term) {
        return fail('chunk header differs from the first chunk');
      }
      if (chunk.offset !== received) return fail(`chunk at offset ${chunk.offset}, expected ${received}`);
      parts.push(chunk.data);
      received += chunk.data.byteLength;
      sawLast = chunk.last;
    });
    call.on('end', () => {
      if (failed) return;
      if (first === null || !sawLast) return fail('transfer ended before its last chunk');
      const data = new Uint8Array(received);
      let at = 0;
      for (const part of parts) {
        data.set(part, at);
        at += part.byteLength;
      }
      const message: Message = {
        ...emptyMessage(MessageType.Snapshot, first.from, first.to, first.term),
        snapshot: { metadata: first.metadata!, data },
      };
      const why = validateMessage(message);
      if (why !== null) return fail(why);
      if (message.to !== this.id) return fail(`snapshot addressed to node ${message.to}, this is node ${this.id}`);
      if (this.closed) return fail('node is shutting down');
      this.notify(() => this.handler?.onMessage(message));
      callback(null, EMPTY_ACK);
    });
    const abandon = (): void => {
      parts.length = 0;
    };
    call.on('cancelled', abandon);
    call.on('error', abandon);
  };
}
