//! perf.data kernel frames named from perf's saved copy of the recorded kernel's kallsyms
//! (`~/.debug/[kernel.kallsyms]/BUILD-ID/kallsyms`, which `perf record` writes), read instead
//! of `/proc/kallsyms`, which the kernel formats on every read (the slowest part of reading a
//! small recording before). A marked copy proves which one named the frames.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::rprof;

fn perf_ready() -> bool {
    let facility = common::have("perf").and_then(|_| common::perf_event_check());
    common::live("perf", facility)
}

/// A `-g` recording of `dd` copying through the kernel (read and write system calls).
fn record_dd(dir: &Path) -> PathBuf {
    let out = dir.join("k.data");
    let st = Command::new("perf")
        .args(["record", "-q", "-g", "-F", "999", "-o"])
        .arg(&out)
        .args([
            "--",
            "dd",
            "if=/dev/zero",
            "of=/dev/null",
            "bs=512",
            "count=1000000",
        ])
        .output()
        .expect("perf record");
    assert!(
        st.status.success(),
        "perf record: {}",
        String::from_utf8_lossy(&st.stderr)
    );
    out
}

/// The recorded kernel's build-id, as `perf buildid-list` reads it from the file.
fn kernel_build_id(data: &Path) -> String {
    let out = Command::new("perf")
        .args(["buildid-list", "-i"])
        .arg(data)
        .output()
        .expect("perf buildid-list");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.ends_with("[kernel.kallsyms]"))
        .and_then(|l| l.split_whitespace().next())
        .map(str::to_string)
        .expect("a kernel build-id in the recording")
}

/// rprof's folded stacks of `data` with `HOME` set to `home`.
fn folded_with_home(data: &Path, home: &Path) -> String {
    let out = rprof()
        .env("HOME", home)
        .args(["report", "--format", "folded"])
        .arg(data)
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .expect("rprof");
    assert!(
        out.status.success(),
        "rprof: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn frames(folded: &str) -> Vec<String> {
    folded
        .lines()
        .filter_map(|l| l.rsplit_once(' '))
        .flat_map(|(stack, _)| stack.split(';').map(str::to_string).collect::<Vec<_>>())
        .collect()
}

#[test]
fn kernel_frames_come_from_perfs_saved_kallsyms_copy() {
    if !perf_ready() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let data = record_dd(dir.path());
    let bid = kernel_build_id(&data);

    // No saved copy (an empty HOME): this machine's /proc/kallsyms, the recorded kernel being
    // the running one.
    let bare = dir.path().join("bare");
    std::fs::create_dir(&bare).expect("mkdir");
    let plain = frames(&folded_with_home(&data, &bare));
    assert!(
        plain.iter().any(|f| f == "do_syscall_64"),
        "kernel frames named from /proc/kallsyms: {plain:?}"
    );
    assert!(!plain.iter().any(|f| f.starts_with("saved_")));

    // A saved copy whose every name (but `_text`, which places the kernel) is marked: the
    // kernel frames carry the mark, so the copy named them.
    let home = dir.path().join("home");
    let kdir = home.join(".debug/[kernel.kallsyms]").join(&bid);
    std::fs::create_dir_all(&kdir).expect("mkdir");
    let real = std::fs::read_to_string("/proc/kallsyms").expect("kallsyms");
    let marked: String = real
        .lines()
        .map(|l| {
            let mut f = l.splitn(3, ' ');
            match (f.next(), f.next(), f.next()) {
                (Some(a), Some(t), Some(rest)) if !rest.starts_with("_text") => {
                    format!("{a} {t} saved_{rest}\n")
                }
                _ => format!("{l}\n"),
            }
        })
        .collect();
    std::fs::write(kdir.join("kallsyms"), marked).expect("write kallsyms copy");
    let saved = frames(&folded_with_home(&data, &home));
    assert!(
        saved.iter().any(|f| f == "saved_do_syscall_64"),
        "kernel frames named from the saved copy: {saved:?}"
    );
    assert!(
        !saved.iter().any(|f| f == "do_syscall_64"),
        "no kernel frame from /proc/kallsyms when the copy is there"
    );

    // A FIFO in its place is not opened (it would block): /proc/kallsyms is read instead.
    std::fs::remove_file(kdir.join("kallsyms")).expect("rm");
    let fifo = Command::new("mkfifo")
        .arg(kdir.join("kallsyms"))
        .status()
        .expect("mkfifo");
    assert!(fifo.success());
    let with_fifo = frames(&folded_with_home(&data, &home));
    assert!(with_fifo.iter().any(|f| f == "do_syscall_64"));
}
