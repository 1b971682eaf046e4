;; conv.wat: float32 Conv and ConvTranspose (1-D/2-D, any strides, dilations, pads,
;; groups) in one WebAssembly SIMD call per node (128-bit SIMD only: no relaxed-simd, no threads).
;; Assembled by scripts/build-wasm.mjs into conv.wasm.ts; the wrapper is convolution.ts
;; and the readable reference is Conv in ../ops/conv.ts (bit-identical, tested in
;; convolution.test.ts and ../ops/conv.test.ts).
;;
;; Canonical order, every output element y[n, m, oh, ow] (group g = m / Mg):
;;     acc = +0
;;     for q = 0 .. Kd-1, q = (c*KH + kh)*KW + kw  (c in m's group, kernel row-major):
;;         acc = f32(acc + f32(w[m, q] * col[q]))
;;     y = f32(acc + b[m])   (only when a bias is given)
;; where col[q] = x[n, g*Cg + c, oh*sH + kh*dH - pT, ow*sW + kw*dW - pL] when that
;; position is inside the input and +0 when it lies in the padding. Conv itself skips
;; padded taps; adding f32(w * +0) instead changes no bit when every weight is finite
;; (the proof is in ../ops/conv.ts, section "Conv float32 as im2col + GEMM"), so the
;; caller only comes here with all-finite weights.
;; Each f32x4 lane holds one output pixel's acc; f32x4.mul / f32x4.add are IEEE-754
;; binary32 operations, round-to-nearest-even per lane, subnormals kept, never fused,
;; so every lane performs exactly its element's steps, q increasing. Only NaN bit
;; patterns are not deterministic in WebAssembly arithmetic; canonical tensor encoding
;; collapses every NaN.
;;
;; Schedule (changes no element's order of operations): per image n and group g, output
;; pixels go in blocks of 8 (two f32x4 vectors), and for each block $tile_4x8 keeps
;; 4 channels x 8 pixels of accumulators in registers over q = 0 .. Kd-1 (weights
;; interleaved by the caller, 16 bytes per q per block of 4 channels), adds the bias and
;; stores the pixels that exist; the last Mg mod 4 channels use $tile_1x16. The 8 inputs of
;; tap q for a block are one 32-byte load at pc + tab[q], from one of two workspaces:
;;  - direct: ws holds image n with its padding materialised as +0 ($pad; planes Hp x Wp,
;;    each row split into sW phases when the width stride sW > 1, so that a tap's inputs
;;    for consecutive output pixels are consecutive), blocks stay inside an output row, and
;;    tab[q] is the tap's offset in that layout. Lanes past the row end compute junk that
;;    is not stored.
;;  - im2col (any stride): $im2col writes the column matrix col[q, p] of (n, g) (Kd rows
;;    of Pp = P rounded up to 8, p = oh*OW + ow, +0 for padding taps and p >= P); chunks
;;    of 16 pixels run over the flattened plane and tab[q] = q*Pp*4.
;;  - ConvTranspose (convolution.ts convTranspose2dF32Wasm): like direct, but ws holds
;;    x scattered into +0 planes ($scatter) and taps are read at flipped kernel positions,
;;    so that tap q = (c, kh, kw) of an output is the input its gather-form canonical
;;    order pairs with w[c, m, kh, kw], or +0 when there is none (the same +0 argument).
;; Either way each lane's value for tap q is exactly the canonical col[q] above.
;;
;; Memory layout chosen by the caller (convolution.ts), byte addresses:
;;   x:   N*C*H*W input values
;;   w:   per group g, block mb < ceil(Mg/4), q < Kd: 4 values w[g*Mg + 4mb + i, q]
;;        (+0 for channels past Mg)
;;   b:   M bias values (read only when hasB = 1)
;;   tab: Kd i32 of workspace
;;   ws:  workspace: direct C*Hp*Wp + 16 values, im2col Kd*Pp values; 64 readable bytes after
;;   y:   N*M*OH*OW output values (exactly these bytes are written)
(module
  ;; the scratch memory shared by the kernel modules (runtime.ts); re-exported so callers reach it as mem
  (import "env" "mem" (memory 1))
  (export "mem" (memory 0))

  ;; n float32 +0 values at d
  (func $zero (param $d i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $d) (i32.shl (local.get $n) (i32.const 2))))
    (block $done4
      (loop $four
        (br_if $done4 (i32.gt_u (i32.add (local.get $d) (i32.const 16)) (local.get $end)))
        (v128.store (local.get $d) (v128.const i32x4 0 0 0 0))
        (local.set $d (i32.add (local.get $d) (i32.const 16)))
        (br $four)))
    (block $done
      (loop $one
        (br_if $done (i32.ge_u (local.get $d) (local.get $end)))
        (i32.store (local.get $d) (i32.const 0))
        (local.set $d (i32.add (local.get $d) (i32.const 4)))
        (br $one))))

  ;; n values to d (contiguous) from s, s + 4*st, s + 8*st, ... (bit copies)
  (func $copy (param $d i32) (param $s i32) (param $n i32) (param $st i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $d) (i32.shl (local.get $n) (i32.const 2))))
    (if (i32.eq (local.get $st) (i32.const 1))
      (then
        (block $done4
          (loop $four
            (br_if $done4 (i32.gt_u (i32.add (local.get $d) (i32.const 16)) (local.get $end)))
            (v128.store (local.get $d) (v128.load (local.get $s)))
            (local.set $d (i32.add (local.get $d) (i32.const 16)))
            (local.set $s (i32.add (local.get $s) (i32.const 16)))
            (br $four)))))
    (local.set $st (i32.shl (local.get $st) (i32.const 2)))
    (block $done
      (loop $one
        (br_if $done (i32.ge_u (local.get $d) (local.get $end)))
        (i32.store (local.get $d) (i32.load (local.get $s)))
        (local.set $d (i32.add (local.get $d) (i32.const 4)))
        (local.set $s (i32.add (local.get $s) (local.get $st)))
        (br $one))))

  ;; col[q, p] for one (image, group): x points at channel g*Cg of image n.
  (func $im2col (param $x i32) (param $col i32) (param $Cg i32) (param $H i32) (param $W i32)
        (param $KH i32) (param $KW i32) (param $OH i32) (param $OW i32)
        (param $sH i32) (param $sW i32) (param $dH i32) (param $dW i32) (param $pT i32) (param $pL i32) (param $Pp i32)
    (local $c i32) (local $kh i32) (local $kw i32) (local $oh i32)
    (local $offH i32) (local $offW i32) (local $lo i32) (local $hi i32) (local $ih i32) (local $t i32)
    (local $row i32) (local $dst i32) (local $rowBytes i32) (local $outBytes i32) (local $plane i32)
    (local.set $rowBytes (i32.shl (local.get $Pp) (i32.const 2)))
    (local.set $outBytes (i32.shl (local.get $OW) (i32.const 2)))
    (local.set $plane (i32.shl (i32.mul (local.get $H) (local.get $W)) (i32.const 2)))
    (local.set $row (local.get $col))
    (local.set $c (i32.const 0))
    (loop $chan
      (local.set $kh (i32.const 0))
      (loop $krow
        (local.set $offH (i32.sub (i32.mul (local.get $kh) (local.get $dH)) (local.get $pT)))
        (local.set $kw (i32.const 0))
        (loop $kcol
          (local.set $offW (i32.sub (i32.mul (local.get $kw) (local.get $dW)) (local.get $pL)))
          ;; [lo, hi): the output columns whose input column ow*sW + offW is in [0, W)
          (local.set $lo (i32.const 0))
          (if (i32.lt_s (local.get $offW) (i32.const 0))
            (then (local.set $lo (i32.div_u (i32.add (i32.sub (i32.const 0) (local.get $offW)) (i32.sub (local.get $sW) (i32.const 1)))
                                            (local.get $sW)))))
          (if (i32.gt_u (local.get $lo) (local.get $OW)) (then (local.set $lo (local.get $OW))))
          (local.set $t (i32.sub (i32.sub (local.get $W) (i32.const 1)) (local.get $offW)))
          (local.set $hi (i32.const 0))
          (if (i32.ge_s (local.get $t) (i32.const 0))
            (then (local.set $hi (i32.add (i32.div_u (local.get $t) (local.get $sW)) (i32.const 1)))))
          (if (i32.gt_u (local.get $hi) (local.get $OW)) (then (local.set $hi (local.get $OW))))
          (if (i32.lt_u (local.get $hi) (local.get $lo)) (then (local.set $hi (local.get $lo))))
          (local.set $dst (local.get $row))
          (local.set $oh (i32.const 0))
          (loop $orow
            (local.set $ih (i32.add (i32.mul (local.get $oh) (local.get $sH)) (local.get $offH)))
            (if (i32.ge_u (local.get $ih) (local.get $H))   ;; also catches ih < 0
              (then (call $zero (local.get $dst) (local.get $OW)))
              (else
                (call $zero (local.get $dst) (local.get $lo))
                (if (i32.lt_u (local.get $lo) (local.get $hi))
                  (then
                    (call $copy
                      (i32.add (local.get $dst) (i32.shl (local.get $lo) (i32.const 2)))
                      (i32.add (local.get $x)
                        (i32.shl (i32.add (i32.mul (local.get $ih) (local.get $W))
                                          (i32.add (i32.mul (local.get $lo) (local.get $sW)) (local.get $offW)))
                                 (i32.const 2)))
                      (i32.sub (local.get $hi) (local.get $lo))
                      (local.get $sW))))
                (call $zero (i32.add (local.get $dst) (i32.shl (local.get $hi) (i32.const 2)))
                            (i32.sub (local.get $OW) (local.get $hi)))))
            (local.set $dst (i32.add (local.get $dst) (local.get $outBytes)))
            (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
            (br_if $orow (i32.lt_u (local.get $oh) (local.get $OH))))
          ;; columns P .. Pp-1
          (call $zero (local.get $dst) (i32.shr_u (i32.sub (i32.add (local.get $row) (local.get $rowBytes)) (local.get $dst)) (i32.const 2)))
          (local.set $row (i32.add (local.get $row) (local.get $rowBytes)))
          (local.set $kw (i32.add (local.get $kw) (i32.const 1)))
          (br_if $kcol (i32.lt_u (local.get $kw) (local.get $KW))))
        (local.set $kh (i32.add (local.get $kh) (i32.const 1)))
        (br_if $krow (i32.lt_u (local.get $kh) (local.get $KH))))
      (local.set $x (i32.add (local.get $x) (local.get $plane)))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br_if $chan (i32.lt_u (local.get $c) (local.get $Cg)))))

  ;; Stores the first n (>= 1) of the 8 values v0 ++ v1 at a (bit copies; no arithmetic).
  (func $store8 (param $a i32) (param $v0 v128) (param $v1 v128) (param $n i32)
    (if (i32.ge_u (local.get $n) (i32.const 8))
      (then
        (v128.store offset=0 (local.get $a) (local.get $v0))
        (v128.store offset=16 (local.get $a) (local.get $v1))
        (return)))
    (if (i32.ge_u (local.get $n) (i32.const 4))
      (then
        (v128.store (local.get $a) (local.get $v0))
        (local.set $a (i32.add (local.get $a) (i32.const 16)))
        (local.set $n (i32.sub (local.get $n) (i32.const 4)))
        (local.set $v0 (local.get $v1))))
    (if (i32.ge_u (local.get $n) (i32.const 1)) (then (i32.store offset=0 (local.get $a) (i32x4.extract_lane 0 (local.get $v0)))))
    (if (i32.ge_u (local.get $n) (i32.const 2)) (then (i32.store offset=4 (local.get $a) (i32x4.extract_lane 1 (local.get $v0)))))
    (if (i32.ge_u (local.get $n) (i32.const 3)) (then (i32.store offset=8 (local.get $a) (i32x4.extract_lane 2 (local.get $v0))))))

  ;; `blocks` blocks of 4 channels x `npix` pixels (in blocks of 8): acc[i, j] over
  ;; q = 0 .. Kd-1 in order. pw: interleaved weights of the first channel block (16 bytes
  ;; per q, blocks consecutive); the 8 input values of tap q for pixels p .. p+7 are at
  ;; pc + 4p + tab[q] (tab: Kd i32 byte offsets); py: y[m0, first pixel] (channel stride
  ;; ys bytes); pb: b[m0]. Lanes past npix are computed and dropped.
  (func $tile_4x8 (param $pw0 i32) (param $Kd i32) (param $pc0 i32) (param $tab i32)
        (param $py i32) (param $ys i32) (param $pb i32) (param $hasB i32) (param $npix i32) (param $blocks i32)
    (local $pw i32) (local $pc i32) (local $pq i32) (local $k i32) (local $t i32) (local $yy i32) (local $n i32)
    (local $a00 v128) (local $a01 v128) (local $a10 v128) (local $a11 v128)
    (local $a20 v128) (local $a21 v128) (local $a30 v128) (local $a31 v128)
    (local $c0 v128) (local $c1 v128) (local $s v128)
    (loop $blk
      (local.set $pc (local.get $pc0))
      (local.set $yy (local.get $py))
      (local.set $n (local.get $npix))
      (loop $px
        ;; acc = +0 in every lane
        (local.set $a00 (v128.const f32x4 0 0 0 0)) (local.set $a01 (v128.const f32x4 0 0 0 0))
        (local.set $a10 (v128.const f32x4 0 0 0 0)) (local.set $a11 (v128.const f32x4 0 0 0 0))
        (local.set $a20 (v128.const f32x4 0 0 0 0)) (local.set $a21 (v128.const f32x4 0 0 0 0))
        (local.set $a30 (v128.const f32x4 0 0 0 0)) (local.set $a31 (v128.const f32x4 0 0 0 0))
        (local.set $pw (local.get $pw0))
        (local.set $t (local.get $tab))
        (local.set $k (local.get $Kd))
        (loop $q
          (local.set $pq (i32.add (local.get $pc) (i32.load (local.get $t))))
          (local.set $c0 (v128.load offset=0 (local.get $pq)))
          (local.set $c1 (v128.load offset=16 (local.get $pq)))
          ;; acc = f32(acc + f32(w * col)), lane by lane
          (local.set $s (v128.load32_splat offset=0 (local.get $pw)))
          (local.set $a00 (f32x4.add (local.get $a00) (f32x4.mul (local.get $s) (local.get $c0))))
          (local.set $a01 (f32x4.add (local.get $a01) (f32x4.mul (local.get $s) (local.get $c1))))
          (local.set $s (v128.load32_splat offset=4 (local.get $pw)))
          (local.set $a10 (f32x4.add (local.get $a10) (f32x4.mul (local.get $s) (local.get $c0))))
          (local.set $a11 (f32x4.add (local.get $a11) (f32x4.mul (local.get $s) (local.get $c1))))
          (local.set $s (v128.load32_splat offset=8 (local.get $pw)))
          (local.set $a20 (f32x4.add (local.get $a20) (f32x4.mul (local.get $s) (local.get $c0))))
          (local.set $a21 (f32x4.add (local.get $a21) (f32x4.mul (local.get $s) (local.get $c1))))
          (local.set $s (v128.load32_splat offset=12 (local.get $pw)))
          (local.set $a30 (f32x4.add (local.get $a30) (f32x4.mul (local.get $s) (local.get $c0))))
          (local.set $a31 (f32x4.add (local.get $a31) (f32x4.mul (local.get $s) (local.get $c1))))
          (local.set $t (i32.add (local.get $t) (i32.const 4)))
          (local.set $pw (i32.add (local.get $pw) (i32.const 16)))
          (local.set $k (i32.sub (local.get $k) (i32.const 1)))
          (br_if $q (local.get $k)))
        ;; y = f32(acc + b[m]) when a bias is given (the canonical last step)
        (if (local.get $hasB)
          (then
            (local.set $s (v128.load32_splat offset=0 (local.get $pb)))
            (local.set $a00 (f32x4.add (local.get $a00) (local.get $s)))
            (local.set $a01 (f32x4.add (local.get $a01) (local.get $s)))
            (local.set $s (v128.load32_splat offset=4 (local.get $pb)))
            (local.set $a10 (f32x4.add (local.get $a10) (local.get $s)))
            (local.set $a11 (f32x4.add (local.get $a11) (local.get $s)))
            (local.set $s (v128.load32_splat offset=8 (local.get $pb)))
            (local.set $a20 (f32x4.add (local.get $a20) (local.get $s)))
            (local.set $a21 (f32x4.add (local.get $a21) (local.get $s)))
            (local.set $s (v128.load32_splat offset=12 (local.get $pb)))
            (local.set $a30 (f32x4.add (local.get $a30) (local.get $s)))
            (local.set $a31 (f32x4.add (local.get $a31) (local.get $s)))
))
        (if (i32.ge_u (local.get $n) (i32.const 8))
          (then
            (v128.store offset=0 (local.get $yy) (local.get $a00))
            (v128.store offset=16 (local.get $yy) (local.get $a01))
            (local.set $pq (i32.add (local.get $yy) (local.get $ys)))
            (v128.store offset=0 (local.get $pq) (local.get $a10))
            (v128.store offset=16 (local.get $pq) (local.get $a11))
            (local.set $pq (i32.add (local.get $pq) (local.get $ys)))
            (v128.store offset=0 (local.get $pq) (local.get $a20))
            (v128.store offset=16 (local.get $pq) (local.get $a21))
            (local.set $pq (i32.add (local.get $pq) (local.get $ys)))
            (v128.store offset=0 (local.get $pq) (local.get $a30))
            (v128.store offset=16 (local.get $pq) (local.get $a31)))
          (else
            (call $store8 (local.get $yy) (local.get $a00) (local.get $a01) (local.get $n))
            (local.set $pq (i32.add (local.get $yy) (local.get $ys)))
            (call $store8 (local.get $pq) (local.get $a10) (local.get $a11) (local.get $n))
            (local.set $pq (i32.add (local.get $pq) (local.get $ys)))
            (call $store8 (local.get $pq) (local.get $a20) (local.get $a21) (local.get $n))
            (local.set $pq (i32.add (local.get $pq) (local.get $ys)))
            (call $store8 (local.get $pq) (local.get $a30) (local.get $a31) (local.get $n))))
        ;; next 8 pixels
        (local.set $pc (i32.add (local.get $pc) (i32.const 32)))
        (local.set $yy (i32.add (local.get $yy) (i32.const 32)))
        (local.set $n (i32.sub (local.get $n) (i32.const 8)))
        (br_if $px (i32.gt_s (local.get $n) (i32.const 0))))
      ;; next block of 4 channels: its weights follow, 4 channels further in y and b
      (local.set $pw0 (i32.add (local.get $pw0) (i32.shl (local.get $Kd) (i32.const 4))))
      (local.set $py (i32.add (local.get $py) (i32.shl (local.get $ys) (i32.const 2))))
      (local.set $pb (i32.add (local.get $pb) (i32.const 16)))
      (local.set $blocks (i32.sub (local.get $blocks) (i32.const 1)))
      (br_if $blk (local.get $blocks))))

  ;; 1 channel x `rows` output rows (input row stride rsx, output row stride rsy bytes) of
  ;; n pixels each, in blocks of 16 (four accumulators, so that the dependent adds of one
  ;; channel overlap), same steps; pw advances 16 bytes per q (one lane of an interleaved
  ;; block). Lanes past n are computed and dropped.
  (func $tile_1x16 (param $pw0 i32) (param $Kd i32) (param $pc0 i32) (param $tab i32)
        (param $py0 i32) (param $pb i32) (param $hasB i32) (param $n0 i32)
        (param $rows i32) (param $rsx i32) (param $rsy i32)
    (local $pw i32) (local $pc i32) (local $py i32) (local $n i32) (local $pq i32) (local $k i32) (local $t i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $s v128)
    (loop $row
      (local.set $pc (local.get $pc0))
      (local.set $py (local.get $py0))
      (local.set $n (local.get $n0))
      (loop $px
        (local.set $a0 (v128.const f32x4 0 0 0 0))
        (local.set $a1 (v128.const f32x4 0 0 0 0))
        (local.set $a2 (v128.const f32x4 0 0 0 0))
        (local.set $a3 (v128.const f32x4 0 0 0 0))
        (local.set $pw (local.get $pw0))
        (local.set $t (local.get $tab))
        (local.set $k (local.get $Kd))
        (loop $q
          (local.set $pq (i32.add (local.get $pc) (i32.load (local.get $t))))
          (local.set $s (v128.load32_splat (local.get $pw)))
          ;; acc = f32(acc + f32(w * col)), lane by lane
          (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $s) (v128.load offset=0 (local.get $pq)))))
          (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $s) (v128.load offset=16 (local.get $pq)))))
          (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $s) (v128.load offset=32 (local.get $pq)))))
          (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $s) (v128.load offset=48 (local.get $pq)))))
          (local.set $t (i32.add (local.get $t) (i32.const 4)))
          (local.set $pw (i32.add (local.get $pw) (i32.const 16)))
          (local.set $k (i32.sub (local.get $k) (i32.const 1)))
          (br_if $q (local.get $k)))
        ;; y = f32(acc + b[m]) when a bias is given (the canonical last step)
        (if (local.get $hasB)
          (then
            (local.set $s (v128.load32_splat (local.get $pb)))
            (local.set $a0 (f32x4.add (local.get $a0) (local.get $s)))
            (local.set $a1 (f32x4.add (local.get $a1) (local.get $s)))
            (local.set $a2 (f32x4.add (local.get $a2) (local.get $s)))
            (local.set $a3 (f32x4.add (local.get $a3) (local.get $s)))
))
        (if (i32.ge_s (local.get $n) (i32.const 16))
          (then
            (v128.store offset=0 (local.get $py) (local.get $a0))
            (v128.store offset=16 (local.get $py) (local.get $a1))
            (v128.store offset=32 (local.get $py) (local.get $a2))
            (v128.store offset=48 (local.get $py) (local.get $a3)))
          (else
            (call $store8 (local.get $py) (local.get $a0) (local.get $a1) (local.get $n))
            (if (i32.gt_s (local.get $n) (i32.const 8))
              (then (call $store8 (i32.add (local.get $py) (i32.const 32)) (local.get $a2) (local.get $a3)
                                  (i32.sub (local.get $n) (i32.const 8)))))))
        (local.set $pc (i32.add (local.get $pc) (i32.const 64)))
        (local.set $py (i32.add (local.get $py) (i32.const 64)))
        (local.set $n (i32.sub (local.get $n) (i32.const 16)))
        (br_if $px (i32.gt_s (local.get $n) (i32.const 0))))
      (local.set $pc0 (i32.add (local.get $pc0) (local.get $rsx)))
      (local.set $py0 (i32.add (local.get $py0) (local.get $rsy)))
      (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
      (br_if $row (local.get $rows))))

  ;; All Mg channels of one group for `rows` output rows (input row stride rsx, output row
  ;; stride rsy bytes) of n pixels each: blocks of 4 channels with $tile_4x8, row by row;
  ;; then the last Mg mod 4 channels with $tile_1x16, channel by channel (lane m mod 4 of
  ;; the interleaved block).
  (func $channels (param $wg i32) (param $Kd i32) (param $pc i32) (param $tab i32)
        (param $py i32) (param $ys i32) (param $bg i32) (param $hasB i32) (param $n i32) (param $Mg i32)
        (param $rows i32) (param $rsx i32) (param $rsy i32)
    (local $m i32) (local $M4 i32) (local $wBlock i32) (local $r i32)
    (local.set $M4 (i32.and (local.get $Mg) (i32.const -4)))
    (local.set $wBlock (i32.shl (local.get $Kd) (i32.const 4)))
    (if (local.get $M4)
      (then
        (loop $row
          (call $tile_4x8 (local.get $wg) (local.get $Kd)
            (i32.add (local.get $pc) (i32.mul (local.get $r) (local.get $rsx))) (local.get $tab)
            (i32.add (local.get $py) (i32.mul (local.get $r) (local.get $rsy))) (local.get $ys)
            (local.get $bg) (local.get $hasB) (local.get $n) (i32.shr_u (local.get $M4) (i32.const 2)))
          (local.set $r (i32.add (local.get $r) (i32.const 1)))
          (br_if $row (i32.lt_u (local.get $r) (local.get $rows))))
        (local.set $m (local.get $M4))))
    (block $rest_done
      (loop $rest
        (br_if $rest_done (i32.ge_u (local.get $m) (local.get $Mg)))
        (call $tile_1x16
          (i32.add (i32.add (local.get $wg) (i32.mul (i32.shr_u (local.get $m) (i32.const 2)) (local.get $wBlock)))
                   (i32.shl (i32.and (local.get $m) (i32.const 3)) (i32.const 2)))
          (local.get $Kd) (local.get $pc) (local.get $tab)
          (i32.add (local.get $py) (i32.mul (local.get $m) (local.get $ys)))
          (i32.add (local.get $bg) (i32.shl (local.get $m) (i32.const 2)))
          (local.get $hasB) (local.get $n) (local.get $rows) (local.get $rsx) (local.get $rsy))
        (local.set $m (i32.add (local.get $m) (i32.const 1)))
        (br $rest))))

  ;; Direct mode: copies image planes x (C planes of H x W) into ws as C planes of Hp rows
  ;; of Wp values: the padded image (leading pads pT, pL; +0 everywhere outside the input),
  ;; then 16 spare +0. With width stride sW > 1 each row is split into sW phases of
  ;; Wq = Wp / sW values: padded column wp is stored at (wp mod sW)*Wq + wp / sW, so the
  ;; columns ow*sW + t of consecutive outputs ow are consecutive in phase t mod sW.
  (func $pad (param $x i32) (param $ws i32) (param $C i32) (param $H i32) (param $W i32)
        (param $Hp i32) (param $Wp i32) (param $pT i32) (param $pL i32) (param $sW i32)
    (local $c i32) (local $hp i32) (local $ih i32) (local $lo i32) (local $hi i32)
    (local $Wq i32) (local $iw i32) (local $row i32) (local $dst i32) (local $r i32) (local $k i32)
    (if (i32.gt_u (local.get $sW) (i32.const 1))
      (then
        (local.set $Wq (i32.div_u (local.get $Wp) (local.get $sW)))
        (loop $schan
          (local.set $hp (i32.const 0))
          (loop $srow
            (local.set $ih (i32.sub (local.get $hp) (local.get $pT)))
            (if (i32.ge_u (local.get $ih) (local.get $H))   ;; also catches ih < 0
              (then (call $zero (local.get $ws) (local.get $Wp)))
              (else
                (local.set $row (i32.add (local.get $x) (i32.shl (i32.mul (local.get $ih) (local.get $W)) (i32.const 2))))
                (local.set $dst (local.get $ws))
                ;; phase r holds padded columns r, r + sW, r + 2sW, ... (input column wp - pL)
                (local.set $r (i32.const 0))
                (loop $phase
                  (local.set $iw (i32.sub (local.get $r) (local.get $pL)))
                  (local.set $k (local.get $Wq))
                  (loop $scol
                    (i32.store (local.get $dst)
                      (if (result i32) (i32.lt_u (local.get $iw) (local.get $W))   ;; also rejects iw < 0
                        (then (i32.load (i32.add (local.get $row) (i32.shl (local.get $iw) (i32.const 2)))))
                        (else (i32.const 0))))
                    (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
                    (local.set $iw (i32.add (local.get $iw) (local.get $sW)))
                    (local.set $k (i32.sub (local.get $k) (i32.const 1)))
                    (br_if $scol (local.get $k)))
                  (local.set $r (i32.add (local.get $r) (i32.const 1)))
                  (br_if $phase (i32.lt_u (local.get $r) (local.get $sW))))))
            (local.set $ws (i32.add (local.get $ws) (i32.shl (local.get $Wp) (i32.const 2))))
            (local.set $hp (i32.add (local.get $hp) (i32.const 1)))
            (br_if $srow (i32.lt_u (local.get $hp) (local.get $Hp))))
          (local.set $x (i32.add (local.get $x) (i32.shl (i32.mul (local.get $H) (local.get $W)) (i32.const 2))))
          (local.set $c (i32.add (local.get $c) (i32.const 1)))
          (br_if $schan (i32.lt_u (local.get $c) (local.get $C))))
        (call $zero (local.get $ws) (i32.const 16))
        (return)))
    (local.set $lo (select (local.get $pL) (local.get $Wp) (i32.lt_u (local.get $pL) (local.get $Wp))))
    (local.set $hi (i32.add (local.get $pL) (local.get $W)))
    (if (i32.gt_u (local.get $hi) (local.get $Wp)) (then (local.set $hi (local.get $Wp))))
    (if (i32.lt_u (local.get $hi) (local.get $lo)) (then (local.set $hi (local.get $lo))))
    (loop $chan
      (local.set $hp (i32.const 0))
      (loop $row
        (local.set $ih (i32.sub (local.get $hp) (local.get $pT)))
        (if (i32.ge_u (local.get $ih) (local.get $H))   ;; also catches ih < 0
          (then (call $zero (local.get $ws) (local.get $Wp)))
          (else
            (call $zero (local.get $ws) (local.get $lo))
            (call $copy (i32.add (local.get $ws) (i32.shl (local.get $lo) (i32.const 2)))
                        (i32.add (local.get $x) (i32.shl (i32.sub (i32.add (i32.mul (local.get $ih) (local.get $W)) (local.get $lo)) (local.get $pL))
                                                         (i32.const 2)))
                        (i32.sub (local.get $hi) (local.get $lo)) (i32.const 1))
            (call $zero (i32.add (local.get $ws) (i32.shl (local.get $hi) (i32.const 2))) (i32.sub (local.get $Wp) (local.get $hi)))))
        (local.set $ws (i32.add (local.get $ws) (i32.shl (local.get $Wp) (i32.const 2))))
        (local.set $hp (i32.add (local.get $hp) (i32.const 1)))
        (br_if $row (i32.lt_u (local.get $hp) (local.get $Hp))))
      (local.set $x (i32.add (local.get $x) (i32.shl (i32.mul (local.get $H) (local.get $W)) (i32.const 2))))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br_if $chan (i32.lt_u (local.get $c) (local.get $C))))
    (call $zero (local.get $ws) (i32.const 16)))

  ;; ConvTranspose mode: ws = C planes of Hp x Wp, all +0 except x[c, i, j] at row
  ;; i*uH + offH, column j*uW + offW (when inside the plane; offsets may be negative), then
  ;; 16 spare +0.
  (func $scatter (param $x i32) (param $ws i32) (param $C i32) (param $H i32) (param $W i32)
        (param $Hp i32) (param $Wp i32) (param $uH i32) (param $uW i32) (param $offH i32) (param $offW i32)
    (local $c i32) (local $i i32) (local $j i32) (local $a i32) (local $b i32) (local $row i32) (local $plane i32)
    (local.set $plane (i32.shl (i32.mul (local.get $Hp) (local.get $Wp)) (i32.const 2)))
    (call $zero (local.get $ws) (i32.add (i32.mul (local.get $C) (i32.mul (local.get $Hp) (local.get $Wp))) (i32.const 16)))
    (loop $chan
      (local.set $i (i32.const 0))
      (loop $irow
        (local.set $a (i32.add (i32.mul (local.get $i) (local.get $uH)) (local.get $offH)))
        (if (i32.lt_u (local.get $a) (local.get $Hp))   ;; also rejects a < 0
          (then
            (local.set $row (i32.add (local.get $ws) (i32.shl (i32.mul (local.get $a) (local.get $Wp)) (i32.const 2))))
            (local.set $j (i32.const 0))
            (loop $jcol
              (local.set $b (i32.add (i32.mul (local.get $j) (local.get $uW)) (local.get $offW)))
              (if (i32.lt_u (local.get $b) (local.get $Wp))
                (then (i32.store (i32.add (local.get $row) (i32.shl (local.get $b) (i32.const 2)))
                                 (i32.load (i32.add (local.get $x) (i32.shl (local.get $j) (i32.const 2)))))))
              (local.set $j (i32.add (local.get $j) (i32.const 1)))
              (br_if $jcol (i32.lt_u (local.get $j) (local.get $W))))))
        (local.set $x (i32.add (local.get $x) (i32.shl (local.get $W) (i32.const 2))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $irow (i32.lt_u (local.get $i) (local.get $H))))
      (local.set $ws (i32.add (local.get $ws) (local.get $plane)))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br_if $chan (i32.lt_u (local.get $c) (local.get $C)))))

    ;; pack_w(src, dst, group, Mg, Cg, kSize, gStride, mStride, cStride) -> 1 if any weight is
  ;; not finite (Inf or NaN), else 0. Writes the interleaved weight layout described at the
  ;; top: for group g, block mb < ceil(Mg/4), q = c*kSize + kp < Cg*kSize, lane i < 4, the
  ;; weight of channel ml = 4mb + i (+0 when ml >= Mg), read at element
  ;; g*gStride + ml*mStride + c*cStride + kp of src. Conv passes Cg = 1, kSize = Kd,
  ;; gStride = Mg*Kd, mStride = Kd; ConvTranspose its Cg, kSize = KH*KW,
  ;; gStride = Cg*Mg*kSize, mStride = kSize, cStride = Mg*kSize. Bit copies (i32), no arithmetic.
  (func (export "pack_w") (param $src i32) (param $dst i32) (param $group i32) (param $Mg i32) (param $Cg i32)
        (param $kSize i32) (param $gStride i32) (param $mStride i32) (param $cStride i32) (result i32)
    (local $g i32) (local $m0 i32) (local $c i32) (local $kp i32) (local $off i32) (local $v i32) (local $bad i32)
    (local $r0 i32) (local $r1 i32) (local $r2 i32) (local $r3 i32) (local $ok1 i32) (local $ok2 i32) (local $ok3 i32) (local $ok0 i32)
    (local.set $ok0 (i32.const 1))
    (loop $grp
      (local.set $m0 (i32.const 0))
      (loop $blk
        ;; the block's four source rows; a channel past Mg reads row 0 and stores +0
        (local.set $r0 (i32.add (local.get $src)
          (i32.shl (i32.add (i32.mul (local.get $g) (local.get $gStride)) (i32.mul (local.get $m0) (local.get $mStride))) (i32.const 2))))
        (local.set $ok1 (i32.lt_u (i32.add (local.get $m0) (i32.const 1)) (local.get $Mg)))
        (local.set $ok2 (i32.lt_u (i32.add (local.get $m0) (i32.const 2)) (local.get $Mg)))
        (local.set $ok3 (i32.lt_u (i32.add (local.get $m0) (i32.const 3)) (local.get $Mg)))
        (local.set $r1 (select (i32.add (local.get $r0) (i32.shl (local.get $mStride) (i32.const 2))) (local.get $r0) (local.get $ok1)))
        (local.set $r2 (select (i32.add (local.get $r0) (i32.shl (local.get $mStride) (i32.const 3))) (local.get $r0) (local.get $ok2)))
        (local.set $r3 (select (i32.add (local.get $r0) (i32.mul (local.get $mStride) (i32.const 12))) (local.get $r0) (local.get $ok3)))
        (local.set $c (i32.const 0))
        (loop $chan
          (local.set $off (i32.shl (i32.mul (local.get $c) (local.get $cStride)) (i32.const 2)))
          (local.set $kp (local.get $kSize))
          (loop $tap
            (local.set $v (select (i32.load (i32.add (local.get $r0) (local.get $off))) (i32.const 0) (local.get $ok0)))
            (local.set $bad (i32.or (local.get $bad) (i32.eq (i32.and (local.get $v) (i32.const 0x7f800000)) (i32.const 0x7f800000))))
            (i32.store offset=0 (local.get $dst) (local.get $v))
            (local.set $v (select (i32.load (i32.add (local.get $r1) (local.get $off))) (i32.const 0) (local.get $ok1)))
            (local.set $bad (i32.or (local.get $bad) (i32.eq (i32.and (local.get $v) (i32.const 0x7f800000)) (i32.const 0x7f800000))))
            (i32.store offset=4 (local.get $dst) (local.get $v))
            (local.set $v (select (i32.load (i32.add (local.get $r2) (local.get $off))) (i32.const 0) (local.get $ok2)))
            (local.set $bad (i32.or (local.get $bad) (i32.eq (i32.and (local.get $v) (i32.const 0x7f800000)) (i32.const 0x7f800000))))
            (i32.store offset=8 (local.get $dst) (local.get $v))
            (local.set $v (select (i32.load (i32.add (local.get $r3) (local.get $off))) (i32.const 0) (local.get $ok3)))
            (local.set $bad (i32.or (local.get $bad) (i32.eq (i32.and (local.get $v) (i32.const 0x7f800000)) (i32.const 0x7f800000))))
            (i32.store offset=12 (local.get $dst) (local.get $v))
            (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
            (local.set $off (i32.add (local.get $off) (i32.const 4)))
            (local.set $kp (i32.sub (local.get $kp) (i32.const 1)))
            (br_if $tap (local.get $kp)))
          (local.set $c (i32.add (local.get $c) (i32.const 1)))
          (br_if $chan (i32.lt_u (local.get $c) (local.get $Cg))))
        (local.set $m0 (i32.add (local.get $m0) (i32.const 4)))
        (br_if $blk (i32.lt_u (local.get $m0) (local.get $Mg))))
      (local.set $g (i32.add (local.get $g) (i32.const 1)))
      (br_if $grp (i32.lt_u (local.get $g) (local.get $group))))
    (local.get $bad))

  ;; conv2d_f32(...): the whole node (all images, all groups). Requires N, C, M, group,
  ;; KH, KW, OH, OW, strides, dilations >= 1, C and M multiples of group.
  ;; direct = 2 (ConvTranspose, see convolution.ts): ws holds each image scattered by
  ;;   $scatter (uH, uW: the transposed strides; pT, pL: the offsets offH, offW), taps are
  ;;   read in flipped positions (KH-1-kh, KW-1-kw), output rows step by sH = 1 (and
  ;;   sW = 1: no phases); otherwise as direct = 1.
  ;; direct = 1: ws holds each image padded to Hp x Wp planes ($pad; Hp = (OH-1)*sH +
  ;;   (KH-1)*dH + 1, Wp = sW*Wq with Wq = ceil(((OW-1)*sW + (KW-1)*dW + 1) / sW)) and the
  ;;   8 input values of a tap for pixels ow0 .. ow0+7 of output row oh are one contiguous
  ;;   load (lanes past OW read spare values and are never stored); pixel blocks stay
  ;;   inside an output row.
  ;; direct = 0: ws holds the column matrix of one (image, group) ($im2col); pixel blocks
  ;;   run over the flattened output plane.
  ;; tab: workspace for Kd i32 tap offsets.
  (func (export "conv2d_f32") (param $x i32) (param $w i32) (param $b i32) (param $hasB i32)
        (param $ws i32) (param $tab i32) (param $y i32)
        (param $N i32) (param $C i32) (param $H i32) (param $W i32) (param $M i32) (param $group i32)
        (param $KH i32) (param $KW i32) (param $OH i32) (param $OW i32)
        (param $sH i32) (param $sW i32) (param $dH i32) (param $dW i32) (param $pT i32) (param $pL i32)
        (param $direct i32) (param $Hp i32) (param $Wp i32) (param $uH i32) (param $uW i32)
    (local $Cg i32) (local $Mg i32) (local $Kd i32) (local $P i32) (local $Pp i32)
    (local $n i32) (local $g i32) (local $p0 i32) (local $q i32)
    (local $c i32) (local $kh i32) (local $kw i32) (local $plane i32)
    (local $wg i32) (local $yg i32) (local $bg i32) (local $ys i32) (local $toH i32) (local $toW i32)
    (local.set $Cg (i32.div_u (local.get $C) (local.get $group)))
    (local.set $Mg (i32.div_u (local.get $M) (local.get $group)))
    (local.set $Kd (i32.mul (local.get $Cg) (i32.mul (local.get $KH) (local.get $KW))))
    (local.set $P (i32.mul (local.get $OH) (local.get $OW)))
    (local.set $Pp (i32.and (i32.add (local.get $P) (i32.const 7)) (i32.const -8)))
    (local.set $ys (i32.shl (local.get $P) (i32.const 2)))
    (local.set $plane (i32.shl (i32.mul (local.get $Hp) (local.get $Wp)) (i32.const 2)))
    ;; tap offsets in q = (c*KH + kh)*KW + kw order
    (loop $tc
      (local.set $kh (i32.const 0))
      (loop $th
        (local.set $kw (i32.const 0))
        (loop $tw
          ;; kernel offsets (flipped for ConvTranspose)
          (local.set $toH (i32.mul (select (i32.sub (i32.sub (local.get $KH) (i32.const 1)) (local.get $kh)) (local.get $kh)
                                           (i32.eq (local.get $direct) (i32.const 2))) (local.get $dH)))
          (local.set $toW (i32.mul (select (i32.sub (i32.sub (local.get $KW) (i32.const 1)) (local.get $kw)) (local.get $kw)
                                           (i32.eq (local.get $direct) (i32.const 2))) (local.get $dW)))
          (i32.store (i32.add (local.get $tab) (i32.shl (local.get $q) (i32.const 2)))
            (if (result i32) (local.get $direct)
              ;; padded column toW lives in phase toW mod sW, at toW / sW (see $pad)
              (then (i32.add (i32.mul (local.get $c) (local.get $plane))
                             (i32.shl (i32.add (i32.mul (local.get $toH) (local.get $Wp))
                                               (i32.add (i32.mul (i32.rem_u (local.get $toW) (local.get $sW)) (i32.div_u (local.get $Wp) (local.get $sW)))
                                                        (i32.div_u (local.get $toW) (local.get $sW))))
                                      (i32.const 2))))
              (else (i32.shl (i32.mul (local.get $q) (local.get $Pp)) (i32.const 2)))))
          (local.set $q (i32.add (local.get $q) (i32.const 1)))
          (local.set $kw (i32.add (local.get $kw) (i32.const 1)))
          (br_if $tw (i32.lt_u (local.get $kw) (local.get $KW))))
        (local.set $kh (i32.add (local.get $kh) (i32.const 1)))
        (br_if $th (i32.lt_u (local.get $kh) (local.get $KH))))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br_if $tc (i32.lt_u (local.get $c) (local.get $Cg))))
    (loop $image
      (if (i32.eq (local.get $direct) (i32.const 1))
        (then (call $pad
          (i32.add (local.get $x) (i32.shl (i32.mul (i32.mul (local.get $n) (local.get $C)) (i32.mul (local.get $H) (local.get $W))) (i32.const 2)))
          (local.get $ws) (local.get $C) (local.get $H) (local.get $W) (local.get $Hp) (local.get $Wp) (local.get $pT) (local.get $pL)
          (local.get $sW))))
      (if (i32.eq (local.get $direct) (i32.const 2))
        (then (call $scatter
          (i32.add (local.get $x) (i32.shl (i32.mul (i32.mul (local.get $n) (local.get $C)) (i32.mul (local.get $H) (local.get $W))) (i32.const 2)))
          (local.get $ws) (local.get $C) (local.get $H) (local.get $W) (local.get $Hp) (local.get $Wp)
          (local.get $uH) (local.get $uW) (local.get $pT) (local.get $pL))))
      (local.set $g (i32.const 0))
      (loop $grp
        (local.set $wg (i32.add (local.get $w)
          (i32.shl (i32.mul (i32.mul (local.get $g) (i32.shr_u (i32.add (local.get $Mg) (i32.const 3)) (i32.const 2))) (local.get $Kd))
                   (i32.const 4))))
        (local.set $yg (i32.add (local.get $y)
          (i32.shl (i32.mul (i32.add (i32.mul (local.get $n) (local.get $M)) (i32.mul (local.get $g) (local.get $Mg))) (local.get $P))
                   (i32.const 2))))
        (local.set $bg (i32.add (local.get $b) (i32.shl (i32.mul (local.get $g) (local.get $Mg)) (i32.const 2))))
        (if (local.get $direct)
          (then
            ;; every output row oh: inputs from row oh*sH of the padded planes
            (call $channels (local.get $wg) (local.get $Kd)
              (i32.add (local.get $ws) (i32.mul (i32.mul (local.get $g) (local.get $Cg)) (local.get $plane))) (local.get $tab)
              (local.get $yg) (local.get $ys) (local.get $bg) (local.get $hasB) (local.get $OW) (local.get $Mg)
              (local.get $OH) (i32.shl (i32.mul (local.get $sH) (local.get $Wp)) (i32.const 2)) (i32.shl (local.get $OW) (i32.const 2))))
          (else
            (call $im2col
              (i32.add (local.get $x)
                (i32.shl (i32.mul (i32.add (i32.mul (local.get $n) (local.get $C)) (i32.mul (local.get $g) (local.get $Cg)))
                                  (i32.mul (local.get $H) (local.get $W))) (i32.const 2)))
              (local.get $ws) (local.get $Cg) (local.get $H) (local.get $W)
              (local.get $KH) (local.get $KW) (local.get $OH) (local.get $OW)
              (local.get $sH) (local.get $sW) (local.get $dH) (local.get $dW) (local.get $pT) (local.get $pL) (local.get $Pp))
            (local.set $p0 (i32.const 0))
            (loop $pix
              (call $channels (local.get $wg) (local.get $Kd)
                (i32.add (local.get $ws) (i32.shl (local.get $p0) (i32.const 2))) (local.get $tab)
                (i32.add (local.get $yg) (i32.shl (local.get $p0) (i32.const 2))) (local.get $ys)
                (local.get $bg) (local.get $hasB)
                (select (i32.const 16) (i32.sub (local.get $P) (local.get $p0)) (i32.gt_u (i32.sub (local.get $P) (local.get $p0)) (i32.const 16)))
                (local.get $Mg) (i32.const 1) (i32.const 0) (i32.const 0))
              (local.set $p0 (i32.add (local.get $p0) (i32.const 16)))
              (br_if $pix (i32.lt_u (local.get $p0) (local.get $P))))))
        (local.set $g (i32.add (local.get $g) (i32.const 1)))
        (br_if $grp (i32.lt_u (local.get $g) (local.get $group))))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br_if $image (i32.lt_u (local.get $n) (local.get $N)))))
)
