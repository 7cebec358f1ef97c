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
import type { LogSubscriptionMessage, WireLogOptions } from './log-protocol.js';
import { logOptionsFromWire, logOptionsToWire } from './log-protocol.js';

export type { LogSubscriptionMessage } from './log-protocol.js';

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

/** A published port as Docker shows it in a task's Status.PortStatus.Ports. */
export interface PortStatus {
  Protocol: string;
  TargetPort: number;
  PublishedPort: number;
  PublishMode: 'host';
}

/**
 * One observed task state change (proto TaskStatusUpdate). `state` is a task state name; the
 * receiver checks it, as it checks that the task is the sender's.
 */
export interface TaskStatusUpdate {
  taskId: string;
  state: string;
  /** Status.Message; '' when none. */
  message: string;
  /** Status.Err; '' when none. */
  err: string;
  /** ContainerStatus.ExitCode; null when unknown or not exited. */
  exitCode: number | null;
  /** When the agent observed it, ms since the epoch. */
  timestampMs: number;
  /** ContainerStatus.ContainerID (the PID as text for the process executor); '' when none. */
  runtimeId: string;
  /** ContainerStatus.PID; 0 when none. */
  pid: number;
  /** Status.PortStatus.Ports: host-mode ports bound for the task (with 'running'); absent when none. */
  ports?: PortStatus[];
}

/**
 * A task as the Engine API shows it (the store's Task); only the fields the agent reads are
 * named. It travels as JSON, so everything else comes along untouched.
 */
export interface AssignedTask {
  ID: string;
  ServiceID?: string;
  Slot?: number;
  NodeID?: string;
  DesiredState: string;
  Spec: Record<string, unknown>;
  Status?: { State?: string; [field: string]: unknown };
  [field: string]: unknown;
}

/** Full: the node's whole set (removed is empty). Otherwise an increment: tasks added or changed, IDs no longer assigned. */
export interface AssignmentsMessage {
  full: boolean;
  tasks: AssignedTask[];
  removed: string[];
}

export type AgentMessage =
  | { kind: 'register'; register: RegisterMessage }
  | { kind: 'heartbeat' }
  | { kind: 'taskStatuses'; taskStatuses: { updates: TaskStatusUpdate[] } }
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
  | { kind: 'assignments'; assignments: AssignmentsMessage }
  | { kind: 'logSubscription'; logSubscription: LogSubscriptionMessage }
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
interface WirePortStatus { protocol: string; targetPort: number; publishedPort: number; publishMode: string }
interface WireTaskStatusUpdate {
  taskId: string; state: string; message: string; err: string; exitCode: number; hasExitCode: boolean;
  timestampMs: number; runtimeId: string; pid: number; ports: WirePortStatus[];
}
interface WireAgentMessage {
  message?: string;
  register?: { nodeId: string; description: WireDescription | null; addr: string };
  taskStatuses?: { updates: WireTaskStatusUpdate[] };
}
interface WireDispatcherMessage {
  message?: string;
  sessionAck?: { sessionId: string; heartbeatPeriodMs: number; managers: WireManager[] };
  notLeader?: { leaderAddr: string; managers: WireManager[] };
  managersChanged?: { managers: WireManager[] };
  roleChanged?: { role: string };
  assignments?: { full: boolean; tasks: { id: string; task: Uint8Array }[]; removed: string[] };
  logSubscription?: { id: string; taskIds: string[]; options: WireLogOptions | null; close: boolean };
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

function taskStatusToWire(u: TaskStatusUpdate): WireTaskStatusUpdate {
  return {
    taskId: u.taskId, state: u.state, message: u.message, err: u.err,
    exitCode: u.exitCode ?? 0, hasExitCode: u.exitCode !== null,
    timestampMs: u.timestampMs, runtimeId: u.runtimeId, pid: u.pid,
    ports: (u.ports ?? []).map((p) => ({ protocol: p.Protocol, targetPort: p.TargetPort, publishedPort: p.PublishedPort, publishMode: p.PublishMode })),
  };
}

function taskStatusFromWire(w: WireTaskStatusUpdate): TaskStatusUpdate {
  const update: TaskStatusUpdate = {
    taskId: w.taskId, state: w.state, message: w.message, err: w.err,
    exitCode: w.hasExitCode ? w.exitCode : null,
    timestampMs: w.timestampMs, runtimeId: w.runtimeId, pid: w.pid,
  };
  // Only host-mode ports belong to a task (an older or newer peer's other modes are not ours to show).
  const ports = w.ports.filter((p) => p.publishMode === 'host').map((p): PortStatus => ({
    Protocol: p.protocol, TargetPort: p.targetPort, PublishedPort: p.publishedPort, PublishMode: 'host',
  }));
  if (ports.length > 0) update.ports = ports;
  return update;
}

/** Throws when the bytes are not a JSON task object carrying `id`. */
function assignedTaskFromWire(id: string, bytes: Uint8Array): AssignedTask {
  const task = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as unknown;
  if (typeof task !== 'object' || task === null || Array.isArray(task)) throw new Error(`assigned task ${id} is not a JSON object`);
  const t = task as Partial<AssignedTask>;
  if (t.ID !== id) throw new Error(`assigned task ${id} carries the task ${JSON.stringify(t.ID)}`);
  if (typeof t.DesiredState !== 'string') throw new Error(`assigned task ${id} has no DesiredState`);
  if (typeof t.Spec !== 'object' || t.Spec === null) throw new Error(`assigned task ${id} has no Spec`);
  return task as AssignedTask;
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
    case 'taskStatuses':
      return toBuffer(AgentMessageWire.encode(AgentMessageWire.fromObject({
        taskStatuses: { updates: message.taskStatuses.updates.map(taskStatusToWire) },
      })).finish());
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
  if (w.message === 'taskStatuses' && w.taskStatuses) {
    return { kind: 'taskStatuses', taskStatuses: { updates: w.taskStatuses.updates.map(taskStatusFromWire) } };
  }
  return { kind: 'unrecognized' };
}

export function encodeDispatcherMessage(message: DispatcherMessage): Buffer {
  if (message.kind === 'unrecognized') throw new Error('an unrecognized dispatcher message cannot be encoded');
  if (message.kind === 'assignments') {
    const a = message.assignments;
    return toBuffer(DispatcherMessageWire.encode(DispatcherMessageWire.fromObject({
      assignments: {
        full: a.full,
        tasks: a.tasks.map((task) => ({ id: task.ID, task: Buffer.from(JSON.stringify(task), 'utf8') })),
        removed: a.removed,
      },
    })).finish());
  }
  if (message.kind === 'logSubscription') {
    const l = message.logSubscription;
    return toBuffer(DispatcherMessageWire.encode(DispatcherMessageWire.fromObject({
      logSubscription: { id: l.id, taskIds: l.taskIds, options: logOptionsToWire(l.options), close: l.close },
    })).finish());
  }
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
    case 'assignments': {
      const a = w.assignments!;
      return {
        kind: 'assignments',
        assignments: { full: a.full, tasks: a.tasks.map((t) => assignedTaskFromWire(t.id, t.task)), removed: [...a.removed] },
      };
    }
    case 'logSubscription': {
      const l = w.logSubscription!;
      return {
        kind: 'logSubscription',
        logSubscription: { id: l.id, taskIds: [...l.taskIds], options: logOptionsFromWire(l.options), close: l.close },
      };
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
