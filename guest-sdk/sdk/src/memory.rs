//! The ABI's memory exports (`sluice_abi_version`, `sluice_alloc`, `sluice_free`) and the
//! glue between an operator export's `(ptr, len) -> i64` and a Rust function over bytes.
//!
//! Ownership: the host allocates the input with `sluice_alloc` and frees it after the
//! call; the output is a boxed slice whose exact length is returned, which the host frees
//! with `sluice_free(out_ptr, out_len)`. Both use the layout `(len, align 1)`.

#[cfg(target_arch = "wasm32")]
mod exports {
    use std::alloc::{alloc, dealloc, Layout};

    /// Returns the ABI version, 1.
    #[no_mangle]
    pub extern "C" fn sluice_abi_version() -> i32 {
        sluice_abi::ABI_VERSION
    }

    /// A buffer of `len` bytes for the host to write into; 0 if it cannot be allocated.
    /// A zero-length request returns a non-null address that must not be written.
    #[no_mangle]
    pub extern "C" fn sluice_alloc(len: i32) -> i32 {
        let Ok(len) = usize::try_from(len) else {
            return 0;
        };
        if len == 0 {
            return core::ptr::NonNull::<u8>::dangling().as_ptr() as i32;
        }
        let Ok(layout) = Layout::from_size_align(len, 1) else {
            return 0;
        };
        // SAFETY: `layout` has a non-zero size, checked above.
        let ptr = unsafe { alloc(layout) };
        ptr as i32
    }

    /// Frees a buffer from `sluice_alloc` or an operator function's output.
    #[no_mangle]
    pub extern "C" fn sluice_free(ptr: i32, len: i32) {
        let Ok(len) = usize::try_from(len) else {
            return;
        };
        if ptr == 0 || len == 0 {
            return;
        }
        let Ok(layout) = Layout::from_size_align(len, 1) else {
            return;
        };
        // SAFETY: the ABI requires `ptr`/`len` to be a live buffer returned by
        // `sluice_alloc(len)` or an output of exactly `len` bytes (a `Box<[u8]>`), both
        // allocated by the global allocator with the layout `(len, 1)`, and freed once.
        unsafe { dealloc(ptr as u32 as usize as *mut u8, layout) };
    }
}

/// Runs `run` over the input document at `ptr`/`len` and returns the packed output.
#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub fn call(ptr: i32, len: i32, run: impl FnOnce(&[u8]) -> Vec<u8>) -> i64 {
    crate::log::install_panic_hook();
    let len = len as u32 as usize;
    let input: &[u8] = if len == 0 {
        &[]
    } else {
        // SAFETY: the host wrote `len` bytes at `ptr` into a buffer it got from
        // `sluice_alloc(len)`; the buffer stays alive and unchanged until the call returns,
        // and nothing else in the guest holds a reference to it.
        unsafe { core::slice::from_raw_parts(ptr as u32 as usize as *const u8, len) }
    };
    let out = run(input).into_boxed_slice();
    let out_len = out.len() as u32;
    let out_ptr = Box::into_raw(out) as *mut u8 as usize as u32;
    sluice_abi::pack_ptr_len(out_ptr, out_len)
}
