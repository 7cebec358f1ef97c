// A bounded window of append messages sent to one follower but not yet acknowledged. Bounding
// it is what keeps pipelining from flooding a slow follower (and the transport's buffers).

export class Inflights {
  /** Last log index carried by each in-flight message, oldest first, as a ring buffer. */
  private readonly buffer: number[];
  private start = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    this.buffer = new Array<number>(capacity).fill(0);
  }

  get size(): number {
    return this.count;
  }

  full(): boolean {
    return this.count === this.capacity;
  }

  add(lastIndex: number): void {
    if (this.full()) throw new Error('inflights: add to a full window');
    this.buffer[(this.start + this.count) % this.capacity] = lastIndex;
    this.count++;
  }

  /** Frees every message whose last index is <= index (they are acknowledged). */
  freeLE(index: number): void {
    while (this.count > 0 && this.buffer[this.start] <= index) {
      this.start = (this.start + 1) % this.capacity;
      this.count--;
    }
  }

  /** Frees the oldest message: a heartbeat response proves the follower is alive, so let one more through. */
  freeFirstOne(): void {
    if (this.count === 0) return;
    this.start = (this.start + 1) % this.capacity;
    this.count--;
  }

  reset(): void {
    this.start = 0;
    this.count = 0;
  }
}
