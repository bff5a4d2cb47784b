//! The guest side end to end: every plugin that `plugins/build.sh` builds (Rust with the
//! SDK, C, WAT), loaded by the real runtime, against the golden fixtures of `docs/abi.md`
//! and the functions listed in `plugins/README.md`.

mod builtins;
mod fixtures;
mod languages;
mod polyglot;
mod support;
