//! rprof as a library: the modules behind the `rprof` binary. The binary (`main.rs`) only
//! parses the command line and dispatches; the library exists so that fuzz targets and tests
//! can drive the parsers and renderers directly.

pub mod cli;
pub mod cmd;
pub mod heap;
pub mod massif;
pub mod output;
pub mod process;
pub mod profile;
pub mod progress;
pub mod push;
pub mod record;
pub mod render;
pub mod strace;
pub mod symbolize;
pub mod unwind;
