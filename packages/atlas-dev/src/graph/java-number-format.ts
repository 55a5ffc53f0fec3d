/**
 * Numbers written as Atlas (Java) writes them, so that the local graph API's text answers are
 * Atlas's byte for byte: `Double.toString` in JSON (`42.0`, `1.0E7`), `%f` in CSV (`42.000000`).
 */

/** The shortest decimal digits of `|v|` and the exponent of the first: `0.0123` → `['123', -2]`. */
function digitsOf(v: number): [string, number] {
  const [mantissa, exponent] = Math.abs(v).toExponential().split('e') as [string, string];
  return [mantissa.replace('.', ''), Number(exponent)];
}

/**
 * Java's `Double.toString`: `NaN`, `Infinity`, `0.0`, plain decimals with at least one fraction
 * digit in [10^-3, 10^7), else `d.dddE±n`.
 * @example `javaDouble(42) === '42.0'`, `javaDouble(1e7) === '1.0E7'`
 */
export function javaDouble(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '-Infinity';
  if (v === 0) return Object.is(v, -0) ? '-0.0' : '0.0';
  const a = Math.abs(v);
  const sign = v < 0 ? '-' : '';
  if (a >= 1e-3 && a < 1e7) {
    const s = String(a);
    return sign + (s.includes('.') ? s : `${s}.0`);
  }
  const [digits, exponent] = digitsOf(v);
  const fraction = digits.length > 1 ? digits.slice(1) : '0';
  return `${sign}${digits[0]}.${fraction}E${exponent}`;
}

/**
 * Java's `String.format("%f", v)`: six fraction digits, rounded half up from the shortest
 * decimal form of `v` (as Java's formatter does, unlike `toFixed`, which rounds the binary
 * value: Java writes 5.0E-7 as `0.000001`).
 * @example `javaFixed6(1.5) === '1.500000'`
 */
export function javaFixed6(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '-Infinity';
  const sign = v < 0 || Object.is(v, -0) ? '-' : '';
  if (v === 0) return `${sign}0.000000`;
  const [digits, exponent] = digitsOf(v);
  // Digits kept: those before the point (exponent + 1) and six after it.
  const keep = exponent + 7;
  let kept: bigint;
  if (keep < 0) kept = 0n;
  else {
    kept = BigInt(digits.slice(0, keep).padEnd(keep, '0') || '0');
    if ((digits[keep] ?? '0') >= '5') kept += 1n;
  }
  const text = kept.toString().padStart(7, '0');
  return `${sign}${text.slice(0, -6)}.${text.slice(-6)}`;
}
