//! Names of the exports a plugin provides and of the host imports it may use.

/// The guest's linear memory.
pub const MEMORY: &str = "memory";
/// `() -> i32`: returns [`crate::ABI_VERSION`].
pub const ABI_VERSION_FN: &str = "sluice_abi_version";
/// `(len: i32) -> i32`: a buffer of `len` bytes for the host to write into.
pub const ALLOC_FN: &str = "sluice_alloc";
/// `(ptr: i32, len: i32) -> ()`: frees a buffer from `sluice_alloc` or a function result.
pub const FREE_FN: &str = "sluice_free";
/// Optional `(ptr: i32, len: i32) -> i64` of shape [`crate::Shape::Init`].
pub const INIT_FN: &str = "sluice_init";
/// Optional `() -> ()` reactor initializer (C, Zig, Go); called once per instance first.
pub const INITIALIZE_FN: &str = "_initialize";
/// Export names that are part of the ABI, never operator functions.
pub const RESERVED: &[&str] = &[
    MEMORY,
    ABI_VERSION_FN,
    ALLOC_FN,
    FREE_FN,
    INIT_FN,
    INITIALIZE_FN,
];

/// The module of Sluice's host imports.
pub const HOST_MODULE: &str = "sluice";
/// `log(level: i32, ptr: i32, len: i32)`: a UTF-8 message for the job's log.
pub const LOG_FN: &str = "log";
/// The module of WASI preview 1 imports (served with no capabilities).
pub const WASI_P1_MODULE: &str = "wasi_snapshot_preview1";
