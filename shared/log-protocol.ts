// The log wire contract (proto/logbroker.proto): what a node publishes for a log subscription, what
// a follower manager asks the leader for, their codecs and the LogBroker gRPC methods. The agent's
// log publisher (worker/agent) and the manager's log broker (manager/logbroker) import this one
// module, as they import session-protocol.ts for the session itself.
//
// Messages travel as raw bytes and are decoded here by the receiver, so a malformed one ends its
// call with a clear INVALID_ARGUMENT.

import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { protoDir } from './proto.js';

export const PUBLISH_LOGS_PATH = '/berth.logbroker.LogBroker/PublishLogs';
export const SUBSCRIBE_LOGS_PATH = '/berth.logbroker.LogBroker/SubscribeLogs';

export type LogStreamName = 'stdout' | 'stderr';

/** Which lines of each task to read (proto LogOptions). */
export interface LogReadOptions {
  follow: boolean;
  /** The last N lines of each task; undefined means every line. */
  tail?: number;
  /** Lines captured at or after this instant, ms since the epoch; undefined means no bound. */
  sinceMs?: number;
  stdout: boolean;
  stderr: boolean;
}

/** What a request selects: every task of these services, and these tasks. */
export interface LogSelector {
  serviceIds: string[];
  taskIds: string[];
}

export interface LogContext {
  serviceId: string;
  nodeId: string;
  taskId: string;
}

/** One line of one task. */
export interface LogRecord {
  context: LogContext;
  /** RFC 3339 as the runtime stamped it (ms precision for the process executor). */
  time: string;
  stream: LogStreamName;
  /** Without its newline. */
  line: string;
}

/** What a node sends on PublishLogs (proto LogBatch); messages carry only context.taskId. */
export interface LogBatch {
  subscriptionId: string;
  messages: LogRecord[];
  endedTasks: string[];
  close: boolean;
}

export interface SubscribeLogsRequest {
  selector: LogSelector;
  options: LogReadOptions;
}

/** Sent over the agent session (proto LogSubscription in dispatcher.proto). */
export interface LogSubscriptionMessage {
  id: string;
  taskIds: string[];
  options: LogReadOptions;
  close: boolean;
}

const root = protobuf.loadSync(join(protoDir(), 'logbroker.proto'));
const LogBatchWire = root.lookupType('berth.logbroker.LogBatch');
const SubscribeLogsRequestWire = root.lookupType('berth.logbroker.SubscribeLogsRequest');
const SubscribeLogsMessageWire = root.lookupType('berth.logbroker.SubscribeLogsMessage');

/** int64 fields as numbers (times in ms and line counts stay far below 2^53), every field present. */
const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, defaults: true, enums: Number };

const STDOUT = 1;
const STDERR = 2;

// What toObject returns with TO_OBJECT.
export interface WireLogOptions { follow: boolean; tail: number; hasTail: boolean; sinceMs: number; stdout: boolean; stderr: boolean }
interface WireLogMessage { context: { serviceId: string; nodeId: string; taskId: string } | null; time: string; stream: number; data: Uint8Array }

export function logOptionsToWire(o: LogReadOptions): WireLogOptions {
  return {
    follow: o.follow, tail: o.tail ?? 0, hasTail: o.tail !== undefined, sinceMs: o.sinceMs ?? 0, stdout: o.stdout, stderr: o.stderr,
  };
}

export function logOptionsFromWire(w: WireLogOptions | null | undefined): LogReadOptions {
  if (!w) return { follow: false, stdout: false, stderr: false };
  const options: LogReadOptions = { follow: w.follow, stdout: w.stdout, stderr: w.stderr };
  if (w.hasTail) options.tail = Math.max(0, w.tail);
  if (w.sinceMs > 0) options.sinceMs = w.sinceMs;
  return options;
}

function recordToWire(r: LogRecord): WireLogMessage {
  return {
    context: { serviceId: r.context.serviceId, nodeId: r.context.nodeId, taskId: r.context.taskId },
    time: r.time,
    stream: r.stream === 'stderr' ? STDERR : STDOUT,
    data: Buffer.from(r.line, 'utf8'),
  };
}

/** A message whose stream is neither stdout nor stderr (a newer peer's) is dropped by the caller. */
function recordFromWire(w: WireLogMessage): LogRecord | null {
  if (w.stream !== STDOUT && w.stream !== STDERR) return null;
  const data = w.data;
  return {
    context: { serviceId: w.context?.serviceId ?? '', nodeId: w.context?.nodeId ?? '', taskId: w.context?.taskId ?? '' },
    time: w.time,
    stream: w.stream === STDERR ? 'stderr' : 'stdout',
    line: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'),
  };
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function recordsFromWire(list: WireLogMessage[]): LogRecord[] {
  const records: LogRecord[] = [];
  for (const w of list) {
    const record = recordFromWire(w);
    if (record) records.push(record);
  }
  return records;
}

export function encodeLogBatch(batch: LogBatch): Buffer {
  return toBuffer(LogBatchWire.encode(LogBatchWire.fromObject({
    subscriptionId: batch.subscriptionId,
    messages: batch.messages.map(recordToWire),
    endedTasks: batch.endedTasks,
    close: batch.close,
  })).finish());
}

/** Throws on bytes that are not a LogBatch. */
export function decodeLogBatch(bytes: Uint8Array): LogBatch {
  const w = LogBatchWire.toObject(LogBatchWire.decode(bytes), TO_OBJECT) as {
    subscriptionId: string; messages: WireLogMessage[]; endedTasks: string[]; close: boolean;
  };
  return { subscriptionId: w.subscriptionId, messages: recordsFromWire(w.messages), endedTasks: [...w.endedTasks], close: w.close };
}

export function encodeSubscribeLogsRequest(request: SubscribeLogsRequest): Buffer {
  return toBuffer(SubscribeLogsRequestWire.encode(SubscribeLogsRequestWire.fromObject({
    serviceIds: request.selector.serviceIds,
    taskIds: request.selector.taskIds,
    options: logOptionsToWire(request.options),
  })).finish());
}

/** Throws on bytes that are not a SubscribeLogsRequest. */
export function decodeSubscribeLogsRequest(bytes: Uint8Array): SubscribeLogsRequest {
  const w = SubscribeLogsRequestWire.toObject(SubscribeLogsRequestWire.decode(bytes), TO_OBJECT) as {
    serviceIds: string[]; taskIds: string[]; options: WireLogOptions | null;
  };
  return { selector: { serviceIds: [...w.serviceIds], taskIds: [...w.taskIds] }, options: logOptionsFromWire(w.options) };
}

export function encodeLogRecords(records: readonly LogRecord[]): Buffer {
  return toBuffer(SubscribeLogsMessageWire.encode(SubscribeLogsMessageWire.fromObject({ messages: records.map(recordToWire) })).finish());
}

/** Throws on bytes that are not a SubscribeLogsMessage. */
export function decodeLogRecords(bytes: Uint8Array): LogRecord[] {
  const w = SubscribeLogsMessageWire.toObject(SubscribeLogsMessageWire.decode(bytes), TO_OBJECT) as { messages: WireLogMessage[] };
  return recordsFromWire(w.messages);
}

const passBytes = (bytes: Buffer): Buffer => bytes;

/** The LogBroker service as grpc-js wants it for Server.addService; messages pass as bytes. */
export const LOG_BROKER_SERVICE: grpc.ServiceDefinition = {
  publishLogs: {
    path: PUBLISH_LOGS_PATH,
    requestStream: true,
    responseStream: false,
    requestSerialize: passBytes,
    requestDeserialize: passBytes,
    responseSerialize: passBytes,
    responseDeserialize: passBytes,
    originalName: 'PublishLogs',
  },
  subscribeLogs: {
    path: SUBSCRIBE_LOGS_PATH,
    requestStream: false,
    responseStream: true,
    requestSerialize: passBytes,
    requestDeserialize: passBytes,
    responseSerialize: passBytes,
    responseDeserialize: passBytes,
    originalName: 'SubscribeLogs',
  },
};
