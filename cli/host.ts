// Daemon addresses as docker spells them: unix:///absolute/path.sock or tcp://host[:port]. The
// client dials them and `berth daemon -H` listens on them, so both ends parse them here and
// accept and refuse the same spellings.

export type HostAddress =
  | { kind: 'unix'; path: string; url: string }
  | { kind: 'tcp'; host: string; port: number; url: string };

/** Docker's conventional ports, used when a tcp:// address names none. */
export const DEFAULT_TLS_PORT = 2376;
export const DEFAULT_PLAIN_PORT = 2375;

/** `tls` only picks the default port; `url` comes back normalised with the port spelled out. */
export function parseHost(spec: string, tls: boolean): HostAddress {
  if (spec.startsWith('unix://')) {
    const path = spec.slice('unix://'.length);
    if (!path.startsWith('/')) {
      throw new Error(`invalid host "${spec}": a unix socket needs an absolute path, as in unix:///run/berth/berth.sock`);
    }
    return { kind: 'unix', path, url: `unix://${path}` };
  }
  if (spec.startsWith('tcp://')) {
    let url: URL;
    try {
      url = new URL(spec);
    } catch {
      throw new Error(`invalid host "${spec}": expected tcp://host:port`);
    }
    if (!url.hostname || url.username || url.search || url.hash || (url.pathname !== '' && url.pathname !== '/')) {
      throw new Error(`invalid host "${spec}": expected tcp://host:port`);
    }
    const port = url.port ? Number(url.port) : tls ? DEFAULT_TLS_PORT : DEFAULT_PLAIN_PORT;
    // URL keeps IPv6 literals bracketed; sockets want them bare.
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    return { kind: 'tcp', host, port, url: `tcp://${url.hostname}:${port}` };
  }
  throw new Error(`invalid host "${spec}": use unix:///path/to.sock or tcp://host:port`);
}
