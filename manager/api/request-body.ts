// Request bodies are JSON whatever their Content-Type says: dockerd accepts POSTs without one
// (catalog §1.2), and Go's json.Encoder ends every body with "\n". Keys that could reach an
// object's prototype when a body is later spread or merged are refused outright.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { apiError } from '../../shared/errors.js';

function refusePrototypeKeys(key: string, value: unknown): unknown {
  if (key === '__proto__') throw new SyntaxError('the key "__proto__" is not allowed');
  if (key === 'constructor' && typeof value === 'object' && value !== null && Object.hasOwn(value, 'prototype')) {
    throw new SyntaxError('the key "constructor.prototype" is not allowed');
  }
  return value;
}

/** Parses a body as JSON; an empty or all-whitespace body is no body at all. */
function parseJsonBody(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text, refusePrototypeKeys);
  } catch (error) {
    throw apiError('INVALID_JSON', { reason: error instanceof Error ? error.message : String(error) });
  }
}

/** Replaces fastify's per-Content-Type parsers with parseJsonBody for every request body. */
export function acceptJsonBodies(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request: FastifyRequest, body: string | Buffer, done) => {
    try {
      done(null, parseJsonBody(typeof body === 'string' ? body : body.toString('utf8')));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}
