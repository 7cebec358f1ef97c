// A container's log as LogLines. dockerd multiplexes stdout and stderr on one stream in frames
// (an 8-byte header: stream type, 3 zero bytes, payload length big-endian, then the payload); a
// TTY container has a single raw stream with no frames. Timestamps are always requested, so each
// message starts with the engine's RFC 3339 nano time and a space: that is the line's `time`.

import type Docker from 'dockerode';
import type { LogLine, LogOptions, LogStream } from '../executor.js';
import { MAX_LOG_LINE_BYTES } from '../executor.js';

const FRAME_HEADER_BYTES = 8;
const STREAM_TYPES: Record<number, LogStream> = { 0: 'stdout', 1: 'stdout', 2: 'stderr' };

/** Splits `bytes` at MAX_LOG_LINE_BYTES, as Docker splits runaway lines. */
function pieces(bytes: Buffer): Buffer[] {
  if (bytes.length <= MAX_LOG_LINE_BYTES) return [bytes];
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += MAX_LOG_LINE_BYTES) out.push(bytes.subarray(at, at + MAX_LOG_LINE_BYTES));
  return out;
}

/** `<time> <text>` → lines of text with that time; text without the engine's timestamp gets now. */
function parseMessage(stream: LogStream, message: Buffer, out: LogLine[]): void {
  let time: string | undefined;
  let body: Buffer = message;
  const space = message.indexOf(0x20);
  // RFC 3339 with nanoseconds and a zone offset is at most 35 characters: a later space is inside the text.
  if (space > 0 && space <= 40) {
    const candidate = message.subarray(0, space).toString('latin1');
    if (/^\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d)$/.test(candidate)) {
      time = candidate;
      body = message.subarray(space + 1);
    }
  }
  time ??= new Date().toISOString();
  // A message is one line (the engine's log copier splits at newlines) ending in its newline; a
  // partial one (a piece of a line over 16 KiB) has none. Splitting at inner newlines is a safety net.
  if (body.length > 0 && body[body.length - 1] === 0x0a) body = body.subarray(0, body.length - 1);
  let start = 0;
  for (;;) {
    const newline = body.indexOf(0x0a, start);
    let line = body.subarray(start, newline < 0 ? body.length : newline);
    if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
    for (const piece of pieces(line)) out.push({ stream, time, line: piece.toString('utf8') });
    if (newline < 0) return;
    start = newline + 1;
  }
}

/** Incremental parser: feed it the bytes as they come, in any chunking. */
export class LogDecoder {
  private buffered: Buffer = Buffer.alloc(0);
  private raw: boolean;

  constructor(tty: boolean) {
    this.raw = tty;
  }

  push(chunk: Buffer): LogLine[] {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    const out: LogLine[] = [];
    if (!this.raw) this.frames(out);
    if (this.raw) this.rawLines(out, false);
    return out;
  }

  /** The rest, once the stream ended (a last raw line without newline). */
  end(): LogLine[] {
    const out: LogLine[] = [];
    if (this.raw) this.rawLines(out, true);
    this.buffered = Buffer.alloc(0);
    return out;
  }

  private frames(out: LogLine[]): void {
    while (this.buffered.length >= FRAME_HEADER_BYTES) {
      const stream = STREAM_TYPES[this.buffered[0]];
      if (stream === undefined || this.buffered[1] !== 0 || this.buffered[2] !== 0 || this.buffered[3] !== 0) {
        // Not a frame header: the stream is not multiplexed after all (a TTY container we were not told of).
        this.raw = true;
        return;
      }
      const length = this.buffered.readUInt32BE(4);
      if (this.buffered.length < FRAME_HEADER_BYTES + length) return;
      parseMessage(stream, this.buffered.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + length), out);
      this.buffered = this.buffered.subarray(FRAME_HEADER_BYTES + length);
    }
  }

  private rawLines(out: LogLine[], final: boolean): void {
    for (;;) {
      const newline = this.buffered.indexOf(0x0a);
      if (newline < 0) break;
      parseMessage('stdout', this.buffered.subarray(0, newline), out);
      this.buffered = this.buffered.subarray(newline + 1);
    }
    // A raw line that never ends is cut, leaving room for its timestamp, so it cannot grow without bound.
    const cap = MAX_LOG_LINE_BYTES + 64;
    while (this.buffered.length >= cap || (final && this.buffered.length > 0)) {
      const take = Math.min(this.buffered.length, cap);
      parseMessage('stdout', this.buffered.subarray(0, take), out);
      this.buffered = this.buffered.subarray(take);
    }
  }
}

function toMs(value: Date | number | undefined): number | undefined {
  return value === undefined ? undefined : typeof value === 'number' ? value : value.getTime();
}

/** Docker's `seconds.nanoseconds` timestamp for since/until. */
export function engineTimestamp(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const nanos = Math.round((ms - seconds * 1000) * 1e6);
  return `${seconds}.${String(nanos).padStart(9, '0')}`;
}

/**
 * The container's log, filtered as `docker service logs` filters it. `tail` is the engine's: the
 * last N lines of the log, counted before the stdout/stderr choice, as `docker logs --tail` does.
 * since is inclusive, until exclusive (checked again here on each line's own time).
 */
export async function* readContainerLogs(container: Docker.Container, tty: boolean, options: LogOptions = {}): AsyncGenerator<LogLine> {
  const stdout = options.stdout !== false;
  const stderr = options.stderr !== false;
  if (!stdout && !stderr) return;
  if (options.signal?.aborted) return;
  const since = toMs(options.since);
  const until = toMs(options.until);
  const query: Record<string, unknown> = { follow: options.follow === true, stdout, stderr, timestamps: true };
  if (options.tail !== undefined) query.tail = Math.max(0, Math.floor(options.tail));
  if (since !== undefined) query.since = engineTimestamp(since);
  // The engine's until is inclusive; lines at exactly `until` are dropped below.
  if (until !== undefined) query.until = engineTimestamp(until);
  const wanted = (line: LogLine): boolean => {
    if ((line.stream === 'stdout' && !stdout) || (line.stream === 'stderr' && !stderr)) return false;
    const t = Date.parse(line.time);
    return (since === undefined || t >= since) && (until === undefined || t < until);
  };

  const decoder = new LogDecoder(tty);
  const body = (await container.logs(query as unknown as Docker.ContainerLogsOptions & { follow: false })) as unknown as Buffer | NodeJS.ReadableStream;
  if (Buffer.isBuffer(body) || typeof body === 'string') {
    const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body as string);
    for (const line of [...decoder.push(bytes), ...decoder.end()]) if (wanted(line)) yield line;
    return;
  }
  const stream = body as NodeJS.ReadableStream & { destroy?: () => void };
  const onAbort = (): void => stream.destroy?.();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const chunk of stream) {
      for (const line of decoder.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk))) if (wanted(line)) yield line;
    }
    for (const line of decoder.end()) if (wanted(line)) yield line;
  } catch (error) {
    // An abort ends a following stream early: that is how the caller stops it, not an error.
    if (!options.signal?.aborted) throw error;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    stream.destroy?.();
  }
}
