;; SHA-256 (FIPS 180-4) of four independent messages at once, one per i32x4 lane.
;; 128-bit SIMD only. Every message of a call has the same number of 64-byte blocks and is
;; already padded by the caller (0x80, zeros, 64-bit big-endian bit length), so lanes run
;; in lockstep with no per-lane control flow; the result is the plain SHA-256 of each.
;;
;; Memory layout (the caller writes K and the messages, see sha256x4.ts):
;;   [0, 1024)     K[0..63], each splat to 4 lanes (16 bytes per constant)
;;   [1024, 2048)  W[0..63] message schedule scratch, 4 lanes per word
;;   [4096, ...)   messages and digests, placed by the caller
(module
  (memory (export "mem") 1)

  ;; rotr(x, n) is written out as (x >>> n) | (x << (32 - n)): WebAssembly SIMD has no rotate.

  ;; Hashes `count` messages of `blocks` blocks each, message i at msg + i*stride; digest i
  ;; (32 bytes, big-endian words) goes to out + 32*i. Groups of four; in the last group,
  ;; missing lanes repeat the last message and their digests land in out beyond 32*count
  ;; (the caller leaves room for a multiple of four digests).
  (func (export "hash_many") (param $msg i32) (param $stride i32) (param $count i32) (param $blocks i32) (param $out i32)
    (local $g i32) (local $p0 i32) (local $p1 i32) (local $p2 i32) (local $p3 i32) (local $last i32)
    (local $b i32) (local $t i32) (local $q i32) (local $lane i32)
    (local $a v128) (local $bb v128) (local $c v128) (local $d v128)
    (local $e v128) (local $f v128) (local $gg v128) (local $h v128)
    (local $h0 v128) (local $h1 v128) (local $h2 v128) (local $h3 v128)
    (local $h4 v128) (local $h5 v128) (local $h6 v128) (local $h7 v128)
    (local $t1 v128) (local $t2 v128) (local $w v128) (local $x v128)
    (if (i32.eqz (local.get $count)) (then (return)))
    (local.set $last (i32.add (local.get $msg) (i32.mul (local.get $stride) (i32.sub (local.get $count) (i32.const 1)))))
    (local.set $g (i32.const 0))
    (loop $groups
      ;; lane pointers, clamped to the last message
      (local.set $p0 (i32.add (local.get $msg) (i32.mul (local.get $stride) (local.get $g))))
      (local.set $p1 (i32.add (local.get $p0) (local.get $stride)))
      (local.set $p2 (i32.add (local.get $p1) (local.get $stride)))
      (local.set $p3 (i32.add (local.get $p2) (local.get $stride)))
      (if (i32.gt_u (local.get $p1) (local.get $last)) (then (local.set $p1 (local.get $last))))
      (if (i32.gt_u (local.get $p2) (local.get $last)) (then (local.set $p2 (local.get $last))))
      (if (i32.gt_u (local.get $p3) (local.get $last)) (then (local.set $p3 (local.get $last))))
      ;; initial hash value H(0)
      (local.set $h0 (i32x4.splat (i32.const 0x6a09e667)))
      (local.set $h1 (i32x4.splat (i32.const 0xbb67ae85)))
      (local.set $h2 (i32x4.splat (i32.const 0x3c6ef372)))
      (local.set $h3 (i32x4.splat (i32.const 0xa54ff53a)))
      (local.set $h4 (i32x4.splat (i32.const 0x510e527f)))
      (local.set $h5 (i32x4.splat (i32.const 0x9b05688c)))
      (local.set $h6 (i32x4.splat (i32.const 0x1f83d9ab)))
      (local.set $h7 (i32x4.splat (i32.const 0x5be0cd19)))
      (local.set $b (i32.const 0))
      (loop $block
        ;; W[0..15] = the block's words
        (local.set $t (i32.const 0))
        (loop $load
          (local.set $q (i32.add (i32.shl (local.get $b) (i32.const 6)) (i32.shl (local.get $t) (i32.const 2))))
          (v128.store offset=1024 (i32.shl (local.get $t) (i32.const 4))
            ;; word t of each lane's block, big-endian bytes to lane order
            (i8x16.swizzle
              (i32x4.replace_lane 3
                (i32x4.replace_lane 2
                  (i32x4.replace_lane 1
                    (i32x4.splat (i32.load (i32.add (local.get $p0) (local.get $q))))
                    (i32.load (i32.add (local.get $p1) (local.get $q))))
                  (i32.load (i32.add (local.get $p2) (local.get $q))))
                (i32.load (i32.add (local.get $p3) (local.get $q))))
              (v128.const i8x16 3 2 1 0 7 6 5 4 11 10 9 8 15 14 13 12)))
          (local.set $t (i32.add (local.get $t) (i32.const 1)))
          (br_if $load (i32.lt_u (local.get $t) (i32.const 16))))
        ;; W[t] = sigma1(W[t-2]) + W[t-7] + sigma0(W[t-15]) + W[t-16], t = 16..63
        (loop $schedule
          (local.set $q (i32.shl (local.get $t) (i32.const 4)))
          (local.set $w (v128.load offset=992 (local.get $q)))   ;; W[t-2]
          (local.set $x (v128.load offset=784 (local.get $q)))   ;; W[t-15]
          (v128.store offset=1024 (local.get $q)
            (i32x4.add
              (i32x4.add
                (v128.xor (v128.xor (v128.or (i32x4.shr_u (local.get $w) (i32.const 17)) (i32x4.shl (local.get $w) (i32.const 15))) (v128.or (i32x4.shr_u (local.get $w) (i32.const 19)) (i32x4.shl (local.get $w) (i32.const 13))))
                  (i32x4.shr_u (local.get $w) (i32.const 10)))
                (v128.load offset=912 (local.get $q)))            ;; W[t-7]
              (i32x4.add
                (v128.xor (v128.xor (v128.or (i32x4.shr_u (local.get $x) (i32.const 7)) (i32x4.shl (local.get $x) (i32.const 25))) (v128.or (i32x4.shr_u (local.get $x) (i32.const 18)) (i32x4.shl (local.get $x) (i32.const 14))))
                  (i32x4.shr_u (local.get $x) (i32.const 3)))
                (v128.load offset=768 (local.get $q)))))          ;; W[t-16]
          (local.set $t (i32.add (local.get $t) (i32.const 1)))
          (br_if $schedule (i32.lt_u (local.get $t) (i32.const 64))))
        (local.set $a (local.get $h0))
        (local.set $bb (local.get $h1))
        (local.set $c (local.get $h2))
        (local.set $d (local.get $h3))
        (local.set $e (local.get $h4))
        (local.set $f (local.get $h5))
        (local.set $gg (local.get $h6))
        (local.set $h (local.get $h7))
        (local.set $q (i32.const 0))
        (loop $round
          ;; T1 = h + Sigma1(e) + Ch(e,f,g) + K[t] + W[t];  Ch = bitselect(f, g, e)
          (local.set $t1
            (i32x4.add
              (i32x4.add (local.get $h)
                (v128.xor (v128.xor (v128.or (i32x4.shr_u (local.get $e) (i32.const 6)) (i32x4.shl (local.get $e) (i32.const 26))) (v128.or (i32x4.shr_u (local.get $e) (i32.const 11)) (i32x4.shl (local.get $e) (i32.const 21))))
                  (v128.or (i32x4.shr_u (local.get $e) (i32.const 25)) (i32x4.shl (local.get $e) (i32.const 7)))))
              (i32x4.add (v128.bitselect (local.get $f) (local.get $gg) (local.get $e))
                (i32x4.add (v128.load (local.get $q)) (v128.load offset=1024 (local.get $q))))))
          ;; T2 = Sigma0(a) + Maj(a,b,c);  Maj = bitselect(a, b, b ^ c)
          (local.set $t2
            (i32x4.add
              (v128.xor (v128.xor (v128.or (i32x4.shr_u (local.get $a) (i32.const 2)) (i32x4.shl (local.get $a) (i32.const 30))) (v128.or (i32x4.shr_u (local.get $a) (i32.const 13)) (i32x4.shl (local.get $a) (i32.const 19))))
                (v128.or (i32x4.shr_u (local.get $a) (i32.const 22)) (i32x4.shl (local.get $a) (i32.const 10))))
              (v128.bitselect (local.get $a) (local.get $bb) (v128.xor (local.get $bb) (local.get $c)))))
          (local.set $h (local.get $gg))
          (local.set $gg (local.get $f))
          (local.set $f (local.get $e))
          (local.set $e (i32x4.add (local.get $d) (local.get $t1)))
          (local.set $d (local.get $c))
          (local.set $c (local.get $bb))
          (local.set $bb (local.get $a))
          (local.set $a (i32x4.add (local.get $t1) (local.get $t2)))
          (local.set $q (i32.add (local.get $q) (i32.const 16)))
          (br_if $round (i32.lt_u (local.get $q) (i32.const 1024))))
        (local.set $h0 (i32x4.add (local.get $h0) (local.get $a)))
        (local.set $h1 (i32x4.add (local.get $h1) (local.get $bb)))
        (local.set $h2 (i32x4.add (local.get $h2) (local.get $c)))
        (local.set $h3 (i32x4.add (local.get $h3) (local.get $d)))
        (local.set $h4 (i32x4.add (local.get $h4) (local.get $e)))
        (local.set $h5 (i32x4.add (local.get $h5) (local.get $f)))
        (local.set $h6 (i32x4.add (local.get $h6) (local.get $gg)))
        (local.set $h7 (i32x4.add (local.get $h7) (local.get $h)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br_if $block (i32.lt_u (local.get $b) (local.get $blocks))))
      ;; digests of the group: lane i -> out + 32*(4g + i)
      (local.set $q (i32.add (local.get $out) (i32.shl (local.get $g) (i32.const 5))))
      (call $store_lanes (local.get $q) (local.get $h0) (local.get $h1) (local.get $h2) (local.get $h3)
        (local.get $h4) (local.get $h5) (local.get $h6) (local.get $h7))
      (local.set $g (i32.add (local.get $g) (i32.const 4)))
      (br_if $groups (i32.lt_u (local.get $g) (local.get $count)))))

  ;; writes the four lanes' digests (8 big-endian words each) at p, p+32, p+64, p+96
  (func $store_lanes (param $p i32) (param $h0 v128) (param $h1 v128) (param $h2 v128) (param $h3 v128)
    (param $h4 v128) (param $h5 v128) (param $h6 v128) (param $h7 v128)
    (local $m v128)
    (local.set $m (v128.const i8x16 3 2 1 0 7 6 5 4 11 10 9 8 15 14 13 12))
    (local.set $h0 (i8x16.swizzle (local.get $h0) (local.get $m)))
    (local.set $h1 (i8x16.swizzle (local.get $h1) (local.get $m)))
    (local.set $h2 (i8x16.swizzle (local.get $h2) (local.get $m)))
    (local.set $h3 (i8x16.swizzle (local.get $h3) (local.get $m)))
    (local.set $h4 (i8x16.swizzle (local.get $h4) (local.get $m)))
    (local.set $h5 (i8x16.swizzle (local.get $h5) (local.get $m)))
    (local.set $h6 (i8x16.swizzle (local.get $h6) (local.get $m)))
    (local.set $h7 (i8x16.swizzle (local.get $h7) (local.get $m)))
    ;; 4x4 transposes: lane i of (h0..h3) -> bytes [32i, 32i+16), of (h4..h7) -> [32i+16, 32i+32)
    (call $transpose_store (local.get $p) (local.get $h0) (local.get $h1) (local.get $h2) (local.get $h3))
    (call $transpose_store (i32.add (local.get $p) (i32.const 16)) (local.get $h4) (local.get $h5) (local.get $h6) (local.get $h7)))

  ;; stores column i of the 4x4 i32 matrix with rows r0..r3 at p + 32*i (16 bytes)
  (func $transpose_store (param $p i32) (param $r0 v128) (param $r1 v128) (param $r2 v128) (param $r3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    ;; t0 = r0.0 r1.0 r0.1 r1.1   t1 = r0.2 r1.2 r0.3 r1.3   (and r2/r3 likewise)
    (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r1)))
    (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r1)))
    (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r2) (local.get $r3)))
    (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r2) (local.get $r3)))
    (v128.store (local.get $p) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
    (v128.store offset=32 (local.get $p) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
    (v128.store offset=64 (local.get $p) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
    (v128.store offset=96 (local.get $p) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3))))
)
