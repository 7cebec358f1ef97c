// Loads a gRPC service from proto/ with @grpc/proto-loader, for the control-plane services
// (membership, and others that are not on a hot path; raft has its own hand-tuned codec).

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** The repository's proto/ folder, found from this file whether it runs from dist/ or source. */
export function protoDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'proto')) && existsSync(join(dir, 'package.json'))) return join(dir, 'proto');
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the proto/ directory');
    dir = parent;
  }
}

export interface LoadedService {
  definition: grpc.ServiceDefinition;
  Client: grpc.ServiceClientConstructor;
}

/** `fullName` is package.Service, e.g. 'berth.membership.RaftMembership'. */
export function loadService(file: string, fullName: string): LoadedService {
  const packageDefinition = protoLoader.loadSync(join(protoDir(), file), {
    keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true,
  });
  const loaded = grpc.loadPackageDefinition(packageDefinition);
  let node: unknown = loaded;
  for (const part of fullName.split('.')) node = (node as Record<string, unknown>)[part];
  const Client = node as grpc.ServiceClientConstructor;
  if (typeof Client !== 'function' || !Client.service) throw new Error(`service ${fullName} not found in ${file}`);
  return { definition: Client.service, Client };
}
