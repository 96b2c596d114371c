//! Writing output files safely, also as root in a directory other users can write to.
//!
//! Every file rprof writes (data files, SVGs, syscall summaries) goes through here:
//!
//! - the content is written to a temporary file in the target's directory, created with
//!   `O_CREAT|O_EXCL` under a random name (the `tempfile` crate), so a symlink or file planted
//!   beforehand can never be opened in its place: a predictable name such as `.NAME.tmp.PID`
//!   let a planted symlink make root truncate any file on the machine;
//! - it is flushed to disk (`fsync`) and only then renamed onto the final name. `rename(2)`
//!   never follows a symlink at the destination: a symlink planted at the final name is
//!   replaced by the new file, and the file it pointed to is left alone. That is the wanted
//!   behaviour: rprof writes the name it was given, never some other file;
//! - a failure (a full disk, an I/O error) removes the temporary and leaves the final name as
//!   it was: never a half-written or empty file under the real name;
//! - `record` keeps the previous file as `FILE.old`, and moves it aside only once the new file
//!   is complete ([`replace_keeping_old`]);
//! - checking up front whether a place is writable creates nothing ([`check_writable`]);
//! - streams are written in place, never replaced: one of our own descriptors (`/dev/stdout`,
//!   `/dev/fd/N`), a character device (`/dev/null`), our own FIFO, or a FIFO or character
//!   device behind a symlink in a directory only root or we can write. Another user's FIFO,
//!   or a symlink in a shared directory such as `/tmp`, is replaced like any other name.

use std::ffi::{CString, OsString};
use std::fs::{self, File, Permissions};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

/// The directory a path's file lives in (`.` for a bare file name).
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Writes `bytes` into a new temporary file next to `path`, flushed to disk, ready to be
/// renamed into place. Dropping it unrenamed removes it.
fn complete_temp(path: &Path, bytes: &[u8]) -> io::Result<tempfile::NamedTempFile> {
    complete_temp_with(path, &mut |w| w.write_all(bytes))
}

/// As [`complete_temp`], with the content written by `fill` (for content streamed from
/// elsewhere rather than held in memory).
fn complete_temp_with(
    path: &Path,
    fill: &mut dyn FnMut(&mut dyn Write) -> io::Result<()>,
) -> io::Result<tempfile::NamedTempFile> {
    let dir = parent_dir(path);
    // A recognisable prefix says what a leftover is for; the name is cut short so that the
    // random part and suffix still fit in NAME_MAX.
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut cut = name.len().min(64);
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    let prefix = format!(".{}.", &name[..cut]);
    let mut tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        // The default mode of a created file (umask applies), as `File::create` gives, not
        // tempfile's private 0600: an SVG or data file is meant to be shared.
        .permissions(Permissions::from_mode(0o666))
        .tempfile_in(&dir)?;
    {
        let mut w = io::BufWriter::with_capacity(1 << 16, tmp.as_file_mut());
        fill(&mut w)?;
        w.flush()?;
    }
    // The data reaches the disk before the rename makes it visible under the real name, so a
    // crash leaves the old file or the new one, never an empty one.
    tmp.as_file().sync_all()?;
    Ok(tmp)
}

/// Makes a rename in `dir` durable; best effort (some file systems refuse to fsync a directory).
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// True for the file types written in place rather than replaced: a FIFO (`mkfifo`, a shell's
/// process substitution) and a character device (`/dev/null`, a terminal; only root can make
/// one). Renaming a regular file over `/dev/null`, as root, would break the machine.
fn is_stream(t: fs::FileType) -> bool {
    t.is_fifo() || t.is_char_device()
}

/// Whether a symlink found in `dir` was put there by someone trusted: the directory belongs to
/// root or to us and nobody else can write to it (`/dev`, `/proc/self/fd`), unlike `/tmp`.
fn trusted_dir(dir: &Path) -> bool {
    fs::metadata(dir).is_ok_and(|m| ours(&m) && m.mode() & 0o022 == 0)
}

/// Whether a file belongs to root or to us.
fn ours(m: &fs::Metadata) -> bool {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    m.uid() == 0 || m.uid() == euid
}

/// The descriptor number when `path` names one of this process's own open files through
/// `/proc/self/fd/N` (as `/dev/stdout`, `/dev/stderr` and `/dev/fd/N` do): writing there means
/// writing to that descriptor, as a shell redirection set it up, not replacing a name.
fn own_fd(path: &Path) -> Option<i32> {
    let fd_dir = Path::new("/proc")
        .join(std::process::id().to_string())
        .join("fd");
    let is_fd_dir = |d: &Path| fs::canonicalize(d).is_ok_and(|c| c == fd_dir);
    let dir = parent_dir(path);
    let name = if is_fd_dir(&dir) {
        path.file_name()?.to_owned()
    } else {
        let t = fs::read_link(path).ok()?;
        let t = dir.join(t);
        if !is_fd_dir(t.parent()?) {
            return None;
        }
        t.file_name()?.to_owned()
    };
    let fd: i32 = name.to_str()?.parse().ok()?;
    // SAFETY: F_GETFD only asks whether the descriptor is open.
    (unsafe { libc::fcntl(fd, libc::F_GETFD) } >= 0).then_some(fd)
}

/// Writes `bytes` to descriptor `fd`, which stays open.
fn write_fd(fd: i32, bytes: &[u8]) -> io::Result<()> {
    use std::os::fd::FromRawFd;
    // SAFETY: `fd` is open in this process (own_fd checked it with F_GETFD); ManuallyDrop
    // keeps it open afterwards, as its owner (the shell's redirection) expects.
    let mut f = std::mem::ManuallyDrop::new(unsafe { File::from_raw_fd(fd) });
    f.write_all(bytes)?;
    f.flush()
}

/// Opens `path` for writing in place when it is a FIFO or a character device: the file itself,
/// or the target of a symlink in a trusted directory (`/dev/stdout`, `/dev/fd/N`). None when
/// `path` should be replaced by a new file (absent, regular, or a symlink someone else could
/// have planted: the rename then replaces the link). A block device or directory is refused.
fn open_stream(path: &Path) -> io::Result<Option<File>> {
    let lm = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let follow = if lm.file_type().is_symlink() {
        match fs::metadata(path) {
            Ok(m) if is_stream(m.file_type()) && trusted_dir(&parent_dir(path)) => true,
            _ => return Ok(None),
        }
    } else if lm.file_type().is_char_device() || (lm.file_type().is_fifo() && ours(&lm)) {
        // Another user's FIFO in a shared directory is replaced instead: writing to it would
        // hand them the output, and opening it blocks until they choose to read.
        false
    } else if lm.file_type().is_block_device() {
        return Err(io::Error::other("it is a block device"));
    } else if lm.is_dir() {
        return Err(io::Error::other("it is a directory"));
    } else {
        return Ok(None);
    };
    let mut o = fs::OpenOptions::new();
    o.write(true);
    // O_NOFOLLOW: a FIFO swapped for a symlink between the check and the open is not followed.
    let flags = libc::O_NOCTTY | if follow { 0 } else { libc::O_NOFOLLOW };
    o.custom_flags(flags);
    let f = o.open(path)?;
    // What was opened is checked, not what was looked at before: a regular file swapped in
    // meanwhile is never written in place (no truncation, no partial overwrite).
    if !is_stream(f.metadata()?.file_type()) {
        return Err(io::Error::other("it changed while being opened"));
    }
    Ok(Some(f))
}

/// Writes `bytes` to `path` atomically: a complete new file appears under `path`, or, on any
/// error, `path` is left as it was. A symlink at `path` is replaced, not followed. Exceptions,
/// written in place: one of our own descriptors (`/dev/stdout`, `/dev/fd/N`), a character
/// device (`/dev/null`), our own FIFO, and a FIFO or character device behind a symlink in a
/// directory only root or we can write.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Some(fd) = own_fd(path) {
        return write_fd(fd, bytes);
    }
    if let Some(mut f) = open_stream(path)? {
        return f.write_all(bytes);
    }
    let tmp = complete_temp(path, bytes)?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(&parent_dir(path));
    Ok(())
}

/// As [`write_atomically`], with the content written by `fill` as it goes (streamed, not held
/// in memory).
pub fn write_atomically_with(
    path: &Path,
    fill: &mut dyn FnMut(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    if let Some(fd) = own_fd(path) {
        let mut buf = Vec::new();
        fill(&mut buf)?;
        return write_fd(fd, &buf);
    }
    if let Some(f) = open_stream(path)? {
        let mut w = io::BufWriter::new(f);
        fill(&mut w)?;
        return w.flush();
    }
    let tmp = complete_temp_with(path, fill)?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(&parent_dir(path));
    Ok(())
}

/// The name an existing `path` is kept under: `path` with `.old` appended.
pub fn old_name(path: &Path) -> PathBuf {
    let mut old: OsString = path.as_os_str().to_owned();
    old.push(".old");
    PathBuf::from(old)
}

/// Writes `bytes` to `path` and keeps what was at `path` before as `path.old`; returns the
/// `.old` name when there was something to keep.
///
/// The previous file is moved aside only once the new one is complete on disk: when the new
/// file cannot be written (a full disk), `path` keeps its content and `.old` is untouched.
/// Both steps are renames, which move names and never write through a symlink.
pub fn replace_keeping_old(path: &Path, bytes: &[u8]) -> io::Result<Option<PathBuf>> {
    // `-o /dev/null` or `-o /dev/stdout` writes there; nothing is kept (or moved away).
    if let Some(fd) = own_fd(path) {
        write_fd(fd, bytes)?;
        return Ok(None);
    }
    if let Some(mut f) = open_stream(path)? {
        f.write_all(bytes)?;
        return Ok(None);
    }
    let tmp = complete_temp(path, bytes)?;
    let old = old_name(path);
    let kept = match fs::symlink_metadata(path) {
        Ok(_) => {
            fs::rename(path, &old).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot keep the previous file as {}: {e}", old.display()),
                )
            })?;
            true
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
        Err(e) => return Err(e),
    };
    if let Err(e) = tmp.persist(path) {
        // Put the previous file back so that a failure changes nothing.
        if kept {
            let _ = fs::rename(&old, path);
        }
        return Err(e.error);
    }
    sync_dir(&parent_dir(path));
    Ok(kept.then_some(old))
}

/// Fails when a file cannot be written at `path`, without creating anything: the directory
/// must exist and be writable (and searchable) by this process's effective ids, and `path`
/// must not be a directory. Used to fail before a long recording rather than after it.
pub fn check_writable(path: &Path) -> Result<()> {
    // Written in place, whoever owns the directory (`-o /dev/null`, `-o /dev/stdout`).
    if own_fd(path).is_some() || fs::metadata(path).is_ok_and(|m| is_stream(m.file_type())) {
        return Ok(());
    }
    let dir = parent_dir(path);
    match fs::metadata(&dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => bail!("{} is not a directory", dir.display()),
        Err(e) => bail!("{}: {e}", dir.display()),
    }
    let c = CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| anyhow::anyhow!("{} contains a NUL byte", dir.display()))?;
    // faccessat with AT_EACCESS answers for the effective ids, as the later open will be
    // checked; it also reports a read-only file system (EROFS), which root's permissions do
    // not override.
    // SAFETY: a valid NUL-terminated path and plain integer arguments.
    let rc = unsafe {
        libc::faccessat(
            libc::AT_FDCWD,
            c.as_ptr(),
            libc::W_OK | libc::X_OK,
            libc::AT_EACCESS,
        )
    };
    if rc != 0 {
        bail!("{}: {}", dir.display(), io::Error::last_os_error());
    }
    if path.is_dir() {
        bail!("it is a directory");
    }
    if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_block_device()) {
        bail!("it is a block device");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn write_replaces_a_symlink_and_leaves_its_target_alone() {
        let d = tempfile::tempdir().unwrap();
        let victim = d.path().join("victim");
        fs::write(&victim, b"precious").unwrap();
        let out = d.path().join("out.svg");
        symlink(&victim, &out).unwrap();
        write_atomically(&out, b"new").unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        assert!(!fs::symlink_metadata(&out).unwrap().file_type().is_symlink());
        assert_eq!(fs::read(&out).unwrap(), b"new");
        // Nothing else is left in the directory.
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 2);
    }

    #[test]
    fn keeping_old_moves_the_previous_file_only_after_writing() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("rprof.data");
        assert_eq!(replace_keeping_old(&out, b"one").unwrap(), None);
        let old = replace_keeping_old(&out, b"two").unwrap();
        assert_eq!(old.as_deref(), Some(old_name(&out).as_path()));
        assert_eq!(fs::read(&out).unwrap(), b"two");
        assert_eq!(fs::read(old_name(&out)).unwrap(), b"one");
    }

    #[test]
    fn failed_write_keeps_the_previous_file() {
        let d = tempfile::tempdir().unwrap();
        // The temporary cannot be created in a directory that does not exist: the error comes
        // before anything is renamed.
        let out = d.path().join("missing").join("x");
        assert!(replace_keeping_old(&out, b"x").is_err());
        let out = d.path().join("x");
        fs::write(&out, b"keep").unwrap();
        // A directory at the .old name makes the move aside fail: the original stays.
        fs::create_dir(old_name(&out)).unwrap();
        fs::write(old_name(&out).join("f"), b"").unwrap();
        assert!(replace_keeping_old(&out, b"new").is_err());
        assert_eq!(fs::read(&out).unwrap(), b"keep");
    }

    #[test]
    fn streams_are_written_in_place() {
        // /dev/null stays a character device (as root a rename would replace it).
        write_atomically(Path::new("/dev/null"), b"x").unwrap();
        assert_eq!(
            replace_keeping_old(Path::new("/dev/null"), b"x").unwrap(),
            None
        );
        assert!(fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device());
        // A symlink to a stream in a directory others can write is replaced, not followed.
        let d = tempfile::tempdir().unwrap();
        fs::set_permissions(d.path(), Permissions::from_mode(0o1777)).unwrap();
        let link = d.path().join("out");
        symlink("/dev/null", &link).unwrap();
        write_atomically(&link, b"x").unwrap();
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_file());
        // A symlink in a private directory is followed (as /dev/stdout).
        fs::set_permissions(d.path(), Permissions::from_mode(0o700)).unwrap();
        fs::remove_file(&link).unwrap();
        symlink("/dev/null", &link).unwrap();
        write_atomically(&link, b"x").unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[test]
    fn own_descriptors_are_written_directly() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("target");
        let f = File::create(&target).unwrap();
        use std::os::fd::AsRawFd;
        let fd = f.as_raw_fd();
        let via = PathBuf::from(format!("/dev/fd/{fd}"));
        assert_eq!(own_fd(&via), Some(fd));
        assert_eq!(own_fd(Path::new("/dev/stdout")), Some(1));
        assert_eq!(own_fd(&target), None);
        write_atomically(&via, b"through the descriptor").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"through the descriptor");
        // The descriptor is still open and usable.
        (&f).write_all(b"!").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"through the descriptor!");
    }

    #[test]
    fn check_writable_creates_nothing() {
        let d = tempfile::tempdir().unwrap();
        check_writable(&d.path().join("x")).unwrap();
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 0);
        assert!(check_writable(&d.path().join("no").join("x")).is_err());
        let err = check_writable(d.path()).unwrap_err().to_string();
        assert!(err.contains("directory"), "{err}");
    }
}
