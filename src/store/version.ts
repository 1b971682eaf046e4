import { VerinferError } from '../errors.js';

/**
 * Model names and versions.
 *
 * A name is lowercase `[a-z0-9][a-z0-9._-]*`, optionally with one namespace
 * (`org/model`), at most 128 characters, and never a string that parses as a CID.
 *
 * A version is 1 to 3 dot-separated non-negative integers without leading
 * zeros, optionally followed by a prerelease tag: `3`, `1.2`, `1.0.0`,
 * `2.0.0-rc.1`. Versions are ordered like semver (numeric components
 * left to right, a missing component counts as 0, then a release is above its
 * prereleases, prereleases compare as strings part by part).
 *
 * The next version (when `--version` is omitted) bumps the last numeric
 * component of the highest version, dropping any prerelease tag:
 * `1.0.0` → `1.0.1`, `1.2` → `1.3`, `7` → `8`, `2.0.0-rc.1` → `2.0.1`.
 * The first version is `1.0.0`.
 */
export const FIRST_VERSION = '1.0.0';

const NAME_RE = /^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)?$/;
const VERSION_RE = /^(0|[1-9][0-9]{0,8})(\.(0|[1-9][0-9]{0,8})){0,2}(-[0-9A-Za-z][0-9A-Za-z.-]{0,31})?$/;

export function checkName(name: string): string {
  if (typeof name !== 'string' || name.length > 128 || !NAME_RE.test(name) || name.includes('..')) {
    throw new VerinferError(
      'INVALID_ARGUMENT',
      `invalid model name ${JSON.stringify(name)}: use lowercase letters, digits, '.', '_' and '-' (optionally "namespace/name"), at most 128 characters`,
      { name },
    );
  }
  if (/^(baf|qm)/i.test(name) && name.length >= 46) {
    throw new VerinferError('INVALID_ARGUMENT', `invalid model name ${name}: it looks like a CID`, { name });
  }
  return name;
}

export function checkVersion(version: string): string {
  if (typeof version !== 'string' || !VERSION_RE.test(version)) {
    throw new VerinferError(
      'INVALID_ARGUMENT',
      `invalid version ${JSON.stringify(version)}: use 1 to 3 dot-separated integers, optionally with a prerelease tag (1.0.0, 2, 1.3, 2.0.0-rc.1)`,
      { version },
    );
  }
  return version;
}

function parts(v: string): { nums: number[]; pre: string | undefined } {
  const dash = v.indexOf('-');
  const core = dash < 0 ? v : v.slice(0, dash);
  return { nums: core.split('.').map(Number), pre: dash < 0 ? undefined : v.slice(dash + 1) };
}

function comparePre(a: string, b: string): number {
  const pa = a.split('.');
  const pb = b.split('.');
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^[0-9]+$/.test(x);
    const ny = /^[0-9]+$/.test(y);
    if (nx && ny && Number(x) !== Number(y)) return Number(x) - Number(y);
    if (nx !== ny) return nx ? -1 : 1;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Semver-like ordering (see the module comment). Ties (e.g. `1` and `1.0.0`) are broken by the string, so the order is total. */
export function compareVersions(a: string, b: string): number {
  const x = parts(a);
  const y = parts(b);
  for (let i = 0; i < 3; i++) {
    const d = (x.nums[i] ?? 0) - (y.nums[i] ?? 0);
    if (d !== 0) return d;
  }
  if (x.pre !== y.pre) {
    if (x.pre === undefined) return 1;
    if (y.pre === undefined) return -1;
    const d = comparePre(x.pre, y.pre);
    if (d !== 0) return d;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

export function latestVersion(versions: string[]): string | undefined {
  return [...versions].sort(compareVersions).pop();
}

/** The version after the highest of `versions` (FIRST_VERSION if none). */
export function nextVersion(versions: string[]): string {
  const latest = latestVersion(versions);
  if (latest === undefined) return FIRST_VERSION;
  const { nums } = parts(latest);
  nums[nums.length - 1]! += 1;
  return nums.join('.');
}
