// The most recent events in a ring buffer, addressed by a sequence number that only grows.
// Watchers are cursors into this one buffer instead of owning copies of events: memory stays
// bounded by the ring whatever the number of watchers, and a watcher that falls a full ring
// behind is detectably overtaken (see watch-hub.ts).
import type { StoreEvent } from './events.js';

export class EventHistory {
  private readonly ring: (StoreEvent | undefined)[];
  /** Sequence number of the oldest retained event. */
  private first = 0;
  /** Sequence number the next appended event will get. */
  private next = 0;
  /** Every event with an index above this one is retained. */
  private retainedAfter: number;

  constructor(readonly capacity: number, startIndex: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`event history capacity must be a positive integer, not ${capacity}`);
    this.ring = new Array(capacity);
    this.retainedAfter = startIndex;
  }

  get startSeq(): number {
    return this.first;
  }

  get endSeq(): number {
    return this.next;
  }

  /** The oldest index a watch can resume from: all events after it are still here. */
  get oldestResumableIndex(): number {
    return this.retainedAfter;
  }

  append(event: StoreEvent): void {
    if (this.next - this.first === this.capacity) {
      // Evicting part of an entry's events makes that whole index unresumable, hence max().
      this.retainedAfter = Math.max(this.retainedAfter, this.at(this.first).index);
      this.ring[this.first % this.capacity] = undefined;
      this.first++;
    }
    this.ring[this.next % this.capacity] = event;
    this.next++;
  }

  /** The event at `seq`; callers keep startSeq <= seq < endSeq. */
  at(seq: number): StoreEvent {
    return this.ring[seq % this.capacity]!;
  }

  /** The sequence number of the first retained event with index > `index` (endSeq if none). */
  seqAfter(index: number): number {
    let low = this.first;
    let high = this.next;
    while (low < high) {
      const middle = Math.floor((low + high) / 2);
      if (this.at(middle).index <= index) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** Forgets everything; history restarts after `index` (a restored snapshot's). */
  reset(index: number): void {
    this.ring.fill(undefined);
    this.first = this.next;
    this.retainedAfter = index;
  }
}
