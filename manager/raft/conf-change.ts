// Encoding of a ConfChange inside a log entry's data: one byte of type, the node id as a
// float64 (ids stay below 2^53), then the opaque context. Small and dependency-free so the
// pure core and the simulator can use it without the wire codec.

import { ConfChange, ConfChangeType } from './types.js';

export function encodeConfChange(cc: ConfChange): Uint8Array {
  const out = new Uint8Array(9 + cc.context.byteLength);
  const view = new DataView(out.buffer);
  view.setUint8(0, cc.type);
  view.setFloat64(1, cc.nodeId, true);
  out.set(cc.context, 9);
  return out;
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  if (data.byteLength < 9) throw new Error(`conf change entry too short (${data.byteLength} bytes)`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const type = view.getUint8(0);
  if (!(type in ConfChangeType)) throw new Error(`unknown conf change type ${type}`);
  const nodeId = view.getFloat64(1, true);
  if (!Number.isSafeInteger(nodeId) || nodeId <= 0) throw new Error(`bad conf change node id ${nodeId}`);
  return { type, nodeId, context: data.slice(9) };
}
