// Recent ONNX ops (opsets 24-28): CumProd, Swish, SwiGLU, TensorScatter,
// CausalConvWithState and LinearAttention; plus TfIdfVectorizer (opset 9, the
// remaining plain-tensor-math op nobody else covered; integer input only).
//
// Canonical semantics. Most of these ops are ONNX *functions*: their schema
// carries a function body made of basic ops. Their canonical arithmetic here is
// exactly that function body evaluated with this engine's canonical basic
// kernels (Mul, Sigmoid, Exp, Conv, MatMul, ...), so a model using the fused op
// and the same model with the op expanded produce identical bytes. Each kernel
// states the resulting per-element step sequence. As everywhere (./README.md):
// `f` = Math.fround after every float32 multiply / add; a store into a
// Float32Array is the same rounding; float64 tensors run the same steps in plain
// doubles; transcendentals are the engine's deterministic ones
// (Sigmoid: f(sigmoid64(x)), Exp: f(exp64(x)), as the unary kernels do).
//
// float16: TensorScatter (pure data movement) supports it. LinearAttention's
// function body explicitly computes in float32 (Cast to float32 at entry, Cast
// back at exit), so float16 query/key/value/state are accepted and converted
// exactly; the float32 -> float16 conversion of the results rounds to nearest
// even. The other kernels throw UNSUPPORTED_FEATURE on float16 / bfloat16.

import type { Kernel, KernelContext, KernelTable } from '../kernel.js';
import { DType, dtypeKind, dtypeName } from '../../tensor/dtype.js';
import type { Tensor } from '../../tensor/tensor.js';
import { float16ToNumber, numberToFloat16 } from '../../tensor/float16.js';
import { exp64, sigmoid64 } from '../math/index.js';
import { axisOf, need, prod, shapeStr } from './util.js';

const f = Math.fround;

// ---------------------------------------------------------------------------
// Private helpers

/** Reads a one-element int32/int64 tensor (rank 0, or rank 1 of size 1) as a safe integer. */
function scalarInt(t: Tensor, ctx: KernelContext, name: string): number {
  if (t.dtype !== DType.int32 && t.dtype !== DType.int64) {
    throw ctx.error(`${name} must be int32 or int64, got ${dtypeName(t.dtype)}`);
  }
  if (t.size !== 1 || t.rank > 1) throw ctx.error(`${name} must be a scalar, got shape ${shapeStr(t.shape)}`);
  const v = t.data[0]!;
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (!Number.isSafeInteger(n)) throw ctx.error(`${name} ${String(v)} is out of range`);
  return n;
}

/** float32 / float64 only; float16 and everything else is unsupported (or invalid for integer types). */
function requireFloat(t: Tensor, ctx: KernelContext, op: string, name: string): void {
  if (t.dtype === DType.float32 || t.dtype === DType.float64) return;
  if (t.dtype === DType.float16) throw ctx.unsupported(`${op} on float16 is not supported`, { dtype: 'float16' });
  throw ctx.error(`${op} input ${name} must be a float tensor, got ${dtypeName(t.dtype)}`, { dtype: dtypeName(t.dtype) });
}

type IntArr = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;

// ---------------------------------------------------------------------------
// CumProd (opset 26)

/**
 * CumProd(x, axis): running product along axis, from the identity 1.
 * Forward: acc = 1; for j = 0..N-1: acc = f32(acc * x_j); y_j = acc
 * (exclusive=1: y_j is acc *before* multiplying x_j, so y_0 = 1).
 * reverse=1 runs the same scan from j = N-1 down to 0.
 * (acc = 1 * x_0 is exactly x_0, including -0 and NaN.) float64: plain doubles.
 * Integers are exact with the type's wrap-around (32-bit and narrower via
 * Math.imul + typed-array store; int64/uint64 via BigInt + 64-bit store).
 */
const CumProd: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx, 'x');
  const at = need(inputs, 1, ctx, 'axis');
  const dt = x.dtype;
  const kind = dtypeKind(dt);
  if (dt === DType.float16) throw ctx.unsupported('CumProd on float16 is not supported', { dtype: 'float16' });
  if (kind === 'bool') throw ctx.error('CumProd does not accept bool tensors');
  if (x.rank === 0) throw ctx.error('CumProd needs an input of rank >= 1');
  const axis = axisOf(ctx, scalarInt(at, ctx, 'axis'), x.rank);
  const exclusive = ctx.int('exclusive', 0) !== 0;
  const reverse = ctx.int('reverse', 0) !== 0;
  const out = ctx.alloc(dt, x.shape);
  const outer = prod(x.shape, 0, axis);
  const N = x.shape[axis]!;
  const inner = prod(x.shape, axis + 1);
  if (out.size === 0) return [out];
  const step = reverse ? -inner : inner;

  // One scan per element representation (the Float32Array store rounds each f32 multiply).
  if (kind === 'float') {
    const xd = x.data as Float32Array | Float64Array;
    const y = out.data as Float32Array | Float64Array;
    for (let o = 0; o < outer; o++) {
      const base = o * N * inner;
      for (let s = 0; s < N; s++) {
        const row = base + (reverse ? N - 1 - s : s) * inner;
        if (s === 0) {
          if (exclusive) y.fill(1, row, row + inner);
          else for (let k = 0; k < inner; k++) y[row + k] = 1 * xd[row + k]!;
        } else {
          const prev = row - step;
          const xr = exclusive ? prev : row;
          for (let k = 0; k < inner; k++) y[row + k] = y[prev + k]! * xd[xr + k]!;
        }
      }
    }
  } else if (kind === 'bigint') {
    const xd = x.data as BigInt64Array | BigUint64Array;
    const y = out.data as BigInt64Array | BigUint64Array;
    for (let o = 0; o < outer; o++) {
      const base = o * N * inner;
      for (let s = 0; s < N; s++) {
        const row = base + (reverse ? N - 1 - s : s) * inner;
        if (s === 0) {
          if (exclusive) y.fill(1n, row, row + inner);
          else for (let k = 0; k < inner; k++) y[row + k] = xd[row + k]!;
        } else {
          const prev = row - step;
          const xr = exclusive ? prev : row;
          // the 64-bit store wraps (BigInt.asIntN / asUintN semantics)
          for (let k = 0; k < inner; k++) y[row + k] = y[prev + k]! * xd[xr + k]!;
        }
      }
    }
  } else {
    const xd = x.data as IntArr;
    const y = out.data as IntArr;
    for (let o = 0; o < outer; o++) {
      const base = o * N * inner;
      for (let s = 0; s < N; s++) {
        const row = base + (reverse ? N - 1 - s : s) * inner;
        if (s === 0) {
          if (exclusive) y.fill(1, row, row + inner);
          else for (let k = 0; k < inner; k++) y[row + k] = xd[row + k]!;
        } else {
          const prev = row - step;
          const xr = exclusive ? prev : row;
          // Math.imul keeps the low 32 bits of the exact product; the store wraps to the width
          for (let k = 0; k < inner; k++) y[row + k] = Math.imul(y[prev + k]!, xd[xr + k]!);
        }
      }
    }
  }
  return [out];
};

// ---------------------------------------------------------------------------
// Swish (opset 24) and SwiGLU (opset 28)

/**
 * Swish(X; alpha = 1.0), function body Mul(CastLike(alpha), X) -> Sigmoid -> Mul(X, .):
 *   float32: t = f32(alpha * x); s = f32(sigmoid64(t)); y = f32(x * s)
 *   float64: t = alpha * x; s = sigmoid64(t); y = x * s   (alpha: the float32 attribute value)
 */
function swishInto(x: Float32Array | Float64Array, y: Float32Array | Float64Array, alpha: number, f32: boolean): void {
  const n = x.length;
  if (f32) {
    const a = f(alpha);
    const xd = x as Float32Array;
    const yd = y as Float32Array;
    for (let i = 0; i < n; i++) {
      const v = xd[i]!;
      yd[i] = v * f(sigmoid64(f(a * v))); // store rounds the final multiply
    }
  } else {
    for (let i = 0; i < n; i++) {
      const v = x[i]!;
      y[i] = v * sigmoid64(alpha * v);
    }
  }
}

const Swish: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx, 'X');
  requireFloat(x, ctx, 'Swish', 'X');
  const alpha = ctx.float('alpha', 1.0);
  const out = ctx.alloc(x.dtype, x.shape);
  swishInto(x.data as Float32Array | Float64Array, out.data as Float32Array | Float64Array, alpha, x.dtype === DType.float32);
  return [out];
};

/**
 * SwiGLU(A, B; alpha = 1.0) = Mul(Swish_alpha(A), B); A and B must have identical
 * shapes and dtypes (no broadcasting).
 *   float32: t = f32(alpha * a); s = f32(sigmoid64(t)); g = f32(a * s); y = f32(g * b)
 *   float64: the same steps in doubles.
 */
const SwiGLU: Kernel = (inputs, ctx) => {
  const a = need(inputs, 0, ctx, 'A');
  const b = need(inputs, 1, ctx, 'B');
  requireFloat(a, ctx, 'SwiGLU', 'A');
  if (b.dtype !== a.dtype) throw ctx.error(`A (${dtypeName(a.dtype)}) and B (${dtypeName(b.dtype)}) must have the same dtype`);
  if (a.rank !== b.rank || a.shape.some((d, i) => d !== b.shape[i])) {
    throw ctx.error(`A ${shapeStr(a.shape)} and B ${shapeStr(b.shape)} must have identical shapes (SwiGLU does not broadcast)`);
  }
  const alpha = ctx.float('alpha', 1.0);
  const out = ctx.alloc(a.dtype, a.shape);
  const n = a.size;
  if (a.dtype === DType.float32) {
    const al = f(alpha);
    const ad = a.data as Float32Array;
    const bd = b.data as Float32Array;
    const y = out.data as Float32Array;
    for (let i = 0; i < n; i++) {
      const v = ad[i]!;
      y[i] = f(v * f(sigmoid64(f(al * v)))) * bd[i]!; // store rounds the final multiply
    }
  } else {
    const ad = a.data as Float64Array;
    const bd = b.data as Float64Array;
    const y = out.data as Float64Array;
    for (let i = 0; i < n; i++) {
      const v = ad[i]!;
      y[i] = v * sigmoid64(alpha * v) * bd[i]!;
    }
  }
  return [out];
};

// ---------------------------------------------------------------------------
// TensorScatter (opset 24)

/**
 * TensorScatter(past_cache, update, write_indices?; axis = -2, mode = 'linear'):
 * pure data movement (every dtype). present = copy of past_cache; for every prefix
 * index p over axes [0, axis) (batch b = p[0]) and s in [0, sequence_length):
 *   present[p, w(b, s), ...] = update[p, s, ...],  w = write_indices[b] + s
 * ('circular': w mod max_sequence_length, floor modulo so the result is in
 * [0, max)). Only the sequence index is reduced modulo max_sequence_length (the
 * spec's pseudocode applies np.mod to every index, which coincides whenever the
 * other indices are < max_sequence_length; reducing them too would write to a
 * different row, which is clearly not the intent).
 * 'linear' requires 0 <= write_indices[b] and write_indices[b] + sequence_length <=
 * max_sequence_length (INVALID_ARGUMENT otherwise). axis must not be 0 (batch).
 */
const TensorScatter: Kernel = (inputs, ctx) => {
  const past = need(inputs, 0, ctx, 'past_cache');
  const upd = need(inputs, 1, ctx, 'update');
  const wiT = inputs[2];
  if (upd.dtype !== past.dtype) throw ctx.error(`update dtype ${dtypeName(upd.dtype)} does not match past_cache ${dtypeName(past.dtype)}`);
  const rank = past.rank;
  if (rank < 2) throw ctx.error(`past_cache must have rank >= 2, got shape ${shapeStr(past.shape)}`);
  if (upd.rank !== rank) throw ctx.error(`update rank ${upd.rank} does not match past_cache rank ${rank}`);
  const axisAttr = ctx.int('axis', -2);
  const axis = axisOf(ctx, axisAttr, rank);
  if (axis === 0) throw ctx.error('axis cannot be 0 (the batch dimension)', { axis: axisAttr });
  const mode = ctx.string('mode', 'linear');
  if (mode !== 'linear' && mode !== 'circular') throw ctx.error(`unknown mode '${mode}' (expected 'linear' or 'circular')`, { attribute: 'mode' });
  for (let i = 0; i < rank; i++) {
    if (i !== axis && past.shape[i] !== upd.shape[i]) {
      throw ctx.error(`update shape ${shapeStr(upd.shape)} does not match past_cache ${shapeStr(past.shape)} in dimension ${i}`);
    }
  }
  const maxSeq = past.shape[axis]!;
  const seq = upd.shape[axis]!;
  if (seq > maxSeq) throw ctx.error(`update sequence length ${seq} exceeds max_sequence_length ${maxSeq}`);
  const B = past.shape[0]!;
  const wi = new Array<number>(B).fill(0);
  if (wiT) {
    if (wiT.dtype !== DType.int64) throw ctx.error(`write_indices must be int64, got ${dtypeName(wiT.dtype)}`);
    if (wiT.rank !== 1 || wiT.shape[0] !== B) throw ctx.error(`write_indices must have shape [${B}], got ${shapeStr(wiT.shape)}`);
    const d = wiT.data as BigInt64Array;
    for (let b = 0; b < B; b++) {
      const v = Number(d[b]!);
      if (!Number.isSafeInteger(v)) throw ctx.error(`write_indices[${b}] = ${d[b]} is out of range`);
      if (mode === 'linear' && (v < 0 || v + seq > maxSeq)) {
        throw ctx.error(`write_indices[${b}] = ${v} with sequence length ${seq} does not fit in max_sequence_length ${maxSeq} (mode 'linear')`, {
          batch: b,
          writeIndex: v,
        });
      }
      wi[b] = v;
    }
  }
  const out = ctx.alloc(past.dtype, past.shape);
  // ctx.alloc gives the right typed array; copy the past cache into it
  (out.data as Float32Array).set(past.data as Float32Array);
  if (seq === 0 || out.size === 0) return [out];
  const inner = prod(past.shape, axis + 1);
  const perBatch = prod(past.shape, 1, axis); // prefixes per batch entry
  const outer = B * perBatch;
  const src = upd.data as Float32Array;
  const dst = out.data as Float32Array;
  for (let p = 0; p < outer; p++) {
    const w0 = wi[Math.floor(p / perBatch)]!;
    const srcBase = p * seq * inner;
    const dstBase = p * maxSeq * inner;
    for (let s = 0; s < seq; s++) {
      let w = w0 + s;
      if (mode === 'circular') w = ((w % maxSeq) + maxSeq) % maxSeq;
      const from = srcBase + s * inner;
      dst.set(src.subarray(from, from + inner), dstBase + w * inner);
    }
  }
  return [out];
};

// ---------------------------------------------------------------------------
// CausalConvWithState (opset 27)

/**
 * CausalConvWithState(input (B,C,L), weight (C,1,K), bias? (C), past_state? (B,C,K-1);
 * activation = 'none' | 'silu' | 'swish') -> output (B,C,L), present_state (B,C,K-1).
 * Function body: P = Concat(past_state or +0 zeros, input) along the length axis
 * (length K-1+L); depthwise Conv (group = C, no padding); optional SiLU; present
 * = the last K-1 positions of P. Per output element (b, c, t), Conv's canonical order:
 *   acc = +0; for j = 0..K-1: acc = f32(acc + f32(P[t+j] * w[c,j]))  (every tap,
 *   the zero-pad taps included: they are real elements of P);
 *   with bias: acc = f32(acc + bias[c]);
 *   silu/swish: y = f32(acc * f32(sigmoid64(acc))); else y = acc.
 * float64: the same steps in doubles. float16/bfloat16: UNSUPPORTED_FEATURE.
 */
/** float32 taps for one (b, c) row: y[yo + t] = acc over j = 0..K-1 (canonical order, see below). */
function convRowF32(P: Float32Array, w: Float32Array, wo: number, K: number, L: number, y: Float32Array, yo: number): void {
  if (K === 4) {
    const w0 = w[wo]!, w1 = w[wo + 1]!, w2 = w[wo + 2]!, w3 = w[wo + 3]!;
    for (let t = 0; t < L; t++) {
      let acc = f(0 + f(P[t]! * w0));
      acc = f(acc + f(P[t + 1]! * w1));
      acc = f(acc + f(P[t + 2]! * w2));
      y[yo + t] = acc + f(P[t + 3]! * w3);
    }
    return;
  }
  for (let t = 0; t < L; t++) {
    let acc = 0;
    for (let j = 0; j < K; j++) acc = f(acc + f(P[t + j]! * w[wo + j]!));
    y[yo + t] = acc;
  }
}

const CausalConvWithState: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx, 'input');
  const w = need(inputs, 1, ctx, 'weight');
  const bias = inputs[2];
  const past = inputs[3];
  requireFloat(x, ctx, 'CausalConvWithState', 'input');
  const activation = ctx.string('activation', 'none');
  if (activation !== 'none' && activation !== 'silu' && activation !== 'swish') {
    throw ctx.error(`unknown activation '${activation}' (expected 'none', 'silu' or 'swish')`, { attribute: 'activation' });
  }
  const act = activation !== 'none';
  if (x.rank !== 3) throw ctx.error(`input must have rank 3 (batch, channels, length), got ${shapeStr(x.shape)}`);
  const [B, C, L] = x.shape as [number, number, number];
  for (const [t, nm] of [[w, 'weight'], [bias, 'bias'], [past, 'past_state']] as const) {
    if (t && t.dtype !== x.dtype) throw ctx.error(`${nm} dtype ${dtypeName(t.dtype)} does not match input ${dtypeName(x.dtype)}`);
  }
  if (w.rank !== 3 || w.shape[0] !== C || w.shape[1] !== 1) throw ctx.error(`weight must have shape [${C},1,k], got ${shapeStr(w.shape)}`);
  const K = w.shape[2]!;
  if (K < 1) throw ctx.error('kernel size k must be >= 1');
  const K1 = K - 1;
  if (bias && (bias.rank !== 1 || bias.shape[0] !== C)) throw ctx.error(`bias must have shape [${C}], got ${shapeStr(bias.shape)}`);
  if (past && (past.rank !== 3 || past.shape[0] !== B || past.shape[1] !== C || past.shape[2] !== K1)) {
    throw ctx.error(`past_state must have shape [${B},${C},${K1}], got ${shapeStr(past.shape)}`);
  }
  const out = ctx.alloc(x.dtype, x.shape);
  const present = ctx.alloc(x.dtype, [B, C, K1]);
  const f32 = x.dtype === DType.float32;
  const xd = x.data as Float32Array | Float64Array;
  const wd = w.data as Float32Array | Float64Array;
  const bd = bias ? (bias.data as Float32Array | Float64Array) : undefined;
  const pd = past ? (past.data as Float32Array | Float64Array) : undefined;
  const yd = out.data as Float32Array | Float64Array;
  const sd = present.data as Float32Array | Float64Array;
  // P row for one (b, c), materialised once: [past (or +0) ..., input ...]
  const P = f32 ? new Float32Array(K1 + L) : new Float64Array(K1 + L);
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < C; c++) {
      const bc = b * C + c;
      if (pd) P.set(pd.subarray(bc * K1, bc * K1 + K1), 0);
      else P.fill(0, 0, K1);
      P.set(xd.subarray(bc * L, bc * L + L), K1);
      const wo = c * K;
      const yo = bc * L;
      if (f32) {
        convRowF32(P as Float32Array, wd as Float32Array, wo, K, L, yd as Float32Array, yo);
        if (bd) {
          const bc0 = bd[c]!;
          for (let t = 0; t < L; t++) yd[yo + t] = yd[yo + t]! + bc0; // store rounds
        }
        if (act) {
          for (let t = 0; t < L; t++) {
            const a = yd[yo + t]!;
            yd[yo + t] = a * f(sigmoid64(a)); // store rounds
          }
        }
      } else {
        for (let t = 0; t < L; t++) {
          let acc = 0;
          for (let j = 0; j < K; j++) acc = acc + P[t + j]! * wd[wo + j]!;
          if (bd) acc = acc + bd[c]!;
          yd[yo + t] = act ? acc * sigmoid64(acc) : acc;
        }
      }
      sd.set(P.subarray(L, L + K1), bc * K1);
    }
  }
  return [out, present];
};

// ---------------------------------------------------------------------------
// LinearAttention (opset 27)

/** A float32 copy of a float32/float16 tensor's data (float32 data is returned as is). */
function asF32(t: Tensor): Float32Array {
  if (t.dtype === DType.float32) return t.data as Float32Array;
  const src = t.data as Uint16Array;
  const r = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) r[i] = float16ToNumber(src[i]!);
  return r;
}

/**
 * LinearAttention(query (B,T,Hq*dk), key (B,T,Hkv*dk), value (B,T,Hkv*dv),
 * past_state? (B,Hkv,dk,dv), decay? (B,T,Hkv*dk) or (B,T,Hkv), beta? (B,T,Hkv) or (B,T,1);
 * update_rule, scale, q_num_heads, kv_num_heads, chunk_size (ignored: a tuning hint))
 * -> output (B,T,Hq*dv), present_state (B,Hkv,dk,dv).
 *
 * Function body (a Scan over t, all in float32): per batch b and KV head h the state
 * S (dk x dv, from past_state or +0) is updated token by token, t = 0..T-1:
 *   gated / gated_delta:  e = f32(exp64(g_t[d]))  (g per key row d, or one per head);
 *                         S[d][m] = f32(S[d][m] * e)
 *   delta / gated_delta:  r[m] = dot_d(S[d][m], k[d])   (acc = +0; d increasing;
 *                               acc = f32(acc + f32(S[d][m] * k[d])))
 *                         u[m] = f32(beta * f32(v[m] - r[m]))
 *   linear / gated:       u[m] = v[m]
 *   write (MatMul with a contraction of size 1, so the product is added to +0):
 *                         o = f32(k[d] * u[m]) + 0;  S[d][m] = f32(S[d][m] + o)
 *   read, for each query head hq sharing KV head h (h = floor(hq / (Hq/Hkv))):
 *                         a[m] = dot_d(q[d], S[d][m]) as above (q[d] * S[d][m]);
 *                         out[b,t,hq,m] = f32(scale * a[m])
 * scale = the attribute when non-zero, else f32(1 / f32(sqrt(dk))).
 * present_state = S after the last token. float16 inputs are converted to float32
 * exactly; float16 outputs are rounded to nearest even (the body's Casts).
 */
const LinearAttention: Kernel = (inputs, ctx) => {
  const q = need(inputs, 0, ctx, 'query');
  const k = need(inputs, 1, ctx, 'key');
  const v = need(inputs, 2, ctx, 'value');
  const past = inputs[3];
  const decay = inputs[4];
  const beta = inputs[5];
  const isF = (t: Tensor): boolean => t.dtype === DType.float32 || t.dtype === DType.float16;
  for (const [t, nm] of [[q, 'query'], [k, 'key'], [v, 'value'], [past, 'past_state'], [decay, 'decay'], [beta, 'beta']] as const) {
    if (!t) continue;
    if (nm !== 'past_state' && t.dtype !== q.dtype) throw ctx.error(`${nm} dtype ${dtypeName(t.dtype)} does not match query ${dtypeName(q.dtype)}`);
    if (!isF(t)) {
      if (t.dtype === DType.float64) throw ctx.unsupported(`LinearAttention ${nm} of type float64 is not supported`);
      throw ctx.error(`${nm} must be float32 or float16, got ${dtypeName(t.dtype)}`);
    }
  }
  const rule = ctx.string('update_rule', 'gated_delta');
  if (rule !== 'linear' && rule !== 'gated' && rule !== 'delta' && rule !== 'gated_delta') {
    throw ctx.error(`unknown update_rule '${rule}'`, { attribute: 'update_rule' });
  }
  const Hq = ctx.int('q_num_heads');
  const Hkv = ctx.int('kv_num_heads');
  if (Hq === undefined || Hkv === undefined) throw ctx.error('attributes q_num_heads and kv_num_heads are required');
  if (Hq <= 0 || Hkv <= 0 || Hq % Hkv !== 0) throw ctx.error(`q_num_heads (${Hq}) must be a positive multiple of kv_num_heads (${Hkv})`);
  const G = Hq / Hkv;
  const gating = rule === 'gated' || rule === 'gated_delta';
  const deltaRule = rule === 'delta' || rule === 'gated_delta';
  if (gating && !decay) throw ctx.error(`update_rule '${rule}' requires the decay input`);
  if (!gating && decay) throw ctx.error(`update_rule '${rule}' does not take a decay input`);
  if (deltaRule && !beta) throw ctx.error(`update_rule '${rule}' requires the beta input`);
  if (!deltaRule && beta) throw ctx.error(`update_rule '${rule}' does not take a beta input`);
  for (const [t, nm] of [[q, 'query'], [k, 'key'], [v, 'value'], [decay, 'decay'], [beta, 'beta']] as const) {
    if (t && t.rank !== 3) throw ctx.error(`${nm} must have rank 3 (B, T, H*D), got ${shapeStr(t.shape)}`);
  }
  const [B, T, QD] = q.shape as [number, number, number];
  const sameBT = (t: Tensor): boolean => t.shape[0] === B && t.shape[1] === T;
  if (QD % Hq !== 0) throw ctx.error(`query last dim ${QD} is not divisible by q_num_heads ${Hq}`);
  const dk = QD / Hq;
  if (!sameBT(k) || k.shape[2] !== Hkv * dk) throw ctx.error(`key must have shape [${B},${T},${Hkv * dk}], got ${shapeStr(k.shape)}`);
  if (!sameBT(v) || v.shape[2]! % Hkv !== 0) throw ctx.error(`value must have shape [${B},${T},kv_num_heads*d_v], got ${shapeStr(v.shape)}`);
  const dv = v.shape[2]! / Hkv;
  let decayPerKey = false;
  if (decay) {
    const last = decay.shape[2]!;
    if (!sameBT(decay) || (last !== Hkv && last !== Hkv * dk)) {
      throw ctx.error(`decay must have shape [${B},${T},${Hkv}] or [${B},${T},${Hkv * dk}], got ${shapeStr(decay.shape)}`);
    }
    decayPerKey = last === Hkv * dk && !(last === Hkv); // dk == 1 makes both the same
  }
  let betaPerHead = false;
  if (beta) {
    const last = beta.shape[2]!;
    if (!sameBT(beta) || (last !== Hkv && last !== 1)) throw ctx.error(`beta must have shape [${B},${T},${Hkv}] or [${B},${T},1], got ${shapeStr(beta.shape)}`);
    betaPerHead = last === Hkv && Hkv !== 1;
  }
  if (past && (past.rank !== 4 || past.shape[0] !== B || past.shape[1] !== Hkv || past.shape[2] !== dk || past.shape[3] !== dv)) {
    throw ctx.error(`past_state must have shape [${B},${Hkv},${dk},${dv}], got ${shapeStr(past.shape)}`);
  }
  const scaleAttr = ctx.float('scale', 0);
  const scale = scaleAttr !== 0 ? f(scaleAttr) : f(1 / f(Math.sqrt(dk)));

  const outT = ctx.alloc(q.dtype, [B, T, Hq * dv]);
  const stateDType = past ? past.dtype : q.dtype;
  const presentT = ctx.alloc(stateDType, [B, Hkv, dk, dv]);
  const qd = asF32(q);
  const kd = asF32(k);
  const vd = asF32(v);
  const gd = decay ? asF32(decay) : undefined;
  const bd = beta ? asF32(beta) : undefined;
  // float32 working buffers; written to the outputs (with a float16 cast if needed) at the end
  const S = new Float32Array(B * Hkv * dk * dv);
  if (past) S.set(asF32(past));
  const Y = q.dtype === DType.float32 ? (outT.data as Float32Array) : new Float32Array(outT.size);
  const r = new Float32Array(dv); // retrieved / accumulator row
  const u = new Float32Array(dv); // write row
  const e = new Float32Array(dk); // exp(decay) per key row
  const SS = dk * dv;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < Hkv; h++) {
      const so = (b * Hkv + h) * SS;
      for (let t = 0; t < T; t++) {
        const bt = b * T + t;
        const ko = bt * Hkv * dk + h * dk;
        const vo = bt * Hkv * dv + h * dv;
        if (gd) {
          if (decayPerKey) for (let d = 0; d < dk; d++) e[d] = exp64(gd[ko + d]!);
          else e.fill(exp64(gd[bt * Hkv + h]!));
          for (let d = 0; d < dk; d++) {
            const ed = e[d]!;
            const row = so + d * dv;
            for (let m = 0; m < dv; m++) S[row + m] = S[row + m]! * ed;
          }
        }
        if (bd) {
          r.fill(0);
          for (let d = 0; d < dk; d++) {
            const kv = kd[ko + d]!;
            const row = so + d * dv;
            for (let m = 0; m < dv; m++) r[m] = r[m]! + f(S[row + m]! * kv);
          }
          const bv = bd[betaPerHead ? bt * Hkv + h : bt]!;
          for (let m = 0; m < dv; m++) u[m] = bv * f(vd[vo + m]! - r[m]!);
        } else {
          u.set(vd.subarray(vo, vo + dv));
        }
        for (let d = 0; d < dk; d++) {
          const kv = kd[ko + d]!;
          const row = so + d * dv;
          for (let m = 0; m < dv; m++) S[row + m] = S[row + m]! + (f(kv * u[m]!) + 0);
        }
        for (let g = 0; g < G; g++) {
          const hq = h * G + g;
          const qo = bt * Hq * dk + hq * dk;
          r.fill(0);
          for (let d = 0; d < dk; d++) {
            const qv = qd[qo + d]!;
            const row = so + d * dv;
            for (let m = 0; m < dv; m++) r[m] = r[m]! + f(qv * S[row + m]!);
          }
          const yo = bt * Hq * dv + hq * dv;
          for (let m = 0; m < dv; m++) Y[yo + m] = scale * r[m]!;
        }
      }
    }
  }
  if (q.dtype !== DType.float32) {
    const o = outT.data as Uint16Array;
    for (let i = 0; i < Y.length; i++) o[i] = numberToFloat16(Y[i]!);
  }
  if (stateDType === DType.float32) (presentT.data as Float32Array).set(S);
  else {
    const o = presentT.data as Uint16Array;
    for (let i = 0; i < S.length; i++) o[i] = numberToFloat16(S[i]!);
  }
  return [outT, presentT];
};

// ---------------------------------------------------------------------------
// TfIdfVectorizer (opset 9), integer input only

interface NgramNode {
  id: number; // 0 = no n-gram ends here
  leaves: Map<number, NgramNode> | null;
}

/**
 * TfIdfVectorizer(X int32/int64 [C] or [N, C]) -> Y float32 [S] or [N, S], S = max(ngram_indexes) + 1.
 * Counting follows the ONNX reference / onnxruntime algorithm exactly: the pool is
 * loaded into a trie (n-gram ids numbered from 1 in pool order across all sizes;
 * sizes outside [min_gram_length, max_gram_length] are skipped but consume ids; a
 * repeated n-gram takes the later id). Per row, for skip distance s = 1..max_skip_count+1,
 * every start position walks the trie with stride s and counts each n-gram of size
 * >= the current minimum (unigrams are counted only in the first pass, s = 1).
 * Count for id i goes to Y[row, ngram_indexes[i-1]] (integer increments).
 * Weighting (w = weights, f32 values, indexed by output column j as the reference
 * and onnxruntime do): TF: y = count; IDF: y = count > 0 ? w[j] : 0
 * (1 without weights); TFIDF: y = f32(w[j] * count) (the exact product, rounded once;
 * count without weights). Values are matched as JS numbers (int64 input and pool
 * values beyond +-2^53 compare after the same conversion to double).
 * String input (pool_strings) is not supported (the engine has no string tensors).
 */
const TfIdfVectorizer: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx, 'X');
  if (ctx.has('pool_strings')) throw ctx.unsupported('TfIdfVectorizer with pool_strings (string input) is not supported');
  if (x.dtype !== DType.int32 && x.dtype !== DType.int64) {
    throw ctx.error(`X must be int32 or int64 (string input is not supported), got ${dtypeName(x.dtype)}`);
  }
  const pool = ctx.ints('pool_int64s');
  if (!pool) throw ctx.error('attribute pool_int64s (or pool_strings) is required');
  const reqInt = (name: string): number => {
    const v = ctx.int(name);
    if (v === undefined) throw ctx.error(`missing required attribute ${name}`, { attribute: name });
    return v;
  };
  const maxGram = reqInt('max_gram_length');
  const minGram = reqInt('min_gram_length');
  const maxSkip = reqInt('max_skip_count');
  const mode = ctx.string('mode');
  if (mode !== 'TF' && mode !== 'IDF' && mode !== 'TFIDF') throw ctx.error(`mode must be 'TF', 'IDF' or 'TFIDF', got '${mode}'`, { attribute: 'mode' });
  if (minGram < 1 || maxGram < minGram) throw ctx.error(`invalid gram lengths min ${minGram}, max ${maxGram}`);
  if (maxSkip < 0) throw ctx.error(`max_skip_count must be >= 0, got ${maxSkip}`);
  const counts = ctx.ints('ngram_counts', []);
  const indexes = ctx.ints('ngram_indexes', []);
  if (indexes.length === 0 || indexes.some((i) => i < 0 || !Number.isSafeInteger(i))) {
    throw ctx.error('ngram_indexes must be non-empty with no negative values');
  }
  const weights = ctx.floats('weights', []);
  if (weights.length > 0 && weights.length !== indexes.length) {
    throw ctx.error(`weights has ${weights.length} entries, ngram_indexes ${indexes.length}`);
  }
  let S = 0;
  for (const i of indexes) S = Math.max(S, i + 1);
  // the weighting reads weights by output column (as the reference and onnxruntime do)
  if (weights.length > 0 && S > weights.length) throw ctx.error(`weights has ${weights.length} entries, fewer than the ${S} output columns`);
  if (counts.some((c, i) => c < 0 || c > pool.length || (i > 0 && c < counts[i - 1]!))) {
    throw ctx.error('ngram_counts must be non-decreasing offsets into the pool');
  }

  // trie of pool n-grams
  const root: NgramNode = { id: -1, leaves: new Map() };
  let nextId = 1;
  for (let i = 0; i < counts.length; i++) {
    const n = i + 1;
    const start = counts[i]!;
    const end = i + 1 < counts.length ? counts[i + 1]! : pool.length;
    const num = Math.floor((end - start) / n);
    if (num <= 0) continue;
    if (n < minGram || n > maxGram) {
      nextId += num;
      continue;
    }
    let p = start;
    for (let g = 0; g < num; g++) {
      let m = root.leaves!;
      for (let j = 1; j <= n && p < pool.length; j++, p++) {
        let node = m.get(pool[p]!);
        if (!node) m.set(pool[p]!, (node = { id: 0, leaves: null }));
        if (j === n) node.id = nextId++;
        else m = node.leaves ??= new Map();
      }
    }
  }
  if (nextId - 1 > indexes.length) throw ctx.error(`the pool holds ${nextId - 1} n-grams but ngram_indexes has ${indexes.length} entries`);

  let rows: number;
  let C: number;
  let outShape: number[];
  if (x.rank <= 1) {
    rows = 1;
    C = x.size;
    outShape = [S];
  } else if (x.rank === 2) {
    rows = x.shape[0]!;
    C = x.shape[1]!;
    if (rows < 1) throw ctx.error(`input shape [${x.shape.join(',')}] must have N > 0`);
    outShape = [rows, S];
  } else {
    throw ctx.error(`input must have rank 1 or 2, got shape ${shapeStr(x.shape)}`);
  }
  const out = ctx.alloc(DType.float32, outShape);
  const y = out.data as Float32Array;
  const freq = new Float64Array(rows * S);
  const xv = new Float64Array(x.size);
  for (let i = 0; i < x.size; i++) xv[i] = Number(x.data[i]!);
  if (root.leaves!.size > 0) {
    for (let r = 0; r < rows; r++) {
      const rb = r * C;
      const re = rb + C;
      let startSize = minGram;
      for (let skip = 1; skip <= maxSkip + 1; skip++) {
        for (let s0 = rb; s0 < re; s0++) {
          if (s0 + skip * (startSize - 1) >= re) break;
          let m = root.leaves;
          let item = s0;
          for (let size = 1; m !== null && m.size > 0 && size <= maxGram && item < re; size++, item += skip) {
            const node = m.get(xv[item]!);
            if (!node) break;
            if (size >= startSize && node.id !== 0) freq[r * S + indexes[node.id - 1]!]!++;
            m = node.leaves;
          }
        }
        if (startSize === 1) {
          startSize = 2;
          if (startSize > maxGram) break;
        }
      }
    }
  }
  const hasW = weights.length > 0;
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < S; j++) {
      const p = r * S + j;
      const c = freq[p]!;
      if (mode === 'TF') y[p] = c;
      else if (mode === 'IDF') y[p] = c > 0 ? (hasW ? weights[j]! : 1) : 0;
      else y[p] = hasW ? weights[j]! * c : c; // store rounds the exact product once
    }
  }
  return [out];
};

export const ops: KernelTable = {
  TfIdfVectorizer,
  CumProd,
  Swish,
  SwiGLU,
  TensorScatter,
  CausalConvWithState,
  LinearAttention,
};
