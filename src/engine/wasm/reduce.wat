;; reduce.wat: float32 reductions (ReduceSum/Mean/SumSquare/L1/L2/Prod/Max/Min and the max
;; pass of ReduceLogSumExp) in WebAssembly SIMD (128-bit SIMD only: no relaxed-simd, no
;; FMA, no threads). Assembled by scripts/build-wasm.mjs into reduce.wasm.ts; wrapper
;; reduction.ts; tested bit for bit against reduce.ts in reduction.test.ts.
;;
;; Layout: the input is [O, R, C] (row-major) and the R axis is reduced: output (o, c)
;; reduces x[o, 0, c], x[o, 1, c], ..., x[o, R-1, c], in that order (increasing flat
;; index: the canonical order of reduce.ts), starting from the identity, one IEEE float32
;; operation per step:
;;   mode 0 sum:   a = f32(a + v)            (a starts at +0)
;;   mode 1 sumsq: a = f32(a + f32(v * v))   (+0)
;;   mode 2 l1:    a = f32(a + |v|)          (+0)
;;   mode 3 prod:  a = f32(a * v)            (1)
;;   mode 4 max:   if (v > a || v != v) a = v   (-inf)
;;   mode 5 min:   if (v < a || v != v) a = v   (+inf)
;; The SIMD lanes are always independent OUTPUTS, never parts of one output's chain, so
;; every output keeps its own sequential order and the vector width changes no value.
;; f32x4.add/mul/abs are the correctly rounded IEEE operations of the reference (no
;; flush-to-zero in WebAssembly); max/min move values by bitselect on the reference's
;; comparisons, so -0 / +0 come out as the reference keeps them. NaN bit patterns are
;; NOT guaranteed here (WebAssembly leaves NaN payloads of arithmetic open): the caller
;; hands any job with a NaN output back to the reference.
;;
;; Memory: the caller lays x and y out (from SCRATCH_BASE, runtime.ts); reads stay inside x (no spare bytes).
(module
  ;; the scratch memory shared by the kernel modules (runtime.ts); re-exported so callers reach it as mem
  (import "env" "mem" (memory 1))
  (export "mem" (memory 0))

  ;; The identity of `mode`, splatted.
  (func $ident (param $mode i32) (result v128)
    (if (result v128) (i32.eq (local.get $mode) (i32.const 3))
      (then (v128.const f32x4 1 1 1 1))
      (else (if (result v128) (i32.eq (local.get $mode) (i32.const 4))
        (then (v128.const f32x4 -inf -inf -inf -inf))
        (else (if (result v128) (i32.eq (local.get $mode) (i32.const 5))
          (then (v128.const f32x4 inf inf inf inf))
          (else (v128.const f32x4 0 0 0 0))))))))

  ;; One step of `mode` on four independent lanes (outside the hot loops: tails only).
  (func $step (param $mode i32) (param $a v128) (param $v v128) (result v128)
    (block $min (block $max (block $prod (block $l1 (block $sq (block $sum
      (br_table $sum $sq $l1 $prod $max $min (local.get $mode)))
      (return (f32x4.add (local.get $a) (local.get $v))))
      (return (f32x4.add (local.get $a) (f32x4.mul (local.get $v) (local.get $v)))))
      (return (f32x4.add (local.get $a) (f32x4.abs (local.get $v)))))
      (return (f32x4.mul (local.get $a) (local.get $v))))
      (return (v128.bitselect (local.get $v) (local.get $a)
        (v128.or (f32x4.gt (local.get $v) (local.get $a)) (f32x4.ne (local.get $v) (local.get $v))))))
    (v128.bitselect (local.get $v) (local.get $a)
      (v128.or (f32x4.lt (local.get $v) (local.get $a)) (f32x4.ne (local.get $v) (local.get $v)))))

  ;; ---------------------------------------------------------------------------
  ;; reduce_cols_f32(mode, x, y, O, R, C), C >= 4: lanes = 4 adjacent columns c. Blocks of
  ;; 16 columns keep four accumulators in registers over all R rows; then blocks of 4, the
  ;; last one shifted back to end at C (it recomputes up to 3 columns: same values, written
  ;; twice). y gets O*C values, output (o, c) at y + 4*(o*C + c).
  (func (export "reduce_cols_f32") (param $mode i32) (param $x i32) (param $y i32) (param $O i32) (param $R i32) (param $C i32)
    (local $o i32) (local $c i32) (local $r i32) (local $p i32) (local $cs i32) (local $xo i32) (local $yo i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128)
    (local.set $cs (i32.shl (local.get $C) (i32.const 2)))
    (block $od (loop $ol
      (br_if $od (i32.ge_u (local.get $o) (local.get $O)))
      (local.set $xo (i32.add (local.get $x) (i32.mul (i32.mul (local.get $o) (local.get $R)) (local.get $cs))))
      (local.set $yo (i32.add (local.get $y) (i32.mul (local.get $o) (local.get $cs))))
      ;; blocks of 16 columns
      (local.set $c (i32.const 0))
      (block $cd (loop $cl
        (br_if $cd (i32.gt_u (i32.add (local.get $c) (i32.const 16)) (local.get $C)))
        (local.set $a0 (call $ident (local.get $mode)))
        (local.set $a1 (local.get $a0)) (local.set $a2 (local.get $a0)) (local.set $a3 (local.get $a0))
        (local.set $p (i32.add (local.get $xo) (i32.shl (local.get $c) (i32.const 2))))
        (local.set $r (local.get $R))
        (block $rd (loop $rl
          (br_if $rd (i32.eqz (local.get $r)))
          (local.set $v0 (v128.load offset=0 (local.get $p)))
          (local.set $v1 (v128.load offset=16 (local.get $p)))
          (local.set $v2 (v128.load offset=32 (local.get $p)))
          (local.set $v3 (v128.load offset=48 (local.get $p)))
          (block $op (block $min (block $max (block $prod (block $l1 (block $sq (block $sum
            (br_table $sum $sq $l1 $prod $max $min (local.get $mode)))
            (local.set $a0 (f32x4.add (local.get $a0) (local.get $v0)))
            (local.set $a1 (f32x4.add (local.get $a1) (local.get $v1)))
            (local.set $a2 (f32x4.add (local.get $a2) (local.get $v2)))
            (local.set $a3 (f32x4.add (local.get $a3) (local.get $v3)))
            (br $op))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $v0) (local.get $v0))))
            (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $v1) (local.get $v1))))
            (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $v2) (local.get $v2))))
            (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $v3) (local.get $v3))))
            (br $op))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.abs (local.get $v0))))
            (local.set $a1 (f32x4.add (local.get $a1) (f32x4.abs (local.get $v1))))
            (local.set $a2 (f32x4.add (local.get $a2) (f32x4.abs (local.get $v2))))
            (local.set $a3 (f32x4.add (local.get $a3) (f32x4.abs (local.get $v3))))
            (br $op))
            (local.set $a0 (f32x4.mul (local.get $a0) (local.get $v0)))
            (local.set $a1 (f32x4.mul (local.get $a1) (local.get $v1)))
            (local.set $a2 (f32x4.mul (local.get $a2) (local.get $v2)))
            (local.set $a3 (f32x4.mul (local.get $a3) (local.get $v3)))
            (br $op))
            (local.set $a0 (v128.bitselect (local.get $v0) (local.get $a0) (v128.or (f32x4.gt (local.get $v0) (local.get $a0)) (f32x4.ne (local.get $v0) (local.get $v0)))))
            (local.set $a1 (v128.bitselect (local.get $v1) (local.get $a1) (v128.or (f32x4.gt (local.get $v1) (local.get $a1)) (f32x4.ne (local.get $v1) (local.get $v1)))))
            (local.set $a2 (v128.bitselect (local.get $v2) (local.get $a2) (v128.or (f32x4.gt (local.get $v2) (local.get $a2)) (f32x4.ne (local.get $v2) (local.get $v2)))))
            (local.set $a3 (v128.bitselect (local.get $v3) (local.get $a3) (v128.or (f32x4.gt (local.get $v3) (local.get $a3)) (f32x4.ne (local.get $v3) (local.get $v3)))))
            (br $op))
            (local.set $a0 (v128.bitselect (local.get $v0) (local.get $a0) (v128.or (f32x4.lt (local.get $v0) (local.get $a0)) (f32x4.ne (local.get $v0) (local.get $v0)))))
            (local.set $a1 (v128.bitselect (local.get $v1) (local.get $a1) (v128.or (f32x4.lt (local.get $v1) (local.get $a1)) (f32x4.ne (local.get $v1) (local.get $v1)))))
            (local.set $a2 (v128.bitselect (local.get $v2) (local.get $a2) (v128.or (f32x4.lt (local.get $v2) (local.get $a2)) (f32x4.ne (local.get $v2) (local.get $v2)))))
            (local.set $a3 (v128.bitselect (local.get $v3) (local.get $a3) (v128.or (f32x4.lt (local.get $v3) (local.get $a3)) (f32x4.ne (local.get $v3) (local.get $v3))))))
          (local.set $p (i32.add (local.get $p) (local.get $cs)))
          (local.set $r (i32.sub (local.get $r) (i32.const 1)))
          (br $rl)))
        (local.set $p (i32.add (local.get $yo) (i32.shl (local.get $c) (i32.const 2))))
        (v128.store offset=0 (local.get $p) (local.get $a0))
        (v128.store offset=16 (local.get $p) (local.get $a1))
        (v128.store offset=32 (local.get $p) (local.get $a2))
        (v128.store offset=48 (local.get $p) (local.get $a3))
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (br $cl)))
      ;; blocks of 4 columns, the last one ending at C
      (block $qd (loop $ql
        (br_if $qd (i32.ge_u (local.get $c) (local.get $C)))
        (if (i32.gt_u (i32.add (local.get $c) (i32.const 4)) (local.get $C))
          (then (local.set $c (i32.sub (local.get $C) (i32.const 4)))))
        (local.set $a0 (call $ident (local.get $mode)))
        (local.set $p (i32.add (local.get $xo) (i32.shl (local.get $c) (i32.const 2))))
        (local.set $r (local.get $R))
        (block $rd2 (loop $rl2
          (br_if $rd2 (i32.eqz (local.get $r)))
          (local.set $a0 (call $step (local.get $mode) (local.get $a0) (v128.load (local.get $p))))
          (local.set $p (i32.add (local.get $p) (local.get $cs)))
          (local.set $r (i32.sub (local.get $r) (i32.const 1)))
          (br $rl2)))
        (v128.store (i32.add (local.get $yo) (i32.shl (local.get $c) (i32.const 2))) (local.get $a0))
        (local.set $c (i32.add (local.get $c) (i32.const 4)))
        (br $ql)))
      (local.set $o (i32.add (local.get $o) (i32.const 1)))
      (br $ol))))

  ;; ---------------------------------------------------------------------------
  ;; reduce_lanes_f32(mode, x, y, O, R, C), any C (used for C < 4, mostly C = 1, the
  ;; reduction of the last axis): lanes = 8 outputs j = o*C + c at a time, output j reading
  ;; x + 4*(o*R*C + c) + r*4*C for r = 0..R-1 (lane gathers, as layernorm_f32 in math.wat).
  ;; Two groups of four run side by side (two independent dependency chains). The last
  ;; group repeats the last output in its unused lanes (same values written twice).
  ;; n = O*C >= 1 outputs; output j at y + 4*j.
  (func (export "reduce_lanes_f32") (param $mode i32) (param $x i32) (param $y i32) (param $O i32) (param $R i32) (param $C i32)
    (local $n i32) (local $j i32) (local $k i32) (local $cs i32) (local $off i32) (local $end i32)
    (local $p0 i32) (local $p1 i32) (local $p2 i32) (local $p3 i32) (local $p4 i32) (local $p5 i32) (local $p6 i32) (local $p7 i32)
    (local $a0 v128) (local $a1 v128) (local $v0 v128) (local $v1 v128)
    (local.set $n (i32.mul (local.get $O) (local.get $C)))
    (local.set $cs (i32.shl (local.get $C) (i32.const 2)))
    (local.set $end (i32.mul (local.get $R) (local.get $cs)))
    (block $gd (loop $gl
      (br_if $gd (i32.ge_u (local.get $j) (local.get $n)))
      (local.set $p0 (call $base (local.get $x) (local.get $j) (local.get $n) (local.get $R) (local.get $C)))
      (local.set $p1 (call $base (local.get $x) (i32.add (local.get $j) (i32.const 1)) (local.get $n) (local.get $R) (local.get $C)))
      (local.set $p2 (call $base (local.get $x) (i32.add (local.get $j) (i32.const 2)) (local.get $n) (local.get $R) (local.get $C)))
      (local.set $p3 (call $base (local.get $x) (i32.add (local.get $j) (i32.const 3)) (local.get $n) (local.get $R) (local.get $C)))
      (local.set $p4 (call $base (local.get $x) (i32.add (local.get $j) (i32.const 4)) (local.get $n) (local.get $R) (local.get $C)))
      (local.set $p5 (call $base (local.get $x) (i32.add (local.get $j) (i32.const 5)) (local.get $n) (local.get $R) (local.get $C)))
      (local.set $p6 (call $base (local.get $x) (i32.add (local.get $j) (i32.const 6)) (local.get $n) (local.get $R) (local.get $C)))
      (local.set $p7 (call $base (local.get $x) (i32.add (local.get $j) (i32.const 7)) (local.get $n) (local.get $R) (local.get $C)))
      (local.set $a0 (call $ident (local.get $mode)))
      (local.set $a1 (local.get $a0))
      (local.set $off (i32.const 0))
      (block $rd (loop $rl
        (br_if $rd (i32.ge_u (local.get $off) (local.get $end)))
        (local.set $v0 (v128.load32_lane 3 (i32.add (local.get $p3) (local.get $off)) (v128.load32_lane 2 (i32.add (local.get $p2) (local.get $off))
          (v128.load32_lane 1 (i32.add (local.get $p1) (local.get $off)) (v128.load32_splat (i32.add (local.get $p0) (local.get $off)))))))
        (local.set $v1 (v128.load32_lane 3 (i32.add (local.get $p7) (local.get $off)) (v128.load32_lane 2 (i32.add (local.get $p6) (local.get $off))
          (v128.load32_lane 1 (i32.add (local.get $p5) (local.get $off)) (v128.load32_splat (i32.add (local.get $p4) (local.get $off)))))))
        (block $op (block $min (block $max (block $prod (block $l1 (block $sq (block $sum
          (br_table $sum $sq $l1 $prod $max $min (local.get $mode)))
          (local.set $a0 (f32x4.add (local.get $a0) (local.get $v0)))
          (local.set $a1 (f32x4.add (local.get $a1) (local.get $v1)))
          (br $op))
          (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $v0) (local.get $v0))))
          (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $v1) (local.get $v1))))
          (br $op))
          (local.set $a0 (f32x4.add (local.get $a0) (f32x4.abs (local.get $v0))))
          (local.set $a1 (f32x4.add (local.get $a1) (f32x4.abs (local.get $v1))))
          (br $op))
          (local.set $a0 (f32x4.mul (local.get $a0) (local.get $v0)))
          (local.set $a1 (f32x4.mul (local.get $a1) (local.get $v1)))
          (br $op))
          (local.set $a0 (v128.bitselect (local.get $v0) (local.get $a0) (v128.or (f32x4.gt (local.get $v0) (local.get $a0)) (f32x4.ne (local.get $v0) (local.get $v0)))))
          (local.set $a1 (v128.bitselect (local.get $v1) (local.get $a1) (v128.or (f32x4.gt (local.get $v1) (local.get $a1)) (f32x4.ne (local.get $v1) (local.get $v1)))))
          (br $op))
          (local.set $a0 (v128.bitselect (local.get $v0) (local.get $a0) (v128.or (f32x4.lt (local.get $v0) (local.get $a0)) (f32x4.ne (local.get $v0) (local.get $v0)))))
          (local.set $a1 (v128.bitselect (local.get $v1) (local.get $a1) (v128.or (f32x4.lt (local.get $v1) (local.get $a1)) (f32x4.ne (local.get $v1) (local.get $v1))))))
        (local.set $off (i32.add (local.get $off) (local.get $cs)))
        (br $rl)))
      ;; lane k holds output min(j + k, n - 1); a repeated last output stores the same value again
      (local.set $k (i32.shl (local.get $j) (i32.const 2)))
      (local.set $p0 (i32.shl (i32.sub (local.get $n) (i32.const 1)) (i32.const 2)))
      (v128.store32_lane 0 (i32.add (local.get $y) (call $minu (local.get $k) (local.get $p0))) (local.get $a0))
      (v128.store32_lane 1 (i32.add (local.get $y) (call $minu (i32.add (local.get $k) (i32.const 4)) (local.get $p0))) (local.get $a0))
      (v128.store32_lane 2 (i32.add (local.get $y) (call $minu (i32.add (local.get $k) (i32.const 8)) (local.get $p0))) (local.get $a0))
      (v128.store32_lane 3 (i32.add (local.get $y) (call $minu (i32.add (local.get $k) (i32.const 12)) (local.get $p0))) (local.get $a0))
      (v128.store32_lane 0 (i32.add (local.get $y) (call $minu (i32.add (local.get $k) (i32.const 16)) (local.get $p0))) (local.get $a1))
      (v128.store32_lane 1 (i32.add (local.get $y) (call $minu (i32.add (local.get $k) (i32.const 20)) (local.get $p0))) (local.get $a1))
      (v128.store32_lane 2 (i32.add (local.get $y) (call $minu (i32.add (local.get $k) (i32.const 24)) (local.get $p0))) (local.get $a1))
      (v128.store32_lane 3 (i32.add (local.get $y) (call $minu (i32.add (local.get $k) (i32.const 28)) (local.get $p0))) (local.get $a1))
      (local.set $j (i32.add (local.get $j) (i32.const 8)))
      (br $gl))))

  ;; ---------------------------------------------------------------------------
  ;; arg_f32(x, y, O, R, C, isMax, last): ArgMax (isMax = 1) / ArgMin of x [O, R, C] over R
  ;; (reduce.ts argKernel), output j = o*C + c as an int32 index r at y + 4*j. Lanes = 4
  ;; outputs (gathers as in reduce_lanes_f32; the last group repeats the last output).
  ;; Per lane, the reference's scan: best = row 0; for r = 1..R-1, with b the best value,
  ;;   take = b is NaN ? (last && v is NaN) : (v is NaN || (isMax ? (last ? v >= b : v > b)
  ;;                                                               : (last ? v <= b : v < b)))
  ;; The output is an index, so no float bits come out: NaNs need no special care here.
  (func (export "arg_f32") (param $x i32) (param $y i32) (param $O i32) (param $R i32) (param $C i32) (param $isMax i32) (param $last i32)
    (local $n i32) (local $j i32) (local $cs i32) (local $off i32) (local $end i32)
    (local $p0 i32) (local $p1 i32) (local $p2 i32) (local $p3 i32)
    (local $b v128) (local $v v128) (local $idx v128) (local $rv v128) (local $take v128) (local $vn v128) (local $bn v128)
    (local $mx v128) (local $ls v128)
    (local.set $n (i32.mul (local.get $O) (local.get $C)))
    (local.set $cs (i32.shl (local.get $C) (i32.const 2)))
    (local.set $end (i32.mul (local.get $R) (local.get $cs)))
    (local.set $mx (i32x4.splat (i32.sub (i32.const 0) (i32.ne (local.get $isMax) (i32.const 0)))))
    (local.set $ls (i32x4.splat (i32.sub (i32.const 0) (i32.ne (local.get $last) (i32.const 0)))))
    (block $gd (loop $gl
      (br_if $gd (i32.ge_u (local.get $j) (local.get $n)))
      (local.set $p0 (call $base (local.get $x) (local.get $j) (local.get $n) (local.get $R) (local.get $C)))
      (local.set $p1 (call $base (local.get $x) (i32.add (local.get $j) (i32.const 1)) (local.get $n) (local.get $R) (local.get $C)))
      (local.set $p2 (call $base (local.get $x) (i32.add (local.get $j) (i32.const 2)) (local.get $n) (local.get $R) (local.get $C)))
      (local.set $p3 (call $base (local.get $x) (i32.add (local.get $j) (i32.const 3)) (local.get $n) (local.get $R) (local.get $C)))
      (local.set $b (v128.load32_lane 3 (local.get $p3) (v128.load32_lane 2 (local.get $p2)
          (v128.load32_lane 1 (local.get $p1) (v128.load32_splat (local.get $p0))))))
      (local.set $idx (v128.const i32x4 0 0 0 0))
      (local.set $rv (v128.const i32x4 1 1 1 1))
      (local.set $off (local.get $cs))
      (block $rd (loop $rl
        (br_if $rd (i32.ge_u (local.get $off) (local.get $end)))
        (local.set $v (v128.load32_lane 3 (i32.add (local.get $p3) (local.get $off)) (v128.load32_lane 2 (i32.add (local.get $p2) (local.get $off))
          (v128.load32_lane 1 (i32.add (local.get $p1) (local.get $off)) (v128.load32_splat (i32.add (local.get $p0) (local.get $off)))))))
        (local.set $vn (f32x4.ne (local.get $v) (local.get $v)))
        (local.set $bn (f32x4.ne (local.get $b) (local.get $b)))
        ;; take = bn ? (last & vn) : (vn | (isMax ? v > b : v < b) | (last & v == b))
        (local.set $take (v128.bitselect
          (v128.and (local.get $ls) (local.get $vn))
          (v128.or (v128.or (local.get $vn)
                            (v128.bitselect (f32x4.gt (local.get $v) (local.get $b)) (f32x4.lt (local.get $v) (local.get $b)) (local.get $mx)))
                   (v128.and (local.get $ls) (f32x4.eq (local.get $v) (local.get $b))))
          (local.get $bn)))
        (local.set $b (v128.bitselect (local.get $v) (local.get $b) (local.get $take)))
        (local.set $idx (v128.bitselect (local.get $rv) (local.get $idx) (local.get $take)))
        (local.set $rv (i32x4.add (local.get $rv) (v128.const i32x4 1 1 1 1)))
        (local.set $off (i32.add (local.get $off) (local.get $cs)))
        (br $rl)))
      (local.set $off (i32.shl (local.get $j) (i32.const 2)))
      (local.set $p0 (i32.shl (i32.sub (local.get $n) (i32.const 1)) (i32.const 2)))
      (v128.store32_lane 0 (i32.add (local.get $y) (call $minu (local.get $off) (local.get $p0))) (local.get $idx))
      (v128.store32_lane 1 (i32.add (local.get $y) (call $minu (i32.add (local.get $off) (i32.const 4)) (local.get $p0))) (local.get $idx))
      (v128.store32_lane 2 (i32.add (local.get $y) (call $minu (i32.add (local.get $off) (i32.const 8)) (local.get $p0))) (local.get $idx))
      (v128.store32_lane 3 (i32.add (local.get $y) (call $minu (i32.add (local.get $off) (i32.const 12)) (local.get $p0))) (local.get $idx))
      (local.set $j (i32.add (local.get $j) (i32.const 4)))
      (br $gl))))

  (func $minu (param $a i32) (param $b i32) (result i32)
    (select (local.get $a) (local.get $b) (i32.lt_u (local.get $a) (local.get $b))))

  ;; Byte address of the first input of output min(j, n - 1) = (o, c): x + 4*(o*R*C + c).
  (func $base (param $x i32) (param $j i32) (param $n i32) (param $R i32) (param $C i32) (result i32)
    (local $o i32)
    (local.set $j (call $minu (local.get $j) (i32.sub (local.get $n) (i32.const 1))))
    (local.set $o (i32.div_u (local.get $j) (local.get $C)))
    (i32.add (local.get $x)
      (i32.shl (i32.add (i32.mul (i32.mul (local.get $o) (local.get $R)) (local.get $C))
                        (i32.sub (local.get $j) (i32.mul (local.get $o) (local.get $C))))
               (i32.const 2)))))
