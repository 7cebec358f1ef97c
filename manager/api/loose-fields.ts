// Reading the parts of stored objects the store types loosely (`unknown`): what the daemon, the
// CA and the dispatcher put in a node's Description or the cluster object. The API renders them
// defensively, so a writer's omission shows as an empty value rather than a 500.

export type LooseRecord = Readonly<Record<string, unknown>>;

/** `value` if it is a plain object, else undefined. */
export function recordOf(value: unknown): LooseRecord | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as LooseRecord) : undefined;
}

/** `value` if it is a string, else "". */
export function stringOf(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** `value` if it is a non-empty string, else undefined. */
export function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
