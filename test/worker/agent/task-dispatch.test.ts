// Tasks from the store to a process on the node and their status back: a real agent with the real
// process executor (in a temporary state directory) against real dispatchers over mutual TLS, on
// a real in-process raft store. Every process a test starts is killed at its end, whatever happens.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import type { Frozen, NewObject, Task } from '../../../manager/store/index.js';
import { thaw } from '../../../manager/store/index.js';
import { ProcessExecutor } from '../../../worker/executor/process/process-executor.js';
import type { Agent } from '../../../worker/agent/agent.js';
import type { DispatcherHarness, ManagerEndpoint } from '../../manager/dispatcher/harness.js';
import { sleep, startDispatcherHarness, waitFor, waitForSession } from '../../manager/dispatcher/harness.js';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface Rig {
  h: DispatcherHarness;
  leader: ManagerEndpoint;
  nodeId: string;
  stateDir: string;
  /** An agent for the node with a new process executor over the rig's state directory. */
  startAgent(): { agent: Agent; executor: ProcessExecutor };
  /** Writes tasks assigned to the node (Status 'assigned', as the scheduler leaves them) in one update; returns their IDs. */
  createTasks(...commands: string[][]): Promise<string[]>;
  task(id: string): Frozen<Task> | undefined;
  /** Waits until the leader's store has the task in `state`; returns it. */
  waitForState(id: string, state: string | RegExp): Promise<Frozen<Task>>;
  updateTask(id: string, change: (task: Task) => void): Promise<void>;
  deleteTask(id: string): Promise<void>;
}

let slot = 0;

async function rig(t: TestContext): Promise<Rig> {
  const h = await startDispatcherHarness(t);
  const leader = await h.leader();
  const nodeId = await h.createNode();
  const stateDir = mkdtempSync(join(os.tmpdir(), 'berth-agent-tasks-'));
  const executors: ProcessExecutor[] = [];
  t.after(async () => {
    await h.stop();
    for (const executor of executors) executor.close();
    // Every process group the executor started, from its own records.
    const tasks = join(stateDir, 'tasks');
    for (const id of existsSync(tasks) ? readdirSync(tasks) : []) {
      try {
        const state = JSON.parse(readFileSync(join(tasks, id, 'state.json'), 'utf8')) as { process?: { pid: number } };
        if (state.process) process.kill(-state.process.pid, 'SIGKILL');
      } catch {
        // no state, or the group is gone
      }
    }
    rmSync(stateDir, { recursive: true, force: true });
  });

  const task = (id: string): Frozen<Task> | undefined => leader.store.get('task', id);
  return {
    h,
    leader,
    nodeId,
    stateDir,
    startAgent() {
      const executor = new ProcessExecutor({ stateDir, nodeId });
      executors.push(executor);
      return { agent: h.startAgent(nodeId, [leader.addr], { executor }), executor };
    },
    async createTasks(...commands) {
      const ids: string[] = [];
      await leader.store.update((tx) => {
        for (const command of commands) {
          const object: NewObject<'task'> = {
            ServiceID: 'svc1',
            Slot: ++slot,
            NodeID: nodeId,
            DesiredState: 'running',
            Status: { State: 'assigned', Timestamp: new Date().toISOString(), Message: 'scheduler assigned task to node' },
            Spec: { ContainerSpec: { Image: 'none', Command: command, StopGracePeriod: 2_000_000_000 } },
          };
          ids.push(tx.create('task', object).ID);
        }
      });
      return ids;
    },
    task,
    async waitForState(id, state) {
      const matches = (s: string | undefined): boolean => (typeof state === 'string' ? s === state : state.test(s ?? ''));
      await waitFor(() => matches(task(id)?.Status.State), `task ${id} is ${String(state)} (it is ${task(id)?.Status.State})`);
      return task(id)!;
    },
    async deleteTask(id) {
      await leader.store.update((tx) => tx.delete('task', id));
    },
    async updateTask(id, change) {
      await leader.store.update((tx) => {
        const next = thaw(tx.get('task', id)!) as Task;
        change(next);
        tx.update('task', next as Frozen<Task>);
      });
    },
  };
}

const sh = (script: string): string[] => ['/bin/sh', '-c', script];

test('an assigned task runs on its node, reports running with its PID, and stops when its desired state becomes shutdown', async (t) => {
  const r = await rig(t);
  const { agent } = r.startAgent();
  await waitForSession(agent);

  const [id] = await r.createTasks(sh('sleep 30'));
  const running = await r.waitForState(id, 'running');
  const pid = running.Status.ContainerStatus?.PID as number;
  assert.ok(Number.isInteger(pid) && pid > 0, `PID ${pid}`);
  assert.ok(isAlive(pid));
  assert.equal(running.Status.ContainerStatus?.ContainerID, String(pid));
  assert.equal(running.Status.Err, undefined);
  assert.ok(Date.parse(running.Status.Timestamp!) > Date.now() - 60_000);

  await r.updateTask(id, (task) => { task.DesiredState = 'shutdown'; });
  const stopped = await r.waitForState(id, 'shutdown');
  assert.equal(stopped.Status.Err, undefined);
  await waitFor(() => !isAlive(pid), 'the task\'s process is gone');
  // Shut down, the agent keeps it (and its logs) while the task exists; deleted (the task reaper's
  // job), it lets go of it and of what the runtime kept.
  await sleep(300);
  assert.equal(agent.taskStates().length, 1, 'an ended task is kept until it is deleted');
  assert.ok(existsSync(join(r.stateDir, 'tasks', id)));
  await r.deleteTask(id);
  await waitFor(() => agent.taskStates().length === 0, 'the agent forgets the task');
  await waitFor(() => !existsSync(join(r.stateDir, 'tasks', id)), 'the executor state of the task is removed');
});

test('a task that exits non-zero ends failed with Swarm\'s error, one that exits 0 ends complete', async (t) => {
  const r = await rig(t);
  const { agent } = r.startAgent();
  await waitForSession(agent);

  const [failing, completing] = await r.createTasks(sh('exit 3'), sh('exit 0'));
  const failed = await r.waitForState(failing, 'failed');
  assert.equal(failed.Status.Err, 'task: non-zero exit (3)');
  assert.equal(failed.Status.ContainerStatus?.ExitCode, 3);
  const complete = await r.waitForState(completing, 'complete');
  assert.equal(complete.Status.Err, undefined);
  assert.equal(complete.Status.ContainerStatus?.ExitCode, 0);
});

test('a task whose program does not exist ends with an error that names the program', async (t) => {
  const r = await rig(t);
  const { agent } = r.startAgent();
  await waitForSession(agent);

  const [id] = await r.createTasks(['/nonexistent/berth-no-such-program', '--flag']);
  const ended = await r.waitForState(id, /^(failed|rejected)$/);
  assert.equal(ended.Status.Err, 'executable file not found: /nonexistent/berth-no-such-program');
});

test('status reports are written in batches: far fewer store writes than reported transitions', async (t) => {
  const r = await rig(t);
  const { agent } = r.startAgent();
  await waitForSession(agent);

  const count = 6;
  const ids = await r.createTasks(...Array.from({ length: count }, () => sh('sleep 30')));
  const before = r.leader.store.appliedIndex;
  for (const id of ids) await r.waitForState(id, 'running');
  const writes = r.leader.store.appliedIndex - before;
  // accepted, preparing, starting, running for each task.
  const transitions = count * 4;
  console.log(`${transitions} task state transitions reached the store in ${writes} raft entries`);
  assert.ok(writes >= 1 && writes <= transitions / 3, `${writes} writes for ${transitions} transitions`);
});

test('a restarted agent re-adopts the task that kept running: same process, the store still says running', async (t) => {
  const r = await rig(t);
  const first = r.startAgent();
  await waitForSession(first.agent);
  const [id] = await r.createTasks(sh('sleep 30'));
  const running = await r.waitForState(id, 'running');
  const pid = running.Status.ContainerStatus?.PID as number;
  const version = running.Version.Index;

  // The agent goes away (its executor lets go without stopping anything) and a new one starts.
  await first.agent.stop();
  first.executor.close();
  assert.ok(isAlive(pid), 'the task outlives its agent');
  const second = r.startAgent();
  await waitForSession(second.agent);
  await waitFor(() => second.agent.taskStates().some((s) => s.taskId === id && s.state === 'running'), 'the new agent holds the task as running');
  await sleep(500);
  assert.ok(isAlive(pid));
  const after = r.task(id)!;
  assert.equal(after.Status.State, 'running');
  assert.equal(after.Status.ContainerStatus?.PID, pid);
  // Nothing was written to the task: it was neither restarted nor re-reported as news.
  assert.equal(after.Version.Index, version);

  // The adopted task is still under control.
  await r.updateTask(id, (task) => { task.DesiredState = 'shutdown'; });
  await r.waitForState(id, 'shutdown');
  await waitFor(() => !isAlive(pid), 'the adopted task\'s process is gone');
});

test('a task moved to another node or deleted is stopped and removed here', async (t) => {
  const r = await rig(t);
  const { agent } = r.startAgent();
  await waitForSession(agent);
  const [moved, deleted, staying] = await r.createTasks(sh('sleep 30'), sh('sleep 30'), sh('sleep 30'));
  const pidOf = async (id: string): Promise<number> => (await r.waitForState(id, 'running')).Status.ContainerStatus?.PID as number;
  const [movedPid, deletedPid, stayingPid] = [await pidOf(moved), await pidOf(deleted), await pidOf(staying)];

  const elsewhere = await r.h.createNode();
  await r.updateTask(moved, (task) => { task.NodeID = elsewhere; });
  await r.leader.store.update((tx) => tx.delete('task', deleted));

  await waitFor(() => !isAlive(movedPid) && !isAlive(deletedPid), 'both processes are gone');
  await waitFor(() => agent.taskStates().length === 1, 'the agent holds only the task still assigned to it');
  assert.equal(agent.taskStates()[0].taskId, staying);
  assert.ok(isAlive(stayingPid));
  assert.ok(!existsSync(join(r.stateDir, 'tasks', moved)));
  assert.ok(!existsSync(join(r.stateDir, 'tasks', deleted)));
  // The moved task's status is its new node's to write.
  assert.equal(r.task(moved)?.Status.State, 'running');
});

test('when the leader\'s manager dies, the new leader\'s full set leaves the running task alone and later changes still reach it', async (t) => {
  const r = await rig(t);
  const { agent } = r.startAgent();
  await waitForSession(agent);
  const [id] = await r.createTasks(sh('sleep 30'));
  const pid = (await r.waitForState(id, 'running')).Status.ContainerStatus?.PID as number;

  const dead = r.leader;
  await dead.dispatcher.stop();
  dead.server.forceShutdown();
  await r.h.cluster.raftOf(dead.store).stop();
  const survivor = r.h.endpointOf(await r.h.cluster.waitForLeader({ excluding: dead.store }));
  await waitFor(() => agent.status().connected && agent.status().manager === survivor.addr, 'the agent is connected to the new leader');
  await sleep(300);
  assert.ok(isAlive(pid));
  assert.equal(survivor.store.get('task', id)?.Status.State, 'running');
  assert.equal(survivor.store.get('task', id)?.Status.ContainerStatus?.PID, pid);

  await survivor.store.update((tx) => {
    const next = thaw(tx.get('task', id)!) as Task;
    next.DesiredState = 'shutdown';
    tx.update('task', next as Frozen<Task>);
  });
  await waitFor(() => survivor.store.get('task', id)?.Status.State === 'shutdown', 'the new leader records the shutdown');
  await waitFor(() => !isAlive(pid), 'the task\'s process is gone');
});

test('a task whose desired state is shutdown before it ever started is reported shut down without running', async (t) => {
  const r = await rig(t);
  const [id] = await r.createTasks(sh('sleep 30'));
  await r.updateTask(id, (task) => { task.DesiredState = 'shutdown'; });
  const { agent } = r.startAgent();
  await waitForSession(agent);
  const stopped = await r.waitForState(id, 'shutdown');
  assert.equal(stopped.Status.ContainerStatus?.PID, undefined);
  assert.ok(!existsSync(join(r.stateDir, 'tasks', id)) || readdirSync(join(r.stateDir, 'tasks', id)).every((f) => !f.endsWith('.raw')));
});
