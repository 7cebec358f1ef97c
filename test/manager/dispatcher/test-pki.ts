// A throwaway cluster CA and node certificates made with the openssl command line, shaped like the
// ones manager/ca issues: ECDSA P-256, subject O=<cluster>, OU=<role>, CN=<node ID>, and a SAN for
// the loopback address the tests dial. One CA per test process; node certificates on demand.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type CertificateRole = 'swarm-manager' | 'swarm-worker' | string;

export interface IssuedCertificate {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly certPath: string;
  readonly keyPath: string;
}

export interface TestPki {
  readonly ca: Buffer;
  readonly caPath: string;
  /** A certificate for `nodeId` with `role` as its OU, signed by the CA. */
  issue(nodeId: string, role: CertificateRole): IssuedCertificate;
}

/** Long enough for any test run, short enough that a leaked key is worthless. */
const VALIDITY_DAYS = '1';

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

let shared: TestPki | undefined;

/** The process's test CA, created on first use and deleted when the process exits. */
export function testPki(): TestPki {
  shared ??= createPki();
  return shared;
}

function createPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'berth-pki-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const caKey = join(dir, 'ca.key');
  const caPath = join(dir, 'ca.crt');
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', caKey]);
  openssl([
    'req', '-x509', '-new', '-key', caKey, '-sha256', '-days', VALIDITY_DAYS, '-subj', '/O=berth-test/CN=swarm-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', caPath,
  ]);
  const extensions = join(dir, 'node.ext');
  writeFileSync(extensions, [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth,clientAuth',
    'subjectAltName=IP:127.0.0.1',
    '',
  ].join('\n'));
  let serial = 0;
  return {
    ca: readFileSync(caPath),
    caPath,
    issue(nodeId, role) {
      const base = join(dir, `${nodeId}-${serial++}`);
      const keyPath = `${base}.key`;
      const certPath = `${base}.crt`;
      openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyPath]);
      openssl(['req', '-new', '-key', keyPath, '-subj', `/O=berth-test/OU=${role}/CN=${nodeId}`, '-out', `${base}.csr`]);
      openssl([
        'x509', '-req', '-in', `${base}.csr`, '-CA', caPath, '-CAkey', caKey, '-set_serial', String(1000 + serial),
        '-sha256', '-days', VALIDITY_DAYS, '-extfile', extensions, '-out', certPath,
      ]);
      return { cert: readFileSync(certPath), key: readFileSync(keyPath), certPath, keyPath };
    },
  };
}
