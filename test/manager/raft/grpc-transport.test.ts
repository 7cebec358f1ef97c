import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { decodeMessageBatch, encodeMessageBatch } from '../../../manager/raft/codec.js';
import { GrpcTransport, GrpcTransportOptions } from '../../../manager/raft/grpc-transport.js';
import type { TransportHandler } from '../../../manager/raft/transport.js';
import { Entry, EntryType, Message, MessageType, emptyMessage } from '../../../manager/raft/types.js';

const LOOPBACK = '127.0.0.1';
const WAIT_MS = 8000;

/** Records what a transport reports and lets a test wait for a condition on it. */
class Recorder implements TransportHandler {
  readonly messages: Message[] = [];
  readonly unreachable: number[] = [];
  readonly snapshotStatus: Array<[number, boolean]> = [];
  private readonly waiters = new Set<() => void>();

  onMessage(message: Message): void {
    this.messages.push(message);
    this.wake();
  }

  onUnreachable(peer: number): void {
    this.unreachable.push(peer);
    this.wake();
  }

  onSnapshotStatus(peer: number, ok: boolean): void {
    this.snapshotStatus.push([peer, ok]);
    this.wake();
  }

  from(sender: number): Message[] {
    return this.messages.filter((m) => m.from === sender);
  }

  until(what: string, condition: () => boolean, timeoutMs = WAIT_MS): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!condition()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  private wake(): void {
    for (const check of [...this.waiters]) check();
  }
}

/** A logger whose lines the test can inspect. */
function captureLogger(level = 'debug'): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

const open: GrpcTransport[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

async function startNode(id: number, options: Partial<GrpcTransportOptions> = {}): Promise<{ transport: GrpcTransport; recorder: Recorder }> {
  const transport = new GrpcTransport({ id, listen: `${LOOPBACK}:0`, logger: captureLogger('silent').logger, ...options });
  const recorder = new Recorder();
  transport.setHandler(recorder);
  await transport.start();
  open.push(transport);
  return { transport, recorder };
}

function address(t: GrpcTransport): string {
  return `${LOOPBACK}:${t.port}`;
}

function connectAll(transports: GrpcTransport[]): void {
  for (const a of transports) for (const b of transports) if (a !== b) a.setPeer(b.id, address(b));
}

/** A heartbeat whose commit carries a sequence number, so order is checkable. */
function numbered(from: number, to: number, seq: number): Message {
  return { ...emptyMessage(MessageType.Heartbeat, from, to, 1), commit: seq };
}

function appendWithData(from: number, to: number, seq: number, bytes: number): Message {
  const entries: Entry[] = [{ term: 1, index: seq + 1, type: EntryType.Normal, data: new Uint8Array(bytes).fill(seq & 0xff) }];
  return { ...emptyMessage(MessageType.Append, from, to, 1), index: seq, logTerm: seq === 0 ? 0 : 1, entries, commit: seq };
}

function sequence(messages: Message[]): number[] {
  return messages.map((m) => m.commit);
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** A bare gRPC server for the Raft Stream method that records what arrives as raw batches. */
async function rawStreamServer(onCall?: (call: grpc.ServerReadableStream<Buffer, Buffer>) => void): Promise<{
  port: number; batches: Message[][]; senders: string[]; close: () => void;
}> {
  const server = new grpc.Server();
  const batches: Message[][] = [];
  const senders: string[] = [];
  const pass = (b: Buffer): Buffer => b;
  const definition: grpc.ServiceDefinition = {
    stream: {
      path: '/berth.raft.Raft/Stream', requestStream: true, responseStream: false,
      requestSerialize: pass, requestDeserialize: pass, responseSerialize: pass, responseDeserialize: pass,
    },
  };
  server.addService(definition, {
    stream: (call: grpc.ServerReadableStream<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      senders.push(String(call.metadata.get('berth-raft-from')[0]));
      call.on('data', (bytes: Buffer) => batches.push(decodeMessageBatch(bytes)));
      call.on('end', () => callback(null, Buffer.alloc(0)));
      call.on('error', () => undefined);
      onCall?.(call);
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${LOOPBACK}:0`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  return { port, batches, senders, close: () => server.forceShutdown() };
}

describe('GrpcTransport', () => {
  it('delivers messages between three nodes, in order per sender', async () => {
    const nodes = await Promise.all([1, 2, 3].map((id) => startNode(id)));
    connectAll(nodes.map((n) => n.transport));
    const [n1, n2, n3] = nodes;
    const perPeer = 300;

    // Spread over several event-loop turns, several send() calls per turn.
    for (let start = 0; start < perPeer; start += 50) {
      for (let i = start; i < start + 50; i += 10) {
        n1.transport.send(range(10).flatMap((k) => [numbered(1, 2, i + k), numbered(1, 3, i + k)]));
        n2.transport.send(range(10).map((k) => numbered(2, 3, i + k)));
      }
      await sleep(1);
    }
    n3.transport.send([numbered(3, 1, 0)]);

    await n2.recorder.until('300 messages at node 2', () => n2.recorder.messages.length === perPeer);
    await n3.recorder.until('600 messages at node 3', () => n3.recorder.messages.length === 2 * perPeer);
    await n1.recorder.until('1 message at node 1', () => n1.recorder.messages.length === 1);
    assert.deepEqual(sequence(n2.recorder.from(1)), range(perPeer));
    assert.deepEqual(sequence(n3.recorder.from(1)), range(perPeer));
    assert.deepEqual(sequence(n3.recorder.from(2)), range(perPeer));
    assert.deepEqual(n1.recorder.messages, [numbered(3, 1, 0)]);
    for (const { recorder } of nodes) assert.deepEqual(recorder.unreachable, []);
  });

  it('sends everything queued in one turn as one batch, and splits batches over maxBatchBytes', async () => {
    const raw = await rawStreamServer();
    try {
      const { transport } = await startNode(1, { maxBatchBytes: 64 * 1024 });
      transport.setPeer(2, `${LOOPBACK}:${raw.port}`);
      for (let i = 0; i < 100; i += 10) transport.send(range(10).map((k) => numbered(1, 2, i + k)));
      const deadline = Date.now() + WAIT_MS;
      while (raw.batches.length < 1 && Date.now() < deadline) await sleep(10);
      assert.equal(raw.batches.length, 1);
      assert.deepEqual(sequence(raw.batches[0]), range(100));
      assert.deepEqual(raw.senders, ['1']);

      // 40 appends of 10 KiB: about 400 KiB, so at least 7 batches of at most 64 KiB each.
      transport.send(range(40).map((i) => appendWithData(1, 2, i, 10 * 1024)));
      while (raw.batches.slice(1).flat().length < 40 && Date.now() < deadline) await sleep(10);
      const split = raw.batches.slice(1);
      assert.ok(split.length >= 7, `expected >= 7 batches, got ${split.length}`);
      for (const batch of split) assert.ok(batch.length <= 6, `batch of ${batch.length} appends exceeds 64 KiB`);
      assert.deepEqual(sequence(split.flat()), range(40));
    } finally {
      raw.close();
    }
  });

  it('keeps queueing while a slow receiver pushes back, and loses nothing', async () => {
    const raw = await rawStreamServer((call) => {
      call.pause();
      setTimeout(() => call.resume(), 400);
    });
    try {
      const { logger, lines } = captureLogger();
      const { transport } = await startNode(1, { logger, maxBatchBytes: 64 * 1024 });
      transport.setPeer(2, `${LOOPBACK}:${raw.port}`);
      const total = 400;
      for (let i = 0; i < total; i += 4) {
        transport.send(range(4).map((k) => appendWithData(1, 2, i + k, 16 * 1024)));
        await new Promise((resolve) => setImmediate(resolve));
      }
      const deadline = Date.now() + WAIT_MS;
      while (raw.batches.flat().length < total && Date.now() < deadline) await sleep(10);
      assert.deepEqual(sequence(raw.batches.flat()), range(total));
      assert.ok(lines.some((l) => String(l.msg).includes('queueing until it drains')), 'the stream never pushed back');
    } finally {
      raw.close();
    }
  });

  it('transfers a 3 MiB snapshot in chunks and reports success', async () => {
    const [n1, n2] = await Promise.all([startNode(1), startNode(2)]);
    connectAll([n1.transport, n2.transport]);
    const data = new Uint8Array(randomBytes(3 * 1024 * 1024 + 123));
    const metadata = { index: 5000, term: 7, confState: { voters: [1, 2, 3], learners: [9] } };
    n1.transport.send([
      numbered(1, 2, 0),
      { ...emptyMessage(MessageType.Snapshot, 1, 2, 7), snapshot: { metadata, data } },
      numbered(1, 2, 1),
    ]);
    await n1.recorder.until('snapshot status', () => n1.recorder.snapshotStatus.length === 1);
    assert.deepEqual(n1.recorder.snapshotStatus, [[2, true]]);
    await n2.recorder.until('three messages', () => n2.recorder.messages.length === 3);
    const received = n2.recorder.messages.find((m) => m.type === MessageType.Snapshot);
    assert.ok(received?.snapshot);
    assert.deepEqual(received.snapshot.metadata, metadata);
    assert.equal(received.snapshot.data.byteLength, data.byteLength);
    assert.ok(Buffer.from(received.snapshot.data).equals(Buffer.from(data)), 'snapshot data differs');
    assert.deepEqual({ ...received, snapshot: null }, emptyMessage(MessageType.Snapshot, 1, 2, 7));
    assert.deepEqual(sequence(n2.recorder.messages.filter((m) => m.type === MessageType.Heartbeat)), [0, 1]);
  });

  it('reports a failed snapshot transfer', async () => {
    const { transport, recorder } = await startNode(1);
    const stopped = await startNode(2);
    transport.setPeer(2, address(stopped.transport));
    await stopped.transport.close();
    const snapshot = { metadata: { index: 10, term: 1, confState: { voters: [1, 2], learners: [] } }, data: new Uint8Array(10) };
    transport.send([{ ...emptyMessage(MessageType.Snapshot, 1, 2, 1), snapshot }]);
    await recorder.until('snapshot status', () => recorder.snapshotStatus.length === 1);
    assert.deepEqual(recorder.snapshotStatus, [[2, false]]);
  });

  it('reports a peer that goes away as unreachable, on both the sending and the receiving side', async () => {
    const [n1, n2, n3] = await Promise.all([startNode(1), startNode(2), startNode(3)]);
    connectAll([n1.transport, n2.transport, n3.transport]);
    n1.transport.send([numbered(1, 2, 0), numbered(1, 3, 0)]);
    n2.transport.send([numbered(2, 1, 0)]);
    await n2.recorder.until('message at 2', () => n2.recorder.messages.length === 1);
    await n3.recorder.until('message at 3', () => n3.recorder.messages.length === 1);
    await n1.recorder.until('message at 1', () => n1.recorder.messages.length === 1);

    // Node 2 stops: node 1's stream to it breaks, and so does node 2's stream into node 1.
    await n2.transport.close();
    await n1.recorder.until('node 1 to notice node 2', () => n1.recorder.unreachable.includes(2));
    // Reported once per broken stream, not once per message: at most node 1's stream out, node 2's
    // stream in, and the one reconnect attempt that these 20 messages (one flush) trigger.
    n1.transport.send(range(20).map((i) => numbered(1, 2, i)));
    await sleep(200);
    const reports = n1.recorder.unreachable.filter((p) => p === 2).length;
    assert.ok(reports <= 3, `node 2 reported unreachable ${reports} times`);

    // Node 1 stops: node 3, which only ever received from it, notices through the inbound stream.
    await n1.transport.close();
    await n3.recorder.until('node 3 to notice node 1', () => n3.recorder.unreachable.includes(1));
    assert.deepEqual(n3.recorder.unreachable, [1]);
  });

  it('notices a peer that goes silent without closing its connection (keepalive)', async () => {
    const [n1, n2] = await Promise.all([startNode(1), startNode(2)]);
    // A TCP relay between node 1 and node 2 that can stop forwarding while keeping both sockets open,
    // like a peer that hangs or a network that drops packets.
    const sockets: net.Socket[] = [];
    let frozen = false;
    const relay = net.createServer((inbound) => {
      const outbound = net.connect(n2.transport.port, LOOPBACK);
      sockets.push(inbound, outbound);
      inbound.on('data', (chunk) => void (frozen || outbound.write(chunk)));
      outbound.on('data', (chunk) => void (frozen || inbound.write(chunk)));
      inbound.on('error', () => undefined);
      outbound.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => relay.listen(0, LOOPBACK, resolve));
    try {
      n1.transport.setPeer(2, `${LOOPBACK}:${(relay.address() as net.AddressInfo).port}`);
      n1.transport.send([numbered(1, 2, 0)]);
      await n2.recorder.until('the first message', () => n2.recorder.messages.length === 1);
      frozen = true;
      const frozenAt = Date.now();
      await n1.recorder.until('the sender to notice', () => n1.recorder.unreachable.includes(2));
      await n2.recorder.until('the receiver to notice', () => n2.recorder.unreachable.includes(1));
      assert.ok(Date.now() - frozenAt < 6000, `took ${Date.now() - frozenAt} ms`);
    } finally {
      for (const socket of sockets) socket.destroy();
      relay.close();
    }
  });

  it('reconnects to a restarted peer after backing off', async () => {
    const n1 = await startNode(1);
    let n2 = await startNode(2);
    const port = n2.transport.port;
    n1.transport.setPeer(2, address(n2.transport));
    n1.transport.send([numbered(1, 2, 0)]);
    await n2.recorder.until('first message', () => n2.recorder.messages.length === 1);

    await n2.transport.close();
    await n1.recorder.until('unreachable', () => n1.recorder.unreachable.includes(2));
    n2 = await startNode(2, { listen: `${LOOPBACK}:${port}` });
    let seq = 1;
    const deadline = Date.now() + WAIT_MS;
    while (n2.recorder.messages.length === 0 && Date.now() < deadline) {
      n1.transport.send([numbered(1, 2, seq++)]);
      await sleep(20);
    }
    assert.ok(n2.recorder.messages.length > 0, 'no message reached the restarted peer');
  });

  it('never throws for unknown peers, itself, or after close', async () => {
    const { transport } = await startNode(1);
    transport.setPeer(1, `${LOOPBACK}:1`);
    transport.send([numbered(1, 42, 0), numbered(1, 1, 0)]);
    transport.removePeer(42);
    await sleep(20);
    await transport.close();
    transport.send([numbered(1, 2, 0)]);
    await transport.close();
  });

  it('drops garbage and impossible messages without harm', async () => {
    const { logger, lines } = captureLogger('warn');
    const target = await startNode(2, { logger });
    const client = new grpc.Client(address(target.transport), grpc.credentials.createInsecure());
    try {
      const pass = (b: Buffer): Buffer => b;
      const metadata = new grpc.Metadata();
      metadata.set('berth-raft-from', '1');
      const stream = client.makeClientStreamRequest<Buffer, Buffer>('/berth.raft.Raft/Stream', pass, pass, metadata, () => undefined);
      stream.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])); // not protobuf
      stream.write(Buffer.from([0x0a, 0x7f, 0x08])); // a truncated batch
      stream.write(Buffer.from(encodeMessageBatch([
        numbered(0, 2, 1), // no sender
        { ...numbered(1, 2, 2), type: 77 as MessageType }, // unknown type
        { ...appendWithData(1, 2, 5, 4), entries: [{ term: 9, index: 6, type: EntryType.Normal, data: new Uint8Array(1) }] }, // entry term above message term
        numbered(1, 5, 3), // addressed to node 5
        numbered(1, 2, 4), // fine
      ])));
      await target.recorder.until('the valid message', () => target.recorder.messages.length === 1);
      assert.deepEqual(target.recorder.messages, [numbered(1, 2, 4)]);
      const reasons = lines.map((l) => String(l.msg));
      assert.equal(reasons.filter((r) => r === 'dropping undecodable message batch').length, 2);
      assert.equal(reasons.filter((r) => r === 'dropping impossible message').length, 3);
      assert.equal(reasons.filter((r) => r === 'dropping message addressed to another node').length, 1);

      // Garbage on the snapshot call fails that call only.
      const status = await new Promise<grpc.ServiceError | null>((resolve) => {
        const call = client.makeClientStreamRequest<Buffer, Buffer>('/berth.raft.Raft/SendSnapshot', pass, pass, metadata, (err) => resolve(err));
        call.write(Buffer.from([0xff, 0xff, 0xff]));
        call.end();
      });
      assert.ok(status, 'a garbage snapshot chunk was accepted');

      // The same stream, and the node, still work.
      stream.write(Buffer.from(encodeMessageBatch([numbered(1, 2, 5)])));
      await target.recorder.until('a later message', () => target.recorder.messages.length === 2);
      stream.end();
    } finally {
      client.close();
    }
  });

  describe('mutual TLS', () => {
    let certDir = '';
    const pem = (name: string): Buffer => fs.readFileSync(path.join(certDir, name));
    const tlsFor = (node: string, ca = 'ca'): GrpcTransportOptions['tls'] => ({
      ca: pem(`${ca}.crt`), cert: pem(`${node}.crt`), key: pem(`${node}.key`),
    });

    before(() => {
      certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-grpc-transport-'));
      const openssl = (...args: string[]): void => {
        execFileSync('openssl', args, { cwd: certDir, stdio: 'pipe' });
      };
      fs.writeFileSync(path.join(certDir, 'node.ext'), [
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        'basicConstraints=CA:FALSE',
        'keyUsage=critical,digitalSignature',
        'extendedKeyUsage=serverAuth,clientAuth',
      ].join('\n'));
      const ca = (name: string): void => {
        openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`);
        openssl('req', '-x509', '-new', '-key', `${name}.key`, '-sha256', '-days', '1', '-subj', `/CN=${name}`,
          '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', `${name}.crt`);
      };
      const node = (name: string, signer: string): void => {
        openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`);
        openssl('req', '-new', '-key', `${name}.key`, '-subj', `/CN=${name}`, '-out', `${name}.csr`);
        openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${signer}.crt`, '-CAkey', `${signer}.key`, '-CAcreateserial',
          '-days', '1', '-sha256', '-extfile', 'node.ext', '-out', `${name}.crt`);
      };
      ca('ca');
      ca('other-ca');
      node('node1', 'ca');
      node('node2', 'ca');
      node('rogue', 'other-ca');
    });

    after(() => {
      fs.rmSync(certDir, { recursive: true, force: true });
    });

    it('exchanges messages between nodes with certificates from the cluster CA', async () => {
      const n1 = await startNode(1, { tls: tlsFor('node1') });
      const n2 = await startNode(2, { tls: tlsFor('node2') });
      connectAll([n1.transport, n2.transport]);
      n1.transport.send(range(5).map((i) => numbered(1, 2, i)));
      n2.transport.send([numbered(2, 1, 0)]);
      await n2.recorder.until('messages at 2', () => n2.recorder.messages.length === 5);
      await n1.recorder.until('message at 1', () => n1.recorder.messages.length === 1);
      assert.deepEqual(sequence(n2.recorder.messages), range(5));
    });

    it('lets no message in over plaintext', async () => {
      const server = await startNode(2, { tls: tlsFor('node2') });
      const plaintext = await startNode(1);
      plaintext.transport.setPeer(2, address(server.transport));
      plaintext.transport.send([numbered(1, 2, 0)]);
      await plaintext.recorder.until('the plaintext client to give up', () => plaintext.recorder.unreachable.includes(2));
      await sleep(200);
      assert.deepEqual(server.recorder.messages, []);
    });

    it('refuses a client whose certificate comes from another CA', async () => {
      const server = await startNode(2, { tls: tlsFor('node2') });
      // Trusts the cluster CA (so the failure is the server refusing it), presents a foreign certificate.
      const rogue = await startNode(1, { tls: tlsFor('rogue') });
      rogue.transport.setPeer(2, address(server.transport));
      rogue.transport.send([numbered(1, 2, 0)]);
      await rogue.recorder.until('the rogue client to be refused', () => rogue.recorder.unreachable.includes(2));
      await sleep(200);
      assert.deepEqual(server.recorder.messages, []);
    });
  });
});
