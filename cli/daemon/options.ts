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
}

export const DEFAULT_DATA_DIR = '/var/lib/berth';
export const DEFAULT_HOST = 'unix:///run/berth/berth.sock';
