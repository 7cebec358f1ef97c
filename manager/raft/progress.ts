// The leader's view of one follower: how much of the log it has (match), what to send next, and
// in which mode to send it. Modes follow etcd's design:
// - probe: one append at a time until the follower's position is known (after a rejection or restart);
// - replicate: optimistic pipelining, bounded by the inflight window;
// - snapshot: the follower is too far behind for the log; wait until the snapshot lands.

import { Inflights } from './inflights.js';

export enum ProgressState {
  Probe = 'probe',
  Replicate = 'replicate',
  Snapshot = 'snapshot',
}

export class Progress {
  match = 0;
  next: number;
  state = ProgressState.Probe;
  /** Index of the snapshot in flight while in snapshot state. */
  pendingSnapshot = 0;
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  /** In probe state, one append is outstanding: wait for its answer or a heartbeat response. */
  probeSent = false;
  readonly inflights: Inflights;

  constructor(next: number, maxInflight: number, public isLearner: boolean) {
    this.next = next;
    this.inflights = new Inflights(maxInflight);
  }

  private resetState(state: ProgressState): void {
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    // After a snapshot, resume right after it: the follower has at least that much.
    if (this.state === ProgressState.Snapshot) {
      const pending = this.pendingSnapshot;
      this.resetState(ProgressState.Probe);
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState(ProgressState.Probe);
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState(ProgressState.Replicate);
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState(ProgressState.Snapshot);
    this.pendingSnapshot = snapshotIndex;
  }

  /** The follower acknowledged up to n. Returns false for a stale acknowledgement. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /** In replicate state, assume the append sent up to n will succeed. */
  optimisticUpdate(n: number): void {
    this.next = n + 1;
  }

  /**
   * The follower rejected an append at `rejected`; `hint` is where its log can match.
   * Returns false when the rejection is stale (answers an older probe).
   */
  maybeDecrTo(rejected: number, hint: number): boolean {
    if (this.state === ProgressState.Replicate) {
      // Stale if we already know it has that much.
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    // Probe: only the answer to the append we sent (at next - 1) counts.
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, hint + 1), 1);
    this.probeSent = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case ProgressState.Probe:
        return this.probeSent;
      case ProgressState.Replicate:
        return this.inflights.full();
      case ProgressState.Snapshot:
        return true;
    }
  }
}
