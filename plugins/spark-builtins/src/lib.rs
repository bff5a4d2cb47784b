//! The builtin functions of the Spark DStream conformance cases
//! (`shared/conformance/spark_cases.json`, section `builtins`), over dynamic values.
//! `plugins/README.md` lists every export with its shape.

pub mod aggregate;
pub mod elementwise;
pub mod rdd;
pub mod state;
pub mod value;

#[cfg(test)]
mod tests;
