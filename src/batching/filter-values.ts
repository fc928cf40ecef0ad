/**
 * Value helpers of the filter engine that need more than a comparison: wildcard globs and CIDR
 * ranges. Each has a parse step (run once, when a pattern is compiled, returning a problem text
 * instead of throwing so the validator can collect every problem) and a cheap match step.
 */

/** A compiled `{"wildcard": "…"}`: the literal text between the unescaped `*` characters. */
export interface Glob {
  /** One more segment than there are wildcards; `["a", "b"]` is `a*b`. */
  readonly segments: readonly string[];
}

/**
 * Parses an EventBridge wildcard. `*` matches any run of characters; `\*` is a literal star and
 * `\\` a literal backslash; any other escape, a trailing backslash and `**` are rejected (as
 * EventBridge does, since they are ambiguous or pointless).
 */
export function parseGlob(text: string): Glob | string {
  const segments: string[] = [];
  let current = '';
  let lastWasStar = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\\') {
      const next = text[i + 1];
      if (next !== '*' && next !== '\\') {
        return `a backslash may only escape "*" or "\\" (at index ${i})`;
      }
      current += next;
      i++;
      lastWasStar = false;
    } else if (ch === '*') {
      if (lastWasStar)
        return `consecutive wildcard characters "**" are not allowed (at index ${i})`;
      segments.push(current);
      current = '';
      lastWasStar = true;
    } else {
      current += ch;
      lastWasStar = false;
    }
  }
  segments.push(current);
  return { segments };
}

/**
 * Greedy leftmost matching is exact for globs whose only metacharacter is `*`, and linear in the
 * input per segment — unlike a `.*` RegExp, which can backtrack exponentially on hostile input.
 */
export function matchGlob(glob: Glob, value: string): boolean {
  const segs = glob.segments;
  const first = segs[0] ?? '';
  if (segs.length === 1) return value === first;
  const last = segs[segs.length - 1] ?? '';
  if (value.length < first.length + last.length) return false;
  if (!value.startsWith(first) || !value.endsWith(last)) return false;
  const end = value.length - last.length;
  let pos = first.length;
  for (let i = 1; i < segs.length - 1; i++) {
    const seg = segs[i] ?? '';
    const at = value.indexOf(seg, pos);
    if (at < 0 || at + seg.length > end) return false;
    pos = at + seg.length;
  }
  return true;
}

/** An inclusive address range of one IP version, as integers. */
export interface IpRange {
  readonly version: 4 | 6;
  readonly low: bigint;
  readonly high: bigint;
}

interface IpAddress {
  readonly version: 4 | 6;
  readonly value: bigint;
}

const IPV4_OCTET = /^(0|[1-9][0-9]{0,2})$/;
const IPV6_GROUP = /^[0-9a-fA-F]{1,4}$/;

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    // Leading zeros are refused: some parsers read them as octal, so they are ambiguous.
    if (!IPV4_OCTET.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
}

function parseIpv6(text: string): bigint | undefined {
  if (text.length === 0 || text.includes('%')) return undefined;
  let groups: string[];
  let tail = text;
  let embeddedV4: bigint | undefined;
  // A trailing dotted quad (`::ffff:10.0.0.1`) stands for the last two groups.
  const lastColon = tail.lastIndexOf(':');
  if (lastColon >= 0 && tail.slice(lastColon + 1).includes('.')) {
    embeddedV4 = parseIpv4(tail.slice(lastColon + 1));
    if (embeddedV4 === undefined) return undefined;
    tail = tail.slice(0, lastColon + 1) + '0:0';
  }
  const wanted = 8;
  const halves = tail.split('::');
  if (halves.length > 2) return undefined;
  if (halves.length === 2) {
    const head = halves[0] === '' ? [] : (halves[0] ?? '').split(':');
    const rest = halves[1] === '' ? [] : (halves[1] ?? '').split(':');
    const missing = wanted - head.length - rest.length;
    if (missing < 1) return undefined;
    groups = [...head, ...new Array<string>(missing).fill('0'), ...rest];
  } else {
    groups = tail.split(':');
    if (groups.length !== wanted) return undefined;
  }
  let value = 0n;
  for (const group of groups) {
    if (!IPV6_GROUP.test(group)) return undefined;
    value = (value << 16n) | BigInt(parseInt(group, 16));
  }
  if (embeddedV4 !== undefined) value = (value & ~0xffffffffn) | embeddedV4;
  return value;
}

function parseIp(text: string): IpAddress | undefined {
  if (text.includes(':')) {
    const value = parseIpv6(text);
    return value === undefined ? undefined : { version: 6, value };
  }
  const value = parseIpv4(text);
  return value === undefined ? undefined : { version: 4, value };
}

/** Parses `10.0.0.0/24` or `2001:db8::/32`; host bits below the prefix are ignored. */
export function parseCidr(text: string): IpRange | string {
  const slash = text.indexOf('/');
  if (slash < 0) return 'expected an address and a prefix length, like "10.0.0.0/24"';
  const address = parseIp(text.slice(0, slash));
  if (address === undefined) return `"${text.slice(0, slash)}" is not an IPv4 or IPv6 address`;
  const bits = address.version === 4 ? 32 : 128;
  const lengthText = text.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(lengthText) || Number(lengthText) > bits) {
    return `prefix length must be an integer 0–${bits} for IPv${address.version}`;
  }
  const hostBits = BigInt(bits - Number(lengthText));
  const hostMask = (1n << hostBits) - 1n;
  const low = address.value & ~hostMask;
  return { version: address.version, low, high: low | hostMask };
}

/** True when `value` is an IP address (of the same version) inside `range`. */
export function matchCidr(range: IpRange, value: string): boolean {
  const address = parseIp(value);
  return (
    address !== undefined &&
    address.version === range.version &&
    address.value >= range.low &&
    address.value <= range.high
  );
}
