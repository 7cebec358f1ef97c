// What this host is, as its agent reports it at registration and the store keeps it in the node's
// Description: the scheduler matches platform constraints and resource reservations against it,
// and `docker node inspect` shows it. Values are spelled as Docker spells them, so constraints
// written for Docker Swarm (node.platform.arch == x86_64) work unchanged.

import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Field names are the camel-cased ones of proto/dispatcher.proto's NodeDescription. */
export interface NodeDescription {
  hostname: string;
  /** Platform.OS: "linux". */
  os: string;
  /** Platform.Architecture, as uname -m prints it: "x86_64", "aarch64". */
  arch: string;
  /** Resources.NanoCPUs: CPUs × 10^9. */
  nanoCpus: number;
  /** Resources.MemoryBytes. */
  memoryBytes: number;
  /** Engine.EngineVersion: berth's version. */
  engineVersion: string;
  /** Engine.Labels. */
  engineLabels: Record<string, string>;
}

export interface DescribeNodeOptions {
  /** Reported instead of os.hostname() (several daemons on one test machine need distinct names). */
  hostname?: string;
  /** Engine labels, as `dockerd --label` sets them. */
  labels?: Record<string, string>;
}

/** Node's process.arch → the uname -m spelling Docker reports; anything unlisted is already spelled the same (s390x, riscv64, …). */
const DOCKER_ARCHITECTURES: Record<string, string> = {
  x64: 'x86_64',
  arm64: 'aarch64',
  arm: 'armv7l',
  ia32: 'i386',
  ppc64: 'ppc64le',
};

/** Node's process.platform → Docker's OS name (Go's GOOS). */
const DOCKER_OSES: Record<string, string> = {
  win32: 'windows',
};

const ONE_CPU_IN_NANO_CPUS = 1e9;

export function dockerArchitecture(nodeArch: string): string {
  return DOCKER_ARCHITECTURES[nodeArch] ?? nodeArch;
}

export function dockerOs(nodePlatform: string): string {
  return DOCKER_OSES[nodePlatform] ?? nodePlatform;
}

let cachedVersion: string | undefined;

/** berth's version from its package.json, found by walking up from this file (dist/ or source). */
export function berthVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  const here = dirname(fileURLToPath(import.meta.url));
  for (let dir = here; ; dir = dirname(dir)) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'berth' && typeof pkg.version === 'string') {
        cachedVersion = pkg.version;
        return cachedVersion;
      }
    }
    if (dirname(dir) === dir) throw new Error(`cannot find berth's package.json in ${here} or any directory above it`);
  }
}

/** Describes the host this process runs on. */
export function describeNode(options: DescribeNodeOptions = {}): NodeDescription {
  return {
    hostname: options.hostname ?? os.hostname(),
    os: dockerOs(process.platform),
    arch: dockerArchitecture(process.arch),
    nanoCpus: os.availableParallelism() * ONE_CPU_IN_NANO_CPUS,
    memoryBytes: os.totalmem(),
    engineVersion: berthVersion(),
    engineLabels: { ...(options.labels ?? {}) },
  };
}
