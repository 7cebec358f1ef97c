// The RaftMembership gRPC service (proto/membership.proto), served by every manager and acted on
// by the leader: a joining manager asks for the member list, starts its raft node, then asks to
// be added; it is added as a learner and promoted to voter once caught up (RaftNode.addMember).
// Followers also forward their writes here (Propose), so any manager accepts API writes.

import * as grpc from '@grpc/grpc-js';
import type { RaftNode } from '../raft/node.js';
import { loadService } from '../../shared/proto.js';

export const membershipService = loadService('membership.proto', 'berth.membership.RaftMembership');

export interface MembershipServiceOptions {
  raft: () => RaftNode | null;
  /** Refuses callers that are not managers; returns the reason, or null to allow. */
  authorize: (call: grpc.ServerUnaryCall<unknown, unknown>) => string | null;
  /** Records the new member's raft id on its Node object (so ManagerStatus can be shown). */
  onJoined: (nodeId: string, raftId: number, addr: string) => Promise<void>;
}

interface Member { raft_id: number; addr: string }

export function membershipImplementation(options: MembershipServiceOptions): grpc.UntypedServiceImplementation {
  const guard = <Req, Res>(handler: (req: Req, raft: RaftNode) => Promise<Res>) =>
    (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>): void => {
      const denied = options.authorize(call as grpc.ServerUnaryCall<unknown, unknown>);
      if (denied) return callback({ code: grpc.status.PERMISSION_DENIED, details: denied });
      const raft = options.raft();
      if (!raft) return callback({ code: grpc.status.UNAVAILABLE, details: 'this manager is not running raft' });
      handler(call.request, raft).then((res) => callback(null, res), (err: Error & { code?: string; leaderAddress?: string }) => {
        const code = err.code === 'NOT_LEADER' ? grpc.status.FAILED_PRECONDITION
          : err.code === 'NO_QUORUM' ? grpc.status.UNAVAILABLE : grpc.status.INTERNAL;
        callback({ code, details: err.message });
      });
    };

  const members = (raft: RaftNode): { members: Member[]; leader_raft_id: number } => ({
    members: raft.memberList().map((m) => ({ raft_id: m.id, addr: m.address })),
    leader_raft_id: raft.leaderId,
  });

  return {
    Members: guard(async (_req: unknown, raft) => members(raft)),
    Join: guard(async (req: { raft_id: number; addr: string; node_id: string }, raft) => {
      if (!req.raft_id || !req.addr) throw new Error('raft_id and addr are required');
      await raft.addMember(req.raft_id, req.addr);
      await options.onJoined(req.node_id, req.raft_id, req.addr);
      return members(raft);
    }),
    Leave: guard(async (req: { raft_id: number }, raft) => {
      await raft.removeMember(req.raft_id);
      return {};
    }),
    Propose: guard(async (req: { data: Buffer }, raft) => {
      // Only the leader appends: a follower answering here would forward again, in a loop.
      if (!raft.isLeader) throw Object.assign(new Error('not the leader'), { code: 'NOT_LEADER' });
      const { index, term } = await raft.propose(req.data);
      return { index, term };
    }),
  };
}

/** Calls a manager's RaftMembership service; resolves with the response or rejects with the gRPC error. */
export class MembershipClient {
  private readonly client: grpc.Client & Record<string, Function>;

  constructor(address: string, credentials: grpc.ChannelCredentials, channelOptions: grpc.ChannelOptions = {}) {
    this.client = new membershipService.Client(address, credentials, channelOptions) as grpc.Client & Record<string, Function>;
  }

  members(): Promise<{ members: Member[]; leader_raft_id: number }> {
    return this.call('Members', {}, 5_000);
  }

  join(raftId: number, addr: string, nodeId: string): Promise<{ members: Member[] }> {
    // Catching up a new member can take a while on a large store.
    return this.call('Join', { raft_id: raftId, addr, node_id: nodeId }, 60_000);
  }

  leave(raftId: number): Promise<unknown> {
    return this.call('Leave', { raft_id: raftId }, 10_000);
  }

  propose(data: Uint8Array, timeoutMs: number): Promise<{ index: number; term: number }> {
    return this.call('Propose', { data: Buffer.from(data.buffer, data.byteOffset, data.byteLength) }, timeoutMs);
  }

  close(): void {
    this.client.close();
  }

  private call<T>(method: string, request: object, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      this.client[method](request, { deadline: Date.now() + timeoutMs }, (err: grpc.ServiceError | null, res: T) => {
        if (err) reject(err);
        else resolve(res);
      });
    });
  }
}
