// One member of a standalone Raft cluster: the real library (LevelStorage on disk with fsync,
// gRPC transport, optionally mutual TLS) replicating a small key-value map, with an HTTP API for
// clients. Used by the crash test, `npm run bench:raft` and `npm start` until the berth daemon
// embeds the same library behind the Engine API.
//
//   node dist/deploy/raft-member.js --id 1 --data-dir D --raft 127.0.0.1:7001 --api 127.0.0.1:8001 \
//        --members 1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003 [--tls-dir DIR] [--tick-ms 100]
//
// HTTP API (JSON): GET /status; PUT /kv/:key {value}; GET /kv/:key[?consistent=1]; GET /kv;
// POST /propose (raw bytes, for benchmarks); GET /log (index, term and CRC of every entry held).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { crc32 } from 'node:zlib';
import Fastify from 'fastify';
import pino from 'pino';
import { GrpcTransport } from '../manager/raft/grpc-transport.js';
import { LevelStorage } from '../manager/raft/level-storage.js';
import { RaftNode, StateMachine } from '../manager/raft/node.js';
import { RaftError } from '../manager/raft/errors.js';

/** First byte of an entry: a JSON put, or an opaque payload that is only counted (benchmarks). */
const PUT = 1;
const OPAQUE = 2;

class KvStateMachine implements StateMachine {
  kv = new Map<string, { value: string; index: number }>();
  opaqueCount = 0;

  apply(index: number, data: Uint8Array): unknown {
    if (data.byteLength === 0) return index; // a leader's empty entry or a membership change
    if (data[0] === PUT) {
      const { key, value } = JSON.parse(Buffer.from(data.subarray(1)).toString()) as { key: string; value: string };
      this.kv.set(key, { value, index });
    } else {
      this.opaqueCount++;
    }
    return index;
  }

  snapshot(): Uint8Array {
    return Buffer.from(JSON.stringify({ kv: [...this.kv], opaqueCount: this.opaqueCount }));
  }

  restore(data: Uint8Array): void {
    const parsed = data.byteLength ? JSON.parse(Buffer.from(data).toString()) : { kv: [], opaqueCount: 0 };
    this.kv = new Map(parsed.kv);
    this.opaqueCount = parsed.opaqueCount;
  }
}

function parseMembers(spec: string): { id: number; address: string }[] {
  return spec.split(',').map((part) => {
    const [id, address] = part.split('=');
    if (!/^\d+$/.test(id) || !address) throw new Error(`--members: expected id=host:port, got "${part}"`);
    return { id: Number(id), address };
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      id: { type: 'string' },
      'data-dir': { type: 'string' },
      raft: { type: 'string' },
      api: { type: 'string' },
      members: { type: 'string' },
      'tls-dir': { type: 'string' },
      'tick-ms': { type: 'string' },
      'log-level': { type: 'string', default: 'warn' },
    },
  });
  for (const required of ['id', 'data-dir', 'raft', 'api', 'members'] as const) {
    if (!values[required]) throw new Error(`--${required} is required`);
  }
  const id = Number(values.id);
  const logger = pino({ level: values['log-level'] }, pino.destination(2));
  const members = parseMembers(values.members!);
  const tls = values['tls-dir']
    ? {
        ca: readFileSync(join(values['tls-dir'], 'ca.crt')),
        cert: readFileSync(join(values['tls-dir'], `node-${id}.crt`)),
        key: readFileSync(join(values['tls-dir'], `node-${id}.key`)),
      }
    : undefined;

  const storage = await LevelStorage.open(values['data-dir']!);
  const transport = new GrpcTransport({ id, listen: values.raft!, tls, logger });
  const machine = new KvStateMachine();
  const node = await RaftNode.start({
    id, storage, transport, stateMachine: machine, bootstrap: members, logger,
    tickMs: values['tick-ms'] ? Number(values['tick-ms']) : undefined,
  });
  const apiOf = new Map(members.map((m) => [m.id, m.address]));

  const app = Fastify({ logger: false, bodyLimit: 2 * 1024 * 1024 });
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof RaftError) {
      const status = err.code === 'NOT_LEADER' ? 421 : err.code === 'PROPOSAL_TOO_LARGE' ? 413 : 503;
      return reply.code(status).send({ message: err.message, code: err.code, leader: node.leaderId, leaderRaftAddress: apiOf.get(node.leaderId) });
    }
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    return reply.code(status).send({ message: err instanceof Error ? err.message : String(err) });
  });

  app.get('/status', async () => {
    const s = node.status();
    return { id, role: s.role, term: s.term, leader: s.lead, commit: s.commit, applied: s.applied, firstIndex: s.firstIndex, lastIndex: s.lastIndex, voters: s.confState.voters };
  });
  app.put<{ Params: { key: string }; Body: { value?: unknown } }>('/kv/:key', async (req, reply) => {
    if (typeof req.body?.value !== 'string') return reply.code(400).send({ message: 'body must be {"value": "<string>"}' });
    const payload = Buffer.concat([Buffer.from([PUT]), Buffer.from(JSON.stringify({ key: req.params.key, value: req.body.value }))]);
    const { index } = await node.propose(payload);
    return { index };
  });
  app.get<{ Params: { key: string }; Querystring: { consistent?: string } }>('/kv/:key', async (req, reply) => {
    if (req.query.consistent) await node.readIndex();
    const entry = machine.kv.get(req.params.key);
    if (!entry) return reply.code(404).send({ message: `no key ${req.params.key}` });
    return entry;
  });
  app.get('/kv', async () => ({ applied: node.appliedIndex, kv: Object.fromEntries(machine.kv) }));
  app.post('/propose', async (req, reply) => {
    const body = req.body as Buffer;
    if (!Buffer.isBuffer(body) || body.length === 0) return reply.code(400).send({ message: 'send the entry as application/octet-stream' });
    const payload = Buffer.concat([Buffer.from([OPAQUE]), body]);
    const { index } = await node.propose(payload);
    return { index };
  });
  app.get('/log', async () => {
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    const entries: [number, number, number][] = [];
    for (let i = first; i <= last; i++) {
      const [e] = storage.entries(i, i + 1, Infinity);
      entries.push([e.index, e.term, crc32(e.data)]);
    }
    return { first, last, commit: node.status().commit, entries };
  });

  const [host, port] = splitHostPort(values.api!);
  await app.listen({ host, port });
  process.stdout.write(`ready ${id} raft=${values.raft} api=${values.api}\n`);

  const shutdown = async (): Promise<void> => {
    await app.close();
    await node.stop();
    await storage.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGINT', () => void shutdown());
  node.on('fatal', () => process.exit(1));
}

function splitHostPort(address: string): [string, number] {
  const at = address.lastIndexOf(':');
  return [address.slice(0, at), Number(address.slice(at + 1))];
}

main().catch((err) => {
  process.stderr.write(`raft-member: ${err instanceof Error ? err.message : err}\n`);
  process.exit(1);
});
