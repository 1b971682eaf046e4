;; gemm.wat: the canonical float32 matrix product C = A·B in WebAssembly SIMD
;; (128-bit SIMD only: no relaxed-simd, no threads). Assembled by scripts/build-wasm.mjs
;; into gemm.wasm.ts; the readable reference is gemmF32Js in ../ops/matmul.ts, and both
;; give the same bits (tested in ../ops/matmul.test.ts).
;;
;; Canonical order (DESIGN.md), for every output element C[i, j]:
;;     acc = +0;  for k = 0, 1, ..., K-1:  acc = f32(acc + f32(A[i, k] * B[k, j]))
;; Here each f32x4 lane holds one output element's acc. f32x4.mul and f32x4.add are
;; IEEE-754 binary32 operations rounding to nearest-even per lane, subnormals kept, and
;; a multiply followed by a separate add is never fused, so each lane performs exactly
;; its element's canonical steps, k increasing. Only NaN bit patterns are not
;; deterministic in WebAssembly arithmetic; canonical tensor encoding collapses every NaN.
;;
;; Schedule (changes no element's order; only which elements are in flight together):
;;  1. $pack_b copies B once into panels of 8 columns: panel p holds B[k, 8p .. 8p+7]
;;     for k = 0 .. K-1, 32 contiguous bytes per k; columns >= N are +0 (their results
;;     land in C's padding columns and are dropped by the caller).
;;  2. Rows of A go in blocks of 4. $pack_a4 interleaves a block as A[i..i+3, k], 16
;;     bytes per k, so the tile reads A through one pointer.
;;  3. $tile_4x8 computes a 4-row x 8-column block of C in 8 v128 registers
;;     (4 rows x 2 vectors), k = 0 .. K-1 in order, then stores it. Per k: two vector
;;     loads of B, four splat loads of A, 8 f32x4.mul and 8 f32x4.add. The 8
;;     accumulators + 2 B vectors + 1 splat fit the 16 xmm registers of x86-64; larger
;;     tiles spill and are slower (issue 7; 6x8 and 4x12 measured no faster here).
;;  4. The last M mod 4 rows use $tile_1x8, reading the row of A in place.
;; The 8 columns of a tile are independent outputs, so their order inside a k step is
;; irrelevant; what matters is that every accumulator sees k = 0, 1, ... in turn.
;; Measured on the Xeon (Sapphire Rapids, AVX-512; V8 emits VEX 128-bit code) of issue 7:
;; TurboFan keeps all 8 accumulators in registers and the loop is bound by the FP ports
;; (8 vmulps + 8 vaddps per k, about 21 GMAC/s); 3x8, 5x8, 6x8, 4x8 with k unrolled by 2
;; and 6x8 unrolled by 2 were all the same speed or 3-15% slower.
;;
;; Exports (all addresses are byte offsets chosen by the caller, ../ops/matmul.ts and
;; ./gemm.ts; regions must not overlap):
;;   gemm(a, b, c, M, K, N, ws)        one-shot, the layout src/platform/pool-worker.mjs uses:
;;       a: A, M x K row-major         b: B, K x N row-major
;;       c: C, M x Np row-major, Np = N rounded up to a multiple of 8 (fully overwritten)
;;       ws: K*Np*4 bytes (packed B) followed by 16*K bytes (packed A block)
;;   pack_b(b, K, N, dst)              B -> panels (K*Np*4 bytes at dst), kept by the caller
;;   pack_b_rows(b, R, N, dst, K)      the same, a block of R rows of B at a time
;;   gemm_packed(a, bp, c, M, K, N, wa) C (exactly M x N) = A · (B packed at bp);
;;       wa: 16*K + 128 bytes of workspace
;;   gemm_batch(tab, count, M, K, N, ws) count products in one call (see there)
;;   gemm_scale(c, M, N, alpha, ...)   Gemm's alpha/beta/C step on a finished product
(module
  (memory (export "mem") 1)

  ;; C[4 x 8 block at pc, row stride ldc bytes] = sum over k of A[4 rows, k] * B[k, 8 cols],
  ;; A packed (16 bytes per k, pa .. pend), B a packed panel (32 bytes per k, from pb).
  (func $tile_4x8 (param $pa i32) (param $pend i32) (param $pb i32) (param $pc i32) (param $ldc i32)
    (local $c00 v128) (local $c01 v128)   ;; row 0: columns 0-3, 4-7
    (local $c10 v128) (local $c11 v128)   ;; row 1
    (local $c20 v128) (local $c21 v128)   ;; row 2
    (local $c30 v128) (local $c31 v128)   ;; row 3
    (local $b0 v128) (local $b1 v128)     ;; B[k, 0-3], B[k, 4-7]
    (local $x v128)                       ;; A[row, k] in all four lanes
    ;; acc = +0 in every lane (v128 locals start as all-zero bits; stated here for the reader)
    (local.set $c00 (v128.const f32x4 0 0 0 0)) (local.set $c01 (v128.const f32x4 0 0 0 0))
    (local.set $c10 (v128.const f32x4 0 0 0 0)) (local.set $c11 (v128.const f32x4 0 0 0 0))
    (local.set $c20 (v128.const f32x4 0 0 0 0)) (local.set $c21 (v128.const f32x4 0 0 0 0))
    (local.set $c30 (v128.const f32x4 0 0 0 0)) (local.set $c31 (v128.const f32x4 0 0 0 0))
    (if (i32.lt_u (local.get $pa) (local.get $pend))   ;; K > 0
      (then
        (loop $k
          (local.set $b0 (v128.load offset=0 (local.get $pb)))
          (local.set $b1 (v128.load offset=16 (local.get $pb)))
          ;; row 0: acc = f32(acc + f32(a * b)), lane by lane
          (local.set $x (v128.load32_splat offset=0 (local.get $pa)))
          (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $x) (local.get $b0))))
          (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $x) (local.get $b1))))
          ;; row 1
          (local.set $x (v128.load32_splat offset=4 (local.get $pa)))
          (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $x) (local.get $b0))))
          (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $x) (local.get $b1))))
          ;; row 2
          (local.set $x (v128.load32_splat offset=8 (local.get $pa)))
          (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $x) (local.get $b0))))
          (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $x) (local.get $b1))))
          ;; row 3
          (local.set $x (v128.load32_splat offset=12 (local.get $pa)))
          (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $x) (local.get $b0))))
          (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $x) (local.get $b1))))
          ;; next k
          (local.set $pa (i32.add (local.get $pa) (i32.const 16)))
          (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
          (br_if $k (i32.lt_u (local.get $pa) (local.get $pend))))))
    (v128.store offset=0 (local.get $pc) (local.get $c00))
    (v128.store offset=16 (local.get $pc) (local.get $c01))
    (local.set $pc (i32.add (local.get $pc) (local.get $ldc)))
    (v128.store offset=0 (local.get $pc) (local.get $c10))
    (v128.store offset=16 (local.get $pc) (local.get $c11))
    (local.set $pc (i32.add (local.get $pc) (local.get $ldc)))
    (v128.store offset=0 (local.get $pc) (local.get $c20))
    (v128.store offset=16 (local.get $pc) (local.get $c21))
    (local.set $pc (i32.add (local.get $pc) (local.get $ldc)))
    (v128.store offset=0 (local.get $pc) (local.get $c30))
    (v128.store offset=16 (local.get $pc) (local.get $c31)))

  ;; One row: C[1 x 8 at pc] = sum over k of A[row, k] * B[k, 8 cols]; the row of A is
  ;; read in place (4 bytes per k, pa .. pend), B a packed panel (32 bytes per k).
  (func $tile_1x8 (param $pa i32) (param $pend i32) (param $pb i32) (param $pc i32)
    (local $c0 v128) (local $c1 v128) (local $x v128)
    (local.set $c0 (v128.const f32x4 0 0 0 0))
    (local.set $c1 (v128.const f32x4 0 0 0 0))
    (if (i32.lt_u (local.get $pa) (local.get $pend))
      (then
        (loop $k
          (local.set $x (v128.load32_splat (local.get $pa)))
          (local.set $c0 (f32x4.add (local.get $c0) (f32x4.mul (local.get $x) (v128.load offset=0 (local.get $pb)))))
          (local.set $c1 (f32x4.add (local.get $c1) (f32x4.mul (local.get $x) (v128.load offset=16 (local.get $pb)))))
          (local.set $pa (i32.add (local.get $pa) (i32.const 4)))
          (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
          (br_if $k (i32.lt_u (local.get $pa) (local.get $pend))))))
    (v128.store offset=0 (local.get $pc) (local.get $c0))
    (v128.store offset=16 (local.get $pc) (local.get $c1)))

  ;; B (K x N at b) -> panels of 8 columns at dst: panel p, row k at dst + (p*K + k)*32.
  ;; Columns >= N are +0. Pure copies (i32 moves keep every bit pattern).
  (func $pack_b (param $b i32) (param $K i32) (param $N i32) (param $dst i32)
    (call $pack_rows (local.get $b) (local.get $K) (local.get $N) (local.get $dst) (local.get $K)))

  ;; Rows k0 .. k0+R-1 of a K x N matrix B, given as R x N row-major at b, into their
  ;; places in $pack_b's panels of all of B: dst = panels + k0*32, panel p of these rows
  ;; at dst + p*K*32. Every 32-byte row of a panel is a copy of its own 8 values of B
  ;; (+0 past column N), so packing B in blocks of rows gives exactly the bytes of one
  ;; $pack_b.
  (func $pack_rows (param $b i32) (param $R i32) (param $N i32) (param $dst i32) (param $K i32)
    (local $j i32) (local $src i32) (local $end i32) (local $nb i32) (local $w i32) (local $q i32) (local $base i32)
    (local.set $nb (i32.shl (local.get $N) (i32.const 2)))
    (block $done
      (loop $panel
        (br_if $done (i32.ge_u (local.get $j) (local.get $N)))
        (local.set $src (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $base (local.get $dst))
        (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $R) (i32.const 5))))
        (local.set $w (i32.sub (local.get $N) (local.get $j)))   ;; columns left
        (if (i32.ge_u (local.get $w) (i32.const 8))
          (then   ;; a full panel: two vector moves per k
            (block $full_done
              (loop $full
                (br_if $full_done (i32.ge_u (local.get $dst) (local.get $end)))
                (v128.store offset=0 (local.get $dst) (v128.load offset=0 (local.get $src)))
                (v128.store offset=16 (local.get $dst) (v128.load offset=16 (local.get $src)))
                (local.set $src (i32.add (local.get $src) (local.get $nb)))
                (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
                (br $full))))
          (else   ;; the last, partial panel: w columns, then +0
            (block $part_done
              (loop $part
                (br_if $part_done (i32.ge_u (local.get $dst) (local.get $end)))
                (local.set $q (i32.const 0))
                (loop $col
                  (if (i32.lt_u (local.get $q) (local.get $w))
                    (then (i32.store (i32.add (local.get $dst) (i32.shl (local.get $q) (i32.const 2)))
                                     (i32.load (i32.add (local.get $src) (i32.shl (local.get $q) (i32.const 2))))))
                    (else (i32.store (i32.add (local.get $dst) (i32.shl (local.get $q) (i32.const 2))) (i32.const 0))))
                  (local.set $q (i32.add (local.get $q) (i32.const 1)))
                  (br_if $col (i32.lt_u (local.get $q) (i32.const 8))))
                (local.set $src (i32.add (local.get $src) (local.get $nb)))
                (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
                (br $part)))))
        (local.set $dst (i32.add (local.get $base) (i32.shl (local.get $K) (i32.const 5))))   ;; the next panel
        (local.set $j (i32.add (local.get $j) (i32.const 8)))
        (br $panel))))

  ;; Rows i .. i+3 of A (starting at a, row stride K*4 bytes) -> dst, interleaved:
  ;; A[i+r, k] at dst + k*16 + r*4.
  (func $pack_a4 (param $a i32) (param $K i32) (param $dst i32)
    (local $kb i32) (local $end i32)
    (local.set $kb (i32.shl (local.get $K) (i32.const 2)))
    (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $K) (i32.const 4))))
    (block $done
      (loop $k
        (br_if $done (i32.ge_u (local.get $dst) (local.get $end)))
        (i32.store offset=0 (local.get $dst) (i32.load (local.get $a)))
        (i32.store offset=4 (local.get $dst) (i32.load (i32.add (local.get $a) (local.get $kb))))
        (i32.store offset=8 (local.get $dst) (i32.load (i32.add (local.get $a) (i32.shl (local.get $kb) (i32.const 1)))))
        (i32.store offset=12 (local.get $dst) (i32.load (i32.add (local.get $a) (i32.mul (local.get $kb) (i32.const 3)))))
        (local.set $a (i32.add (local.get $a) (i32.const 4)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (br $k))))

;; Rows r = 0 .. rows-1 of a tile just computed into the 32-byte-stride scratch at src:
  ;; copy columns 0 .. w-1 of each to dst (row stride ldc bytes). i32 moves keep every bit.
  (func $store_cols (param $src i32) (param $dst i32) (param $rows i32) (param $w i32) (param $ldc i32)
    (local $r i32) (local $q i32)
    (block $done
      (loop $row
        (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $q (i32.const 0))
        (block $cols_done
          (loop $col
            (br_if $cols_done (i32.ge_u (local.get $q) (local.get $w)))
            (i32.store (i32.add (local.get $dst) (i32.shl (local.get $q) (i32.const 2)))
                       (i32.load (i32.add (local.get $src) (i32.shl (local.get $q) (i32.const 2)))))
            (local.set $q (i32.add (local.get $q) (i32.const 1)))
            (br $col)))
        (local.set $src (i32.add (local.get $src) (i32.const 32)))
        (local.set $dst (i32.add (local.get $dst) (local.get $ldc)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $row))))

  ;; C = A·B with B already packed into panels at bp (layout of $pack_b), rows of C
  ;; ldc bytes apart. wa: workspace for one packed block of A (16*K bytes), then, when
  ;; exact = 1, a 128-byte tile scratch. exact = 0: every tile stores all 8 columns (C
  ;; must have Np columns; the padding columns get the +0-column results). exact = 1: the
  ;; last, partial panel (N mod 8 columns) goes through the scratch and only its N mod 8
  ;; real columns are stored, so C may be exactly M x N (ldc = 4N) and nothing outside it
  ;; is written.
  (func $run (param $a i32) (param $bp i32) (param $c i32) (param $M i32) (param $K i32) (param $N i32)
             (param $ldc i32) (param $wa i32) (param $exact i32)
    (local $kb i32)     ;; bytes per row of A (K * 4)
    (local $panel i32)  ;; bytes per packed panel of B (K * 32)
    (local $tmp i32)    ;; tile scratch (exact = 1)
    (local $nfull i32)  ;; columns covered by tiles stored in place
    (local $i i32) (local $j i32) (local $pa i32) (local $pend i32) (local $pb i32) (local $pc i32)
    (local.set $kb (i32.shl (local.get $K) (i32.const 2)))
    (local.set $panel (i32.shl (local.get $K) (i32.const 5)))
    (local.set $tmp (i32.add (local.get $wa) (i32.shl (local.get $K) (i32.const 4))))
    (local.set $nfull
      (select (i32.and (local.get $N) (i32.const -8))
              (i32.and (i32.add (local.get $N) (i32.const 7)) (i32.const -8))
              (local.get $exact)))
    ;; blocks of 4 rows: pack the block once, then sweep every panel of B
    (block $rows4_done
      (loop $rows4
        (br_if $rows4_done (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $M)))
        (call $pack_a4 (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $kb))) (local.get $K) (local.get $wa))
        (local.set $pend (i32.add (local.get $wa) (i32.shl (local.get $K) (i32.const 4))))
        (local.set $pc (i32.add (local.get $c) (i32.mul (local.get $i) (local.get $ldc))))
        (local.set $pb (local.get $bp))
        (local.set $j (i32.const 0))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_u (local.get $j) (local.get $nfull)))
            (call $tile_4x8 (local.get $wa) (local.get $pend) (local.get $pb) (local.get $pc) (local.get $ldc))
            (local.set $pb (i32.add (local.get $pb) (local.get $panel)))
            (local.set $pc (i32.add (local.get $pc) (i32.const 32)))
            (local.set $j (i32.add (local.get $j) (i32.const 8)))
            (br $cols)))
        (if (i32.lt_u (local.get $j) (local.get $N))   ;; exact = 1 and a partial panel is left
          (then
            (call $tile_4x8 (local.get $wa) (local.get $pend) (local.get $pb) (local.get $tmp) (i32.const 32))
            (call $store_cols (local.get $tmp) (local.get $pc) (i32.const 4)
                              (i32.sub (local.get $N) (local.get $j)) (local.get $ldc))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $rows4)))
    ;; the remaining M mod 4 rows, one at a time
    (block $rows1_done
      (loop $rows1
        (br_if $rows1_done (i32.ge_u (local.get $i) (local.get $M)))
        (local.set $pa (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $kb))))
        (local.set $pend (i32.add (local.get $pa) (local.get $kb)))
        (local.set $pc (i32.add (local.get $c) (i32.mul (local.get $i) (local.get $ldc))))
        (local.set $pb (local.get $bp))
        (local.set $j (i32.const 0))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_u (local.get $j) (local.get $nfull)))
            (call $tile_1x8 (local.get $pa) (local.get $pend) (local.get $pb) (local.get $pc))
            (local.set $pb (i32.add (local.get $pb) (local.get $panel)))
            (local.set $pc (i32.add (local.get $pc) (i32.const 32)))
            (local.set $j (i32.add (local.get $j) (i32.const 8)))
            (br $cols)))
        (if (i32.lt_u (local.get $j) (local.get $N))
          (then
            (call $tile_1x8 (local.get $pa) (local.get $pend) (local.get $pb) (local.get $tmp))
            (call $store_cols (local.get $tmp) (local.get $pc) (i32.const 1)
                              (i32.sub (local.get $N) (local.get $j)) (local.get $ldc))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows1))))

  ;; gemm(a, b, c, M, K, N, ws): C = A·B, see the layout at the top (C is M x Np, all of
  ;; it written; ws: K*Np*4 bytes of packed B, then 16*K bytes for a packed block of A).
  ;; src/platform/pool-worker.mjs calls this export with exactly that layout.
  (func (export "gemm")
    (param $a i32) (param $b i32) (param $c i32) (param $M i32) (param $K i32) (param $N i32) (param $ws i32)
    (local $ldc i32)
    (local.set $ldc (i32.shl (i32.and (i32.add (local.get $N) (i32.const 7)) (i32.const -8)) (i32.const 2)))
    (call $pack_b (local.get $b) (local.get $K) (local.get $N) (local.get $ws))
    (call $run (local.get $a) (local.get $ws) (local.get $c) (local.get $M) (local.get $K) (local.get $N)
               (local.get $ldc) (i32.add (local.get $ws) (i32.mul (local.get $K) (local.get $ldc))) (i32.const 0)))

  ;; pack_b(b, K, N, dst): B (K x N row-major at b) -> panels at dst (K*Np*4 bytes), the
  ;; form gemm_packed reads. Exported so a constant B is packed once and kept.
  (func (export "pack_b") (param $b i32) (param $K i32) (param $N i32) (param $dst i32)
    (call $pack_b (local.get $b) (local.get $K) (local.get $N) (local.get $dst)))

  ;; pack_b_rows(b, R, N, dst, K): rows k0 .. k0+R-1 of a K x N B (R x N at b) into the
  ;; panels of all of B, dst = panels + k0*32 (see $pack_rows): packing a constant B a
  ;; block of rows at a time needs only that block in wasm memory.
  (func (export "pack_b_rows") (param $b i32) (param $R i32) (param $N i32) (param $dst i32) (param $K i32)
    (call $pack_rows (local.get $b) (local.get $R) (local.get $N) (local.get $dst) (local.get $K)))

  ;; gemm_packed(a, bp, c, M, K, N, wa): C = A·B with B pre-packed at bp; C exactly M x N
  ;; row-major (only its M*N values written); wa: 16*K + 128 bytes of workspace.
  (func (export "gemm_packed")
    (param $a i32) (param $bp i32) (param $c i32) (param $M i32) (param $K i32) (param $N i32) (param $wa i32)
    (call $run (local.get $a) (local.get $bp) (local.get $c) (local.get $M) (local.get $K) (local.get $N)
               (i32.shl (local.get $N) (i32.const 2)) (local.get $wa) (i32.const 1)))

  ;; gemm_batch(tab, count, M, K, N, ws): count products C_t = A_t·B_t, each C_t exactly
  ;; M x N. tab holds count entries of three i32 byte addresses (A_t, B_t, C_t); B_t is
  ;; packed into ws (K*Np*4 bytes) unless it is the B of the previous entry; then 16*K + 128
  ;; bytes of workspace follow. Every product is computed exactly as by gemm_packed.
  (func (export "gemm_batch")
    (param $tab i32) (param $count i32) (param $M i32) (param $K i32) (param $N i32) (param $ws i32)
    (local $end i32) (local $b i32) (local $last i32) (local $wa i32)
    (local.set $wa (i32.add (local.get $ws)
      (i32.mul (local.get $K) (i32.shl (i32.and (i32.add (local.get $N) (i32.const 7)) (i32.const -8)) (i32.const 2)))))
    (local.set $end (i32.add (local.get $tab) (i32.mul (local.get $count) (i32.const 12))))
    (local.set $last (i32.const -1))
    (block $done
      (loop $t
        (br_if $done (i32.ge_u (local.get $tab) (local.get $end)))
        (local.set $b (i32.load offset=4 (local.get $tab)))
        (if (i32.ne (local.get $b) (local.get $last))
          (then
            (call $pack_b (local.get $b) (local.get $K) (local.get $N) (local.get $ws))
            (local.set $last (local.get $b))))
        (call $run (i32.load offset=0 (local.get $tab)) (local.get $ws) (i32.load offset=8 (local.get $tab))
                   (local.get $M) (local.get $K) (local.get $N)
                   (i32.shl (local.get $N) (i32.const 2)) (local.get $wa) (i32.const 1))
        (local.set $tab (i32.add (local.get $tab) (i32.const 12)))
        (br $t))))

  ;; Gemm's scaling, in place on C (M x N row-major at c), the canonical per-element steps
  ;; of Gemm in ../ops/matmul.ts:
  ;;   hasC = 0:  y = f32(alpha * acc)
  ;;   hasC = 1:  y = f32(f32(alpha * acc) + f32(beta * Cin[i*cs0 + j*cs1]))
  ;; Cin (Gemm's input C, broadcast) at cin, strides in elements, cs1 = 0 or 1. Each step
  ;; is one IEEE binary32 f32x4 (or, for the last N mod 4 columns, scalar f32) operation.
  (func (export "gemm_scale")
    (param $c i32) (param $M i32) (param $N i32) (param $alpha f32)
    (param $hasC i32) (param $cin i32) (param $cs0 i32) (param $cs1 i32) (param $beta f32)
    (local $va v128) (local $vb v128) (local $i i32) (local $p i32) (local $pend i32) (local $pvec i32)
    (local $q i32) (local $y v128)
    (local.set $va (f32x4.splat (local.get $alpha)))
    (local.set $vb (f32x4.splat (local.get $beta)))
    (block $done
      (loop $row
        (br_if $done (i32.ge_u (local.get $i) (local.get $M)))
        (local.set $pend (i32.add (local.get $p) (i32.shl (local.get $N) (i32.const 2))))
        (local.set $pvec (i32.add (local.get $p) (i32.shl (i32.and (local.get $N) (i32.const -4)) (i32.const 2))))
        ;; q: this row's first element of Cin
        (local.set $q (i32.add (local.get $cin) (i32.shl (i32.mul (local.get $i) (local.get $cs0)) (i32.const 2))))
        (block $vec_done
          (loop $vec
            (br_if $vec_done (i32.ge_u (local.get $p) (local.get $pvec)))
            (local.set $y (f32x4.mul (local.get $va) (v128.load (i32.add (local.get $c) (local.get $p)))))
            (if (local.get $hasC)
              (then
                ;; when both terms are NaN, keep the left one (alpha*acc): a fixed choice
                ;; whichever operand order the engine emits for the add (NaN sign and
                ;; payload are not part of the canonical result, DESIGN.md)
                (local.set $y (v128.bitselect
                  (local.get $y)
                  (f32x4.add (local.get $y)
                    (f32x4.mul (local.get $vb)
                      (if (result v128) (local.get $cs1)
                        (then (v128.load (local.get $q)))
                        (else (v128.load32_splat (local.get $q))))))
                  (f32x4.ne (local.get $y) (local.get $y))))
                (local.set $q (i32.add (local.get $q) (i32.shl (local.get $cs1) (i32.const 4))))))
            (v128.store (i32.add (local.get $c) (local.get $p)) (local.get $y))
            (local.set $p (i32.add (local.get $p) (i32.const 16)))
            (br $vec)))
        (block $tail_done
          (loop $tail
            (br_if $tail_done (i32.ge_u (local.get $p) (local.get $pend)))
            (if (local.get $hasC)
              (then
                (f32.store (i32.add (local.get $c) (local.get $p))
                  (f32.add (f32.mul (local.get $alpha) (f32.load (i32.add (local.get $c) (local.get $p))))
                           (f32.mul (local.get $beta) (f32.load (local.get $q)))))
                (local.set $q (i32.add (local.get $q) (i32.shl (local.get $cs1) (i32.const 2)))))
              (else
                (f32.store (i32.add (local.get $c) (local.get $p))
                  (f32.mul (local.get $alpha) (f32.load (i32.add (local.get $c) (local.get $p)))))))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (br $tail)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $row))))
)
