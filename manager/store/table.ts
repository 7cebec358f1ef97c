// One kind's rows, by ID, plus its secondary indexes. A table is a plain container: it trusts its
// caller (apply-batch.ts) to have validated a whole batch before writing any of it, which is what
// lets a batch rename A from "x" to "y" and B from "y" to "x" in either order (see put()).
//
// Every read returns rows in creation order. That order is the same on every manager (apply order
// is) and survives snapshot and restore (snapshots list rows in it), so no manager's reads differ
// from another's, not even in order.

export interface IndexDefinition<T> {
  /** Unique indexes map a key to one ID (names); the others map a key to a set of IDs. */
  readonly unique: boolean;
  /** The keys an object is filed under; an empty list leaves it out of the index. */
  keysOf(object: T): readonly string[];
}

export class Table<T extends { readonly ID: string }> {
  /** Map iteration order is creation order: replacing a row keeps its place. */
  private readonly rows = new Map<string, T>();
  /** Creation sequence per ID, to return index lookups in creation order too. */
  private readonly createdSeq = new Map<string, number>();
  private nextSeq = 0;
  private readonly uniqueIndexes = new Map<string, Map<string, string>>();
  private readonly multiIndexes = new Map<string, Map<string, Set<string>>>();

  constructor(private readonly indexes: Readonly<Record<string, IndexDefinition<T>>>) {
    for (const [name, index] of Object.entries(indexes)) {
      if (index.unique) this.uniqueIndexes.set(name, new Map());
      else this.multiIndexes.set(name, new Map());
    }
  }

  get size(): number {
    return this.rows.size;
  }

  get(id: string): T | undefined {
    return this.rows.get(id);
  }

  values(): IterableIterator<T> {
    return this.rows.values();
  }

  /**
   * A linear scan: prefix lookups serve people typing IDs at the CLI, a rare path, so they do not
   * justify keeping a sorted copy of every ID up to date on every write.
   */
  withIdPrefix(prefix: string): T[] {
    const found: T[] = [];
    for (const [id, row] of this.rows) if (id.startsWith(prefix)) found.push(row);
    return found;
  }

  /** The ID holding `key` in a unique index, if any. */
  uniqueOwner(index: string, key: string): string | undefined {
    return this.uniqueIndex(index).get(key);
  }

  byIndex(index: string, key: string): T[] {
    if (this.uniqueIndexes.has(index)) {
      const id = this.uniqueIndex(index).get(key);
      return id === undefined ? [] : [this.rows.get(id)!];
    }
    const ids = this.multiIndex(index).get(key);
    if (!ids) return [];
    const inCreationOrder = [...ids].sort((a, b) => this.createdSeq.get(a)! - this.createdSeq.get(b)!);
    return inCreationOrder.map((id) => this.rows.get(id)!);
  }

  countByIndex(index: string, key: string): number {
    if (this.uniqueIndexes.has(index)) return this.uniqueIndex(index).has(key) ? 1 : 0;
    return this.multiIndex(index).get(key)?.size ?? 0;
  }

  /**
   * Inserts or replaces a row and refiles it in every index; returns the row it replaced.
   * A unique key goes to the last writer, and removing a key only clears it while the removed
   * row still owns it, so a validated batch ends with correct indexes whatever order it is
   * written in.
   */
  put(row: T): T | undefined {
    const previous = this.rows.get(row.ID);
    if (previous) this.unfile(previous);
    else this.createdSeq.set(row.ID, this.nextSeq++);
    this.rows.set(row.ID, row);
    this.file(row);
    return previous;
  }

  delete(id: string): T | undefined {
    const previous = this.rows.get(id);
    if (!previous) return undefined;
    this.unfile(previous);
    this.rows.delete(id);
    this.createdSeq.delete(id);
    return previous;
  }

  clear(): void {
    this.rows.clear();
    this.createdSeq.clear();
    this.nextSeq = 0;
    for (const index of this.uniqueIndexes.values()) index.clear();
    for (const index of this.multiIndexes.values()) index.clear();
  }

  private file(row: T): void {
    for (const [name, index] of Object.entries(this.indexes)) {
      for (const key of index.keysOf(row)) {
        if (index.unique) {
          this.uniqueIndex(name).set(key, row.ID);
        } else {
          const byKey = this.multiIndex(name);
          let ids = byKey.get(key);
          if (!ids) byKey.set(key, (ids = new Set()));
          ids.add(row.ID);
        }
      }
    }
  }

  private unfile(row: T): void {
    for (const [name, index] of Object.entries(this.indexes)) {
      for (const key of index.keysOf(row)) {
        if (index.unique) {
          const byKey = this.uniqueIndex(name);
          if (byKey.get(key) === row.ID) byKey.delete(key);
        } else {
          const byKey = this.multiIndex(name);
          const ids = byKey.get(key);
          if (!ids) continue;
          ids.delete(row.ID);
          // Drop empty sets so keys of long-gone objects (old service IDs) do not accumulate.
          if (ids.size === 0) byKey.delete(key);
        }
      }
    }
  }

  private uniqueIndex(name: string): Map<string, string> {
    const index = this.uniqueIndexes.get(name);
    if (!index) throw new Error(`table has no unique index "${name}"`);
    return index;
  }

  private multiIndex(name: string): Map<string, Set<string>> {
    const index = this.multiIndexes.get(name);
    if (!index) throw new Error(`table has no index "${name}"`);
    return index;
  }
}
