// A task's log: the collector turns the raw bytes the process wrote to stdout.raw / stderr.raw
// into timestamped JSON lines in log.jsonl; readLogs serves them with tail, since, until and
// follow. Each record carries `off`, the raw file's offset just past its line, so a collector
// started again after an agent restart resumes exactly where the last one stopped: no line is
// lost or stored twice.

import { EventEmitter, once } from 'node:events';
import { closeSync, existsSync, fstatSync, ftruncateSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import type { LogLine, LogOptions, LogStream } from '../executor.js';
import { MAX_LOG_LINE_BYTES } from '../executor.js';
import type { TaskFiles } from './task-files.js';

/**
 * How often the collector looks for new output. Lines are stamped when collected, so this bounds
 * both the error of a line's timestamp and the latency of `logs --follow`: 50 ms is below what a
 * person notices and what log timestamps are compared at, and costs two small reads per task per
 * tick when idle.
 */
export const LOG_COLLECT_INTERVAL_MS = 50;

/** At most this much raw output is collected per stream per tick, so a flood cannot stall the agent's event loop. */
const MAX_COLLECT_BYTES_PER_TICK = 1024 * 1024;

interface LogRecord {
  t: string;
  stream: LogStream;
  line: string;
  off: number;
}

class StreamTail {
  /** Offset in the raw file up to which lines are stored. */
  stored: number;
  /** Bytes read after `stored` that do not end in a newline yet. */
  pending = Buffer.alloc(0);

  constructor(readonly stream: LogStream, readonly path: string, resumeAt: number) {
    this.stored = resumeAt;
  }

  /** Reads new bytes and returns the complete lines among them (all the rest too when `final`). */
  collect(final: boolean): LogRecord[] {
    if (!existsSync(this.path)) return [];
    const fd = openSync(this.path, 'r');
    try {
      const size = fstatSync(fd).size;
      let position = this.stored + this.pending.length;
      const chunks = [this.pending];
      while (position < size) {
        const want = Math.min(size - position, MAX_COLLECT_BYTES_PER_TICK);
        const chunk = Buffer.alloc(want);
        const got = readSync(fd, chunk, 0, want, position);
        if (got === 0) break;
        chunks.push(chunk.subarray(0, got));
        position += got;
        if (!final) break;
      }
      this.pending = Buffer.concat(chunks);
    } finally {
      closeSync(fd);
    }
    const t = new Date().toISOString();
    const records: LogRecord[] = [];
    for (;;) {
      const newline = this.pending.indexOf(0x0a);
      let end: number;
      let next: number;
      if (newline >= 0 && newline <= MAX_LOG_LINE_BYTES) {
        end = newline;
        next = newline + 1;
      } else if (this.pending.length >= MAX_LOG_LINE_BYTES) {
        end = next = MAX_LOG_LINE_BYTES;
      } else if (final && this.pending.length > 0) {
        end = next = this.pending.length;
      } else break;
      this.stored += next;
      records.push({ t, stream: this.stream, line: this.pending.subarray(0, end).toString('utf8'), off: this.stored });
      this.pending = this.pending.subarray(next);
    }
    return records;
  }
}

/** Reads log.jsonl's records for a collector resuming, cutting a torn last line (a crash mid-append) from the file. */
function readRecords(path: string): LogRecord[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  const complete = text.lastIndexOf('\n') + 1;
  if (complete < Buffer.byteLength(text)) {
    const fd = openSync(path, 'r+');
    try {
      ftruncateSync(fd, Buffer.byteLength(text.slice(0, complete)));
    } finally {
      closeSync(fd);
    }
  }
  return parseRecords(Buffer.from(text.slice(0, complete)));
}

/** Collects one task's output while it runs; `finish()` stores the last bytes once it has exited. */
export class LogCollector {
  readonly events = new EventEmitter();
  private readonly tails: StreamTail[];
  private timer?: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly files: TaskFiles) {
    const resume = { stdout: 0, stderr: 0 };
    for (const record of readRecords(files.log)) resume[record.stream] = Math.max(resume[record.stream], record.off);
    this.tails = [new StreamTail('stdout', files.stdoutRaw, resume.stdout), new StreamTail('stderr', files.stderrRaw, resume.stderr)];
    this.events.setMaxListeners(0);
  }

  start(): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => this.collect(false), LOG_COLLECT_INTERVAL_MS);
    // The task (child process handle or adoption poll) keeps the agent alive, not its log.
    this.timer.unref();
  }

  /** Stores everything left, partial last lines included, and stops. */
  finish(): void {
    if (this.closed) return;
    this.collect(true);
    this.stop();
  }

  /** Stops collecting without storing the rest (a later collector resumes where this one stopped). */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.closed = true;
    this.events.emit('closed');
  }

  private collect(final: boolean): void {
    if (this.closed) return;
    const records = this.tails.flatMap((tail) => tail.collect(final));
    if (records.length === 0) return;
    const fd = openSync(this.files.log, 'a', 0o600);
    try {
      writeSync(fd, records.map((r) => JSON.stringify(r) + '\n').join(''));
    } finally {
      closeSync(fd);
    }
    this.events.emit('appended');
  }
}

export interface LogSource {
  path: string;
  /** True once no more lines will ever be appended (the task exited and its output is stored). */
  isFinal(): boolean;
  /** Resolves when lines may have been appended or the log became final. */
  changed(signal?: AbortSignal): Promise<void>;
}

function toMs(value: Date | number | undefined): number | undefined {
  return value === undefined ? undefined : typeof value === 'number' ? value : value.getTime();
}

/** The lines of a task's log, filtered as `docker service logs` filters them. */
export async function* readLogs(source: LogSource, options: LogOptions = {}): AsyncGenerator<LogLine> {
  const since = toMs(options.since);
  const until = toMs(options.until);
  const wanted = (r: LogRecord): boolean =>
    (r.stream === 'stdout' ? options.stdout !== false : options.stderr !== false) &&
    (since === undefined || Date.parse(r.t) >= since) &&
    (until === undefined || Date.parse(r.t) < until);
  const toLine = (r: LogRecord): LogLine => ({ stream: r.stream, time: r.t, line: r.line });

  // Whether the log was final is read before the file, so lines appended in between are not missed.
  let final = source.isFinal();
  let text = existsSync(source.path) ? readFileSync(source.path) : Buffer.alloc(0);
  let position = text.lastIndexOf(0x0a) + 1;
  let records = parseRecords(text.subarray(0, position)).filter(wanted);
  if (options.tail !== undefined) records = options.tail <= 0 ? [] : records.slice(-options.tail);
  for (const record of records) yield toLine(record);

  if (!options.follow) return;
  const signal = options.signal;
  while (!signal?.aborted) {
    if (final) return;
    await source.changed(signal);
    final = source.isFinal();
    text = existsSync(source.path) ? readFileSync(source.path) : Buffer.alloc(0);
    const end = text.lastIndexOf(0x0a) + 1;
    if (end > position) {
      for (const record of parseRecords(text.subarray(position, end))) if (wanted(record)) yield toLine(record);
      position = end;
    }
  }
}

function parseRecords(bytes: Buffer): LogRecord[] {
  const records: LogRecord[] = [];
  for (const line of bytes.toString('utf8').split('\n')) {
    if (line === '') continue;
    try {
      records.push(JSON.parse(line) as LogRecord);
    } catch {
      // a corrupt record is skipped, not fatal: the rest of the log is still worth serving
    }
  }
  return records;
}

/** Resolves on the emitter's next `appended` or `closed`, or after `fallbackMs` (a collector in another controller instance), or on abort. */
export async function nextChange(events: EventEmitter | undefined, fallbackMs: number, signal?: AbortSignal): Promise<void> {
  const ac = new AbortController();
  const onAbort = (): void => ac.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const waits: Promise<unknown>[] = [new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, fallbackMs);
      ac.signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
    })];
    if (events) {
      waits.push(once(events, 'appended', { signal: ac.signal }).catch(() => undefined));
      waits.push(once(events, 'closed', { signal: ac.signal }).catch(() => undefined));
    }
    await Promise.race(waits);
  } finally {
    ac.abort();
    signal?.removeEventListener('abort', onAbort);
  }
}
