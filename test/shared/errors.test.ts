import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { API_ERRORS, ApiError, ERROR_CONTENT_TYPE, apiError, errorBody } from '../../shared/errors.js';

describe('the API error catalogue', () => {
  it('gives every code an HTTP error status', () => {
    for (const [code, entry] of Object.entries(API_ERRORS)) {
      assert.ok(entry.status >= 400 && entry.status <= 599, `${code}: ${entry.status}`);
    }
  });

  it('builds errors carrying their code, status and rendered message', () => {
    const error = apiError('NOT_FOUND', { kind: 'node', reference: 'nosuchnode' });
    assert.ok(error instanceof ApiError);
    assert.ok(error instanceof Error);
    assert.equal(error.code, 'NOT_FOUND');
    assert.equal(error.statusCode, 404);
    assert.equal(error.message, 'node nosuchnode not found');
    assert.equal(errorBody(error), '{"message":"node nosuchnode not found"}');
  });

  it('keeps dockerd’s texts where the CLI and scripts match on them', () => {
    assert.equal(apiError('UPDATE_OUT_OF_SEQUENCE').message, 'rpc error: code = Unknown desc = update out of sequence');
    assert.equal(apiError('UPDATE_OUT_OF_SEQUENCE').statusCode, 500);
    assert.equal(apiError('INVALID_FILTER', { key: 'bogus' }).message, "Invalid filter 'bogus'");
    assert.equal(apiError('PAGE_NOT_FOUND').message, 'page not found');
    assert.equal(apiError('NOT_IN_SWARM').statusCode, 503);
    assert.equal(apiError('REMOVE_NODE_NOT_DOWN', { nodeId: 'abc' }).message,
      "rpc error: code = FailedPrecondition desc = node abc is not down and can't be removed");
    assert.equal(apiError('API_VERSION_TOO_NEW', { requested: '1.99', maximum: '1.41' }).message,
      'client version 1.99 is too new. Maximum supported API version is 1.41');
  });

  it('renders errors as exactly application/json, which the CLI needs to print the message', () => {
    assert.equal(ERROR_CONTENT_TYPE, 'application/json');
  });
});
