// The Docker Engine API's swarm subset as a fastify app: what the stock docker CLI needs to
// bootstrap and inspect a cluster (catalog §1–4). The daemon owns listening (unix socket, TCP
// with TLS); this builds the routes, the request conventions and the error rendering.
import Fastify from 'fastify';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { checkApiVersion, requestedApiVersion, stripVersionPrefix } from './api-version.js';
import type { ClusterBackend } from './backend.js';
import { frameworkErrorReply, installErrorReplies } from './error-reply.js';
import { acceptJsonBodies } from './request-body.js';
import { DebugRequestLog } from './request-log.js';
import { addEngineHeaders, setEngineHeaders } from './response-headers.js';
import { registerLogRoutes } from './routes/logs.js';
import { registerNodeRoutes } from './routes/nodes.js';
import { registerServiceRoutes } from './routes/services.js';
import { registerSwarmRoutes } from './routes/swarm.js';
import { registerSystemRoutes } from './routes/system.js';
import { registerTaskRoutes } from './routes/tasks.js';

/** Specs are a few KB; 4 MiB leaves room for large label sets and CA material without inviting abuse. */
export const DEFAULT_BODY_LIMIT_BYTES = 4 * 1024 * 1024;

/** Longer than any ID, hostname or object name a path may carry. */
const MAX_PATH_PARAMETER_LENGTH = 512;

export interface ApiServerOptions {
  backend: ClusterBackend;
  /** A pino logger; silent when omitted. Requests are logged at debug level, failures above it (request-log.ts). */
  logger?: FastifyBaseLogger;
  bodyLimit?: number;
}

export function buildApiServer({ backend, logger, bodyLimit = DEFAULT_BODY_LIMIT_BYTES }: ApiServerOptions): FastifyInstance {
  const app = Fastify({
    ...(logger ? { loggerInstance: logger } : {}),
    logController: new DebugRequestLog(),
    // dockerd answers HEAD only on /_ping, which registers its own.
    exposeHeadRoutes: false,
    bodyLimit,
    // Node hostnames (up to 253 characters) are path parameters too.
    routerOptions: { maxParamLength: MAX_PATH_PARAMETER_LENGTH },
    // Router refusals skip every hook, so they get the engine headers here.
    frameworkErrors: (error, request, reply) => {
      setEngineHeaders(reply, backend.systemInfo().osType);
      frameworkErrorReply(error, request, reply);
    },
    rewriteUrl: stripVersionPrefix,
    ajv: {
      customOptions: {
        // Bodies are JSON and must have the right types (dockerd's decoder is as strict);
        // query values are strings, parsed by the handlers.
        coerceTypes: false,
        // Keeps parentSchema on errors, for the `description` validation-message.ts reads.
        verbose: true,
      },
    },
  }) as unknown as FastifyInstance;

  acceptJsonBodies(app);
  addEngineHeaders(app, () => backend.systemInfo().osType);
  installErrorReplies(app, backend);
  app.addHook('onRequest', async (request) => {
    checkApiVersion(requestedApiVersion(request.raw));
  });

  registerSystemRoutes(app, backend);
  registerSwarmRoutes(app, backend);
  registerNodeRoutes(app, backend);
  registerTaskRoutes(app, backend);
  registerServiceRoutes(app, backend);
  registerLogRoutes(app, backend);
  return app;
}
