// A small client for the Docker Engine API a berth daemon serves: JSON in and out over a unix
// socket or tcp (optionally TLS), with the daemon's refusals turned into errors a person can act on.
// It negotiates the API version the way the docker CLI does (HEAD /_ping first), so the daemon sees
// the same requests from `berth` as from `docker`.

import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import { DEFAULT_HOST } from './daemon/options.js';
import { parseHost, type HostAddress } from './host.js';

/** The API version berth daemons serve; a daemon reporting an older one is spoken to in its version. */
export const API_VERSION = '1.41';
export const CLIENT_VERSION: string = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

/** The global flags that say where the daemon is and how to reach it. */
export interface ConnectionOptions {
  host?: string;
  tls?: boolean;
  tlsverify?: boolean;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
}

/** The daemon answered with an error status; `message` is its own words. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export type Query = Record<string, string | undefined>;

interface RawResponse {
  status: number;
  contentType: string;
  apiVersion: string | undefined;
  body: string;
}

export class EngineClient {
  private readonly agent: http.Agent;
  private version: Promise<string> | undefined;

  constructor(
    readonly address: HostAddress,
    private readonly tls: https.AgentOptions | undefined,
  ) {
    // One kept-alive connection serves every request of a command (join-token makes five), so a
    // TLS handshake is paid once. Node unrefs idle kept-alive sockets, so they never hold the
    // process open.
    this.agent = tls ? new https.Agent({ ...tls, keepAlive: true }) : new http.Agent({ keepAlive: true });
  }

  /** `headers`: extra request headers (X-Registry-Auth for `--with-registry-auth`). */
  get<T>(path: string, query?: Query, headers?: http.OutgoingHttpHeaders): Promise<T> {
    return this.request<T>('GET', path, query, undefined, headers);
  }

  post<T>(path: string, body?: unknown, query?: Query, headers?: http.OutgoingHttpHeaders): Promise<T> {
    return this.request<T>('POST', path, query, body, headers);
  }

  delete<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>('DELETE', path, query);
  }

  async request<T>(method: string, path: string, query?: Query, body?: unknown, headers?: http.OutgoingHttpHeaders): Promise<T> {
    const version = await this.apiVersion();
    const url = `/v${version}${path}${encodeQuery(query)}`;
    const res = await this.send(method, url, body === undefined ? undefined : `${JSON.stringify(body)}\n`, headers);
    if (res.status >= 200 && res.status < 300) {
      if (res.body === '') return undefined as T;
      return (isJson(res.contentType) ? JSON.parse(res.body) : res.body) as T;
    }
    throw this.errorFrom(res, url);
  }

  /**
   * A GET whose response is a stream (logs): resolves with the response once its headers arrive,
   * for the caller to read and to destroy when done; an error status rejects as request() does.
   */
  async stream(path: string, query?: Query): Promise<http.IncomingMessage> {
    const version = await this.apiVersion();
    const url = `/v${version}${path}${encodeQuery(query)}`;
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const target = this.address.kind === 'unix' ? { socketPath: this.address.path } : { host: this.address.host, port: this.address.port };
      const headers: http.OutgoingHttpHeaders = { 'User-Agent': `berth-cli/${CLIENT_VERSION} (${process.platform})` };
      // Its own connection: a following stream must not hold the kept-alive one other requests share.
      const options = { ...target, method: 'GET', path: url, headers };
      const req = this.tls ? https.request({ ...options, agent: new https.Agent(this.tls) }, resolve) : http.request({ ...options, agent: false }, resolve);
      req.on('error', (err) => reject(this.connectError(err as NodeJS.ErrnoException, 'GET', url)));
      req.end();
    });
    if (res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300) return res;
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    const apiVersion = res.headers['api-version'];
    throw this.errorFrom({
      status: res.statusCode ?? 0,
      contentType: res.headers['content-type'] ?? '',
      apiVersion: Array.isArray(apiVersion) ? apiVersion[0] : apiVersion,
      body: Buffer.concat(chunks).toString('utf8'),
    }, url);
  }

  /**
   * The API version in use, negotiated as the docker CLI does: HEAD /_ping (GET when HEAD is not
   * understood), then min(our version, the daemon's Api-Version) for the rest of the process.
   */
  apiVersion(): Promise<string> {
    this.version ??= (async () => {
      let ping = await this.send('HEAD', '/_ping');
      if (ping.status !== 200 && ping.status !== 500) ping = await this.send('GET', '/_ping');
      const theirs = ping.apiVersion;
      return theirs && /^\d+\.\d+$/.test(theirs) && compareVersions(theirs, API_VERSION) < 0 ? theirs : API_VERSION;
    })();
    return this.version;
  }

  private send(method: string, path: string, body?: string, extraHeaders?: http.OutgoingHttpHeaders): Promise<RawResponse> {
    const target =
      this.address.kind === 'unix'
        ? { socketPath: this.address.path }
        : { host: this.address.host, port: this.address.port };
    const headers: http.OutgoingHttpHeaders = { 'User-Agent': `berth-cli/${CLIENT_VERSION} (${process.platform})`, ...extraHeaders };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = Buffer.byteLength(body);
    }
    const transport = this.agent instanceof https.Agent ? https : http;
    return new Promise((resolve, reject) => {
      const req = transport.request({ ...target, method, path, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const apiVersion = res.headers['api-version'];
          resolve({
            status: res.statusCode ?? 0,
            contentType: res.headers['content-type'] ?? '',
            apiVersion: Array.isArray(apiVersion) ? apiVersion[0] : apiVersion,
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
      });
      req.on('error', (err) => reject(this.connectError(err as NodeJS.ErrnoException, method, path)));
      req.end(body);
    });
  }

  /** The renderings the docker CLI uses (catalog §1.4), so a message reads the same from either. */
  private errorFrom(res: RawResponse, url: string): Error {
    const text = res.body.trim();
    if (text === '') {
      return new Error(
        `request returned ${res.status} ${http.STATUS_CODES[res.status] ?? ''} for API route and version ${this.address.url}${url}, check if the server supports the requested API version`,
      );
    }
    if (isJson(res.contentType)) {
      try {
        const parsed = JSON.parse(text) as { message?: unknown };
        if (typeof parsed?.message === 'string' && parsed.message !== '') return new ApiError(res.status, parsed.message);
        return new ApiError(
          res.status,
          `API returned a ${res.status} (${http.STATUS_CODES[res.status] ?? 'Unknown'}) but provided no error-message`,
        );
      } catch {
        // Not JSON after all: show the body as it came.
      }
    }
    return new ApiError(res.status, text);
  }

  private connectError(err: NodeJS.ErrnoException, method: string, path: string): Error {
    const at = this.address.url;
    switch (err.code) {
      case 'ECONNREFUSED':
      case 'ENOENT':
        return new Error(`Cannot connect to the berth daemon at ${at}. Is the berth daemon running?`);
      case 'EACCES':
        return new Error(`permission denied while trying to connect to the berth daemon socket at ${at}`);
      default:
        return new Error(`error during connect: ${method} ${at}${path}: ${err.message}`);
    }
  }
}

/** Builds a client from the global flags, with BERTH_HOST and then the local socket as defaults. */
export function connect(options: ConnectionOptions, env: NodeJS.ProcessEnv = process.env): EngineClient {
  const useTls = Boolean(options.tls || options.tlsverify || options.tlscacert || options.tlscert || options.tlskey);
  const address = parseHost(options.host ?? env.BERTH_HOST ?? DEFAULT_HOST, useTls);
  if (address.kind === 'unix' || !useTls) return new EngineClient(address, undefined);
  return new EngineClient(address, {
    // Like docker: --tls alone encrypts without checking who answers; --tlsverify checks the
    // daemon's certificate against --tlscacert (the system roots when none is given).
    rejectUnauthorized: Boolean(options.tlsverify),
    ca: options.tlscacert ? readFlagFile('--tlscacert', options.tlscacert) : undefined,
    cert: options.tlscert ? readFlagFile('--tlscert', options.tlscert) : undefined,
    key: options.tlskey ? readFlagFile('--tlskey', options.tlskey) : undefined,
  });
}

function readFlagFile(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`cannot read ${flag} ${path}: ${(err as Error).message}`);
  }
}

/** Keys sorted, as Go's url.Values encodes them; undefined values are left out. */
function encodeQuery(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const key of Object.keys(query).sort()) {
    const value = query[key];
    if (value !== undefined) params.set(key, value);
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

function isJson(contentType: string): boolean {
  return contentType.split(';')[0].trim().toLowerCase() === 'application/json';
}

function compareVersions(a: string, b: string): number {
  const [aMajor, aMinor] = a.split('.').map(Number);
  const [bMajor, bMinor] = b.split('.').map(Number);
  return aMajor - bMajor || aMinor - bMinor;
}
