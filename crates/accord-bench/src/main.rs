//! `accord-bench`: the benchmarks as a program (`cargo xtask bench` builds it with the optimised
//! `bench-fast` profile and hands it the plugins and a nats-server).

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    accord_runtime::process::main_with(accord_bench::run(accord_bench::BenchArgs::parse()))
}
