// The docker CLI's service flags, parsed as docker parses them (cli/command/service/opts.go and
// the opts package at docker/cli v28.2.2): Go durations, go-units memory sizes, decimal CPUs,
// `-p` in its long and short syntax, env/label lists. Each parser throws commander's
// InvalidArgumentError, so a bad value is a usage error (exit 2) naming the flag and the value.

import { InvalidArgumentError } from 'commander';

// ---------------------------------------------------------------------------------------------
// Go durations (time.ParseDuration / time.Duration.String), in nanoseconds.

const DURATION_UNITS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  'µs': 1e3,
  'μs': 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** time.ParseDuration: "10s", "1m30s", "1.5h", "300ms", "0"; the result in nanoseconds. */
export function parseGoDuration(text: string): number {
  const quoted = JSON.stringify(text);
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest[0] === '-') sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw new InvalidArgumentError(`time: invalid duration ${quoted}`);
  let total = 0;
  while (rest !== '') {
    const number = /^(\d*)(?:\.(\d*))?/.exec(rest)!;
    if (number[0] === '' || number[0] === '.') throw new InvalidArgumentError(`time: invalid duration ${quoted}`);
    rest = rest.slice(number[0].length);
    const unit = /^[^\d.]*/.exec(rest)![0];
    if (unit === '') throw new InvalidArgumentError(`time: missing unit in duration ${quoted}`);
    const scale = DURATION_UNITS[unit];
    if (scale === undefined) throw new InvalidArgumentError(`time: unknown unit ${JSON.stringify(unit)} in duration ${quoted}`);
    rest = rest.slice(unit.length);
    total += Number(`${number[1] || '0'}.${number[2] || '0'}`) * scale;
  }
  const nanos = Math.round(total);
  if (nanos > Number.MAX_SAFE_INTEGER) throw new InvalidArgumentError(`time: invalid duration ${quoted}`);
  return sign * nanos;
}

/** time.Duration.String: 5000000000 → "5s", 90e9 → "1m30s", 1500000 → "1.5ms", 0 → "0s". */
export function formatGoDuration(nanos: number): string {
  if (nanos === 0) return '0s';
  const negative = nanos < 0;
  let n = Math.abs(nanos);
  let text: string;
  if (n < 1e9) {
    const [unit, scale] = n < 1e3 ? ['ns', 1] : n < 1e6 ? ['µs', 1e3] : ['ms', 1e6];
    text = `${trimFraction(n, scale)}${unit}`;
  } else {
    const hours = Math.floor(n / 3600e9);
    n -= hours * 3600e9;
    const minutes = Math.floor(n / 60e9);
    n -= minutes * 60e9;
    text = `${trimFraction(n, 1e9)}s`;
    if (hours > 0) text = `${hours}h${minutes}m${text}`;
    else if (minutes > 0) text = `${minutes}m${text}`;
  }
  return negative ? `-${text}` : text;
}

function trimFraction(value: number, scale: number): string {
  const whole = Math.floor(value / scale);
  const fraction = value - whole * scale;
  if (fraction === 0) return String(whole);
  const digits = String(scale).length - 1;
  return `${whole}.${String(fraction).padStart(digits, '0').replace(/0+$/, '')}`;
}

// ---------------------------------------------------------------------------------------------
// Sizes, CPUs, counts.

const RAM_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** go-units RAMInBytes: "512M", "1g", "64m", "1.5GiB", "1024" (binary multiples). */
export function parseMemory(text: string): number {
  const match = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(text);
  const size = match ? Number(match[1]) : NaN;
  if (!match || Number.isNaN(size)) throw new InvalidArgumentError(`invalid size: '${text}'`);
  return Math.trunc(size * RAM_UNITS[(match[2] ?? '').toLowerCase()]);
}

/** opts.ParseCPUs: a decimal number of CPUs ("0.5", "2") → NanoCPUs, refusing sub-nano precision. */
export function parseCpus(text: string): number {
  const match = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(text.trim());
  if (!match || (match[2] === '' && !match[3])) throw new InvalidArgumentError(`failed to parse ${text} as a rational number`);
  const fraction = (match[3] ?? '').replace(/0+$/, '');
  if (fraction.length > 9) throw new InvalidArgumentError('value is too precise');
  const nanos = Number(match[2] || '0') * 1e9 + Number(fraction.padEnd(9, '0') || '0');
  return match[1] === '-' ? -nanos : nanos;
}

/** strconv.ParseUint(s, 0, 64) as docker's Uint64Opt and uint flags use it (decimal, 0x…, 0o…). */
export function parseUint(text: string): number {
  const ok = /^(\d+|0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+)$/.test(text);
  const value = ok ? Number(text.replace(/^0(\d)/, '0o$1')) : NaN;
  if (!ok || !Number.isSafeInteger(value)) throw new InvalidArgumentError(`strconv.ParseUint: parsing ${JSON.stringify(text)}: invalid syntax`);
  return value;
}

/** A float flag (--update-max-failure-ratio), as strconv.ParseFloat. */
export function parseFloat32(text: string): number {
  const value = Number(text);
  if (text.trim() === '' || Number.isNaN(value)) throw new InvalidArgumentError(`strconv.ParseFloat: parsing ${JSON.stringify(text)}: invalid syntax`);
  return Math.fround(value);
}

// ---------------------------------------------------------------------------------------------
// Lists: env, labels, placement preferences.

/** opts.ValidateEnv: KEY=VALUE as given; a bare KEY takes its value from our environment when set. */
export function parseEnv(text: string): string {
  const at = text.indexOf('=');
  const key = at < 0 ? text : text.slice(0, at);
  if (key === '') throw new InvalidArgumentError(`invalid environment variable: ${text}`);
  if (at >= 0) return text;
  const value = process.env[key];
  return value === undefined ? text : `${key}=${value}`;
}

/** opts.ValidateLabel: a label needs a name. */
export function parseLabel(text: string): string {
  const at = text.indexOf('=');
  const key = (at < 0 ? text : text.slice(0, at)).trim();
  if (key === '') throw new InvalidArgumentError(`invalid label '${text}': empty name`);
  return text;
}

/** opts.ConvertKVStringsToMap: "k=v" → k: "v", "k" → k: "". */
export function kvMap(items: string[] | undefined): Record<string, string> {
  const map: Record<string, string> = {};
  for (const item of items ?? []) {
    const at = item.indexOf('=');
    if (at < 0) map[item] = '';
    else map[item.slice(0, at)] = item.slice(at + 1);
  }
  return map;
}

export interface PlacementPreference {
  Spread: { SpreadDescriptor: string };
}

/** --placement-pref spread=node.labels.zone */
export function parsePlacementPref(text: string): PlacementPreference {
  const at = text.indexOf('=');
  const strategy = at < 0 ? '' : text.slice(0, at);
  if (at < 0 || strategy === '') throw new InvalidArgumentError('placement preference must be of the format "<strategy>=<arg>"');
  if (strategy !== 'spread') throw new InvalidArgumentError(`unsupported placement preference ${strategy} (only spread is supported)`);
  return { Spread: { SpreadDescriptor: text.slice(at + 1) } };
}

// ---------------------------------------------------------------------------------------------
// Published ports (swarmopts.PortOpt).

export interface PortConfig {
  Name?: string;
  Protocol?: string;
  TargetPort?: number;
  PublishedPort?: number;
  PublishMode?: string;
}

const PROTOCOLS = ['tcp', 'udp', 'sctp'];

/**
 * `-p published=8080,target=80,protocol=udp,mode=host` (long syntax) or
 * `-p [hostPort:]containerPort[/proto]` with ranges (`8000-8001:80-81`), as docker parses them.
 */
export function parsePublish(text: string): PortConfig[] {
  if (/\w+=\w+(,\w+=\w+)*/.test(text)) return [parseLongPort(text)];
  return parseShortPort(text);
}

function parseLongPort(text: string): PortConfig {
  const port: PortConfig = {};
  for (const field of text.split(',')) {
    const lower = field.toLowerCase();
    const at = lower.indexOf('=');
    const key = at < 0 ? '' : lower.slice(0, at);
    const value = lower.slice(at + 1);
    if (key === '') throw new InvalidArgumentError(`invalid field: ${field}`);
    switch (key) {
      case 'protocol':
        if (!PROTOCOLS.includes(value)) throw new InvalidArgumentError(`invalid protocol value '${value}'`);
        port.Protocol = value;
        break;
      case 'mode':
        if (value !== 'ingress' && value !== 'host') {
          throw new InvalidArgumentError(`invalid publish mode value (${value}): must be either 'ingress' or 'host'`);
        }
        port.PublishMode = value;
        break;
      case 'target':
        port.TargetPort = portNumber(value, 'target port');
        break;
      case 'published':
        port.PublishedPort = portNumber(value, 'published port');
        break;
      default:
        throw new InvalidArgumentError(`invalid field key: ${key}`);
    }
  }
  if (!port.TargetPort) throw new InvalidArgumentError("missing mandatory field 'target'");
  return {
    Protocol: port.Protocol ?? 'tcp',
    TargetPort: port.TargetPort,
    PublishedPort: port.PublishedPort ?? 0,
    PublishMode: port.PublishMode ?? 'ingress',
  };
}

function portNumber(value: string, what: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (Number.isNaN(n)) throw new InvalidArgumentError(`invalid ${what} (${value}): value must be an integer: invalid syntax`);
  if (n > 65535) throw new InvalidArgumentError(`invalid ${what} (${value}): value must be an integer: value out of range`);
  return n;
}

/** nat.ParsePortSpec + ConvertPortToPortConfig, for the forms swarm accepts (no host IP). */
function parseShortPort(text: string): PortConfig[] {
  const slash = text.lastIndexOf('/');
  const proto = (slash < 0 ? 'tcp' : text.slice(slash + 1)).toLowerCase();
  const spec = slash < 0 ? text : text.slice(0, slash);
  if (!PROTOCOLS.includes(proto)) throw new InvalidArgumentError(`invalid proto: ${proto}`);
  const parts = spec.split(':');
  if (parts.length > 3) throw new InvalidArgumentError(`invalid port format: ${text}`);
  if (parts.length === 3 && parts[0] !== '') throw new InvalidArgumentError('hostip is not supported');
  const container = parts[parts.length - 1];
  const host = parts.length >= 2 ? parts[parts.length - 2] : '';
  if (container === '') throw new InvalidArgumentError(`no port specified: ${text}<empty>`);
  const [cStart, cEnd] = portRange(container, `invalid containerPort: ${container}`);
  const [hStart, hEnd] = host === '' ? [0, 0] : portRange(host, `invalid hostPort: ${host}`);
  const ports: PortConfig[] = [];
  const entry = (target: number, published: number): PortConfig => ({ Protocol: proto, TargetPort: target, PublishedPort: published, PublishMode: 'ingress' });
  if (host !== '' && cEnd - cStart !== hEnd - hStart) {
    // One container port bound to a range of host ports: one entry per host port.
    if (cEnd !== cStart) throw new InvalidArgumentError(`invalid ranges specified for container and host Ports: ${container} and ${host}`);
    for (let h = hStart; h <= hEnd; h++) ports.push(entry(cStart, h));
    return ports;
  }
  for (let i = 0; i <= cEnd - cStart; i++) ports.push(entry(cStart + i, host === '' ? 0 : hStart + i));
  return ports;
}

function portRange(text: string, message: string): [number, number] {
  const match = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!match) throw new InvalidArgumentError(message);
  const start = Number(match[1]);
  const end = match[2] === undefined ? start : Number(match[2]);
  if (start > 65535 || end > 65535 || end < start) throw new InvalidArgumentError(message);
  return [start, end];
}

// ---------------------------------------------------------------------------------------------
// Images.

/** The docker client's imageWithTagString: a bare name gets ":latest"; digests and tags are kept. */
export function tagImage(image: string): string {
  if (image === '' || image.includes('@') || /[A-Z]/.test(image)) return image;
  const lastSlash = image.lastIndexOf('/');
  return image.slice(lastSlash + 1).includes(':') ? image : `${image}:latest`;
}

/** The image reference without its digest, when a tag names it anyway (what `service ls` shows). */
export function imageWithoutDigest(image: string): string {
  const at = image.indexOf('@');
  if (at < 0) return image;
  const named = image.slice(0, at);
  return named.lastIndexOf(':') > named.lastIndexOf('/') ? named : image;
}
