// A gRPC status as an Error: what handlers pass to their callback (grpc-js reads `code`,
// `details` and `metadata` off it) and what the clients here throw, so a caller can switch on
// `code` and show `message` to an operator.
import * as grpc from '@grpc/grpc-js';

export class StatusError extends Error {
  readonly details: string;

  constructor(readonly code: grpc.status, message: string, readonly metadata: grpc.Metadata = new grpc.Metadata()) {
    super(message);
    this.name = 'StatusError';
    this.details = message;
  }
}
