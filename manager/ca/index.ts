// manager/ca's public surface. client-credentials, certificate-provider, peer-identity and
// renewal serve every node, workers included; cluster-ca and ca-server run on managers only.
export {
  createClusterCA, newClusterObject, readClusterCA, findClusterCA, roleForJoinToken, withRotatedJoinToken, rotateJoinToken,
  issueNodeIdentity, ClusterCAMissingError, CLUSTER_OBJECT_NAME,
} from './cluster-ca.js';
export type { ClusterCA, ClusterRootCA, ClusterJoinTokens } from './cluster-ca.js';
export { NodeCAServer } from './ca-server.js';
export type { LeaderInfo, NodeCAServerOptions } from './ca-server.js';
export { NodeCertificateProvider } from './certificate-provider.js';
export { clusterServerCredentials, peerIdentity, requireRole } from './peer-identity.js';
export type { PeerIdentity, CallWithAuthContext, TrustedCA } from './peer-identity.js';
export {
  clusterClientCredentials, fetchRootCA, joinCluster, renewNodeCertificate, MANAGER_CHANNEL_OPTIONS, MANAGER_TLS_NAME, CA_CALL_TIMEOUT_MS,
} from './client-credentials.js';
export type { JoinClusterParams, JoinedNode, RenewParams } from './client-credentials.js';
export { scheduleRenewal, renewalTime, RENEW_AFTER_MIN_FRACTION, RENEW_AFTER_MAX_FRACTION } from './renewal.js';
export type { RenewalHandle, RenewalOptions, RenewalClock } from './renewal.js';
export { StatusError } from './status-error.js';
export {
  NODE_CA_SERVICE, NODE_CA_METHODS, NODE_CA_SERVICE_NAME, UNAUTHENTICATED_METHODS, LEADER_ADDR_METADATA_KEY,
} from './node-ca-service.js';
