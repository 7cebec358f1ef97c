// Rendering shared by the verbs, reproducing what the docker CLI prints so people (and their
// habits) can move between `docker` and `berth`: tabwriter tables, go-units durations and sizes,
// Go's capitalisation of enum values and its time.String().

/**
 * Docker's tables come from Go's tabwriter with minwidth 10, padding 3: each column is as wide as
 * its widest cell plus 3, at least 10; the last column is not padded.
 */
const TABLE_MIN_WIDTH = 10;
const TABLE_PADDING = 3;

export function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, col) =>
    Math.max(TABLE_MIN_WIDTH, ...all.map((row) => (row[col] ?? '').length + TABLE_PADDING)),
  );
  const last = header.length - 1;
  return all
    .map((row) => row.map((cell, col) => (col === last ? cell : cell.padEnd(widths[col]))).join(''))
    .join('\n')
    .concat('\n');
}

/** Indented like `docker inspect` output, so scripts written for one read the other. */
export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 4)}\n`;
}

/** Pretty views align values at column 24, where docker's tab-laden templates land. */
const PRETTY_VALUE_COLUMN = 24;

export function field(label: string, value: string | number | boolean): string {
  return `${`${label}:`.padEnd(PRETTY_VALUE_COLUMN - 1)} ${value}`;
}

/** Go's command.PrettyPrint: "ready" → "Ready", "" stays "". */
export function capitalize(value: string | undefined): string {
  if (!value) return '';
  return value.length === 1 ? value.toLowerCase() : value[0].toUpperCase() + value.slice(1).toLowerCase();
}

/** go-units HumanDuration, the phrasing of "Running 5 minutes ago" and "Expiry Duration: 3 months". */
export function humanDuration(milliseconds: number): string {
  const seconds = Math.floor(milliseconds / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(seconds / 60);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.floor(milliseconds / 3_600_000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(milliseconds / 3_600_000 / 24 / 365)} years`;
}

/** Engine API durations are int64 nanoseconds. */
export function nanosToMillis(nanoseconds: number | undefined): number {
  return (nanoseconds ?? 0) / 1e6;
}

const BINARY_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'];

/** go-units BytesSize: binary units, four significant digits ("23.54GiB"). */
export function bytesSize(bytes: number): string {
  let size = bytes;
  let unit = 0;
  while (size >= 1024 && unit < BINARY_UNITS.length - 1) {
    size /= 1024;
    unit++;
  }
  return `${Number(size.toPrecision(4))}${BINARY_UNITS[unit]}`;
}

/**
 * Go's time.Time.String() of an RFC3339Nano timestamp (whose fraction is already trimmed the way
 * Go trims it), keeping the nanoseconds a JS Date would drop: "2026-11-22T13:09:02.879299871Z" → "2026-11-22 13:09:02.879299871 +0000 UTC".
 */
export function goTime(timestamp: string): string {
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}(?:\.\d+)?)(Z|[+-]\d{2}:\d{2})$/.exec(timestamp);
  if (!match) return timestamp;
  const [, date, time, zone] = match;
  const offset = zone === 'Z' ? '+0000' : zone.replace(':', '');
  return `${date} ${time} ${offset} ${zone === 'Z' ? 'UTC' : offset}`;
}

/** "5 minutes ago", lower-cased as in docker's task tables. */
export function ago(timestamp: string | undefined, now = Date.now()): string {
  const then = timestamp ? Date.parse(timestamp) : NaN;
  if (Number.isNaN(then)) return '';
  return `${humanDuration(Math.max(0, now - then)).toLowerCase()} ago`;
}

/** Swarm IDs are shown to 12 characters in tables, like stringid.TruncateID. */
export function shortId(id: string): string {
  return id.slice(0, 12);
}

/** formatter.Ellipsis: cut to `max` characters, the last one an ellipsis. */
export function ellipsis(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Orders "node2" before "node10", as docker's sortorder.NaturalLess does. */
export function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}
