//! Lets one export macro accept functions that return `T` or `Result<T, E>`.
//!
//! "Autoref specialization": `(&r).__sluice_kind()` finds [`ResultKind`] first when `r` is
//! a `Result` whose error displays, and [`PlainKind`] (one auto-reference further)
//! otherwise. It works because the macros expand where the function's types are concrete.

use std::fmt::Display;

/// Marks a `Result` return value: `Err(e)` becomes a per-record error with `e`'s text.
pub struct ResultTag;
/// Marks any other return value: it always succeeds.
pub struct PlainTag;

/// Chosen for `Result<T, E: Display>`.
pub trait ResultKind {
    fn __sluice_kind(&self) -> ResultTag {
        ResultTag
    }
}
impl<T, E: Display> ResultKind for Result<T, E> {}

/// Chosen for every other type.
pub trait PlainKind {
    fn __sluice_kind(&self) -> PlainTag {
        PlainTag
    }
}
impl<T> PlainKind for &T {}

impl ResultTag {
    /// `Err(e)` becomes `Err(e.to_string())`.
    pub fn lift<T, E: Display>(self, r: Result<T, E>) -> Result<T, String> {
        r.map_err(|e| e.to_string())
    }
}

impl PlainTag {
    /// Always `Ok`.
    pub fn lift<T>(self, t: T) -> Result<T, String> {
        Ok(t)
    }
}

/// Turns a function's return value into `Result<T, String>`.
#[doc(hidden)]
#[macro_export]
macro_rules! __lift {
    ($e:expr) => {{
        #[allow(
            unused_imports,
            reason = "only one of the two traits applies to a given type"
        )]
        use $crate::__private::{PlainKind as _, ResultKind as _};
        let __r = $e;
        (&__r).__sluice_kind().lift(__r)
    }};
}

#[cfg(test)]
mod tests {
    fn plain() -> i64 {
        1
    }
    fn fallible(ok: bool) -> Result<i64, String> {
        if ok {
            Ok(2)
        } else {
            Err("no".into())
        }
    }

    #[test]
    fn lifts_plain_and_result_values() {
        assert_eq!(crate::__lift!(plain()), Ok(1));
        assert_eq!(crate::__lift!(fallible(true)), Ok(2));
        assert_eq!(crate::__lift!(fallible(false)), Err("no".to_string()));
    }
}
