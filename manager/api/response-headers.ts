// Headers every response carries, as dockerd's version middleware sets them, and the one
// Content-Type rule the CLI depends on: JSON is `application/json` exactly. fastify appends
// `; charset=utf-8`, and with it the CLI prints error bodies raw (`{"message":"…"}`) instead of
// the message (catalog §1.3–1.4), so the parameter is dropped as the response leaves.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { API_VERSION } from './api-version.js';
import { BERTH_VERSION } from './berth-version.js';

const JSON_CONTENT_TYPE = 'application/json';

/** Api-Version, Ostype and Server, as dockerd sets them on every response. */
export function setEngineHeaders(reply: FastifyReply, osType: string): void {
  reply.header('Api-Version', API_VERSION);
  reply.header('Ostype', osType);
  reply.header('Server', `Berth/${BERTH_VERSION} (${osType})`);
}

export function addEngineHeaders(app: FastifyInstance, osType: () => string): void {
  app.addHook('onSend', async (_request, reply, payload) => {
    const contentType = reply.getHeader('content-type');
    if (typeof contentType === 'string' && contentType.split(';')[0].trim().toLowerCase() === JSON_CONTENT_TYPE) {
      reply.header('content-type', JSON_CONTENT_TYPE);
    }
    setEngineHeaders(reply, osType());
    return payload;
  });
}
