// Per-request log lines at debug level: the CLI polls several times a second while it waits
// for a service to converge, which at fastify's default info level would drown the log.
// Failures are still logged above debug, by error-reply.ts, with what went wrong.
import { LogController } from 'fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';

export class DebugRequestLog extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ method: request.method, url: request.originalUrl ?? request.url }, 'request received');
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    request.log.debug({ statusCode: reply.statusCode, ms: reply.elapsedTime, ...(error ? { err: error } : {}) }, 'request completed');
  }
}
