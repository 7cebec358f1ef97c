// The client side of cluster TLS, used by every node (workers included; this file imports
// nothing manager-only): mutual-TLS credentials from a node identity, and joining a cluster
// from a join token alone.
//
// Joining (SwarmKit's scheme): a new node cannot verify the manager yet, so it
//   1. fetches the root CA over TLS that checks nothing (GetRootCA),
//   2. trusts that CA only if its digest equals the one pinned in the join token,
//   3. sends its CSR and the token over TLS that verifies the manager with that CA
//      (IssueNodeCertificate), following "not the leader" redirects to the leader,
//   4. checks the answer (issued by that CA, for its own key) before returning it.
// Its private key never leaves the node.
import { checkServerIdentity } from 'node:tls';
import type { PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import {
  ROLE_NAMES, caMatchesToken, certificateMatchesKey, createCsr, generateKeyPair, parseJoinToken, parseNodeCertificate, verifyIssuedBy,
} from '../../shared/pki/index.js';
import type { NodeIdentity, NodeRole } from '../../shared/pki/index.js';
import { NodeCertificateProvider } from './certificate-provider.js';
import { LEADER_ADDR_METADATA_KEY, NODE_CA_SERVICE } from './node-ca-service.js';
import type { IssueNodeCertificateResponse } from './node-ca-service.js';
import { StatusError } from './status-error.js';

/** The name a manager's certificate carries (SAN) and clients check it by, whatever address they dialled. */
export const MANAGER_TLS_NAME = ROLE_NAMES.manager;

/**
 * Channel options for any client of a manager: TLS names the server "swarm-manager" (SNI and
 * verification) rather than the dialled IP, which a certificate does not list and RFC 6066
 * forbids as a server name.
 */
export const MANAGER_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.ssl_target_name_override': MANAGER_TLS_NAME,
  'grpc.default_authority': MANAGER_TLS_NAME,
};

/**
 * Each CA call's deadline. Issuing waits for one raft commit (the new Node object); 10 s covers
 * a leader election on a slow network without leaving a joining operator staring at nothing.
 */
export const CA_CALL_TIMEOUT_MS = 10_000;

/** Redirects followed from "not the leader" answers: enough for a leadership change mid-join, not a loop. */
const MAX_LEADER_REDIRECTS = 3;

/** Joining clients own their connections, so closing one never touches a daemon's other channels. */
const ONE_SHOT_CHANNEL_OPTIONS: grpc.ChannelOptions = { ...MANAGER_CHANNEL_OPTIONS, 'grpc.use_local_subchannel_pool': 1 };

/** A node identity plus what its certificate says. */
export interface JoinedNode extends NodeIdentity {
  readonly nodeId: string;
  readonly role: NodeRole;
}

/**
 * Mutual TLS to managers with this node's certificate. Built on a NodeCertificateProvider, a
 * renewed certificate (provider.replace) is used from the next connection on.
 */
export function clusterClientCredentials(identity: NodeIdentity | NodeCertificateProvider): grpc.ChannelCredentials {
  const provider = identity instanceof NodeCertificateProvider ? identity : new NodeCertificateProvider(identity);
  return grpc.experimental.createCertificateProviderChannelCredentials(provider, provider, { checkServerIdentity: requireManager });
}

/** Only managers serve cluster ports: the server must hold a manager certificate of our CA. */
function requireManager(_hostname: string, cert: PeerCertificate): Error | undefined {
  return checkServerIdentity(MANAGER_TLS_NAME, cert);
}

/**
 * The root CA certificate a manager serves, fetched WITHOUT verifying the manager: the result is
 * untrusted until checked against a join token (caMatchesToken).
 */
export async function fetchRootCA(managerAddr: string): Promise<string> {
  const untrusted = grpc.credentials.createSsl(null, null, null, { rejectUnauthorized: false });
  const response = await callCA(managerAddr, untrusted, 'getRootCA', {});
  return response.certificate;
}

export interface JoinClusterParams {
  /** host:port of any manager's cluster port. */
  managerAddr: string;
  /** SWMTKN-1-…: decides the role; pins the CA. */
  token: string;
  /** host:port other nodes reach this node at; empty lets the manager use the address it sees. */
  advertiseAddr?: string;
  /** 'active' (default), 'pause' or 'drain'. */
  availability?: string;
  /** Key to certify (PKCS#8 PEM); a new P-256 key is generated when absent. */
  keyPem?: string;
}

export async function joinCluster(params: JoinClusterParams): Promise<JoinedNode> {
  parseJoinToken(params.token); // a malformed token fails here, before any network traffic
  const keyPem = params.keyPem ?? generateKeyPair().privateKeyPem;
  const csr = await createCsr(keyPem);
  return followingLeader(params.managerAddr, async (addr) => {
    const caPem = await fetchRootCA(addr);
    if (!caMatchesToken(caPem, params.token)) {
      throw new StatusError(grpc.status.PERMISSION_DENIED, `the CA presented by ${addr} does not match the join token; refusing to join (wrong address, wrong token, or someone in between)`);
    }
    const verified = grpc.credentials.createSsl(Buffer.from(caPem), null, null, { checkServerIdentity: requireManager });
    const response = await callCA(addr, verified, 'issueNodeCertificate', {
      csr, token: params.token, availability: params.availability ?? '', addr: params.advertiseAddr ?? '',
    });
    return checkIssued(addr, response, caPem, keyPem);
  });
}

export interface RenewParams {
  managerAddr: string;
  /** The node's current, still valid identity: it authenticates the request. */
  identity: NodeIdentity;
  /** Key to certify; a fresh P-256 key when absent, so each certificate period has its own key. */
  keyPem?: string;
}

/**
 * A new certificate for this node, with the role the cluster now gives it (which may differ
 * from the current certificate's after a promotion or demotion).
 */
export async function renewNodeCertificate(params: RenewParams): Promise<JoinedNode> {
  const { identity } = params;
  const current = parseNodeCertificate(identity.certPem);
  const keyPem = params.keyPem ?? generateKeyPair().privateKeyPem;
  const csr = await createCsr(keyPem, current.nodeId);
  const credentials = grpc.credentials.createSsl(
    Buffer.from(identity.caPem), Buffer.from(identity.keyPem), Buffer.from(identity.certPem), { checkServerIdentity: requireManager });
  return followingLeader(params.managerAddr, async (addr) => {
    const response = await callCA(addr, credentials, 'renewNodeCertificate', { csr });
    const renewed = checkIssued(addr, response, identity.caPem, keyPem);
    if (renewed.nodeId !== current.nodeId) {
      throw new Error(`${addr} renewed node ${current.nodeId}'s certificate for node ${renewed.nodeId}; refusing it`);
    }
    return renewed;
  });
}

/** Runs `call` against `addr`, again against the leader a follower names (a few times at most). */
async function followingLeader<T>(addr: string, call: (addr: string) => Promise<T>): Promise<T> {
  for (let redirects = 0; ; redirects++) {
    try {
      return await call(addr);
    } catch (error) {
      const leader = leaderRedirect(error);
      if (!leader || redirects >= MAX_LEADER_REDIRECTS) throw error;
      addr = leader;
    }
  }
}

/** Trust nothing in an answer: the certificate must come from our CA, for our key, as described. */
function checkIssued(addr: string, response: IssueNodeCertificateResponse, caPem: string, keyPem: string): JoinedNode {
  const refuse = (why: string): never => {
    throw new Error(`${addr} answered with an unusable certificate: ${why}`);
  };
  let info;
  try {
    info = parseNodeCertificate(response.certificate);
  } catch (error) {
    return refuse((error as Error).message);
  }
  if (!verifyIssuedBy(response.certificate, caPem)) refuse('it was not issued by the cluster CA');
  if (!certificateMatchesKey(response.certificate, keyPem)) refuse('it does not certify this node\'s key');
  if (info.nodeId !== response.nodeId) refuse(`it names node ${info.nodeId}, the answer node ${response.nodeId}`);
  if (info.role !== response.role) refuse(`it carries the ${info.role} role, the answer says ${response.role}`);
  return { nodeId: info.nodeId, role: info.role, caPem, certPem: response.certificate, keyPem };
}

function leaderRedirect(error: unknown): string | null {
  if (!(error instanceof StatusError) || error.code !== grpc.status.FAILED_PRECONDITION) return null;
  const [leader] = error.metadata.get(LEADER_ADDR_METADATA_KEY);
  return typeof leader === 'string' && leader !== '' ? leader : null;
}

type CAMethod = keyof typeof NODE_CA_SERVICE;
type RequestOf<M extends CAMethod> = Parameters<(typeof NODE_CA_SERVICE)[M]['requestSerialize']>[0];
type ResponseOf<M extends CAMethod> = ReturnType<(typeof NODE_CA_SERVICE)[M]['responseDeserialize']>;

/** One call on its own short-lived channel; failures become StatusErrors naming the manager. */
async function callCA<M extends CAMethod>(addr: string, credentials: grpc.ChannelCredentials, method: M, request: RequestOf<M>): Promise<ResponseOf<M>> {
  const definition = NODE_CA_SERVICE[method] as unknown as grpc.MethodDefinition<RequestOf<M>, ResponseOf<M>>;
  const client = new grpc.Client(addr, credentials, ONE_SHOT_CHANNEL_OPTIONS);
  try {
    return await new Promise<ResponseOf<M>>((resolve, reject) => {
      client.makeUnaryRequest(
        definition.path, definition.requestSerialize, definition.responseDeserialize, request,
        new grpc.Metadata(), { deadline: Date.now() + CA_CALL_TIMEOUT_MS },
        (error, response) => {
          if (error) reject(new StatusError(error.code, `${addr}: ${error.details || error.message}`, error.metadata));
          else resolve(response as ResponseOf<M>);
        },
      );
    });
  } finally {
    client.close();
  }
}
