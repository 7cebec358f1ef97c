// The agent ↔ dispatcher wire contract (proto/dispatcher.proto): message shapes, their codec and
// the gRPC method both sides bind to. The agent and the manager's dispatcher import this one
// module so the two cannot drift apart; it belongs in shared/ once that folder holds proto code.
//
// Messages travel as raw bytes through gRPC and are decoded here, by the receiver: a message that
// fails to decode then ends its session with a clear INVALID_ARGUMENT instead of gRPC's generic
// INTERNAL, and a message kind this version does not know decodes as { kind: 'unrecognized' }
// (a newer peer's), which receivers ignore.

import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { protoDir } from './proto.js';
import type { NodeDescription } from '../worker/node-description.js';

/** Where the schema lives relative to the repository root (the same from dist/ and from source). */

export const SESSION_PATH = '/berth.dispatcher.Dispatcher/Session';

/**
 * The shortest heartbeat period either side honours. Below it heartbeats would cost more than
 * they tell: the grace period is dominated by its fixed slack and timer jitter anyway.
 */
export const MIN_HEARTBEAT_PERIOD_MS = 100;

/** A manager an agent may connect to; addr serves the Dispatcher service. */
export interface ManagerInfo {
  nodeId: string;
  addr: string;
}

export interface RegisterMessage {
  nodeId: string;
  description: NodeDescription;
  /** Empty: use the address the connection came from. */
  addr: string;
}

export type AgentMessage =
  | { kind: 'register'; register: RegisterMessage }
  | { kind: 'heartbeat' }
  /** A kind added by a newer agent; ignored. */
  | { kind: 'unrecognized' };

export interface SessionAckMessage {
  sessionId: string;
  heartbeatPeriodMs: number;
  managers: ManagerInfo[];
}

export type DispatcherMessage =
  | { kind: 'sessionAck'; sessionAck: SessionAckMessage }
  | { kind: 'notLeader'; notLeader: { leaderAddr: string; managers: ManagerInfo[] } }
  | { kind: 'managersChanged'; managersChanged: { managers: ManagerInfo[] } }
  | { kind: 'roleChanged'; roleChanged: { role: 'manager' | 'worker' } }
  /** A kind added by a newer dispatcher; ignored. */
  | { kind: 'unrecognized' };

/** Walks up from this file until a directory holds the schema: works from dist/ and from source. */

const root = protobuf.loadSync(join(protoDir(), 'dispatcher.proto'));
const AgentMessageWire = root.lookupType('berth.dispatcher.AgentMessage');
const DispatcherMessageWire = root.lookupType('berth.dispatcher.DispatcherMessage');

/** int64 fields as numbers (sizes and CPU counts stay far below 2^53), every field present. */
const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, defaults: true, oneofs: true };

// What toObject returns with TO_OBJECT; `message` names the oneof member that is set, if any.
interface WireManager { nodeId: string; addr: string }
interface WireDescription {
  hostname: string; os: string; arch: string; nanoCpus: number; memoryBytes: number;
  engineVersion: string; engineLabels: Record<string, string>;
}
interface WireAgentMessage {
  message?: string;
  register?: { nodeId: string; description: WireDescription | null; addr: string };
}
interface WireDispatcherMessage {
  message?: string;
  sessionAck?: { sessionId: string; heartbeatPeriodMs: number; managers: WireManager[] };
  notLeader?: { leaderAddr: string; managers: WireManager[] };
  managersChanged?: { managers: WireManager[] };
  roleChanged?: { role: string };
}

const EMPTY_DESCRIPTION: NodeDescription = {
  hostname: '', os: '', arch: '', nanoCpus: 0, memoryBytes: 0, engineVersion: '', engineLabels: {},
};

function managersFromWire(list: WireManager[]): ManagerInfo[] {
  return list.map((m) => ({ nodeId: m.nodeId, addr: m.addr }));
}

function descriptionFromWire(w: WireDescription | null): NodeDescription {
  if (w === null) return { ...EMPTY_DESCRIPTION, engineLabels: {} };
  return {
    hostname: w.hostname, os: w.os, arch: w.arch, nanoCpus: w.nanoCpus, memoryBytes: w.memoryBytes,
    engineVersion: w.engineVersion, engineLabels: { ...w.engineLabels },
  };
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function encodeAgentMessage(message: AgentMessage): Buffer {
  switch (message.kind) {
    case 'register':
      return toBuffer(AgentMessageWire.encode(AgentMessageWire.fromObject({ register: message.register })).finish());
    case 'heartbeat':
      return toBuffer(AgentMessageWire.encode({ heartbeat: {} }).finish());
    case 'unrecognized':
      throw new Error('an unrecognized agent message cannot be encoded');
  }
}

/** Throws on bytes that are not an AgentMessage. */
export function decodeAgentMessage(bytes: Uint8Array): AgentMessage {
  const w = AgentMessageWire.toObject(AgentMessageWire.decode(bytes), TO_OBJECT) as WireAgentMessage;
  if (w.message === 'register' && w.register) {
    const r = w.register;
    return { kind: 'register', register: { nodeId: r.nodeId, description: descriptionFromWire(r.description), addr: r.addr } };
  }
  if (w.message === 'heartbeat') return { kind: 'heartbeat' };
  return { kind: 'unrecognized' };
}

export function encodeDispatcherMessage(message: DispatcherMessage): Buffer {
  if (message.kind === 'unrecognized') throw new Error('an unrecognized dispatcher message cannot be encoded');
  const { kind, ...body } = message;
  return toBuffer(DispatcherMessageWire.encode(DispatcherMessageWire.fromObject(body)).finish());
}

/** Throws on bytes that are not a DispatcherMessage. */
export function decodeDispatcherMessage(bytes: Uint8Array): DispatcherMessage {
  const w = DispatcherMessageWire.toObject(DispatcherMessageWire.decode(bytes), TO_OBJECT) as WireDispatcherMessage;
  switch (w.message) {
    case 'sessionAck': {
      const a = w.sessionAck!;
      return { kind: 'sessionAck', sessionAck: { sessionId: a.sessionId, heartbeatPeriodMs: a.heartbeatPeriodMs, managers: managersFromWire(a.managers) } };
    }
    case 'notLeader': {
      const n = w.notLeader!;
      return { kind: 'notLeader', notLeader: { leaderAddr: n.leaderAddr, managers: managersFromWire(n.managers) } };
    }
    case 'managersChanged':
      return { kind: 'managersChanged', managersChanged: { managers: managersFromWire(w.managersChanged!.managers) } };
    case 'roleChanged': {
      const role = w.roleChanged!.role;
      return role === 'manager' || role === 'worker' ? { kind: 'roleChanged', roleChanged: { role } } : { kind: 'unrecognized' };
    }
    default:
      return { kind: 'unrecognized' };
  }
}

const passBytes = (bytes: Buffer): Buffer => bytes;

/** The Dispatcher service as grpc-js wants it for Server.addService; messages pass as bytes. */
export const DISPATCHER_SERVICE: grpc.ServiceDefinition = {
  session: {
    path: SESSION_PATH,
    requestStream: true,
    responseStream: true,
    requestSerialize: passBytes,
    requestDeserialize: passBytes,
    responseSerialize: passBytes,
    responseDeserialize: passBytes,
    originalName: 'Session',
  },
};
