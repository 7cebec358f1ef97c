// /services/{id}/logs and /tasks/{id}/logs: task output, streamed from the nodes through the
// leader's log broker (ClusterBackend.logs), framed as dockerd frames swarm logs (catalog §5.8):
// one line per frame of the multiplexed stream (raw for a TTY service), with details=1 the
// `com.docker.swarm.node.id=…,com.docker.swarm.service.id=…,com.docker.swarm.task.id=… ` context
// the docker CLI needs for its `name.slot.task@node | ` prefix, with timestamps=1 the
// RFC3339Nano time first.
//
// Everything that can be refused is checked before the 200 goes out (dockerd's order: the
// streams, then the service or task, then tail and since); after that the response only ends —
// when a request that does not follow has every line, or when the client goes away.

import { once } from 'node:events';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { apiError } from '../../../shared/errors.js';
import { MULTIPLEXED_STREAM_CONTENT_TYPE, RAW_STREAM_CONTENT_TYPE, encodeFrame } from '../../../shared/log-frames.js';
import type { LogReadOptions, LogRecord, LogSelector } from '../../../shared/log-protocol.js';
import type { ClusterBackend } from '../backend.js';
import { requireManagerForReads } from '../manager-access.js';
import { BOOLEAN_QUERY_SCHEMA, queryBool } from '../query-params.js';
import { setEngineHeaders } from '../response-headers.js';

interface LogsQuery {
  details?: string;
  follow?: string;
  stdout?: string;
  stderr?: string;
  timestamps?: string;
  since?: string;
  tail?: string;
}

const LOGS_QUERY_SCHEMA = {
  type: 'object',
  properties: {
    details: BOOLEAN_QUERY_SCHEMA,
    follow: BOOLEAN_QUERY_SCHEMA,
    stdout: BOOLEAN_QUERY_SCHEMA,
    stderr: BOOLEAN_QUERY_SCHEMA,
    timestamps: BOOLEAN_QUERY_SCHEMA,
    since: { type: 'string' },
    tail: { type: 'string' },
  },
} as const;

// ---- query values, as dockerd reads them

/** `tail`: "all" (or nothing) for every line, else a count of lines per task. */
export function parseTail(raw: string | undefined): number | undefined {
  const text = (raw ?? '').trim();
  if (text === '' || text === 'all') return undefined;
  if (/^-\d+$/.test(text)) throw apiError('BAD_REQUEST', { reason: 'negative tail values not supported' });
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw apiError('BAD_REQUEST', { reason: 'tail value must be a positive integer or "all"' });
  }
  return Number(text);
}

/**
 * `since`: unix seconds with an optional fraction (`1700000000.123456789`, what the docker CLI
 * sends), or an RFC 3339 time; ms since the epoch, undefined for none (0 too, as in dockerd).
 */
export function parseSince(raw: string | undefined): number | undefined {
  const text = (raw ?? '').trim();
  if (text === '') return undefined;
  const unix = /^(-?\d+)(?:\.(\d{1,9}))?$/.exec(text);
  let ms: number;
  if (unix) {
    const fraction = (unix[2] ?? '').padEnd(3, '0').slice(0, 3);
    ms = Number(unix[1]) * 1000 + (unix[1].startsWith('-') ? -1 : 1) * Number(fraction);
  } else if (/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i.test(text)) {
    ms = Date.parse(text);
  } else {
    ms = Number.NaN;
  }
  if (!Number.isFinite(ms)) {
    throw apiError('BAD_REQUEST', { reason: `could not parse since timestamp: ${JSON.stringify(text)} is neither unix seconds (such as 1700000000.5) nor an RFC 3339 time` });
  }
  return ms > 0 ? ms : undefined;
}

// ---- rendering, as dockerd's WriteLogStream

/** Go's url.QueryEscape: what dockerd applies to each detail's key and value. */
export function goQueryEscape(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Go's RFC3339NanoFixed in UTC (`2026-11-22T13:15:50.266372051Z`) for a runtime's RFC 3339 time. */
export function rfc3339NanoFixed(time: string): string {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/i.exec(time);
  if (!m) return time;
  const fraction = (m[2] ?? '').padEnd(9, '0').slice(0, 9);
  if (m[3].toUpperCase() === 'Z') return `${m[1]}.${fraction}Z`;
  const utc = new Date(Date.parse(`${m[1]}${m[3]}`)).toISOString().slice(0, 19);
  return `${utc}.${fraction}Z`;
}

export interface RenderOptions {
  details: boolean;
  timestamps: boolean;
}

/** One line's payload: [time ][details ]line\n. */
export function renderLogLine(record: LogRecord, options: RenderOptions): Buffer {
  let text = options.timestamps ? `${rfc3339NanoFixed(record.time)} ` : '';
  if (options.details) {
    const { nodeId, serviceId, taskId } = record.context;
    text += `com.docker.swarm.node.id=${goQueryEscape(nodeId)},com.docker.swarm.service.id=${goQueryEscape(serviceId)},`
      + `com.docker.swarm.task.id=${goQueryEscape(taskId)} `;
  }
  return Buffer.from(`${text}${record.line}\n`, 'utf8');
}

// ---- the routes

async function serveLogs(kind: 'service' | 'task', request: FastifyRequest<{ Params: { id: string }; Querystring: LogsQuery }>,
  reply: FastifyReply, backend: ClusterBackend): Promise<void> {
  const query = request.query;
  const stdout = queryBool(query.stdout);
  const stderr = queryBool(query.stderr);
  if (!stdout && !stderr) throw apiError('BAD_REQUEST', { reason: 'Bad parameters: you must choose at least one stream' });
  const { store } = await requireManagerForReads(backend);
  let selector: LogSelector;
  let tty: boolean;
  if (kind === 'service') {
    const service = store.lookup('service', request.params.id);
    selector = { serviceIds: [service.ID], taskIds: [] };
    const template = service.Spec.TaskTemplate as { ContainerSpec?: { TTY?: boolean } } | undefined;
    tty = template?.ContainerSpec?.TTY === true;
  } else {
    const task = store.lookup('task', request.params.id);
    selector = { serviceIds: [], taskIds: [task.ID] };
    tty = (task.Spec as { ContainerSpec?: { TTY?: boolean } }).ContainerSpec?.TTY === true;
  }
  const options: LogReadOptions = {
    follow: queryBool(query.follow), tail: parseTail(query.tail), sinceMs: parseSince(query.since), stdout, stderr,
  };
  const render: RenderOptions = { details: queryBool(query.details), timestamps: queryBool(query.timestamps) };
  if (!backend.logs) throw apiError('NOT_SUPPORTED', { feature: 'task logs', reason: 'this daemon has no log broker' });

  const res = reply.raw;
  const abort = new AbortController();
  // The client going away ends the subscription, on whichever manager it lives.
  res.once('close', () => abort.abort());
  const batches = await backend.logs({ selector, options }, abort.signal);

  reply.hijack();
  setEngineHeaders(reply, backend.systemInfo().osType);
  const headers: Record<string, string | number | string[]> = {};
  for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) headers[name] = value;
  headers['content-type'] = tty ? RAW_STREAM_CONTENT_TYPE : MULTIPLEXED_STREAM_CONTENT_TYPE;
  res.writeHead(200, headers);
  // Headers now, as dockerd flushes them: a following client waits on them before any line.
  res.flushHeaders();
  try {
    for await (const records of batches) {
      for (const record of records) {
        const payload = renderLogLine(record, render);
        const chunk = tty ? payload : encodeFrame(record.stream, payload);
        if (!res.write(chunk)) await once(res, 'drain', { signal: abort.signal });
      }
      if (abort.signal.aborted) break;
    }
  } catch (error) {
    if (!abort.signal.aborted) request.log.warn({ err: error }, 'streaming logs failed');
  } finally {
    abort.abort();
    res.end();
  }
}

export function registerLogRoutes(app: FastifyInstance, backend: ClusterBackend): void {
  app.get<{ Params: { id: string }; Querystring: LogsQuery }>('/services/:id/logs', {
    schema: { querystring: LOGS_QUERY_SCHEMA },
  }, (request, reply) => serveLogs('service', request, reply, backend));

  app.get<{ Params: { id: string }; Querystring: LogsQuery }>('/tasks/:id/logs', {
    schema: { querystring: LOGS_QUERY_SCHEMA },
  }, (request, reply) => serveLogs('task', request, reply, backend));
}
