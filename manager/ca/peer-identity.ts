// Who is calling: the cluster identity of a gRPC peer, from the client certificate it presented.
//
// A manager serves joining nodes and members on ONE port. TLS there requests a client
// certificate but does not require one (a joining node has none yet), so the TLS layer alone
// proves nothing about a caller. clusterServerCredentials adds an interceptor that lets
// certificate-less callers reach only UNAUTHENTICATED_METHODS (GetRootCA, IssueNodeCertificate)
// and refuses every other call that lacks a verified cluster certificate; handlers then ask
// requireRole() for the role they need.
//
// peerIdentity verifies the certificate itself (signature by our CA, validity dates, cluster
// ID) instead of trusting that the TLS layer did: with rejectUnauthorized off, what reaches the
// server is only as good as the checks made here.
import { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { clusterIdOfRootCA, parseNodeCertificate, verifyIssuedBy } from '../../shared/pki/index.js';
import type { NodeIdentity, NodeRole } from '../../shared/pki/index.js';
import { NodeCertificateProvider } from './certificate-provider.js';
import { UNAUTHENTICATED_METHODS } from './node-ca-service.js';
import { StatusError } from './status-error.js';

export interface PeerIdentity {
  readonly nodeId: string;
  readonly role: NodeRole;
  readonly clusterId: string;
  /** SHA-256 of the presented certificate's DER, hex: for logs. */
  readonly fingerprint: string;
}

/**
 * Anything with grpc-js's auth context (which grpc-js does not export as a type): handler calls
 * and server interceptor calls alike.
 */
export interface CallWithAuthContext {
  getAuthContext(): { readonly sslPeerCertificate?: Pick<PeerCertificate, 'raw'> } | null;
}

/** Whom to trust: a CA certificate (PEM), or the node's live provider (follows CA changes). */
export type TrustedCA = string | NodeCertificateProvider;

/**
 * The verified identity of the caller, or null when it presented no certificate, or one not
 * issued by `ca`, outside its validity period, or for another cluster.
 */
export function peerIdentity(call: CallWithAuthContext, ca: TrustedCA, now: Date = new Date()): PeerIdentity | null {
  const raw = call.getAuthContext()?.sslPeerCertificate?.raw;
  if (!raw || raw.length === 0) return null;
  try {
    const cert = new X509Certificate(raw);
    const trusted = trustedCA(ca);
    if (!verifyIssuedBy(cert, trusted.cert)) return null;
    const info = parseNodeCertificate(cert);
    if (now < info.notBefore || now > info.notAfter) return null;
    if (info.clusterId !== trusted.clusterId) return null;
    return { nodeId: info.nodeId, role: info.role, clusterId: info.clusterId, fingerprint: info.fingerprint };
  } catch {
    // Unparseable or not a node certificate: not a cluster member, whatever else it is.
    return null;
  }
}

/**
 * The caller's identity if its certificate grants `role`, else the error to answer with:
 * UNAUTHENTICATED without a verified cluster certificate, PERMISSION_DENIED with the wrong role.
 * 'worker' is granted to managers too, since every manager also runs a worker agent.
 */
export function requireRole(call: CallWithAuthContext, ca: TrustedCA, role: NodeRole, now?: Date): PeerIdentity | StatusError {
  const peer = peerIdentity(call, ca, now);
  if (!peer) {
    return new StatusError(grpc.status.UNAUTHENTICATED, 'this call needs a client certificate issued by the cluster CA; join the cluster first');
  }
  if (role === 'manager' && peer.role !== 'manager') {
    return new StatusError(grpc.status.PERMISSION_DENIED, `permission denied: this call needs the manager role; node ${peer.nodeId} has the ${peer.role} role`);
  }
  return peer;
}

/**
 * TLS for a cluster port: presents the node's certificate, requests (without requiring) a client
 * certificate, and refuses calls without a verified cluster certificate except the joining
 * calls. Pass the provider to renew the certificate later without restarting the server.
 */
export function clusterServerCredentials(identity: NodeIdentity | NodeCertificateProvider): grpc.ServerCredentials {
  const provider = identity instanceof NodeCertificateProvider ? identity : new NodeCertificateProvider(identity);
  // Same provider in both slots: see certificate-provider.ts for why.
  const tls = grpc.experimental.createCertificateProviderServerCredentials(provider, provider, false);
  return grpc.experimental.createServerCredentialsWithInterceptors(tls, [membersOnlyInterceptor(provider)]);
}

function membersOnlyInterceptor(provider: NodeCertificateProvider): grpc.ServerInterceptor {
  return (method, call) => {
    if (UNAUTHENTICATED_METHODS.has(method.path)) return new grpc.ServerInterceptingCall(call);
    return new grpc.ServerInterceptingCall(call, {
      start: (next) => next({
        onReceiveMetadata: (metadata, forward) => {
          if (peerIdentity(call, provider)) {
            forward(metadata);
            return;
          }
          // Not forwarding the metadata keeps the handler from ever starting.
          call.sendStatus({
            code: grpc.status.UNAUTHENTICATED,
            details: `${method.path} needs a client certificate issued by the cluster CA; a node without one may only call GetRootCA and IssueNodeCertificate`,
          });
        },
      }),
    });
  };
}

/** Parsing a CA per call would cost more than the signature check; the CA rarely changes. */
let cachedCA: { pem: string; cert: X509Certificate; clusterId: string } | undefined;

function trustedCA(ca: TrustedCA): { cert: X509Certificate; clusterId: string } {
  const pem = typeof ca === 'string' ? ca : ca.identity.caPem;
  if (cachedCA?.pem !== pem) {
    const cert = new X509Certificate(pem);
    cachedCA = { pem, cert, clusterId: clusterIdOfRootCA(cert) };
  }
  return cachedCA;
}
