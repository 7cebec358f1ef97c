import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OBJECT_ID_LENGTH, isObjectId, newObjectId } from '../../../manager/store/object-id.js';

describe('object IDs', () => {
  it('are 25 lowercase alphanumerics, like Docker\'s', () => {
    for (let i = 0; i < 200; i++) {
      const id = newObjectId();
      assert.equal(id.length, OBJECT_ID_LENGTH);
      assert.match(id, /^[a-z0-9]{25}$/);
      assert.ok(isObjectId(id));
    }
  });

  it('do not repeat', () => {
    const ids = new Set(Array.from({ length: 10_000 }, newObjectId));
    assert.equal(ids.size, 10_000);
  });

  it('reject anything else', () => {
    for (const bad of ['', 'ABCDEFGHIJKLMNOPQRSTUVWXY', 'a'.repeat(24), 'a'.repeat(26), 'abc-defghijklmnopqrstuvwx', 42, undefined]) {
      assert.equal(isObjectId(bad), false, String(bad));
    }
  });
});
