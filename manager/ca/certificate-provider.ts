// A node's TLS material as a grpc-js CertificateProvider held in memory, so certificate renewal
// swaps what the node presents (and trusts) without restarting servers or reconnecting clients:
// replace() reaches every credential built on the provider, and new handshakes use the new
// certificate while established connections carry on.
//
// One object serves both the CA and the identity listeners. grpc-js 1.14 declares
// createCertificateProviderServerCredentials(caProvider, identityProvider, …) but hands the
// first argument to the identity slot and the second to the CA slot; a provider that answers
// both kinds of listener is correct whichever way a given grpc-js version reads its arguments.
import type { experimental } from '@grpc/grpc-js';
import { checkNodeIdentity } from '../../shared/pki/index.js';
import type { NodeCertificateInfo, NodeIdentity } from '../../shared/pki/index.js';

type CaListener = experimental.CaCertificateUpdateListener;
type IdentityListener = experimental.IdentityCertificateUpdateListener;

export class NodeCertificateProvider implements experimental.CertificateProvider {
  private current: NodeIdentity;
  private currentInfo: NodeCertificateInfo;
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();

  constructor(identity: NodeIdentity) {
    this.currentInfo = checkNodeIdentity(identity);
    this.current = identity;
  }

  get identity(): NodeIdentity {
    return this.current;
  }

  /** What the current certificate says (node ID, role, validity). */
  get info(): NodeCertificateInfo {
    return this.currentInfo;
  }

  /** Switches to a renewed identity; throws, keeping the old one, if its parts do not belong together. */
  replace(identity: NodeIdentity): void {
    const info = checkNodeIdentity(identity);
    const caChanged = identity.caPem !== this.current.caPem;
    this.current = identity;
    this.currentInfo = info;
    for (const listener of this.identityListeners) listener(this.identityUpdate());
    if (caChanged) for (const listener of this.caListeners) listener(this.caUpdate());
  }

  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    // Asynchronously, as grpc-js's own providers do: a server registers its context watcher
    // only after subscribing, and would miss an update delivered inside this call.
    process.nextTick(() => {
      if (this.caListeners.has(listener)) listener(this.caUpdate());
    });
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    process.nextTick(() => {
      if (this.identityListeners.has(listener)) listener(this.identityUpdate());
    });
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
  }

  private caUpdate(): experimental.CaCertificateUpdate {
    return { caCertificate: Buffer.from(this.current.caPem) };
  }

  private identityUpdate(): experimental.IdentityCertificateUpdate {
    return { certificate: Buffer.from(this.current.certPem), privateKey: Buffer.from(this.current.keyPem) };
  }
}
