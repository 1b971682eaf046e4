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
  (memory (export "mem") 1)

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
        (br $next)))))
