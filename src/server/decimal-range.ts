/**
 * A regular expression, for a JSON Schema `pattern`, that matches exactly the decimal texts of
 * the integers 1 to `max`: leading zeros allowed, at most `maxDigits` characters in all. A
 * query parameter is text, and JSON Schema compares numbers only, so a page-size range on a
 * text parameter is written as the set of its spellings.
 */
export function decimalRangePattern(max: number, maxDigits = 6): string {
  if (!Number.isSafeInteger(max) || max < 1) throw new RangeError(`max must be a positive integer (got ${max})`);
  const digits = String(max);
  if (digits.length > maxDigits) throw new RangeError(`max ${max} has more than ${maxDigits} digits`);
  const k = digits.length;
  const shapes: string[] = [];
  // Shorter numbers than max, without their leading zeros: 1–9, 10–99, … up to k-1 digits.
  if (k >= 2) shapes.push(k === 2 ? '[1-9]' : `[1-9]\\d{0,${k - 2}}`);
  // Numbers of k digits up to max: max's first i digits, then a smaller digit, then any.
  for (let i = 0; i < k; i++) {
    const low = i === 0 ? 1 : 0;
    const high = Number(digits[i]) - 1;
    if (high < low) continue;
    const rest = k - i - 1;
    shapes.push(`${digits.slice(0, i)}[${low}-${high}]${rest === 0 ? '' : rest === 1 ? '\\d' : `\\d{${rest}}`}`);
  }
  shapes.push(digits);
  return `^(?=\\d{1,${maxDigits}}$)0*(?:${shapes.join('|')})$`;
}
