// Every failure leaves as `{"message": …}` with its catalogued status: errors the handlers
// throw, the store's typed errors, schema validation, body parsing, unknown routes. Anything
// else is a bug: a 500 that still carries a message, logged with its stack.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, ERROR_CONTENT_TYPE, apiError, errorBody } from '../../shared/errors.js';
import { StoreError } from '../store/index.js';
import type { ClusterBackend } from './backend.js';
import { apiErrorFromStore } from './store-errors.js';
import { validationError } from './validation-message.js';

function toApiError(error: unknown, request: FastifyRequest, backend: ClusterBackend): ApiError | null {
  if (error instanceof ApiError) return error;
  if (error instanceof StoreError) return apiErrorFromStore(error, backend.managers());
  const fastifyError = error as Partial<FastifyError>;
  if (fastifyError.validation) {
    return validationError(fastifyError.validation, fastifyError.validationContext, request.routeOptions.config?.bodyName);
  }
  if (fastifyError.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return apiError('BODY_TOO_LARGE', { limitBytes: request.routeOptions.bodyLimit });
  }
  // fastify's own refusals of a malformed request (bad headers, aborted bodies…).
  const status = fastifyError.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500 && typeof fastifyError.message === 'string') {
    return apiError('BAD_REQUEST', { reason: fastifyError.message });
  }
  return null;
}

function sendError(reply: FastifyReply, error: ApiError): void {
  // A Buffer, because fastify appends `; charset=utf-8` to a JSON string's Content-Type, and
  // router errors are answered where no onSend hook runs to take it off again.
  void reply.code(error.statusCode).header('content-type', ERROR_CONTENT_TYPE).send(Buffer.from(errorBody(error)));
}

/**
 * fastify's `frameworkErrors`: what its router refuses before any route or hook runs (a URL
 * that does not decode, a path parameter past routerOptions.maxParamLength).
 */
export function frameworkErrorReply(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  request.log.debug({ err: error }, 'request refused by the router');
  sendError(reply, apiError('BAD_REQUEST', { reason: error.message }));
}

export function installErrorReplies(app: FastifyInstance, backend: ClusterBackend): void {
  app.setErrorHandler((error: unknown, request, reply) => {
    let rendered: ApiError | null = null;
    try {
      rendered = toApiError(error, request, backend);
    } catch (mappingError) {
      request.log.error({ err: mappingError }, 'failed to map an API error');
    }
    if (rendered === null) {
      request.log.error({ err: error }, 'request failed unexpectedly');
      rendered = apiError('INTERNAL', { reason: error instanceof Error ? error.message : String(error) });
    } else {
      // Catalogued refusals are the client's situation (or raft's, which raft logs itself).
      request.log[rendered.statusCode >= 500 ? 'info' : 'debug']({ code: rendered.code, reason: rendered.message }, 'request refused');
    }
    sendError(reply, rendered);
  });
  app.setNotFoundHandler((_request, reply) => sendError(reply, apiError('PAGE_NOT_FOUND')));
}
