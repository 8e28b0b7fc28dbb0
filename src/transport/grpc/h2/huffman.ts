/**
 * HPACK's static Huffman code (RFC 7541 Appendix B), decoding only: header values a client
 * Huffman-encodes (nghttp2 and grpc-go do so whenever it is shorter) arrive in this code.
 *
 * The code is canonical: codes of one length are consecutive integers in symbol order, and each
 * length's first code follows from the counts of the shorter ones. So the table below, the code
 * length of every symbol 0-255 (EOS, symbol 256, is 30 bits of ones), determines every code;
 * test/unit/transport/hpack.test.ts checks the result against the RFC's Appendix C examples.
 */

/** Code length in bits of each octet 0-255 (RFC 7541 Appendix B). */
const CODE_LENGTHS: readonly number[] = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
];
const EOS = 256;
const MAX_LENGTH = 30;

/** Per code length: how many symbols have it, and the symbols in canonical order. */
const COUNTS = new Int32Array(MAX_LENGTH + 1);
const SYMBOLS = new Uint16Array(257);
{
  const lengths = [...CODE_LENGTHS, MAX_LENGTH];
  for (const n of lengths) COUNTS[n]!++;
  const offsets = new Int32Array(MAX_LENGTH + 2);
  for (let n = 1; n <= MAX_LENGTH; n++) offsets[n + 1] = offsets[n]! + COUNTS[n]!;
  lengths.forEach((n, symbol) => (SYMBOLS[offsets[n]!++] = symbol));
}

export class HuffmanError extends Error {}

/**
 * Decodes `src[start, end)`. Padding must be fewer than 8 bits, all ones (a prefix of EOS), and
 * EOS itself must not appear (RFC 7541 5.2).
 */
export function huffmanDecode(src: Uint8Array, start: number, end: number): Buffer {
  // No symbol is shorter than 5 bits, so the output is at most 8/5 of the input.
  const out = Buffer.allocUnsafe(Math.ceil(((end - start) * 8) / 5));
  let written = 0;
  let code = 0; // the bits of the symbol being read
  let first = 0; // the first code of the current length
  let index = 0; // SYMBOLS index of that first code
  let length = 0;
  let ones = true; // whether every bit of the symbol being read is 1 (a padding candidate)
  for (let i = start; i < end; i++) {
    const byte = src[i]!;
    for (let bit = 7; bit >= 0; bit--) {
      const b = (byte >> bit) & 1;
      code |= b;
      ones &&= b === 1;
      length++;
      const count = COUNTS[length]!;
      if (code - first < count) {
        const symbol = SYMBOLS[index + code - first]!;
        if (symbol === EOS) throw new HuffmanError('the EOS symbol inside a Huffman string');
        out[written++] = symbol;
        code = first = index = length = 0;
        ones = true;
        continue;
      }
      index += count;
      first = (first + count) << 1;
      code <<= 1;
    }
  }
  if (length > 7 || !ones) throw new HuffmanError('a Huffman string ends in padding that is not up to 7 bits of ones');
  return out.subarray(0, written);
}
