// A node identity on disk: three PEM files in one directory. The key is readable by its owner
// only (0600); certificates are public (0644). Each file is written to a temporary name and
// renamed over the old one, so a crash mid-renewal leaves either the old or the new file, never
// a truncated one; the directory itself is 0700.
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkNodeIdentity } from './node-identity.js';
import type { NodeIdentity } from './node-identity.js';

export const IDENTITY_FILES = { ca: 'ca.crt', cert: 'node.crt', key: 'node.key' } as const;
export const KEY_FILE_MODE = 0o600;
export const CERT_FILE_MODE = 0o644;
export const IDENTITY_DIR_MODE = 0o700;

export async function saveNodeIdentity(dir: string, identity: NodeIdentity): Promise<void> {
  checkNodeIdentity(identity);
  await mkdir(dir, { recursive: true, mode: IDENTITY_DIR_MODE });
  // Key first: a crash between the two leaves a new key with the old certificate, which
  // loadNodeIdentity reports as a mismatch rather than a node presenting someone else's key.
  await writeAtomically(join(dir, IDENTITY_FILES.key), identity.keyPem, KEY_FILE_MODE);
  await writeAtomically(join(dir, IDENTITY_FILES.cert), identity.certPem, CERT_FILE_MODE);
  await writeAtomically(join(dir, IDENTITY_FILES.ca), identity.caPem, CERT_FILE_MODE);
}

/** The saved identity; null when the directory holds none. Throws when it is partial or inconsistent. */
export async function loadNodeIdentity(dir: string): Promise<NodeIdentity | null> {
  const [caPem, certPem, keyPem] = await Promise.all([
    readIfPresent(join(dir, IDENTITY_FILES.ca)),
    readIfPresent(join(dir, IDENTITY_FILES.cert)),
    readIfPresent(join(dir, IDENTITY_FILES.key)),
  ]);
  if (caPem === null && certPem === null && keyPem === null) return null;
  if (caPem === null || certPem === null || keyPem === null) {
    const missing = Object.entries({ [IDENTITY_FILES.ca]: caPem, [IDENTITY_FILES.cert]: certPem, [IDENTITY_FILES.key]: keyPem })
      .filter(([, v]) => v === null).map(([name]) => name);
    throw new Error(`the node identity in ${dir} is incomplete (missing ${missing.join(', ')}); remove the directory and join the cluster again`);
  }
  const identity = { caPem, certPem, keyPem };
  try {
    checkNodeIdentity(identity);
  } catch (error) {
    throw new Error(`the node identity in ${dir} is unusable: ${(error as Error).message}`, { cause: error });
  }
  return identity;
}

async function writeAtomically(path: string, contents: string, mode: number): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(temporary, contents, { mode, flag: 'w' });
    // writeFile's mode is filtered by the umask and ignored for an existing file; set it exactly.
    await chmod(temporary, mode);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

async function readIfPresent(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}
