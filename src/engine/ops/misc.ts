/**
 * Miscellaneous ops: BitCast (opset 26), HannWindow / HammingWindow / BlackmanWindow
 * (opset 17), Det (opset 11, 22), DFT (opset 17, 20), STFT (opset 17),
 * MelWeightMatrix (opset 17). Each kernel states its canonical order below.
 */
import type { Kernel, KernelContext, KernelTable } from '../kernel.js';
import { Tensor } from '../../tensor/tensor.js';
import { DType, bytesPerElement, dtypeKind, dtypeName, isDType } from '../../tensor/dtype.js';
import { cosf, cos64, sin64, log64, pow64 } from '../math/index.js';
import { castTensor } from './cast.js';
import { needNamed, shapeStr } from './util.js';
import { canonicalData } from '../../tensor/canonical.js';

const fr = Math.fround;
type FArr = Float32Array | Float64Array;

/** A scalar (rank 0, or a single element) integer input as a safe number (unlike util.intScalar, rejects |v| > 2^53). */
function intScalar(t: Tensor, ctx: KernelContext, what: string): number {
  const k = dtypeKind(t.dtype);
  if (k !== 'int' && k !== 'bigint') throw ctx.error(`${what} must be an integer scalar, got ${dtypeName(t.dtype)}`);
  if (t.size !== 1) throw ctx.error(`${what} must be a scalar, got shape ${shapeStr(t.shape)}`);
  const v = Number(t.data[0]!);
  if (!Number.isSafeInteger(v)) throw ctx.error(`${what} value ${String(t.data[0])} is out of range`);
  return v;
}

/** A scalar float input (float32/float64) as a number. */
function floatScalar(t: Tensor, ctx: KernelContext, what: string): number {
  if (t.dtype === DType.float16) throw ctx.unsupported(`${what} of type float16 is not supported`);
  if (t.dtype !== DType.float32 && t.dtype !== DType.float64) throw ctx.error(`${what} must be a float scalar, got ${dtypeName(t.dtype)}`);
  if (t.size !== 1) throw ctx.error(`${what} must be a scalar, got shape ${shapeStr(t.shape)}`);
  return t.data[0] as number;
}

function outputDType(ctx: KernelContext): DType {
  const o = ctx.int('output_datatype', DType.float32);
  if (!isDType(o)) throw ctx.unsupported(`output_datatype ${dtypeName(o)} is not supported`);
  if (o === DType.bool) throw ctx.error('output_datatype must be a numeric type, got bool');
  return o;
}

// ---------------------------------------------------------------------------
// BitCast: reinterpret the canonical bytes of each element (DESIGN.md: little-endian,
// every NaN the one quiet NaN of its type, bool 0/1) as `to` (same width). Using the
// canonical bytes keeps the result independent of NaN payloads, which differ between
// engines. The output never shares the input buffer. A bool output must hold bytes 0/1
// only (the engine's bool representation); other byte values are rejected.

const bitCast: Kernel = (inputs, ctx) => {
  const x = needNamed(inputs, 0, ctx, 'input');
  const to = ctx.int('to');
  if (to === undefined) throw ctx.error('missing required attribute to');
  if (!isDType(to)) throw ctx.unsupported(`BitCast to ${dtypeName(to)} is not supported`);
  const wi = bytesPerElement(x.dtype);
  const wo = bytesPerElement(to);
  if (wi !== wo) throw ctx.error(`BitCast needs types of the same width: ${dtypeName(x.dtype)} is ${wi * 8} bits, ${dtypeName(to)} is ${wo * 8} bits`);
  const out = ctx.alloc(to, x.shape);
  const n = x.size;
  const src = canonicalData(x);
  const dst = new Uint8Array(out.data.buffer, out.data.byteOffset, n * wo);
  dst.set(src);
  if (to === DType.bool) {
    for (let i = 0; i < n; i++) {
      if (dst[i]! > 1) throw ctx.error(`byte value ${dst[i]} at index ${i} is not a valid bool (0 or 1)`, { index: i });
    }
  }
  return [out];
};

// ---------------------------------------------------------------------------
// Cosine-sum windows (the ops' ONNX function bodies, in float32):
//   Nf = f32(size); Size = periodic ? Nf : f32(Nf - 1)
//   inc = f32(Tau / Size), Tau = f32(6.2831853)
//   for k = 0 .. size-1:  a = f32(k * inc); a2 = f32(a * 2)
//     v = f32(f32(A0 - f32(A1 * cosf(a))) + f32(A2 * cosf(a2)))
//   (A0, A1, A2 are the float32 constants of the function body), then Cast to output_datatype.
// The function body computes Periodic*Nf + (1-Periodic)*(Nf-1) with multiplications by 0/1,
// which is exactly the selection above.

function cosineWindow(a0: number, a1: number, a2: number): Kernel {
  const A0 = fr(a0), A1 = fr(a1), A2 = fr(a2);
  const TAU = fr(6.2831853);
  return (inputs, ctx) => {
    const sizeT = needNamed(inputs, 0, ctx, 'size');
    if (sizeT.dtype !== DType.int32 && sizeT.dtype !== DType.int64) throw ctx.error(`size must be int32 or int64, got ${dtypeName(sizeT.dtype)}`);
    const size = intScalar(sizeT, ctx, 'size');
    if (size < 0) throw ctx.error(`size must be non-negative, got ${size}`);
    const periodic = ctx.int('periodic', 1);
    if (periodic !== 0 && periodic !== 1) throw ctx.error(`periodic must be 0 or 1, got ${periodic}`);
    const odt = outputDType(ctx);
    const w = ctx.alloc(DType.float32, [size]);
    const d = w.data as Float32Array;
    const nf = fr(size);
    const sz = periodic ? nf : fr(nf - 1);
    const inc = fr(TAU / sz);
    for (let k = 0; k < size; k++) {
      const a = fr(k * inc);
      const t2 = fr(a * 2);
      d[k] = fr(fr(A0 - fr(A1 * cosf(a))) + fr(A2 * cosf(t2)));
    }
    return [odt === DType.float32 ? w : castTensor(w, odt, ctx)];
  };
}

// ---------------------------------------------------------------------------
// Det: batched over leading dims of [..., M, M]. Per matrix, Gaussian elimination
// with partial pivoting on a copy A (rounding to the input type after every op):
//   sign = +1
//   for k = 0 .. M-1:
//     p = k; best = |A[k][k]|; for i = k+1 .. M-1: if |A[i][k]| > best: p = i, best = |A[i][k]|
//       (first maximum wins; NaN is never chosen over row k)
//     if A[p][k] == 0: det = +0, stop
//     if p != k: swap rows p and k (columns k..M-1), sign = -sign
//     for i = k+1 .. M-1: f = round(A[i][k] / A[k][k])
//       for j = k+1 .. M-1: A[i][j] = round(A[i][j] - round(f * A[k][j]))
//   det = 1; for k = 0 .. M-1: det = round(det * A[k][k]); if sign < 0: det = -det
// A 0x0 matrix has det 1.

function detOne(a: FArr, M: number, f32: boolean): number {
  const r = f32 ? fr : (v: number) => v;
  let sign = 1;
  for (let k = 0; k < M; k++) {
    let p = k;
    let best = Math.abs(a[k * M + k]!);
    for (let i = k + 1; i < M; i++) {
      const v = Math.abs(a[i * M + k]!);
      if (v > best) {
        best = v;
        p = i;
      }
    }
    if (a[p * M + k] === 0) return 0;
    if (p !== k) {
      for (let j = k; j < M; j++) {
        const t = a[k * M + j]!;
        a[k * M + j] = a[p * M + j]!;
        a[p * M + j] = t;
      }
      sign = -sign;
    }
    const piv = a[k * M + k]!;
    for (let i = k + 1; i < M; i++) {
      const f = r(a[i * M + k]! / piv);
      for (let j = k + 1; j < M; j++) a[i * M + j] = r(a[i * M + j]! - r(f * a[k * M + j]!));
    }
  }
  let det = 1;
  for (let k = 0; k < M; k++) det = r(det * a[k * M + k]!);
  return sign < 0 ? -det : det;
}

const det: Kernel = (inputs, ctx) => {
  const x = needNamed(inputs, 0, ctx, 'X');
  if (x.dtype === DType.float16) throw ctx.unsupported('Det on float16 is not supported (compute in float32)');
  if (x.dtype !== DType.float32 && x.dtype !== DType.float64) throw ctx.error(`Det needs a float input, got ${dtypeName(x.dtype)}`);
  const rank = x.rank;
  if (rank < 2) throw ctx.error(`Det needs an input of rank >= 2, got ${shapeStr(x.shape)}`);
  const M = x.shape[rank - 1]!;
  if (x.shape[rank - 2] !== M) throw ctx.error(`Det needs square matrices, got ${shapeStr(x.shape)}`);
  const outShape = x.shape.slice(0, rank - 2);
  const out = ctx.alloc(x.dtype, outShape);
  const f32 = x.dtype === DType.float32;
  const work = f32 ? new Float32Array(M * M) : new Float64Array(M * M);
  const xd = x.data as FArr;
  const od = out.data as FArr;
  for (let b = 0; b < out.size; b++) {
    work.set(xd.subarray(b * M * M, (b + 1) * M * M));
    od[b] = detOne(work, M, f32);
  }
  return [out];
};

// ---------------------------------------------------------------------------
// DFT core. One 1-D transform of length N over complex samples (re, im), with
// twiddles computed in float64 and (for float32 tensors) rounded to float32, m = (k * t) mod N:
//   m = 0: (1, 0); 2m = N: (-1, 0); 4m = N: (0, 1); other 0 < m < N/2:
//   theta_m = (TWO_PI * m) / N (double ops), c_m = round(cos64(theta_m)), s_m = round(sin64(theta_m));
//   m > N/2: c_m = c_{N-m}, s_m = -s_{N-m}.
// forward, output k: acc_re = acc_im = +0; for t = 0 .. N-1 (increasing):
//   acc_re = round(acc_re + round(round(xr*c) + round(xi*s)))
//   acc_im = round(acc_im + round(round(xi*c) - round(xr*s)))
// inverse: acc_re += round(round(xr*c) - round(xi*s)), acc_im += round(round(xr*s) + round(xi*c)),
//   then out = round(acc / N).
// Real input has xi = +0 (same formula).

const TWO_PI = 6.283185307179586;

class Twiddles {
  readonly c: FArr;
  readonly s: FArr;
  constructor(N: number, f32: boolean) {
    this.c = f32 ? new Float32Array(N) : new Float64Array(N);
    this.s = f32 ? new Float32Array(N) : new Float64Array(N);
    // exact values on the axes; the second half mirrors the first (c[N-m] = c[m], s[N-m] = -s[m])
    for (let m = 0; m <= N / 2; m++) {
      let cv: number, sv: number;
      if (m === 0) [cv, sv] = [1, 0];
      else if (2 * m === N) [cv, sv] = [-1, 0];
      else if (4 * m === N) [cv, sv] = [0, 1];
      else {
        const th = (TWO_PI * m) / N;
        cv = cos64(th);
        sv = sin64(th);
      }
      this.c[m] = cv;
      this.s[m] = sv;
      if (m > 0 && m < N - m) {
        this.c[N - m] = cv;
        this.s[N - m] = -sv;
      }
    }
  }
}

/** Transforms xr/xi (length N) into outR/outI for k = 0 .. K-1. */
function dft1(xr: FArr, xi: FArr, N: number, K: number, inverse: boolean, tw: Twiddles, f32: boolean, outR: FArr, outI: FArr): void {
  const c = tw.c, s = tw.s;
  if (f32) {
    for (let k = 0; k < K; k++) {
      let ar = 0, ai = 0;
      let m = 0;
      for (let t = 0; t < N; t++) {
        const cr = c[m]!, sn = s[m]!;
        const a = xr[t]!, b = xi[t]!;
        if (inverse) {
          ar = fr(ar + fr(fr(a * cr) - fr(b * sn)));
          ai = fr(ai + fr(fr(a * sn) + fr(b * cr)));
        } else {
          ar = fr(ar + fr(fr(a * cr) + fr(b * sn)));
          ai = fr(ai + fr(fr(b * cr) - fr(a * sn)));
        }
        m += k;
        if (m >= N) m -= N * Math.floor(m / N);
      }
      if (inverse) {
        ar = fr(ar / N);
        ai = fr(ai / N);
      }
      outR[k] = ar;
      outI[k] = ai;
    }
  } else {
    for (let k = 0; k < K; k++) {
      let ar = 0, ai = 0;
      let m = 0;
      for (let t = 0; t < N; t++) {
        const cr = c[m]!, sn = s[m]!;
        const a = xr[t]!, b = xi[t]!;
        if (inverse) {
          ar = ar + (a * cr - b * sn);
          ai = ai + (a * sn + b * cr);
        } else {
          ar = ar + (a * cr + b * sn);
          ai = ai + (b * cr - a * sn);
        }
        m += k;
        if (m >= N) m -= N * Math.floor(m / N);
      }
      if (inverse) {
        ar = ar / N;
        ai = ai / N;
      }
      outR[k] = ar;
      outI[k] = ai;
    }
  }
}

function checkFloat(x: Tensor, ctx: KernelContext, what: string): boolean {
  if (x.dtype === DType.float16) throw ctx.unsupported(`${ctx.node.opType} on float16 is not supported (compute in float32)`);
  if (x.dtype !== DType.float32 && x.dtype !== DType.float64) throw ctx.error(`${what} must be float32 or float64, got ${dtypeName(x.dtype)}`);
  return x.dtype === DType.float32;
}

// DFT: input [..., L (axis), ..., 1|2]. The signal along `axis` is truncated or
// zero-padded to N = dft_length. Output along axis: N (full), floor(N/2)+1 (forward
// onesided), N real values (inverse onesided = IRFFT). IRFFT builds the full
// Hermitian spectrum F[k] = X[k] (k <= N/2, imaginary parts of X[0] and, for even N,
// X[N/2] set to +0), F[k] = conj(X[N-k]) (k > N/2) from the first floor(N/2)+1 input
// values (zero-padded), runs the inverse transform above and keeps the real part.
const dft: Kernel = (inputs, ctx) => {
  const x = needNamed(inputs, 0, ctx, 'input');
  const f32 = checkFloat(x, ctx, 'input');
  const rank = x.rank;
  if (rank < 2) throw ctx.error(`input must have rank >= 2 (with the trailing complex axis), got ${shapeStr(x.shape)}`);
  const cdim = x.shape[rank - 1]!;
  if (cdim !== 1 && cdim !== 2) throw ctx.error(`the last dimension must be 1 (real) or 2 (complex), got ${cdim}`);
  let axis: number;
  if (ctx.opset >= 20) {
    axis = inputs[2] ? intScalar(inputs[2], ctx, 'axis') : -2;
  } else axis = ctx.int('axis', 1);
  if (!(axis >= -rank && axis <= rank - 2 && axis !== -1)) throw ctx.error(`axis ${axis} is invalid for rank ${rank} (must be in [-r, -2] or [0, r-2])`);
  if (axis < 0) axis += rank;
  const inverse = ctx.int('inverse', 0) !== 0;
  const onesided = ctx.int('onesided', 0) !== 0;
  const L = x.shape[axis]!;
  let N: number;
  if (inputs[1]) {
    N = intScalar(inputs[1], ctx, 'dft_length');
    if (N < 1) throw ctx.error(`dft_length must be positive, got ${N}`);
  } else N = inverse && onesided ? 2 * (L - 1) : L;
  if (N < 1) throw ctx.error(`the transform length must be positive, got ${N}`);
  const irfft = inverse && onesided;
  const outLen = !inverse && onesided ? Math.floor(N / 2) + 1 : N;
  const outC = irfft ? 1 : 2;
  const outShape = x.shape.slice();
  outShape[axis] = outLen;
  outShape[rank - 1] = outC;
  const out = ctx.alloc(x.dtype, outShape);
  let outer = 1;
  for (let i = 0; i < axis; i++) outer *= x.shape[i]!;
  let inner = 1;
  for (let i = axis + 1; i < rank - 1; i++) inner *= x.shape[i]!;
  if (outer * inner === 0 || out.size === 0) return [out];
  const tw = new Twiddles(N, f32);
  const mk = (n: number): FArr => (f32 ? new Float32Array(n) : new Float64Array(n));
  const xr = mk(N), xi = mk(N), orr = mk(N), oi = mk(N);
  const xd = x.data as FArr, od = out.data as FArr;
  const half = Math.floor(N / 2);
  for (let o = 0; o < outer; o++) {
    for (let q = 0; q < inner; q++) {
      xr.fill(0);
      xi.fill(0);
      const at = (t: number): number => ((o * L + t) * inner + q) * cdim;
      if (irfft) {
        const use = Math.min(L, half + 1);
        for (let k = 0; k < use; k++) {
          xr[k] = xd[at(k)]!;
          xi[k] = cdim === 2 ? xd[at(k) + 1]! : 0;
        }
        xi[0] = 0;
        if (N % 2 === 0) xi[half] = 0;
        for (let k = half + 1; k < N; k++) {
          xr[k] = xr[N - k]!;
          xi[k] = -xi[N - k]!;
        }
      } else {
        const use = Math.min(L, N);
        for (let t = 0; t < use; t++) {
          xr[t] = xd[at(t)]!;
          if (cdim === 2) xi[t] = xd[at(t) + 1]!;
        }
      }
      dft1(xr, xi, N, outLen, inverse, tw, f32, orr, oi);
      for (let k = 0; k < outLen; k++) {
        const p = ((o * outLen + k) * inner + q) * outC;
        od[p] = orr[k]!;
        if (outC === 2) od[p + 1] = oi[k]!;
      }
    }
  }
  return [out];
};

// STFT: signal [batch, L, 1|2], frame_step, optional window [W], optional frame_length.
// n_fft = frame_length (or W, or L); frames = 1 + floor((L - n_fft) / frame_step);
// frame f, sample t: (xr, xi) = signal[b, f*step + t] times window[t] (round(x * w) per part;
// no multiplication without a window), then the forward DFT above of length n_fft;
// output [batch, frames, onesided ? floor(n_fft/2)+1 : n_fft, 2].
const stft: Kernel = (inputs, ctx) => {
  const x = needNamed(inputs, 0, ctx, 'signal');
  const f32 = checkFloat(x, ctx, 'signal');
  if (x.rank !== 3) throw ctx.error(`signal must have shape [batch, length, 1|2], got ${shapeStr(x.shape)}`);
  const [Bn, L, cdim] = x.shape as [number, number, number];
  if (cdim !== 1 && cdim !== 2) throw ctx.error(`the last dimension of signal must be 1 or 2, got ${cdim}`);
  const step = intScalar(needNamed(inputs, 1, ctx, 'frame_step'), ctx, 'frame_step');
  if (step < 1) throw ctx.error(`frame_step must be positive, got ${step}`);
  const win = inputs[2];
  let wd: FArr | undefined;
  if (win) {
    checkFloat(win, ctx, 'window');
    if (win.dtype !== x.dtype) throw ctx.error(`window must have the signal's type ${dtypeName(x.dtype)}`);
    if (win.rank !== 1) throw ctx.error(`window must be 1-D, got ${shapeStr(win.shape)}`);
    wd = win.data as FArr;
  }
  let nfft: number;
  if (inputs[3]) {
    nfft = intScalar(inputs[3], ctx, 'frame_length');
    if (win && win.shape[0] !== nfft) throw ctx.error(`frame_length ${nfft} does not match the window length ${win.shape[0]}`);
  } else nfft = win ? win.shape[0]! : L;
  if (nfft < 1 || nfft > L) throw ctx.error(`frame_length ${nfft} must be in [1, ${L}]`);
  const onesided = ctx.int('onesided', 1) !== 0;
  const frames = 1 + Math.floor((L - nfft) / step);
  const K = onesided ? Math.floor(nfft / 2) + 1 : nfft;
  const out = ctx.alloc(x.dtype, [Bn, frames, K, 2]);
  if (out.size === 0) return [out];
  const tw = new Twiddles(nfft, f32);
  const mk = (n: number): FArr => (f32 ? new Float32Array(n) : new Float64Array(n));
  const xr = mk(nfft), xi = mk(nfft), orr = mk(nfft), oi = mk(nfft);
  const xd = x.data as FArr, od = out.data as FArr;
  const r = f32 ? fr : (v: number) => v;
  for (let b = 0; b < Bn; b++) {
    for (let f = 0; f < frames; f++) {
      for (let t = 0; t < nfft; t++) {
        const p = (b * L + f * step + t) * cdim;
        let a = xd[p]!;
        let c = cdim === 2 ? xd[p + 1]! : 0;
        if (wd) {
          a = r(a * wd[t]!);
          c = r(c * wd[t]!);
        }
        xr[t] = a;
        xi[t] = c;
      }
      dft1(xr, xi, nfft, K, false, tw, f32, orr, oi);
      for (let k = 0; k < K; k++) {
        const p = ((b * frames + f) * K + k) * 2;
        od[p] = orr[k]!;
        od[p + 1] = oi[k]!;
      }
    }
  }
  return [out];
};

// MelWeightMatrix, in float64 (the reference's formula), then Cast to output_datatype:
//   log10(v) = log64(v) / log64(10)
//   lowMel = 2595 * log10(1 + lower / 700); highMel likewise
//   step = (highMel - lowMel) / (num_mel_bins + 2)
//   bin[i] = floor(((dft_length + 1) * (700 * (pow64(10, (i * step + lowMel) / 2595) - 1))) / sample_rate),
//            i = 0 .. num_mel_bins + 1
//   band i: l, c, h = bin[i], bin[i+1], bin[i+2]
//     c == l: out[c][i] = 1; else for j = l .. c: out[j][i] = (j - l) / (c - l)
//     h > c: for j = c .. h-1: out[j][i] = (h - j) / (h - c)
//   Rows outside [0, floor(dft_length/2)] are an error.
const melWeightMatrix: Kernel = (inputs, ctx) => {
  const nMel = intScalar(needNamed(inputs, 0, ctx, 'num_mel_bins'), ctx, 'num_mel_bins');
  const dftLen = intScalar(needNamed(inputs, 1, ctx, 'dft_length'), ctx, 'dft_length');
  const rate = intScalar(needNamed(inputs, 2, ctx, 'sample_rate'), ctx, 'sample_rate');
  const lower = floatScalar(needNamed(inputs, 3, ctx, 'lower_edge_hertz'), ctx, 'lower_edge_hertz');
  const upper = floatScalar(needNamed(inputs, 4, ctx, 'upper_edge_hertz'), ctx, 'upper_edge_hertz');
  if (nMel < 0) throw ctx.error(`num_mel_bins must be non-negative, got ${nMel}`);
  if (dftLen < 1) throw ctx.error(`dft_length must be positive, got ${dftLen}`);
  if (rate < 1) throw ctx.error(`sample_rate must be positive, got ${rate}`);
  const odt = outputDType(ctx);
  const nsb = Math.floor(dftLen / 2) + 1;
  const w = ctx.alloc(DType.float64, [nsb, nMel]);
  const d = w.data as Float64Array;
  const LN10 = log64(10);
  const log10 = (v: number): number => log64(v) / LN10;
  const lowMel = 2595 * log10(1 + lower / 700);
  const highMel = 2595 * log10(1 + upper / 700);
  const step = (highMel - lowMel) / (nMel + 2);
  const bins = new Float64Array(nMel + 2);
  for (let i = 0; i < nMel + 2; i++) {
    const hz = 700 * (pow64(10, (i * step + lowMel) / 2595) - 1);
    const v = Math.floor(((dftLen + 1) * hz) / rate);
    if (!Number.isFinite(v)) throw ctx.error(`mel band edge ${i} is not finite`);
    bins[i] = v;
  }
  const put = (j: number, i: number, v: number): void => {
    if (!(j >= 0 && j < nsb)) throw ctx.error(`mel band ${i} reaches spectrogram bin ${j}, outside [0, ${nsb})`, { bin: j, band: i });
    d[j * nMel + i] = v;
  };
  for (let i = 0; i < nMel; i++) {
    const l = bins[i]!, c = bins[i + 1]!, h = bins[i + 2]!;
    const lc = c - l;
    if (lc === 0) put(c, i, 1);
    else for (let j = l; j <= c; j++) put(j, i, (j - l) / lc);
    const ch = h - c;
    if (ch > 0) for (let j = c; j < h; j++) put(j, i, (h - j) / ch);
  }
  return [odt === DType.float64 ? w : castTensor(w, odt, ctx)];
};

export const ops: KernelTable = {
  BitCast: bitCast,
  HannWindow: cosineWindow(0.5, 0.5, 0.0),
  HammingWindow: cosineWindow(0.54347826087, 0.45652173913, 0.0),
  BlackmanWindow: cosineWindow(0.42, 0.5, 0.08),
  Det: det,
  DFT: dft,
  STFT: stft,
  MelWeightMatrix: melWeightMatrix,
};
