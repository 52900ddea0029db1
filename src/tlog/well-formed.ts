/**
 * Whether a string is well-formed UTF-16 (no lone surrogate), so that its UTF-8 is itself: a
 * lone surrogate is encoded as U+FFFD, and text holding one hashes as text holding that
 * character instead, 2,048 texts to one hash.
 */
export function isWellFormedText(text: string): boolean {
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);
}
