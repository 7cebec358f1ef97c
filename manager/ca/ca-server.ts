// The NodeCA gRPC service (proto/ca.proto) on a manager: hands out the root CA, turns a join
// token and a CSR into a Node object plus a certificate, and renews certificates with the role
// the store currently gives the node (so a promotion or demotion takes effect at the next renewal).
//
// Only the raft leader issues and renews: issuing creates a Node object (a store write), and one
// signer at a time keeps the role read and the signature in step. A follower answers
// FAILED_PRECONDITION "not the leader; leader is at <addr>" with the address in the
// LEADER_ADDR_METADATA_KEY trailer, which joinCluster follows.
//
// Register it on a server bound with clusterServerCredentials (peer-identity.ts): that is what
// lets certificate-less nodes reach GetRootCA/IssueNodeCertificate and nothing else.
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import {
  InvalidCsrError, JoinTokenFormatError, caMatchesToken, parseCsr, parseJoinToken, signNodeCertificate,
} from '../../shared/pki/index.js';
import type { NodeRole } from '../../shared/pki/index.js';
import { NotLeaderError, StoreError, newObjectId } from '../store/index.js';
import type { NodeAvailability, Store } from '../store/index.js';
import { ClusterCAMissingError, findClusterCA, roleForJoinToken } from './cluster-ca.js';
import type { ClusterCA } from './cluster-ca.js';
import { LEADER_ADDR_METADATA_KEY, NODE_CA_SERVICE } from './node-ca-service.js';
import type {
  GetRootCARequest, GetRootCAResponse, IssueNodeCertificateRequest, IssueNodeCertificateResponse, RenewNodeCertificateRequest,
} from './node-ca-service.js';
import { requireRole } from './peer-identity.js';
import { StatusError } from './status-error.js';

const AVAILABILITIES: readonly NodeAvailability[] = ['active', 'pause', 'drain'];

export interface LeaderInfo {
  readonly isLeader: boolean;
  /** The leader's cluster address when another manager leads; absent while none is known. */
  readonly leaderAddr?: string;
}

export interface NodeCAServerOptions {
  store: Store;
  /** Asked on every issue/renew; the daemon answers from its RaftNode (isLeader, leaderAddress). */
  leaderInfo: () => LeaderInfo;
  logger?: pino.Logger;
  /** The signing clock (tests pin it). */
  now?: () => Date;
}

type Call<Req> = grpc.ServerUnaryCall<Req, unknown>;

export class NodeCAServer {
  private readonly store: Store;
  private readonly leaderInfo: () => LeaderInfo;
  private readonly logger: pino.Logger;
  private readonly now: () => Date;

  constructor(options: NodeCAServerOptions) {
    this.store = options.store;
    this.leaderInfo = options.leaderInfo;
    this.logger = (options.logger ?? pino({ level: 'warn' })).child({ component: 'ca' });
    this.now = options.now ?? (() => new Date());
  }

  /** Registers the NodeCA service on `server`. */
  addTo(server: grpc.Server): void {
    server.addService(NODE_CA_SERVICE, {
      getRootCA: unary(this.logger, (call: Call<GetRootCARequest>) => this.getRootCA(call)),
      issueNodeCertificate: unary(this.logger, (call: Call<IssueNodeCertificateRequest>) => this.issueNodeCertificate(call)),
      renewNodeCertificate: unary(this.logger, (call: Call<RenewNodeCertificateRequest>) => this.renewNodeCertificate(call)),
    });
  }

  private async getRootCA(_call: Call<GetRootCARequest>): Promise<GetRootCAResponse> {
    return { certificate: this.clusterCA().RootCA.CACert };
  }

  private async issueNodeCertificate(call: Call<IssueNodeCertificateRequest>): Promise<IssueNodeCertificateResponse> {
    this.requireLeader();
    const { csr, token, availability, addr } = call.request;
    try {
      parseJoinToken(token);
    } catch (error) {
      if (error instanceof JoinTokenFormatError) throw new StatusError(grpc.status.INVALID_ARGUMENT, error.message);
      throw error;
    }
    const ca = this.clusterCA();
    if (!caMatchesToken(ca.RootCA.CACert, token)) {
      throw new StatusError(grpc.status.PERMISSION_DENIED, 'invalid join token: it pins a different CA than this cluster\'s (is it from another swarm?)');
    }
    const role = roleForJoinToken(ca, token);
    if (!role) {
      throw new StatusError(grpc.status.PERMISSION_DENIED, 'invalid join token (it may have been rotated; ask a manager for the current one with "swarm join-token")');
    }
    const nodeAvailability = (availability || 'active') as NodeAvailability;
    if (!AVAILABILITIES.includes(nodeAvailability)) {
      throw new StatusError(grpc.status.INVALID_ARGUMENT, `availability ${JSON.stringify(availability)} is not one of ${AVAILABILITIES.join(', ')}`);
    }
    const nodeId = newObjectId();
    // Sign before writing: a bad CSR must not leave a Node object behind.
    const certificate = await this.sign(ca, csr, nodeId, role);
    const nodeAddr = addr || hostOf(call.getPeer());
    try {
      await this.store.update((tx) => {
        tx.create('node', {
          ID: nodeId,
          Spec: { Role: role, Availability: nodeAvailability, Labels: {} },
          Status: { State: 'unknown', Addr: nodeAddr },
          Description: {},
        });
      });
    } catch (error) {
      throw this.storeFailure(error, 'record the new node');
    }
    this.logger.info({ nodeId, role, addr: nodeAddr }, 'issued a certificate to a joining node');
    return { nodeId, certificate, role, caCertificate: ca.RootCA.CACert };
  }

  private async renewNodeCertificate(call: Call<RenewNodeCertificateRequest>): Promise<IssueNodeCertificateResponse> {
    this.requireLeader();
    const ca = this.clusterCA();
    const peer = requireRole(call, ca.RootCA.CACert, 'worker', this.now());
    if (peer instanceof StatusError) throw peer;
    const node = this.store.get('node', peer.nodeId);
    if (!node) {
      throw new StatusError(grpc.status.PERMISSION_DENIED, `node ${peer.nodeId} is no longer a member of the cluster; it must leave and join again`);
    }
    const role = node.Spec.Role;
    if (role !== 'manager' && role !== 'worker') {
      throw new StatusError(grpc.status.FAILED_PRECONDITION, `node ${peer.nodeId} has role ${JSON.stringify(role)} in the store, which no certificate can carry`);
    }
    const requested = await parseCsr(call.request.csr).catch((error: unknown) => { throw this.csrFailure(error); });
    if (requested.nodeId !== null && requested.nodeId !== peer.nodeId) {
      throw new StatusError(grpc.status.INVALID_ARGUMENT, `the CSR names node ${requested.nodeId}, but the caller is node ${peer.nodeId}`);
    }
    const certificate = await this.sign(ca, call.request.csr, peer.nodeId, role);
    if (role !== peer.role) this.logger.info({ nodeId: peer.nodeId, from: peer.role, to: role }, 'renewed certificate carries a new role');
    else this.logger.debug({ nodeId: peer.nodeId, role }, 'renewed a node certificate');
    return { nodeId: peer.nodeId, certificate, role, caCertificate: ca.RootCA.CACert };
  }

  private async sign(ca: ClusterCA, csrPem: string, nodeId: string, role: NodeRole): Promise<string> {
    try {
      return await signNodeCertificate({ csrPem, caCertPem: ca.RootCA.CACert, caKeyPem: ca.RootCA.CAKey, nodeId, role, now: this.now() });
    } catch (error) {
      throw this.csrFailure(error);
    }
  }

  private csrFailure(error: unknown): unknown {
    return error instanceof InvalidCsrError ? new StatusError(grpc.status.INVALID_ARGUMENT, error.message) : error;
  }

  private requireLeader(): void {
    const { isLeader, leaderAddr } = this.leaderInfo();
    if (isLeader) return;
    throw notLeader(leaderAddr);
  }

  private clusterCA(): ClusterCA {
    try {
      return findClusterCA(this.store).ca;
    } catch (error) {
      if (error instanceof ClusterCAMissingError) throw new StatusError(grpc.status.UNAVAILABLE, error.message);
      throw error;
    }
  }

  private storeFailure(error: unknown, what: string): unknown {
    if (error instanceof NotLeaderError) return notLeader(error.leaderAddress);
    if (error instanceof StoreError) return new StatusError(grpc.status.UNAVAILABLE, `could not ${what}: ${error.message}`);
    return error;
  }
}

function notLeader(leaderAddr: string | undefined): StatusError {
  if (!leaderAddr) {
    return new StatusError(grpc.status.UNAVAILABLE, 'not the leader, and no leader is known (an election is in progress or quorum is lost); retry shortly');
  }
  const metadata = new grpc.Metadata();
  metadata.set(LEADER_ADDR_METADATA_KEY, leaderAddr);
  return new StatusError(grpc.status.FAILED_PRECONDITION, `not the leader; leader is at ${leaderAddr}`, metadata);
}

/** grpc-js reports a peer as "host:port" ("[v6]:port" for IPv6); a node's observed address is the host. */
function hostOf(peer: string): string {
  const colon = peer.lastIndexOf(':');
  const host = colon > 0 ? peer.slice(0, colon) : peer;
  return host.replace(/^\[(.*)\]$/, '$1');
}

/**
 * Adapts an async handler to grpc-js's callback form. StatusErrors go to the caller as they
 * are; anything else is a bug here: logged in full, reported as INTERNAL without its details
 * (a certificate-less caller must not learn about the CA's internals).
 */
function unary<Req, Res>(logger: pino.Logger, handler: (call: Call<Req>) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    handler(call).then(
      (response) => callback(null, response),
      (error: unknown) => {
        if (error instanceof StatusError) {
          callback(error);
          return;
        }
        logger.error({ err: error, method: call.getPath() }, 'CA request failed unexpectedly');
        callback({ code: grpc.status.INTERNAL, details: 'the CA failed unexpectedly; see the manager\'s log' });
      },
    );
  };
}
