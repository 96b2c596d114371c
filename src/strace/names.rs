//! Names for syscall numbers and error codes on the running architecture.

/// The name of syscall `nr`, or `syscall_NNN` when the `syscalls` table does not know it, so
/// an unknown call is still shown rather than dropped.
pub fn syscall_name(nr: u32) -> String {
    match syscalls::Sysno::new(nr as usize) {
        Some(s) => s.name().to_string(),
        None => format!("syscall_{nr}"),
    }
}

/// The symbolic name of a (positive) error number, e.g. `ENOENT`. Kernel-internal restart
/// codes appear in raw traces when a call is interrupted, so they get their kernel names.
pub fn errno_name(errno: i32) -> String {
    match errno {
        512 => "ERESTARTSYS".into(),
        513 => "ERESTARTNOINTR".into(),
        514 => "ERESTARTNOHAND".into(),
        515 => "ENOIOCTLCMD".into(),
        516 => "ERESTART_RESTARTBLOCK".into(),
        _ => {
            let e = nix::errno::Errno::from_raw(errno);
            if e == nix::errno::Errno::UnknownErrno {
                format!("E{errno}")
            } else {
                format!("{e:?}")
            }
        }
    }
}

/// The syscall number of `exit` and `exit_group`: calls that enter and never return, so a
/// pending entry for them at the end is a finished call, not one in flight.
pub fn never_returns(nr: u32) -> bool {
    let n = nr as usize;
    n == syscalls::Sysno::exit as usize || n == syscalls::Sysno::exit_group as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(syscall_name(syscalls::Sysno::write as u32), "write");
        assert_eq!(syscall_name(99_999), "syscall_99999");
        assert_eq!(errno_name(2), "ENOENT");
        assert_eq!(errno_name(512), "ERESTARTSYS");
        assert_eq!(errno_name(4000), "E4000");
    }
}
