// Service and task logs on real daemons with the process executor, read with the stock docker
// CLI and with berth: three managers and a worker. Every replica's lines arrive complete and in
// order under docker's `name.slot.task@node    | ` prefix, from the leader and from a follower;
// --tail, --since and -t; -f sees new lines and tasks that start later, and ends when its client
// goes away; a request never hangs on a node that is gone; bad requests are refused with a message.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { LocalBerthCluster, api, BerthNode } from '../../deploy/berth-cluster.js';
import { eventually } from './eventually.js';
import { FrameDecoder } from '../../shared/log-frames.js';

const run = promisify(execFile);
const BERTH = fileURLToPath(new URL('../../cli/berth.js', import.meta.url));
/** A non-following request must finish well inside this; a hang fails the test instead of the suite. */
const COMMAND_TIMEOUT_MS = 20_000;

interface ApiTask { ID: string; Slot?: number; NodeID?: string; DesiredState: string; Status: { State: string } }
interface ApiNode { ID: string; Description: { Hostname: string }; Status: { State: string }; ManagerStatus?: { Leader?: boolean } }

let cluster: LocalBerthCluster;

function docker(node: BerthNode, ...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run('docker', args, { env: { ...process.env, DOCKER_HOST: `unix://${node.socket}` }, timeout: COMMAND_TIMEOUT_MS });
}

function berth(node: BerthNode, ...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, [BERTH, '-H', `unix://${node.socket}`, ...args], { env: { ...process.env, BERTH_HOST: undefined }, timeout: COMMAND_TIMEOUT_MS });
}

async function leaderAndFollower(): Promise<{ leader: BerthNode; follower: BerthNode }> {
  const nodes = (await api<ApiNode[]>(cluster.nodes[0].socket, 'GET', '/nodes')).body;
  const leaderId = nodes.find((n) => n.ManagerStatus?.Leader)!.ID;
  const managers = cluster.nodes.filter((n) => n.role === 'manager' && n.child);
  return { leader: managers.find((n) => n.nodeId === leaderId)!, follower: managers.find((n) => n.nodeId !== leaderId)! };
}

async function tasksOf(node: BerthNode, service: string): Promise<ApiTask[]> {
  const filters = encodeURIComponent(JSON.stringify({ service: { [service]: true } }));
  return (await api<ApiTask[]>(node.socket, 'GET', `/tasks?filters=${filters}`)).body;
}

async function runningTasks(node: BerthNode, service: string, count: number): Promise<ApiTask[]> {
  return eventually(`${count} running tasks of ${service}`, async () => {
    const running = (await tasksOf(node, service)).filter((t) => t.DesiredState === 'running' && t.Status.State === 'running');
    return running.length === count && running;
  });
}

async function hostnames(node: BerthNode): Promise<Map<string, string>> {
  const nodes = (await api<ApiNode[]>(node.socket, 'GET', '/nodes')).body;
  return new Map(nodes.map((n) => [n.ID, n.Description.Hostname]));
}

/** A raw GET of a log stream: status, content type, and the decoded frames once the response ends. */
function rawLogs(node: BerthNode, path: string): Promise<{ status: number; contentType: string; frames: { stream: string; text: string }[]; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath: node.socket, path: `/v1.41${path}` }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        const ok = (res.statusCode ?? 0) === 200;
        const frames = ok ? new FrameDecoder().push(body).map((f) => ({ stream: f.stream, text: f.payload.toString() })) : [];
        resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), frames, body: ok ? '' : body.toString() });
      });
    });
    req.setTimeout(COMMAND_TIMEOUT_MS, () => req.destroy(new Error(`GET ${path} did not finish`)));
    req.on('error', reject);
  });
}

const LINES = 40;

before(async () => {
  cluster = await LocalBerthCluster.start({ managers: 3, workers: 1, baseDir: mkdtempSync(join(tmpdir(), 'berth-logs-')) });
  await eventually('four ready nodes', async () =>
    (await api<ApiNode[]>(cluster.nodes[0].socket, 'GET', '/nodes')).body.filter((n) => n.Status.State === 'ready').length === 4);
  // Numbered lines on stdout, one on stderr, then quiet: every replica's whole log is known.
  await docker(cluster.nodes[0], 'service', 'create', '--detach', '--name', 'numbers', '--replicas', '3',
    'busybox', 'sh', '-c', `i=0; while [ $i -lt ${LINES} ]; do i=$((i+1)); echo "slot $BERTH_TASK_SLOT line $i"; done; echo "slot $BERTH_TASK_SLOT done" >&2; exec sleep 600`);
  await runningTasks(cluster.nodes[0], 'numbers', 3);
});

after(async () => {
  try {
    await docker(cluster.nodes[0], 'service', 'rm', 'numbers', 'ticker', 'phases').catch(() => undefined);
  } finally {
    await cluster?.stop();
    cluster?.remove();
  }
});

/** `name.slot.task@host    | text` lines, per task prefix, in output order. */
function byPrefix(output: string): Map<string, string[]> {
  const lines = new Map<string, string[]>();
  for (const line of output.split('\n')) {
    if (line === '') continue;
    const bar = line.indexOf(' | ');
    assert.ok(bar > 0, `no prefix in ${JSON.stringify(line)}`);
    const prefix = line.slice(0, bar).trimEnd();
    const list = lines.get(prefix) ?? [];
    list.push(line.slice(bar + 3));
    lines.set(prefix, list);
  }
  return lines;
}

async function expectedPrefixes(node: BerthNode): Promise<Map<number, string>> {
  const tasks = await runningTasks(node, 'numbers', 3);
  const hosts = await hostnames(node);
  return new Map(tasks.map((t) => [t.Slot!, `numbers.${t.Slot}.${t.ID.slice(0, 12)}@${hosts.get(t.NodeID!)}`]));
}

function assertComplete(stdout: string, stderr: string, prefixes: Map<number, string>): void {
  const out = byPrefix(stdout);
  const err = byPrefix(stderr);
  assert.equal(out.size, 3, `three tasks on stdout: ${[...out.keys()].join(', ')}`);
  for (const [slot, prefix] of prefixes) {
    const expected = Array.from({ length: LINES }, (_, i) => `slot ${slot} line ${i + 1}`);
    assert.deepEqual(out.get(prefix), expected, `every line of slot ${slot}, in order, under ${prefix}`);
    assert.deepEqual(err.get(prefix), [`slot ${slot} done`], `slot ${slot}'s stderr line on stderr`);
  }
}

test('docker service logs shows every replica\'s lines, in order, under name.slot.task@host', async () => {
  const { leader } = await leaderAndFollower();
  const prefixes = await expectedPrefixes(leader);
  // The tasks may still be writing right after they run: wait for the last line.
  await eventually('every replica has written its last line', async () => {
    const { stderr } = await docker(leader, 'service', 'logs', 'numbers');
    return stderr.split('\n').filter((l) => l.endsWith('done')).length === 3;
  });
  const started = Date.now();
  const { stdout, stderr } = await docker(leader, 'service', 'logs', 'numbers');
  console.log(`docker service logs (3 tasks × ${LINES + 1} lines) took ${Date.now() - started} ms`);
  assertComplete(stdout, stderr, prefixes);
});

test('the same through a follower manager, and by task ID', async () => {
  const { follower } = await leaderAndFollower();
  const prefixes = await expectedPrefixes(follower);
  const { stdout, stderr } = await docker(follower, 'service', 'logs', 'numbers');
  assertComplete(stdout, stderr, prefixes);

  const task = (await runningTasks(follower, 'numbers', 3)).find((t) => t.Slot === 2)!;
  const one = await docker(follower, 'service', 'logs', task.ID);
  const lines = byPrefix(one.stdout);
  assert.deepEqual([...lines.keys()], [prefixes.get(2)]);
  assert.equal(lines.get(prefixes.get(2)!)!.length, LINES);
});

test('--tail N gives each task\'s last N lines; -t puts the RFC3339Nano time first; --since keeps later lines only', async () => {
  const { leader } = await leaderAndFollower();
  const tail = await docker(leader, 'service', 'logs', '--tail', '3', 'numbers');
  // Each task's last 3 lines over both streams: lines 39 and 40 on stdout, "done" on stderr.
  for (const lines of byPrefix(tail.stdout).values()) assert.deepEqual(lines.map((l) => l.replace(/^slot \d /, '')), ['line 39', 'line 40']);
  assert.equal(byPrefix(tail.stderr).size, 3);

  const stamped = await docker(leader, 'service', 'logs', '-t', '--tail', '1', 'numbers');
  const stampedLines = stamped.stderr.trim().split('\n');
  assert.equal(stampedLines.length, 3);
  for (const line of stampedLines) assert.match(line, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z numbers\.\d\.[0-9a-z]{12}@\S+\s+\| slot \d done$/);

  // A service writing a line, then another two seconds later: --since between them keeps the second.
  await docker(leader, 'service', 'create', '--detach', '--name', 'phases', 'busybox', 'sh', '-c', 'echo first; sleep 2; echo second; exec sleep 600');
  const times = await eventually('both phases written', async () => {
    const { stdout } = await docker(leader, 'service', 'logs', '-t', 'phases');
    const found = new Map(stdout.trim().split('\n').map((l) => [l.slice(l.indexOf('| ') + 2), l.slice(0, l.indexOf(' '))] as const));
    return found.has('second') && found;
  });
  const since = times.get('second')!;
  const later = await docker(leader, 'service', 'logs', '--since', since, 'phases');
  assert.deepEqual([...byPrefix(later.stdout).values()].flat(), ['second']);
  const all = await docker(leader, 'service', 'logs', '--since', '1h', 'phases');
  assert.deepEqual([...byPrefix(all.stdout).values()].flat(), ['first', 'second']);
});

test('-f streams new lines, picks up a task that starts later, and ends when its client goes away', async () => {
  const { leader, follower } = await leaderAndFollower();
  await docker(leader, 'service', 'create', '--detach', '--name', 'ticker', '--replicas', '1', 'busybox', 'sh', '-c',
    'i=0; while true; do i=$((i+1)); echo "slot $BERTH_TASK_SLOT tick $i"; sleep 0.2; done');
  await runningTasks(leader, 'ticker', 1);
  // Through a follower: the follow is forwarded to the leader and back.
  const child = spawn('docker', ['service', 'logs', '-f', '--tail', '1', 'ticker'], { env: { ...process.env, DOCKER_HOST: `unix://${follower.socket}` } });
  let output = '';
  child.stdout.on('data', (c: Buffer) => { output += c.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const ticksOf = (slot: number): number[] => [...output.matchAll(new RegExp(`slot ${slot} tick (\\d+)`, 'g'))].map((m) => Number(m[1]));
    await eventually('new lines while following', async () => ticksOf(1).length >= 5, 15_000);
    const ticks = ticksOf(1);
    assert.deepEqual(ticks, Array.from({ length: ticks.length }, (_, i) => ticks[0] + i), 'consecutive ticks, in order');

    await docker(leader, 'service', 'scale', '--detach', 'ticker=2');
    await eventually('the new task\'s lines in the same stream', async () => ticksOf(2).length >= 3, 20_000);
    assert.equal(ticksOf(2)[0], 1, 'a task started later is shown from its first line');
  } finally {
    child.kill('SIGINT');
  }
  assert.notEqual(await Promise.race([exited, new Promise((r) => setTimeout(() => r('hung'), 5000))]), 'hung', 'docker exits once interrupted');
  // The subscription is gone on the leader too: a fresh non-following request still completes.
  const { stdout } = await docker(leader, 'service', 'logs', '--tail', '1', 'ticker');
  assert.equal(byPrefix(stdout).size, 2);
  await docker(leader, 'service', 'rm', 'ticker');
});

test('berth service logs prints as docker does, and takes the same flags', async () => {
  const { follower } = await leaderAndFollower();
  const prefixes = await expectedPrefixes(follower);
  const { stdout, stderr } = await berth(follower, 'service', 'logs', 'numbers');
  assertComplete(stdout, stderr, prefixes);
  const tail = await berth(follower, 'service', 'logs', '-t', '--tail', '1', '--no-task-ids', 'numbers');
  for (const line of tail.stderr.trim().split('\n')) assert.match(line, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z numbers\.\d@\S+\s+\| slot \d done$/);
  const missing = await berth(follower, 'service', 'logs', 'nosuch').then(() => null, (err: { stderr: string; code: number }) => err);
  assert.ok(missing, 'a missing service fails');
  assert.match(missing.stderr, /no such task or service: nosuch/);
});

test('bad requests are refused before the stream starts, with dockerd\'s messages', async () => {
  const { leader, follower } = await leaderAndFollower();
  const none = await rawLogs(follower, '/services/numbers/logs?stdout=0&stderr=0');
  assert.equal(none.status, 400);
  assert.deepEqual(JSON.parse(none.body), { message: 'Bad parameters: you must choose at least one stream' });
  const missing = await rawLogs(leader, '/services/nosuch/logs?stdout=1');
  assert.equal(missing.status, 404);
  assert.deepEqual(JSON.parse(missing.body), { message: 'service nosuch not found' });
  const noTask = await rawLogs(leader, '/tasks/nosuch/logs?stdout=1');
  assert.equal(noTask.status, 404);
  assert.deepEqual(JSON.parse(noTask.body), { message: 'task nosuch not found' });
  const tail = await rawLogs(leader, '/services/numbers/logs?stdout=1&tail=many');
  assert.equal(tail.status, 400);
  assert.match(JSON.parse(tail.body).message, /tail value must be a positive integer or "all"/);
  const since = await rawLogs(follower, '/services/numbers/logs?stdout=1&since=yesterday');
  assert.equal(since.status, 400);
  assert.match(JSON.parse(since.body).message, /could not parse since timestamp/);
  const cli = await docker(leader, 'service', 'logs', 'nosuch').then(() => null, (err: { stderr: string }) => err);
  assert.match(cli?.stderr ?? '', /no such task or service: nosuch/);

  // The raw stream: multiplexed, one line per frame, stdout and stderr apart, no details unless asked.
  const raw = await rawLogs(leader, '/services/numbers/logs?stdout=1&stderr=1&tail=1');
  assert.equal(raw.status, 200);
  assert.equal(raw.contentType, 'application/vnd.docker.multiplexed-stream');
  assert.deepEqual(raw.frames.map((f) => f.stream).sort(), ['stderr', 'stderr', 'stderr']);
  for (const frame of raw.frames) assert.match(frame.text, /^slot \d done\n$/);
  const onlyOut = await rawLogs(leader, '/services/numbers/logs?stdout=1&tail=1&details=1');
  assert.equal(onlyOut.frames.length, 3, 'stderr lines are left out before the tail is taken');
  for (const frame of onlyOut.frames) {
    assert.equal(frame.stream, 'stdout');
    assert.match(frame.text, /^com\.docker\.swarm\.node\.id=[0-9a-z]{25},com\.docker\.swarm\.service\.id=[0-9a-z]{25},com\.docker\.swarm\.task\.id=[0-9a-z]{25} slot \d line 40\n$/);
  }
});

test('a node that is gone does not hold up a request: its tasks are skipped', async () => {
  const { leader } = await leaderAndFollower();
  const worker = cluster.nodes.find((n) => n.role === 'worker')!;
  const onWorker = (await runningTasks(leader, 'numbers', 3)).find((t) => t.NodeID === worker.nodeId);
  await cluster.kill(worker);
  try {
    const started = Date.now();
    const { stdout } = await docker(leader, 'service', 'logs', 'numbers');
    const elapsed = Date.now() - started;
    console.log(`service logs with a killed node took ${elapsed} ms`);
    assert.ok(elapsed < 10_000, `answered in ${elapsed} ms`);
    const shown = [...byPrefix(stdout).keys()];
    if (onWorker) assert.ok(!shown.some((p) => p.includes(onWorker.ID.slice(0, 12))), 'the killed node\'s task is skipped');
    assert.ok(shown.length >= 2, `the other tasks are shown: ${shown.join(', ')}`);
  } finally {
    await cluster.startDaemon(worker);
  }
});
