// Serves one fastify app on every -H address: unix sockets (mode 0660, parent created), and
// tcp with TLS (client certificates required with --tlsverify) or, for loopback tests only, plain.

import { chmodSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { dirname } from 'node:path';
import type { DaemonTlsOptions } from './options.js';

type RequestHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export interface ApiListener {
  address: string;
  close(): Promise<void>;
}

export async function listenApi(hosts: string[], handler: RequestHandler, tls: DaemonTlsOptions | undefined, insecureTcp: boolean): Promise<ApiListener[]> {
  const listeners: ApiListener[] = [];
  for (const host of hosts) {
    const url = new URL(host);
    let server: http.Server | https.Server;
    if (url.protocol === 'unix:') {
      const path = url.pathname;
      mkdirSync(dirname(path), { recursive: true });
      rmSync(path, { force: true }); // a socket left by a killed daemon
      server = http.createServer(handler);
      await listen(server, { path });
      chmodSync(path, 0o660);
    } else if (url.protocol === 'tcp:') {
      const port = Number(url.port);
      if (tls) {
        server = https.createServer({
          ca: readFileSync(tls.ca), cert: readFileSync(tls.cert), key: readFileSync(tls.key),
          requestCert: tls.verify, rejectUnauthorized: tls.verify,
        }, handler);
      } else if (insecureTcp) {
        server = http.createServer(handler);
      } else {
        throw new Error(`refusing to serve ${host} without TLS: pass --tlsverify --tlscacert --tlscert --tlskey, or --insecure-tcp for loopback tests`);
      }
      await listen(server, { host: url.hostname, port });
    } else {
      throw new Error(`unsupported API address ${host}: use unix:///path or tcp://host:port`);
    }
    const s = server;
    listeners.push({
      address: host,
      close: () => new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      }),
    });
  }
  return listeners;
}

function listen(server: http.Server, options: { path?: string; host?: string; port?: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
