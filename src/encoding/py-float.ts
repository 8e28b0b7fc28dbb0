/**
 * Python's `repr(float)` for a JS number (what `json.dumps` writes for a Python float).
 *
 * Both CPython (`float_repr_style == 'short'`) and ECMAScript's Number::toString pick the
 * shortest digit string that round-trips to the same double, and both break ties towards the
 * exact value, so the significant digits are identical; only the layout differs:
 *
 * - Python uses positional notation when the decimal exponent `e` (value = d.ddd × 10^e)
 *   satisfies -4 <= e < 16, i.e. 1e-4 <= |x| < 1e16, and scientific otherwise
 *   (`1e+16`, `1e-05`, `1.5e-07`, `5e-324`, `1.7976931348623157e+308`): the exponent has a sign
 *   and at least two digits.
 * - Positional floats always carry a fraction: `1.0`, `-0.0`, `100.0`.
 *
 * JS switches to scientific only outside 1e-7 <= |x| < 1e21, so in Python's positional range
 * `String(x)` already has the right digits and layout (a '.0' may be missing).
 *
 * NaN and ±Infinity have no JSON form. Python's `repr` gives `nan`/`inf`, and Starlette's
 * JSONResponse (allow_nan=False) raises on them, so Feast's HTTP server answers 500 for a
 * response containing one. This function returns `null` for them: the caller decides.
 */
export function pyFloatRepr(x: number): string {
  if (x !== x || x === Infinity || x === -Infinity) return 'null';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const ax = x < 0 ? -x : x;
  if (ax >= 1e-4 && ax < 1e16) {
    // Integers below 1e16 print without a fraction in JS.
    if (Math.floor(x) === x) return String(x) + '.0';
    return String(x);
  }
  return scientific(x, ax);
}

function scientific(x: number, ax: number): string {
  const s = String(ax);
  let digits: string;
  let exp: number;
  const ei = s.indexOf('e');
  if (ei >= 0) {
    // "d.ddde+NN" / "de-NN"
    const mant = s.slice(0, ei);
    exp = Number(s.slice(ei + 1));
    digits = mant.length > 1 ? mant[0]! + mant.slice(2) : mant;
  } else if (s.startsWith('0.')) {
    // 1e-7 <= ax < 1e-4: "0.0000ddd"
    let i = 2;
    while (s.charCodeAt(i) === 48 /* '0' */) i++;
    digits = s.slice(i);
    exp = -(i - 1);
  } else {
    // 1e16 <= ax < 1e21: an integer "ddd000"
    let j = s.length;
    while (j > 1 && s.charCodeAt(j - 1) === 48) j--;
    digits = s.slice(0, j);
    exp = s.length - 1;
  }
  const mantissa = digits.length > 1 ? digits[0]! + '.' + digits.slice(1) : digits;
  const aexp = exp < 0 ? -exp : exp;
  return (
    (x < 0 ? '-' : '') + mantissa + (exp < 0 ? 'e-' : 'e+') + (aexp < 10 ? '0' + aexp : String(aexp))
  );
}
