//! Integration tests of the WebAssembly plugin runtime: real modules (WAT written here and
//! the plugins of `plugins/dist`), hostile modules, the cache and the CLI.

mod cache;
mod calls;
mod cli;
mod common;
mod components;
mod host_io;
mod hostile;
mod plugins;
mod validation;
