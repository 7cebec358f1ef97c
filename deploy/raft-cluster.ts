// Brings up a standalone Raft cluster of raft-member processes on loopback (each with its own
// data dir and ports, mutual TLS from a throwaway CA made with openssl) and controls it:
// find the leader, kill -9 a member, restart it, stop everything. Processes are tracked by the
// PID this module started; nothing is ever killed by name.

import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MEMBER_SCRIPT = fileURLToPath(new URL('./raft-member.js', import.meta.url));

export interface MemberInfo {
  id: number;
  raft: string;
  api: string;
  dataDir: string;
  child: ChildProcess | null;
}

export interface MemberStatus {
  id: number;
  role: string;
  term: number;
  leader: number;
  commit: number;
  applied: number;
  firstIndex: number;
  lastIndex: number;
  voters: number[];
}

export interface ClusterOptions {
  size: number;
  baseDir: string;
  tls?: boolean;
  tickMs?: number;
  logLevel?: string;
}

export class LocalRaftCluster {
  readonly members = new Map<number, MemberInfo>();

  private constructor(private readonly options: ClusterOptions) {}

  static async start(options: ClusterOptions): Promise<LocalRaftCluster> {
    const cluster = new LocalRaftCluster(options);
    mkdirSync(options.baseDir, { recursive: true });
    for (let id = 1; id <= options.size; id++) {
      const raftPort = await freePort();
      const apiPort = await freePort();
      cluster.members.set(id, {
        id, raft: `127.0.0.1:${raftPort}`, api: `127.0.0.1:${apiPort}`, dataDir: join(options.baseDir, `member-${id}`), child: null,
      });
    }
    if (options.tls) makeDevPki(join(options.baseDir, 'tls'), [...cluster.members.keys()]);
    await Promise.all([...cluster.members.keys()].map((id) => cluster.startMember(id)));
    return cluster;
  }

  /** Starts (or restarts) a member and waits until its API answers. */
  async startMember(id: number): Promise<void> {
    const m = this.members.get(id)!;
    const spec = [...this.members.values()].map((x) => `${x.id}=${x.raft}`).join(',');
    const args = [MEMBER_SCRIPT, '--id', String(id), '--data-dir', m.dataDir, '--raft', m.raft, '--api', m.api, '--members', spec,
      '--log-level', this.options.logLevel ?? 'warn'];
    if (this.options.tls) args.push('--tls-dir', join(this.options.baseDir, 'tls'));
    if (this.options.tickMs) args.push('--tick-ms', String(this.options.tickMs));
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    m.child = child;
    let stderr = '';
    child.stderr!.on('data', (d) => { stderr = (stderr + d).slice(-4000); });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const onData = (d: Buffer): void => {
        out += d;
        if (out.includes(`ready ${id}`)) {
          child.stdout!.off('data', onData);
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.once('exit', (code) => reject(new Error(`member ${id} exited with ${code} before it was ready: ${stderr}`)));
    });
    child.removeAllListeners('exit');
  }

  /** kill -9 by the PID we started; resolves once the process is gone. */
  async kill(id: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const m = this.members.get(id)!;
    const child = m.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await exited;
    m.child = null;
  }

  async status(id: number): Promise<MemberStatus | null> {
    try {
      const res = await fetch(`http://${this.members.get(id)!.api}/status`, { signal: AbortSignal.timeout(1000) });
      return (await res.json()) as MemberStatus;
    } catch {
      return null;
    }
  }

  /** The member that says it leads, as soon as one does. */
  async leader(timeoutMs = 10_000): Promise<MemberInfo> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      for (const m of this.members.values()) {
        if (!m.child) continue;
        const s = await this.status(m.id);
        if (s?.role === 'leader') return m;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no leader within ${timeoutMs} ms`);
  }

  async stop(options: { removeData?: boolean } = {}): Promise<void> {
    await Promise.all([...this.members.keys()].map((id) => this.kill(id, 'SIGKILL')));
    if (options.removeData) rmSync(this.options.baseDir, { recursive: true, force: true });
  }
}

/** A free TCP port on loopback (bound and released; good enough for tests on one machine). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** A throwaway CA and one ECDSA P-256 certificate per member (SAN 127.0.0.1), made with openssl. */
export function makeDevPki(dir: string, ids: number[]): void {
  mkdirSync(dir, { recursive: true });
  const run = (...args: string[]): void => { execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' }); };
  run('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key');
  run('req', '-x509', '-new', '-key', 'ca.key', '-sha256', '-days', '2', '-subj', '/CN=berth-dev-ca', '-out', 'ca.crt');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  for (const id of ids) {
    run('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `node-${id}.key`);
    run('req', '-new', '-key', `node-${id}.key`, '-subj', `/CN=node-${id}`, '-out', `node-${id}.csr`);
    run('x509', '-req', '-in', `node-${id}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-sha256',
      '-extfile', 'san.ext', '-out', `node-${id}.crt`);
  }
}
