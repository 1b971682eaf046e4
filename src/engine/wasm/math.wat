;; math.wat: float32 transcendental kernels (Exp, Sigmoid, Tanh, Erf, Gelu), Softmax/LogSoftmax
;; rows and columns and LayerNormalization rows in WebAssembly SIMD (128-bit SIMD only: no relaxed-simd,
;; no FMA, no threads). Assembled by scripts/build-wasm.mjs into math.wasm.ts; wrapper
;; math.ts; tested bit for bit against the TypeScript references in math.test.ts and the
;; ops' own tests (unary/reduce/normalization.test.ts).
;;
;; Why this gives the bits of the TypeScript reference (../math/*.ts): those algorithms use
;; only IEEE binary64 +, -, *, /, floor, comparisons and exact exponent manipulation, and
;; f64x2.add/sub/mul/div/floor are the same correctly rounded IEEE operations (WebAssembly
;; has no flush-to-zero and no fused multiply-add here). Each kernel below is the reference
;; algorithm step for step, with the same constants and the same Horner order; a branch
;; by range becomes "compute the candidates, pick per lane with v128.bitselect", which
;; changes no value. The float32 boundary: f64x2.promote_low_f32x4 is exact and
;; f32x4.demote_f64x2_zero rounds to nearest even, exactly Math.fround / a Float32Array
;; store. NaN inputs never go through arithmetic: their output is chosen by bits (the
;; input with the quiet bit set, what the JS loop stores for a NaN that a function returns
;; unchanged), so NaN payloads match too. Softmax and LayerNormalization hand every row
;; (Softmax columns: every slice) that could produce a NaN or an infinity back to the
;; TypeScript reference, and Gelu every NaN output.
;; Calls are not inlined by V8 (Node 20), so the hot paths are written out: $exp64pair
;; runs two pairs of lanes side by side, and erf_f32 has an inline branch-0 path.
;;
;; Memory: bytes [0, 1024) hold the erf coefficient table (written by the start function,
;; bytes [0, 960)) and 16-byte scratch slots at 992 ($exp64pair) and 1008 ($lnrow);
;; callers lay out their data from byte 1024 (TABLE_END in math.ts). This memory is the
;; scratch memory every kernel module shares (runtime.ts): they all lay out their jobs from
;; byte 1024 (SCRATCH_BASE), so the table written once at instantiation stays intact. Elementwise kernels
;; work four lanes at a time: x and y are readable/writable up to 16*ceil(n/4) bytes.
(module
  ;; the scratch memory shared by the kernel modules (runtime.ts); re-exported so callers reach it as mem
  (import "env" "mem" (memory 1))
  (export "mem" (memory 0))
  (start $init)

  ;; ---------------------------------------------------------------------------
  ;; expm1Kernel on two lanes (../math/exp.ts): r + (r*r)*p, p = horner(EXPM1_Q, r) with
  ;; 1/13!, 1/12!, ..., 1/2!, highest degree first.
  (func $expm1k (param $r v128) (result v128)
    (local $p v128)
    (local.set $p (v128.const f64x2 1.6059043836821613e-10 1.6059043836821613e-10))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.const f64x2 2.08767569878681e-9 2.08767569878681e-9)))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.const f64x2 2.505210838544172e-8 2.505210838544172e-8)))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.const f64x2 2.755731922398589e-7 2.755731922398589e-7)))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.const f64x2 2.7557319223985893e-6 2.7557319223985893e-6)))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.const f64x2 2.48015873015873e-5 2.48015873015873e-5)))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.const f64x2 0.0001984126984126984 0.0001984126984126984)))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.const f64x2 0.001388888888888889 0.001388888888888889)))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.const f64x2 0.008333333333333333 0.008333333333333333)))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.const f64x2 0.041666666666666664 0.041666666666666664)))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.const f64x2 0.16666666666666666 0.16666666666666666)))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.const f64x2 0.5 0.5)))
    (f64x2.add (local.get $r) (f64x2.mul (f64x2.mul (local.get $r) (local.get $r)) (local.get $p))))

  ;; Four float32 lanes through a two-lane float64 function: promote each half, apply,
  ;; demote (round to nearest even) and join. NaN lanes become x | 0x00400000.
  (func $nanfix (param $x v128) (param $y v128) (result v128)
    (v128.bitselect (v128.or (local.get $x) (v128.const i32x4 0x00400000 0x00400000 0x00400000 0x00400000))
                    (local.get $y)
                    (f32x4.ne (local.get $x) (local.get $x))))
  (func $hi2lo (param $x v128) (result v128)
    (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $x) (local.get $x)))
  (func $join (param $lo v128) (param $hi v128) (result v128)
    (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $lo) (local.get $hi)))

  ;; ---------------------------------------------------------------------------
  ;; exp64 (../math/exp.ts) on two pairs of lanes, xl and xh, computed side by side (two
  ;; independent chains, one call); returns exp64(xl) and stores exp64(xh) at byte 992.
  ;;   x > 710 or +Inf: +Inf;  x < -746: +0;  (NaN lanes: any value, callers select)
  ;;   k = floor(x*INV_LN2 + 0.5); hi = x - k*LN2_HI; r = hi - k*LN2_LO
  ;;   p = horner(EXPM1_Q, r) (1/13! first); em = r + (r*r)*p; scalbn(1 + em, k)
  ;; scalbn (bits.ts): for -746 <= x <= 710, -1076 <= k <= 1024, so at most one pre-scaling:
  ;;   k > 1023: (y * 2^1023) * 2^(k-1023);  k < -1022: (y * 2^-969) * 2^(k+969);
  ;;   else (y * 1) * 2^k (y*1 is exact), where 2^j is built as the bits (j+1023) << 52.
  ;; k as an integer: k + 1.5*2^52 is exact and holds k in its low mantissa bits.
  (func $exp64pair (param $xl v128) (param $xh v128) (result v128)
    (local $kl v128) (local $kh v128) (local $rl v128) (local $rh v128)
    (local $pl v128) (local $ph v128) (local $yl v128) (local $yh v128) (local $il v128) (local $ih v128)
    (local $bl v128) (local $bh v128) (local $sl v128) (local $sh v128)
    (local.set $kl (f64x2.floor (f64x2.add (f64x2.mul (local.get $xl) (v128.const f64x2 1.4426950408889634 1.4426950408889634)) (v128.const f64x2 0.5 0.5))))
    (local.set $kh (f64x2.floor (f64x2.add (f64x2.mul (local.get $xh) (v128.const f64x2 1.4426950408889634 1.4426950408889634)) (v128.const f64x2 0.5 0.5))))
    (local.set $rl (f64x2.sub (f64x2.sub (local.get $xl) (f64x2.mul (local.get $kl) (v128.const f64x2 0.6931471806019545 0.6931471806019545)))
                              (f64x2.mul (local.get $kl) (v128.const f64x2 -4.2009150726810846e-11 -4.2009150726810846e-11))))
    (local.set $rh (f64x2.sub (f64x2.sub (local.get $xh) (f64x2.mul (local.get $kh) (v128.const f64x2 0.6931471806019545 0.6931471806019545)))
                              (f64x2.mul (local.get $kh) (v128.const f64x2 -4.2009150726810846e-11 -4.2009150726810846e-11))))
    (local.set $pl (v128.const f64x2 1.6059043836821613e-10 1.6059043836821613e-10))
    (local.set $ph (local.get $pl))
    (local.set $pl (f64x2.add (f64x2.mul (local.get $pl) (local.get $rl)) (v128.const f64x2 2.08767569878681e-9 2.08767569878681e-9)))
    (local.set $ph (f64x2.add (f64x2.mul (local.get $ph) (local.get $rh)) (v128.const f64x2 2.08767569878681e-9 2.08767569878681e-9)))
    (local.set $pl (f64x2.add (f64x2.mul (local.get $pl) (local.get $rl)) (v128.const f64x2 2.505210838544172e-8 2.505210838544172e-8)))
    (local.set $ph (f64x2.add (f64x2.mul (local.get $ph) (local.get $rh)) (v128.const f64x2 2.505210838544172e-8 2.505210838544172e-8)))
    (local.set $pl (f64x2.add (f64x2.mul (local.get $pl) (local.get $rl)) (v128.const f64x2 2.755731922398589e-7 2.755731922398589e-7)))
    (local.set $ph (f64x2.add (f64x2.mul (local.get $ph) (local.get $rh)) (v128.const f64x2 2.755731922398589e-7 2.755731922398589e-7)))
    (local.set $pl (f64x2.add (f64x2.mul (local.get $pl) (local.get $rl)) (v128.const f64x2 2.7557319223985893e-6 2.7557319223985893e-6)))
    (local.set $ph (f64x2.add (f64x2.mul (local.get $ph) (local.get $rh)) (v128.const f64x2 2.7557319223985893e-6 2.7557319223985893e-6)))
    (local.set $pl (f64x2.add (f64x2.mul (local.get $pl) (local.get $rl)) (v128.const f64x2 2.48015873015873e-5 2.48015873015873e-5)))
    (local.set $ph (f64x2.add (f64x2.mul (local.get $ph) (local.get $rh)) (v128.const f64x2 2.48015873015873e-5 2.48015873015873e-5)))
    (local.set $pl (f64x2.add (f64x2.mul (local.get $pl) (local.get $rl)) (v128.const f64x2 0.0001984126984126984 0.0001984126984126984)))
    (local.set $ph (f64x2.add (f64x2.mul (local.get $ph) (local.get $rh)) (v128.const f64x2 0.0001984126984126984 0.0001984126984126984)))
    (local.set $pl (f64x2.add (f64x2.mul (local.get $pl) (local.get $rl)) (v128.const f64x2 0.001388888888888889 0.001388888888888889)))
    (local.set $ph (f64x2.add (f64x2.mul (local.get $ph) (local.get $rh)) (v128.const f64x2 0.001388888888888889 0.001388888888888889)))
    (local.set $pl (f64x2.add (f64x2.mul (local.get $pl) (local.get $rl)) (v128.const f64x2 0.008333333333333333 0.008333333333333333)))
    (local.set $ph (f64x2.add (f64x2.mul (local.get $ph) (local.get $rh)) (v128.const f64x2 0.008333333333333333 0.008333333333333333)))
    (local.set $pl (f64x2.add (f64x2.mul (local.get $pl) (local.get $rl)) (v128.const f64x2 0.041666666666666664 0.041666666666666664)))
    (local.set $ph (f64x2.add (f64x2.mul (local.get $ph) (local.get $rh)) (v128.const f64x2 0.041666666666666664 0.041666666666666664)))
    (local.set $pl (f64x2.add (f64x2.mul (local.get $pl) (local.get $rl)) (v128.const f64x2 0.16666666666666666 0.16666666666666666)))
    (local.set $ph (f64x2.add (f64x2.mul (local.get $ph) (local.get $rh)) (v128.const f64x2 0.16666666666666666 0.16666666666666666)))
    (local.set $pl (f64x2.add (f64x2.mul (local.get $pl) (local.get $rl)) (v128.const f64x2 0.5 0.5)))
    (local.set $ph (f64x2.add (f64x2.mul (local.get $ph) (local.get $rh)) (v128.const f64x2 0.5 0.5)))
    (local.set $yl (f64x2.add (v128.const f64x2 1 1) (f64x2.add (local.get $rl) (f64x2.mul (f64x2.mul (local.get $rl) (local.get $rl)) (local.get $pl)))))
    (local.set $yh (f64x2.add (v128.const f64x2 1 1) (f64x2.add (local.get $rh) (f64x2.mul (f64x2.mul (local.get $rh) (local.get $rh)) (local.get $ph)))))
    (local.set $il (i64x2.sub (f64x2.add (local.get $kl) (v128.const f64x2 6755399441055744 6755399441055744)) (v128.const f64x2 6755399441055744 6755399441055744)))
    (local.set $ih (i64x2.sub (f64x2.add (local.get $kh) (v128.const f64x2 6755399441055744 6755399441055744)) (v128.const f64x2 6755399441055744 6755399441055744)))
    (local.set $bl (i64x2.gt_s (local.get $il) (v128.const i64x2 1023 1023)))
    (local.set $sl (i64x2.lt_s (local.get $il) (v128.const i64x2 -1022 -1022)))
    (local.set $bh (i64x2.gt_s (local.get $ih) (v128.const i64x2 1023 1023)))
    (local.set $sh (i64x2.lt_s (local.get $ih) (v128.const i64x2 -1022 -1022)))
    (local.set $yl (f64x2.mul (local.get $yl) (v128.bitselect (v128.const f64x2 0x1p1023 0x1p1023)
                      (v128.bitselect (v128.const f64x2 0x1p-969 0x1p-969) (v128.const f64x2 1 1) (local.get $sl)) (local.get $bl))))
    (local.set $il (i64x2.add (i64x2.sub (local.get $il) (v128.and (local.get $bl) (v128.const i64x2 1023 1023)))
                               (v128.and (local.get $sl) (v128.const i64x2 969 969))))
    (local.set $yl (f64x2.mul (local.get $yl) (i64x2.shl (i64x2.add (local.get $il) (v128.const i64x2 1023 1023)) (i32.const 52))))
    (local.set $yl (v128.bitselect (v128.const f64x2 inf inf) (local.get $yl) (f64x2.gt (local.get $xl) (v128.const f64x2 710 710))))
    (local.set $yl (v128.andnot (local.get $yl) (f64x2.lt (local.get $xl) (v128.const f64x2 -746 -746))))
    (local.set $yh (f64x2.mul (local.get $yh) (v128.bitselect (v128.const f64x2 0x1p1023 0x1p1023)
                      (v128.bitselect (v128.const f64x2 0x1p-969 0x1p-969) (v128.const f64x2 1 1) (local.get $sh)) (local.get $bh))))
    (local.set $ih (i64x2.add (i64x2.sub (local.get $ih) (v128.and (local.get $bh) (v128.const i64x2 1023 1023)))
                               (v128.and (local.get $sh) (v128.const i64x2 969 969))))
    (local.set $yh (f64x2.mul (local.get $yh) (i64x2.shl (i64x2.add (local.get $ih) (v128.const i64x2 1023 1023)) (i32.const 52))))
    (local.set $yh (v128.bitselect (v128.const f64x2 inf inf) (local.get $yh) (f64x2.gt (local.get $xh) (v128.const f64x2 710 710))))
    (local.set $yh (v128.andnot (local.get $yh) (f64x2.lt (local.get $xh) (v128.const f64x2 -746 -746))))
    (v128.store (i32.const 992) (local.get $yh))
    (local.get $yl))

  ;; expf on four lanes: f32(exp64(x)), NaN lanes x | 0x00400000.
  (func $expf4 (param $x v128) (result v128)
    (local $yl v128)
    (local.set $yl (call $exp64pair (f64x2.promote_low_f32x4 (local.get $x))
                                    (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $x) (local.get $x)))))
    (v128.bitselect
      (v128.or (local.get $x) (v128.const i32x4 0x00400000 0x00400000 0x00400000 0x00400000))
      (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (f32x4.demote_f64x2_zero (local.get $yl)) (f32x4.demote_f64x2_zero (v128.load (i32.const 992))))
      (f32x4.ne (local.get $x) (local.get $x))))

  ;; exp_f32(x, y, n): y[i] = f32(exp64(x[i]))   (unary.ts Exp)
  (func (export "exp_f32") (param $x i32) (param $y i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $x) (i32.shl (i32.and (i32.add (local.get $n) (i32.const 3)) (i32.const -4)) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
        (v128.store (local.get $y) (call $expf4 (v128.load (local.get $x))))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (local.set $y (i32.add (local.get $y) (i32.const 16)))
        (br $next))))

  ;; ---------------------------------------------------------------------------
  ;; sigmoid64 (../math/activation.ts): x >= 0: 1 / (1 + exp64(-x)); else e = exp64(x),
  ;; e / (1 + e). Both use e = exp64(-|x|) (for x = -0 the reference takes exp64(+0) and
  ;; this exp64(-0): both are exactly 1). Per half: d = 1 + e, x >= 0 ? 1/d : e/d.
  (func $sigmoid2 (param $x v128) (param $e v128) (result v128)
    (local $d v128)
    (local.set $d (f64x2.add (v128.const f64x2 1 1) (local.get $e)))
    (v128.bitselect (f64x2.div (v128.const f64x2 1 1) (local.get $d))
                    (f64x2.div (local.get $e) (local.get $d))
                    (f64x2.ge (local.get $x) (v128.const f64x2 0 0))))

  ;; sigmoid_f32(x, y, n): y[i] = f32(sigmoid64(x[i]))   (unary.ts Sigmoid)
  (func (export "sigmoid_f32") (param $x i32) (param $y i32) (param $n i32)
    (local $end i32) (local $v v128) (local $xl v128) (local $xh v128) (local $el v128)
    (local.set $end (i32.add (local.get $x) (i32.shl (i32.and (i32.add (local.get $n) (i32.const 3)) (i32.const -4)) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
        (local.set $v (v128.load (local.get $x)))
        (local.set $xl (f64x2.promote_low_f32x4 (local.get $v)))
        (local.set $xh (f64x2.promote_low_f32x4 (call $hi2lo (local.get $v))))
        (local.set $el (call $exp64pair (f64x2.neg (f64x2.abs (local.get $xl))) (f64x2.neg (f64x2.abs (local.get $xh)))))
        (v128.store (local.get $y)
          (call $nanfix (local.get $v)
            (call $join
              (f32x4.demote_f64x2_zero (call $sigmoid2 (local.get $xl) (local.get $el)))
              (f32x4.demote_f64x2_zero (call $sigmoid2 (local.get $xh) (v128.load (i32.const 992)))))))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (local.set $y (i32.add (local.get $y) (i32.const 16)))
        (br $next))))

  ;; ---------------------------------------------------------------------------
  ;; tanh64 on two lanes (../math/hyperbolic.ts), a = |x|:
  ;;   a < 2^-28: x;  a > 22: 1;  else t = expm1_64(2*a), t / (t + 2);  then x < 0 ? -r : r.
  ;; expm1_64(y) for 2^-27 <= y <= 44 (exp.ts; its NaN / > 710 / < -40 / 0 cases cannot occur):
  ;;   y <= HALF_LN2: expm1Kernel(y). Else k = floor(y*INV_LN2 + 0.5), hi = y - k*LN2_HI,
  ;;   lo = k*LN2_LO, r = hi - lo, c = (hi - r) - lo, em = expm1Kernel(r), em = em + c*(1 + em);
  ;;   k > 52: scalbn(1 + em, k) - 1 = (1 + em)*2^k - 1 (k <= 64: no pre-scaling);
  ;;   else t = 2^k, t*em + (t - 1).
  ;; One expm1Kernel per lane: its argument is y or r as the lane's branch needs.
  (func $tanh64 (param $x v128) (result v128)
    (local $a v128) (local $y v128) (local $k v128) (local $hi v128) (local $lo v128) (local $r v128) (local $c v128)
    (local $small v128) (local $em v128) (local $em2 v128) (local $ki v128) (local $t v128) (local $res v128)
    (local.set $a (f64x2.abs (local.get $x)))
    (local.set $y (f64x2.mul (v128.const f64x2 2 2) (local.get $a)))
    (local.set $k (f64x2.floor (f64x2.add (f64x2.mul (local.get $y) (v128.const f64x2 1.4426950408889634 1.4426950408889634))
                                          (v128.const f64x2 0.5 0.5))))
    (local.set $hi (f64x2.sub (local.get $y) (f64x2.mul (local.get $k) (v128.const f64x2 0.6931471806019545 0.6931471806019545))))
    (local.set $lo (f64x2.mul (local.get $k) (v128.const f64x2 -4.2009150726810846e-11 -4.2009150726810846e-11)))
    (local.set $r (f64x2.sub (local.get $hi) (local.get $lo)))
    (local.set $c (f64x2.sub (f64x2.sub (local.get $hi) (local.get $r)) (local.get $lo)))
    (local.set $small (f64x2.le (local.get $y) (v128.const f64x2 0.34657359027997264 0.34657359027997264)))
    (local.set $em (call $expm1k (v128.bitselect (local.get $y) (local.get $r) (local.get $small))))
    (local.set $em2 (f64x2.add (local.get $em) (f64x2.mul (local.get $c) (f64x2.add (v128.const f64x2 1 1) (local.get $em)))))
    ;; t = 2^k as bits (k in [0, 64] on the lanes that use it)
    (local.set $ki (i64x2.sub (f64x2.add (local.get $k) (v128.const f64x2 6755399441055744 6755399441055744))
                              (v128.const f64x2 6755399441055744 6755399441055744)))
    (local.set $t (i64x2.shl (i64x2.add (local.get $ki) (v128.const i64x2 1023 1023)) (i32.const 52)))
    (local.set $t (v128.bitselect
      (local.get $em)
      (v128.bitselect
        (f64x2.sub (f64x2.mul (f64x2.add (v128.const f64x2 1 1) (local.get $em2)) (local.get $t)) (v128.const f64x2 1 1))
        (f64x2.add (f64x2.mul (local.get $t) (local.get $em2)) (f64x2.sub (local.get $t) (v128.const f64x2 1 1)))
        (i64x2.gt_s (local.get $ki) (v128.const i64x2 52 52)))
      (local.get $small)))
    (local.set $res (f64x2.div (local.get $t) (f64x2.add (local.get $t) (v128.const f64x2 2 2))))
    (local.set $res (v128.bitselect (v128.const f64x2 1 1) (local.get $res) (f64x2.gt (local.get $a) (v128.const f64x2 22 22))))
    (local.set $res (v128.bitselect (f64x2.neg (local.get $res)) (local.get $res) (f64x2.lt (local.get $x) (v128.const f64x2 0 0))))
    (v128.bitselect (local.get $x) (local.get $res) (f64x2.lt (local.get $a) (v128.const f64x2 0x1p-28 0x1p-28))))

  ;; tanh_f32(x, y, n): y[i] = f32(tanh64(x[i]))   (unary.ts Tanh)
  (func (export "tanh_f32") (param $x i32) (param $y i32) (param $n i32)
    (local $end i32) (local $v v128)
    (local.set $end (i32.add (local.get $x) (i32.shl (i32.and (i32.add (local.get $n) (i32.const 3)) (i32.const -4)) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
        (local.set $v (v128.load (local.get $x)))
        (v128.store (local.get $y)
          (call $nanfix (local.get $v)
            (call $join
              (f32x4.demote_f64x2_zero (call $tanh64 (f64x2.promote_low_f32x4 (local.get $v))))
              (f32x4.demote_f64x2_zero (call $tanh64 (f64x2.promote_low_f32x4 (call $hi2lo (local.get $v))))))))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (local.set $y (i32.add (local.get $y) (i32.const 16)))
        (br $next))))

  ;; ---------------------------------------------------------------------------
  ;; erf64 on two lanes (../math/erf.ts). a = |x|, branch b = [a>=1] + [a>=2] + [a>=3] +
  ;; [a>=4] + [a>=6] (NaN: 0):
  ;;   b = 0: x * P0(x*x);  b = 1..4: r = 1 - Pb(a - c_b), c = 1.5, 2.5, 3.5, 5;  b = 5: r = 1;
  ;;   then x < 0 ? -r : r.
  ;; The polynomials live in the table (see $init): entry b at byte 160*b holds c_b, then
  ;; 18 coefficients, highest degree first, padded in front with zeros to 18. When both
  ;; lanes take the same branch the loop runs over that branch's own coefficients (the
  ;; reference Horner exactly); when they differ, over all 18 with per-lane coefficients:
  ;; a leading zero coefficient leaves p = +0 until the first real one, where
  ;; p = (+-0)*t + c = c exactly (t is finite in every branch but 5, whose value is
  ;; replaced), so the result is again the reference Horner's.
  (func $erf64 (param $x v128) (result v128)
    (local $a v128) (local $b v128) (local $t v128) (local $p v128) (local $r v128)
    (local $p0 i32) (local $p1 i32) (local $end i32)
    (local.set $a (f64x2.abs (local.get $x)))
    (local.set $b (i64x2.neg (i64x2.add (i64x2.add (i64x2.add (f64x2.ge (local.get $a) (v128.const f64x2 1 1))
                                                            (f64x2.ge (local.get $a) (v128.const f64x2 2 2)))
                                                  (i64x2.add (f64x2.ge (local.get $a) (v128.const f64x2 3 3))
                                                             (f64x2.ge (local.get $a) (v128.const f64x2 4 4))))
                                        (f64x2.ge (local.get $a) (v128.const f64x2 6 6)))))
    (local.set $p0 (i32.mul (i32.wrap_i64 (i64x2.extract_lane 0 (local.get $b))) (i32.const 160)))
    (local.set $p1 (i32.mul (i32.wrap_i64 (i64x2.extract_lane 1 (local.get $b))) (i32.const 160)))
    ;; t = x*x (b = 0) or a - c_b
    (local.set $t (v128.bitselect
      (f64x2.mul (local.get $x) (local.get $x))
      (f64x2.sub (local.get $a) (v128.load64_lane 1 (local.get $p1) (v128.load64_splat (local.get $p0))))
      (i64x2.eq (local.get $b) (v128.const i64x2 0 0))))
    (if (i32.eq (local.get $p0) (local.get $p1))
      (then
        ;; one branch for both lanes: its coefficients only (P0 has 13, P3 16, the others 18)
        (local.set $p0 (i32.add (local.get $p0) (select (i32.const 48) (select (i32.const 24) (i32.const 8) (i32.eq (local.get $p0) (i32.const 480)))
                                                        (i32.eqz (local.get $p0)))))
        (local.set $end (i32.add (local.get $p0) (select (i32.const 96) (select (i32.const 120) (i32.const 136) (i32.eq (local.get $p1) (i32.const 480)))
                                                          (i32.eqz (local.get $p1)))))
        (local.set $p (v128.load64_splat (local.get $p0)))
        (block $done
          (loop $next
            (local.set $p0 (i32.add (local.get $p0) (i32.const 8)))
            (br_if $done (i32.gt_u (local.get $p0) (local.get $end)))
            (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $t)) (v128.load64_splat (local.get $p0))))
            (br $next))))
      (else
        ;; mixed branches: 18 padded coefficients, per lane
        (local.set $end (i32.add (local.get $p0) (i32.const 144)))
        (local.set $p0 (i32.add (local.get $p0) (i32.const 8)))
        (local.set $p1 (i32.add (local.get $p1) (i32.const 8)))
        (local.set $p (v128.load64_lane 1 (local.get $p1) (v128.load64_splat (local.get $p0))))
        (block $done
          (loop $next
            (local.set $p0 (i32.add (local.get $p0) (i32.const 8)))
            (local.set $p1 (i32.add (local.get $p1) (i32.const 8)))
            (br_if $done (i32.gt_u (local.get $p0) (local.get $end)))
            (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $t))
                                     (v128.load64_lane 1 (local.get $p1) (v128.load64_splat (local.get $p0)))))
            (br $next)))))
    ;; r = 1 - p, 1 for b = 5; sign of x; b = 0: x * p
    (local.set $r (v128.bitselect (v128.const f64x2 1 1)
                                  (f64x2.sub (v128.const f64x2 1 1) (local.get $p))
                                  (i64x2.eq (local.get $b) (v128.const i64x2 5 5))))
    (local.set $r (v128.bitselect (f64x2.neg (local.get $r)) (local.get $r) (f64x2.lt (local.get $x) (v128.const f64x2 0 0))))
    (v128.bitselect (f64x2.mul (local.get $x) (local.get $p)) (local.get $r) (i64x2.eq (local.get $b) (v128.const i64x2 0 0))))

  ;; erf_f32(x, y, n): y[i] = f32(erf64(x[i]))   (unary.ts Erf)
  ;; Four lanes that all have |x| < 1 (the common case in Gelu) take branch 0 inline: both
  ;; halves' Horner chains side by side with the ERF_SMALL constants, y = x * P0(x*x).
  (func (export "erf_f32") (param $x i32) (param $y i32) (param $n i32)
    (local $end i32) (local $v v128) (local $lo v128) (local $hi v128) (local $tl v128) (local $th v128) (local $pl v128) (local $ph v128)
    (local.set $end (i32.add (local.get $x) (i32.shl (i32.and (i32.add (local.get $n) (i32.const 3)) (i32.const -4)) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
        (local.set $v (v128.load (local.get $x)))
        (if (i32x4.all_true (f32x4.lt (f32x4.abs (local.get $v)) (v128.const f32x4 1 1 1 1)))
          (then
            (local.set $lo (f64x2.promote_low_f32x4 (local.get $v)))
            (local.set $hi (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $v) (local.get $v))))
            (local.set $tl (f64x2.mul (local.get $lo) (local.get $lo)))
            (local.set $th (f64x2.mul (local.get $hi) (local.get $hi)))
            (local.set $pl (v128.const f64x2 5.957176147748911e-11 5.957176147748911e-11))
            (local.set $ph (local.get $pl))
            (local.set $pl (f64x2.add (f64x2.mul (local.get $pl) (local.get $tl)) (v128.const f64x2 -1.1372848856791674e-9 -1.1372848856791674e-9)))
            (local.set $ph (f64x2.add (f64x2.mul (local.get $ph) (local.get $th)) (v128.const f64x2 -1.1372848856791674e-9 -1.1372848856791674e-9)))
            (local.set $pl (f64x2.add (f64x2.mul (local.get $pl) (local.get $tl)) (v128.const f64x2 1.4659775274047436e-8 1.4659775274047436e-8)))
            (local.set $ph (f64x2.add (f64x2.mul (local.get $ph) (local.get $th)) (v128.const f64x2 1.4659775274047436e-8 1.4659775274047436e-8)))
            (local.set $pl (f64x2.add (f64x2.mul (local.get $pl) (local.get $tl)) (v128.const f64x2 -1.6350312701054695e-7 -1.6350312701054695e-7)))
            (local.set $ph (f64x2.add (f64x2.mul (local.get $ph) (local.get $th)) (v128.const f64x2 -1.6350312701054695e-7 -1.6350312701054695e-7)))
            (local.set $pl (f64x2.add (f64x2.mul (local.get $pl) (local.get $tl)) (v128.const f64x2 1.6461000484121368e-6 1.6461000484121368e-6)))
            (local.set $ph (f64x2.add (f64x2.mul (local.get $ph) (local.get $th)) (v128.const f64x2 1.6461000484121368e-6 1.6461000484121368e-6)))
            (local.set $pl (f64x2.add (f64x2.mul (local.get $pl) (local.get $tl)) (v128.const f64x2 -1.4925595266831182e-5 -1.4925595266831182e-5)))
            (local.set $ph (f64x2.add (f64x2.mul (local.get $ph) (local.get $th)) (v128.const f64x2 -1.4925595266831182e-5 -1.4925595266831182e-5)))
            (local.set $pl (f64x2.add (f64x2.mul (local.get $pl) (local.get $tl)) (v128.const f64x2 0.0001205533111164271 0.0001205533111164271)))
            (local.set $ph (f64x2.add (f64x2.mul (local.get $ph) (local.get $th)) (v128.const f64x2 0.0001205533111164271 0.0001205533111164271)))
            (local.set $pl (f64x2.add (f64x2.mul (local.get $pl) (local.get $tl)) (v128.const f64x2 -0.000854832698083379 -0.000854832698083379)))
            (local.set $ph (f64x2.add (f64x2.mul (local.get $ph) (local.get $th)) (v128.const f64x2 -0.000854832698083379 -0.000854832698083379)))
            (local.set $pl (f64x2.add (f64x2.mul (local.get $pl) (local.get $tl)) (v128.const f64x2 0.0052239776248180145 0.0052239776248180145)))
            (local.set $ph (f64x2.add (f64x2.mul (local.get $ph) (local.get $th)) (v128.const f64x2 0.0052239776248180145 0.0052239776248180145)))
            (local.set $pl (f64x2.add (f64x2.mul (local.get $pl) (local.get $tl)) (v128.const f64x2 -0.026866170645076792 -0.026866170645076792)))
            (local.set $ph (f64x2.add (f64x2.mul (local.get $ph) (local.get $th)) (v128.const f64x2 -0.026866170645076792 -0.026866170645076792)))
            (local.set $pl (f64x2.add (f64x2.mul (local.get $pl) (local.get $tl)) (v128.const f64x2 0.11283791670954879 0.11283791670954879)))
            (local.set $ph (f64x2.add (f64x2.mul (local.get $ph) (local.get $th)) (v128.const f64x2 0.11283791670954879 0.11283791670954879)))
            (local.set $pl (f64x2.add (f64x2.mul (local.get $pl) (local.get $tl)) (v128.const f64x2 -0.3761263890318375 -0.3761263890318375)))
            (local.set $ph (f64x2.add (f64x2.mul (local.get $ph) (local.get $th)) (v128.const f64x2 -0.3761263890318375 -0.3761263890318375)))
            (local.set $pl (f64x2.add (f64x2.mul (local.get $pl) (local.get $tl)) (v128.const f64x2 1.1283791670955126 1.1283791670955126)))
            (local.set $ph (f64x2.add (f64x2.mul (local.get $ph) (local.get $th)) (v128.const f64x2 1.1283791670955126 1.1283791670955126)))
            (v128.store (local.get $y)
              (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
                (f32x4.demote_f64x2_zero (f64x2.mul (local.get $lo) (local.get $pl)))
                (f32x4.demote_f64x2_zero (f64x2.mul (local.get $hi) (local.get $ph))))))
          (else
            (v128.store (local.get $y)
              (call $nanfix (local.get $v)
                (call $join
                  (f32x4.demote_f64x2_zero (call $erf64 (f64x2.promote_low_f32x4 (local.get $v))))
                  (f32x4.demote_f64x2_zero (call $erf64 (f64x2.promote_low_f32x4 (call $hi2lo (local.get $v))))))))))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (local.set $y (i32.add (local.get $y) (i32.const 16)))
        (br $next))))

  ;; ---------------------------------------------------------------------------
  ;; gelu_f32(x, y, n, tanh): y[i] = f32(v * c), v = x[i], c a float64 expression rounded
  ;; once (unary.ts Gelu, the same float64 operations in the same order):
  ;;   tanh = 0 ('none'): c = f32(0.5 * (1 + erf64(v * SQRT1_2)))
  ;;   tanh = 1 ('tanh'): w = SQRT_2_OVER_PI * (v + 0.044715 * ((v * v) * v));
  ;;                      c = f32(0.5 * (1 + tanh64(w)))
  ;; The JS product v * c of two float32 values is exact in float64 and rounded once by the
  ;; store: f32x4.mul. Four lanes whose erf arguments all have |a| < 1 take erf64's branch 0
  ;; inline (a * P0(a*a), the ERF_SMALL Horner of erf_f32); others call $erf64. NaN results (v NaN, or v = -inf where c = 0) carry bits this kernel
  ;; does not promise: the caller recomputes every NaN output with the reference.
  ;; Works four lanes at a time: x and y are readable/writable up to 16*ceil(n/4) bytes.
  (func (export "gelu_f32") (param $x i32) (param $y i32) (param $n i32) (param $tanh i32)
    (local $end i32) (local $v v128) (local $lo v128) (local $hi v128) (local $cl v128) (local $ch v128)
    (local $al v128) (local $ah v128) (local $tl v128) (local $th v128) (local $pl v128) (local $ph v128)
    (local.set $end (i32.add (local.get $x) (i32.shl (i32.and (i32.add (local.get $n) (i32.const 3)) (i32.const -4)) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
        (local.set $v (v128.load (local.get $x)))
        (local.set $lo (f64x2.promote_low_f32x4 (local.get $v)))
        (local.set $hi (f64x2.promote_low_f32x4 (call $hi2lo (local.get $v))))
        (if (local.get $tanh)
          (then
            (local.set $cl (call $tanh64 (f64x2.mul (v128.const f64x2 0.7978845608028654 0.7978845608028654)
              (f64x2.add (local.get $lo) (f64x2.mul (v128.const f64x2 0.044715 0.044715)
                (f64x2.mul (f64x2.mul (local.get $lo) (local.get $lo)) (local.get $lo)))))))
            (local.set $ch (call $tanh64 (f64x2.mul (v128.const f64x2 0.7978845608028654 0.7978845608028654)
              (f64x2.add (local.get $hi) (f64x2.mul (v128.const f64x2 0.044715 0.044715)
                (f64x2.mul (f64x2.mul (local.get $hi) (local.get $hi)) (local.get $hi))))))))
          (else
            (local.set $al (f64x2.mul (local.get $lo) (v128.const f64x2 0.7071067811865476 0.7071067811865476)))
            (local.set $ah (f64x2.mul (local.get $hi) (v128.const f64x2 0.7071067811865476 0.7071067811865476)))
            (if (i32.and (i64x2.all_true (f64x2.lt (f64x2.abs (local.get $al)) (v128.const f64x2 1 1)))
                         (i64x2.all_true (f64x2.lt (f64x2.abs (local.get $ah)) (v128.const f64x2 1 1))))
              (then
                ;; every lane in erf64's branch 0 (|a| < 1): a * P0(a*a) inline, as erf_f32
                (local.set $tl (f64x2.mul (local.get $al) (local.get $al)))
                (local.set $th (f64x2.mul (local.get $ah) (local.get $ah)))
                (local.set $pl (v128.const f64x2 5.957176147748911e-11 5.957176147748911e-11))
                (local.set $ph (local.get $pl))
                (local.set $pl (f64x2.add (f64x2.mul (local.get $pl) (local.get $tl)) (v128.const f64x2 -1.1372848856791674e-9 -1.1372848856791674e-9)))
                (local.set $ph (f64x2.add (f64x2.mul (local.get $ph) (local.get $th)) (v128.const f64x2 -1.1372848856791674e-9 -1.1372848856791674e-9)))
                (local.set $pl (f64x2.add (f64x2.mul (local.get $pl) (local.get $tl)) (v128.const f64x2 1.4659775274047436e-8 1.4659775274047436e-8)))
                (local.set $ph (f64x2.add (f64x2.mul (local.get $ph) (local.get $th)) (v128.const f64x2 1.4659775274047436e-8 1.4659775274047436e-8)))
                (local.set $pl (f64x2.add (f64x2.mul (local.get $pl) (local.get $tl)) (v128.const f64x2 -1.6350312701054695e-7 -1.6350312701054695e-7)))
                (local.set $ph (f64x2.add (f64x2.mul (local.get $ph) (local.get $th)) (v128.const f64x2 -1.6350312701054695e-7 -1.6350312701054695e-7)))
                (local.set $pl (f64x2.add (f64x2.mul (local.get $pl) (local.get $tl)) (v128.const f64x2 1.6461000484121368e-6 1.6461000484121368e-6)))
                (local.set $ph (f64x2.add (f64x2.mul (local.get $ph) (local.get $th)) (v128.const f64x2 1.6461000484121368e-6 1.6461000484121368e-6)))
                (local.set $pl (f64x2.add (f64x2.mul (local.get $pl) (local.get $tl)) (v128.const f64x2 -1.4925595266831182e-5 -1.4925595266831182e-5)))
                (local.set $ph (f64x2.add (f64x2.mul (local.get $ph) (local.get $th)) (v128.const f64x2 -1.4925595266831182e-5 -1.4925595266831182e-5)))
                (local.set $pl (f64x2.add (f64x2.mul (local.get $pl) (local.get $tl)) (v128.const f64x2 0.0001205533111164271 0.0001205533111164271)))
                (local.set $ph (f64x2.add (f64x2.mul (local.get $ph) (local.get $th)) (v128.const f64x2 0.0001205533111164271 0.0001205533111164271)))
                (local.set $pl (f64x2.add (f64x2.mul (local.get $pl) (local.get $tl)) (v128.const f64x2 -0.000854832698083379 -0.000854832698083379)))
                (local.set $ph (f64x2.add (f64x2.mul (local.get $ph) (local.get $th)) (v128.const f64x2 -0.000854832698083379 -0.000854832698083379)))
                (local.set $pl (f64x2.add (f64x2.mul (local.get $pl) (local.get $tl)) (v128.const f64x2 0.0052239776248180145 0.0052239776248180145)))
                (local.set $ph (f64x2.add (f64x2.mul (local.get $ph) (local.get $th)) (v128.const f64x2 0.0052239776248180145 0.0052239776248180145)))
                (local.set $pl (f64x2.add (f64x2.mul (local.get $pl) (local.get $tl)) (v128.const f64x2 -0.026866170645076792 -0.026866170645076792)))
                (local.set $ph (f64x2.add (f64x2.mul (local.get $ph) (local.get $th)) (v128.const f64x2 -0.026866170645076792 -0.026866170645076792)))
                (local.set $pl (f64x2.add (f64x2.mul (local.get $pl) (local.get $tl)) (v128.const f64x2 0.11283791670954879 0.11283791670954879)))
                (local.set $ph (f64x2.add (f64x2.mul (local.get $ph) (local.get $th)) (v128.const f64x2 0.11283791670954879 0.11283791670954879)))
                (local.set $pl (f64x2.add (f64x2.mul (local.get $pl) (local.get $tl)) (v128.const f64x2 -0.3761263890318375 -0.3761263890318375)))
                (local.set $ph (f64x2.add (f64x2.mul (local.get $ph) (local.get $th)) (v128.const f64x2 -0.3761263890318375 -0.3761263890318375)))
                (local.set $pl (f64x2.add (f64x2.mul (local.get $pl) (local.get $tl)) (v128.const f64x2 1.1283791670955126 1.1283791670955126)))
                (local.set $ph (f64x2.add (f64x2.mul (local.get $ph) (local.get $th)) (v128.const f64x2 1.1283791670955126 1.1283791670955126)))
                (local.set $cl (f64x2.mul (local.get $al) (local.get $pl)))
                (local.set $ch (f64x2.mul (local.get $ah) (local.get $ph))))
              (else
                (local.set $cl (call $erf64 (local.get $al)))
                (local.set $ch (call $erf64 (local.get $ah)))))))
        (v128.store (local.get $y)
          (f32x4.mul (local.get $v)
            (call $join
              (f32x4.demote_f64x2_zero (f64x2.mul (v128.const f64x2 0.5 0.5) (f64x2.add (v128.const f64x2 1 1) (local.get $cl))))
              (f32x4.demote_f64x2_zero (f64x2.mul (v128.const f64x2 0.5 0.5) (f64x2.add (v128.const f64x2 1 1) (local.get $ch)))))))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (local.set $y (i32.add (local.get $y) (i32.const 16)))
        (br $next))))

  ;; ---------------------------------------------------------------------------
  ;; Softmax rows (reduce.ts softmaxF32 with inner = 1), for rows r < rows of N values at
  ;; x + 4*N*r, output at y + 4*N*r, per-row results at st + 8*r: [m, s].
  ;;   m = max over the row: lanes keep their own running max (v > m), then lanes and the
  ;;     tail combine with v > m. For rows without NaN whose max is not 0 this is the
  ;;     reference value (the maximum, and equal values have equal bits); for a max of
  ;;     +-0 (whose sign the reference takes from the first zero) m is recomputed by the
  ;;     reference loop in index order. Any NaN makes m NaN.
  ;;   If m is not finite (NaN, +-Inf) the row is left to the caller (the TypeScript
  ;;     reference recomputes it); only m is meaningful then.
  ;;   d_i = f32(x_i - m), e_i = f32(exp64(d_i)); y_i = e_i (log = 0) or d_i (log = 1),
  ;;   e_i also stored at tmp + 4*i when log = 1;
  ;;   s = 0; s = f32(s + e_i) for i = 0..N-1 in order (scalar f32.add);
  ;;   log = 0: y_i = f32(e_i / s). log = 1: the caller computes l = logf(s) and calls
  ;;   rows_sub_f32 for y_i = f32(d_i - l).
  ;; Vectors may read up to 12 bytes past a row and write up to 12 bytes past it (into the
  ;; next row, which is rewritten after, or spare bytes after y / tmp); the final division
  ;; writes exactly N values.
  (func (export "softmax_rows_f32") (param $x i32) (param $y i32) (param $st i32) (param $tmp i32)
        (param $rows i32) (param $N i32) (param $log i32)
    (local $i i32) (local $n4 i32) (local $xe i32) (local $m f32) (local $s f32) (local $v f32)
    (local $mv v128) (local $nan v128) (local $vv v128) (local $d v128) (local $e v128)
    (local.set $n4 (i32.shl (i32.and (local.get $N) (i32.const -4)) (i32.const 2)))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.eqz (local.get $rows)))
        ;; --- max
        (local.set $mv (v128.const f32x4 -inf -inf -inf -inf))
        (local.set $nan (v128.const i32x4 0 0 0 0))
        (local.set $i (i32.const 0))
        (block $d1 (loop $l1
          (br_if $d1 (i32.ge_u (local.get $i) (local.get $n4)))
          (local.set $vv (v128.load (i32.add (local.get $x) (local.get $i))))
          (local.set $mv (v128.bitselect (local.get $vv) (local.get $mv) (f32x4.gt (local.get $vv) (local.get $mv))))
          (local.set $nan (v128.or (local.get $nan) (f32x4.ne (local.get $vv) (local.get $vv))))
          (local.set $i (i32.add (local.get $i) (i32.const 16)))
          (br $l1)))
        (local.set $m (f32x4.extract_lane 0 (local.get $mv)))
        (if (f32.gt (f32x4.extract_lane 1 (local.get $mv)) (local.get $m)) (then (local.set $m (f32x4.extract_lane 1 (local.get $mv)))))
        (if (f32.gt (f32x4.extract_lane 2 (local.get $mv)) (local.get $m)) (then (local.set $m (f32x4.extract_lane 2 (local.get $mv)))))
        (if (f32.gt (f32x4.extract_lane 3 (local.get $mv)) (local.get $m)) (then (local.set $m (f32x4.extract_lane 3 (local.get $mv)))))
        (local.set $xe (i32.add (local.get $x) (i32.shl (local.get $N) (i32.const 2))))
        (local.set $i (i32.add (local.get $x) (local.get $n4)))
        (block $d2 (loop $l2
          (br_if $d2 (i32.ge_u (local.get $i) (local.get $xe)))
          (local.set $v (f32.load (local.get $i)))
          (if (i32.or (f32.gt (local.get $v) (local.get $m)) (f32.ne (local.get $v) (local.get $v))) (then (local.set $m (local.get $v))))
          (local.set $i (i32.add (local.get $i) (i32.const 4)))
          (br $l2)))
        (if (v128.any_true (local.get $nan)) (then (local.set $m (f32.const nan))))
        (if (f32.eq (local.get $m) (f32.const 0))
          (then
            ;; a zero max: the reference loop, for the sign of the first zero
            (local.set $m (f32.const -inf))
            (local.set $i (local.get $x))
            (block $d3 (loop $l3
              (br_if $d3 (i32.ge_u (local.get $i) (local.get $xe)))
              (local.set $v (f32.load (local.get $i)))
              (if (f32.gt (local.get $v) (local.get $m)) (then (local.set $m (local.get $v))))
              (local.set $i (i32.add (local.get $i) (i32.const 4)))
              (br $l3)))))
        (f32.store (local.get $st) (local.get $m))
        ;; --- d, e and the sum (only rows with a finite max)
        (if (f32.lt (f32.abs (local.get $m)) (f32.const inf))
          (then
            (local.set $mv (f32x4.splat (local.get $m)))
            (local.set $i (i32.const 0))
            (block $d4 (loop $l4
              (br_if $d4 (i32.ge_u (local.get $i) (i32.shl (local.get $N) (i32.const 2))))
              (local.set $d (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $i))) (local.get $mv)))
              (local.set $e (call $expf4 (local.get $d)))
              (if (local.get $log)
                (then
                  (v128.store (i32.add (local.get $y) (local.get $i)) (local.get $d))
                  (v128.store (i32.add (local.get $tmp) (local.get $i)) (local.get $e)))
                (else
                  (v128.store (i32.add (local.get $y) (local.get $i)) (local.get $e))))
              (local.set $i (i32.add (local.get $i) (i32.const 16)))
              (br $l4)))
            ;; s in index order
            (local.set $s (f32.const 0))
            (local.set $i (select (local.get $tmp) (local.get $y) (local.get $log)))
            (local.set $xe (i32.add (local.get $i) (i32.shl (local.get $N) (i32.const 2))))
            (block $d5 (loop $l5
              (br_if $d5 (i32.ge_u (local.get $i) (local.get $xe)))
              (local.set $s (f32.add (local.get $s) (f32.load (local.get $i))))
              (local.set $i (i32.add (local.get $i) (i32.const 4)))
              (br $l5)))
            (f32.store offset=4 (local.get $st) (local.get $s))
            (if (i32.eqz (local.get $log))
              (then (call $rowop (local.get $y) (local.get $N) (local.get $s) (i32.const 0))))))
        (local.set $x (i32.add (local.get $x) (i32.shl (local.get $N) (i32.const 2))))
        (local.set $y (i32.add (local.get $y) (i32.shl (local.get $N) (i32.const 2))))
        (local.set $st (i32.add (local.get $st) (i32.const 8)))
        (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
        (br $rows))))

  ;; y_i = f32(y_i / c) (sub = 0) or f32(y_i - c) (sub = 1) for i < N, exactly N values.
  (func $rowop (param $y i32) (param $N i32) (param $c f32) (param $sub i32)
    (local $e4 i32) (local $end i32) (local $cv v128)
    (local.set $cv (f32x4.splat (local.get $c)))
    (local.set $e4 (i32.add (local.get $y) (i32.shl (i32.and (local.get $N) (i32.const -4)) (i32.const 2))))
    (local.set $end (i32.add (local.get $y) (i32.shl (local.get $N) (i32.const 2))))
    (block $d (loop $l
      (br_if $d (i32.ge_u (local.get $y) (local.get $e4)))
      (v128.store (local.get $y)
        (if (result v128) (local.get $sub)
          (then (f32x4.sub (v128.load (local.get $y)) (local.get $cv)))
          (else (f32x4.div (v128.load (local.get $y)) (local.get $cv)))))
      (local.set $y (i32.add (local.get $y) (i32.const 16)))
      (br $l)))
    (block $d2 (loop $l2
      (br_if $d2 (i32.ge_u (local.get $y) (local.get $end)))
      (f32.store (local.get $y)
        (if (result f32) (local.get $sub)
          (then (f32.sub (f32.load (local.get $y)) (local.get $c)))
          (else (f32.div (f32.load (local.get $y)) (local.get $c)))))
      (local.set $y (i32.add (local.get $y) (i32.const 4)))
      (br $l2))))

  ;; rows_sub_f32(y, c, rows, N): y[r*N + i] = f32(y[r*N + i] - c[r]) for rows whose c[r]
  ;; (float32 at c + 4*r) is used; the caller passes l = logf(s) per row (LogSoftmax).
  (func (export "rows_sub_f32") (param $y i32) (param $c i32) (param $rows i32) (param $N i32)
    (block $d (loop $l
      (br_if $d (i32.eqz (local.get $rows)))
      (call $rowop (local.get $y) (local.get $N) (f32.load (local.get $c)) (i32.const 1))
      (local.set $y (i32.add (local.get $y) (i32.shl (local.get $N) (i32.const 2))))
      (local.set $c (i32.add (local.get $c) (i32.const 4)))
      (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
      (br $l))))

  ;; ---------------------------------------------------------------------------
  ;; Softmax columns (reduce.ts softmaxF32 with inner >= 4): slices o < outer of N rows of
  ;; `inner` values at x + 4*o*N*inner; column c of slice o is one softmax over
  ;; x[o, 0, c], ..., x[o, N-1, c]. Lanes = 4 adjacent columns, each lane its own column,
  ;; every step in the reference's order (rows r = 0..N-1):
  ;;   m = -inf; if (v > m || v != v) m = v      (bitselect: the reference's value and bits)
  ;;   d = f32(x - m); e = f32(exp64(d)); y = e (log = 0) or d (log = 1); s = f32(s + e)
  ;;   log = 0: y = f32(e / s). log = 1: the caller computes l = logf(s) and calls
  ;;   cols_sub_f32 for y = f32(d - l).
  ;; m goes to mo + 4*(o*inner + c), s to so + 4*(o*inner + c). A block of 4 columns whose
  ;; m is not finite in some lane (a NaN or an infinity) is skipped after m: the caller
  ;; recomputes that whole slice with the reference (so NaN bits only come from it). With
  ;; a finite m no NaN can appear (x is finite or -inf there, e <= 1, s >= 1).
  ;; Blocks step by 4 columns; the last one is shifted back to end at inner (it recomputes
  ;; up to 3 columns from x: the same values, each y written as e and divided once).
  (func (export "softmax_cols_f32") (param $x i32) (param $y i32) (param $mo i32) (param $so i32)
        (param $outer i32) (param $N i32) (param $inner i32) (param $log i32)
    (local $o i32) (local $c i32) (local $p i32) (local $q i32) (local $end i32) (local $is i32) (local $sl i32) (local $ob i32)
    (local $m v128) (local $s v128) (local $v v128) (local $d v128) (local $e v128)
    (local.set $is (i32.shl (local.get $inner) (i32.const 2)))
    (local.set $sl (i32.mul (local.get $is) (local.get $N)))
    (block $od (loop $ol
      (br_if $od (i32.ge_u (local.get $o) (local.get $outer)))
      (local.set $c (i32.const 0))
      (block $cd (loop $cl
        (br_if $cd (i32.ge_u (local.get $c) (local.get $inner)))
        (if (i32.gt_u (i32.add (local.get $c) (i32.const 4)) (local.get $inner))
          (then (local.set $c (i32.sub (local.get $inner) (i32.const 4)))))
        ;; p walks x down the column block, q the same place in y
        (local.set $ob (i32.add (i32.mul (local.get $o) (local.get $sl)) (i32.shl (local.get $c) (i32.const 2))))
        (local.set $p (i32.add (local.get $x) (local.get $ob)))
        (local.set $end (i32.add (local.get $p) (local.get $sl)))
        (local.set $m (v128.const f32x4 -inf -inf -inf -inf))
        (block $d1 (loop $l1
          (br_if $d1 (i32.ge_u (local.get $p) (local.get $end)))
          (local.set $v (v128.load (local.get $p)))
          (local.set $m (v128.bitselect (local.get $v) (local.get $m)
            (v128.or (f32x4.gt (local.get $v) (local.get $m)) (f32x4.ne (local.get $v) (local.get $v)))))
          (local.set $p (i32.add (local.get $p) (local.get $is)))
          (br $l1)))
        (v128.store (i32.add (local.get $mo) (i32.shl (i32.add (i32.mul (local.get $o) (local.get $inner)) (local.get $c)) (i32.const 2))) (local.get $m))
        (if (i32x4.all_true (f32x4.lt (f32x4.abs (local.get $m)) (v128.const f32x4 inf inf inf inf)))
          (then
            (local.set $p (i32.add (local.get $x) (local.get $ob)))
            (local.set $q (i32.add (local.get $y) (local.get $ob)))
            (local.set $s (v128.const f32x4 0 0 0 0))
            (block $d2 (loop $l2
              (br_if $d2 (i32.ge_u (local.get $p) (local.get $end)))
              (local.set $d (f32x4.sub (v128.load (local.get $p)) (local.get $m)))
              (local.set $e (call $expf4 (local.get $d)))
              (v128.store (local.get $q) (select (local.get $d) (local.get $e) (local.get $log)))
              (local.set $s (f32x4.add (local.get $s) (local.get $e)))
              (local.set $p (i32.add (local.get $p) (local.get $is)))
              (local.set $q (i32.add (local.get $q) (local.get $is)))
              (br $l2)))
            (v128.store (i32.add (local.get $so) (i32.shl (i32.add (i32.mul (local.get $o) (local.get $inner)) (local.get $c)) (i32.const 2))) (local.get $s))
            (if (i32.eqz (local.get $log))
              (then
                (local.set $q (i32.add (local.get $y) (local.get $ob)))
                (local.set $end (i32.add (local.get $q) (local.get $sl)))
                (block $d3 (loop $l3
                  (br_if $d3 (i32.ge_u (local.get $q) (local.get $end)))
                  (v128.store (local.get $q) (f32x4.div (v128.load (local.get $q)) (local.get $s)))
                  (local.set $q (i32.add (local.get $q) (local.get $is)))
                  (br $l3)))))))
        (local.set $c (i32.add (local.get $c) (i32.const 4)))
        (br $cl)))
      (local.set $o (i32.add (local.get $o) (i32.const 1)))
      (br $ol))))

  ;; cols_sub_f32(y, l, outer, N, inner): y[o, r, c] = f32(y[o, r, c] - l[o*inner + c])
  ;; (float32 l at l + 4*(o*inner + c)), each element exactly once: four columns at a time,
  ;; the last inner % 4 one at a time. LogSoftmax's last step (y = d - logf(s)).
  (func (export "cols_sub_f32") (param $y i32) (param $l i32) (param $outer i32) (param $N i32) (param $inner i32)
    (local $o i32) (local $r i32) (local $c i32) (local $lo i32) (local $i4 i32) (local $is i32)
    (local.set $is (i32.shl (local.get $inner) (i32.const 2)))
    (local.set $i4 (i32.shl (i32.and (local.get $inner) (i32.const -4)) (i32.const 2)))
    (block $od (loop $ol
      (br_if $od (i32.ge_u (local.get $o) (local.get $outer)))
      (local.set $lo (i32.add (local.get $l) (i32.mul (local.get $o) (local.get $is))))
      (local.set $r (i32.const 0))
      (block $rd (loop $rl
        (br_if $rd (i32.ge_u (local.get $r) (local.get $N)))
        (local.set $c (i32.const 0))
        (block $cd (loop $cl
          (br_if $cd (i32.ge_u (local.get $c) (local.get $i4)))
          (v128.store (i32.add (local.get $y) (local.get $c))
            (f32x4.sub (v128.load (i32.add (local.get $y) (local.get $c))) (v128.load (i32.add (local.get $lo) (local.get $c)))))
          (local.set $c (i32.add (local.get $c) (i32.const 16)))
          (br $cl)))
        (block $td (loop $tl
          (br_if $td (i32.ge_u (local.get $c) (local.get $is)))
          (f32.store (i32.add (local.get $y) (local.get $c))
            (f32.sub (f32.load (i32.add (local.get $y) (local.get $c))) (f32.load (i32.add (local.get $lo) (local.get $c)))))
          (local.set $c (i32.add (local.get $c) (i32.const 4)))
          (br $tl)))
        (local.set $y (i32.add (local.get $y) (local.get $is)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rl)))
      (local.set $o (i32.add (local.get $o) (i32.const 1)))
      (br $ol))))

  ;; ---------------------------------------------------------------------------
  ;; LayerNormalization rows (normalization.ts standardizeRowsF32 with float32 statistics,
  ;; parameters indexed by j (no broadcasting map), bias optional). Per row of n values:
  ;;   s1 = 0; s1 = f32(s1 + x_j) in order; mean = f32(s1 / n);
  ;;   d_j = f32(x_j - mean); s2 = 0; s2 = f32(s2 + f32(d_j*d_j)) in order;
  ;;   inv = f32(1 / f32(sqrt(f32(f32(s2 / n) + eps))));
  ;;   y_j = f32(f32(d_j * inv) * sc_j), then f32(y_j + bi_j) with a bias.
  ;; Four rows run side by side, one per lane (each lane sums its own row in index order);
  ;; the last group repeats the last row in its unused lanes (same values written twice).
  ;; mean and inv go to mo + 4*r and io + 4*r; fl + 4*r gets 1 when the row's mean or inv
  ;; or any y_j is not finite (the caller recomputes such rows with the reference, so NaN
  ;; bit patterns only ever come from the reference), else 0. n <= 2^24 (n exact in f32).
  (func (export "layernorm_f32") (param $x i32) (param $y i32) (param $rows i32) (param $n i32) (param $eps f32)
        (param $sc i32) (param $bi i32) (param $hasBias i32) (param $mo i32) (param $io i32) (param $fl i32)
    (local $r i32) (local $p0 i32) (local $p1 i32) (local $p2 i32) (local $p3 i32) (local $o i32) (local $nb i32)
    (local $s1 v128) (local $s2 v128) (local $mean v128) (local $inv v128) (local $nv v128) (local $d v128) (local $k i32)
    (local.set $nb (i32.shl (local.get $n) (i32.const 2)))
    (local.set $nv (f32x4.splat (f32.convert_i32_u (local.get $n))))
    (block $done (loop $group
      (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $p0 (i32.add (local.get $x) (i32.mul (local.get $r) (local.get $nb))))
      (local.set $p1 (i32.add (local.get $x) (i32.mul (call $minrow (i32.add (local.get $r) (i32.const 1)) (local.get $rows)) (local.get $nb))))
      (local.set $p2 (i32.add (local.get $x) (i32.mul (call $minrow (i32.add (local.get $r) (i32.const 2)) (local.get $rows)) (local.get $nb))))
      (local.set $p3 (i32.add (local.get $x) (i32.mul (call $minrow (i32.add (local.get $r) (i32.const 3)) (local.get $rows)) (local.get $nb))))
      ;; s1, in index order per lane; the lanes load [p0[o], p1[o], p2[o], p3[o]]
      (local.set $s1 (v128.const f32x4 0 0 0 0))
      (local.set $o (i32.const 0))
      (block $d1 (loop $l1
        (br_if $d1 (i32.ge_u (local.get $o) (local.get $nb)))
        (local.set $s1 (f32x4.add (local.get $s1) (v128.load32_lane 3 (i32.add (local.get $p3) (local.get $o)) (v128.load32_lane 2 (i32.add (local.get $p2) (local.get $o))
          (v128.load32_lane 1 (i32.add (local.get $p1) (local.get $o)) (v128.load32_splat (i32.add (local.get $p0) (local.get $o))))))))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (br $l1)))
      (local.set $mean (f32x4.div (local.get $s1) (local.get $nv)))
      ;; s2
      (local.set $s2 (v128.const f32x4 0 0 0 0))
      (local.set $o (i32.const 0))
      (block $d2 (loop $l2
        (br_if $d2 (i32.ge_u (local.get $o) (local.get $nb)))
        (local.set $d (f32x4.sub (v128.load32_lane 3 (i32.add (local.get $p3) (local.get $o)) (v128.load32_lane 2 (i32.add (local.get $p2) (local.get $o))
          (v128.load32_lane 1 (i32.add (local.get $p1) (local.get $o)) (v128.load32_splat (i32.add (local.get $p0) (local.get $o)))))) (local.get $mean)))
        (local.set $s2 (f32x4.add (local.get $s2) (f32x4.mul (local.get $d) (local.get $d))))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (br $l2)))
      (local.set $inv (f32x4.div (v128.const f32x4 1 1 1 1)
                                 (f32x4.sqrt (f32x4.add (f32x4.div (local.get $s2) (local.get $nv)) (f32x4.splat (local.get $eps))))))
      ;; the rows of the group, one at a time (lane k)
      (local.set $k (i32.const 0))
      (block $d3 (loop $l3
        (br_if $d3 (i32.or (i32.ge_u (local.get $k) (i32.const 4)) (i32.ge_u (i32.add (local.get $r) (local.get $k)) (local.get $rows))))
        (call $lnrow (local.get $r) (local.get $k) (local.get $x) (local.get $y) (local.get $n) (local.get $mean) (local.get $inv)
                     (local.get $sc) (local.get $bi) (local.get $hasBias) (local.get $mo) (local.get $io) (local.get $fl))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $l3)))
      (local.set $r (i32.add (local.get $r) (i32.const 4)))
      (br $group))))

  (func $minrow (param $r i32) (param $rows i32) (result i32)
    (select (local.get $r) (i32.sub (local.get $rows) (i32.const 1)) (i32.lt_u (local.get $r) (local.get $rows))))

  ;; Row r + k of layernorm_f32 with mean and inv from lane k: the output pass, four
  ;; outputs at a time along the row and the last n % 4 one at a time.
  (func $lnrow (param $r i32) (param $k i32) (param $x i32) (param $y i32) (param $n i32) (param $mean4 v128) (param $inv4 v128)
        (param $sc i32) (param $bi i32) (param $hasBias i32) (param $mo i32) (param $io i32) (param $fl i32)
    (local $mean f32) (local $inv f32) (local $row i32) (local $j i32) (local $n4 i32) (local $mv v128) (local $iv v128)
    (local $v v128) (local $ok v128) (local $s f32)
    ;; lane k of mean4 / inv4, via a shuffle-free spill
    (v128.store (i32.const 1008) (local.get $mean4))
    (local.set $mean (f32.load offset=1008 (i32.shl (local.get $k) (i32.const 2))))
    (v128.store (i32.const 1008) (local.get $inv4))
    (local.set $inv (f32.load offset=1008 (i32.shl (local.get $k) (i32.const 2))))
    (local.set $r (i32.add (local.get $r) (local.get $k)))
    (f32.store (i32.add (local.get $mo) (i32.shl (local.get $r) (i32.const 2))) (local.get $mean))
    (f32.store (i32.add (local.get $io) (i32.shl (local.get $r) (i32.const 2))) (local.get $inv))
    (local.set $row (i32.shl (i32.mul (local.get $r) (local.get $n)) (i32.const 2)))
    (local.set $x (i32.add (local.get $x) (local.get $row)))
    (local.set $y (i32.add (local.get $y) (local.get $row)))
    (local.set $mv (f32x4.splat (local.get $mean)))
    (local.set $iv (f32x4.splat (local.get $inv)))
    (local.set $ok (f32x4.lt (f32x4.abs (f32x4.splat (f32.add (local.get $mean) (local.get $inv)))) (v128.const f32x4 inf inf inf inf)))
    (local.set $n4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (block $d (loop $l
      (br_if $d (i32.ge_u (local.get $j) (local.get $n4)))
      (local.set $v (f32x4.mul (f32x4.mul (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $j))) (local.get $mv)) (local.get $iv))
                               (v128.load (i32.add (local.get $sc) (local.get $j)))))
      (if (local.get $hasBias) (then (local.set $v (f32x4.add (local.get $v) (v128.load (i32.add (local.get $bi) (local.get $j)))))))
      (v128.store (i32.add (local.get $y) (local.get $j)) (local.get $v))
      (local.set $ok (v128.and (local.get $ok) (f32x4.lt (f32x4.abs (local.get $v)) (v128.const f32x4 inf inf inf inf))))
      (local.set $j (i32.add (local.get $j) (i32.const 16)))
      (br $l)))
    (local.set $n4 (i32.shl (local.get $n) (i32.const 2)))
    (block $d2 (loop $l2
      (br_if $d2 (i32.ge_u (local.get $j) (local.get $n4)))
      (local.set $s (f32.mul (f32.mul (f32.sub (f32.load (i32.add (local.get $x) (local.get $j))) (local.get $mean)) (local.get $inv))
                             (f32.load (i32.add (local.get $sc) (local.get $j)))))
      (if (local.get $hasBias) (then (local.set $s (f32.add (local.get $s) (f32.load (i32.add (local.get $bi) (local.get $j)))))))
      (f32.store (i32.add (local.get $y) (local.get $j)) (local.get $s))
      (local.set $ok (v128.and (local.get $ok) (f32x4.lt (f32x4.abs (f32x4.splat (local.get $s))) (v128.const f32x4 inf inf inf inf))))
      (local.set $j (i32.add (local.get $j) (i32.const 4)))
      (br $l2)))
    (i32.store (i32.add (local.get $fl) (i32.shl (local.get $r) (i32.const 2))) (i32.eqz (i32x4.all_true (local.get $ok)))))

  ;; ---------------------------------------------------------------------------
  ;; The erf table (see $erf64): entry b at 160*b = [c_b, 18 coefficients]. The values are
  ;; the constants of ../math/erf.ts (ERF_SMALL, ERFC_1_2, ERFC_2_3, ERFC_3_4, ERFC_4_6);
  ;; math.test.ts checks every stored double against them. Entries 0 and 3 are padded
  ;; with leading zeros (the memory starts zeroed), entry 5 is all zeros.
  (func $init
    ;; b = 0: ERF_SMALL (13 coefficients at slots 6..18), c unused
    (f64.store offset=48 (i32.const 0) (f64.const 5.957176147748911e-11))
    (f64.store offset=56 (i32.const 0) (f64.const -1.1372848856791674e-9))
    (f64.store offset=64 (i32.const 0) (f64.const 1.4659775274047436e-8))
    (f64.store offset=72 (i32.const 0) (f64.const -1.6350312701054695e-7))
    (f64.store offset=80 (i32.const 0) (f64.const 1.6461000484121368e-6))
    (f64.store offset=88 (i32.const 0) (f64.const -1.4925595266831182e-5))
    (f64.store offset=96 (i32.const 0) (f64.const 0.0001205533111164271))
    (f64.store offset=104 (i32.const 0) (f64.const -0.000854832698083379))
    (f64.store offset=112 (i32.const 0) (f64.const 0.0052239776248180145))
    (f64.store offset=120 (i32.const 0) (f64.const -0.026866170645076792))
    (f64.store offset=128 (i32.const 0) (f64.const 0.11283791670954879))
    (f64.store offset=136 (i32.const 0) (f64.const -0.3761263890318375))
    (f64.store offset=144 (i32.const 0) (f64.const 1.1283791670955126))
    ;; b = 1: ERFC_1_2, c = 1.5
    (f64.store offset=0 (i32.const 160) (f64.const 1.5))
    (f64.store offset=8 (i32.const 160) (f64.const 2.8346118565278276e-7))
    (f64.store offset=16 (i32.const 160) (f64.const -1.4171216409416466e-6))
    (f64.store offset=24 (i32.const 160) (f64.const -5.712902189436902e-7))
    (f64.store offset=32 (i32.const 160) (f64.const 1.4038638152371658e-5))
    (f64.store offset=40 (i32.const 160) (f64.const -1.7961323135211212e-5))
    (f64.store offset=48 (i32.const 160) (f64.const -7.767647032419676e-5))
    (f64.store offset=56 (i32.const 160) (f64.const 0.00025444927807681647))
    (f64.store offset=64 (i32.const 160) (f64.const 9.291229551299306e-5))
    (f64.store offset=72 (i32.const 160) (f64.const -0.0017098196278538453))
    (f64.store offset=80 (i32.const 160) (f64.const 0.002362677793021706))
    (f64.store offset=88 (i32.const 160) (f64.const 0.004743053204878897))
    (f64.store offset=96 (i32.const 160) (f64.const -0.019326172007209028))
    (f64.store offset=104 (i32.const 160) (f64.const 0.014866286152863747))
    (f64.store offset=112 (i32.const 160) (f64.const 0.04459885845906473))
    (f64.store offset=120 (i32.const 160) (f64.const -0.1387520040942334))
    (f64.store offset=128 (i32.const 160) (f64.const 0.17839543383544215))
    (f64.store offset=136 (i32.const 160) (f64.const -0.11893028922362937))
    (f64.store offset=144 (i32.const 160) (f64.const 0.033894853524689274))
    ;; b = 2: ERFC_2_3, c = 2.5
    (f64.store offset=0 (i32.const 320) (f64.const 2.5))
    (f64.store offset=8 (i32.const 320) (f64.const -2.2545440370103313e-8))
    (f64.store offset=16 (i32.const 320) (f64.const -1.533697992336162e-7))
    (f64.store offset=24 (i32.const 320) (f64.const 6.432920674396747e-7))
    (f64.store offset=32 (i32.const 320) (f64.const -1.9335667519029052e-7))
    (f64.store offset=40 (i32.const 320) (f64.const -4.691450500317399e-6))
    (f64.store offset=48 (i32.const 320) (f64.const 1.4083027495560623e-5))
    (f64.store offset=56 (i32.const 320) (f64.const -5.136930251595918e-6))
    (f64.store offset=64 (i32.const 320) (f64.const -7.880177146743523e-5))
    (f64.store offset=72 (i32.const 320) (f64.const 0.0002502853799157958))
    (f64.store offset=80 (i32.const 320) (f64.const -0.0002606701356729855))
    (f64.store offset=88 (i32.const 320) (f64.const -0.0005424100610182815))
    (f64.store offset=96 (i32.const 320) (f64.const 0.002798490155194711))
    (f64.store offset=104 (i32.const 320) (f64.const -0.006117348213581381))
    (f64.store offset=112 (i32.const 320) (f64.const 0.008622375078524626))
    (f64.store offset=120 (i32.const 320) (f64.const -0.008350089549685316))
    (f64.store offset=128 (i32.const 320) (f64.const 0.005445710575881352))
    (f64.store offset=136 (i32.const 320) (f64.const -0.00217828423035271))
    (f64.store offset=144 (i32.const 320) (f64.const 0.00040695201744495957))
    ;; b = 3: ERFC_3_4 (16 coefficients at slots 3..18), c = 3.5
    (f64.store offset=0 (i32.const 480) (f64.const 3.5))
    (f64.store offset=24 (i32.const 480) (f64.const 1.7871912269089154e-9))
    (f64.store offset=32 (i32.const 480) (f64.const -8.366548002015999e-8))
    (f64.store offset=40 (i32.const 480) (f64.const 3.0325944610695504e-7))
    (f64.store offset=48 (i32.const 480) (f64.const -4.4733746948875793e-7))
    (f64.store offset=56 (i32.const 480) (f64.const -4.4503868634870744e-7))
    (f64.store offset=64 (i32.const 480) (f64.const 4.641776475430502e-6))
    (f64.store offset=72 (i32.const 480) (f64.const -1.533072909976793e-5))
    (f64.store offset=80 (i32.const 480) (f64.const 3.425908618013904e-5))
    (f64.store offset=88 (i32.const 480) (f64.const -5.819275310803286e-5))
    (f64.store offset=96 (i32.const 480) (f64.const 7.774425208189748e-5))
    (f64.store offset=104 (i32.const 480) (f64.const -8.211628216168158e-5))
    (f64.store offset=112 (i32.const 480) (f64.const 6.771781065494815e-5))
    (f64.store offset=120 (i32.const 480) (f64.const -4.2295509757105546e-5))
    (f64.store offset=128 (i32.const 480) (f64.const 1.889799372296821e-5))
    (f64.store offset=136 (i32.const 480) (f64.const -5.399426777382976e-6))
    (f64.store offset=144 (i32.const 480) (f64.const 7.430983723372687e-7))
    ;; b = 4: ERFC_4_6, c = 5
    (f64.store offset=0 (i32.const 640) (f64.const 5))
    (f64.store offset=8 (i32.const 640) (f64.const -5.71007705610724e-12))
    (f64.store offset=16 (i32.const 640) (f64.const 3.005983570075221e-11))
    (f64.store offset=24 (i32.const 640) (f64.const -8.509791716427474e-11))
    (f64.store offset=32 (i32.const 640) (f64.const 1.996335314314108e-10))
    (f64.store offset=40 (i32.const 640) (f64.const -4.2742093575962434e-10))
    (f64.store offset=48 (i32.const 640) (f64.const 7.984136205410669e-10))
    (f64.store offset=56 (i32.const 640) (f64.const -1.2880917091400186e-9))
    (f64.store offset=64 (i32.const 640) (f64.const 1.8180854905115246e-9))
    (f64.store offset=72 (i32.const 640) (f64.const -2.24767559547721e-9))
    (f64.store offset=80 (i32.const 640) (f64.const 2.414556231766593e-9))
    (f64.store offset=88 (i32.const 640) (f64.const -2.2322547005723704e-9))
    (f64.store offset=96 (i32.const 640) (f64.const 1.7542077899777294e-9))
    (f64.store offset=104 (i32.const 640) (f64.const -1.1507490981832716e-9))
    (f64.store offset=112 (i32.const 640) (f64.const 6.13780855874189e-10))
    (f64.store offset=120 (i32.const 640) (f64.const -2.559580469573351e-10))
    (f64.store offset=128 (i32.const 640) (f64.const 7.835414488800324e-11))
    (f64.store offset=136 (i32.const 640) (f64.const -1.5670863069121574e-11))
    (f64.store offset=144 (i32.const 640) (f64.const 1.5374609423981447e-12))))
