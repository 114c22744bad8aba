import { show } from '../wait/internal.js';

/** The longest {@link summarize} returns, in UTF-16 code units. */
export const SUMMARY_MAX = 300;

/**
 * A short, bounded text of what a run threw, for health details. Internal.
 *
 * - an `Error` (or any object with a string `message`): `name: message` (`'TypeError: boom'`);
 * - a string: itself; another primitive: `String(value)`;
 * - another object: its JSON when that says something, else `an object (ClassName)`.
 *
 * Longer than {@link SUMMARY_MAX}: cut, ending in `…`. Never throws (a getter that throws, a
 * cycle, a `BigInt` in an object fall back to a shorter form).
 */
export function summarize(error: unknown): string {
  let text: string;
  try {
    text = textOf(error);
  } catch {
    text = safeShow(error);
  }
  return cut(text, SUMMARY_MAX);
}

function textOf(error: unknown): string {
  if (typeof error === 'string') return error;
  if (typeof error !== 'object' || error === null) {
    return typeof error === 'function' ? show(error) : String(error);
  }
  const { name, message } = error as { name?: unknown; message?: unknown };
  if (typeof message === 'string') {
    const label = typeof name === 'string' && name.length > 0 ? name : undefined;
    if (message.length === 0) return label ?? show(error);
    return label === undefined ? message : `${label}: ${message}`;
  }
  return jsonOf(error) ?? show(error);
}

/** JSON of `value`, giving up on keys once past the limit (so a huge object costs little). */
function jsonOf(value: object): string | undefined {
  let budget = SUMMARY_MAX;
  let dropped = false;
  const json = JSON.stringify(value, (key, field: unknown) => {
    if (budget < 0) {
      dropped = true;
      return undefined;
    }
    budget -= key.length + (typeof field === 'string' ? field.length : 8);
    return field;
  });
  if (json === undefined || json === '{}' || json === '[]') return undefined;
  return dropped ? `${json}…` : json;
}

function safeShow(value: unknown): string {
  try {
    return show(value);
  } catch {
    return typeof value;
  }
}

function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--; // do not split a surrogate pair
  return `${text.slice(0, end)}…`;
}
