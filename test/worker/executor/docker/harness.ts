// Test helpers for the Docker executor against the real dockerd: a node ID unique to each test
// file (its containers carry it as com.docker.swarm.node.id, so cleanup finds every one of them
// even when a test fails half-way), task specs on the berth-test busybox image, and a skip reason
// when no engine answers.

import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { after, test } from 'node:test';
import Docker from 'dockerode';
import type { ContainerSpec, ExecutorTask } from '../../../../worker/executor/executor.js';
import type { DockerExecutorOptions } from '../../../../worker/executor/docker/docker-executor.js';
import { DockerExecutor, dockerAvailable } from '../../../../worker/executor/docker/docker-executor.js';
import { dockerHostLabel } from '../../../../worker/executor/docker/engine.js';
import { LABEL_NODE_ID } from '../../../../worker/executor/docker/labels.js';

// The log and polling helpers are the process executor's tests' own: one set for both runtimes.
export { collect, eventually, lines, sleep } from '../harness.js';

/** Built by deploy/test-image.sh: busybox with every applet in /bin, PATH=/bin, /www/index.html. */
export const IMAGE = 'berth-test/busybox:latest';

async function skipReason(): Promise<string | false> {
  if (!(await dockerAvailable(undefined, 2000))) return `no Docker engine answers at ${dockerHostLabel()}`;
  try {
    await new Docker().getImage(IMAGE).inspect();
  } catch {
    return `the image ${IMAGE} is missing (build it with deploy/test-image.sh)`;
  }
  return false;
}

/** False when the container tests can run, else why not. */
export const SKIP = await skipReason();

/** A test that needs the engine: skipped, with the reason, when there is none. */
export function dockerTest(name: string, fn: (t: TestContext) => Promise<void>): void {
  test(name, { skip: SKIP }, fn);
}

let counter = 0;

export interface DockerSuite {
  nodeId: string;
  /** A dockerode client for looking at what the executor did, as `docker inspect` would. */
  docker: Docker;
  executor(options?: Partial<DockerExecutorOptions>): DockerExecutor;
  task(spec: Partial<ContainerSpec>, extra?: Partial<ExecutorTask> & Record<string, unknown>): ExecutorTask;
}

/** One per test file: closes its executors and removes every container labelled with its node ID after the file's tests. */
export function dockerSuite(moduleUrl: string): DockerSuite {
  const file = basename(fileURLToPath(moduleUrl)).replace(/\.test\.js$/, '').replace(/[^A-Za-z0-9]/g, '');
  const nodeId = `berthtest${file}${process.pid}${randomBytes(3).toString('hex')}`;
  const docker = new Docker();
  const executors: DockerExecutor[] = [];
  after(async () => {
    for (const executor of executors) executor.close();
    if (SKIP) return;
    const left = await docker.listContainers({ all: true, filters: { label: [`${LABEL_NODE_ID}=${nodeId}`] } });
    await Promise.all(left.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined)));
  });
  return {
    nodeId,
    docker,
    executor(options = {}) {
      const executor = new DockerExecutor({ nodeId, ...options });
      executors.push(executor);
      return executor;
    },
    task(spec, extra = {}) {
      counter += 1;
      return {
        ID: `t${process.pid}x${counter}${randomBytes(2).toString('hex')}`,
        ServiceID: 'svc1',
        ServiceAnnotations: { Name: 'web' },
        Slot: counter,
        NodeID: nodeId,
        Spec: { ContainerSpec: { Image: IMAGE, ...spec } },
        ...extra,
      } as ExecutorTask;
    },
  };
}

export function sh(script: string, spec: Partial<ContainerSpec> = {}): Partial<ContainerSpec> {
  return { Command: ['/bin/sh', '-c', script], ...spec };
}

/** Nanoseconds, as specs carry durations. */
export function ns(ms: number): number {
  return ms * 1e6;
}

export async function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms); }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
