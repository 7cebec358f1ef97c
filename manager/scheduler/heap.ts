// A binary min-heap whose top may change in place. The spread strategy only ever changes the key
// of the element it just picked (the top), so fixTop() keeps every pick O(log n) without the
// bookkeeping of a general decrease/increase-key heap.

export class MinHeap<T> {
  private readonly items: T[];

  /** Takes ownership of `items` and heapifies them in O(n). */
  constructor(private readonly less: (a: T, b: T) => boolean, items: T[] = []) {
    this.items = items;
    for (let i = (items.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(items[i], items[parent])) break;
      [items[i], items[parent]] = [items[parent], items[i]];
      i = parent;
    }
  }

  pop(): T | undefined {
    const items = this.items;
    if (items.length === 0) return undefined;
    const top = items[0];
    const last = items.pop()!;
    if (items.length > 0) {
      items[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  /** Restores order after the top's key grew. */
  fixTop(): void {
    this.siftDown(0);
  }

  private siftDown(start: number): void {
    const items = this.items;
    const n = items.length;
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) return;
      const right = left + 1;
      const child = right < n && this.less(items[right], items[left]) ? right : left;
      if (!this.less(items[child], items[i])) return;
      [items[i], items[child]] = [items[child], items[i]];
      i = child;
    }
  }
}
