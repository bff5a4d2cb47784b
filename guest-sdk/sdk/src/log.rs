//! Logging through the host import `sluice.log(level, ptr, len)`.

pub use sluice_abi::LogLevel;

#[cfg(target_arch = "wasm32")]
#[link(wasm_import_module = "sluice")]
extern "C" {
    #[link_name = "log"]
    fn host_log(level: i32, ptr: *const u8, len: usize);
}

/// Sends `message` to the job's log at `level`. Outside wasm (in native tests) it is
/// printed to stderr.
pub fn log(level: LogLevel, message: &str) {
    #[cfg(target_arch = "wasm32")]
    // SAFETY: `message` is a live UTF-8 buffer of `message.len()` bytes for the duration
    // of the call; the host only reads it.
    unsafe {
        host_log(level as i32, message.as_ptr(), message.len())
    };
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("[{level:?}] {message}");
}

/// Installs (once) a panic hook that logs the panic message at error level before the
/// module traps, so the job's log says why the call failed.
#[cfg(target_arch = "wasm32")]
pub(crate) fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            log(LogLevel::Error, &format!("panic: {info}"))
        }));
    });
}

/// Logs a formatted message at a level: `log!(LogLevel::Warn, "{n} records")`.
#[macro_export]
macro_rules! log {
    ($level:expr, $($arg:tt)+) => {
        $crate::log::log($level, &::std::format!($($arg)+))
    };
}

/// Logs a formatted message at error level.
#[macro_export]
macro_rules! error {
    ($($arg:tt)+) => { $crate::log!($crate::LogLevel::Error, $($arg)+) };
}

/// Logs a formatted message at warn level.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)+) => { $crate::log!($crate::LogLevel::Warn, $($arg)+) };
}

/// Logs a formatted message at info level.
#[macro_export]
macro_rules! info {
    ($($arg:tt)+) => { $crate::log!($crate::LogLevel::Info, $($arg)+) };
}

/// Logs a formatted message at debug level.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)+) => { $crate::log!($crate::LogLevel::Debug, $($arg)+) };
}

/// Logs a formatted message at trace level.
#[macro_export]
macro_rules! trace {
    ($($arg:tt)+) => { $crate::log!($crate::LogLevel::Trace, $($arg)+) };
}
