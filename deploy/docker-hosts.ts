// Separate Docker engines on one machine, each as if it were its own host: every dockerd runs in
// its own network namespace (a veth into a private bridge, its own 10.x address, loopback up),
// with its own data root, exec root, pidfile, API socket and managed containerd. Benchmarks put
// a Docker Swarm (deploy/swarm-cluster.ts) or a Berth cluster (runtime docker) on top of them.
//
//   node dist/deploy/docker-hosts.js up [--count 5] [--no-image]   # prints one line per engine
//   node dist/deploy/docker-hosts.js down [state-file]              # stops what `up` recorded
//
// What this kernel and Debian's docker.io need, found by trying:
//   - `nsenter --net=/run/netns/X dockerd`, not `ip netns exec X dockerd`: the latter also makes a
//     mount namespace and remounts /sys, which hides the cgroup v1 mounts under /sys/fs/cgroup
//     ("failed to start daemon: Devices cgroup isn't mounted"). With nsenter only the network
//     namespace changes, so the engine's overlay and netns mounts are in the host's mount
//     namespace, where stop() can see and unmount them.
//   - The host's own dockerd sets iptables' FORWARD policy to DROP and br_netfilter is loaded
//     (bridge-nf-call-iptables=1), so frames bridged between two namespaces are dropped unless
//     FORWARD accepts the bridge: one `-i br -o br -j ACCEPT` rule, removed by stop().
//   - `--bridge none --iptables=false --ip-masq=false`: no docker0 per engine, no rules in the
//     namespaces; Swarm still makes docker_gwbridge inside each namespace when it needs one.
//   - The exec root under /run/berth-bench/… keeps the managed containerd's sockets and state
//     apart per engine (containerd's root is <data root>/containerd).
//   - kill -9 of a dockerd takes its managed containerd along (it is started with a parent-death
//     signal) but not the containerd-shims nor the containers: they run on, like a crashed host's
//     workloads. A restarted dockerd (live-restore off) kills them; stop() also sweeps them from
//     the pidfiles the engine wrote (containerd.pid, each task's init.pid and shim.pid).
//
// Processes are only ever signalled by the PIDs recorded here or written by these engines into
// their own exec roots; nothing is looked up by name.

import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TEST_IMAGE_SCRIPT = fileURLToPath(new URL('../../deploy/test-image.sh', import.meta.url));
/** The image deploy/test-image.sh builds; the benchmarks' services run it. */
export const TEST_IMAGE = 'berth-test/busybox:latest';
/** Where each engine's socket, exec root and pidfile live (a tmpfs, like /run/docker). */
export const DEFAULT_RUN_DIR = '/run/berth-bench';
/** dockerd answers /_ping in 1–3 s here; 30 s allows for a loaded 2-core machine. */
const ENGINE_START_TIMEOUT_MS = 30_000;
/** SIGTERM lets dockerd stop its containers and containerd; after this it gets SIGKILL. */
const ENGINE_STOP_GRACE_MS = 10_000;
/** Passed as --shutdown-timeout: the containers here run `sleep`, there is nothing to flush. */
const ENGINE_SHUTDOWN_TIMEOUT_S = 2;
/** Engine API requests are local; one that takes longer than this is a hung engine. */
const ENGINE_REQUEST_TIMEOUT_MS = 30_000;

export interface DockerHost {
  name: string;
  index: number;
  netns: string;
  /** The host side of the namespace's veth pair. */
  veth: string;
  /** The engine's address inside its namespace (Swarm advertises it). */
  ip: string;
  /** /run/berth-bench/<tag>/<name>: socket, pidfile, exec root. */
  runDir: string;
  socket: string;
  /** unix://<socket>, for DOCKER_HOST or `berth daemon --docker-host`. */
  dockerHost: string;
  execRoot: string;
  pidfile: string;
  dataRoot: string;
  log: string;
  child: ChildProcess | null;
  pid: number;
}

export interface DockerHostsOptions {
  /** Engine names, one per engine (e.g. manager-1 … worker-2). */
  names: string[];
  /** Parent of the data roots (default: a new temp dir). Must not be a tmpfs-less overlay. */
  baseDir?: string;
  /** Parent of the per-engine run dirs (default /run/berth-bench/<tag>). */
  runDir?: string;
  /** Import deploy/test-image.sh's image into every engine (default true). */
  image?: boolean;
  /**
   * Sets DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 in each dockerd (default true): Swarm's executor
   * otherwise tries a registry pull before every task start even when the image is local, which
   * here (no registry) only adds a failing DNS lookup per task to the Swarm side.
   */
  preferOfflineImage?: boolean;
  logLevel?: string;
}

/** What stop() (or `down` from another process) needs to undo everything. */
interface HostsState {
  tag: string;
  bridge: string;
  iptablesRule: string[] | null;
  baseDir: string;
  runDir: string;
  hosts: { name: string; netns: string; veth: string; runDir: string; execRoot: string; dataRoot: string; pid: number }[];
}

/** Every DockerHosts not yet stopped, so a signal handler can stop them all (stopAllDockerHosts). */
const live = new Set<DockerHosts>();

/** Stops every DockerHosts of this process: for SIGINT/SIGTERM handlers. */
export async function stopAllDockerHosts(): Promise<void> {
  await Promise.all([...live].map((h) => h.stop()));
}

export class DockerHosts {
  readonly hosts: DockerHost[] = [];
  readonly tag: string;
  readonly bridge: string;
  readonly subnet: string;
  readonly baseDir: string;
  readonly runDir: string;
  private iptablesRule: string[] | null = null;
  private bridgeMade = false;
  private stopped = false;

  private constructor(private readonly options: DockerHostsOptions) {
    this.tag = String(process.pid % 10000);
    this.bridge = `bdbr${this.tag}`;
    this.subnet = freeSubnet(Number(this.tag));
    this.baseDir = options.baseDir ?? mkdtempSync(join(tmpdir(), 'berth-docker-hosts-'));
    this.runDir = options.runDir ?? join(DEFAULT_RUN_DIR, this.tag);
    live.add(this);
  }

  get stateFile(): string {
    return `${this.runDir}.json`;
  }

  /** Creates the bridge and namespaces, starts every engine, waits for each, imports the image. */
  static async start(options: DockerHostsOptions): Promise<DockerHosts> {
    const hosts = new DockerHosts(options);
    try {
      hosts.createNetwork();
      await Promise.all(hosts.hosts.map((h) => hosts.startEngine(h)));
      if (options.image ?? true) for (const h of hosts.hosts) importTestImage(h);
    } catch (err) {
      await hosts.stop();
      throw err;
    }
    return hosts;
  }

  private createNetwork(): void {
    mkdirSync(this.baseDir, { recursive: true });
    mkdirSync(this.runDir, { recursive: true });
    run('ip', ['link', 'add', this.bridge, 'type', 'bridge']);
    this.bridgeMade = true;
    run('ip', ['addr', 'add', `${this.subnet}.1/24`, 'dev', this.bridge]);
    run('ip', ['link', 'set', this.bridge, 'up']);
    const rule = ['FORWARD', '-i', this.bridge, '-o', this.bridge, '-j', 'ACCEPT'];
    try {
      execFileSync('iptables', ['-w', '-I', ...rule], { stdio: 'pipe' });
      this.iptablesRule = rule;
    } catch { /* no iptables: nothing filters the bridge either */ }
    this.writeState();
    this.options.names.forEach((name, index) => {
      const netns = `bd${this.tag}-${index}`;
      const runDir = join(this.runDir, name);
      const host: DockerHost = {
        name, index, netns, veth: `bd${this.tag}-${index}h`, ip: `${this.subnet}.${index + 10}`,
        runDir, socket: join(runDir, 'docker.sock'), dockerHost: `unix://${join(runDir, 'docker.sock')}`,
        execRoot: join(runDir, 'exec'), pidfile: join(runDir, 'docker.pid'),
        dataRoot: join(this.baseDir, name, 'data'), log: join(this.baseDir, name, 'dockerd.log'),
        child: null, pid: 0,
      };
      this.hosts.push(host);
      this.writeState();
      mkdirSync(runDir, { recursive: true });
      mkdirSync(host.dataRoot, { recursive: true });
      // An empty config file: an /etc/docker/daemon.json, if one appears, is the host engine's.
      writeFileSync(join(runDir, 'daemon.json'), '{}\n');
      run('ip', ['netns', 'add', netns]);
      run('ip', ['link', 'add', host.veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
      run('ip', ['link', 'set', host.veth, 'master', this.bridge, 'up']);
      run('ip', ['-n', netns, 'addr', 'add', `${host.ip}/24`, 'dev', 'eth0']);
      run('ip', ['-n', netns, 'link', 'set', 'eth0', 'up']);
      run('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
    });
    this.writeState();
  }

  /** Starts (or restarts, with the same dirs) one engine and waits until its API answers. */
  async startEngine(h: DockerHost): Promise<void> {
    if (this.stopped) throw new Error(`${h.name}: the engines are being stopped`);
    const args = [
      `--net=/run/netns/${h.netns}`, 'dockerd',
      '--config-file', join(h.runDir, 'daemon.json'),
      '--data-root', h.dataRoot, '--exec-root', h.execRoot, '--pidfile', h.pidfile,
      '-H', h.dockerHost,
      '--bridge', 'none', '--iptables=false', '--ip-masq=false', '--userland-proxy=false',
      '--shutdown-timeout', String(ENGINE_SHUTDOWN_TIMEOUT_S),
      '--log-level', this.options.logLevel ?? 'warn',
    ];
    const env = { ...process.env };
    if (this.options.preferOfflineImage ?? true) env.DOCKER_SERVICE_PREFER_OFFLINE_IMAGE = '1';
    const log = openSync(h.log, 'a');
    // Its own process group: a Ctrl-C at the terminal reaches us, and stop() decides.
    const child = spawn('nsenter', args, { stdio: ['ignore', log, log], detached: true, env });
    closeSync(log);
    h.child = child;
    h.pid = child.pid ?? 0;
    this.writeState();
    let exited: string | undefined;
    child.once('exit', (code, signal) => { exited = `${code ?? signal}`; });
    const deadline = Date.now() + ENGINE_START_TIMEOUT_MS;
    for (;;) {
      if (exited !== undefined) {
        throw new Error(`${h.name}: dockerd exited (${exited}) before it answered: ${tail(h.log)}`);
      }
      if (await engine(h.socket, 'GET', '/_ping', undefined, 2000).then((r) => r.status === 200, () => false)) return;
      if (Date.now() > deadline) throw new Error(`${h.name}: dockerd did not answer within ${ENGINE_START_TIMEOUT_MS} ms: ${tail(h.log)}`);
      await sleep(100);
    }
  }

  /**
   * Signals a dockerd by its recorded PID and waits until it is gone. SIGKILL is a host crash as
   * far as the orchestrator can tell: containerd goes too, containers run on.
   */
  async kill(h: DockerHost, signal: NodeJS.Signals = 'SIGKILL', graceMs = ENGINE_STOP_GRACE_MS): Promise<void> {
    const child = h.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      h.child = null;
      return;
    }
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = signal === 'SIGKILL' ? undefined : setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
    h.child = null;
  }

  /** Force-removes every container of an engine (they are all this harness's). */
  async removeAllContainers(h: DockerHost): Promise<number> {
    const list = await engine<{ Id: string }[]>(h.socket, 'GET', '/containers/json?all=1');
    if (list.status !== 200) throw new Error(`${h.name}: cannot list containers: ${JSON.stringify(list.body)}`);
    await mapLimit(list.body, 8, (c) => engine(h.socket, 'DELETE', `/containers/${c.Id}?force=1&v=1`));
    return list.body.length;
  }

  /** How many containers an engine holds (all states); -1 if it does not answer. */
  async containerCount(h: DockerHost): Promise<number> {
    const res = await engine<unknown[]>(h.socket, 'GET', '/containers/json?all=1', undefined, 5000).catch(() => null);
    return res && res.status === 200 ? res.body.length : -1;
  }

  /** utime+stime of an engine: its dockerd and the containerd it manages (seconds). */
  cpuSeconds(h: DockerHost): number {
    if (!h.child || !h.pid) return 0;
    return processCpuSeconds(h.pid) + processCpuSeconds(readPid(join(h.execRoot, 'containerd', 'containerd.pid')));
  }

  /**
   * Stops everything, whatever state it is in; safe to call twice. Containers first (through the
   * API while the engine answers), then each dockerd (SIGTERM, SIGKILL after a grace), then
   * whatever the engines' pidfiles still name, mounts, dirs, namespaces, veths, bridge, rule.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    live.delete(this);
    await Promise.all(this.hosts.map(async (h) => {
      if (h.child) await this.removeAllContainers(h).catch(() => undefined);
      await this.kill(h, 'SIGTERM');
    }));
    teardown(this.state());
  }

  private state(): HostsState {
    return {
      tag: this.tag, bridge: this.bridgeMade ? this.bridge : '', iptablesRule: this.iptablesRule,
      baseDir: this.baseDir, runDir: this.runDir,
      hosts: this.hosts.map((h) => ({ name: h.name, netns: h.netns, veth: h.veth, runDir: h.runDir, execRoot: h.execRoot, dataRoot: h.dataRoot, pid: h.pid })),
    };
  }

  private writeState(): void {
    writeFileSync(this.stateFile, JSON.stringify(this.state(), null, 1));
  }
}

/**
 * Undoes what a DockerHosts recorded. The engines' processes must already be stopped (stop()), or
 * they are killed here by the recorded PIDs (`down` after a crashed benchmark).
 */
function teardown(state: HostsState): void {
  const alive = state.hosts.filter((h) => h.pid && isProcess(h.pid, 'dockerd', h.execRoot));
  for (const h of alive) signalQuiet(h.pid, 'SIGTERM');
  const deadline = Date.now() + ENGINE_STOP_GRACE_MS;
  while (alive.some((h) => isProcess(h.pid, 'dockerd', h.execRoot)) && Date.now() < deadline) sleepSync(100);
  for (const h of alive) if (isProcess(h.pid, 'dockerd', h.execRoot)) signalQuiet(h.pid, 'SIGKILL');
  for (const h of state.hosts) sweepEngineProcesses(h.execRoot);
  for (const h of state.hosts) {
    removeTree(h.runDir);
    removeTree(join(h.dataRoot, '..'));
  }
  for (const h of state.hosts) {
    runQuiet('ip', ['link', 'del', h.veth]);
    runQuiet('ip', ['netns', 'del', h.netns]);
  }
  if (state.bridge) runQuiet('ip', ['link', 'del', state.bridge]);
  if (state.iptablesRule) runQuiet('iptables', ['-w', '-D', ...state.iptablesRule]);
  removeTree(state.runDir);
  rmSync(`${state.runDir}.json`, { force: true });
  // Only if empty: anything else there is not ours.
  for (const dir of [state.baseDir, DEFAULT_RUN_DIR]) try { rmdirSync(dir); } catch { /* not empty, or gone */ }
}

/**
 * Kills what an engine left running after its dockerd died: containerd (containerd.pid), then
 * each task's container process (init.pid) and its shim (the container's parent), from the
 * pidfiles the engine wrote under its own exec root. A PID is only signalled if it is still that
 * process (its cgroup names the container, or its cmdline names the exec root), so a recycled PID
 * is left alone.
 */
function sweepEngineProcesses(execRoot: string): void {
  const containerd = join(execRoot, 'containerd');
  const pid = readPid(join(containerd, 'containerd.pid'));
  if (pid && isProcess(pid, 'containerd', execRoot)) killQuiet(pid);
  const tasks = join(containerd, 'daemon', 'io.containerd.runtime.v2.task', 'moby');
  let ids: string[] = [];
  try { ids = readdirSync(tasks); } catch { return; }
  for (const id of ids) {
    const init = readPid(join(tasks, id, 'init.pid'));
    if (!init || !readText(`/proc/${init}/cgroup`).includes(id)) continue;
    // containerd 1.6 writes no shim.pid: the shim is the container's parent.
    const shim = parentPid(init);
    killQuiet(init);
    if (shim && isProcess(shim, 'containerd-shim', execRoot)) killQuiet(shim);
  }
  // The containers' cgroups (cgroupfs driver: /sys/fs/cgroup/<controller>/docker/<id>) stay
  // behind, empty, when their processes were killed here rather than by runc.
  let controllers: string[] = [];
  try { controllers = readdirSync('/sys/fs/cgroup'); } catch { /* no cgroupfs */ }
  let left = ids.flatMap((id) => controllers.map((c) => join('/sys/fs/cgroup', c, 'docker', id))).filter(existsSync);
  // A killed process leaves its cgroup a moment later: retry for up to a second.
  for (let attempt = 0; attempt < 10 && left.length > 0; attempt++) {
    if (attempt > 0) sleepSync(100);
    left = left.filter((dir) => {
      try { rmdirSync(dir); return false; } catch (err) { return (err as NodeJS.ErrnoException).code !== 'ENOENT'; }
    });
  }
}

/** Unmounts everything at or below `root` (deepest first: overlays, netns binds, the data root's own bind), then deletes it. */
export function removeTree(root: string): void {
  if (!root || root === '/') return;
  const prefix = root.endsWith('/') ? root : `${root}/`;
  for (let pass = 0; pass < 3; pass++) {
    const mounts = mountPointsUnder(prefix, root);
    if (mounts.length === 0) break;
    for (const m of mounts) {
      try {
        execFileSync('umount', [m], { stdio: 'ignore' });
      } catch {
        runQuiet('umount', ['-l', m]);
      }
    }
  }
  try {
    rmSync(root, { recursive: true, force: true });
  } catch (err) {
    console.error(`could not remove ${root}: ${(err as Error).message}`);
  }
}

function mountPointsUnder(prefix: string, root: string): string[] {
  // mountinfo field 5 is the mount point, octal-escaped (\040 for a space).
  const points = readText('/proc/self/mountinfo').split('\n').filter(Boolean)
    .map((line) => line.split(' ')[4].replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === root || p.startsWith(prefix));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/** Runs deploy/test-image.sh against one engine. */
function importTestImage(h: DockerHost): void {
  try {
    execFileSync(TEST_IMAGE_SCRIPT, [TEST_IMAGE], { env: { ...process.env, DOCKER_HOST: h.dockerHost }, stdio: 'pipe' });
  } catch (err) {
    const e = err as { stderr?: Buffer };
    throw new Error(`${h.name}: importing ${TEST_IMAGE} failed: ${e.stderr?.toString() ?? String(err)}`);
  }
}

/** A small Engine API client over a unix socket, with a timeout (a hung engine fails the call). */
export function engine<T = unknown>(socket: string, method: string, path: string, body?: unknown, timeoutMs = ENGINE_REQUEST_TIMEOUT_MS): Promise<{ status: number; body: T }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request({
      socketPath: socket, method, path: `/v1.41${path}`, timeout: timeoutMs,
      headers: payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {},
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let parsed: unknown = text;
        try { parsed = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
        resolve({ status: res.statusCode ?? 0, body: parsed as T });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** utime + stime of a process in seconds (Linux /proc; USER_HZ is 100); 0 if it is gone. */
export function processCpuSeconds(pid: number): number {
  if (!pid) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** A /24 of 10.214.x.0 that no route on this machine uses yet, starting from a seed. */
function freeSubnet(seed: number): string {
  const routes = readText('/proc/net/route') + execQuietOut('ip', ['-4', 'route', 'show', 'table', 'all']);
  for (let i = 0; i < 250; i++) {
    const subnet = `10.214.${(seed + i) % 250}`;
    if (!routes.includes(`${subnet}.`)) return subnet;
  }
  throw new Error('no free 10.214.x.0/24 subnet');
}

function isProcess(pid: number, comm: string, mustMention: string): boolean {
  const name = readText(`/proc/${pid}/comm`).trim();
  const cmdline = readText(`/proc/${pid}/cmdline`).replace(/\0/g, ' ');
  return name.startsWith(comm.slice(0, 15)) && cmdline.includes(mustMention);
}

function parentPid(pid: number): number {
  const fields = readText(`/proc/${pid}/stat`).split(') ')[1]?.split(' ') ?? [];
  return Number(fields[1]) || 0;
}

function readPid(file: string): number {
  const n = Number(readText(file).trim());
  return Number.isInteger(n) && n > 1 ? n : 0;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function tail(file: string): string {
  return readText(file).slice(-1500);
}

function killQuiet(pid: number): void {
  signalQuiet(pid, 'SIGKILL');
}

function signalQuiet(pid: number, signal: NodeJS.Signals): void {
  try { process.kill(pid, signal); } catch { /* already gone */ }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function run(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: 'pipe' });
}

function runQuiet(cmd: string, args: string[]): void {
  try { execFileSync(cmd, args, { stdio: 'ignore' }); } catch { /* already gone */ }
}

function execQuietOut(cmd: string, args: string[]): string {
  try { return execFileSync(cmd, args, { encoding: 'utf8' }); } catch { return ''; }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Runs fn over items, at most `limit` at a time. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  }));
  return out;
}

/** `down` for a DockerHosts whose process died: kills by the recorded PIDs and removes the rest. */
export function teardownFromStateFile(file: string): void {
  teardown(JSON.parse(readFileSync(file, 'utf8')) as HostsState);
}

// CLI: `up` leaves the engines running and prints where they are; `down` undoes it.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [command, arg] = process.argv.slice(2);
  if (command === 'up') {
    const count = Number(process.argv.includes('--count') ? process.argv[process.argv.indexOf('--count') + 1] : 5);
    const names = Array.from({ length: count }, (_, i) => `engine-${i + 1}`);
    const hosts = await DockerHosts.start({ names, image: !process.argv.includes('--no-image'), runDir: join(DEFAULT_RUN_DIR, `cli-${process.pid}`) });
    for (const h of hosts.hosts) {
      console.log(`${h.name} ip=${h.ip} netns=${h.netns} DOCKER_HOST=${h.dockerHost} pid=${h.pid}`);
      h.child?.unref();
    }
    console.log(`state: ${hosts.stateFile}  (node dist/deploy/docker-hosts.js down ${hosts.stateFile})`);
    process.exit(0);
  } else if (command === 'down') {
    // One state file at a time, named: another benchmark may be using the engines of another.
    if (!arg || !existsSync(arg)) {
      const recorded = existsSync(DEFAULT_RUN_DIR) ? readdirSync(DEFAULT_RUN_DIR).filter((f) => f.endsWith('.json')) : [];
      console.error(`usage: docker-hosts.js down <state-file>; recorded: ${recorded.map((f) => join(DEFAULT_RUN_DIR, f)).join(' ') || 'none'}`);
      process.exit(1);
    }
    teardownFromStateFile(arg);
    console.log(`removed ${arg}`);
  } else {
    console.error('usage: docker-hosts.js up [--count N] [--no-image] | down [state-file]');
    process.exit(2);
  }
}
