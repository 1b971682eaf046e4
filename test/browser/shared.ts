// Inputs both sides of test/browser.test.ts compute from (the page and Node), so the
// test compares results of the same bytes.

/** Buffers around the SHA-256 block and padding boundaries, plus a multi-run one. */
export function hashBuffers(): Uint8Array[] {
  return [0, 1, 55, 56, 63, 64, 65, 1000, 5000].map((n) => {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = Math.imul(i + 1, 0x9e3779b1) >>> 24; // no period: every 1 KiB run differs
    return b;
  });
}

/** A module with one v128 function (i8x16.splat; i8x16.popcnt): validates only where WebAssembly SIMD is present. */
export const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);
