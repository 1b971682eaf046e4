/**
 * Attention (opset 23, 24, 25) and RotaryEmbedding (opset 23).
 *
 * ## Attention: canonical order of arithmetic
 *
 * Follows the op's ONNX function body (onnx/defs/nn/defs.cc), element for element,
 * so the fused kernel gives the same bits as the `_expanded` graph run on the
 * engine's canonical MatMul / Softmax / Tanh kernels. T is the dtype of Q (float32
 * or float64; "round" below means round to T, i.e. Math.fround for float32).
 *
 *  1. Scale: sF = f32(scale) if the attribute is given, else
 *     sF = f32(1 / f32(sqrt(f32(head_size)))); c = f32(sqrt(sF)) (computed in
 *     float32 whatever T is, as the function body does, then converted to T).
 *     Q' = round(q * c), K' = round(k * c) element-wise (the spec scales Q and K by
 *     sqrt(scale) each, before the product, not the product by scale).
 *  2. K/V are past ++ new along the sequence axis (present_key / present_value,
 *     unscaled). GQA: query head h reads kv head floor(h / (Hq / Hkv)).
 *  3. qk[i,j] = canonical dot over d = 0..D-1: acc = +0; acc = round(acc + round(Q'[i,d] * K'[j,d])).
 *  4. softcap != 0: x = round(x / softcap); x = tanh(x) (tanhf / tanh64); x = round(x * softcap).
 *  5. bias[i,j] (per batch b, head h) is built like the function body:
 *       mask term: bool mask -> (m ? 0 : -inf); numeric mask -> its value (converted to T);
 *                  j beyond the mask's last dim (shorter mask) -> -inf; no mask -> 0;
 *       is_causal:  bias = round(bias + (j <= i + offset ? 0 : -inf)), offset = past length,
 *                   or nonpad_kv_seqlen[b] - Sq for an external cache (nonpad given, no past);
 *       window (opset >= 25): bias = round(bias + (allowed ? 0 : -inf)), same offset rule,
 *                   diff = i + offset - j, allowed iff (L < 0 or diff <= L) and (R < 0 or -diff <= R);
 *       nonpad_kv_seqlen: bias = round(bias + (j < nonpad[b] ? 0 : -inf)).
 *     score = round(x + bias)  (always added, also when the bias is all zeros).
 *  6. Softmax over j in the softmax precision (T unless softmax_precision says float/double;
 *     scores are converted to it, results converted back to T), exactly as the Softmax kernel:
 *     m = max_j (from -inf, NaN propagates); e_j = exp(round(score_j - m)); s = 0; s = round(s + e_j)
 *     for increasing j; p_j = round(e_j / s).
 *  7. Fully-masked-row guard: if max_j bias[i,j] == -inf (NaN propagates, so a NaN bias does not
 *     count; an empty key set counts as masked), p_j = 0 for every j.
 *  8. Y[i,:] = canonical dot over j = 0..T-1 of p[i,j] * V[j,:] (acc = +0, increasing j).
 *  qk_matmul_output: mode 0 = step 3, 1 = after step 4, 2 = score of step 5, 3 = p after step 7.
 *
 * ## RotaryEmbedding: canonical order
 *  With x1/x2 the two halves (or even/odd elements when interleaved) of the first
 *  rotary_embedding_dim elements of a head, and cos/sin the cache row of the token:
 *    real = round(round(cos * x1) - round(sin * x2)); imag = round(round(sin * x1) + round(cos * x2)).
 *  The rest of the head is copied.
 */
import type { Kernel, KernelContext, KernelTable } from '../kernel.js';
import { Tensor } from '../../tensor/tensor.js';
import { DType, dtypeKind, dtypeName } from '../../tensor/dtype.js';
import { expf, exp64, tanhf, tanh64 } from '../math/index.js';
import { gemmF32 } from './matmul.js';
import { needNamed, shapeStr } from './util.js';

const fr = Math.fround;

type FArr = Float32Array | Float64Array;

function wants(ctx: KernelContext, i: number): boolean {
  return ctx.node.outputs.length > i && ctx.node.outputs[i] !== '';
}

/** float64 C[M,N] += A[M,K] . B[K,N] in the canonical per-element order (C zero on entry). */
function gemmF64(A: Float64Array, aOff: number, B: Float64Array, bOff: number, C: Float64Array, cOff: number, M: number, K: number, N: number): void {
  for (let i = 0; i < M; i++) {
    const ar = aOff + i * K;
    const c0 = cOff + i * N;
    for (let k = 0; k < K; k++) {
      const x = A[ar + k]!;
      const bk = bOff + k * N;
      for (let j = 0; j < N; j++) C[c0 + j] = C[c0 + j]! + x * B[bk + j]!;
    }
  }
}

/** A scalar-valued view of the mask, read as numbers (bool/ints/floats). */
function maskValues(m: Tensor, ctx: KernelContext): { vals: ArrayLike<number>; isBool: boolean } {
  const k = dtypeKind(m.dtype);
  if (m.dtype === DType.float16) throw ctx.unsupported('Attention with a float16 attn_mask is not supported');
  if (k === 'bool') return { vals: m.data as Uint8Array, isBool: true };
  if (k === 'bigint') {
    const src = m.data as BigInt64Array | BigUint64Array;
    const out = new Float64Array(src.length);
    for (let i = 0; i < src.length; i++) out[i] = Number(src[i]!);
    return { vals: out, isBool: false };
  }
  return { vals: m.data as ArrayLike<number>, isBool: false };
}

// ---------------------------------------------------------------------------
// Attention

const attention: Kernel = (inputs, ctx) => {
  const Q = needNamed(inputs, 0, ctx, 'Q');
  const K = needNamed(inputs, 1, ctx, 'K');
  const V = needNamed(inputs, 2, ctx, 'V');
  const mask = inputs[3];
  const pastK = inputs[4];
  const pastV = inputs[5];
  const nonpad = ctx.opset >= 24 ? inputs[6] : undefined;
  const dt = Q.dtype;
  for (const [t, n] of [[Q, 'Q'], [K, 'K'], [V, 'V'], [pastK, 'past_key'], [pastV, 'past_value']] as const) {
    if (!t) continue;
    if (t.dtype === DType.float16) throw ctx.unsupported(`Attention on float16 is not supported (compute in float32)`);
    if (t.dtype !== DType.float32 && t.dtype !== DType.float64) throw ctx.error(`${n} must be float32 or float64, got ${dtypeName(t.dtype)}`);
    if (t.dtype !== dt) throw ctx.unsupported(`Attention with mixed input types (${dtypeName(dt)} and ${dtypeName(t.dtype)}) is not supported`);
  }
  const f32 = dt === DType.float32;

  // ---- attributes
  const isCausal = ctx.int('is_causal', 0);
  if (isCausal !== 0 && isCausal !== 1) throw ctx.error(`is_causal must be 0 or 1, got ${isCausal}`);
  const mode = ctx.int('qk_matmul_output_mode', 0);
  if (mode < 0 || mode > 3) throw ctx.error(`qk_matmul_output_mode must be 0..3, got ${mode}`);
  const softcapAttr = fr(ctx.float('softcap', 0));
  const spAttr = ctx.int('softmax_precision');
  let smF32 = f32;
  if (spAttr !== undefined) {
    if (spAttr === DType.float32) smF32 = true;
    else if (spAttr === DType.float64) smF32 = false;
    else if (spAttr === DType.float16 || spAttr === 16) throw ctx.unsupported(`softmax_precision ${spAttr} (16-bit float) is not supported`);
    else throw ctx.error(`softmax_precision must be 1, 10, 11 or 16, got ${spAttr}`);
  }
  let left = -1;
  let right = -1;
  if (ctx.opset >= 25) {
    left = ctx.int('left_window_size', -1);
    right = ctx.int('right_window_size', -1);
    if (left < -1 || right < -1) throw ctx.error(`left_window_size/right_window_size must be >= -1, got ${left}/${right}`);
  }
  const qnh = ctx.int('q_num_heads');
  const kvnh = ctx.int('kv_num_heads');

  // ---- shapes
  const rank = Q.rank;
  if ((rank !== 3 && rank !== 4) || K.rank !== rank || V.rank !== rank) {
    throw ctx.error(`Q, K, V must all be 3-D or all 4-D, got ${shapeStr(Q.shape)}, ${shapeStr(K.shape)}, ${shapeStr(V.shape)}`);
  }
  const B = Q.shape[0]!;
  let Hq: number, Hkv: number, Sq: number, Skv: number, D: number, Dv: number;
  if (rank === 4) {
    if (ctx.opset >= 25 && (qnh !== undefined || kvnh !== undefined)) throw ctx.error('q_num_heads and kv_num_heads must not be given for 4-D inputs');
    [, Hq, Sq, D] = Q.shape as [number, number, number, number];
    [, Hkv, Skv] = K.shape as [number, number, number, number];
    Dv = V.shape[3]!;
    if (K.shape[0] !== B || K.shape[3] !== D || V.shape[0] !== B || V.shape[1] !== Hkv || V.shape[2] !== Skv) {
      throw ctx.error(`incompatible Q ${shapeStr(Q.shape)}, K ${shapeStr(K.shape)}, V ${shapeStr(V.shape)}`);
    }
  } else {
    if (qnh === undefined || kvnh === undefined) throw ctx.error('3-D inputs need the q_num_heads and kv_num_heads attributes');
    if (qnh <= 0 || kvnh <= 0) throw ctx.error(`q_num_heads and kv_num_heads must be positive, got ${qnh} and ${kvnh}`);
    Hq = qnh;
    Hkv = kvnh;
    Sq = Q.shape[1]!;
    Skv = K.shape[1]!;
    const hq = Q.shape[2]!, hk = K.shape[2]!, hv = V.shape[2]!;
    if (hq % Hq !== 0 || hk % Hkv !== 0 || hv % Hkv !== 0) {
      throw ctx.error(`hidden sizes ${hq}, ${hk}, ${hv} are not divisible by the head counts ${Hq} / ${Hkv}`);
    }
    D = hq / Hq;
    Dv = hv / Hkv;
    if (hk / Hkv !== D || K.shape[0] !== B || V.shape[0] !== B || V.shape[1] !== Skv) {
      throw ctx.error(`incompatible Q ${shapeStr(Q.shape)}, K ${shapeStr(K.shape)}, V ${shapeStr(V.shape)} for ${Hq}/${Hkv} heads`);
    }
  }
  if (Hkv === 0 || Hq % Hkv !== 0) throw ctx.error(`q_num_heads (${Hq}) must be a multiple of kv_num_heads (${Hkv})`);
  const group = Hq / Hkv;

  if ((pastK === undefined) !== (pastV === undefined)) throw ctx.error('past_key and past_value must be given together');
  if (wants(ctx, 1) !== wants(ctx, 2)) throw ctx.error('present_key and present_value must be requested together');
  let P = 0;
  if (pastK && pastV) {
    if (nonpad) throw ctx.error('nonpad_kv_seqlen cannot be combined with past_key/past_value');
    if (pastK.rank !== 4 || pastV.rank !== 4) throw ctx.error('past_key and past_value must be 4-D');
    P = pastK.shape[2]!;
    const okK = pastK.shape[0] === B && pastK.shape[1] === Hkv && pastK.shape[3] === D;
    const okV = pastV.shape[0] === B && pastV.shape[1] === Hkv && pastV.shape[2] === P && pastV.shape[3] === Dv;
    if (!okK || !okV) throw ctx.error(`past_key ${shapeStr(pastK.shape)} / past_value ${shapeStr(pastV.shape)} do not match [${B},${Hkv},P,${D}] / [${B},${Hkv},P,${Dv}]`);
  }
  if (nonpad && (wants(ctx, 1) || wants(ctx, 2))) throw ctx.error('nonpad_kv_seqlen cannot be combined with present_key/present_value');
  const T = P + Skv;

  let np: Float64Array | undefined;
  if (nonpad) {
    if (nonpad.dtype !== DType.int64) throw ctx.error(`nonpad_kv_seqlen must be int64, got ${dtypeName(nonpad.dtype)}`);
    if (nonpad.rank !== 1 || nonpad.shape[0] !== B) throw ctx.error(`nonpad_kv_seqlen must have shape [${B}], got ${shapeStr(nonpad.shape)}`);
    np = new Float64Array(B);
    for (let b = 0; b < B; b++) np[b] = Number((nonpad.data as BigInt64Array)[b]!);
  }

  // ---- mask layout: right-aligned broadcast against [B, Hq, Sq, Tm]
  let mvals: ArrayLike<number> | undefined;
  let mBool = false;
  let mB = 0, mH = 0, mS = 0, Tm = 0;
  if (mask) {
    if (mask.rank < 1 || mask.rank > 4) throw ctx.error(`attn_mask must have rank 1..4, got ${shapeStr(mask.shape)}`);
    Tm = mask.shape[mask.rank - 1]!;
    if (Tm > T) throw ctx.error(`attn_mask last dimension ${Tm} exceeds the total sequence length ${T}`);
    const full = [B, Hq, Sq];
    const strides = [0, 0, 0];
    let acc = Tm;
    for (let a = mask.rank - 2; a >= 0; a--) {
      const o = 3 - (mask.rank - 1) + a; // target axis 0..2
      const d = mask.shape[a]!;
      if (d !== 1 && d !== full[o]) throw ctx.error(`attn_mask ${shapeStr(mask.shape)} does not broadcast to [${B},${Hq},${Sq},${T}]`);
      strides[o] = d === 1 ? 0 : acc;
      acc *= d;
    }
    [mB, mH, mS] = strides as [number, number, number];
    const mv = maskValues(mask, ctx);
    mvals = mv.vals;
    mBool = mv.isBool;
  }

  // ---- scale factor c (float32, like the function body)
  const scaleAttr = ctx.float('scale');
  const sF = scaleAttr !== undefined ? fr(scaleAttr) : fr(1 / fr(Math.sqrt(D)));
  const c = fr(Math.sqrt(sF));

  // ---- element strides of Q, K, V as (b, h, s) with d contiguous
  const q4 = rank === 4;
  const qS = q4 ? [Hq * Sq * D, Sq * D, D] : [Sq * Hq * D, D, Hq * D];
  const kS = q4 ? [Hkv * Skv * D, Skv * D, D] : [Skv * Hkv * D, D, Hkv * D];
  const vS = q4 ? [Hkv * Skv * Dv, Skv * Dv, Dv] : [Skv * Hkv * Dv, Dv, Hkv * Dv];

  // ---- outputs
  const yShape = q4 ? [B, Hq, Sq, Dv] : [B, Sq, Hq * Dv];
  const Y = ctx.alloc(dt, yShape);
  const presK = wants(ctx, 1) ? ctx.alloc(dt, [B, Hkv, T, D]) : undefined;
  const presV = wants(ctx, 2) ? ctx.alloc(dt, [B, Hkv, T, Dv]) : undefined;
  const qkOut = wants(ctx, 3) ? ctx.alloc(dt, [B, Hq, Sq, T]) : undefined;

  const newArr = (n: number): FArr => (f32 ? new Float32Array(n) : new Float64Array(n));
  const qd = Q.data as FArr, kd = K.data as FArr, vd = V.data as FArr;
  const pkd = pastK?.data as FArr | undefined, pvd = pastV?.data as FArr | undefined;
  const yd = Y.data as FArr;

  // present_key / present_value (unscaled): past ++ new
  for (let b = 0; b < B; b++) {
    for (let g = 0; g < Hkv; g++) {
      if (presK) {
        const o = (b * Hkv + g) * T * D;
        const pd = presK.data as FArr;
        if (pkd) pd.set(pkd.subarray((b * Hkv + g) * P * D, (b * Hkv + g + 1) * P * D), o);
        for (let s = 0; s < Skv; s++) {
          const src = b * kS[0]! + g * kS[1]! + s * kS[2]!;
          pd.set(kd.subarray(src, src + D), o + (P + s) * D);
        }
      }
      if (presV) {
        const o = (b * Hkv + g) * T * Dv;
        const pd = presV.data as FArr;
        if (pvd) pd.set(pvd.subarray((b * Hkv + g) * P * Dv, (b * Hkv + g + 1) * P * Dv), o);
        for (let s = 0; s < Skv; s++) {
          const src = b * vS[0]! + g * vS[1]! + s * vS[2]!;
          pd.set(vd.subarray(src, src + Dv), o + (P + s) * Dv);
        }
      }
    }
  }
  if (B * Hq * Sq > 0) {
    attentionCore();
  }
  const outs: Tensor[] = [Y];
  const ph = (): Tensor => new Tensor(dt, [0], newArr(0));
  if (ctx.node.outputs.length > 1) outs.push(presK ?? ph());
  if (ctx.node.outputs.length > 2) outs.push(presV ?? ph());
  if (ctx.node.outputs.length > 3) outs.push(qkOut ?? ph());
  return outs;

  function attentionCore(): void {

  // ---- scratch
  const Qs = newArr(Sq * D); // scaled Q block of one head, [Sq, D]
  const KsT = newArr(D * T); // scaled K^T of one kv head, [D, T]
  const Vb = newArr(T * Dv); // V of one kv head, [T, Dv]
  const S = newArr(Sq * T); // scores, then probabilities (in T), [Sq, T]
  const bias = newArr(T);
  const sm: FArr = smF32 ? new Float32Array(T) : new Float64Array(T); // softmax-precision row
  const Yh = q4 ? undefined : newArr(Sq * Dv);
  const softcap = softcapAttr;
  const round = f32 ? fr : (x: number) => x;
  const tanhT = f32 ? tanhf : tanh64;
  const expS = smF32 ? expf : exp64;
  const windowOn = left >= 0 || right >= 0;
  const extCache = np !== undefined && P === 0;

  for (let b = 0; b < B; b++) {
    const offset = extCache ? np![b]! - Sq : P;
    for (let g = 0; g < Hkv; g++) {
      // scaled K^T and V block of kv head g: rows t < P come from the past cache
      for (let t = 0; t < T; t++) {
        let src: FArr, so: number, vsrc: FArr, vo: number;
        if (t < P) {
          src = pkd!; so = ((b * Hkv + g) * P + t) * D;
          vsrc = pvd!; vo = ((b * Hkv + g) * P + t) * Dv;
        } else {
          src = kd; so = b * kS[0]! + g * kS[1]! + (t - P) * kS[2]!;
          vsrc = vd; vo = b * vS[0]! + g * vS[1]! + (t - P) * vS[2]!;
        }
        for (let d = 0; d < D; d++) KsT[d * T + t] = round(src[so + d]! * c);
        Vb.set(vsrc.subarray(vo, vo + Dv), t * Dv);
      }
      for (let hh = 0; hh < group; hh++) {
        const h = g * group + hh;
        for (let i = 0; i < Sq; i++) {
          const so = b * qS[0]! + h * qS[1]! + i * qS[2]!;
          for (let d = 0; d < D; d++) Qs[i * D + d] = round(qd[so + d]! * c);
        }
        S.fill(0);
        if (f32) gemmF32(Qs as Float32Array, 0, KsT as Float32Array, 0, S as Float32Array, 0, Sq, D, T);
        else gemmF64(Qs as Float64Array, 0, KsT as Float64Array, 0, S as Float64Array, 0, Sq, D, T);
        const qkBase = (b * Hq + h) * Sq * T;
        const qkd = qkOut?.data as FArr | undefined;
        if (qkd && mode === 0) qkd.set(S, qkBase);

        for (let i = 0; i < Sq; i++) {
          const r0 = i * T;
          // 4. softcap
          if (softcap !== 0) {
            for (let j = 0; j < T; j++) S[r0 + j] = round(tanhT(round(S[r0 + j]! / softcap)) * softcap);
          }
          if (qkd && mode === 1) qkd.set(S.subarray(r0, r0 + T), qkBase + r0);
          // 5. bias row
          if (mvals) {
            const mo = b * mB + h * mH + i * mS;
            if (mBool) for (let j = 0; j < Tm; j++) bias[j] = mvals[mo + j] ? 0 : -Infinity;
            else for (let j = 0; j < Tm; j++) bias[j] = mvals[mo + j]!;
            bias.fill(-Infinity, Tm, T);
          } else bias.fill(0);
          if (isCausal) {
            const lim = i + offset; // allowed iff j <= lim
            for (let j = 0; j < T; j++) bias[j] = bias[j]! + (j <= lim ? 0 : -Infinity);
          }
          if (windowOn) {
            const pos = i + offset;
            for (let j = 0; j < T; j++) {
              const diff = pos - j;
              const ok = (left < 0 || diff <= left) && (right < 0 || -diff <= right);
              bias[j] = bias[j]! + (ok ? 0 : -Infinity);
            }
          }
          if (np) {
            const lim = np[b]!;
            for (let j = 0; j < T; j++) bias[j] = bias[j]! + (j < lim ? 0 : -Infinity);
          }
          let bmax = -Infinity;
          for (let j = 0; j < T; j++) {
            const v = bias[j]!;
            if (v > bmax || v !== v) bmax = v;
            S[r0 + j] = S[r0 + j]! + v;
          }
          if (qkd && mode === 2) qkd.set(S.subarray(r0, r0 + T), qkBase + r0);
          // 6. softmax in the softmax precision, 7. guard
          if (bmax === -Infinity) {
            S.fill(0, r0, r0 + T);
          } else {
            let m = -Infinity;
            for (let j = 0; j < T; j++) {
              sm[j] = S[r0 + j]!;
              const v = sm[j]!;
              if (v > m || v !== v) m = v;
            }
            let s = 0;
            if (smF32) {
              for (let j = 0; j < T; j++) {
                const e = expS(fr(sm[j]! - m));
                sm[j] = e;
                s = fr(s + e);
              }
            } else {
              for (let j = 0; j < T; j++) {
                const e = expS(sm[j]! - m);
                sm[j] = e;
                s = s + e;
              }
            }
            if (smF32) for (let j = 0; j < T; j++) S[r0 + j] = fr(sm[j]! / s);
            else for (let j = 0; j < T; j++) S[r0 + j] = sm[j]! / s;
          }
          if (qkd && mode === 3) qkd.set(S.subarray(r0, r0 + T), qkBase + r0);
        }
        // 8. Y = P . V
        if (q4) {
          const yo = (b * Hq + h) * Sq * Dv;
          if (f32) gemmF32(S as Float32Array, 0, Vb as Float32Array, 0, yd as Float32Array, yo, Sq, T, Dv);
          else gemmF64(S as Float64Array, 0, Vb as Float64Array, 0, yd as Float64Array, yo, Sq, T, Dv);
        } else {
          Yh!.fill(0);
          if (f32) gemmF32(S as Float32Array, 0, Vb as Float32Array, 0, Yh as Float32Array, 0, Sq, T, Dv);
          else gemmF64(S as Float64Array, 0, Vb as Float64Array, 0, Yh as Float64Array, 0, Sq, T, Dv);
          for (let i = 0; i < Sq; i++) yd.set(Yh!.subarray(i * Dv, (i + 1) * Dv), (b * Sq + i) * Hq * Dv + h * Dv);
        }
      }
    }
  }
  }
};

// ---------------------------------------------------------------------------
// RotaryEmbedding

const rotaryEmbedding: Kernel = (inputs, ctx) => {
  const X = needNamed(inputs, 0, ctx, 'X');
  const cosC = needNamed(inputs, 1, ctx, 'cos_cache');
  const sinC = needNamed(inputs, 2, ctx, 'sin_cache');
  const pos = inputs[3];
  const dt = X.dtype;
  for (const [t, n] of [[X, 'X'], [cosC, 'cos_cache'], [sinC, 'sin_cache']] as const) {
    if (t.dtype === DType.float16) throw ctx.unsupported('RotaryEmbedding on float16 is not supported (compute in float32)');
    if (t.dtype !== DType.float32 && t.dtype !== DType.float64) throw ctx.error(`${n} must be float32 or float64, got ${dtypeName(t.dtype)}`);
    if (t.dtype !== dt) throw ctx.error(`${n} must have the type of X (${dtypeName(dt)}), got ${dtypeName(t.dtype)}`);
  }
  const f32 = dt === DType.float32;
  const interleaved = ctx.int('interleaved', 0);
  if (interleaved !== 0 && interleaved !== 1) throw ctx.error(`interleaved must be 0 or 1, got ${interleaved}`);
  const rank = X.rank;
  let B: number, S: number, H: number, Dh: number;
  // element strides (b, s, h) with d contiguous
  let xs: [number, number, number];
  if (rank === 4) {
    [B, H, S, Dh] = X.shape as [number, number, number, number];
    xs = [H * S * Dh, Dh, S * Dh];
  } else if (rank === 3) {
    const nh = ctx.int('num_heads');
    if (nh === undefined || nh <= 0) throw ctx.error('3-D input needs a positive num_heads attribute');
    [B, S] = X.shape as [number, number, number];
    const hidden = X.shape[2]!;
    if (hidden % nh !== 0) throw ctx.error(`hidden size ${hidden} is not divisible by num_heads ${nh}`);
    H = nh;
    Dh = hidden / nh;
    xs = [S * hidden, hidden, Dh];
  } else throw ctx.error(`X must be 3-D or 4-D, got ${shapeStr(X.shape)}`);
  let R = ctx.int('rotary_embedding_dim', 0);
  if (R === 0) R = Dh;
  if (R < 0 || R > Dh || R % 2 !== 0) throw ctx.error(`rotary_embedding_dim ${R} must be even and at most the head size ${Dh}`);
  const half = R / 2;

  // cache rows: row(b, s) -> offset into cos/sin data; cache last dim >= half (first half used)
  if (cosC.rank !== sinC.rank || cosC.shape.some((d, i) => d !== sinC.shape[i])) {
    throw ctx.error(`cos_cache ${shapeStr(cosC.shape)} and sin_cache ${shapeStr(sinC.shape)} must have the same shape`);
  }
  const W = cosC.shape[cosC.rank - 1] ?? 0;
  if (W < half) throw ctx.error(`cache last dimension ${W} is smaller than rotary_embedding_dim/2 = ${half}`);
  const rowOf = new Float64Array(B * S);
  if (pos) {
    if (cosC.rank !== 2) throw ctx.error(`with position_ids the caches must be 2-D, got ${shapeStr(cosC.shape)}`);
    if (pos.rank !== 2 || pos.shape[0] !== B || pos.shape[1] !== S) throw ctx.error(`position_ids must have shape [${B},${S}], got ${shapeStr(pos.shape)}`);
    const kind = dtypeKind(pos.dtype);
    if (kind !== 'int' && kind !== 'bigint') throw ctx.error(`position_ids must be int64, got ${dtypeName(pos.dtype)}`);
    const maxPos = cosC.shape[0]!;
    for (let i = 0; i < B * S; i++) {
      let p = Number(pos.data[i]!);
      if (p < 0) p += maxPos; // Gather semantics
      if (!(p >= 0 && p < maxPos)) throw ctx.error(`position id ${String(pos.data[i])} is out of range [0, ${maxPos})`, { index: i });
      rowOf[i] = p * W;
    }
  } else {
    if (cosC.rank !== 3 || cosC.shape[0] !== B || cosC.shape[1] !== S) {
      throw ctx.error(`without position_ids the caches must have shape [${B},${S},${half}], got ${shapeStr(cosC.shape)}`);
    }
    for (let i = 0; i < B * S; i++) rowOf[i] = i * W;
  }

  const Y = ctx.alloc(dt, X.shape);
  const x = X.data as FArr, y = Y.data as FArr;
  const cd = cosC.data as FArr, sd = sinC.data as FArr;
  y.set(x); // non-rotated tail (and everything else, overwritten below)
  const r = f32 ? fr : (v: number) => v;
  const s1 = interleaved ? 2 : 1; // stride between consecutive x1 (and x2) elements
  const o2 = interleaved ? 1 : half; // offset of x2 relative to x1
  for (let b = 0; b < B; b++) {
    for (let s = 0; s < S; s++) {
      const cr = rowOf[b * S + s]!;
      for (let h = 0; h < H; h++) {
        const base = b * xs[0] + s * xs[1] + h * xs[2];
        for (let k = 0; k < half; k++) {
          const i1 = base + k * s1;
          const i2 = i1 + o2;
          const x1 = x[i1]!, x2 = x[i2]!;
          const co = cd[cr + k]!, si = sd[cr + k]!;
          y[i1] = r(r(co * x1) - r(si * x2));
          y[i2] = r(r(si * x1) + r(co * x2));
        }
      }
    }
  }
  return [Y];
};

export const ops: KernelTable = {
  Attention: attention,
  RotaryEmbedding: rotaryEmbedding,
};
