//! rprof's heap interposer, preloaded into the command `rprof heap` runs (`LD_PRELOAD`).
//!
//! It defines the allocation functions (`malloc`, `calloc`, `realloc`, `reallocarray`, `free`,
//! `posix_memalign`, `aligned_alloc`, `memalign`, `valloc`, `pvalloc`), forwards each call to
//! the next definition (glibc's, found with `dlsym(RTLD_NEXT)`), and records what happened with
//! the call stack. Events go to rprof over the `SOCK_SEQPACKET` socket whose number is in
//! `RPROF_HEAP_FD`, in batches of up to [`BUF`] bytes per thread: one `send` per batch, never
//! one per event. Each batch is one datagram, so batches from threads and forked children never
//! interleave, and a batch cut short by a dying process is never half-delivered.
//!
//! Rules this file keeps, because it runs inside someone else's program on its allocation path:
//! - no allocation on the recording path: per-thread buffers live in thread-local storage, the
//!   stack intern table in zero-initialized static memory, and `dlsym`'s own early `calloc`
//!   is served from a static bootstrap arena;
//! - no panics (the library is built with `panic=abort`, and the code avoids panicking
//!   operations: a bug must not unwind into C);
//! - no recursion: a per-thread guard makes allocations made while recording (by the unwinder,
//!   or by a signal handler that interrupted the recording) go straight to glibc; they are
//!   counted as missed and reported;
//! - stacks are unwound with libgcc's `_Unwind_Backtrace` (DWARF CFI, which distribution
//!   libraries have even without frame pointers; on glibc 2.35+ it finds each frame's object
//!   through `_dl_find_object`, without locks or allocation) and interned by a hash of the
//!   return-address array: a stack's addresses are sent once, then only its id.
//!
//! The stream (little-endian): each datagram starts with a 16-byte header, `magic u32, kind
//! u32, pid u32, tid u32`. Kinds: [`K_EVENTS`] (records below), [`K_MAPS`] (a chunk of
//! `/proc/self/maps`), [`K_MAPS_END`], [`K_START`] (a new process image: after exec or at
//! startup; payload: the parent's pid u32, then the start of its `/proc/self/cmdline`), [`K_FORK`] (payload: the parent's pid u32, the event counter
//! at the fork u64), [`K_END`] (the image reached its
//! exit). Records in an events batch: `1 ALLOC seq u64 ptr u64 size u64 stack u32`, `2 FREE seq
//! u64 ptr u64`, `3 STACK id u32 depth u8 ips u64*depth`, `4 MISSED count u64`, `5 MISMATCH count u64`. `seq` comes from
//! one counter per process image, so rprof can put the events of all threads in order.

#![allow(clippy::missing_safety_doc)]

mod unwind;

use std::cell::UnsafeCell;
use std::ffi::{c_char, c_int, c_void};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};

/// Magic at the start of each datagram: "RPH1".
pub const MAGIC: u32 = 0x3148_5052;
/// A batch of event records.
pub const K_EVENTS: u32 = 1;
/// A chunk of the text of `/proc/self/maps`.
pub const K_MAPS: u32 = 2;
/// End of a maps text: the chunks received since the last end form the whole file.
pub const K_MAPS_END: u32 = 3;
/// A new process image starts (at load of this library: program start or exec).
pub const K_START: u32 = 4;
/// A forked child starts; payload: the parent's pid.
pub const K_FORK: u32 = 5;
/// The image reached exit (`exit`, `_exit`, or the end of `main`).
pub const K_END: u32 = 6;

/// Record tag: an allocation.
pub const R_ALLOC: u8 = 1;
/// Record tag: a free.
pub const R_FREE: u8 = 2;
/// Record tag: a stack definition.
pub const R_STACK: u8 = 3;
/// Record tag: allocations that could not be recorded (reentrant calls).
pub const R_MISSED: u8 = 4;
/// Record tag: stacks where the cached-rule unwinder and libgcc's disagreed (verify mode).
pub const R_MISMATCH: u8 = 5;

/// Bytes of one datagram (header included): big enough to amortize the syscall over ~1,000
/// events, small enough that a killed process loses little.
pub const BUF: usize = 32 * 1024;
const HDR: usize = 16;
/// Most return addresses kept per stack (this library's own frames included).
pub const MAX_DEPTH: usize = 128;
/// Room a record may need: a stack definition with MAX_DEPTH addresses plus an allocation.
const MAX_RECORD: usize = 1 + 4 + 1 + 8 * MAX_DEPTH + 29 + 9;

const RTLD_NEXT: *mut c_void = -1isize as *mut c_void;
const MSG_NOSIGNAL: c_int = 0x4000;
const O_RDONLY_CLOEXEC: c_int = 0o2_000_000;
const EINTR: c_int = 4;
const EAGAIN: c_int = 11;
const ENOMEM: c_int = 12;
const SYS_GETTID: i64 = 186;
const S_IFMT: u32 = 0o170_000;
const S_IFSOCK: u32 = 0o140_000;

extern "C" {
    fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
    fn getenv(name: *const c_char) -> *mut c_char;
    fn getpid() -> c_int;
    fn getppid() -> c_int;
    fn syscall(n: i64, ...) -> i64;
    fn send(fd: c_int, buf: *const c_void, len: usize, flags: c_int) -> isize;
    fn open(path: *const c_char, flags: c_int, ...) -> c_int;
    fn read(fd: c_int, buf: *mut c_void, n: usize) -> isize;
    fn close(fd: c_int) -> c_int;
    fn fstat(fd: c_int, st: *mut Stat) -> c_int;
    fn mmap(
        addr: *mut c_void,
        len: usize,
        prot: c_int,
        flags: c_int,
        fd: c_int,
        off: i64,
    ) -> *mut c_void;
    fn munmap(addr: *mut c_void, len: usize) -> c_int;
    fn sigaction(sig: c_int, act: *const SigAction, old: *mut SigAction) -> c_int;
    fn raise(sig: c_int) -> c_int;
    fn __errno_location() -> *mut c_int;
    fn pthread_key_create(key: *mut u32, dtor: Option<unsafe extern "C" fn(*mut c_void)>) -> c_int;
    fn pthread_setspecific(key: u32, value: *const c_void) -> c_int;
    fn pthread_atfork(
        prepare: Option<unsafe extern "C" fn()>,
        parent: Option<unsafe extern "C" fn()>,
        child: Option<unsafe extern "C" fn()>,
    ) -> c_int;
    fn _Unwind_Backtrace(
        trace: unsafe extern "C" fn(*mut c_void, *mut c_void) -> c_int,
        arg: *mut c_void,
    ) -> c_int;
    fn _Unwind_GetIP(ctx: *mut c_void) -> usize;
}

/// `struct stat`, only as raw storage: the two fields read are at fixed offsets per arch.
#[repr(C, align(8))]
pub struct Stat([u8; 256]);

impl Stat {
    fn ino_mode(&self) -> (u64, u32) {
        let u64_at = |o: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&self.0[o..o + 8]);
            u64::from_ne_bytes(b)
        };
        let u32_at = |o: usize| {
            let mut b = [0u8; 4];
            b.copy_from_slice(&self.0[o..o + 4]);
            u32::from_ne_bytes(b)
        };
        // x86_64: dev, ino, nlink (u64), mode (u32). aarch64 and others (asm-generic): dev,
        // ino (u64), mode (u32), nlink.
        if cfg!(target_arch = "x86_64") {
            (u64_at(8), u32_at(24))
        } else {
            (u64_at(8), u32_at(16))
        }
    }
}

/// glibc's `struct sigaction` (x86_64 and aarch64 layout).
#[repr(C)]
pub struct SigAction {
    handler: usize,
    mask: [u64; 16],
    flags: c_int,
    restorer: usize,
}

const SA_NODEFER: c_int = 0x4000_0000;
const SA_RESETHAND: c_int = 0x8000_0000u32 as c_int;
/// Signals that end a process by default: on them the thread that got the signal sends its
/// last batch first (others are lost, as with SIGKILL, which nothing can catch).
const FATAL: [c_int; 9] = [1, 2, 3, 4, 6, 7, 8, 11, 15];

unsafe extern "C" fn on_fatal(sig: c_int) {
    let p = tls();
    if !p.is_null() {
        // SAFETY: this thread's state; skipped when the signal interrupted a recording.
        let t = unsafe { &mut *p };
        if !t.guard {
            t.guard = true;
            t.flush();
        }
    }
    // The disposition is back to the default (SA_RESETHAND): this ends the process as the
    // signal would have.
    // SAFETY: raise is async-signal-safe.
    unsafe { raise(sig) };
}

/// Installs [`on_fatal`] for each fatal signal whose disposition is still the default, so a
/// program that handles a signal itself keeps its behaviour.
fn install_fatal_handlers() {
    for sig in FATAL {
        let mut old = SigAction {
            handler: 0,
            mask: [0; 16],
            flags: 0,
            restorer: 0,
        };
        // SAFETY: querying the current action into a properly sized struct.
        if unsafe { sigaction(sig, std::ptr::null(), &mut old) } != 0 || old.handler != 0 {
            continue;
        }
        let act = SigAction {
            handler: on_fatal as unsafe extern "C" fn(c_int) as usize,
            mask: [0; 16],
            flags: SA_RESETHAND | SA_NODEFER,
            restorer: 0,
        };
        // SAFETY: a valid action with a handler of this library.
        unsafe { sigaction(sig, &act, std::ptr::null_mut()) };
    }
}

// ---------------------------------------------------------------------------------------
// The functions forwarded to.

type MallocFn = unsafe extern "C" fn(usize) -> *mut c_void;
type CallocFn = unsafe extern "C" fn(usize, usize) -> *mut c_void;
type ReallocFn = unsafe extern "C" fn(*mut c_void, usize) -> *mut c_void;
type FreeFn = unsafe extern "C" fn(*mut c_void);
type PosixMemalignFn = unsafe extern "C" fn(*mut *mut c_void, usize, usize) -> c_int;
type AlignedFn = unsafe extern "C" fn(usize, usize) -> *mut c_void;
type DlopenFn = unsafe extern "C" fn(*const c_char, c_int) -> *mut c_void;
type DlcloseFn = unsafe extern "C" fn(*mut c_void) -> c_int;
type ExecveFn =
    unsafe extern "C" fn(*const c_char, *const *const c_char, *const *const c_char) -> c_int;
type ExecvFn = unsafe extern "C" fn(*const c_char, *const *const c_char) -> c_int;
type ExitFn = unsafe extern "C" fn(c_int) -> !;

static R_MALLOC: AtomicPtr<c_void> = AtomicPtr::new(std::ptr::null_mut());
static R_CALLOC: AtomicPtr<c_void> = AtomicPtr::new(std::ptr::null_mut());
static R_REALLOC: AtomicPtr<c_void> = AtomicPtr::new(std::ptr::null_mut());
static R_FREE_FN: AtomicPtr<c_void> = AtomicPtr::new(std::ptr::null_mut());
static R_POSIX_MEMALIGN: AtomicPtr<c_void> = AtomicPtr::new(std::ptr::null_mut());
static R_ALIGNED_ALLOC: AtomicPtr<c_void> = AtomicPtr::new(std::ptr::null_mut());
static R_MEMALIGN: AtomicPtr<c_void> = AtomicPtr::new(std::ptr::null_mut());
static R_VALLOC: AtomicPtr<c_void> = AtomicPtr::new(std::ptr::null_mut());
static R_PVALLOC: AtomicPtr<c_void> = AtomicPtr::new(std::ptr::null_mut());
static R_DLOPEN: AtomicPtr<c_void> = AtomicPtr::new(std::ptr::null_mut());
static R_DLCLOSE: AtomicPtr<c_void> = AtomicPtr::new(std::ptr::null_mut());
static R_EXECVE: AtomicPtr<c_void> = AtomicPtr::new(std::ptr::null_mut());
static R_EXECV: AtomicPtr<c_void> = AtomicPtr::new(std::ptr::null_mut());
static R_EXECVP: AtomicPtr<c_void> = AtomicPtr::new(std::ptr::null_mut());
static R_EXECVPE: AtomicPtr<c_void> = AtomicPtr::new(std::ptr::null_mut());
static R_EXIT: AtomicPtr<c_void> = AtomicPtr::new(std::ptr::null_mut());
static R_EXIT2: AtomicPtr<c_void> = AtomicPtr::new(std::ptr::null_mut());

/// 0: not initialized, 1: initializing (dlsym running), 2: ready.
static STATE: AtomicU32 = AtomicU32::new(0);
/// Recording is on: the socket is valid and rprof is listening.
static ACTIVE: AtomicBool = AtomicBool::new(false);
/// After the image's exit began: every batch is sent at once (late frees in destructors).
static FINAL: AtomicBool = AtomicBool::new(false);
static FD: AtomicU32 = AtomicU32::new(u32::MAX);
static FD_INODE: AtomicU64 = AtomicU64::new(0);
static SEQ: AtomicU64 = AtomicU64::new(0);
static KEY: AtomicU32 = AtomicU32::new(u32::MAX);

fn load<T: Copy>(p: &AtomicPtr<c_void>) -> Option<T> {
    let f = p.load(Ordering::Relaxed);
    if f.is_null() {
        None
    } else {
        debug_assert_eq!(std::mem::size_of::<T>(), std::mem::size_of::<*mut c_void>());
        // SAFETY: only function pointers of type T are stored in each slot (by `resolve`).
        Some(unsafe { std::mem::transmute_copy::<*mut c_void, T>(&f) })
    }
}

unsafe fn resolve(slot: &AtomicPtr<c_void>, name: &[u8]) {
    // SAFETY: `name` is NUL-terminated by the callers.
    let f = unsafe { dlsym(RTLD_NEXT, name.as_ptr().cast()) };
    slot.store(f, Ordering::Relaxed);
}

// ---------------------------------------------------------------------------------------
// Bootstrap arena: serves the allocations dlsym makes before the real functions are known.

const ARENA: usize = 256 * 1024;

#[repr(C, align(64))]
struct Arena(UnsafeCell<[u8; ARENA]>);
// SAFETY: disjoint parts are handed out through the atomic bump pointer below.
unsafe impl Sync for Arena {}
static ARENA_MEM: Arena = Arena(UnsafeCell::new([0; ARENA]));
static ARENA_USED: AtomicUsize = AtomicUsize::new(0);

fn arena_range() -> (usize, usize) {
    let lo = ARENA_MEM.0.get() as usize;
    (lo, lo + ARENA)
}

fn in_arena(p: *mut c_void) -> bool {
    let (lo, hi) = arena_range();
    (lo..hi).contains(&(p as usize))
}

/// Bump allocation with the size stored in the 16 bytes before the block (for realloc).
fn arena_alloc(size: usize, align: usize) -> *mut c_void {
    let align = align.clamp(16, 4096);
    let (lo, _) = arena_range();
    let mut cur = ARENA_USED.load(Ordering::Relaxed);
    loop {
        let start = (lo + cur + 16).next_multiple_of(align) - lo;
        let end = match start.checked_add(size) {
            Some(e) if e <= ARENA => e,
            _ => return std::ptr::null_mut(),
        };
        match ARENA_USED.compare_exchange(cur, end, Ordering::AcqRel, Ordering::Relaxed) {
            Ok(_) => {
                let p = (lo + start) as *mut u8;
                // SAFETY: start - 16 >= cur >= 0 lies inside the arena and is ours now.
                unsafe { (p.sub(8) as *mut usize).write_unaligned(size) };
                return p.cast();
            }
            Err(now) => cur = now,
        }
    }
}

fn arena_size(p: *mut c_void) -> usize {
    // SAFETY: p came from arena_alloc, which wrote the size just before it.
    unsafe { ((p as *const u8).sub(8) as *const usize).read_unaligned() }
}

// ---------------------------------------------------------------------------------------
// Per-thread state.

struct Tls {
    /// Bytes used in `buf`, header included.
    len: usize,
    /// Inside the recording path: nested allocations are not recorded.
    guard: bool,
    /// Registered with the pthread key, whose destructor flushes at thread exit.
    registered: bool,
    /// Allocations not recorded because of the guard, not yet reported.
    missed: u64,
    tid: u32,
    /// The process this buffer belongs to: a `vfork` child shares the parent's memory, and
    /// its `_exit` or `execve` must not send (or drop) the parent's events.
    pid: u32,
    /// This thread's unwind-rule cache (mmap'd on first use), and the dlclose generation it
    /// was filled in.
    cache: *mut CacheEntry,
    cache_gen: u32,
    buf: [u8; BUF],
}

thread_local! {
    static TLS: UnsafeCell<Tls> = const {
        UnsafeCell::new(Tls {
            len: HDR,
            guard: false,
            registered: false,
            missed: 0,
            tid: 0,
            pid: 0,
            cache: std::ptr::null_mut(),
            cache_gen: 0,
            buf: [0; BUF],
        })
    };
}

fn tls() -> *mut Tls {
    TLS.try_with(|c| c.get()).unwrap_or(std::ptr::null_mut())
}

impl Tls {
    fn put(&mut self, bytes: &[u8]) {
        if let Some(dst) = self.buf.get_mut(self.len..self.len + bytes.len()) {
            dst.copy_from_slice(bytes);
            self.len += bytes.len();
        }
    }

    fn tid(&mut self) -> u32 {
        if self.tid == 0 {
            // SAFETY: gettid has no arguments.
            self.tid = unsafe { syscall(SYS_GETTID) } as u32;
        }
        self.tid
    }

    /// Sends the batch, if any.
    fn flush(&mut self) {
        if self.missed > 0 && self.len + 9 <= BUF {
            let m = self.missed;
            self.missed = 0;
            self.put(&[R_MISSED]);
            self.put(&m.to_le_bytes());
        }
        let mm = MISMATCHES.swap(0, Ordering::Relaxed);
        if mm > 0 && self.len + 9 <= BUF {
            self.put(&[R_MISMATCH]);
            self.put(&mm.to_le_bytes());
        }
        if self.len <= HDR {
            return;
        }
        let tid = self.tid();
        write_header(&mut self.buf, K_EVENTS, tid);
        send_datagram(&self.buf[..self.len]);
        self.len = HDR;
    }

    /// Makes room for `n` more bytes.
    fn reserve(&mut self, n: usize) {
        if self.len + n > BUF {
            self.flush();
        }
    }
}

fn write_header(buf: &mut [u8], kind: u32, tid: u32) {
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { getpid() } as u32;
    if let Some(h) = buf.get_mut(..HDR) {
        h[0..4].copy_from_slice(&MAGIC.to_le_bytes());
        h[4..8].copy_from_slice(&kind.to_le_bytes());
        h[8..12].copy_from_slice(&pid.to_le_bytes());
        h[12..16].copy_from_slice(&tid.to_le_bytes());
    }
}

/// The socket is still the one rprof passed: a program may close the descriptor and open
/// something else under the same number, which must never receive these bytes.
fn socket_still_ours(fd: c_int) -> bool {
    let mut st = Stat([0; 256]);
    // SAFETY: st is large enough for any arch's struct stat.
    if unsafe { fstat(fd, &mut st) } != 0 {
        return false;
    }
    let (ino, mode) = st.ino_mode();
    mode & S_IFMT == S_IFSOCK && ino == FD_INODE.load(Ordering::Relaxed)
}

fn send_datagram(bytes: &[u8]) {
    if !ACTIVE.load(Ordering::Relaxed) {
        return;
    }
    let fd = FD.load(Ordering::Relaxed) as c_int;
    if !socket_still_ours(fd) {
        ACTIVE.store(false, Ordering::Relaxed);
        return;
    }
    loop {
        // SAFETY: valid buffer; MSG_NOSIGNAL: a gone rprof gives EPIPE, not a fatal SIGPIPE.
        let n = unsafe { send(fd, bytes.as_ptr().cast(), bytes.len(), MSG_NOSIGNAL) };
        if n >= 0 {
            return;
        }
        // SAFETY: errno of this thread.
        let e = unsafe { *__errno_location() };
        if e != EINTR && e != EAGAIN && e != ENOMEM {
            // rprof went away (or the socket broke): stop recording, keep the program running.
            ACTIVE.store(false, Ordering::Relaxed);
            return;
        }
    }
}

/// Sends a small control datagram (not a batch).
fn send_control(kind: u32, payload: &[u8]) {
    let mut b = [0u8; HDR + 64];
    let n = payload.len().min(64);
    let t = tls();
    let tid = if t.is_null() {
        0
    } else {
        // SAFETY: this thread's own state.
        unsafe { (*t).tid() }
    };
    write_header(&mut b, kind, tid);
    b[HDR..HDR + n].copy_from_slice(&payload[..n]);
    send_datagram(&b[..HDR + n]);
}

/// Announces this image ([`K_START`]) with its parent's pid and its command line (the start
/// of `/proc/self/cmdline`) as payload: read here, since by the time rprof reads the stream the
/// process may have exec'd again or exited. The parent's pid links an image started by
/// `vfork` + exec or `posix_spawn` (where no fork handler runs) to the process that started it.
fn send_start() {
    let mut b = [0u8; 2048];
    // SAFETY: getppid has no preconditions.
    let ppid = unsafe { getppid() } as u32;
    b[HDR..HDR + 4].copy_from_slice(&ppid.to_le_bytes());
    let mut n = 4usize;
    let t = tls();
    let tid = if t.is_null() {
        0
    } else {
        // SAFETY: this thread's own state.
        unsafe { (*t).tid() }
    };
    // SAFETY: a NUL-terminated path; the descriptor is closed below.
    let fd = unsafe { open(c"/proc/self/cmdline".as_ptr(), O_RDONLY_CLOEXEC) };
    if fd >= 0 {
        while HDR + n < b.len() {
            // SAFETY: reading into the free part of `b` after the header.
            let r = unsafe { read(fd, b[HDR + n..].as_mut_ptr().cast(), b.len() - HDR - n) };
            if r < 0 {
                // SAFETY: errno of this thread.
                if unsafe { *__errno_location() } == EINTR {
                    continue;
                }
                break;
            }
            if r == 0 {
                break;
            }
            n += r as usize;
        }
        // SAFETY: our descriptor.
        unsafe { close(fd) };
    }
    write_header(&mut b, K_START, tid);
    send_datagram(&b[..HDR + n]);
}

/// Sends `/proc/self/maps` in chunks, so rprof can map return addresses to files.
fn send_maps() {
    if !ACTIVE.load(Ordering::Relaxed) {
        return;
    }
    let t = tls();
    let tid = if t.is_null() {
        0
    } else {
        // SAFETY: this thread's own state.
        unsafe { (*t).tid() }
    };
    // SAFETY: a NUL-terminated path; the descriptor is closed below.
    let fd = unsafe { open(c"/proc/self/maps".as_ptr(), O_RDONLY_CLOEXEC) };
    if fd < 0 {
        return;
    }
    let mut b = [0u8; 4096];
    loop {
        // SAFETY: reading into the part of `b` after the header.
        let n = unsafe { read(fd, b[HDR..].as_mut_ptr().cast(), b.len() - HDR) };
        if n < 0 {
            // SAFETY: errno of this thread.
            if unsafe { *__errno_location() } == EINTR {
                continue;
            }
            break;
        }
        if n == 0 {
            break;
        }
        write_header(&mut b, K_MAPS, tid);
        send_datagram(&b[..HDR + n as usize]);
    }
    // SAFETY: our descriptor.
    unsafe { close(fd) };
    send_control(K_MAPS_END, &[]);
}

unsafe extern "C" fn thread_exit(p: *mut c_void) {
    let t = p as *mut Tls;
    if !t.is_null() {
        // SAFETY: the value set by `register`: this thread's own state, still alive while key
        // destructors run.
        unsafe {
            (*t).flush();
            if !(*t).cache.is_null() {
                munmap(
                    (*t).cache.cast(),
                    CACHE_SLOTS * std::mem::size_of::<CacheEntry>(),
                );
                (*t).cache = std::ptr::null_mut();
            }
            // A later allocation in another destructor registers again (glibc runs the
            // destructors up to four rounds).
            (*t).registered = false;
        }
    }
}

fn register(t: &mut Tls) {
    if !t.registered {
        t.registered = true;
        if t.pid == 0 {
            // SAFETY: getpid has no preconditions.
            t.pid = unsafe { getpid() } as u32;
        }
        let key = KEY.load(Ordering::Relaxed);
        if key != u32::MAX {
            // SAFETY: a key created in init; the value is this thread's state.
            unsafe { pthread_setspecific(key, (t as *mut Tls).cast()) };
        }
    }
}

// ---------------------------------------------------------------------------------------
// Stacks.

struct Trace {
    ips: [usize; MAX_DEPTH],
    n: usize,
}

unsafe extern "C" fn trace_cb(ctx: *mut c_void, arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the Trace passed to _Unwind_Backtrace below.
    let t = unsafe { &mut *(arg as *mut Trace) };
    if t.n >= MAX_DEPTH {
        return 4; // _URC_NORMAL_STOP
    }
    // SAFETY: a context handed to us by the unwinder.
    let ip = unsafe { _Unwind_GetIP(ctx) };
    if ip == 0 {
        return 5; // _URC_END_OF_STACK
    }
    t.ips[t.n] = ip;
    t.n += 1;
    0
}

/// One slot of the per-thread unwind-rule cache.
#[derive(Clone, Copy)]
struct CacheEntry {
    ip: u64,
    rule: unwind::Rule,
}

const CACHE_SLOTS: usize = 8192;
/// Bumped by dlclose: code may be unmapped and other code mapped at the same addresses.
static CACHE_GEN: AtomicU32 = AtomicU32::new(0);
/// RPROF_HEAP_VERIFY=1: unwind every stack both ways and count the differences (tests).
static VERIFY: AtomicBool = AtomicBool::new(false);
static MISMATCHES: AtomicU64 = AtomicU64::new(0);

const PROT_RW: c_int = 3;
const MAP_PRIVATE_ANON: c_int = 0x22;

fn cache_of(t: &mut Tls) -> *mut CacheEntry {
    let gen = CACHE_GEN.load(Ordering::Relaxed);
    if t.cache.is_null() {
        let bytes = CACHE_SLOTS * std::mem::size_of::<CacheEntry>();
        // SAFETY: an anonymous private mapping; zeroed memory is an empty cache (ip 0).
        let p = unsafe {
            mmap(
                std::ptr::null_mut(),
                bytes,
                PROT_RW,
                MAP_PRIVATE_ANON,
                -1,
                0,
            )
        };
        if p as isize == -1 {
            return std::ptr::null_mut();
        }
        t.cache = p.cast();
        t.cache_gen = gen;
    } else if t.cache_gen != gen {
        for i in 0..CACHE_SLOTS {
            // SAFETY: inside the mapping made above.
            unsafe { (*t.cache.add(i)).ip = 0 };
        }
        t.cache_gen = gen;
    }
    t.cache
}

/// The caller's stack, innermost first: return addresses through the cached CFI rules, or
/// libgcc's unwinder when a frame needs more than the rules cover.
#[inline(never)]
fn capture(t: &mut Tls, tr: &mut Trace) {
    tr.n = 0;
    let verify = VERIFY.load(Ordering::Relaxed);
    if !fast_capture(t, tr) || verify {
        let mut slow = Trace {
            ips: [0; MAX_DEPTH],
            n: 0,
        };
        // SAFETY: the callback writes only into `slow`.
        unsafe { _Unwind_Backtrace(trace_cb, (&mut slow as *mut Trace).cast()) };
        if verify && tr.n > 0 {
            // Frame 0 is this function at two different points; the rest must agree.
            let (a, b) = (&tr.ips[1..tr.n], &slow.ips[1..slow.n.max(1)]);
            if a != b {
                MISMATCHES.fetch_add(1, Ordering::Relaxed);
            }
        }
        if tr.n == 0 || !verify {
            tr.ips = slow.ips;
            tr.n = slow.n;
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn fast_capture(t: &mut Tls, tr: &mut Trace) -> bool {
    let (ip, sp, bp): (u64, u64, u64);
    // SAFETY: reads three registers; no memory or stack effects.
    unsafe {
        std::arch::asm!(
            "lea {ip}, [rip]",
            "mov {sp}, rsp",
            "mov {bp}, rbp",
            ip = out(reg) ip,
            sp = out(reg) sp,
            bp = out(reg) bp,
            options(nomem, nostack, preserves_flags)
        );
    }
    let cache = cache_of(t);
    if cache.is_null() {
        return false;
    }
    let mut regs = unwind::Regs { ip, sp, bp };
    let mut first = true;
    loop {
        if tr.n >= MAX_DEPTH {
            return true;
        }
        tr.ips[tr.n] = regs.ip as usize;
        tr.n += 1;
        let slot = ((regs.ip.wrapping_mul(0x9e37_79b9_7f4a_7c15)) >> 51) as usize % CACHE_SLOTS;
        // SAFETY: slot < CACHE_SLOTS, inside this thread's mapping.
        let e = unsafe { &mut *cache.add(slot) };
        let rule = if e.ip == regs.ip {
            e.rule
        } else {
            // Return addresses point after the call: its CFI row is the one before.
            let pc = if first { regs.ip } else { regs.ip - 1 };
            let r = unwind::rule_for(pc);
            *e = CacheEntry {
                ip: regs.ip,
                rule: r,
            };
            r
        };
        first = false;
        match rule {
            unwind::Rule::End => return true,
            unwind::Rule::Unsupported => {
                tr.n = 0;
                return false;
            }
            // SAFETY: the rule of this frame, from its CFI.
            r => match unsafe { unwind::step(r, regs) } {
                Some(next) => regs = next,
                None => return true,
            },
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn fast_capture(_t: &mut Tls, _tr: &mut Trace) -> bool {
    false
}

const TABLE_BITS: u32 = 18;
const TABLE: usize = 1 << TABLE_BITS;
static SLOT_HASH: [AtomicU64; TABLE] = [const { AtomicU64::new(0) }; TABLE];
static SLOT_ID: [AtomicU32; TABLE] = [const { AtomicU32::new(0) }; TABLE];
static NEXT_STACK: AtomicU32 = AtomicU32::new(1);

fn hash(ips: &[usize]) -> u64 {
    let mut h: u64 = ips.len() as u64;
    for &ip in ips {
        h = (h.rotate_left(5) ^ ip as u64).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    // murmur3's finalizer spreads the bits over the table index.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    h | 1
}

fn define_stack(t: &mut Tls, id: u32, ips: &[usize]) {
    t.put(&[R_STACK]);
    t.put(&id.to_le_bytes());
    t.put(&[ips.len() as u8]);
    for &ip in ips {
        t.put(&(ip as u64).to_le_bytes());
    }
}

/// The id of this stack, defining it in this thread's batch the first time it is seen.
fn intern(t: &mut Tls, ips: &[usize]) -> u32 {
    let h = hash(ips);
    let mut i = (h >> (64 - TABLE_BITS)) as usize;
    for _ in 0..64 {
        let cur = SLOT_HASH[i].load(Ordering::Acquire);
        let mine = if cur == 0 {
            match SLOT_HASH[i].compare_exchange(0, h, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => true,
                Err(now) if now == h => false,
                Err(_) => {
                    i = (i + 1) & (TABLE - 1);
                    continue;
                }
            }
        } else if cur == h {
            false
        } else {
            i = (i + 1) & (TABLE - 1);
            continue;
        };
        if mine {
            let id = NEXT_STACK.fetch_add(1, Ordering::Relaxed);
            define_stack(t, id, ips);
            SLOT_ID[i].store(id, Ordering::Release);
            return id;
        }
        // Another thread is defining it; its id follows in a moment. (Bounded: a thread
        // that vanished in a fork between the two stores never finishes.)
        for _ in 0..1_000_000 {
            let id = SLOT_ID[i].load(Ordering::Acquire);
            if id != 0 {
                return id;
            }
            std::hint::spin_loop();
        }
        break;
    }
    // Table crowded: a fresh id, defined again each time (correct, only less compact).
    let id = NEXT_STACK.fetch_add(1, Ordering::Relaxed);
    define_stack(t, id, ips);
    id
}

// ---------------------------------------------------------------------------------------
// Recording.

/// Runs `f` with this thread's state unless recording is off or this thread is already
/// recording (then the allocation counts as missed when `count_missed`).
#[inline(always)]
fn with_state(count_missed: bool, f: impl FnOnce(&mut Tls)) {
    if !ACTIVE.load(Ordering::Relaxed) {
        return;
    }
    let p = tls();
    if p.is_null() {
        return;
    }
    // SAFETY: this thread's own state; the guard keeps nested calls (signal handlers, the
    // unwinder's own allocations) from touching it at the same time.
    let t = unsafe { &mut *p };
    if t.guard {
        if count_missed {
            t.missed += 1;
        }
        return;
    }
    t.guard = true;
    register(t);
    f(t);
    if FINAL.load(Ordering::Relaxed) {
        t.flush();
    }
    t.guard = false;
}

#[inline(never)]
fn record_alloc(ptr: *mut c_void, size: usize) {
    with_state(true, |t| {
        let mut tr = Trace {
            ips: [0; MAX_DEPTH],
            n: 0,
        };
        capture(t, &mut tr);
        t.reserve(MAX_RECORD);
        let stack = intern(t, &tr.ips[..tr.n.min(MAX_DEPTH)]);
        let seq = SEQ.fetch_add(1, Ordering::Relaxed);
        let mut r = [0u8; 29];
        r[0] = R_ALLOC;
        r[1..9].copy_from_slice(&seq.to_le_bytes());
        r[9..17].copy_from_slice(&(ptr as u64).to_le_bytes());
        r[17..25].copy_from_slice(&(size as u64).to_le_bytes());
        r[25..29].copy_from_slice(&stack.to_le_bytes());
        t.put(&r);
    });
}

#[inline(never)]
fn record_free(ptr: *mut c_void) {
    with_state(false, |t| {
        t.reserve(17);
        let seq = SEQ.fetch_add(1, Ordering::Relaxed);
        let mut r = [0u8; 17];
        r[0] = R_FREE;
        r[1..9].copy_from_slice(&seq.to_le_bytes());
        r[9..17].copy_from_slice(&(ptr as u64).to_le_bytes());
        t.put(&r);
    });
}

fn flush_this_thread() {
    let p = tls();
    if !p.is_null() {
        // SAFETY: this thread's own state, not in use (callers are outside the guard).
        let t = unsafe { &mut *p };
        if !t.guard && owns_buffer(t) {
            t.flush();
        }
    }
}

/// False in a `vfork` child, which runs on its parent's memory (and this buffer) until it
/// execs or exits.
fn owns_buffer(t: &Tls) -> bool {
    // SAFETY: getpid has no preconditions.
    t.pid == 0 || t.pid == unsafe { getpid() } as u32
}

/// True when this thread runs in a `vfork` child (see [`owns_buffer`]).
fn in_vfork_child() -> bool {
    let p = tls();
    // SAFETY: this thread's own state, only read.
    !p.is_null() && !owns_buffer(unsafe { &*p })
}

// ---------------------------------------------------------------------------------------
// Initialization, fork, exec and exit.

unsafe extern "C" fn before_fork() {
    flush_this_thread();
}

unsafe extern "C" fn after_fork_child() {
    let p = tls();
    if !p.is_null() {
        // SAFETY: this thread's own state; the child has a fresh thread id.
        unsafe {
            (*p).tid = 0;
            (*p).len = HDR;
            (*p).pid = getpid() as u32;
        }
    }
    // SAFETY: getppid has no preconditions.
    let ppid = unsafe { getppid() } as u32;
    // The event counter as the fork left it: the parent's events numbered below it happened
    // before the fork, so rprof knows which of its blocks the child inherited.
    let mut b = [0u8; 12];
    b[..4].copy_from_slice(&ppid.to_le_bytes());
    b[4..].copy_from_slice(&SEQ.load(Ordering::Relaxed).to_le_bytes());
    send_control(K_FORK, &b);
}

fn init() {
    let p = tls();
    if !p.is_null() {
        // SAFETY: this thread's state; nothing is recorded during init.
        unsafe { (*p).guard = true };
    }
    // SAFETY: NUL-terminated names; each slot receives the function of its own type.
    unsafe {
        resolve(&R_MALLOC, b"malloc\0");
        resolve(&R_CALLOC, b"calloc\0");
        resolve(&R_REALLOC, b"realloc\0");
        resolve(&R_FREE_FN, b"free\0");
        resolve(&R_POSIX_MEMALIGN, b"posix_memalign\0");
        resolve(&R_ALIGNED_ALLOC, b"aligned_alloc\0");
        resolve(&R_MEMALIGN, b"memalign\0");
        resolve(&R_VALLOC, b"valloc\0");
        resolve(&R_PVALLOC, b"pvalloc\0");
        resolve(&R_DLOPEN, b"dlopen\0");
        resolve(&R_DLCLOSE, b"dlclose\0");
        resolve(&R_EXECVE, b"execve\0");
        resolve(&R_EXECV, b"execv\0");
        resolve(&R_EXECVP, b"execvp\0");
        resolve(&R_EXECVPE, b"execvpe\0");
        resolve(&R_EXIT, b"_exit\0");
        resolve(&R_EXIT2, b"_Exit\0");
    }
    STATE.store(2, Ordering::Release);
    // SAFETY: a NUL-terminated name; the value is only read.
    let verify = unsafe { getenv(c"RPROF_HEAP_VERIFY".as_ptr()) };
    // SAFETY: getenv's result, NUL-terminated when not null.
    if !verify.is_null() && unsafe { *verify } == b'1' as c_char {
        VERIFY.store(true, Ordering::Relaxed);
    }
    // SAFETY: a NUL-terminated name; the value is only read.
    let v = unsafe { getenv(c"RPROF_HEAP_FD".as_ptr()) };
    if !v.is_null() {
        // SAFETY: getenv returns a NUL-terminated string.
        let s = unsafe { std::ffi::CStr::from_ptr(v) }.to_bytes();
        let fd = std::str::from_utf8(s)
            .ok()
            .and_then(|s| s.parse::<i32>().ok());
        if let Some(fd) = fd.filter(|&f| f >= 0) {
            let mut st = Stat([0; 256]);
            // SAFETY: st is large enough for struct stat.
            if unsafe { fstat(fd, &mut st) } == 0 {
                let (ino, mode) = st.ino_mode();
                if mode & S_IFMT == S_IFSOCK {
                    FD.store(fd as u32, Ordering::Relaxed);
                    FD_INODE.store(ino, Ordering::Relaxed);
                    let mut key = u32::MAX;
                    // SAFETY: valid out-pointer and destructor; atfork handlers are plain
                    // functions of this library.
                    unsafe {
                        if pthread_key_create(&mut key, Some(thread_exit)) == 0 {
                            KEY.store(key, Ordering::Relaxed);
                        }
                        pthread_atfork(Some(before_fork), None, Some(after_fork_child));
                    }
                    ACTIVE.store(true, Ordering::Release);
                    install_fatal_handlers();
                    send_start();
                    send_maps();
                }
            }
        }
    }
    if !p.is_null() {
        // SAFETY: as above.
        unsafe { (*p).guard = false };
    }
}

/// Initializes once; false while another call (dlsym's calloc, or another thread) is still
/// initializing, when the bootstrap arena must serve.
fn ensure_init() -> bool {
    match STATE.load(Ordering::Acquire) {
        2 => true,
        0 => {
            if STATE
                .compare_exchange(0, 1, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                init();
                true
            } else {
                STATE.load(Ordering::Acquire) == 2
            }
        }
        _ => false,
    }
}

extern "C" fn at_load() {
    ensure_init();
}

extern "C" fn at_unload() {
    if in_vfork_child() {
        return;
    }
    flush_this_thread();
    FINAL.store(true, Ordering::Relaxed);
    send_control(K_END, &[]);
}

#[used]
#[link_section = ".init_array"]
static INIT_ARRAY: extern "C" fn() = at_load;

#[used]
#[link_section = ".fini_array"]
static FINI_ARRAY: extern "C" fn() = at_unload;

fn before_exec() {
    flush_this_thread();
}

// ---------------------------------------------------------------------------------------
// The interposed functions.

macro_rules! real {
    ($slot:expr, $ty:ty) => {{
        if !ensure_init() {
            None
        } else {
            load::<$ty>(&$slot)
        }
    }};
}

/// `malloc`.
#[no_mangle]
pub unsafe extern "C" fn malloc(size: usize) -> *mut c_void {
    let Some(f) = real!(R_MALLOC, MallocFn) else {
        return arena_alloc(size, 16);
    };
    // SAFETY: forwarding to glibc's malloc.
    let p = unsafe { f(size) };
    if !p.is_null() {
        record_alloc(p, size);
    }
    p
}

/// `calloc`.
#[no_mangle]
pub unsafe extern "C" fn calloc(n: usize, size: usize) -> *mut c_void {
    let Some(f) = real!(R_CALLOC, CallocFn) else {
        // The arena is zeroed static memory, never reused.
        return match n.checked_mul(size) {
            Some(total) => arena_alloc(total, 16),
            None => std::ptr::null_mut(),
        };
    };
    // SAFETY: forwarding to glibc's calloc.
    let p = unsafe { f(n, size) };
    if !p.is_null() {
        record_alloc(p, n.saturating_mul(size));
    }
    p
}

/// `free`.
#[no_mangle]
pub unsafe extern "C" fn free(ptr: *mut c_void) {
    if ptr.is_null() || in_arena(ptr) {
        return;
    }
    let Some(f) = real!(R_FREE_FN, FreeFn) else {
        return;
    };
    // Recorded before the block can be handed out again by another thread.
    record_free(ptr);
    // SAFETY: forwarding to glibc's free.
    unsafe { f(ptr) };
}

/// `realloc`.
#[no_mangle]
pub unsafe extern "C" fn realloc(ptr: *mut c_void, size: usize) -> *mut c_void {
    let Some(f) = real!(R_REALLOC, ReallocFn) else {
        return arena_realloc(ptr, size);
    };
    if in_arena(ptr) {
        return arena_realloc(ptr, size);
    }
    // SAFETY: forwarding to glibc's realloc.
    let p = unsafe { f(ptr, size) };
    if !p.is_null() || size == 0 {
        if !ptr.is_null() {
            record_free(ptr);
        }
        if !p.is_null() {
            record_alloc(p, size);
        }
    }
    p
}

fn arena_realloc(ptr: *mut c_void, size: usize) -> *mut c_void {
    // SAFETY: malloc is this library's, which serves the arena or glibc.
    let q = unsafe { malloc(size) };
    if !q.is_null() && !ptr.is_null() {
        let old = if in_arena(ptr) { arena_size(ptr) } else { size };
        // SAFETY: both blocks hold at least min(old, size) bytes.
        unsafe { std::ptr::copy_nonoverlapping(ptr as *const u8, q as *mut u8, old.min(size)) };
    }
    q
}

/// `reallocarray`.
#[no_mangle]
pub unsafe extern "C" fn reallocarray(ptr: *mut c_void, n: usize, size: usize) -> *mut c_void {
    let Some(total) = n.checked_mul(size) else {
        // SAFETY: this thread's errno.
        unsafe { *__errno_location() = ENOMEM };
        return std::ptr::null_mut();
    };
    // SAFETY: our realloc forwards to glibc's (or serves the arena) and records.
    unsafe { realloc(ptr, total) }
}

/// `posix_memalign`.
#[no_mangle]
pub unsafe extern "C" fn posix_memalign(out: *mut *mut c_void, align: usize, size: usize) -> c_int {
    let Some(f) = real!(R_POSIX_MEMALIGN, PosixMemalignFn) else {
        let p = arena_alloc(size, align);
        if p.is_null() {
            return ENOMEM;
        }
        // SAFETY: the caller's out-pointer.
        unsafe { *out = p };
        return 0;
    };
    // SAFETY: forwarding to glibc.
    let r = unsafe { f(out, align, size) };
    if r == 0 {
        // SAFETY: set by glibc on success.
        let p = unsafe { *out };
        if !p.is_null() {
            record_alloc(p, size);
        }
    }
    r
}

macro_rules! aligned {
    ($name:ident, $slot:expr) => {
        /// An aligned allocation function, forwarded and recorded.
        #[no_mangle]
        pub unsafe extern "C" fn $name(align: usize, size: usize) -> *mut c_void {
            let Some(f) = real!($slot, AlignedFn) else {
                return arena_alloc(size, align);
            };
            // SAFETY: forwarding to glibc.
            let p = unsafe { f(align, size) };
            if !p.is_null() {
                record_alloc(p, size);
            }
            p
        }
    };
}

aligned!(aligned_alloc, R_ALIGNED_ALLOC);
aligned!(memalign, R_MEMALIGN);

/// `valloc`.
#[no_mangle]
pub unsafe extern "C" fn valloc(size: usize) -> *mut c_void {
    let Some(f) = real!(R_VALLOC, MallocFn) else {
        return arena_alloc(size, 4096);
    };
    // SAFETY: forwarding to glibc.
    let p = unsafe { f(size) };
    if !p.is_null() {
        record_alloc(p, size);
    }
    p
}

/// `pvalloc`: the size is rounded up to whole pages, and that is what the program holds.
#[no_mangle]
pub unsafe extern "C" fn pvalloc(size: usize) -> *mut c_void {
    let Some(f) = real!(R_PVALLOC, MallocFn) else {
        return arena_alloc(size.next_multiple_of(4096), 4096);
    };
    // SAFETY: forwarding to glibc.
    let p = unsafe { f(size) };
    if !p.is_null() {
        record_alloc(p, size.max(1).next_multiple_of(4096));
    }
    p
}

/// `dlopen`: newly mapped libraries are announced (their maps), so their frames symbolize.
#[no_mangle]
pub unsafe extern "C" fn dlopen(file: *const c_char, mode: c_int) -> *mut c_void {
    let Some(f) = real!(R_DLOPEN, DlopenFn) else {
        return std::ptr::null_mut();
    };
    // SAFETY: forwarding to libc's dlopen.
    let h = unsafe { f(file, mode) };
    if !h.is_null() {
        flush_this_thread();
        send_maps();
    }
    h
}

/// `dlclose`: code may be unmapped, so every thread's unwind-rule cache starts over.
#[no_mangle]
pub unsafe extern "C" fn dlclose(handle: *mut c_void) -> c_int {
    let Some(f) = real!(R_DLCLOSE, DlcloseFn) else {
        return -1;
    };
    // SAFETY: forwarding to libc's dlclose.
    let r = unsafe { f(handle) };
    CACHE_GEN.fetch_add(1, Ordering::Relaxed);
    r
}

/// `execve`: this image's last batch goes out first; the new image loads this library again
/// (LD_PRELOAD stays in the environment) and starts its own stream.
#[no_mangle]
pub unsafe extern "C" fn execve(
    path: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
) -> c_int {
    before_exec();
    match real!(R_EXECVE, ExecveFn) {
        // SAFETY: forwarding to libc.
        Some(f) => unsafe { f(path, argv, envp) },
        None => -1,
    }
}

/// `execvpe`.
#[no_mangle]
pub unsafe extern "C" fn execvpe(
    path: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
) -> c_int {
    before_exec();
    match real!(R_EXECVPE, ExecveFn) {
        // SAFETY: forwarding to libc.
        Some(f) => unsafe { f(path, argv, envp) },
        None => -1,
    }
}

/// `execv`.
#[no_mangle]
pub unsafe extern "C" fn execv(path: *const c_char, argv: *const *const c_char) -> c_int {
    before_exec();
    match real!(R_EXECV, ExecvFn) {
        // SAFETY: forwarding to libc.
        Some(f) => unsafe { f(path, argv) },
        None => -1,
    }
}

/// `execvp`.
#[no_mangle]
pub unsafe extern "C" fn execvp(path: *const c_char, argv: *const *const c_char) -> c_int {
    before_exec();
    match real!(R_EXECVP, ExecvFn) {
        // SAFETY: forwarding to libc.
        Some(f) => unsafe { f(path, argv) },
        None => -1,
    }
}

fn exit_now(slot: &AtomicPtr<c_void>, code: c_int) -> ! {
    at_unload();
    if let Some(f) = load::<ExitFn>(slot) {
        // SAFETY: forwarding to libc.
        unsafe { f(code) }
    }
    // SAFETY: exit_group never returns.
    unsafe { syscall(231, code as i64) };
    loop {
        std::hint::spin_loop();
    }
}

/// `_exit`: skips atexit handlers and destructors, so the last batch is sent here.
#[no_mangle]
pub unsafe extern "C" fn _exit(code: c_int) -> ! {
    ensure_init();
    exit_now(&R_EXIT, code)
}

/// `_Exit`, as `_exit`.
#[no_mangle]
pub unsafe extern "C" fn _Exit(code: c_int) -> ! {
    ensure_init();
    exit_now(&R_EXIT2, code)
}
