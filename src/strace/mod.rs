//! Syscall summaries (`rprof strace-summary`): live tracing through perf tracepoints or ptrace,
//! `strace -f -T` log parsing, one summary model and its text/JSON renderers.

pub mod bpf;
pub mod log;
pub mod model;
pub mod names;
pub mod perf;
pub mod ptrace;
pub mod render;
pub mod target;
pub mod tracefs;
