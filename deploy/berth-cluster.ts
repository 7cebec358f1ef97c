// Brings up a Berth cluster of real `berth daemon` processes on one machine: N managers and M
// workers, each with its own data dir, API socket and cluster port, formed with `swarm init` and
// `swarm join` through the Engine API. With `netns`, every node runs in its own network namespace
// with its own address on a private bridge, so cluster traffic crosses a real (virtual) network.
// Processes are tracked by the PIDs recorded here; nothing is killed by name.

import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './raft-cluster.js';
import { liveness } from '../worker/executor/process/proc-identity.js';
import { listTaskIds, taskFiles, type PersistedTaskState } from '../worker/executor/process/task-files.js';

const BERTH = fileURLToPath(new URL('../cli/berth.js', import.meta.url));
/** A daemon opens its API within a second; 15 s allows for a loaded CI machine. */
const DAEMON_START_TIMEOUT_MS = 15_000;

export interface BerthNode {
  name: string;
  role: 'manager' | 'worker';
  dataDir: string;
  socket: string;
  /** host:port of the cluster listener (managers). */
  clusterAddr: string;
  /** The node's own IP (127.0.0.1, or its namespace address). */
  ip: string;
  netns?: string;
  child: ChildProcess | null;
  nodeId: string;
}

export interface BerthClusterOptions {
  managers: number;
  workers: number;
  baseDir: string;
  /** Run each node in its own network namespace on a bridge (needs root and iproute2). */
  netns?: boolean;
  /** Let the daemons outlive this process (their own process group). */
  detached?: boolean;
  logLevel?: string;
  /**
   * `berth daemon --runtime`. Default 'process' here (not the daemon's 'auto'), so tests written
   * for host processes behave the same whether or not a Docker engine runs on the machine.
   */
  runtime?: 'process' | 'docker' | 'auto';
  /** `berth daemon --docker-host` for a node (e.g. each node's own dockerd); default the host's dockerd. */
  dockerHostFor?: (node: BerthNode) => string | undefined;
}

/** A tiny Engine API client over a daemon's unix socket. */
export function api<T = unknown>(socket: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request({
      socketPath: socket, method, path: `/v1.41${path}`,
      headers: payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {},
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let parsed: unknown = text;
        try { parsed = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
        resolve({ status: res.statusCode ?? 0, body: parsed as T });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

export class LocalBerthCluster {
  readonly nodes: BerthNode[] = [];
  private bridge: string | null = null;

  private constructor(private readonly options: BerthClusterOptions) {}

  /** Starts every daemon and forms the cluster (init on the first manager, the rest join). */
  static async start(options: BerthClusterOptions): Promise<LocalBerthCluster> {
    const cluster = await LocalBerthCluster.spawn(options);
    try {
      await cluster.form();
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  /** Starts every daemon, each outside any cluster (benchmarks time form() on its own). */
  static async spawn(options: BerthClusterOptions): Promise<LocalBerthCluster> {
    const cluster = new LocalBerthCluster(options);
    try {
      await cluster.launch();
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  private async launch(): Promise<void> {
    const { managers, workers, baseDir } = this.options;
    mkdirSync(baseDir, { recursive: true });
    const tag = String(process.pid % 10000);
    if (this.options.netns) this.bridge = createBridge(`bb${tag}`);
    for (let i = 0; i < managers + workers; i++) {
      const role = i < managers ? 'manager' : 'worker';
      const name = `${role}-${role === 'manager' ? i + 1 : i - managers + 1}`;
      const dataDir = join(baseDir, name);
      mkdirSync(dataDir, { recursive: true });
      let ip = '127.0.0.1';
      let netns: string | undefined;
      if (this.bridge) {
        netns = `bn${tag}-${i}`;
        ip = `10.213.${Number(tag) % 250}.${i + 10}`;
        attachNamespace(netns, this.bridge, ip, i);
      }
      const port = this.bridge ? 2377 : await freePort();
      this.nodes.push({ name, role, dataDir, socket: join(dataDir, 'berth.sock'), clusterAddr: `${ip}:${port}`, ip, netns, child: null, nodeId: '' });
    }
    await Promise.all(this.nodes.map((n) => this.startDaemon(n)));
  }

  /** swarm init on the first node, swarm join on the others, through the Engine API. */
  async form(): Promise<void> {
    const [first, ...rest] = this.nodes;
    const init = await api<string>(first.socket, 'POST', '/swarm/init', { ListenAddr: first.clusterAddr, AdvertiseAddr: first.clusterAddr });
    if (init.status !== 200) throw new Error(`swarm init failed: ${JSON.stringify(init.body)}`);
    first.nodeId = init.body;
    const swarm = await api<{ JoinTokens: { Worker: string; Manager: string } }>(first.socket, 'GET', '/swarm');
    for (const n of rest) {
      const token = n.role === 'manager' ? swarm.body.JoinTokens.Manager : swarm.body.JoinTokens.Worker;
      const res = await api(n.socket, 'POST', '/swarm/join', {
        ListenAddr: n.clusterAddr, AdvertiseAddr: n.clusterAddr, RemoteAddrs: [first.clusterAddr], JoinToken: token,
      });
      if (res.status !== 200) throw new Error(`${n.name} could not join: ${JSON.stringify(res.body)}`);
      const info = await api<{ Swarm: { NodeID: string } }>(n.socket, 'GET', '/info');
      n.nodeId = info.body.Swarm.NodeID;
    }
  }

  /**
   * Starts (or restarts) a node's daemon, logging to <data dir>/daemon.log (so it may outlive this
   * process, see deploy/local-cluster.ts), and waits until its API answers.
   */
  async startDaemon(n: BerthNode): Promise<void> {
    const args = [BERTH, 'daemon', '--data-dir', n.dataDir, '-H', `unix://${n.socket}`, '--hostname', n.name,
      '--log-level', this.options.logLevel ?? 'warn'];
    args.push('--runtime', this.options.runtime ?? 'process');
    const dockerHost = this.options.dockerHostFor?.(n);
    if (dockerHost) args.push('--docker-host', dockerHost);
    const [cmd, argv] = n.netns
      ? ['ip', ['netns', 'exec', n.netns, process.execPath, ...args]]
      : [process.execPath, args];
    mkdirSync(n.dataDir, { recursive: true });
    const log = openSync(join(n.dataDir, 'daemon.log'), 'a');
    const child = spawn(cmd, argv, { stdio: ['ignore', log, log], detached: this.options.detached ?? false });
    closeSync(log);
    n.child = child;
    let exited: number | null | undefined;
    child.once('exit', (code) => { exited = code; });
    const deadline = Date.now() + DAEMON_START_TIMEOUT_MS;
    for (;;) {
      if (exited !== undefined) {
        throw new Error(`${n.name}: daemon exited (${exited}) before it was ready: ${readFileSync(join(n.dataDir, 'daemon.log'), 'utf8').slice(-2000)}`);
      }
      if (await api(n.socket, 'GET', '/_ping').then((r) => r.status === 200, () => false)) return;
      if (Date.now() > deadline) throw new Error(`${n.name}: daemon did not answer within ${DAEMON_START_TIMEOUT_MS} ms`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** kill -9 (or another signal) by the recorded PID; resolves once the process is gone. */
  async kill(n: BerthNode, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = n.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // Under `ip netns exec` the daemon is the same process (exec), so the PID is the daemon's.
    child.kill(signal);
    await exited;
    n.child = null;
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.kill(n, 'SIGKILL')));
    // Tasks outlive their daemons by design (a restarted agent re-adopts them); a test cluster
    // going away takes them along: every process group its executors recorded, if still theirs.
    for (const n of this.nodes) killRecordedTasks(join(n.dataDir, 'executor', 'process'));
    if ((this.options.runtime ?? 'process') !== 'process') {
      for (const n of this.nodes) removeNodeContainers(n.nodeId, this.options.dockerHostFor?.(n));
    }
    for (const n of this.nodes) if (n.netns) execQuiet('ip', ['netns', 'del', n.netns]);
    if (this.bridge) removeBridge(this.bridge);
  }

  /** Writes the PIDs so `deploy/local-cluster down` can stop a cluster started by another process. */
  recordPids(file: string): void {
    writeFileSync(file, JSON.stringify({
      pids: this.nodes.map((n) => n.child?.pid).filter(Boolean),
      netns: this.nodes.map((n) => n.netns).filter(Boolean),
      bridge: this.bridge,
      baseDir: this.options.baseDir,
      runtime: this.options.runtime ?? 'process',
      nodeIds: this.nodes.map((n) => n.nodeId).filter(Boolean),
    }));
  }

  remove(): void {
    rmSync(this.options.baseDir, { recursive: true, force: true });
  }
}

/** Kills the process groups of the tasks an executor state dir records, if they are still those processes. */
export function killRecordedTasks(stateDir: string): void {
  for (const taskId of listTaskIds(stateDir)) {
    try {
      const state = JSON.parse(readFileSync(taskFiles(stateDir, taskId).state, 'utf8')) as PersistedTaskState;
      if (state.process && liveness(state.process) === 'alive') process.kill(-state.process.pgid, 'SIGKILL');
    } catch { /* unreadable or already gone */ }
  }
}

/** Force-removes the containers a node's Docker executor made (found by Swarm's node label). */
export function removeNodeContainers(nodeId: string, dockerHost?: string): void {
  if (!nodeId) return;
  const env = { ...process.env, ...(dockerHost ? { DOCKER_HOST: dockerHost } : {}) };
  try {
    const ids = execFileSync('docker', ['ps', '-aq', '--filter', `label=com.docker.swarm.node.id=${nodeId}`], { env, encoding: 'utf8' })
      .split('\n').filter(Boolean);
    if (ids.length > 0) execFileSync('docker', ['rm', '-f', '-v', ...ids], { env, stdio: 'ignore' });
  } catch { /* no engine there, or already gone */ }
}

function createBridge(name: string): string {
  execFileSync('ip', ['link', 'add', name, 'type', 'bridge']);
  execFileSync('ip', ['link', 'set', name, 'up']);
  // A host dockerd sets FORWARD's policy to DROP, and with br_netfilter that drops frames bridged
  // between our namespaces too: let this bridge's own traffic through (no-op without iptables).
  execQuiet('iptables', ['-I', 'FORWARD', '-i', name, '-o', name, '-j', 'ACCEPT']);
  return name;
}

/** Deletes a bridge createBridge made, with its FORWARD rule. */
export function removeBridge(name: string): void {
  execQuiet('iptables', ['-D', 'FORWARD', '-i', name, '-o', name, '-j', 'ACCEPT']);
  execQuiet('ip', ['link', 'del', name]);
}

function attachNamespace(netns: string, bridge: string, ip: string, index: number): void {
  const host = `${netns}h`.slice(0, 15);
  execFileSync('ip', ['netns', 'add', netns]);
  execFileSync('ip', ['link', 'add', host, 'type', 'veth', 'peer', 'name', `eth${index}`, 'netns', netns]);
  execFileSync('ip', ['link', 'set', host, 'master', bridge, 'up']);
  execFileSync('ip', ['-n', netns, 'link', 'set', `eth${index}`, 'name', 'eth0']);
  execFileSync('ip', ['-n', netns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
  execFileSync('ip', ['-n', netns, 'link', 'set', 'eth0', 'up']);
  execFileSync('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
}

function execQuiet(cmd: string, args: string[]): void {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
  } catch { /* already gone */ }
}
