//! Compiles the eBPF programs of `rprof strace-summary` (src/strace/bpf/*.bpf.c) with clang
//! into an object that src/strace/bpf.rs embeds, so `cargo install` gives one binary.
//!
//! Needs clang (with the BPF target) and libbpf's headers (`apt-get install clang
//! libbpf-dev`). CLANG overrides the compiler.

use std::path::PathBuf;
use std::process::Command;

fn main() {
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
