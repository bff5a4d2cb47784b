;; wat-count: a Sluice plugin in hand-written WebAssembly text (no SDK, no libc),
;; written against docs/abi.md.
;;
;; Export `count` (transform shape): returns one record, the number of input records:
;;   input  [items, ctx]      ->  output [[n], []]
;; A malformed input document is a whole-call error: [[], [[nil, "wat-count: malformed input"]]].
;;
;; Memory: a bump allocator above address 1024. `sluice_alloc` counts live buffers and
;; `sluice_free` resets the heap once none is left (the host frees the input and the
;; output after every call), so memory does not grow from call to call.
(module
  (memory (export "memory") 1)
  (global $heap_base i32 (i32.const 1024))
  (global $heap (mut i32) (i32.const 1024))
  (global $live (mut i32) (i32.const 0))

  ;; The whole-call error document, pre-encoded (32 bytes):
  ;; 92 (array 2) 90 (no items) 91 (one error) 92 (array 2) c0 (nil) ba (str 26) "..."
  (data (i32.const 16) "\92\90\91\92\c0\bawat-count: malformed input")

  (func (export "sluice_abi_version") (result i32) (i32.const 1))

  ;; A buffer of $len bytes (8-aligned), growing memory when needed; 0 if it cannot.
  (func $alloc (export "sluice_alloc") (param $len i32) (result i32)
    (local $ptr i32) (local $end i32) (local $have i32)
    (if (i32.lt_s (local.get $len) (i32.const 0)) (then (return (i32.const 0))))
    (local.set $ptr (global.get $heap))
    (local.set $end
      (i32.and (i32.add (i32.add (local.get $ptr) (local.get $len)) (i32.const 7))
               (i32.const -8)))
    (local.set $have (i32.mul (memory.size) (i32.const 65536)))
    (if (i32.gt_u (local.get $end) (local.get $have))
      (then
        (if (i32.eq
              (memory.grow
                (i32.shr_u
                  (i32.add (i32.sub (local.get $end) (local.get $have)) (i32.const 65535))
                  (i32.const 16)))
              (i32.const -1))
          (then (return (i32.const 0))))))
    (global.set $heap (local.get $end))
    (global.set $live (i32.add (global.get $live) (i32.const 1)))
    (local.get $ptr))

  ;; Frees a buffer: when no buffer is live any more, the whole heap is reused.
  (func (export "sluice_free") (param $ptr i32) (param $len i32)
    (global.set $live (i32.sub (global.get $live) (i32.const 1)))
    (if (i32.le_s (global.get $live) (i32.const 0))
      (then
        (global.set $live (i32.const 0))
        (global.set $heap (global.get $heap_base)))))

  ;; Packs (ptr << 32) | len.
  (func $pack (param $ptr i32) (param $len i32) (result i64)
    (i64.or
      (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32))
      (i64.extend_i32_u (local.get $len))))

  (func $malformed (result i64)
    (local $out i32)
    (local.set $out (call $alloc (i32.const 32)))
    (if (i32.eqz (local.get $out)) (then (unreachable)))
    (memory.copy (local.get $out) (i32.const 16) (i32.const 32))
    (call $pack (local.get $out) (i32.const 32)))

  ;; The size of the array header at $p (1, 3 or 5 bytes), or 0 if $p..$end does not
  ;; start with a whole array header.
  (func $header_size (param $p i32) (param $end i32) (result i32)
    (local $m i32) (local $size i32)
    (if (i32.ge_u (local.get $p) (local.get $end)) (then (return (i32.const 0))))
    (local.set $m (i32.load8_u (local.get $p)))
    (local.set $size
      (if (result i32) (i32.eq (i32.and (local.get $m) (i32.const 0xf0)) (i32.const 0x90))
        (then (i32.const 1))
        (else
          (if (result i32) (i32.eq (local.get $m) (i32.const 0xdc))
            (then (i32.const 3))
            (else
              (if (result i32) (i32.eq (local.get $m) (i32.const 0xdd))
                (then (i32.const 5))
                (else (i32.const 0))))))))
    (if (i32.gt_u (i32.add (local.get $p) (local.get $size)) (local.get $end))
      (then (return (i32.const 0))))
    (local.get $size))

  ;; The element count of the array header at $p (whose size is known to be valid).
  (func $array_len (param $p i32) (result i32)
    (local $m i32)
    (local.set $m (i32.load8_u (local.get $p)))
    (if (i32.eq (i32.and (local.get $m) (i32.const 0xf0)) (i32.const 0x90))
      (then (return (i32.and (local.get $m) (i32.const 0x0f)))))
    (if (i32.eq (local.get $m) (i32.const 0xdc))
      (then
        (return
          (i32.or
            (i32.shl (i32.load8_u offset=1 (local.get $p)) (i32.const 8))
            (i32.load8_u offset=2 (local.get $p))))))
    (i32.or
      (i32.or
        (i32.shl (i32.load8_u offset=1 (local.get $p)) (i32.const 24))
        (i32.shl (i32.load8_u offset=2 (local.get $p)) (i32.const 16)))
      (i32.or
        (i32.shl (i32.load8_u offset=3 (local.get $p)) (i32.const 8))
        (i32.load8_u offset=4 (local.get $p)))))

  ;; Appends the canonical encoding of the non-negative $n at $w; returns the new end.
  (func $write_uint (param $w i32) (param $n i32) (result i32)
    (if (i32.lt_u (local.get $n) (i32.const 128))
      (then
        (i32.store8 (local.get $w) (local.get $n))
        (return (i32.add (local.get $w) (i32.const 1)))))
    (if (i32.lt_u (local.get $n) (i32.const 256))
      (then
        (i32.store8 (local.get $w) (i32.const 0xcc))
        (i32.store8 offset=1 (local.get $w) (local.get $n))
        (return (i32.add (local.get $w) (i32.const 2)))))
    (if (i32.lt_u (local.get $n) (i32.const 65536))
      (then
        (i32.store8 (local.get $w) (i32.const 0xcd))
        (i32.store8 offset=1 (local.get $w) (i32.shr_u (local.get $n) (i32.const 8)))
        (i32.store8 offset=2 (local.get $w) (local.get $n))
        (return (i32.add (local.get $w) (i32.const 3)))))
    (i32.store8 (local.get $w) (i32.const 0xce))
    (i32.store8 offset=1 (local.get $w) (i32.shr_u (local.get $n) (i32.const 24)))
    (i32.store8 offset=2 (local.get $w) (i32.shr_u (local.get $n) (i32.const 16)))
    (i32.store8 offset=3 (local.get $w) (i32.shr_u (local.get $n) (i32.const 8)))
    (i32.store8 offset=4 (local.get $w) (local.get $n))
    (i32.add (local.get $w) (i32.const 5)))

  ;; transform: [items, ctx] -> [[len(items)], []]
  (func (export "count") (param $ptr i32) (param $len i32) (result i64)
    (local $end i32) (local $h i32) (local $items i32) (local $out i32) (local $w i32)
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    ;; The document: an array of at least 2 elements.
    (local.set $h (call $header_size (local.get $ptr) (local.get $end)))
    (if (i32.eqz (local.get $h)) (then (return (call $malformed))))
    (if (i32.lt_u (call $array_len (local.get $ptr)) (i32.const 2))
      (then (return (call $malformed))))
    ;; Its first element: the items array.
    (local.set $items (i32.add (local.get $ptr) (local.get $h)))
    (if (i32.eqz (call $header_size (local.get $items) (local.get $end)))
      (then (return (call $malformed))))
    ;; Output: 92 91 <n> 90, at most 8 bytes.
    (local.set $out (call $alloc (i32.const 8)))
    (if (i32.eqz (local.get $out)) (then (unreachable)))
    (i32.store8 (local.get $out) (i32.const 0x92))
    (i32.store8 offset=1 (local.get $out) (i32.const 0x91))
    (local.set $w
      (call $write_uint (i32.add (local.get $out) (i32.const 2))
                        (call $array_len (local.get $items))))
    (i32.store8 (local.get $w) (i32.const 0x90))
    (call $pack (local.get $out)
                (i32.sub (i32.add (local.get $w) (i32.const 1)) (local.get $out))))
)
