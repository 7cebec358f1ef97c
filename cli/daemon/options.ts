// What `berth daemon` is started with. Parsed from flags by cli/commands/daemon.ts, consumed by
// cli/daemon/daemon.ts.

export interface DaemonTlsOptions {
  /** Require and verify client certificates signed by `ca` (like dockerd --tlsverify). */
  verify: boolean;
  ca: string;
  cert: string;
  key: string;
}

export interface DaemonOptions {
  /** Where the daemon keeps its state (raft log, store snapshots, certificates). Default /var/lib/berth. */
  dataDir: string;
  /** API listeners: unix:///path or tcp://host:port. Default unix:///run/berth/berth.sock. */
  hosts: string[];
  /** TLS for tcp:// API listeners; required for tcp unless insecureTcp. */
  tls?: DaemonTlsOptions;
  /** Allow plaintext tcp:// API listeners (loopback tests only). */
  insecureTcp: boolean;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
  /** Overrides the hostname the node reports (tests run several daemons on one machine). */
  hostname?: string;
  /**
   * What runs this node's tasks: docker (containers through dockerd), process (host processes),
   * or auto: docker when a Docker engine answers at dockerHost, else process.
   */
  runtime: 'auto' | 'docker' | 'process';
  /** The Docker engine to use: unix:///path or tcp://host:port; default DOCKER_HOST, else unix:///var/run/docker.sock. */
  dockerHost?: string;
  /** Engine labels this node reports (Description.Engine.Labels), as `dockerd --label k=v`. */
  labels: Record<string, string>;
}

export const DEFAULT_DATA_DIR = '/var/lib/berth';
export const DEFAULT_HOST = 'unix:///run/berth/berth.sock';
