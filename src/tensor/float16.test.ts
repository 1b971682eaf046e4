import { test } from 'node:test';
import assert from 'node:assert/strict';
import { float16ToNumber, numberToFloat16 } from './float16.js';

test('every non-NaN binary16 value round-trips exactly', () => {
  for (let h = 0; h < 65536; h++) {
    const x = float16ToNumber(h);
    if (Number.isNaN(x)) {
      assert.ok((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0);
      continue;
    }
    assert.equal(numberToFloat16(x), h, `bits 0x${h.toString(16)}`);
  }
});

test('known values and round-to-nearest-even', () => {
  assert.equal(float16ToNumber(0x3c00), 1);
  assert.equal(float16ToNumber(0xc000), -2);
  assert.equal(float16ToNumber(0x7bff), 65504);
  assert.equal(float16ToNumber(0x0001), 2 ** -24);
  assert.equal(numberToFloat16(65520), 0x7c00); // halfway to 2^16 rounds to even -> inf
  assert.equal(numberToFloat16(65519), 0x7bff);
  assert.equal(numberToFloat16(1 + 2 ** -11), 0x3c00); // tie -> even (1.0)
  assert.equal(numberToFloat16(1 + 3 * 2 ** -11), 0x3c02); // tie -> even (up)
  assert.equal(numberToFloat16(2 ** -25), 0x0000); // half the smallest subnormal: tie -> 0
  assert.equal(numberToFloat16(1.5 * 2 ** -25), 0x0001);
  assert.equal(numberToFloat16(-0), 0x8000);
  assert.equal(numberToFloat16(NaN) & 0x7e00, 0x7e00);
  assert.equal(numberToFloat16(-Infinity), 0xfc00);
});

test('float64 values round once, directly to binary16 (no double rounding through float32)', () => {
  assert.equal(numberToFloat16(1 + 2 ** -11 + 2 ** -40), 0x3c01);
  assert.equal(numberToFloat16(65519.99999), 0x7bff);
  assert.equal(numberToFloat16(-(2 ** -25) - 2 ** -60), 0x8001);
});
