// The Engine API's multiplexed log stream (application/vnd.docker.multiplexed-stream), what
// moby's stdcopy writes and reads: each frame is an 8-byte header — the stream (1 stdout,
// 2 stderr, 3 the daemon's own error), three zero bytes, the payload length as a big-endian
// uint32 — then the payload. The API writes one log line per frame (the docker CLI's service
// logs printer relies on it); the berth CLI reads them back with FrameDecoder.

export const MULTIPLEXED_STREAM_CONTENT_TYPE = 'application/vnd.docker.multiplexed-stream';
/** For TTY services, whose output is one stream and goes out unframed. */
export const RAW_STREAM_CONTENT_TYPE = 'application/vnd.docker.raw-stream';

export const FRAME_HEADER_BYTES = 8;

export type FrameStream = 'stdout' | 'stderr' | 'system';

const STREAM_CODES: Readonly<Record<FrameStream, number>> = { stdout: 1, stderr: 2, system: 3 };

/** One frame carrying `payload` on `stream`. */
export function encodeFrame(stream: FrameStream, payload: Buffer): Buffer {
  const header = Buffer.alloc(FRAME_HEADER_BYTES);
  header[0] = STREAM_CODES[stream];
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

export interface Frame {
  stream: FrameStream;
  payload: Buffer;
}

/**
 * Reassembles frames from chunks cut anywhere. A header naming another stream (stdin, 0) is
 * moby's "unrecognized input header" error: the stream is not multiplexed, so it throws.
 */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);

  /** The frames completed by `chunk`. */
  push(chunk: Buffer): Frame[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: Frame[] = [];
    let at = 0;
    while (this.pending.length - at >= FRAME_HEADER_BYTES) {
      const code = this.pending[at];
      const stream = code === 1 ? 'stdout' : code === 2 ? 'stderr' : code === 3 ? 'system' : null;
      if (stream === null) throw new Error(`unrecognized input header: ${code}`);
      const length = this.pending.readUInt32BE(at + 4);
      if (this.pending.length - at - FRAME_HEADER_BYTES < length) break;
      const start = at + FRAME_HEADER_BYTES;
      frames.push({ stream, payload: this.pending.subarray(start, start + length) });
      at = start + length;
    }
    this.pending = this.pending.subarray(at);
    return frames;
  }

  /** Bytes of an unfinished frame left at the end of the stream (0 when it ended cleanly). */
  get leftover(): number {
    return this.pending.length;
  }
}
