;; pool.wat: 2-D MaxPool on float32 in WebAssembly SIMD (128-bit SIMD only: no
;; relaxed-simd, no threads). Assembled by scripts/build-wasm.mjs into pool.wasm.ts; the
;; readable reference is pool2d in ../ops/pool.ts, and both give the same bits (tested in
;; pool.test.ts).
;;
;; Only compares, bit operations and moves touch the values (loads and stores go through
;; i32 so that no float instruction ever carries a value), which are exact and fully
;; deterministic in WebAssembly: even NaN bit patterns are defined here.
;;
;; The rule (pool.ts MaxPool), per output element: visit the window's in-input positions
;; in kernel row-major order (padding never participates); acc = the first one; then for
;; each later x: acc = x if x > acc, or if acc is NaN and x is not. So ties keep the
;; earliest element (-0 before +0 stays -0), NaNs are dropped unless every element is NaN
;; (then the first NaN), and a window with no in-input position gives -Inf (the JS loop's
;; identity; MaxPool rejects such windows before computing). The result is stored with
;; the quiet bit (0x00400000) set on a NaN, sign and payload kept: the bits the JS loop
;; stores after reading the float32 into a JS number (float32 -> float64 -> float32
;; conversion quiets a signalling NaN).
;;
;; SIMD: four adjacent output columns at a time, for the columns whose windows lie inside
;; the input horizontally (ow in [owA, owB), computed by the caller); per window position
;; the four lanes' elements are gathered (stride 1: one load; stride 2: two loads and a
;; shuffle of the even lanes; other strides: four lane loads), and
;;   acc = bitselect(x, acc, (x > acc) | ((acc != acc) & (x == x))).
;; kernel width 2 with stride 2 (the common 2x2/2 pool) loads 8 consecutive values per
;; window row and splits them into the even (j = 0) and odd (j = 1) lanes. When the
;; interior width is not a multiple of 4, its last four columns are computed as one more
;; (overlapping) vector. Border columns, and rows with fewer than 4 interior columns, run
;; the same rule one lane at a time.
(module
  ;; the scratch memory shared by the kernel modules (runtime.ts); re-exported so callers reach it as mem
  (import "env" "mem" (memory 1))
  (export "mem" (memory 0))

  ;; One output element (plane base xp, window top-left hs, ws in input coordinates),
  ;; scalar: returns the bits to store.
  (func $one (param $xp i32) (param $H i32) (param $W i32) (param $hs i32) (param $ws i32)
             (param $kH i32) (param $kW i32) (param $dH i32) (param $dW i32) (result i32)
    (local $i i32) (local $j i32) (local $h i32) (local $w i32) (local $row i32)
    (local $first i32) (local $acc i32) (local $v i32)
    (local.set $first (i32.const 1))
    (local.set $acc (i32.const 0xff800000)) ;; -Inf for an empty window
    (local.set $i (i32.const 0))
    (block $idone
      (loop $inext
        (br_if $idone (i32.ge_s (local.get $i) (local.get $kH)))
        (local.set $h (i32.add (local.get $hs) (i32.mul (local.get $i) (local.get $dH))))
        (if (i32.and (i32.ge_s (local.get $h) (i32.const 0)) (i32.lt_s (local.get $h) (local.get $H)))
          (then
            (local.set $row (i32.add (local.get $xp) (i32.shl (i32.mul (local.get $h) (local.get $W)) (i32.const 2))))
            (local.set $j (i32.const 0))
            (block $jdone
              (loop $jnext
                (br_if $jdone (i32.ge_s (local.get $j) (local.get $kW)))
                (local.set $w (i32.add (local.get $ws) (i32.mul (local.get $j) (local.get $dW))))
                (if (i32.and (i32.ge_s (local.get $w) (i32.const 0)) (i32.lt_s (local.get $w) (local.get $W)))
                  (then
                    (local.set $v (i32.load (i32.add (local.get $row) (i32.shl (local.get $w) (i32.const 2)))))
                    (if (local.get $first)
                      (then (local.set $acc (local.get $v)) (local.set $first (i32.const 0)))
                      (else
                        (if (i32.or
                              (f32.gt (f32.reinterpret_i32 (local.get $v)) (f32.reinterpret_i32 (local.get $acc)))
                              (i32.and
                                (f32.ne (f32.reinterpret_i32 (local.get $acc)) (f32.reinterpret_i32 (local.get $acc)))
                                (f32.eq (f32.reinterpret_i32 (local.get $v)) (f32.reinterpret_i32 (local.get $v)))))
                          (then (local.set $acc (local.get $v))))))))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br $jnext)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $inext)))
    ;; quiet a NaN
    (if (result i32) (f32.ne (f32.reinterpret_i32 (local.get $acc)) (f32.reinterpret_i32 (local.get $acc)))
      (then (i32.or (local.get $acc) (i32.const 0x00400000)))
      (else (local.get $acc))))

  ;; Four lanes' elements at addr, addr + 4*s, addr + 8*s, addr + 12*s.
  (func $gather (param $addr i32) (param $s i32) (result v128)
    (local $st i32)
    (if (i32.eq (local.get $s) (i32.const 1)) (then (return (v128.load (local.get $addr)))))
    (if (i32.eq (local.get $s) (i32.const 2))
      (then
        (return (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27
                  (v128.load (local.get $addr))
                  (v128.load offset=16 (local.get $addr))))))
    (local.set $st (i32.shl (local.get $s) (i32.const 2)))
    (i32x4.replace_lane 3
      (i32x4.replace_lane 2
        (i32x4.replace_lane 1
          (v128.load32_splat (local.get $addr))
          (i32.load (i32.add (local.get $addr) (local.get $st))))
        (i32.load (i32.add (local.get $addr) (i32.shl (local.get $st) (i32.const 1)))))
      (i32.load (i32.add (local.get $addr) (i32.mul (local.get $st) (i32.const 3))))))

  ;; 2x2 window, stride 2, no dilation, both window rows inside the input: outputs
  ;; ow = a, a+4, ... of one output row, four at a time, the last group overlapping
  ;; (owB - a >= 4 columns, all interior). r0: input address of row hs, column a*2 - pL.
  ;; Window order (0,0), (0,1), (1,0), (1,1): the even/odd lanes of row 0, then of row 1.
  (func $row_2x2 (param $r0 i32) (param $rowBytes i32) (param $y i32) (param $a i32) (param $b i32)
    (local $ow i32) (local $r i32) (local $v0 v128) (local $v1 v128) (local $e v128) (local $o v128) (local $acc v128)
    (local.set $ow (local.get $a))
    (loop $next
      (if (i32.gt_s (i32.add (local.get $ow) (i32.const 4)) (local.get $b))
        (then (local.set $ow (i32.sub (local.get $b) (i32.const 4)))))
      (local.set $r (i32.add (local.get $r0) (i32.shl (i32.sub (local.get $ow) (local.get $a)) (i32.const 3))))
      (local.set $v0 (v128.load (local.get $r)))
      (local.set $v1 (v128.load offset=16 (local.get $r)))
      (local.set $acc (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $v0) (local.get $v1)))
      (local.set $o (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $v0) (local.get $v1)))
        (local.set $acc (v128.bitselect (local.get $o) (local.get $acc)
          (v128.or (f32x4.gt (local.get $o) (local.get $acc))
                   (v128.and (f32x4.ne (local.get $acc) (local.get $acc)) (f32x4.eq (local.get $o) (local.get $o))))))
      (local.set $r (i32.add (local.get $r) (local.get $rowBytes)))
      (local.set $v0 (v128.load (local.get $r)))
      (local.set $v1 (v128.load offset=16 (local.get $r)))
      (local.set $e (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $v0) (local.get $v1)))
      (local.set $o (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $v0) (local.get $v1)))
        (local.set $acc (v128.bitselect (local.get $e) (local.get $acc)
          (v128.or (f32x4.gt (local.get $e) (local.get $acc))
                   (v128.and (f32x4.ne (local.get $acc) (local.get $acc)) (f32x4.eq (local.get $e) (local.get $e))))))
        (local.set $acc (v128.bitselect (local.get $o) (local.get $acc)
          (v128.or (f32x4.gt (local.get $o) (local.get $acc))
                   (v128.and (f32x4.ne (local.get $acc) (local.get $acc)) (f32x4.eq (local.get $o) (local.get $o))))))
      ;; quiet the NaN lanes
      (v128.store (i32.add (local.get $y) (i32.shl (local.get $ow) (i32.const 2)))
        (v128.or (local.get $acc)
          (v128.and (f32x4.ne (local.get $acc) (local.get $acc))
                    (v128.const i32x4 0x00400000 0x00400000 0x00400000 0x00400000))))
      (local.set $ow (i32.add (local.get $ow) (i32.const 4)))
      (br_if $next (i32.lt_s (local.get $ow) (local.get $b)))))

  ;; maxpool2d_f32(x, y, planes, H, W, OH, OW, kH, kW, sH, sW, dH, dW, pT, pL, owA, owB):
  ;; x: planes x H x W float32 (byte address), y: planes x OH x OW. Window of output (oh, ow)
  ;; starts at input (oh*sH - pT, ow*sW - pL), positions (i*dH, j*dW) for i < kH, j < kW.
  ;; Columns ow in [owA, owB) must have every window column inside [0, W). The memory
  ;; after x must be readable for 32 more bytes (stride-2 gathers read one value past).
  (func (export "maxpool2d_f32")
        (param $x i32) (param $y i32) (param $planes i32) (param $H i32) (param $W i32)
        (param $OH i32) (param $OW i32) (param $kH i32) (param $kW i32) (param $sH i32) (param $sW i32)
        (param $dH i32) (param $dW i32) (param $pT i32) (param $pL i32) (param $owA i32) (param $owB i32)
    (local $pl i32) (local $oh i32) (local $ow i32) (local $hs i32) (local $ws i32) (local $h i32)
    (local $i i32) (local $j i32) (local $row i32) (local $first i32) (local $acc v128) (local $v v128) (local $v2 v128) (local $e v128) (local $pair i32) (local $quad i32)
    (local $yrow i32) (local $planeBytes i32) (local $dWBytes i32) (local $sWBytes i32)
    (local.set $pair (i32.and (i32.and (i32.eq (local.get $kW) (i32.const 2)) (i32.eq (local.get $sW) (i32.const 2)))
                              (i32.eq (local.get $dW) (i32.const 1))))
    (local.set $quad (i32.and (local.get $pair) (i32.and (i32.eq (local.get $kH) (i32.const 2)) (i32.eq (local.get $dH) (i32.const 1)))))
    (local.set $planeBytes (i32.shl (i32.mul (local.get $H) (local.get $W)) (i32.const 2)))
    (local.set $dWBytes (i32.shl (local.get $dW) (i32.const 2)))
    (local.set $sWBytes (i32.shl (local.get $sW) (i32.const 2)))
    (local.set $pl (i32.const 0))
    (block $pdone
      (loop $pnext
        (br_if $pdone (i32.ge_u (local.get $pl) (local.get $planes)))
        (local.set $oh (i32.const 0))
        (block $hdone
          (loop $hnext
            (br_if $hdone (i32.ge_s (local.get $oh) (local.get $OH)))
            (local.set $hs (i32.sub (i32.mul (local.get $oh) (local.get $sH)) (local.get $pT)))
            ;; left border columns
            (local.set $ow (i32.const 0))
            (block $ldone
              (loop $lnext
                (br_if $ldone (i32.ge_s (local.get $ow) (local.get $owA)))
                (i32.store (i32.add (local.get $y) (i32.shl (local.get $ow) (i32.const 2)))
                  (call $one (local.get $x) (local.get $H) (local.get $W) (local.get $hs)
                    (i32.sub (i32.mul (local.get $ow) (local.get $sW)) (local.get $pL))
                    (local.get $kH) (local.get $kW) (local.get $dH) (local.get $dW)))
                (local.set $ow (i32.add (local.get $ow) (i32.const 1)))
                (br $lnext)))
            ;; the common 2x2/2 pool with both window rows inside: $row_2x2
            (if (i32.and (i32.and (local.get $quad) (i32.ge_s (i32.sub (local.get $owB) (local.get $ow)) (i32.const 4)))
                         (i32.and (i32.ge_s (local.get $hs) (i32.const 0)) (i32.lt_s (i32.add (local.get $hs) (i32.const 1)) (local.get $H))))
              (then
                (call $row_2x2
                  (i32.add (local.get $x) (i32.shl (i32.add (i32.mul (local.get $hs) (local.get $W))
                                                            (i32.sub (i32.shl (local.get $ow) (i32.const 1)) (local.get $pL)))
                                                   (i32.const 2)))
                  (i32.shl (local.get $W) (i32.const 2)) (local.get $y) (local.get $ow) (local.get $owB))
                (local.set $ow (local.get $owB))))
            ;; interior columns, four at a time; a last partial group is redone as the
            ;; four columns owB-4 .. owB-1 (overlapping ones are stored again with the
            ;; same bits), so only rows with fewer than 4 interior columns go scalar
            (block $vdone
              (loop $vnext
                (br_if $vdone (i32.ge_s (local.get $ow) (local.get $owB)))
                (if (i32.gt_s (i32.add (local.get $ow) (i32.const 4)) (local.get $owB))
                  (then
                    (br_if $vdone (i32.lt_s (i32.sub (local.get $owB) (i32.const 4)) (local.get $owA)))
                    (local.set $ow (i32.sub (local.get $owB) (i32.const 4)))))
                (local.set $ws (i32.sub (i32.mul (local.get $ow) (local.get $sW)) (local.get $pL)))
                (local.set $first (i32.const 1))
                (local.set $acc (v128.const i32x4 0xff800000 0xff800000 0xff800000 0xff800000))
                (local.set $i (i32.const 0))
                (block $idone
                  (loop $inext
                    (br_if $idone (i32.ge_s (local.get $i) (local.get $kH)))
                    (local.set $h (i32.add (local.get $hs) (i32.mul (local.get $i) (local.get $dH))))
                    (if (i32.and (i32.ge_s (local.get $h) (i32.const 0)) (i32.lt_s (local.get $h) (local.get $H)))
                      (then
                        (local.set $row (i32.add (local.get $x)
                          (i32.shl (i32.add (i32.mul (local.get $h) (local.get $W)) (local.get $ws)) (i32.const 2))))
                        (if (local.get $pair)
                          (then
                            ;; kW = 2, sW = 2, dW = 1: the even and odd lanes of 8 consecutive values
                            (local.set $v (v128.load (local.get $row)))
                            (local.set $v2 (v128.load offset=16 (local.get $row)))
                            (local.set $e (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $v) (local.get $v2)))
                            (local.set $v (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $v) (local.get $v2)))
                            (if (local.get $first)
                              (then (local.set $acc (local.get $e)) (local.set $first (i32.const 0)))
                              (else
                                (local.set $acc
                                  (v128.bitselect (local.get $e) (local.get $acc)
                                    (v128.or
                                      (f32x4.gt (local.get $e) (local.get $acc))
                                      (v128.and (f32x4.ne (local.get $acc) (local.get $acc))
                                                (f32x4.eq (local.get $e) (local.get $e))))))))
                            (local.set $acc
                              (v128.bitselect (local.get $v) (local.get $acc)
                                (v128.or
                                  (f32x4.gt (local.get $v) (local.get $acc))
                                  (v128.and (f32x4.ne (local.get $acc) (local.get $acc))
                                            (f32x4.eq (local.get $v) (local.get $v))))))
                            (local.set $j (local.get $kW)))
                          (else (local.set $j (i32.const 0))))
                        (block $jdone
                          (loop $jnext
                            (br_if $jdone (i32.ge_s (local.get $j) (local.get $kW)))
                            (local.set $v
                              (if (result v128) (i32.eq (local.get $sW) (i32.const 1))
                                (then (v128.load (local.get $row)))
                                (else (call $gather (local.get $row) (local.get $sW)))))
                            (if (local.get $first)
                              (then (local.set $acc (local.get $v)) (local.set $first (i32.const 0)))
                              (else
                                (local.set $acc
                                  (v128.bitselect (local.get $v) (local.get $acc)
                                    (v128.or
                                      (f32x4.gt (local.get $v) (local.get $acc))
                                      (v128.and (f32x4.ne (local.get $acc) (local.get $acc))
                                                (f32x4.eq (local.get $v) (local.get $v))))))))
                            (local.set $row (i32.add (local.get $row) (local.get $dWBytes)))
                            (local.set $j (i32.add (local.get $j) (i32.const 1)))
                            (br $jnext)))))
                    (local.set $i (i32.add (local.get $i) (i32.const 1)))
                    (br $inext)))
                ;; quiet the NaN lanes
                (v128.store (i32.add (local.get $y) (i32.shl (local.get $ow) (i32.const 2)))
                  (v128.or (local.get $acc)
                    (v128.and (f32x4.ne (local.get $acc) (local.get $acc))
                              (v128.const i32x4 0x00400000 0x00400000 0x00400000 0x00400000))))
                (local.set $ow (i32.add (local.get $ow) (i32.const 4)))
                (br $vnext)))
            ;; the rest: last interior columns and the right border
            (block $rdone
              (loop $rnext
                (br_if $rdone (i32.ge_s (local.get $ow) (local.get $OW)))
                (i32.store (i32.add (local.get $y) (i32.shl (local.get $ow) (i32.const 2)))
                  (call $one (local.get $x) (local.get $H) (local.get $W) (local.get $hs)
                    (i32.sub (i32.mul (local.get $ow) (local.get $sW)) (local.get $pL))
                    (local.get $kH) (local.get $kW) (local.get $dH) (local.get $dW)))
                (local.set $ow (i32.add (local.get $ow) (i32.const 1)))
                (br $rnext)))
            (local.set $y (i32.add (local.get $y) (i32.shl (local.get $OW) (i32.const 2))))
            (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
            (br $hnext)))
        (local.set $x (i32.add (local.get $x) (local.get $planeBytes)))
        (local.set $pl (i32.add (local.get $pl) (i32.const 1)))
        (br $pnext)))))
