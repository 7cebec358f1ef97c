// A process's identity that survives PID reuse: its PID plus its start time (field 22 of
// /proc/<pid>/stat, in clock ticks since boot) plus the boot it started in. A PID alone names
// whatever process got that number last; a recycled PID has a different start time, and after a
// reboot start times restart from zero, which the boot ID catches.

import { readFileSync } from 'node:fs';

export interface ProcessIdentity {
  pid: number;
  /** Clock ticks after boot, as a decimal string (it can exceed 2^53 on long-lived hosts only in theory, but stay exact). */
  startTime: string;
  bootId: string;
}

export type ProcessLiveness = 'alive' | 'gone' | 'reused';

interface ProcStat {
  /** R, S, D, Z (zombie), T, … */
  state: string;
  startTime: string;
}

/** /proc/<pid>/stat, or undefined when no such process exists. */
export function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Field 2 (comm) is parenthesized and may itself contain spaces and parentheses: split after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); field 22 (starttime) is rest[19].
  return { state: rest[0], startTime: rest[19] };
}

let cachedBootId: string | undefined;

export function bootId(): string {
  cachedBootId ??= readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  return cachedBootId;
}

/** The identity of a running process, read right after it started; undefined if it already vanished. */
export function identify(pid: number): ProcessIdentity | undefined {
  const stat = readProcStat(pid);
  return stat ? { pid, startTime: stat.startTime, bootId: bootId() } : undefined;
}

/**
 * alive: the very process we recorded still runs. gone: it ended (a zombie counts as ended: it
 * only waits for its parent to collect the status). reused: the PID now names another process,
 * which must never be signalled.
 */
export function liveness(identity: ProcessIdentity): ProcessLiveness {
  if (identity.bootId !== bootId()) return 'gone';
  const stat = readProcStat(identity.pid);
  if (!stat) return 'gone';
  if (stat.startTime !== identity.startTime) return 'reused';
  return stat.state === 'Z' || stat.state === 'X' ? 'gone' : 'alive';
}
