/**
 * Numbers and ASCII text written straight into a byte buffer, for the encoders that build a
 * publish body without making a string per value (the Atlas batch, SpectatorD's lines).
 */

/** Writes the decimal digits of an integer 0 ≤ n < 2^53 at `pos`; returns the new position. */
export function writeUint(buf: Uint8Array, pos: number, n: number): number {
  if (n < 10) {
    buf[pos] = 48 + n;
    return pos + 1;
  }
  if (n <= 0x7fffffff) {
    // Small integers in int32 arithmetic: a division by 10 becomes a multiplication. Doubles
    // would take a floating-point division and a call to fmod per digit.
    let x = n | 0;
    let digits = 1;
    for (let y = (x / 10) | 0; y > 0; y = (y / 10) | 0) digits++;
    const end = pos + digits;
    for (let p = end - 1; p >= pos; p--) {
      const q = (x / 10) | 0;
      buf[p] = 48 + x - q * 10;
      x = q;
    }
    return end;
  }
  let digits = 0;
  for (let x = n; x >= 1; x = Math.floor(x / 10)) digits++;
  const end = pos + digits;
  let p = end;
  for (let x = n; x >= 1; x = Math.floor(x / 10)) buf[--p] = 48 + (x % 10);
  return end;
}

/** Writes an ASCII string (a value already in text form) at `pos`; returns the new position. */
export function writeAscii(buf: Uint8Array, pos: number, s: string): number {
  for (let i = 0; i < s.length; i++) buf[pos++] = s.charCodeAt(i);
  return pos;
}
