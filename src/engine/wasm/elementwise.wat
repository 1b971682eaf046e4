;; elementwise.wat: float32 elementwise kernels in WebAssembly SIMD (128-bit SIMD only:
;; no relaxed-simd, no threads). Assembled by scripts/build-wasm.mjs into
;; elementwise.wasm.ts; the readable references are the plain loops in ../ops/unary.ts,
;; and both give the same bits (tested in elementwise.test.ts).
;;
;; These kernels use only compares and bit operations, which are exact and fully
;; deterministic in WebAssembly (no arithmetic touches a value, so even NaN bit patterns
;; are defined here).
;;
;; Layout chosen by the caller: x and y are byte addresses of n float32 values, and the
;; memory is readable and writable up to x + 16*ceil(n/4) and y + 16*ceil(n/4): the
;; kernels work four lanes at a time and the caller drops the lanes past n.
(module
  ;; the scratch memory shared by the kernel modules (runtime.ts); re-exported so callers reach it as mem
  (import "env" "mem" (memory 1))
  (export "mem" (memory 0))

  ;; relu_f32(x, y, n): y[i] = x[i] > 0 || isNaN(x[i]) ? x[i] : +0   (unary.ts Relu)
  ;;  - -0, negatives and -Inf become +0 (all-zero bits);
  ;;  - NaN passes through with its sign and payload and the quiet bit (0x00400000) set.
  ;;    That is what the JS reference produces: reading a float32 NaN into a JS number and
  ;;    storing it back converts float32 -> float64 -> float32, and IEEE-754 conversion
  ;;    quiets a signalling NaN and keeps the rest of the payload. Quiet NaNs are unchanged.
  ;; Per lane: keep = (v > 0) | (v != v); y = (v & keep) | ((v != v) & 0x00400000).
  (func (export "relu_f32") (param $x i32) (param $y i32) (param $n i32)
    (local $end i32) (local $v v128) (local $nan v128)
    (local.set $end (i32.add (local.get $x) (i32.shl (i32.and (i32.add (local.get $n) (i32.const 3)) (i32.const -4)) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
        (local.set $v (v128.load (local.get $x)))
        (local.set $nan (f32x4.ne (local.get $v) (local.get $v)))   ;; all ones where NaN
        (v128.store (local.get $y)
          (v128.or
            (v128.and (local.get $v)
                      (v128.or (f32x4.gt (local.get $v) (v128.const f32x4 0 0 0 0)) (local.get $nan)))
            (v128.and (local.get $nan) (v128.const i32x4 0x00400000 0x00400000 0x00400000 0x00400000))))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (local.set $y (i32.add (local.get $y) (i32.const 16)))
        (br $next))))

  ;; ---------------------------------------------------------------------------
  ;; Binary float32 arithmetic: add, sub, mul, div. One f32x4.add/sub/mul/div per four
  ;; outputs, i.e. exactly one IEEE-754 binary32 operation per element, rounded to nearest
  ;; even: the value Math.fround(a op b) that the JS loops store (for one +,-,*,/ of two
  ;; float32 values the double result rounded to float32 is the correctly rounded float32
  ;; result). Subnormals are not flushed (WebAssembly has no FTZ/DAZ). The one freedom
  ;; WebAssembly leaves is the bit pattern of a NaN result (sign and payload of an
  ;; arithmetic NaN are nondeterministic); NaN-ness itself is exact, and the canonical
  ;; encoding collapses every NaN, so digests never see the difference.
  ;;
  ;; Layout: m rows of n outputs, row i of the output at o + 4*i*n. Operand a's element
  ;; (i, t) is at a + 4*(i*ra + t*ea) with ea in {0, 1} (0: one value per row, splatted;
  ;; 1: a contiguous row); likewise b. Same shape: m = 1, ea = eb = 1. Scalar operand:
  ;; e = 0, r = 0. Trailing row [M,N] op [N]: rb = 0, eb = 1. Leading column [M,N] op
  ;; [M,1]: rb = 1, eb = 0. Four lanes at a time: each row's last vector may read up to 12
  ;; bytes past the row and write up to 12 bytes past it (into the next output row, which
  ;; is then written again, or past the end), so the caller leaves 16 spare bytes after
  ;; every region. Rows are written in increasing order.

  ;; add_f32(a, ra, ea, b, rb, eb, o, m, n): o[i*n + t] = a[i*ra + t*ea] add b[i*rb + t*eb]
  ;; for i < m, t < n (elementwise.ts binaryF32Wasm; reference: ../ops/elementwise.ts).
  (func (export "add_f32") (param $a i32) (param $ra i32) (param $ea i32) (param $b i32) (param $rb i32) (param $eb i32)
        (param $o i32) (param $m i32) (param $n i32)
    (local $pa i32) (local $pb i32) (local $po i32) (local $end i32) (local $da i32) (local $db i32) (local $va v128) (local $vb v128)
    (local.set $da (i32.shl (local.get $ea) (i32.const 4)))
    (local.set $db (i32.shl (local.get $eb) (i32.const 4)))
    (local.set $ra (i32.shl (local.get $ra) (i32.const 2)))
    (local.set $rb (i32.shl (local.get $rb) (i32.const 2)))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.eqz (local.get $m)))
        (local.set $pa (local.get $a))
        (local.set $pb (local.get $b))
        (local.set $po (local.get $o))
        (local.set $end (i32.add (local.get $o) (i32.shl (local.get $n) (i32.const 2))))
        ;; the splat of a per-row scalar operand is loaded once per row
        (local.set $va (v128.load32_splat (local.get $pa)))
        (local.set $vb (v128.load32_splat (local.get $pb)))
        (block $done
          (loop $next
            (br_if $done (i32.ge_u (local.get $po) (local.get $end)))
            (if (local.get $ea) (then (local.set $va (v128.load (local.get $pa)))))
            (if (local.get $eb) (then (local.set $vb (v128.load (local.get $pb)))))
            (v128.store (local.get $po) (f32x4.add (local.get $va) (local.get $vb)))
            (local.set $pa (i32.add (local.get $pa) (local.get $da)))
            (local.set $pb (i32.add (local.get $pb) (local.get $db)))
            (local.set $po (i32.add (local.get $po) (i32.const 16)))
            (br $next)))
        (local.set $a (i32.add (local.get $a) (local.get $ra)))
        (local.set $b (i32.add (local.get $b) (local.get $rb)))
        (local.set $o (i32.add (local.get $o) (i32.shl (local.get $n) (i32.const 2))))
        (local.set $m (i32.sub (local.get $m) (i32.const 1)))
        (br $rows))))

  ;; sub_f32(a, ra, ea, b, rb, eb, o, m, n): o[i*n + t] = a[i*ra + t*ea] sub b[i*rb + t*eb]
  ;; for i < m, t < n (elementwise.ts binaryF32Wasm; reference: ../ops/elementwise.ts).
  (func (export "sub_f32") (param $a i32) (param $ra i32) (param $ea i32) (param $b i32) (param $rb i32) (param $eb i32)
        (param $o i32) (param $m i32) (param $n i32)
    (local $pa i32) (local $pb i32) (local $po i32) (local $end i32) (local $da i32) (local $db i32) (local $va v128) (local $vb v128)
    (local.set $da (i32.shl (local.get $ea) (i32.const 4)))
    (local.set $db (i32.shl (local.get $eb) (i32.const 4)))
    (local.set $ra (i32.shl (local.get $ra) (i32.const 2)))
    (local.set $rb (i32.shl (local.get $rb) (i32.const 2)))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.eqz (local.get $m)))
        (local.set $pa (local.get $a))
        (local.set $pb (local.get $b))
        (local.set $po (local.get $o))
        (local.set $end (i32.add (local.get $o) (i32.shl (local.get $n) (i32.const 2))))
        ;; the splat of a per-row scalar operand is loaded once per row
        (local.set $va (v128.load32_splat (local.get $pa)))
        (local.set $vb (v128.load32_splat (local.get $pb)))
        (block $done
          (loop $next
            (br_if $done (i32.ge_u (local.get $po) (local.get $end)))
            (if (local.get $ea) (then (local.set $va (v128.load (local.get $pa)))))
            (if (local.get $eb) (then (local.set $vb (v128.load (local.get $pb)))))
            (v128.store (local.get $po) (f32x4.sub (local.get $va) (local.get $vb)))
            (local.set $pa (i32.add (local.get $pa) (local.get $da)))
            (local.set $pb (i32.add (local.get $pb) (local.get $db)))
            (local.set $po (i32.add (local.get $po) (i32.const 16)))
            (br $next)))
        (local.set $a (i32.add (local.get $a) (local.get $ra)))
        (local.set $b (i32.add (local.get $b) (local.get $rb)))
        (local.set $o (i32.add (local.get $o) (i32.shl (local.get $n) (i32.const 2))))
        (local.set $m (i32.sub (local.get $m) (i32.const 1)))
        (br $rows))))

  ;; mul_f32(a, ra, ea, b, rb, eb, o, m, n): o[i*n + t] = a[i*ra + t*ea] mul b[i*rb + t*eb]
  ;; for i < m, t < n (elementwise.ts binaryF32Wasm; reference: ../ops/elementwise.ts).
  (func (export "mul_f32") (param $a i32) (param $ra i32) (param $ea i32) (param $b i32) (param $rb i32) (param $eb i32)
        (param $o i32) (param $m i32) (param $n i32)
    (local $pa i32) (local $pb i32) (local $po i32) (local $end i32) (local $da i32) (local $db i32) (local $va v128) (local $vb v128)
    (local.set $da (i32.shl (local.get $ea) (i32.const 4)))
    (local.set $db (i32.shl (local.get $eb) (i32.const 4)))
    (local.set $ra (i32.shl (local.get $ra) (i32.const 2)))
    (local.set $rb (i32.shl (local.get $rb) (i32.const 2)))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.eqz (local.get $m)))
        (local.set $pa (local.get $a))
        (local.set $pb (local.get $b))
        (local.set $po (local.get $o))
        (local.set $end (i32.add (local.get $o) (i32.shl (local.get $n) (i32.const 2))))
        ;; the splat of a per-row scalar operand is loaded once per row
        (local.set $va (v128.load32_splat (local.get $pa)))
        (local.set $vb (v128.load32_splat (local.get $pb)))
        (block $done
          (loop $next
            (br_if $done (i32.ge_u (local.get $po) (local.get $end)))
            (if (local.get $ea) (then (local.set $va (v128.load (local.get $pa)))))
            (if (local.get $eb) (then (local.set $vb (v128.load (local.get $pb)))))
            (v128.store (local.get $po) (f32x4.mul (local.get $va) (local.get $vb)))
            (local.set $pa (i32.add (local.get $pa) (local.get $da)))
            (local.set $pb (i32.add (local.get $pb) (local.get $db)))
            (local.set $po (i32.add (local.get $po) (i32.const 16)))
            (br $next)))
        (local.set $a (i32.add (local.get $a) (local.get $ra)))
        (local.set $b (i32.add (local.get $b) (local.get $rb)))
        (local.set $o (i32.add (local.get $o) (i32.shl (local.get $n) (i32.const 2))))
        (local.set $m (i32.sub (local.get $m) (i32.const 1)))
        (br $rows))))

  ;; div_f32(a, ra, ea, b, rb, eb, o, m, n): o[i*n + t] = a[i*ra + t*ea] div b[i*rb + t*eb]
  ;; for i < m, t < n (elementwise.ts binaryF32Wasm; reference: ../ops/elementwise.ts).
  (func (export "div_f32") (param $a i32) (param $ra i32) (param $ea i32) (param $b i32) (param $rb i32) (param $eb i32)
        (param $o i32) (param $m i32) (param $n i32)
    (local $pa i32) (local $pb i32) (local $po i32) (local $end i32) (local $da i32) (local $db i32) (local $va v128) (local $vb v128)
    (local.set $da (i32.shl (local.get $ea) (i32.const 4)))
    (local.set $db (i32.shl (local.get $eb) (i32.const 4)))
    (local.set $ra (i32.shl (local.get $ra) (i32.const 2)))
    (local.set $rb (i32.shl (local.get $rb) (i32.const 2)))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.eqz (local.get $m)))
        (local.set $pa (local.get $a))
        (local.set $pb (local.get $b))
        (local.set $po (local.get $o))
        (local.set $end (i32.add (local.get $o) (i32.shl (local.get $n) (i32.const 2))))
        ;; the splat of a per-row scalar operand is loaded once per row
        (local.set $va (v128.load32_splat (local.get $pa)))
        (local.set $vb (v128.load32_splat (local.get $pb)))
        (block $done
          (loop $next
            (br_if $done (i32.ge_u (local.get $po) (local.get $end)))
            (if (local.get $ea) (then (local.set $va (v128.load (local.get $pa)))))
            (if (local.get $eb) (then (local.set $vb (v128.load (local.get $pb)))))
            (v128.store (local.get $po) (f32x4.div (local.get $va) (local.get $vb)))
            (local.set $pa (i32.add (local.get $pa) (local.get $da)))
            (local.set $pb (i32.add (local.get $pb) (local.get $db)))
            (local.set $po (i32.add (local.get $po) (i32.const 16)))
            (br $next)))
        (local.set $a (i32.add (local.get $a) (local.get $ra)))
        (local.set $b (i32.add (local.get $b) (local.get $rb)))
        (local.set $o (i32.add (local.get $o) (i32.shl (local.get $n) (i32.const 2))))
        (local.set $m (i32.sub (local.get $m) (i32.const 1)))
        (br $rows))))
)
