// npm run bench:converge [-- --sizes 10,100,500]
// Real berth daemons on loopback (3 managers, 2 workers, process executor). Prints `name value
// unit` lines: time from `service create --replicas N` (through the Engine API, as `docker service
// create -d` sends it) until all N tasks run, for each N; then scale 100 → 200 → 0; and the
// control plane's CPU-seconds (all berth daemons) over the whole run.
//
// npm run bench:converge -- --runtime docker [--sizes 10,50,100] [--repeat 1] [--skip-swarm]
//     [--skip-berth] [--update-replicas 50] [--update-parallelism 10] [--update-monitor-ms MS]
//     [--kill-replicas 50] [--swarm-pull] [--timeout 900]
// Berth against Docker Swarm, on the same five container engines: deploy/docker-hosts.ts starts
// five dockerds, each in its own network namespace (needs root, iproute2, dockerd, busybox for
// the test image). Per repetition, first a Swarm (deploy/swarm-cluster.ts: 3 managers + 2 workers
// over those engines), then a Berth cluster (LocalBerthCluster, 3 managers + 2 workers on
// loopback, `--runtime docker`, node i driving engine i) run the same workload through the same
// Engine API requests to their first manager:
//   - converge N: POST /services/create (N replicas) until GET /tasks shows N running;
//   - update: a forced rolling update (TaskTemplate.ForceUpdate + 1; UpdateConfig Parallelism 10,
//     Delay 0, stop-first; StopGracePeriod 0, so stops are SIGKILLs) of a running service until
//     every replica runs the new template;
//   - worker kill: kill -9 of worker-2's agent (Swarm: its dockerd; Berth: its berth daemon; in
//     both cases that node's containers run on, orphaned, as after a host's agent crashes) until
//     the tasks it had run on the other nodes again (running tasks off worker-2 = N).
// Service: berth-test/busybox:latest (deploy/test-image.sh), Args `sleep 3600`, restart
// condition any with Delay 0 (Docker's default delay, 5 s, would otherwise sit inside the
// worker-kill time on both sides), endpoint mode dnsrr (no ip_vs here: no VIPs), no ports.
// Between workloads the service is removed and every engine waited on until it has no container.
// CPU-seconds per workload: Berth's control plane is every berth daemon (utime+stime, /proc);
// Swarm's lives inside dockerd, so both sides report their engines' CPU (dockerd + its
// containerd, all five) and Swarm's control plane is estimated as engine CPU (Swarm run) − engine
// CPU (Berth run of the same workload): the container work counts equally on both sides; the
// estimate also subtracts the engine CPU Berth's executors cost by calling the API (Swarm's agent
// calls in-process), so it errs low, i.e. against Berth.
// Right after forming, 5 s of an empty cluster give the background rate (<side>_idle_engine_cpu_
// ms_per_s, berth_idle_control_plane_cpu_ms_per_s, swarm_idle_control_plane_cpu_ms_per_s_est):
// it is inside every workload's CPU-seconds in proportion to the workload's duration.
// Lines: <side>_<workload>_ms, <workload>_ratio (berth/swarm), <side>_<workload>_engine_cpu_s,
// berth_<workload>_control_plane_cpu_s, swarm_<workload>_control_plane_cpu_s_est,
// <workload>_control_plane_cpu_ratio; totals berth_control_plane_cpu_s and
// swarm_control_plane_cpu_s_est; with --repeat, medians. Everything it made is removed at the
// end, on failure and on Ctrl-C too; after a SIGKILL: node dist/deploy/docker-hosts.js down
// /run/berth-bench/<tag>.json.

import { readFileSync, rmSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LocalBerthCluster, api, BerthNode } from '../../deploy/berth-cluster.js';
import { DockerHosts, TEST_IMAGE, engine, processCpuSeconds, sleep, stopAllDockerHosts } from '../../deploy/docker-hosts.js';
import { DockerSwarm } from '../../deploy/swarm-cluster.js';

interface ApiTask { DesiredState: string; NodeID?: string; Spec?: { ForceUpdate?: number }; Status: { State: string } }
interface ApiService { ID: string; Version: { Index: number }; Spec: { Mode: { Replicated: { Replicas: number } } } & Record<string, unknown> }

const { values } = parseArgs({
  options: {
    sizes: { type: 'string' },
    runtime: { type: 'string', default: 'process' },
    repeat: { type: 'string', default: '1' },
    'skip-swarm': { type: 'boolean', default: false },
    'skip-berth': { type: 'boolean', default: false },
    'update-replicas': { type: 'string', default: '50' },
    'update-parallelism': { type: 'string', default: '10' },
    'kill-replicas': { type: 'string', default: '50' },
    timeout: { type: 'string', default: '900' },
    'swarm-pull': { type: 'boolean', default: false },
    'update-monitor-ms': { type: 'string' },
  },
});

// ---------------------------------------------------------------------------------------------
// The process-executor benchmark (default).

async function processBench(sizes: number[]): Promise<void> {
  async function runningCount(node: BerthNode, service: string): Promise<number> {
    // Observed state only: scaling down is done when the processes have stopped, not when asked to.
    const filters = encodeURIComponent(JSON.stringify({ service: { [service]: true } }));
    const res = await api<ApiTask[]>(node.socket, 'GET', `/tasks?filters=${filters}`);
    return res.status === 200 ? res.body.filter((t) => t.Status.State === 'running').length : -1;
  }

  /** utime + stime of a process, in seconds (Linux /proc). */
  function cpuSeconds(pid: number): number {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      return 0;
    }
  }

  function spec(name: string, replicas: number): Record<string, unknown> {
    return {
      Name: name,
      TaskTemplate: { ContainerSpec: { Image: 'busybox:latest', Args: ['sleep', '3600'] }, RestartPolicy: { Condition: 'none' } },
      Mode: { Replicated: { Replicas: replicas } },
    };
  }

  const cluster = await LocalBerthCluster.start({ managers: 3, workers: 2, baseDir: mkdtempSync(join(tmpdir(), 'berth-bench-converge-')) });
  const manager = cluster.nodes[0];
  const cpuAtStart = cluster.nodes.map((n) => cpuSeconds(n.child!.pid!));
  try {
    for (const n of sizes) {
      const t0 = performance.now();
      const created = await api<{ ID: string }>(manager.socket, 'POST', '/services/create', spec(`c${n}`, n));
      if (created.status !== 201) throw new Error(`create failed: ${JSON.stringify(created.body)}`);
      await until(async () => (await runningCount(manager, created.body.ID)) === n);
      console.log(`converge_${n}_replicas_ms ${(performance.now() - t0).toFixed(0)} ms`);
      await api(manager.socket, 'DELETE', `/services/${created.body.ID}`);
      await until(async () => (await runningCount(manager, created.body.ID)) === 0);
    }

    const created = await api<{ ID: string }>(manager.socket, 'POST', '/services/create', spec('scale', 100));
    const id = created.body.ID;
    await until(async () => (await runningCount(manager, id)) === 100);
    for (const target of [200, 0]) {
      const current = (await api<ApiService>(manager.socket, 'GET', `/services/${id}`)).body;
      const t0 = performance.now();
      const updated = { ...current.Spec, Mode: { Replicated: { Replicas: target } } };
      const res = await api(manager.socket, 'POST', `/services/${id}/update?version=${current.Version.Index}`, updated);
      if (res.status !== 200) throw new Error(`scale failed: ${JSON.stringify(res.body)}`);
      await until(async () => (await runningCount(manager, id)) === target);
      console.log(`scale_to_${target}_ms ${(performance.now() - t0).toFixed(0)} ms`);
    }
    await api(manager.socket, 'DELETE', `/services/${id}`);
    const cpu = cluster.nodes.reduce((sum, n, i) => sum + cpuSeconds(n.child!.pid!) - cpuAtStart[i], 0);
    console.log(`control_plane_cpu_seconds ${cpu.toFixed(1)} s`);
  } finally {
    await new Promise((r) => setTimeout(r, 2000));
    await cluster.stop();
    cluster.remove();
  }
}

async function until(fn: () => Promise<boolean>, timeoutMs = 300_000, what = 'condition', pollMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(pollMs);
  }
}

// ---------------------------------------------------------------------------------------------
// Berth against Docker Swarm on five container engines (--runtime docker).

/** How often the task list is read while waiting: 100 ms resolution, little load on either side. */
const POLL_MS = 100;
/** The five nodes, in this order on both sides: engine i is node i's. */
const NODE_NAMES = ['manager-1', 'manager-2', 'manager-3', 'worker-1', 'worker-2'];
const MANAGERS = 3;
/** The node whose agent is killed: worker-2. */
const VICTIM = 4;
/** Bounds on each wait, so a stuck side fails the run instead of hanging it. */
const CONVERGE_TIMEOUT_MS = 180_000;
const CLEAN_TIMEOUT_MS = 60_000;

/** One orchestrator under test, seen through its first manager's Engine API. */
interface Side {
  kind: 'swarm' | 'berth';
  socket: string;
  /** Node IDs, index-aligned with the engines. */
  nodeIds: string[];
  /** PIDs of the control plane's own processes (Berth's daemons); Swarm's are the engines. */
  controlPlanePids(): number[];
  /** kill -9 of node i's agent. */
  killAgent(i: number): Promise<void>;
  /** After killAgent: bring node i's engine back to no containers. */
  recover(i: number): Promise<void>;
  teardown(): Promise<void>;
}

interface Sample { ms: number; engineCpu: number; controlPlaneCpu: number | null }

async function dockerBench(): Promise<void> {
  const sizes = (values.sizes ?? '10,50,100').split(',').map(Number);
  const repeat = Number(values.repeat);
  const updateReplicas = Number(values['update-replicas']);
  const updateParallelism = Number(values['update-parallelism']);
  const killReplicas = Number(values['kill-replicas']);
  const sides = (['swarm', 'berth'] as const).filter((s) => !values[`skip-${s}`]);
  const updateName = `update_${updateReplicas}_p${updateParallelism}`;
  const results = new Map<string, Sample[]>();
  const record = (side: string, workload: string, s: Sample): void => {
    const key = `${side}:${workload}`;
    results.set(key, [...(results.get(key) ?? []), s]);
    progress(`${side} ${workload}: ${s.ms.toFixed(0)} ms, engine ${s.engineCpu.toFixed(2)} s CPU${s.controlPlaneCpu === null ? '' : `, control plane ${s.controlPlaneCpu.toFixed(2)} s CPU`}`);
  };

  let current: Side | null = null;
  let hosts: DockerHosts | null = null;
  let cleaning: Promise<void> | null = null;
  const cleanup = (): Promise<void> => {
    cleaning ??= (async () => {
      if (current) await current.teardown().catch((err) => progress(`teardown: ${(err as Error).message}`));
      await stopAllDockerHosts();
    })();
    return cleaning;
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      progress(`${signal}: cleaning up`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  const watchdog = setTimeout(() => {
    progress(`the whole run exceeded --timeout ${values.timeout} s: cleaning up`);
    void cleanup().finally(() => process.exit(1));
  }, Number(values.timeout) * 1000);
  watchdog.unref();

  try {
    const t0 = performance.now();
    hosts = await DockerHosts.start({ names: NODE_NAMES, preferOfflineImage: !values['swarm-pull'] });
    progress(`${hosts.hosts.length} engines up in ${((performance.now() - t0) / 1000).toFixed(1)} s (state: ${hosts.stateFile})`);
    for (let rep = 0; rep < repeat; rep++) {
      for (const kind of sides) {
        const formed = performance.now();
        current = kind === 'swarm' ? await swarmSide(hosts) : await berthSide(hosts);
        progress(`${kind} formed in ${((performance.now() - formed) / 1000).toFixed(1)} s (repetition ${rep + 1}/${repeat})`);
        record(kind, 'idle', await idleCpu(current, hosts));
        await runWorkloads(current, hosts, sizes, { updateReplicas, updateParallelism, killReplicas, updateName }, record);
        await current.teardown();
        current = null;
      }
    }
  } finally {
    await cleanup();
    clearTimeout(watchdog);
  }
  printIdle(results, sides);
  printResults(results, sides, sizes.map((n) => `converge_${n}`).concat([updateName, 'worker_kill_reschedule']));
}

/** How long the idle measurement lasts, after a settling second: CPU per second of a formed, empty cluster. */
const IDLE_MS = 5_000;

/**
 * The background cost of a formed cluster with nothing to do (heartbeats, Raft ticks, timers):
 * it is inside every workload's CPU-seconds, in proportion to how long the workload takes.
 */
async function idleCpu(side: Side, hosts: DockerHosts): Promise<Sample> {
  await sleep(1000);
  const meter = new CpuMeter(side, hosts);
  await sleep(IDLE_MS);
  const s = meter.result(IDLE_MS);
  return { ms: s.ms, engineCpu: s.engineCpu / (IDLE_MS / 1000), controlPlaneCpu: s.controlPlaneCpu === null ? null : s.controlPlaneCpu / (IDLE_MS / 1000) };
}

function printIdle(results: Map<string, Sample[]>, sides: readonly string[]): void {
  const med = (side: string, f: (s: Sample) => number | null): number | null => {
    const xs = (results.get(`${side}:idle`) ?? []).map(f).filter((x): x is number => x !== null);
    return xs.length ? median(xs) : null;
  };
  for (const side of sides) {
    const v = med(side, (s) => s.engineCpu);
    if (v !== null) console.log(`${side}_idle_engine_cpu_ms_per_s ${(v * 1000).toFixed(1)} ms/s`);
  }
  const berthCp = med('berth', (s) => s.controlPlaneCpu);
  if (berthCp !== null) console.log(`berth_idle_control_plane_cpu_ms_per_s ${(berthCp * 1000).toFixed(1)} ms/s`);
  const swarmEngine = med('swarm', (s) => s.engineCpu);
  const berthEngine = med('berth', (s) => s.engineCpu);
  if (swarmEngine !== null && berthEngine !== null) console.log(`swarm_idle_control_plane_cpu_ms_per_s_est ${((swarmEngine - berthEngine) * 1000).toFixed(1)} ms/s`);
}

async function swarmSide(hosts: DockerHosts): Promise<Side> {
  const swarm = await DockerSwarm.form(hosts.hosts, MANAGERS);
  return {
    kind: 'swarm',
    socket: swarm.socket,
    nodeIds: swarm.nodes.map((n) => n.nodeId),
    controlPlanePids: () => [],
    killAgent: (i) => hosts.kill(hosts.hosts[i], 'SIGKILL'),
    // A restarted dockerd (no live-restore) kills the containers its predecessor left running.
    recover: async (i) => {
      await hosts.startEngine(hosts.hosts[i]);
      await hosts.removeAllContainers(hosts.hosts[i]);
    },
    teardown: async () => {
      await swarm.leave();
      await waitEnginesEmpty(hosts);
    },
  };
}

async function berthSide(hosts: DockerHosts): Promise<Side> {
  const byName = new Map(hosts.hosts.map((h) => [h.name, h]));
  const baseDir = mkdtempSync(join(tmpdir(), 'berth-bench-converge-docker-'));
  let cluster: LocalBerthCluster;
  try {
    cluster = await LocalBerthCluster.start({
      managers: MANAGERS, workers: NODE_NAMES.length - MANAGERS, baseDir, runtime: 'docker',
      dockerHostFor: (n) => byName.get(n.name)?.dockerHost,
    });
  } catch (err) {
    rmSync(baseDir, { recursive: true, force: true });
    throw err;
  }
  if (cluster.nodes.map((n) => n.name).join() !== NODE_NAMES.join()) throw new Error(`unexpected Berth node names: ${cluster.nodes.map((n) => n.name)}`);
  let down = false;
  return {
    kind: 'berth',
    socket: cluster.nodes[0].socket,
    nodeIds: cluster.nodes.map((n) => n.nodeId),
    controlPlanePids: () => cluster.nodes.map((n) => n.child?.pid ?? 0),
    killAgent: (i) => cluster.kill(cluster.nodes[i], 'SIGKILL'),
    // The Berth worker is gone; its engine still runs the containers it had started.
    recover: async (i) => { await hosts.removeAllContainers(hosts.hosts[i]); },
    teardown: async () => {
      if (down) return;
      down = true;
      await cluster.stop();
      // Whatever the executors left (the daemons were killed): the engines are this bench's.
      await Promise.all(hosts.hosts.map((h) => hosts.removeAllContainers(h).catch(() => 0)));
      await waitEnginesEmpty(hosts);
      cluster.remove();
    },
  };
}

function serviceSpec(name: string, replicas: number, updateParallelism: number): Record<string, unknown> {
  // UpdateConfig.Monitor unset: Docker's default (5 s) on both sides, unless --update-monitor-ms.
  const monitor = values['update-monitor-ms'] === undefined ? {} : { Monitor: Number(values['update-monitor-ms']) * 1e6 };
  return {
    Name: name,
    TaskTemplate: {
      ContainerSpec: { Image: TEST_IMAGE, Args: ['sleep', '3600'], StopGracePeriod: 0 },
      RestartPolicy: { Condition: 'any', Delay: 0, MaxAttempts: 0 },
      ForceUpdate: 0,
    },
    Mode: { Replicated: { Replicas: replicas } },
    UpdateConfig: { Parallelism: updateParallelism, Delay: 0, Order: 'stop-first', ...monitor },
    EndpointSpec: { Mode: 'dnsrr' },
  };
}

async function tasksOf(side: Side, serviceId: string): Promise<ApiTask[]> {
  const filters = encodeURIComponent(JSON.stringify({ service: { [serviceId]: true } }));
  const res = await engine<ApiTask[]>(side.socket, 'GET', `/tasks?filters=${filters}`);
  if (res.status !== 200) throw new Error(`${side.kind}: GET /tasks: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

const running = (t: ApiTask): boolean => t.Status.State === 'running';

async function createService(side: Side, spec: Record<string, unknown>): Promise<string> {
  const res = await engine<{ ID: string }>(side.socket, 'POST', '/services/create', spec);
  if (res.status !== 201) throw new Error(`${side.kind}: service create: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.ID;
}

/** Removes the service and waits until no engine holds a container, so the next run starts clean. */
async function removeService(side: Side, hosts: DockerHosts, id: string): Promise<void> {
  const res = await engine(side.socket, 'DELETE', `/services/${id}`);
  if (res.status !== 200) throw new Error(`${side.kind}: service rm: ${res.status} ${JSON.stringify(res.body)}`);
  await waitEnginesEmpty(hosts);
}

async function waitEnginesEmpty(hosts: DockerHosts): Promise<void> {
  const live = hosts.hosts.filter((h) => h.child);
  const counts = async (): Promise<number[]> => Promise.all(live.map((h) => hosts.containerCount(h)));
  try {
    await until(async () => (await counts()).every((c) => c <= 0), CLEAN_TIMEOUT_MS, 'the engines to have no containers', POLL_MS);
  } catch {
    progress(`containers left after ${CLEAN_TIMEOUT_MS} ms (${(await counts()).join(',')}): removing them`);
    await Promise.all(live.map((h) => hosts.removeAllContainers(h)));
  }
}

/**
 * CPU-seconds of the engines and of the control plane over a window. A process that dies inside
 * the window (the killed agent) counts up to its last sample: call sample() just before a kill.
 */
class CpuMeter {
  private base = new Map<string, number>();
  private last = new Map<string, number>();

  constructor(private readonly side: Side, private readonly hosts: DockerHosts) {
    this.sample();
    this.base = new Map(this.last);
  }

  sample(): void {
    const read = (key: string, value: number): void => {
      if (value > 0 || !this.last.has(key)) this.last.set(key, value);
    };
    this.hosts.hosts.forEach((h) => read(`engine:${h.name}:${h.pid}`, this.hosts.cpuSeconds(h)));
    this.side.controlPlanePids().forEach((pid, i) => read(`cp:${i}:${pid}`, processCpuSeconds(pid)));
  }

  delta(prefix: 'engine' | 'cp'): number {
    let sum = 0;
    for (const [key, value] of this.last) if (key.startsWith(`${prefix}:`)) sum += value - (this.base.get(key) ?? value);
    return sum;
  }

  result(ms: number): Sample {
    this.sample();
    return { ms, engineCpu: this.delta('engine'), controlPlaneCpu: this.side.kind === 'berth' ? this.delta('cp') : null };
  }
}

async function runWorkloads(
  side: Side,
  hosts: DockerHosts,
  sizes: number[],
  opts: { updateReplicas: number; updateParallelism: number; killReplicas: number; updateName: string },
  record: (side: string, workload: string, s: Sample) => void,
): Promise<void> {
  const spec = (name: string, n: number) => serviceSpec(name, n, opts.updateParallelism);

  // Converge: create → N running.
  for (const n of sizes) {
    const meter = new CpuMeter(side, hosts);
    const t0 = performance.now();
    const id = await createService(side, spec(`converge-${n}`, n));
    await until(async () => (await tasksOf(side, id)).filter(running).length === n, CONVERGE_TIMEOUT_MS, `${n} running`, POLL_MS);
    record(side.kind, `converge_${n}`, meter.result(performance.now() - t0));
    await removeService(side, hosts, id);
  }

  // Forced rolling update: every replica replaced by one of the new template, SIGKILL stops.
  {
    const n = opts.updateReplicas;
    const id = await createService(side, spec('update', n));
    await until(async () => (await tasksOf(side, id)).filter(running).length === n, CONVERGE_TIMEOUT_MS, `${n} running before the update`, POLL_MS);
    const current = await engine<ApiService & { Spec: { TaskTemplate: { ForceUpdate?: number } } }>(side.socket, 'GET', `/services/${id}`);
    const force = (current.body.Spec.TaskTemplate.ForceUpdate ?? 0) + 1;
    const updated = { ...current.body.Spec, TaskTemplate: { ...current.body.Spec.TaskTemplate, ForceUpdate: force } };
    const meter = new CpuMeter(side, hosts);
    const t0 = performance.now();
    const res = await engine(side.socket, 'POST', `/services/${id}/update?version=${current.body.Version.Index}`, updated);
    if (res.status !== 200) throw new Error(`${side.kind}: service update: ${res.status} ${JSON.stringify(res.body)}`);
    await until(async () => {
      const live = (await tasksOf(side, id)).filter(running);
      return live.length === n && live.every((t) => t.Spec?.ForceUpdate === force);
    }, CONVERGE_TIMEOUT_MS, `${n} running the new template`, POLL_MS);
    record(side.kind, opts.updateName, meter.result(performance.now() - t0));
    await removeService(side, hosts, id);
  }

  // Worker kill: kill -9 worker-2's agent → its tasks running elsewhere.
  {
    const n = opts.killReplicas;
    const victim = side.nodeIds[VICTIM];
    const id = await createService(side, spec('kill', n));
    await until(async () => (await tasksOf(side, id)).filter(running).length === n, CONVERGE_TIMEOUT_MS, `${n} running before the kill`, POLL_MS);
    const onVictim = (await tasksOf(side, id)).filter((t) => running(t) && t.NodeID === victim).length;
    if (onVictim === 0) throw new Error(`${side.kind}: no task of ${n} runs on ${NODE_NAMES[VICTIM]}: nothing to reschedule`);
    const meter = new CpuMeter(side, hosts);
    const t0 = performance.now();
    await side.killAgent(VICTIM);
    meter.sample();
    await until(async () => (await tasksOf(side, id)).filter((t) => running(t) && t.NodeID !== victim).length === n,
      CONVERGE_TIMEOUT_MS, `${n} running off ${NODE_NAMES[VICTIM]}`, POLL_MS);
    record(side.kind, 'worker_kill_reschedule', meter.result(performance.now() - t0));
    progress(`${side.kind}: ${onVictim} tasks were on ${NODE_NAMES[VICTIM]}`);
    await engine(side.socket, 'DELETE', `/services/${id}`);
    await side.recover(VICTIM);
    await waitEnginesEmpty(hosts);
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function printResults(results: Map<string, Sample[]>, sides: readonly string[], workloads: string[]): void {
  const med = (side: string, w: string, f: (s: Sample) => number | null): number | null => {
    const xs = (results.get(`${side}:${w}`) ?? []).map(f).filter((x): x is number => x !== null);
    return xs.length ? median(xs) : null;
  };
  const line = (name: string, value: number | null, unit: string, digits: number): void => {
    if (value !== null && Number.isFinite(value)) console.log(`${name} ${value.toFixed(digits)} ${unit}`);
  };
  let berthTotal = 0;
  let swarmTotal = 0;
  let both = true;
  for (const w of workloads) {
    const swarmMs = med('swarm', w, (s) => s.ms);
    const berthMs = med('berth', w, (s) => s.ms);
    for (const side of sides) line(`${side}_${w}_ms`, med(side, w, (s) => s.ms), 'ms', 0);
    if (swarmMs !== null && berthMs !== null) line(`${w}_ratio`, berthMs / swarmMs, 'x', 2);
    for (const side of sides) line(`${side}_${w}_engine_cpu_s`, med(side, w, (s) => s.engineCpu), 's', 2);
    const berthCp = med('berth', w, (s) => s.controlPlaneCpu);
    line(`berth_${w}_control_plane_cpu_s`, berthCp, 's', 2);
    const swarmEngine = med('swarm', w, (s) => s.engineCpu);
    const berthEngine = med('berth', w, (s) => s.engineCpu);
    const swarmCp = swarmEngine !== null && berthEngine !== null ? swarmEngine - berthEngine : null;
    line(`swarm_${w}_control_plane_cpu_s_est`, swarmCp, 's', 2);
    if (berthCp !== null && swarmCp !== null && swarmCp > 0) line(`${w}_control_plane_cpu_ratio`, berthCp / swarmCp, 'x', 2);
    if (berthCp !== null) berthTotal += berthCp; else both = false;
    if (swarmCp !== null) swarmTotal += swarmCp; else both = false;
  }
  if (sides.includes('berth')) line('berth_control_plane_cpu_s', berthTotal, 's', 2);
  if (both) line('swarm_control_plane_cpu_s_est', swarmTotal, 's', 2);
}

function progress(message: string): void {
  process.stderr.write(`# ${message}\n`);
}

// Last: the constants above must be initialised before either benchmark runs.
if (values.runtime === 'docker') {
  await dockerBench().catch((err: Error) => {
    console.error(`bench:converge --runtime docker failed: ${err.stack ?? err.message}`);
    process.exit(1);
  });
} else if (values.runtime === 'process') {
  await processBench((values.sizes ?? '10,100,500').split(',').map(Number));
} else {
  console.error(`--runtime must be process or docker, not ${values.runtime}`);
  process.exit(2);
}
