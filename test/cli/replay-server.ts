// Replays traffic recorded between the stock docker CLI and a real dockerd (API 1.41), from
// ../shared/reference/engine-api-recording.jsonl, on a unix socket in a temporary directory (or,
// given certificates, on loopback tcp with TLS requiring client certificates). Each
// request is answered with the recorded response for the same method and path (version prefix
// ignored; query compared as a set, falling back to the path alone), and kept so a test can
// compare what `berth` sent with what `docker` sent.

import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordedCommands } from '../shared/engine-recording.js';

export interface Exchange {
  method: string;
  url: string;
  status: number;
  reqHeaders?: Record<string, string>;
  reqBody?: string;
  resHeaders?: Record<string, string>;
  resBody?: string;
}

export interface SentRequest {
  method: string;
  /** Path without the /vX.Y prefix. */
  path: string;
  query: Record<string, string>;
  version: string | undefined;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** The exchanges recorded for one docker command, by the name its `{"command": …}` line gives. */
export function recorded(command: string): Exchange[] {
  const section = recordedCommands().find((c) => c.name === command);
  if (!section) throw new Error(`no recorded command "${command}"`);
  return section.exchanges;
}

/** A recorded request line as a SentRequest would describe it, for comparisons. */
export function describe(exchange: { method: string; url: string }): string {
  const { path, query } = splitUrl(exchange.url);
  const q = Object.keys(query).sort().map((k) => `${k}=${query[k]}`).join('&');
  return `${exchange.method} ${path}${q ? `?${q}` : ''}`;
}

export function describeSent(request: SentRequest): string {
  const q = Object.keys(request.query).sort().map((k) => `${k}=${request.query[k]}`).join('&');
  return `${request.method} ${request.path}${q ? `?${q}` : ''}`;
}

/** PEM contents; clients must present a certificate signed by `ca`. */
export interface ReplayTls {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

export class ReplayServer {
  readonly requests: SentRequest[] = [];
  /** The address to pass to `berth -H`. */
  host = '';
  private readonly used = new Set<Exchange>();
  private readonly dir = mkdtempSync(join(tmpdir(), 'berth-cli-'));
  private readonly server: http.Server;

  private constructor(
    private readonly exchanges: Exchange[],
    tls: ReplayTls | undefined,
  ) {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => this.answer(req, res);
    this.server = tls ? https.createServer({ ...tls, requestCert: true, rejectUnauthorized: true }, handler) : http.createServer(handler);
  }

  static async start(exchanges: Exchange[], tls?: ReplayTls): Promise<ReplayServer> {
    const replay = new ReplayServer(exchanges, tls);
    const socketPath = join(replay.dir, 'berth.sock');
    await new Promise<void>((resolve, reject) => {
      replay.server.once('error', reject);
      if (tls) replay.server.listen(0, '127.0.0.1', resolve);
      else replay.server.listen(socketPath, resolve);
    });
    replay.host = tls ? `tcp://127.0.0.1:${(replay.server.address() as AddressInfo).port}` : `unix://${socketPath}`;
    return replay;
  }

  /** Requests as "METHOD /path?sorted=query", the /_ping included. */
  sent(): string[] {
    return this.requests.map(describeSent);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    rmSync(this.dir, { recursive: true, force: true });
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const { path, query, version } = splitUrl(req.url ?? '/');
      const sent: SentRequest = { method: req.method ?? '', path, query, version, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      this.requests.push(sent);
      const match = this.find(sent);
      if (!match) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(`${JSON.stringify({ message: `replay: nothing recorded for ${describeSent(sent)}` })}\n`);
        return;
      }
      this.used.add(match);
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(match.resHeaders ?? {})) {
        if (name !== 'transfer-encoding' && name !== 'content-length') headers[name] = value;
      }
      res.writeHead(match.status, headers);
      res.end(req.method === 'HEAD' ? undefined : (match.resBody ?? ''));
    });
  }

  /** The first unused exchange that matches, else the last one that did (repeated GET /swarm). */
  private find(sent: SentRequest): Exchange | undefined {
    const samePath = this.exchanges.filter((e) => {
      const recordedUrl = splitUrl(e.url);
      return e.method === sent.method && recordedUrl.path === sent.path;
    });
    const sameQuery = samePath.filter((e) => sameEntries(splitUrl(e.url).query, sent.query));
    for (const candidates of [sameQuery, samePath]) {
      const fresh = candidates.find((e) => !this.used.has(e));
      if (fresh) return fresh;
      if (candidates.length) return candidates[candidates.length - 1];
    }
    return undefined;
  }
}

function splitUrl(url: string): { path: string; query: Record<string, string>; version: string | undefined } {
  const parsed = new URL(url, 'http://replay');
  const versioned = /^\/v(\d+\.\d+)(\/.*)$/.exec(parsed.pathname);
  return {
    path: versioned ? versioned[2] : parsed.pathname,
    version: versioned?.[1],
    query: Object.fromEntries(parsed.searchParams),
  };
}

function sameEntries(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => b[k] === a[k]);
}
