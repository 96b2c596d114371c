//! Builds the heap interposer (`preload/`, rprof's LD_PRELOAD library) so the `rprof` binary
//! can carry it inside itself (`include_bytes!` in src/heap/preload.rs) and `cargo install`
//! still gives one binary.
//!
//! The library has no dependencies, so it is compiled with rustc directly rather than by a
//! nested cargo: no second build lock, no registry access, and the same compiler cargo uses for
//! rprof. It is built with `panic=abort` (it runs inside C programs, where a panic must never
//! unwind) and optimized, whatever profile rprof itself is built with. The `preload` crate is
//! also a workspace member, so clippy, fmt and tests see it as ordinary Rust.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));
    let src = manifest.join("preload/src/lib.rs");
    println!(
        "cargo:rerun-if-changed={}",
        manifest.join("preload/src").display()
    );
    println!("cargo:rerun-if-changed=build.rs");
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let lib = out.join("librprof_preload.so");
    let mut c = Command::new(rustc);
    c.args([
        "--edition",
        "2021",
        "--crate-type",
        "cdylib",
        "--crate-name",
        "rprof_preload",
        "-C",
        "opt-level=3",
        "-C",
        "panic=abort",
        "-C",
        "debuginfo=0",
        "-C",
        "strip=debuginfo",
    ]);
    // Cross builds: the library must match the target rprof runs on.
    if let (Ok(target), Ok(host)) = (std::env::var("TARGET"), std::env::var("HOST")) {
        if target != host {
            c.args(["--target", &target]);
        }
    }
    c.arg(&src).arg("-o").arg(&lib);
    let status = c
        .status()
        .expect("cannot run rustc for the heap interposer");
    assert!(
        status.success(),
        "building the heap interposer (preload/src/lib.rs) failed"
    );
}
