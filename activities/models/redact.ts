// PII found in text on its way to an external model: detection (checksums where the format has one) and a per-request
// Redactor that swaps each value for a stable placeholder ([EMAIL_1], [CARD_1]) and can put the values back. Stored
// text is never changed; only the request is. Rules are conservative: a missed phone number is better than a date,
// version string or order number the model can no longer read.
import { isIPv6 } from 'node:net';
import type { PiiPolicy } from '../../common/config';

export type PiiType = 'email' | 'phone' | 'iban' | 'card' | 'ssn' | 'ip';
export type { PiiPolicy };
/** The policy of external providers when none is configured. */
export const DEFAULT_PII_POLICY: PiiPolicy = 'redact';

export interface PiiSpan {
  type: PiiType;
  start: number;
  end: number;
}

const EMAIL =
  /(?<![\w.%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}(?![\w-])/g;
/** Country, check digits, then 11–30 letters/digits, contiguous or in groups of four separated by single spaces. */
const IBAN = /(?<![\w])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?(?![\w])/g;
/** 13–19 digits, optionally separated by single spaces or dashes. */
const CARD = /(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w]|-\d)/g;
const SSN = /(?<![\w-])(\d{3})-(\d{2})-(\d{4})(?![\w]|-\d)/g;
/** Four dotted numbers, not glued to a word (v1.2.3.4) or to more dotted numbers (1.2.3.4.5). */
const IPV4 = /(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\.?\d|\w)/g;
const IPV6 = /(?<![\w:.])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])/g;
/** International: "+", a country code and at least 8 more digits in groups. */
const PHONE_INTL = /(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,5}\)?){1,6}(?![\w]|[.-]\d)/g;
/** North American: (415) 555-0132, 415-555-0132, 415.555.0132 (area code and exchange start with 2–9). */
const PHONE_NANP = /(?<![\w.+-]|\d )(?:\([2-9]\d{2}\) ?|[2-9]\d{2}[-.])[2-9]\d{2}[-.]\d{4}(?![\w]|[.-]\d| \d)/g;
/** National numbers with a trunk 0 and a separator: 030 12345678, 089/1234567, 020 7946 0958. */
const PHONE_TRUNK = /(?<![\w.+/-]|\d )0\d{2,4}[ /-]\d{3,8}(?:[ -]\d{2,5})?(?![\w]|[./-]\d| \d)/g;
/** Any digit run after a phone label: "Tel: 0301234567", "phone 555 0132 987". */
const PHONE_LABELLED = /\b(?:phone|tel|telephone|mobile|cell|fax)\b\.?:?\s*(\+?\(?\d[\d ()./-]{7,}\d)/gi;

const digits = (s: string) => s.replace(/\D/g, '');

export function luhnValid(number: string): boolean {
  const d = digits(number);
  let sum = 0;
  for (let i = 0; i < d.length; i++) {
    let n = d.charCodeAt(d.length - 1 - i) - 48;
    if (i % 2 === 1) {
      n *= 2;
      if (n > 9) n -= 9;
    }
    sum += n;
  }
  return d.length > 0 && sum % 10 === 0;
}

/** ISO 13616: move the first four characters to the end, letters to 10–35, the number mod 97 must be 1. */
export function ibanValid(iban: string): boolean {
  const s = iban.replace(/ /g, '').toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(s)) return false;
  const rearranged = s.slice(4) + s.slice(0, 4);
  let rem = 0;
  for (const ch of rearranged) {
    const v = ch >= 'A' ? ch.charCodeAt(0) - 55 : ch.charCodeAt(0) - 48;
    rem = (v > 9 ? rem * 100 + v : rem * 10 + v) % 97;
  }
  return rem === 1;
}

function ssnValid(area: string, group: string, serial: string): boolean {
  return area !== '000' && area !== '666' && area[0] !== '9' && group !== '00' && serial !== '0000';
}

function* matches(re: RegExp, text: string): Generator<RegExpExecArray> {
  re.lastIndex = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) yield m;
}

/** Candidates in priority order: an email holding digits is an email, not a phone number. */
function candidates(text: string): PiiSpan[] {
  const out: PiiSpan[] = [];
  const add = (type: PiiType, start: number, end: number) => out.push({ type, start, end });
  for (const m of matches(EMAIL, text)) add('email', m.index, m.index + m[0].length);
  for (const m of matches(IBAN, text)) {
    // A trailing group may be the next word in capitals: drop groups from the end until the checksum holds.
    let value = m[0];
    while (!ibanValid(value) && value.includes(' ')) value = value.slice(0, value.lastIndexOf(' '));
    if (ibanValid(value)) add('iban', m.index, m.index + value.length);
  }
  for (const m of matches(CARD, text)) {
    const n = digits(m[0]).length;
    if (n >= 13 && n <= 19 && luhnValid(m[0])) add('card', m.index, m.index + m[0].length);
  }
  for (const m of matches(SSN, text)) if (ssnValid(m[1]!, m[2]!, m[3]!)) add('ssn', m.index, m.index + m[0].length);
  for (const m of matches(IPV4, text))
    if (m[0].split('.').every((o) => Number(o) <= 255)) add('ip', m.index, m.index + m[0].length);
  for (const m of matches(IPV6, text)) {
    const groups = m[0].split(':').filter(Boolean).length;
    if (isIPv6(m[0]) && (m[0].includes('::') ? groups >= 1 : groups === 8) && /\d/.test(m[0]))
      add('ip', m.index, m.index + m[0].length);
  }
  for (const m of matches(PHONE_INTL, text)) {
    const n = digits(m[0]).length;
    if (n >= 9 && n <= 15) add('phone', m.index, m.index + m[0].length);
  }
  for (const m of matches(PHONE_NANP, text)) add('phone', m.index, m.index + m[0].length);
  for (const m of matches(PHONE_TRUNK, text)) {
    const n = digits(m[0]).length;
    if (n >= 9 && n <= 13) add('phone', m.index, m.index + m[0].length);
  }
  for (const m of matches(PHONE_LABELLED, text)) {
    const value = m[1]!;
    const n = digits(value).length;
    const start = m.index + m[0].length - value.length;
    if (n >= 9 && n <= 15) add('phone', start, start + value.length);
  }
  return out;
}

/** PII spans of a text, sorted, never overlapping (the earlier rule wins an overlap). */
export function findPii(text: string): PiiSpan[] {
  const kept: PiiSpan[] = [];
  for (const c of candidates(text)) if (!kept.some((k) => c.start < k.end && k.start < c.end)) kept.push(c);
  return kept.sort((a, b) => a.start - b.start);
}

const PLACEHOLDER = /\[(EMAIL|PHONE|IBAN|CARD|SSN|IP)_(\d+)\]/g;

/** The same value written differently (spaces in a card, case in an email) is one value. */
function normalized(type: PiiType, value: string): string {
  switch (type) {
    case 'email':
      return value.toLowerCase();
    case 'iban':
      return value.replace(/ /g, '').toUpperCase();
    case 'card':
    case 'phone':
      return digits(value);
    default:
      return value.toLowerCase();
  }
}

/**
 * One request's redaction: every value gets a placeholder, the same one wherever it appears (question and chunks), so
 * the model can refer to it; restore() puts the values back into the reply. counts() gives replacements by type, never
 * values (for the audit).
 */
export class Redactor {
  private readonly byKey = new Map<string, string>();
  private readonly values = new Map<string, string>();
  private readonly next: Partial<Record<PiiType, number>> = {};
  private readonly replaced: Partial<Record<PiiType, number>> = {};

  redact(text: string): string {
    const spans = findPii(text);
    if (spans.length === 0) return text;
    let out = '';
    let at = 0;
    for (const s of spans) {
      const value = text.slice(s.start, s.end);
      out += text.slice(at, s.start) + this.placeholder(s.type, value);
      at = s.end;
      this.replaced[s.type] = (this.replaced[s.type] ?? 0) + 1;
    }
    return out + text.slice(at);
  }

  /** Placeholders of this request become their values again; anything else is left as it is. */
  restore(text: string): string {
    return text.replace(PLACEHOLDER, (p) => this.values.get(p) ?? p);
  }

  /** Replacements made so far, by type. */
  counts(): Partial<Record<PiiType, number>> {
    return { ...this.replaced };
  }

  total(): number {
    return Object.values(this.replaced).reduce((a, b) => a + (b ?? 0), 0);
  }

  private placeholder(type: PiiType, value: string): string {
    const key = `${type}:${normalized(type, value)}`;
    const known = this.byKey.get(key);
    if (known) return known;
    const n = (this.next[type] = (this.next[type] ?? 0) + 1);
    const p = `[${type.toUpperCase()}_${n}]`;
    this.byKey.set(key, p);
    this.values.set(p, value);
    return p;
  }
}

/** The policy of a tenant: its own when configured, else the default. */
export function piiPolicyFor(
  tenantId: string | undefined,
  settings: { policy?: PiiPolicy; tenantPolicy?: Record<string, PiiPolicy> } = {},
): PiiPolicy {
  return (
    (tenantId !== undefined ? settings.tenantPolicy?.[tenantId] : undefined) ?? settings.policy ?? DEFAULT_PII_POLICY
  );
}
