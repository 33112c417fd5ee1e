/**
 * The small subset of semver ranges that plugin metadata needs: `*`, exact versions, `^`, `~`,
 * comparators (`>=1.2.0 <2.0.0`), x-ranges (`1.x`, `1.2.x`) and `||`. Prerelease tags compare
 * below their release, as in semver.
 */

type Version = readonly [number, number, number, string];

const VERSION_PATTERN = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

export function parseVersion(text: string): Version | undefined {
  const match = VERSION_PATTERN.exec(text.trim());
  if (!match) return undefined;
  return [Number(match[1]), Number(match[2]), Number(match[3]), match[4] ?? ''];
}

function compare(a: Version, b: Version): number {
  for (let index = 0; index < 3; index += 1) {
    const difference = (a[index] as number) - (b[index] as number);
    if (difference !== 0) return Math.sign(difference);
  }
  if (a[3] === b[3]) return 0;
  if (a[3] === '') return 1;
  if (b[3] === '') return -1;
  return a[3] < b[3] ? -1 : 1;
}

type Comparator = (version: Version) => boolean;

/** Parses `1`, `1.2`, `1.x`, `1.2.*` into the parts given (x/* count as missing). */
function partial(text: string): { parts: number[]; pre: string } | undefined {
  const [core, pre = ''] = text.split('-', 2) as [string, string?];
  const pieces = core.replace(/^v/, '').split('.');
  if (pieces.length > 3) return undefined;
  const parts: number[] = [];
  for (const piece of pieces) {
    if (piece === 'x' || piece === 'X' || piece === '*') break;
    if (!/^\d+$/.test(piece)) return undefined;
    parts.push(Number(piece));
  }
  return { parts, pre: pre ?? '' };
}

function lowerBound(parts: number[], pre: string): Version {
  return [parts[0] ?? 0, parts[1] ?? 0, parts[2] ?? 0, parts.length === 3 ? pre : ''];
}

function comparator(token: string): Comparator | undefined {
  const match = /^(\^|~|>=|<=|>|<|=)?\s*(.+)$/.exec(token);
  if (!match) return undefined;
  const operator = match[1] ?? '';
  const parsed = partial(match[2] as string);
  if (!parsed) return undefined;
  const { parts, pre } = parsed;
  const low = lowerBound(parts, pre);
  const [major, minor, patch] = low;
  const atLeast = (version: Version) => compare(version, low) >= 0;
  const below = (bound: Version) => (version: Version) => compare(version, bound) < 0;
  switch (operator) {
    case '^': {
      const upper: Version =
        major > 0 || parts.length < 2
          ? [major + 1, 0, 0, '']
          : minor > 0 || parts.length < 3
            ? [0, minor + 1, 0, '']
            : [0, 0, patch + 1, ''];
      return (version) => atLeast(version) && below(upper)(version);
    }
    case '~': {
      const upper: Version = parts.length < 2 ? [major + 1, 0, 0, ''] : [major, minor + 1, 0, ''];
      return (version) => atLeast(version) && below(upper)(version);
    }
    case '>=':
      return atLeast;
    case '>':
      return (version) => compare(version, low) > 0;
    case '<':
      return below(low);
    case '<=':
      return (version) => compare(version, low) <= 0;
    default: {
      if (parts.length === 3) return (version) => compare(version, low) === 0;
      const upper: Version =
        parts.length === 0
          ? [Number.MAX_SAFE_INTEGER, 0, 0, '']
          : parts.length === 1
            ? [major + 1, 0, 0, '']
            : [major, minor + 1, 0, ''];
      return (version) => atLeast(version) && below(upper)(version);
    }
  }
}

/** True when the range text is one this module understands. */
export function isValidRange(range: string): boolean {
  return parseRange(range) !== undefined;
}

function parseRange(range: string): Comparator[][] | undefined {
  const alternatives = range.split('||').map((part) => part.trim());
  const result: Comparator[][] = [];
  for (const alternative of alternatives) {
    if (alternative === '' || alternative === '*' || alternative === 'x') {
      result.push([() => true]);
      continue;
    }
    const tokens = alternative.replace(/(\^|~|>=|<=|>|<|=)\s+/g, '$1').split(/\s+/);
    const comparators: Comparator[] = [];
    for (const token of tokens) {
      const parsed = comparator(token);
      if (!parsed) return undefined;
      comparators.push(parsed);
    }
    result.push(comparators);
  }
  return result;
}

/** Does `version` fall inside `range`? Invalid input answers false. */
export function satisfies(version: string, range: string): boolean {
  const parsedVersion = parseVersion(version);
  const parsedRange = parseRange(range);
  if (!parsedVersion || !parsedRange) return false;
  return parsedRange.some((all) => all.every((test) => test(parsedVersion)));
}
