// Fixed-width base-36 text for binary values, Docker's encoding for join token parts and object
// IDs: the bytes are read as one big-endian unsigned integer, written in digits 0-9a-z, and
// left-padded with zeros to the width the largest value of that many bytes needs.

/** Characters needed for any value of `bytes` bytes: ceil(8·bytes / log2(36)). */
export function base36Width(bytes: number): number {
  return Math.ceil((8 * bytes) / Math.log2(36));
}

export function toBase36(bytes: Uint8Array, width = base36Width(bytes.length)): string {
  const value = bytes.length === 0 ? 0n : BigInt('0x' + Buffer.from(bytes).toString('hex'));
  const text = value.toString(36);
  if (text.length > width) throw new RangeError(`${bytes.length} bytes do not fit in ${width} base-36 characters`);
  return text.padStart(width, '0');
}

export const BASE36_PATTERN = /^[0-9a-z]*$/;
