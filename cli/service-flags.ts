// The docker CLI's service flags, parsed as docker parses them (cli/command/service/opts.go and
// the opts package at docker/cli v28.2.2): Go durations, go-units memory sizes, decimal CPUs,
// `-p` in its long and short syntax, env/label lists, shell words (--args, --entrypoint),
// `--mount` CSV, env files, ulimits, capabilities, and the registry credentials
// --with-registry-auth sends. Each parser throws commander's InvalidArgumentError, so a bad value
// is a usage error (exit 2) naming the flag and the value; registryAuthFor, which runs when the
// command does, throws plain errors (exit 1) that never quote the credentials.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve as resolvePath } from 'node:path';
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

/** opts.ConvertKVStringsToMap: "k=v" → k: "v", "k" → k: ""; keys sorted, as Go writes a map. */
export function kvMap(items: string[] | undefined): Record<string, string> {
  const map: Record<string, string> = {};
  for (const item of items ?? []) {
    const at = item.indexOf('=');
    if (at < 0) map[item] = '';
    else map[item.slice(0, at)] = item.slice(at + 1);
  }
  return sortedKeys(map);
}

/** The map with its keys in Go's encoding/json order (sorted). */
export function sortedKeys(map: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
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

// ---------------------------------------------------------------------------------------------
// Shell words (google/shlex, which docker's ShlexOpt uses for --args and --entrypoint).

const SHELL_SPACE = ' \t\r\n';

/**
 * shlex.Split: words split on space, tab, CR and LF; '…' taken literally; "…" with \ escaping any
 * character; \ escaping the next character outside quotes; a # that starts a word comments out
 * the rest of its line.
 */
export function splitShellWords(text: string): string[] {
  const chars = [...text];
  const words: string[] = [];
  let i = 0;
  const next = (): string => {
    if (i >= chars.length) throw new InvalidArgumentError('EOF found after escape character');
    return chars[i++];
  };
  while (i < chars.length) {
    if (SHELL_SPACE.includes(chars[i])) {
      i++;
      continue;
    }
    if (chars[i] === '#') {
      while (i < chars.length && chars[i] !== '\n') i++;
      continue;
    }
    let word = '';
    while (i < chars.length && !SHELL_SPACE.includes(chars[i])) {
      const c = chars[i++];
      if (c === '\\') {
        word += next();
      } else if (c === "'") {
        const end = chars.indexOf("'", i);
        if (end < 0) throw new InvalidArgumentError('EOF found when expecting closing quote');
        word += chars.slice(i, end).join('');
        i = end + 1;
      } else if (c === '"') {
        for (;;) {
          if (i >= chars.length) throw new InvalidArgumentError('EOF found when expecting closing quote');
          const q = chars[i++];
          if (q === '"') break;
          word += q === '\\' ? next() : q;
        }
      } else {
        word += c;
      }
    }
    words.push(word);
  }
  return words;
}

// ---------------------------------------------------------------------------------------------
// Integers, positive durations.

/** strconv.ParseInt(s, 0, 64), as pflag's int flags (--health-retries) use it. */
export function parseInt64(text: string): number {
  const sign = /^[+-]/.test(text) ? text[0] : '';
  try {
    const magnitude = parseUint(text.slice(sign.length));
    return sign === '-' ? -magnitude : magnitude;
  } catch {
    throw new InvalidArgumentError(`strconv.ParseInt: parsing ${JSON.stringify(text)}: invalid syntax`);
  }
}

/** opts.PositiveDurationOpt (the --health-* durations): a Go duration that is not negative. */
export function parsePositiveDuration(text: string): number {
  const nanos = parseGoDuration(text);
  if (nanos < 0) throw new InvalidArgumentError('duration cannot be negative');
  return nanos;
}

// ---------------------------------------------------------------------------------------------
// Mounts (opts.MountOpt): `--mount type=bind,source=/srv,target=/data,readonly`.

/** mount.Mount, with the options berth's workers act on. */
export interface Mount {
  Type?: string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  Consistency?: string;
  BindOptions?: { Propagation?: string; NonRecursive?: boolean; ReadOnlyNonRecursive?: boolean; ReadOnlyForceRecursive?: boolean };
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string>; Subpath?: string; DriverConfig?: { Name?: string; Options?: Record<string, string> } };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
}

/** The mount types berth's workers run (docker also passes npipe, cluster and image to the daemon). */
const MOUNT_TYPES = ['bind', 'volume', 'tmpfs'];
const PROPAGATIONS = ['rprivate', 'private', 'rshared', 'shared', 'rslave', 'slave'];

/** strconv.ParseBool. */
function parseGoBool(text: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  return undefined;
}

/** encoding/csv's first record of `text` (docker reads --mount and --secret values as CSV). */
function csvFields(text: string): string[] {
  if (text === '') throw new InvalidArgumentError('EOF');
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= text.length) throw new InvalidArgumentError(`parse error on line 1, column ${i + 1}: extraneous or missing " in quoted-field`);
        const c = text[i++];
        if (c !== '"') field += c;
        else if (text[i] === '"') field += text[i++];
        else break;
      }
      if (i < text.length && text[i] !== ',' && text[i] !== '\n') {
        throw new InvalidArgumentError(`parse error on line 1, column ${i + 1}: extraneous or missing " in quoted-field`);
      }
    } else {
      while (i < text.length && text[i] !== ',' && text[i] !== '\n') {
        if (text[i] === '"') throw new InvalidArgumentError(`parse error on line 1, column ${i + 1}: bare " in non-quoted-field`);
        field += text[i++];
      }
      if (text[i] === '\n' && field.endsWith('\r')) field = field.slice(0, -1);
    }
    fields.push(field);
    if (i >= text.length || text[i] === '\n') return fields;
    i++;
  }
}

/** One `--mount` value: CSV of key=value fields (keys case-insensitive), as opts.MountOpt.Set reads it. */
export function parseMount(text: string): Mount {
  let type = 'volume';
  let source = '';
  let target = '';
  let readOnly = false;
  let consistency = '';
  let bind: NonNullable<Mount['BindOptions']> | undefined;
  let volume: { NoCopy: boolean; Labels: Record<string, string>; Subpath: string; DriverConfig: { Name: string; Options?: Record<string, string> } } | undefined;
  let tmpfs: { SizeBytes: number; Mode: number } | undefined;
  const bindOptions = (): NonNullable<Mount['BindOptions']> => (bind ??= {});
  const volumeOptions = (): NonNullable<typeof volume> => (volume ??= { NoCopy: false, Labels: {}, Subpath: '', DriverConfig: { Name: '' } });
  const tmpfsOptions = (): NonNullable<typeof tmpfs> => (tmpfs ??= { SizeBytes: 0, Mode: 0 });
  const setKv = (map: Record<string, string>, kv: string): void => {
    const at = kv.indexOf('=');
    const key = at < 0 ? kv : kv.slice(0, at);
    if (key !== '') map[key] = at < 0 ? '' : kv.slice(at + 1);
  };
  const bool = (key: string, value: string, message = `invalid value for ${key}: ${value}`): boolean => {
    const parsed = parseGoBool(value);
    if (parsed === undefined) throw new InvalidArgumentError(message);
    return parsed;
  };

  for (const field of csvFields(text)) {
    const at = field.indexOf('=');
    const key = (at < 0 ? field : field.slice(0, at)).toLowerCase();
    const value = at < 0 ? '' : field.slice(at + 1);
    if (at < 0) {
      if (key === 'readonly' || key === 'ro') readOnly = true;
      else if (key === 'volume-nocopy') volumeOptions().NoCopy = true;
      else if (key === 'bind-nonrecursive') bindOptions().NonRecursive = true;
      else throw new InvalidArgumentError(`invalid field '${field}' must be a key=value pair`);
      continue;
    }
    switch (key) {
      case 'type':
        type = value.toLowerCase();
        break;
      case 'source':
      case 'src':
        // As docker: a relative path such as ./data is made absolute here, on the client.
        source = !isAbsolute(value) && value.startsWith('.') ? resolvePath(value) : value;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        target = value;
        break;
      case 'readonly':
      case 'ro':
        readOnly = bool(key, value);
        break;
      case 'consistency':
        consistency = value.toLowerCase();
        break;
      case 'bind-propagation':
        if (!PROPAGATIONS.includes(value.toLowerCase())) {
          throw new InvalidArgumentError(`invalid value for ${key}: ${value} (must be one of ${PROPAGATIONS.join(', ')})`);
        }
        bindOptions().Propagation = value.toLowerCase();
        break;
      case 'bind-nonrecursive':
        bindOptions().NonRecursive = bool(key, value);
        break;
      case 'bind-recursive':
        if (value === 'disabled') bindOptions().NonRecursive = true;
        else if (value === 'writable') bindOptions().ReadOnlyNonRecursive = true;
        else if (value === 'readonly') bindOptions().ReadOnlyForceRecursive = true;
        else if (value !== 'enabled') {
          throw new InvalidArgumentError(`invalid value for ${key}: ${value} (must be "enabled", "disabled", "writable", or "readonly")`);
        }
        break;
      case 'volume-subpath':
        volumeOptions().Subpath = value;
        break;
      case 'volume-nocopy':
        volumeOptions().NoCopy = bool(key, value, `invalid value for volume-nocopy: ${value}`);
        break;
      case 'volume-label':
        setKv(volumeOptions().Labels, value);
        break;
      case 'volume-driver':
        volumeOptions().DriverConfig.Name = value;
        break;
      case 'volume-opt':
        setKv((volumeOptions().DriverConfig.Options ??= {}), value);
        break;
      case 'tmpfs-size':
        try {
          tmpfsOptions().SizeBytes = parseMemory(value);
        } catch {
          throw new InvalidArgumentError(`invalid value for ${key}: ${value}`);
        }
        break;
      case 'tmpfs-mode': {
        // strconv.ParseUint(value, 8, 32): octal digits, no prefix.
        const mode = /^[0-7]+$/.test(value) ? parseInt(value, 8) : NaN;
        if (Number.isNaN(mode) || mode > 0xffffffff) throw new InvalidArgumentError(`invalid value for ${key}: ${value}`);
        tmpfsOptions().Mode = mode;
        break;
      }
      default:
        throw new InvalidArgumentError(`unexpected key '${key}' in '${field}'`);
    }
  }

  if (type === '') throw new InvalidArgumentError('type is required');
  if (target === '') throw new InvalidArgumentError('target is required');
  if (volume && type !== 'volume') throw new InvalidArgumentError(`cannot mix 'volume-*' options with mount type '${type}'`);
  if (bind && type !== 'bind') throw new InvalidArgumentError(`cannot mix 'bind-*' options with mount type '${type}'`);
  if (tmpfs && type !== 'tmpfs') throw new InvalidArgumentError(`cannot mix 'tmpfs-*' options with mount type '${type}'`);
  if (bind?.ReadOnlyNonRecursive && !readOnly) {
    throw new InvalidArgumentError("option 'bind-recursive=writable' requires 'readonly' to be specified in conjunction");
  }
  if (bind?.ReadOnlyForceRecursive) {
    if (!readOnly) throw new InvalidArgumentError("option 'bind-recursive=readonly' requires 'readonly' to be specified in conjunction");
    if (bind.Propagation !== 'rprivate') {
      throw new InvalidArgumentError("option 'bind-recursive=readonly' requires 'bind-propagation=rprivate' to be specified in conjunction");
    }
  }
  if (!MOUNT_TYPES.includes(type)) throw new InvalidArgumentError(`mount type '${type}' is not supported: berth runs bind, volume and tmpfs mounts`);

  // mount.Mount's JSON: Go's field order, omitempty, option structs written (even empty) when set.
  const mount: Mount = { Type: type };
  if (source) mount.Source = source;
  mount.Target = target;
  if (readOnly) mount.ReadOnly = true;
  if (consistency) mount.Consistency = consistency;
  if (bind) {
    mount.BindOptions = {};
    for (const key of ['Propagation', 'NonRecursive', 'ReadOnlyNonRecursive', 'ReadOnlyForceRecursive'] as const) {
      if (bind[key]) (mount.BindOptions as Record<string, unknown>)[key] = bind[key];
    }
  }
  if (volume) {
    const driver: { Name?: string; Options?: Record<string, string> } = {};
    if (volume.DriverConfig.Name) driver.Name = volume.DriverConfig.Name;
    if (Object.keys(volume.DriverConfig.Options ?? {}).length > 0) driver.Options = sortedKeys(volume.DriverConfig.Options!);
    mount.VolumeOptions = {};
    if (volume.NoCopy) mount.VolumeOptions.NoCopy = true;
    if (Object.keys(volume.Labels).length > 0) mount.VolumeOptions.Labels = sortedKeys(volume.Labels);
    if (volume.Subpath) mount.VolumeOptions.Subpath = volume.Subpath;
    mount.VolumeOptions.DriverConfig = driver;
  }
  if (tmpfs) {
    mount.TmpfsOptions = {};
    if (tmpfs.SizeBytes) mount.TmpfsOptions.SizeBytes = tmpfs.SizeBytes;
    if (tmpfs.Mode) mount.TmpfsOptions.Mode = tmpfs.Mode;
  }
  return mount;
}

// ---------------------------------------------------------------------------------------------
// Env files (pkg/kvfile), ulimits (go-units), capabilities (opts/capabilities.go).

/** Go's unicode.IsSpace, for the leading blanks an env file line loses. */
const GO_LEADING_SPACE = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

/**
 * `--env-file FILE`: its KEY=VALUE lines as they are (no quoting, no expansion, whitespace in the
 * value kept), `#` comments and blank lines skipped, a bare KEY taking its value from our
 * environment (and left out when unset there). Read when the flag is parsed, so a missing or
 * malformed file is a usage error naming the flag.
 */
export function readEnvFile(path: string, env: NodeJS.ProcessEnv = process.env): string[] {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EISDIR') throw new InvalidArgumentError(`invalid env file (${path}): read ${path}: is a directory`);
    const reason = code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new InvalidArgumentError(`open ${path}: ${reason}`);
  }
  const invalid = (reason: string): InvalidArgumentError => new InvalidArgumentError(`invalid env file (${path}): ${reason}`);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const variables: string[] = [];
  let start = 0;
  for (let number = 1; start < data.length; number++) {
    let end = data.indexOf(0x0a, start);
    if (end < 0) end = data.length;
    let bytes = data.subarray(start, end);
    start = end + 1;
    if (bytes.at(-1) === 0x0d) bytes = bytes.subarray(0, -1);
    if (number === 1 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch {
      throw invalid(`invalid utf8 bytes at line ${number}: [${[...bytes].join(' ')}]`);
    }
    const line = text.replace(GO_LEADING_SPACE, '');
    if (line === '' || line.startsWith('#')) continue;
    const at = line.indexOf('=');
    const key = at < 0 ? line : line.slice(0, at);
    if (key === '') throw invalid(`no variable name on line '${line}'`);
    if (/[ \t]/.test(key)) throw invalid(`variable '${key}' contains whitespaces`);
    if (at >= 0) variables.push(line);
    else if (env[key] !== undefined) variables.push(`${key}=${env[key]}`);
  }
  return variables;
}

/** container.Ulimit (go-units): Hard and Soft always written. */
export interface Ulimit {
  Name: string;
  Hard: number;
  Soft: number;
}

const ULIMIT_NAMES = ['core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack'];

/** units.ParseUlimit: `nofile=1024[:2048]`, soft then hard (hard defaults to soft; -1 is unlimited). */
export function parseUlimit(text: string): Ulimit {
  const at = text.indexOf('=');
  if (at < 0) throw new InvalidArgumentError(`invalid ulimit argument: ${text}`);
  const name = text.slice(0, at);
  if (!ULIMIT_NAMES.includes(name)) throw new InvalidArgumentError(`invalid ulimit type: ${name}`);
  const values = text.slice(at + 1).split(':');
  if (values.length > 2) {
    throw new InvalidArgumentError(`too many limit value arguments - ${text.slice(at + 1)}, can only have up to two, \`soft[:hard]\``);
  }
  const int = (value: string): number => {
    const n = /^[+-]?\d+$/.test(value) ? Number(value) : NaN;
    if (Number.isNaN(n)) throw new InvalidArgumentError(`strconv.ParseInt: parsing ${JSON.stringify(value)}: invalid syntax`);
    if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`strconv.ParseInt: parsing ${JSON.stringify(value)}: value out of range`);
    return n;
  };
  const hard = values.length === 2 ? int(values[1]) : undefined;
  const soft = int(values[0]);
  const effectiveHard = hard ?? soft;
  if (effectiveHard !== -1) {
    if (soft === -1) {
      throw new InvalidArgumentError(`ulimit soft limit must be less than or equal to hard limit: soft: -1 (unlimited), hard: ${effectiveHard}`);
    }
    if (soft > effectiveHard) throw new InvalidArgumentError(`ulimit soft limit must be less than or equal to hard limit: ${soft} > ${effectiveHard}`);
  }
  return { Name: name, Hard: effectiveHard, Soft: soft };
}

/** opts.UlimitOpt.GetList: one per name (the last given wins), sorted by name. */
export function ulimitList(ulimits: Ulimit[]): Ulimit[] {
  const byName = new Map<string, Ulimit>();
  for (const u of ulimits) byName.set(u.Name, u);
  return [...byName.values()].sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
}

export const ALL_CAPABILITIES = 'ALL';
export const RESET_CAPABILITIES = 'RESET';

/** opts.NormalizeCapability: upper case, trimmed, CAP_ prefixed (ALL and RESET kept as they are). */
export function normalizeCapability(capability: string): string {
  const c = capability.trim().toUpperCase();
  if (c === ALL_CAPABILITIES || c === RESET_CAPABILITIES) return c;
  return c.startsWith('CAP_') ? c : `CAP_${c}`;
}

/** opts.EffectiveCapAddCapDrop: normalized, deduplicated, sorted; ALL trumps the rest; adding wins over dropping. */
export function effectiveCapabilities(add: string[], drop: string[]): { add: string[]; drop: string[] } {
  let adds = new Set(add.map(normalizeCapability));
  let drops = new Set(drop.map(normalizeCapability));
  if (adds.has(ALL_CAPABILITIES)) adds = new Set([ALL_CAPABILITIES]);
  if (drops.has(ALL_CAPABILITIES)) drops = new Set([ALL_CAPABILITIES]);
  return {
    add: [...adds].filter((c) => c !== RESET_CAPABILITIES).sort(),
    drop: [...drops].filter((c) => c !== RESET_CAPABILITIES && !adds.has(c)).sort(),
  };
}

/**
 * docker's updateCapabilities for `service update --cap-add/--cap-drop`: RESET empties the
 * stored list first; dropping a capability the service adds only stops adding it (and the other
 * way round); adding wins when a capability is given to both. Sorted, ALL alone when present.
 */
export function updateCapabilities(
  current: { add?: string[] | null; drop?: string[] | null },
  given: { add?: string[]; drop?: string[] },
): { add: string[]; drop: string[] } {
  let capAdd = new Set((current.add ?? []).map(normalizeCapability));
  let capDrop = new Set((current.drop ?? []).map(normalizeCapability));
  const toAdd = new Set((given.add ?? []).map(normalizeCapability));
  const toDrop = new Set((given.drop ?? []).map(normalizeCapability));
  if (toAdd.delete(RESET_CAPABILITIES)) capAdd = new Set();
  if (toDrop.delete(RESET_CAPABILITIES)) capDrop = new Set();
  for (const c of toDrop) {
    if (toAdd.has(c)) continue;
    if (capAdd.has(c)) capAdd.delete(c);
    else capDrop.add(c);
  }
  for (const c of toAdd) {
    if (capDrop.has(c)) capDrop.delete(c);
    else capAdd.add(c);
  }
  const list = (caps: Set<string>): string[] => (caps.has(ALL_CAPABILITIES) ? [ALL_CAPABILITIES] : [...caps].sort());
  return { add: list(capAdd), drop: list(capDrop) };
}

// ---------------------------------------------------------------------------------------------
// Registry credentials (--with-registry-auth): what `docker` would send for an image.

/** The key the docker CLI stores Docker Hub credentials under. */
const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/';

/** distribution/reference's domain: docker.io unless the first path component looks like a host. */
export function registryDomain(image: string): string {
  const slash = image.indexOf('/');
  const first = slash < 0 ? '' : image.slice(0, slash);
  const hub = slash < 0 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first);
  return hub || first === 'index.docker.io' ? 'docker.io' : first;
}

/** configfile.ConvertToHostname: "https://registry.example:5000/v2/" → "registry.example:5000". */
function hostnameOf(address: string): string {
  if (address.includes('://')) {
    try {
      const url = new URL(address);
      if (url.hostname !== '') return url.host;
    } catch {
      // Not a URL after all: cut at the first slash, as below.
    }
  }
  return address.split('/')[0];
}

interface StoredAuth {
  auth?: string;
  username?: string;
  password?: string;
  email?: string;
  identitytoken?: string;
  registrytoken?: string;
}

interface DockerConfig {
  auths?: Record<string, StoredAuth>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

/** Asks `docker-credential-<helper> get` for the credentials of `serverAddress`; undefined when it has none. */
export type CredentialHelper = (helper: string, serverAddress: string) => { Username?: string; Secret?: string } | undefined;

function runCredentialHelper(helper: string, serverAddress: string): { Username?: string; Secret?: string } | undefined {
  const program = `docker-credential-${helper}`;
  let output: string;
  try {
    output = execFileSync(program, ['get'], { input: serverAddress, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], timeout: 30_000 });
  } catch (err) {
    const failure = err as NodeJS.ErrnoException & { stdout?: string };
    if (failure.code === 'ENOENT') throw new Error(`--with-registry-auth: ${program}: executable file not found in $PATH`);
    // The protocol's "not found" answer: docker goes on without credentials, and so does berth.
    const message = (failure.stdout ?? '').trim();
    if (/credentials not found/i.test(message)) return undefined;
    throw new Error(`--with-registry-auth: ${program} get failed${message ? `: ${message.split('\n')[0]}` : ''}`);
  }
  try {
    return JSON.parse(output) as { Username?: string; Secret?: string };
  } catch {
    throw new Error(`--with-registry-auth: ${program} get did not answer with JSON`);
  }
}

/**
 * The X-Registry-Auth value the docker CLI sends for `image` with --with-registry-auth (its
 * RetrieveAuthTokenFromImage): the credentials of the image's registry from $DOCKER_CONFIG (else
 * ~/.docker)/config.json, from a credential helper (`credHelpers`, `credsStore`) or from `auths`
 * (`auth` being base64 user:password, or an `identitytoken`), as base64url JSON
 * {username, password, email, serveraddress, identitytoken, registrytoken}. Undefined when none
 * are stored. Errors never quote the file or the credentials.
 */
export function registryAuthFor(
  image: string,
  options: { env?: NodeJS.ProcessEnv; credentialHelper?: CredentialHelper } = {},
): string | undefined {
  const env = options.env ?? process.env;
  const path = join(env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker'), 'config.json');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`--with-registry-auth: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  let config: DockerConfig;
  try {
    config = text.trim() === '' ? {} : (JSON.parse(text) as DockerConfig);
  } catch {
    throw new Error(`--with-registry-auth: ${path} is not valid JSON`);
  }
  const domain = registryDomain(image);
  const key = domain === 'docker.io' ? DOCKER_HUB_AUTH_KEY : domain;

  // The file store: the exact key, else an entry written as a URL for the same host.
  const auths = config.auths ?? {};
  const storedKey = key in auths ? key : Object.keys(auths).find((k) => hostnameOf(k) === key);
  const stored = storedKey === undefined ? {} : auths[storedKey];
  const creds = {
    username: stored.username ?? '',
    password: stored.password ?? '',
    email: stored.email ?? '',
    serveraddress: storedKey ?? '',
    identitytoken: stored.identitytoken ?? '',
    registrytoken: stored.registrytoken ?? '',
  };
  if (stored.auth) {
    const decoded = Buffer.from(stored.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw new Error(`--with-registry-auth: invalid auth configuration for ${storedKey} in ${path}`);
    creds.username = decoded.slice(0, colon);
    creds.password = decoded.slice(colon + 1).replace(/^\0+|\0+$/g, '');
  }

  const helper = config.credHelpers?.[key] ?? config.credsStore;
  if (helper) {
    const found = (options.credentialHelper ?? runCredentialHelper)(helper, key);
    creds.username = '';
    creds.password = '';
    creds.identitytoken = '';
    creds.serveraddress = '';
    if (found) {
      if (found.Username === '<token>') creds.identitytoken = found.Secret ?? '';
      else {
        creds.username = found.Username ?? '';
        creds.password = found.Secret ?? '';
      }
      creds.serveraddress = key;
    }
  }
  if (!creds.username && !creds.password && !creds.identitytoken && !creds.registrytoken) return undefined;
  const json = JSON.stringify(Object.fromEntries(Object.entries(creds).filter(([, v]) => v !== '')));
  // base64.URLEncoding: the URL alphabet, padding kept.
  return Buffer.from(json, 'utf8').toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}
