// A follower manager's way to the leader's broker: SubscribeLogs, read as the API reads a local
// subscription. One channel per leader address, kept until close(). Backpressure is gRPC's: the
// call is read only as fast as the API writes the response.

import * as grpc from '@grpc/grpc-js';
import { apiError } from '../../shared/errors.js';
import type { LogRecord, SubscribeLogsRequest } from '../../shared/log-protocol.js';
import { SUBSCRIBE_LOGS_PATH, decodeLogRecords, encodeSubscribeLogsRequest } from '../../shared/log-protocol.js';

/** Room for the largest message the leader sends (it splits at SUBSCRIBE_MESSAGE_MAX_BYTES) with margin. */
const MAX_RECEIVE_BYTES = 16 * 1024 * 1024;

const passBytes = (bytes: Buffer): Buffer => bytes;

export class LeaderLogClient {
  private readonly clients = new Map<string, grpc.Client>();

  constructor(
    private readonly credentials: grpc.ChannelCredentials,
    private readonly channelOptions: grpc.ChannelOptions = {},
  ) {}

  /**
   * Resolves once the leader has the subscription in place (its response headers arrived), so a
   * refusal is still an error the API can answer with; rejects with an ApiError.
   */
  subscribe(addr: string, request: SubscribeLogsRequest, signal: AbortSignal): Promise<AsyncIterable<LogRecord[]>> {
    let client = this.clients.get(addr);
    if (!client) {
      client = new grpc.Client(addr, this.credentials, { ...this.channelOptions, 'grpc.max_receive_message_length': MAX_RECEIVE_BYTES });
      this.clients.set(addr, client);
    }
    const call = client.makeServerStreamRequest<Buffer, Buffer>(SUBSCRIBE_LOGS_PATH, passBytes, passBytes, encodeSubscribeLogsRequest(request));
    const cancel = (): void => call.cancel();
    if (signal.aborted) cancel();
    else signal.addEventListener('abort', cancel, { once: true });
    // Errors after the headers end the iteration below; this keeps them from being unhandled.
    call.on('error', () => {});
    return new Promise((resolve, reject) => {
      call.once('metadata', () => resolve(readRecords(call, () => signal.removeEventListener('abort', cancel))));
      call.once('error', (error: grpc.ServiceError) => {
        signal.removeEventListener('abort', cancel);
        reject(leaderError(addr, error));
      });
    });
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}

async function* readRecords(call: grpc.ClientReadableStream<Buffer>, done: () => void): AsyncGenerator<LogRecord[]> {
  try {
    for await (const bytes of call) yield decodeLogRecords(bytes as Buffer);
  } catch {
    // The leader went away or the call was cancelled: the lines end here, as for a node that goes away.
  } finally {
    done();
    call.cancel();
  }
}

function leaderError(addr: string, error: grpc.ServiceError): Error {
  switch (error.code) {
    case grpc.status.FAILED_PRECONDITION:
      // It stopped leading between our look and the call: an election is under way.
      return apiError('NO_LEADER');
    case grpc.status.NOT_FOUND:
    case grpc.status.INVALID_ARGUMENT:
      return apiError('BAD_REQUEST', { reason: error.details });
    default:
      return apiError('MANAGER_UNREACHABLE', { addr, reason: error.details || error.message });
  }
}
