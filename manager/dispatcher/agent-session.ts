// One agent's Session call as the dispatcher sees it: who is on the other end, what it was told,
// and the one way to send on it or end it. Once ended (by either side) nothing more is written,
// so late events (a heartbeat arriving as leadership is lost) cannot write to a finished call.

import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { DispatcherMessage } from '../../shared/session-protocol.js';
import { encodeDispatcherMessage } from '../../shared/session-protocol.js';
import type { NodeAssignments } from './task-assignments.js';

export type SessionCall = grpc.ServerDuplexStream<Buffer, Buffer>;

/** Who is calling, from its verified TLS client certificate. */
export interface NodeIdentity {
  nodeId: string;
  role: 'manager' | 'worker';
}

export class AgentSession {
  /** Sent in SessionAck; names this session in logs on both ends. */
  readonly id = randomUUID();
  /** The role last announced to this agent (RoleChanged), so it is told once. */
  announcedRole: 'manager' | 'worker' | null = null;
  /** Set once the node's registration write has succeeded and SessionAck was sent. */
  acknowledged = false;
  /** Registration is in progress or done: a second Register is a protocol error. */
  registering = false;
  /** What this agent has been told of its tasks; set when the full set is sent, after SessionAck. */
  assignments: NodeAssignments | null = null;
  /** The heartbeat period this agent was last told. */
  heartbeatPeriodMs = 0;
  private ended = false;

  constructor(
    private readonly call: SessionCall,
    readonly identity: NodeIdentity,
    /** The remote address as grpc-js reports it ("ip:port"). */
    readonly peer: string,
  ) {}

  get nodeId(): string {
    return this.identity.nodeId;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  send(message: DispatcherMessage): void {
    if (this.ended) return;
    this.call.write(encodeDispatcherMessage(message));
  }

  /** Ends the call: with OK when no error is given (after NotLeader), else with that status. */
  end(error?: { code: grpc.status; details: string }): void {
    if (this.ended) return;
    this.ended = true;
    if (error) {
      // grpc-js turns an 'error' emitted on a server stream into the call's final status.
      this.call.emit('error', Object.assign(new Error(error.details), error));
    } else {
      this.call.end();
    }
  }

  /** The other side ended or dropped the call: nothing may be written any more. */
  markEnded(): void {
    this.ended = true;
  }
}
