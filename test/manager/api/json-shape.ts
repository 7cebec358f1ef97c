// Comparing our responses with dockerd's recorded ones by shape, for the golden replays.
import assert from 'node:assert/strict';

export function jsonType(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}

/**
 * Every path in `expected` exists in `actual` with the same JSON type. A null in the recording
 * is Go's nil and matches anything; arrays compare their first elements.
 */
export function assertSameShape(actual: unknown, expected: unknown, path: string): void {
  if (expected === null) return;
  assert.equal(jsonType(actual), jsonType(expected), `${path}: dockerd returned ${jsonType(expected)}, we returned ${jsonType(actual)}`);
  if (Array.isArray(expected) && Array.isArray(actual)) {
    if (expected.length > 0) {
      assert.ok(actual.length > 0, `${path}: dockerd returned items, we returned none`);
      assertSameShape(actual[0], expected[0], `${path}[0]`);
    }
  } else if (jsonType(expected) === 'object') {
    for (const [key, value] of Object.entries(expected as Record<string, unknown>)) {
      assertSameShape((actual as Record<string, unknown>)[key], value, `${path}.${key}`);
    }
  }
}
