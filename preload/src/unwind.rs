//! A fast x86_64 unwinder for the interposer: DWARF CFI rules cached per return address.
//!
//! libgcc's `_Unwind_Backtrace` is correct but re-finds and re-interprets each frame's CFI on
//! every call (measured here: ~60% of the target's time on an allocation-heavy program). Real
//! programs allocate from a few thousand call sites, so the rule of each return address
//! ("the caller's frame starts at RSP+24; RBP was saved at CFA-16; the return address is at
//! CFA-8") is computed once, with libgcc's `_Unwind_Find_FDE` to find the FDE and a small CFI
//! interpreter here, and kept in a per-thread direct-mapped cache. A frame whose CFI this
//! interpreter does not handle (CFA expressions as in PLT stubs, signal frames, registers
//! saved in other registers) makes the caller fall back to `_Unwind_Backtrace` for that stack,
//! so the result is always what libgcc would give.

use std::ffi::c_void;

/// `struct dwarf_eh_bases` of libgcc.
#[repr(C)]
struct EhBases {
    tbase: *mut c_void,
    dbase: *mut c_void,
    func: *mut c_void,
}

extern "C" {
    fn _Unwind_Find_FDE(pc: *mut c_void, bases: *mut EhBases) -> *const u8;
}

/// How to step from a frame to its caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// CFA = (RBP if `cfa_rbp` else RSP) + `cfa_off`; the return address at CFA + `ra_off`;
    /// RBP restored from CFA + `rbp_off` when `rbp_saved`, else unchanged.
    Step {
        cfa_rbp: bool,
        cfa_off: i32,
        ra_off: i32,
        rbp_saved: bool,
        rbp_off: i32,
    },
    /// The outermost frame (return address undefined, or no CFI at all).
    End,
    /// CFI this interpreter does not handle.
    Unsupported,
}

/// The registers of one frame.
#[derive(Clone, Copy, Debug)]
pub struct Regs {
    /// Instruction pointer (a return address for every frame but the first).
    pub ip: u64,
    /// Stack pointer.
    pub sp: u64,
    /// Frame pointer register (whatever it holds).
    pub bp: u64,
}

fn uleb(p: &mut *const u8, end: *const u8) -> Option<u64> {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        if *p >= end || shift > 63 {
            return None;
        }
        // SAFETY: inside the CIE/FDE bounds checked above.
        let b = unsafe { **p };
        *p = p.wrapping_add(1);
        v |= u64::from(b & 0x7f) << shift;
        shift += 7;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
}

fn sleb(p: &mut *const u8, end: *const u8) -> Option<i64> {
    let mut v = 0i64;
    let mut shift = 0;
    loop {
        if *p >= end || shift > 63 {
            return None;
        }
        // SAFETY: inside the CIE/FDE bounds checked above.
        let b = unsafe { **p };
        *p = p.wrapping_add(1);
        v |= i64::from(b & 0x7f) << shift;
        shift += 7;
        if b & 0x80 == 0 {
            if shift < 64 && b & 0x40 != 0 {
                v |= -1i64 << shift;
            }
            return Some(v);
        }
    }
}

fn read_u<const N: usize>(p: &mut *const u8, end: *const u8) -> Option<u64> {
    if (end as usize).saturating_sub(*p as usize) < N {
        return None;
    }
    let mut b = [0u8; 8];
    // SAFETY: N bytes are inside the bounds checked above.
    unsafe { std::ptr::copy_nonoverlapping(*p, b.as_mut_ptr(), N) };
    *p = p.wrapping_add(N);
    Some(u64::from_le_bytes(b))
}

/// Skips a pointer in DW_EH_PE encoding `enc` (only its size matters here).
fn skip_encoded(p: &mut *const u8, end: *const u8, enc: u8) -> Option<()> {
    if enc == 0xff {
        return Some(());
    }
    match enc & 0x0f {
        0x00 | 0x04 | 0x0c => read_u::<8>(p, end).map(|_| ()),
        0x01 => uleb(p, end).map(|_| ()),
        0x09 => sleb(p, end).map(|_| ()),
        0x02 | 0x0a => read_u::<2>(p, end).map(|_| ()),
        0x03 | 0x0b => read_u::<4>(p, end).map(|_| ()),
        _ => None,
    }
}

#[derive(Clone, Copy)]
struct State {
    cfa_reg: u64,
    cfa_off: i64,
    rbp: RegRule,
    ra: RegRule,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum RegRule {
    Same,
    Offset(i64),
    Undefined,
    Other,
}

const RBP: u64 = 6;
const RSP: u64 = 7;

/// Runs CFI instructions from `p` to `end` until the location passes `target`.
#[allow(clippy::too_many_arguments)]
fn run(
    mut p: *const u8,
    end: *const u8,
    mut loc: u64,
    target: u64,
    code_align: u64,
    data_align: i64,
    ra_reg: u64,
    st: &mut State,
    init: &State,
) -> Option<()> {
    let mut stack: [State; 8] = [*init; 8];
    let mut depth = 0usize;
    let set = |st: &mut State, reg: u64, r: RegRule| {
        if reg == RBP {
            st.rbp = r;
        } else if reg == ra_reg {
            st.ra = r;
        }
    };
    while p < end {
        // SAFETY: p < end, inside the FDE.
        let op = unsafe { *p };
        p = p.wrapping_add(1);
        let (hi, lo) = (op >> 6, u64::from(op & 0x3f));
        match hi {
            1 => {
                loc = loc.wrapping_add(lo * code_align);
                if loc > target {
                    return Some(());
                }
                continue;
            }
            2 => {
                let off = uleb(&mut p, end)? as i64 * data_align;
                set(st, lo, RegRule::Offset(off));
                continue;
            }
            3 => {
                let r = if lo == RBP { init.rbp } else { init.ra };
                set(st, lo, r);
                continue;
            }
            _ => {}
        }
        match op {
            0x00 => {}
            0x02..=0x04 => {
                let d = match op {
                    0x02 => read_u::<1>(&mut p, end)?,
                    0x03 => read_u::<2>(&mut p, end)?,
                    _ => read_u::<4>(&mut p, end)?,
                };
                loc = loc.wrapping_add(d * code_align);
                if loc > target {
                    return Some(());
                }
            }
            0x05 => {
                let reg = uleb(&mut p, end)?;
                let off = uleb(&mut p, end)? as i64 * data_align;
                set(st, reg, RegRule::Offset(off));
            }
            0x06 => {
                let reg = uleb(&mut p, end)?;
                let r = if reg == RBP { init.rbp } else { init.ra };
                set(st, reg, r);
            }
            0x07 => {
                let reg = uleb(&mut p, end)?;
                set(st, reg, RegRule::Undefined);
            }
            0x08 => {
                let reg = uleb(&mut p, end)?;
                set(st, reg, RegRule::Same);
            }
            0x09 => {
                let reg = uleb(&mut p, end)?;
                uleb(&mut p, end)?;
                set(st, reg, RegRule::Other);
            }
            0x0a => {
                if depth >= stack.len() {
                    return None;
                }
                stack[depth] = *st;
                depth += 1;
            }
            0x0b => {
                if depth == 0 {
                    return None;
                }
                depth -= 1;
                // The CFA rule is not part of the remembered row in DWARF 5's
                // description, but GCC and LLVM save and restore it together; keep both.
                *st = stack[depth];
            }
            0x0c => {
                st.cfa_reg = uleb(&mut p, end)?;
                st.cfa_off = uleb(&mut p, end)? as i64;
            }
            0x0d => st.cfa_reg = uleb(&mut p, end)?,
            0x0e => st.cfa_off = uleb(&mut p, end)? as i64,
            0x0f => return None,
            0x10 | 0x16 => {
                let reg = uleb(&mut p, end)?;
                let len = uleb(&mut p, end)?;
                p = p.wrapping_add(len as usize);
                set(st, reg, RegRule::Other);
            }
            0x11 => {
                let reg = uleb(&mut p, end)?;
                let off = sleb(&mut p, end)? * data_align;
                set(st, reg, RegRule::Offset(off));
            }
            0x12 => {
                st.cfa_reg = uleb(&mut p, end)?;
                st.cfa_off = sleb(&mut p, end)? * data_align;
            }
            0x13 => st.cfa_off = sleb(&mut p, end)? * data_align,
            0x14 => {
                let reg = uleb(&mut p, end)?;
                uleb(&mut p, end)?;
                set(st, reg, RegRule::Other);
            }
            0x15 => {
                let reg = uleb(&mut p, end)?;
                sleb(&mut p, end)?;
                set(st, reg, RegRule::Other);
            }
            0x2e => {
                uleb(&mut p, end)?;
            }
            0x2f => {
                let reg = uleb(&mut p, end)?;
                let off = -(uleb(&mut p, end)? as i64) * data_align;
                set(st, reg, RegRule::Offset(off));
            }
            _ => return None,
        }
    }
    Some(())
}

/// The rule at `pc` (for a return address, pass the address minus one).
pub fn rule_for(pc: u64) -> Rule {
    let mut bases = EhBases {
        tbase: std::ptr::null_mut(),
        dbase: std::ptr::null_mut(),
        func: std::ptr::null_mut(),
    };
    // SAFETY: libgcc's lookup; it returns a pointer into a loaded object's .eh_frame.
    let fde = unsafe { _Unwind_Find_FDE(pc as *mut c_void, &mut bases) };
    if fde.is_null() {
        return Rule::End;
    }
    parse(fde, bases.func as u64, pc).unwrap_or(Rule::Unsupported)
}

fn parse(fde: *const u8, func: u64, pc: u64) -> Option<Rule> {
    let mut p = fde;
    let far = fde.wrapping_add(1 << 20);
    let len = read_u::<4>(&mut p, far)?;
    if len == 0 || len == 0xffff_ffff {
        return None;
    }
    let fde_end = p.wrapping_add(len as usize);
    let cie_ptr_at = p;
    let cie_off = read_u::<4>(&mut p, fde_end)?;
    let cie = cie_ptr_at.wrapping_sub(cie_off as usize);
    // The CIE.
    let mut c = cie;
    let clen = read_u::<4>(&mut c, far)?;
    if clen == 0 || clen == 0xffff_ffff {
        return None;
    }
    let cie_end = c.wrapping_add(clen as usize);
    if read_u::<4>(&mut c, cie_end)? != 0 {
        return None;
    }
    let version = read_u::<1>(&mut c, cie_end)?;
    let mut aug = [0u8; 8];
    let mut n = 0;
    loop {
        let b = read_u::<1>(&mut c, cie_end)? as u8;
        if b == 0 {
            break;
        }
        if n >= aug.len() {
            return None;
        }
        aug[n] = b;
        n += 1;
    }
    let aug = &aug[..n];
    if aug.contains(&b'S') {
        // A signal frame: the caller's registers are in a sigcontext.
        return None;
    }
    let code_align = uleb(&mut c, cie_end)?;
    let data_align = sleb(&mut c, cie_end)?;
    let ra_reg = if version == 1 {
        read_u::<1>(&mut c, cie_end)?
    } else {
        uleb(&mut c, cie_end)?
    };
    let mut fde_enc = 0u8;
    let has_z = aug.first() == Some(&b'z');
    if has_z {
        let alen = uleb(&mut c, cie_end)?;
        let aug_end = c.wrapping_add(alen as usize);
        for &a in &aug[1..] {
            match a {
                b'R' => fde_enc = read_u::<1>(&mut c, aug_end)? as u8,
                b'P' => {
                    let enc = read_u::<1>(&mut c, aug_end)? as u8;
                    skip_encoded(&mut c, aug_end, enc)?;
                }
                b'L' => {
                    read_u::<1>(&mut c, aug_end)?;
                }
                b'B' => {}
                _ => return None,
            }
        }
        c = aug_end;
    } else if !aug.is_empty() {
        return None;
    }
    // The FDE: skip pc_begin (func from libgcc is the same) and pc_range.
    skip_encoded(&mut p, fde_end, fde_enc)?;
    skip_encoded(&mut p, fde_end, fde_enc & 0x0f)?;
    if has_z {
        let alen = uleb(&mut p, fde_end)?;
        p = p.wrapping_add(alen as usize);
    }
    let blank = State {
        cfa_reg: RSP,
        cfa_off: 8,
        rbp: RegRule::Same,
        ra: RegRule::Offset(-8),
    };
    let mut init = blank;
    run(
        c,
        cie_end,
        0,
        u64::MAX,
        code_align,
        data_align,
        ra_reg,
        &mut init,
        &blank,
    )?;
    let mut st = init;
    run(
        p, fde_end, func, pc, code_align, data_align, ra_reg, &mut st, &init,
    )?;
    let ra_off = match st.ra {
        RegRule::Offset(o) => o,
        RegRule::Undefined => return Some(Rule::End),
        _ => return None,
    };
    let (rbp_saved, rbp_off) = match st.rbp {
        RegRule::Same => (false, 0),
        RegRule::Offset(o) => (true, o),
        _ => return None,
    };
    let cfa_rbp = match st.cfa_reg {
        RSP => false,
        RBP => true,
        _ => return None,
    };
    let fits = |v: i64| (-2048..2048).contains(&v);
    if !fits(ra_off) || !fits(rbp_off) || !(0..1 << 30).contains(&st.cfa_off) {
        return None;
    }
    Some(Rule::Step {
        cfa_rbp,
        cfa_off: st.cfa_off as i32,
        ra_off: ra_off as i32,
        rbp_saved,
        rbp_off: rbp_off as i32,
    })
}

/// Applies a rule: the caller's registers, None at the end of the stack or when the step
/// would not move outwards.
///
/// # Safety
/// `r` must be the rule of `regs.ip`'s frame, whose stack is readable at the rule's offsets.
pub unsafe fn step(r: Rule, regs: Regs) -> Option<Regs> {
    let Rule::Step {
        cfa_rbp,
        cfa_off,
        ra_off,
        rbp_saved,
        rbp_off,
    } = r
    else {
        return None;
    };
    let base = if cfa_rbp { regs.bp } else { regs.sp };
    let cfa = base.wrapping_add(cfa_off as i64 as u64);
    if cfa <= regs.sp || cfa & 7 != 0 {
        return None;
    }
    // SAFETY: per the caller's contract, these slots of the frame hold the saved values.
    let ip = unsafe { *(cfa.wrapping_add(ra_off as i64 as u64) as *const u64) };
    let bp = if rbp_saved {
        // SAFETY: as above.
        unsafe { *(cfa.wrapping_add(rbp_off as i64 as u64) as *const u64) }
    } else {
        regs.bp
    };
    (ip != 0).then_some(Regs { ip, sp: cfa, bp })
}
