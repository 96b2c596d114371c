//! Builds the two non-Rust-crate parts the `rprof` binary carries inside itself, so that
//! `cargo install` gives one binary:
//!
//! - the eBPF programs of `rprof strace-summary` (src/strace/bpf/*.bpf.c), compiled with clang
//!   into an object that src/strace/bpf.rs embeds. Needs clang (with the BPF target) and
//!   libbpf's headers (`apt-get install clang libbpf-dev`); CLANG overrides the compiler.
//! - the heap interposer (`preload/`, rprof's LD_PRELOAD library), embedded by
//!   src/heap/preload.rs. It has no dependencies, so it is compiled with rustc directly rather
//!   than by a nested cargo: no second build lock, no registry access, and the same compiler
//!   cargo uses for rprof. It is built with `panic=abort` (it runs inside C programs, where a
//!   panic must never unwind) and optimized, whatever profile rprof itself is built with. The
//!   `preload` crate is also a workspace member, so clippy, fmt and tests see it as ordinary
//!   Rust.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    build_bpf();
    build_preload();
}

fn build_bpf() {
    let src = "src/strace/bpf/syscalls.bpf.c";
    println!("cargo:rerun-if-changed={src}");
    println!("cargo:rerun-if-changed=src/strace/bpf/vmlinux_min.h");
    println!("cargo:rerun-if-env-changed=CLANG");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let obj = out.join("syscalls.bpf.o");
    let arch = match std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() {
        Ok("x86_64") => "x86",
        Ok("aarch64") => "arm64",
        Ok(other) => other.to_string().leak(),
        Err(_) => "x86",
    };
    let clang = std::env::var("CLANG").unwrap_or_else(|_| "clang".into());
    let mut cmd = Command::new(&clang);
    // -g: the BTF that CO-RE relocations and map definitions need.
    cmd.args(["-g", "-O2", "-target", "bpf", "-Wall"])
        .arg(format!("-D__TARGET_ARCH_{arch}"))
        .arg("-Isrc/strace/bpf");
    // The <asm/...> headers that <linux/types.h> pulls in live under the multiarch directory on
    // Debian; -target bpf does not search it.
    let multiarch = format!(
        "/usr/include/{}-linux-gnu",
        std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_else(|_| "x86_64".into())
    );
    if std::path::Path::new(&multiarch).is_dir() {
        cmd.arg(format!("-I{multiarch}"));
    }
    cmd.arg("-c").arg(src).arg("-o").arg(&obj);
    let status = cmd.status().unwrap_or_else(|e| {
        panic!(
            "cannot run {clang} to compile {src} ({e}): install clang and libbpf-dev \
             (`apt-get install clang libbpf-dev`), or set CLANG"
        )
    });
    if !status.success() {
        panic!(
            "{clang} failed to compile {src} ({status}): libbpf's headers \
             (<bpf/bpf_helpers.h>) come with `apt-get install libbpf-dev`"
        );
    }
}

fn build_preload() {
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
