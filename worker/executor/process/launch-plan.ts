// Turns a task's ContainerSpec into what the process executor runs: program, arguments,
// environment, working directory, user, stop signal and grace period. Everything a spec can get
// wrong is caught here, before anything runs, as an INVALID_SPEC or UNSUPPORTED ExecutorError
// (the task is rejected with that sentence as its Status.Err).

import { accessSync, constants as fsConstants, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import { delimiter, isAbsolute, join } from 'node:path';
import type { ContainerSpec, ExecutorTask } from '../executor.js';
import { DEFAULT_STOP_GRACE_PERIOD_MS, executorError, taskName } from '../executor.js';

/** Docker's default PATH for containers; a process task gets nothing else from the agent's own environment. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface LaunchPlan {
  /** As the spec names it (for messages); resolved against PATH at start. */
  program: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  uid?: number;
  gid?: number;
  stopSignal: NodeJS.Signals;
  stopGracePeriodMs: number;
}

const RUNTIME = 'process';

function invalid(field: string, reason: string): Error {
  return executorError('INVALID_SPEC', { field, reason });
}

function stringArray(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw invalid(field, 'expected an array of strings');
  return value as string[];
}

export function parseStopSignal(raw: string | undefined): NodeJS.Signals {
  if (raw === undefined || raw === '') return 'SIGTERM';
  const signals = os.constants.signals as Record<string, number>;
  if (/^\d+$/.test(raw)) {
    const name = Object.keys(signals).find((n) => signals[n] === Number(raw));
    if (name) return name as NodeJS.Signals;
  } else {
    const name = raw.toUpperCase().startsWith('SIG') ? raw.toUpperCase() : `SIG${raw.toUpperCase()}`;
    if (name in signals) return name as NodeJS.Signals;
  }
  throw invalid('ContainerSpec.StopSignal', `unknown signal ${JSON.stringify(raw)}`);
}

function lookupId(file: string, name: string): { id: number; gid: number } | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields[0] === name && fields.length >= 3) return { id: Number(fields[2]), gid: Number(fields[3]) };
  }
  return undefined;
}

/** `user`, `uid`, `user:group`, `uid:gid` → numeric IDs, read from /etc/passwd and /etc/group as Docker reads the image's. */
export function resolveUser(user: string): { uid: number; gid: number } {
  const [userPart, groupPart] = user.split(':', 2);
  let uid: number;
  let gid: number;
  if (/^\d+$/.test(userPart)) {
    uid = Number(userPart);
    gid = groupPart === undefined ? (lookupPrimaryGid(uid) ?? uid) : 0;
  } else {
    const entry = lookupId('/etc/passwd', userPart);
    if (!entry) throw invalid('ContainerSpec.User', `no user ${JSON.stringify(userPart)} in /etc/passwd`);
    uid = entry.id;
    gid = entry.gid;
  }
  if (groupPart !== undefined) {
    if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else {
      const entry = lookupId('/etc/group', groupPart);
      if (!entry) throw invalid('ContainerSpec.User', `no group ${JSON.stringify(groupPart)} in /etc/group`);
      gid = entry.id;
    }
  }
  return { uid, gid };
}

function lookupPrimaryGid(uid: number): number | undefined {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const fields = line.split(':');
      if (Number(fields[2]) === uid && fields[2] !== '') return Number(fields[3]);
    }
  } catch {
    // no passwd file: the gid defaults to the uid
  }
  return undefined;
}

function nonEmpty(value: unknown): boolean {
  return Array.isArray(value) ? value.length > 0 : value !== undefined && value !== null;
}

/**
 * Validates the task's spec and computes its launch plan.
 * - The program is Command[0], its arguments Command[1..] then Args. With no Command, Args[0] is
 *   the program (there is no image to supply an entrypoint, so the first word must be one).
 * - The environment is PATH (DEFAULT_PATH), HOME, HOSTNAME and the BERTH_* task variables,
 *   overridden by Env; the agent's own environment never leaks in.
 * - Dir must be an existing absolute directory (a host path: unlike Docker, we do not create it).
 */
export function launchPlan(task: ExecutorTask, nodeId?: string): LaunchPlan {
  if (typeof task.ID !== 'string' || task.ID === '' || !/^[A-Za-z0-9_.-]+$/.test(task.ID)) throw invalid('task ID', 'expected letters, digits, _ . -');
  const spec = task.Spec?.ContainerSpec as ContainerSpec | undefined;
  if (!spec || typeof spec !== 'object') throw invalid('Spec.ContainerSpec', 'missing (the process executor runs ContainerSpec.Command)');

  for (const [field, feature, reason] of [
    ['Mounts', 'mounts', 'a host process sees the host filesystem as it is'],
    ['Secrets', 'secrets', 'there is no container filesystem to place them in'],
    ['Configs', 'configs', 'there is no container filesystem to place them in'],
  ] as const) {
    if (nonEmpty(spec[field])) throw executorError('UNSUPPORTED', { runtime: RUNTIME, feature, reason });
  }
  if (spec.TTY) throw executorError('UNSUPPORTED', { runtime: RUNTIME, feature: 'TTY', reason: 'output is captured to log files, not a terminal' });

  const command = stringArray(spec.Command, 'ContainerSpec.Command');
  const argv = command.concat(stringArray(spec.Args, 'ContainerSpec.Args'));
  if (argv.length === 0) throw invalid('ContainerSpec.Command', 'empty: the process executor has no image entrypoint to fall back on, so Command (or Args) must name the program');
  const [program, ...args] = argv;
  if (program === '') throw invalid('ContainerSpec.Command', 'the program name is empty');

  const cwd = spec.Dir ? spec.Dir : '/';
  if (!isAbsolute(cwd)) throw invalid('ContainerSpec.Dir', `${JSON.stringify(cwd)} is not an absolute path`);
  let isDirectory = false;
  try {
    isDirectory = statSync(cwd).isDirectory();
  } catch {
    throw invalid('ContainerSpec.Dir', `${cwd} does not exist`);
  }
  if (!isDirectory) throw invalid('ContainerSpec.Dir', `${cwd} is not a directory`);

  let uid: number | undefined;
  let gid: number | undefined;
  if (spec.User) {
    ({ uid, gid } = resolveUser(spec.User));
    const self = process.getuid?.();
    if (self !== undefined && self !== 0 && uid !== self) {
      throw invalid('ContainerSpec.User', `cannot run as ${spec.User} (uid ${uid}): the agent runs as uid ${self}, not root`);
    }
    if (self === uid && process.getgid?.() === gid) ({ uid, gid } = { uid: undefined, gid: undefined });
  }

  const grace = spec.StopGracePeriod;
  if (grace !== undefined && (typeof grace !== 'number' || !Number.isFinite(grace) || grace < 0)) {
    throw invalid('ContainerSpec.StopGracePeriod', 'expected a non-negative number of nanoseconds');
  }

  const env: Record<string, string> = {
    PATH: DEFAULT_PATH,
    HOME: uid === undefined ? os.userInfo().homedir : '/',
    HOSTNAME: spec.Hostname || os.hostname(),
    BERTH_TASK_ID: task.ID,
    BERTH_TASK_NAME: taskName(task),
    BERTH_TASK_SLOT: String(task.Slot ?? 0),
    BERTH_SERVICE_ID: task.ServiceID ?? '',
    BERTH_SERVICE_NAME: task.ServiceAnnotations?.Name ?? '',
    BERTH_NODE_ID: task.NodeID ?? nodeId ?? '',
  };
  for (const entry of stringArray(spec.Env, 'ContainerSpec.Env')) {
    const eq = entry.indexOf('=');
    const key = eq < 0 ? entry : entry.slice(0, eq);
    if (key === '' || key.includes('\0')) throw invalid('ContainerSpec.Env', `${JSON.stringify(entry)} has no variable name`);
    if (eq < 0) delete env[key];
    else env[key] = entry.slice(eq + 1);
  }

  return {
    program,
    args,
    env,
    cwd,
    uid,
    gid,
    stopSignal: parseStopSignal(spec.StopSignal),
    stopGracePeriodMs: grace === undefined ? DEFAULT_STOP_GRACE_PERIOD_MS : Math.round(grace / 1e6),
  };
}

/**
 * The executable `program` names, looked up in the task's PATH like execvp does, or undefined.
 * Checked before spawning so a missing program is a clear task failure, not a spawn error event.
 */
export function resolveExecutable(program: string, path: string | undefined, cwd: string): string | undefined {
  const candidates = program.includes('/')
    ? [isAbsolute(program) ? program : join(cwd, program)]
    : (path ?? DEFAULT_PATH).split(delimiter).filter((d) => d !== '').map((d) => join(isAbsolute(d) ? d : join(cwd, d), program));
  for (const candidate of candidates) {
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here; try the next directory
    }
  }
  return undefined;
}
