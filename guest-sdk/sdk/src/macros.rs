//! The export macros: one line turns a plain Rust function into an operator export.
//!
//! Every macro takes the function's name, exported under that name, or
//! `path as "export_name"`. The export exists only when compiling for wasm32; on other
//! targets the macros only mark the function as used, so plugin logic can be unit-tested
//! natively. Functions may return `T` or `Result<T, E: Display>`: an `Err` becomes a
//! per-record error (a whole-call error for `map_partitions`, `transform_with`, `init`).

/// Defines the `extern "C"` export `$name` running `$run` over the input bytes.
#[doc(hidden)]
#[macro_export]
macro_rules! __export {
    ($f:path, $name:expr, $run:expr) => {
        const _: () = {
            let _ = $f;
            #[cfg(target_arch = "wasm32")]
            #[export_name = $name]
            extern "C" fn __sluice_export(ptr: i32, len: i32) -> i64 {
                $crate::__private::call(ptr, len, $run)
            }
        };
    };
}

/// `fn(I) -> O`: one record out per record in (transform shape).
#[macro_export]
macro_rules! map {
    (@ $f:path, $name:expr) => {
        $crate::__export!($f, $name, |input: &[u8]| {
            $crate::__private::map(input, |x| $crate::__lift!($f(x)))
        });
    };
    ($f:ident) => {
        $crate::map!(@ $f, ::core::stringify!($f));
    };
    ($f:path as $name:literal) => {
        $crate::map!(@ $f, $name);
    };
}

/// `fn(&I) -> bool`: keeps the records for which the function is true (transform shape).
#[macro_export]
macro_rules! filter {
    (@ $f:path, $name:expr) => {
        $crate::__export!($f, $name, |input: &[u8]| {
            $crate::__private::filter(input, |x| $crate::__lift!($f(x)))
        });
    };
    ($f:ident) => {
        $crate::filter!(@ $f, ::core::stringify!($f));
    };
    ($f:path as $name:literal) => {
        $crate::filter!(@ $f, $name);
    };
}

/// `fn(I) -> impl IntoIterator<Item = O>`: any number of records per record (transform shape).
#[macro_export]
macro_rules! flat_map {
    (@ $f:path, $name:expr) => {
        $crate::__export!($f, $name, |input: &[u8]| {
            $crate::__private::flat_map(input, |x| $crate::__lift!($f(x)))
        });
    };
    ($f:ident) => {
        $crate::flat_map!(@ $f, ::core::stringify!($f));
    };
    ($f:path as $name:literal) => {
        $crate::flat_map!(@ $f, $name);
    };
}

/// `fn(V) -> W` over pair records `[k, v]`, keeping the key (transform shape).
#[macro_export]
macro_rules! map_values {
    (@ $f:path, $name:expr) => {
        $crate::__export!($f, $name, |input: &[u8]| {
            $crate::__private::map_values(input, |v| $crate::__lift!($f(v)))
        });
    };
    ($f:ident) => {
        $crate::map_values!(@ $f, ::core::stringify!($f));
    };
    ($f:path as $name:literal) => {
        $crate::map_values!(@ $f, $name);
    };
}

/// `fn(V) -> impl IntoIterator<Item = W>` over pair records (transform shape).
#[macro_export]
macro_rules! flat_map_values {
    (@ $f:path, $name:expr) => {
        $crate::__export!($f, $name, |input: &[u8]| {
            $crate::__private::flat_map_values(input, |v| $crate::__lift!($f(v)))
        });
    };
    ($f:ident) => {
        $crate::flat_map_values!(@ $f, ::core::stringify!($f));
    };
    ($f:path as $name:literal) => {
        $crate::flat_map_values!(@ $f, $name);
    };
}

/// `fn(Vec<I>) -> impl IntoIterator<Item = O>`: the whole partition at once (transform shape).
#[macro_export]
macro_rules! map_partitions {
    (@ $f:path, $name:expr) => {
        $crate::__export!($f, $name, |input: &[u8]| {
            $crate::__private::map_partitions(input, |xs| $crate::__lift!($f(xs)))
        });
    };
    ($f:ident) => {
        $crate::map_partitions!(@ $f, ::core::stringify!($f));
    };
    ($f:path as $name:literal) => {
        $crate::map_partitions!(@ $f, $name);
    };
}

/// `fn(Vec<Vec<I>>) -> impl IntoIterator<Item = O>`: several streams' partitions, one `Vec` per stream (transform shape; items are one array per input).
#[macro_export]
macro_rules! transform_with {
    (@ $f:path, $name:expr) => {
        $crate::__export!($f, $name, |input: &[u8]| {
            $crate::__private::transform_with(input, |xs| $crate::__lift!($f(xs)))
        });
    };
    ($f:ident) => {
        $crate::transform_with!(@ $f, ::core::stringify!($f));
    };
    ($f:path as $name:literal) => {
        $crate::transform_with!(@ $f, $name);
    };
}

/// `fn(V, V) -> V`: combines each group's values (reduce shape).
#[macro_export]
macro_rules! reduce {
    (@ $f:path, $name:expr) => {
        $crate::__export!($f, $name, |input: &[u8]| {
            $crate::__private::fold(input, |a, b| $crate::__lift!($f(a, b)))
        });
    };
    ($f:ident) => {
        $crate::reduce!(@ $f, ::core::stringify!($f));
    };
    ($f:path as $name:literal) => {
        $crate::reduce!(@ $f, $name);
    };
}

/// `fn(C, V) -> C`: folds each group's values into the first, decoded as `C` (reduce shape; combine_by_key's merge_value).
#[macro_export]
macro_rules! fold {
    (@ $f:path, $name:expr) => {
        $crate::__export!($f, $name, |input: &[u8]| {
            $crate::__private::fold(input, |c, v| $crate::__lift!($f(c, v)))
        });
    };
    ($f:ident) => {
        $crate::fold!(@ $f, ::core::stringify!($f));
    };
    ($f:path as $name:literal) => {
        $crate::fold!(@ $f, $name);
    };
}

/// `fn(A, R) -> A`: removes `R` from the accumulator `A` (inverse_reduce shape).
#[macro_export]
macro_rules! inverse_reduce {
    (@ $f:path, $name:expr) => {
        $crate::__export!($f, $name, |input: &[u8]| {
            $crate::__private::inverse(input, |a, r| $crate::__lift!($f(a, r)))
        });
    };
    ($f:ident) => {
        $crate::inverse_reduce!(@ $f, ::core::stringify!($f));
    };
    ($f:path as $name:literal) => {
        $crate::inverse_reduce!(@ $f, $name);
    };
}

/// `fn(Vec<V>, Option<S>) -> Option<S>`: Spark's updateStateByKey (update_state shape). The batch time is `sluice_plugin::ctx().batch_time_ms`.
#[macro_export]
macro_rules! update_state {
    (@ $f:path, $name:expr) => {
        $crate::__export!($f, $name, |input: &[u8]| {
            $crate::__private::update_state(input, |_k: $crate::__private::IgnoredAny, vs, s| $crate::__lift!($f(vs, s)))
        });
    };
    ($f:ident) => {
        $crate::update_state!(@ $f, ::core::stringify!($f));
    };
    ($f:path as $name:literal) => {
        $crate::update_state!(@ $f, $name);
    };
}

/// `fn(&K, Vec<V>, Option<S>) -> Option<S>`: updateStateByKey with the key (update_state shape).
#[macro_export]
macro_rules! update_state_with_key {
    (@ $f:path, $name:expr) => {
        $crate::__export!($f, $name, |input: &[u8]| {
            $crate::__private::update_state(input, |k, vs, s| $crate::__lift!($f(&k, vs, s)))
        });
    };
    ($f:ident) => {
        $crate::update_state_with_key!(@ $f, ::core::stringify!($f));
    };
    ($f:path as $name:literal) => {
        $crate::update_state_with_key!(@ $f, $name);
    };
}

/// `fn(&K, Option<V>, &mut State<S>) -> Option<O>`: Spark's mapWithState, called once per value in order, or once with `None` when the key times out (update_state shape).
#[macro_export]
macro_rules! map_with_state {
    (@ $f:path, $name:expr) => {
        $crate::__export!($f, $name, |input: &[u8]| {
            $crate::__private::map_with_state(input, |k, v, st| $crate::__lift!($f(k, v, st)))
        });
    };
    ($f:ident) => {
        $crate::map_with_state!(@ $f, ::core::stringify!($f));
    };
    ($f:path as $name:literal) => {
        $crate::map_with_state!(@ $f, $name);
    };
}

/// `fn(P) -> Result<(), E>` (or `()`): receives the plugin's params from the job file; exported as `sluice_init`.
#[macro_export]
macro_rules! init {
    (@ $f:path, $name:expr) => {
        $crate::__export!($f, $name, |input: &[u8]| {
            $crate::__private::init(input, |p| $crate::__lift!($f(p)))
        });
    };
    ($f:ident) => {
        $crate::init!(@ $f, "sluice_init");
    };
    ($f:path as $name:literal) => {
        $crate::init!(@ $f, $name);
    };
}

/// `fn(index: u32, record: &[u8], out: &mut Output) -> Result<(), E>` (or `()`): encoded records in, written records out, no serde (transform shape).
#[macro_export]
macro_rules! raw_transform {
    (@ $f:path, $name:expr) => {
        $crate::__export!($f, $name, |input: &[u8]| {
            $crate::__private::raw(input, |i, r, o| $crate::__lift!($f(i, r, o)))
        });
    };
    ($f:ident) => {
        $crate::raw_transform!(@ $f, ::core::stringify!($f));
    };
    ($f:path as $name:literal) => {
        $crate::raw_transform!(@ $f, $name);
    };
}
