// How often agents heartbeat and how long the dispatcher waits before marking a silent node down.
// The product target: a dead node is marked down within 3 s by default, so the orchestrator
// reschedules its tasks quickly, while a healthy node on a LAN is never marked down by one lost
// heartbeat or a short pause of the leader.

import type { Store } from '../store/index.js';
import { MIN_HEARTBEAT_PERIOD_MS } from '../../shared/session-protocol.js';

/**
 * Used while the cluster's Spec.Dispatcher.HeartbeatPeriod is unset. 1 s (Docker's is 5 s) keeps
 * the default detection under 3 s: a silent node is marked down a grace period (2.5 s) after its
 * last heartbeat, one whose connection breaks (process killed, host rebooted) one period after
 * the break; a heartbeat per node per second is a small message on an open stream and never a
 * raft write, so it costs the leader little even with thousands of nodes.
 */
export const DEFAULT_HEARTBEAT_PERIOD_MS = 1000;

/** Periods a node may stay silent: one heartbeat may be lost or late without anything happening. */
export const GRACE_PERIODS = 2;

/**
 * Added to the grace period: network delay plus an event-loop stall on either end (a GC pause, a
 * leader applying a large batch) must not turn into a node marked down. 500 ms covers the stalls
 * seen on loaded test machines and still leaves the default grace at 2.5 s, under the 3 s target
 * together with the check interval and the raft write that marks the node down.
 */
export const GRACE_SLACK_MS = 500;

/** Largest value SessionAck.heartbeat_period_ms (uint32) carries; larger would wrap on the wire. */
const MAX_HEARTBEAT_PERIOD_MS = 0xffff_ffff;

const NANOSECONDS_PER_MILLISECOND = 1e6;

/** How long a node with this heartbeat period may stay silent before it is marked down. */
export function gracePeriodMs(heartbeatPeriodMs: number): number {
  return GRACE_PERIODS * heartbeatPeriodMs + GRACE_SLACK_MS;
}

/**
 * The heartbeat period in force: the cluster object's Spec.Dispatcher.HeartbeatPeriod (in
 * nanoseconds, as in Docker's API) when set to a positive number, else the default; kept within
 * what the protocol honours.
 */
export function heartbeatPeriodMs(store: Pick<Store, 'find'>): number {
  const cluster = store.find('cluster')[0];
  const dispatcher = cluster?.Spec.Dispatcher as { HeartbeatPeriod?: unknown } | undefined;
  const ns = dispatcher?.HeartbeatPeriod;
  if (typeof ns !== 'number' || !Number.isFinite(ns) || ns <= 0) return DEFAULT_HEARTBEAT_PERIOD_MS;
  const ms = Math.round(ns / NANOSECONDS_PER_MILLISECOND);
  return Math.min(Math.max(ms, MIN_HEARTBEAT_PERIOD_MS), MAX_HEARTBEAT_PERIOD_MS);
}
