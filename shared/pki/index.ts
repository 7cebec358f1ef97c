// shared/pki's public surface: X.509 material and join tokens for the cluster's own CA.
export { generateKeyPair, publicKeyDerOf } from './keys.js';
export type { KeyPairPem } from './keys.js';
export { createRootCA, clusterIdOfRootCA, ROOT_CA_COMMON_NAME, ROOT_CA_VALIDITY_MS } from './root-ca.js';
export type { RootCA } from './root-ca.js';
export { createCsr, parseCsr, InvalidCsrError, MAX_CSR_BYTES } from './csr.js';
export type { CsrInfo } from './csr.js';
export {
  signNodeCertificate, parseNodeCertificate, verifyIssuedBy, certificateMatchesKey, certificatePublicKeyDer,
  NODE_CERT_VALIDITY_MS, ROLE_NAMES,
} from './node-certificate.js';
export type { NodeRole, NodeCertificateInfo, SignNodeCertificateParams } from './node-certificate.js';
export { CLOCK_SKEW_BACKDATE_MS, DAY_MS } from './validity.js';
export { caDigest, CA_DIGEST_LENGTH } from './ca-digest.js';
export {
  generateJoinToken, parseJoinToken, caMatchesToken, joinTokensEqual, JoinTokenFormatError,
  JOIN_TOKEN_PATTERN, JOIN_TOKEN_PREFIX, JOIN_TOKEN_SECRET_LENGTH,
} from './join-token.js';
export type { JoinToken } from './join-token.js';
export { checkNodeIdentity } from './node-identity.js';
export type { NodeIdentity } from './node-identity.js';
export { saveNodeIdentity, loadNodeIdentity, IDENTITY_FILES, KEY_FILE_MODE, CERT_FILE_MODE } from './identity-files.js';
