// One Agent in a process of its own, so a test can kill it with SIGKILL the way a crashed daemon
// or a powered-off host goes: no goodbye, the kernel just closes its connections. Started by
// dispatcher.test.ts with a JSON config as its argument; prints "connected" once its session is
// acknowledged. Without an argument (a test runner loading the folder) it does nothing.
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { Agent } from '../../../worker/agent/agent.js';
import { describeNode } from '../../../worker/node-description.js';

export interface AgentProcessConfig {
  nodeId: string;
  managers: string[];
  caPath: string;
  certPath: string;
  keyPath: string;
}

const POLL_MS = 10;

const argument = process.argv[2];
if (argument !== undefined) {
  const config = JSON.parse(argument) as AgentProcessConfig;
  const agent = new Agent({
    nodeId: config.nodeId,
    managers: config.managers.map((addr) => ({ addr })),
    credentials: grpc.credentials.createSsl(readFileSync(config.caPath), readFileSync(config.keyPath), readFileSync(config.certPath)),
    description: describeNode({ hostname: 'killed-host' }),
  });
  agent.start();
  const poll = setInterval(() => {
    if (!agent.status().connected) return;
    clearInterval(poll);
    process.stdout.write('connected\n');
  }, POLL_MS);
}
