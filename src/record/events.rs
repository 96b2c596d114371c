//! The events `rprof record -e` samples: perf's generic hardware events, its hardware cache
//! events, the software events, raw PMU events (`rNNNN`) and tracepoints (`subsys:name`), with
//! perf's names and aliases, parsed into a `perf_event_attr` type and config; and the probe
//! behind `rprof list`, which asks the kernel which of them this machine can open.

use std::path::Path;

use anyhow::{bail, Context, Result};
use perf_event::events::Event;
use perf_event::Builder;
use perf_event_open_sys::bindings;

/// The groups `perf list` shows events in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    /// Generic hardware events (`PERF_TYPE_HARDWARE`).
    Hardware,
    /// Software events counted by the kernel (`PERF_TYPE_SOFTWARE`).
    Software,
    /// Generic hardware cache events (`PERF_TYPE_HW_CACHE`).
    Cache,
    /// A raw PMU event code (`PERF_TYPE_RAW`).
    Raw,
    /// A tracepoint from tracefs (`PERF_TYPE_TRACEPOINT`).
    Tracepoint,
}

impl Category {
    /// The label `perf list` prints beside each event of the group.
    pub fn label(self) -> &'static str {
        match self {
            Category::Hardware => "Hardware event",
            Category::Software => "Software event",
            Category::Cache => "Hardware cache event",
            Category::Raw => "Raw hardware event descriptor",
            Category::Tracepoint => "Tracepoint event",
        }
    }
}

/// One event as `-e` names it, resolved to what `perf_event_open` takes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EventSpec {
    name: String,
    category: Category,
    type_: u32,
    config: u64,
}

/// perf's generic hardware events: canonical name, aliases, `PERF_COUNT_HW_*`.
const HARDWARE: &[(&str, &[&str], u64)] = &[
    ("cycles", &["cpu-cycles"], 0),
    ("instructions", &[], 1),
    ("cache-references", &[], 2),
    ("cache-misses", &[], 3),
    ("branches", &["branch-instructions"], 4),
    ("branch-misses", &[], 5),
    ("bus-cycles", &[], 6),
    ("stalled-cycles-frontend", &["idle-cycles-frontend"], 7),
    ("stalled-cycles-backend", &["idle-cycles-backend"], 8),
    ("ref-cycles", &[], 9),
];

/// The software events worth sampling: canonical name, aliases, `PERF_COUNT_SW_*` (perf's
/// `dummy` and `bpf-output` carry no samples of their own and are left out).
const SOFTWARE: &[(&str, &[&str], u64)] = &[
    ("cpu-clock", &[], 0),
    ("task-clock", &[], 1),
    ("page-faults", &["faults"], 2),
    ("context-switches", &["cs"], 3),
    ("cpu-migrations", &["migrations"], 4),
    ("minor-faults", &[], 5),
    ("major-faults", &[], 6),
    ("alignment-faults", &[], 7),
    ("emulation-faults", &[], 8),
];

/// perf's cache names (canonical first, then aliases), `PERF_COUNT_HW_CACHE_*` id, and the
/// operations perf lists for it (bit 0 read, 1 write, 2 prefetch).
const CACHES: &[(&[&str], u64, u8)] = &[
    (&["L1-dcache", "l1-d", "l1d", "L1-data"], 0, 0b111),
    (&["L1-icache", "l1-i", "l1i", "L1-instruction"], 1, 0b101),
    (&["LLC", "L2"], 2, 0b111),
    (&["dTLB", "d-tlb", "Data-TLB"], 3, 0b111),
    (&["iTLB", "i-tlb", "Instruction-TLB"], 4, 0b001),
    (&["branch", "branches", "bpu", "btb", "bpc"], 5, 0b001),
    (&["node"], 6, 0b111),
];

/// Cache operations: singular name used before `-misses`, plural used alone, aliases, id.
const CACHE_OPS: &[(&str, &str, &[&str], u64)] = &[
    ("load", "loads", &["read"], 0),
    ("store", "stores", &["write"], 1),
    (
        "prefetch",
        "prefetches",
        &["speculative-read", "speculative-load"],
        2,
    ),
];

/// Cache results: id 0 is an access (perf's default), 1 a miss.
const CACHE_RESULTS: &[(&[&str], u64)] = &[
    (&["refs", "reference", "ops", "access"], 0),
    (&["misses", "miss"], 1),
];

/// What perf's modifier suffix on an event (`cycles:u`) asked for, of what rprof honours.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Modifiers {
    /// `:u`: user mode only, which rprof records as `--no-kernel` does (events that only
    /// happen in the kernel, such as context switches, still count; their kernel frames are
    /// left out).
    pub user_only: bool,
}

impl Modifiers {
    /// Reads the modifiers `mods` of the event `whole` (for messages); refuses the ones rprof
    /// does not implement, each with what to do instead.
    fn parse(whole: &str, mods: &str) -> Result<Self> {
        let mut m = Modifiers::default();
        if mods.is_empty() {
            bail!(
                "event `{whole}`: nothing after the `:` (perf's modifiers are letters such as u)"
            );
        }
        for c in mods.chars() {
            match c {
                'u' => m.user_only = true,
                'k' => bail!(
                    "event `{whole}`: the :k modifier (kernel mode only) is not supported; rprof samples user and kernel code (drop :k), or user code only with :u or --no-kernel"
                ),
                'p' | 'P' => bail!(
                    "event `{whole}`: precise sampling (:p, :pp, :ppp, :P) is not supported; drop the modifier (samples then carry the PMU's usual skid)"
                ),
                'h' | 'H' | 'G' | 'I' | 'S' | 'D' | 'W' | 'e' | 'b' => bail!(
                    "event `{whole}`: perf's :{c} modifier is not supported by rprof; modifiers it takes: u (user mode only)"
                ),
                _ => bail!(
                    "unknown event `{whole}`: `{mods}` is not a modifier (perf's modifiers are letters such as u); `rprof list` shows the events this machine supports"
                ),
            }
        }
        Ok(m)
    }
}

/// The perf_event_attr type and config of an event: the `Event` perf-event2 builds from.
struct Attr {
    type_: u32,
    config: u64,
}

impl Event for Attr {
    fn update_attrs(self, attr: &mut bindings::perf_event_attr) {
        attr.type_ = self.type_;
        attr.config = self.config;
    }
}

fn eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

impl EventSpec {
    /// `cycles`, the default event where the hardware counts it.
    pub fn cycles() -> Self {
        Self::hardware(0)
    }

    /// `cpu-clock`, the software fallback.
    pub fn cpu_clock() -> Self {
        Self::software(0)
    }

    fn hardware(config: u64) -> Self {
        let (name, _, _) =
            HARDWARE
                .iter()
                .find(|e| e.2 == config)
                .copied()
                .unwrap_or(("cycles", &[], 0));
        EventSpec {
            name: name.into(),
            category: Category::Hardware,
            type_: bindings::PERF_TYPE_HARDWARE,
            config,
        }
    }

    fn software(config: u64) -> Self {
        let (name, _, _) =
            SOFTWARE
                .iter()
                .find(|e| e.2 == config)
                .copied()
                .unwrap_or(("cpu-clock", &[], 0));
        EventSpec {
            name: name.into(),
            category: Category::Software,
            type_: bindings::PERF_TYPE_SOFTWARE,
            config,
        }
    }

    /// Parses one `-e` value with perf's modifier suffix allowed (`cycles:u`, `cpu-clock:u`):
    /// the event, and whether `:u` asked for user mode only. A modifier rprof cannot honour
    /// (`:k`, `:p`, `:h`, …) is refused by name rather than read as a tracepoint.
    pub fn parse_with_modifiers(s: &str) -> Result<(Self, Modifiers)> {
        let s = s.trim();
        if let Some((base, mods)) = s.rsplit_once(':') {
            // A modifier only follows a non-tracepoint event; `sched:sched_switch` stays a
            // tracepoint.
            if let Some(spec) = Self::parse_plain(base) {
                return Ok((spec, Modifiers::parse(s, mods)?));
            }
        }
        Ok((Self::parse(s)?, Modifiers::default()))
    }

    /// Parses one `-e` value as [`Self::parse_with_modifiers`] does, and a tracepoint glob
    /// (`sched:sched_*`, `'syscalls:sys_enter_*'`) as perf does: every tracepoint of this
    /// kernel it matches, in name order; a glob that matches none is an error.
    pub fn parse_expanding(s: &str) -> Result<Vec<(Self, Modifiers)>> {
        let t = s.trim();
        match t.split_once(':') {
            Some((_, rest)) if t.contains(['*', '?']) && !rest.contains(':') => {
                let root = crate::strace::tracefs::ensure_tracefs()?;
                let found: Vec<String> = tracepoints(&root.join("events"))
                    .into_iter()
                    .filter(|n| glob(n.as_bytes(), t.as_bytes()))
                    .collect();
                if found.is_empty() {
                    bail!(
                        "no tracepoint of this kernel matches `{t}`; `rprof list '{t}'` shows what it would take"
                    );
                }
                found
                    .iter()
                    .map(|n| {
                        let (sys, name) = n.split_once(':').unwrap_or((n.as_str(), ""));
                        Ok((Self::tracepoint(sys, name)?, Modifiers::default()))
                    })
                    .collect()
            }
            _ => Ok(vec![Self::parse_with_modifiers(t)?]),
        }
    }

    /// Parses one `-e` value: a perf event name or alias (any case for the generic ones, as
    /// perf), `rNNNN` (hex raw code), or `subsys:name` (a tracepoint, its id read from tracefs).
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim();
        if s.is_empty() {
            bail!("empty event name; `rprof list` shows the events this machine supports");
        }
        if let Some(spec) = Self::parse_plain(s) {
            return Ok(spec);
        }
        if let Some((sys, name)) = s.split_once(':') {
            return Self::tracepoint(sys, name);
        }
        bail!(
            "unknown event `{s}`; `rprof list` shows the events this machine supports (hardware, \
             cache and software events by perf's names, rNNNN raw codes, subsys:name tracepoints)"
        )
    }

    /// The canonical name of a hardware, cache or software event name or alias (`cs` gives
    /// `context-switches`), without asking tracefs; None for anything else.
    pub fn canonical_name(s: &str) -> Option<String> {
        Self::parse_plain(s.trim()).map(|e| e.name)
    }

    /// A hardware, software, cache or raw event by name; None for anything else (tracepoints
    /// and unknown names), with no file read.
    fn parse_plain(s: &str) -> Option<Self> {
        for (name, aliases, config) in HARDWARE {
            if eq(s, name) || aliases.iter().any(|a| eq(s, a)) {
                return Some(Self::hardware(*config));
            }
        }
        for (name, aliases, config) in SOFTWARE {
            if eq(s, name) || aliases.iter().any(|a| eq(s, a)) {
                return Some(Self::software(*config));
            }
        }
        if let Some(spec) = Self::parse_cache(s) {
            return Some(spec);
        }
        if let Some(hex) = s.strip_prefix('r') {
            // A code past 64 bits is no event: it falls through to "unknown event".
            if !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit()) {
                if let Ok(config) = u64::from_str_radix(hex, 16) {
                    return Some(EventSpec {
                        name: s.to_string(),
                        category: Category::Raw,
                        type_: bindings::PERF_TYPE_RAW,
                        config,
                    });
                }
            }
        }
        None
    }

    /// `L1-dcache-load-misses`, `LLC-loads`, `dTLB-store-misses`, … with perf's aliases.
    fn parse_cache(s: &str) -> Option<Self> {
        for (names, cache, ops) in CACHES {
            for cname in names.iter() {
                let Some(rest) = s
                    .get(..cname.len())
                    .filter(|p| eq(p, cname))
                    .and_then(|_| s.get(cname.len()..))
                    .and_then(|r| r.strip_prefix('-'))
                else {
                    continue;
                };
                for (single, plural, aliases, op) in CACHE_OPS {
                    if ops & (1 << op) == 0 {
                        continue;
                    }
                    let mut result = None;
                    if eq(rest, plural) || eq(rest, single) || aliases.iter().any(|a| eq(rest, a)) {
                        result = Some(0);
                    } else {
                        for opname in std::iter::once(single).chain(aliases.iter()) {
                            let Some(r) = rest
                                .get(..opname.len())
                                .filter(|p| eq(p, opname))
                                .and_then(|_| rest.get(opname.len()..))
                                .and_then(|r| r.strip_prefix('-'))
                            else {
                                continue;
                            };
                            result = CACHE_RESULTS
                                .iter()
                                .find(|(rn, _)| rn.iter().any(|n| eq(r, n)))
                                .map(|(_, id)| *id);
                            if result.is_some() {
                                break;
                            }
                        }
                    }
                    if let Some(res) = result {
                        return Some(Self::cache(*cache, *op, res));
                    }
                }
            }
        }
        None
    }

    fn cache(cache: u64, op: u64, result: u64) -> Self {
        let cname = CACHES
            .iter()
            .find(|c| c.1 == cache)
            .map_or("L1-dcache", |c| c.0[0]);
        let (single, plural, _, _) = CACHE_OPS[op as usize];
        // perf's canonical spelling: `L1-dcache-loads` for accesses, `-load-misses` for misses.
        let name = if result == 0 {
            format!("{cname}-{plural}")
        } else {
            format!("{cname}-{single}-misses")
        };
        EventSpec {
            name,
            category: Category::Cache,
            type_: bindings::PERF_TYPE_HW_CACHE,
            config: cache | (op << 8) | (result << 16),
        }
    }

    fn tracepoint(sys: &str, name: &str) -> Result<Self> {
        // Both halves become a path under tracefs: nothing that could leave events/.
        let valid = |p: &str| {
            !p.is_empty()
                && p != "."
                && p != ".."
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
        };
        if !valid(sys) || !valid(name) {
            bail!("unknown event `{sys}:{name}`: a tracepoint is subsys:name, such as sched:sched_switch (`rprof list tracepoint` shows them)");
        }
        let root = crate::strace::tracefs::ensure_tracefs()?;
        let path = root.join("events").join(sys).join(name).join("id");
        let text = read_small(&path).with_context(|| {
            format!(
                "unknown tracepoint `{sys}:{name}` (no {}); `rprof list tracepoint` shows the tracepoints of this kernel",
                path.display()
            )
        })?;
        let config: u64 = text.trim().parse().with_context(|| {
            format!("{}: not a tracepoint id: {:?}", path.display(), text.trim())
        })?;
        Ok(EventSpec {
            name: format!("{sys}:{name}"),
            category: Category::Tracepoint,
            type_: bindings::PERF_TYPE_TRACEPOINT,
            config,
        })
    }

    /// The name stored in the profile and shown (perf's canonical spelling).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Which `perf list` group the event belongs to.
    pub fn category(&self) -> Category {
        self.category
    }

    /// The perf_event_attr type and config.
    pub fn attr(&self) -> (u32, u64) {
        (self.type_, self.config)
    }

    /// Unit of the sample periods (the weights): the clocks count nanoseconds, every other
    /// event counts itself (faults, switches, cache misses, tracepoint hits).
    pub fn unit(&self) -> &str {
        unit_of(&self.name)
    }

    /// Whether the event needs a hardware PMU (and so is "not supported" in most VMs).
    pub fn is_hardware(&self) -> bool {
        matches!(
            self.category,
            Category::Hardware | Category::Cache | Category::Raw
        )
    }

    /// Events that only ever fire inside the kernel (a context switch, a migration, a
    /// tracepoint): excluding kernel mode would count none, so they are opened with kernel mode
    /// counted and only the kernel part of their call stacks left out when asked.
    pub fn fires_in_kernel(&self) -> bool {
        self.category == Category::Tracepoint
            || (self.category == Category::Software && matches!(self.config, 3 | 4))
    }

    /// The period perf uses when no -c or -F is given: tracepoints sample every hit.
    pub fn default_period(&self) -> Option<u64> {
        (self.category == Category::Tracepoint).then_some(1)
    }

    /// A perf-event2 builder for the event.
    pub fn builder(&self) -> Builder<'static> {
        Builder::new(Attr {
            type_: self.type_,
            config: self.config,
        })
    }

    /// The answer for an event the kernel refused as unsupported, in perf's words.
    pub fn unsupported(&self, err: &std::io::Error) -> anyhow::Error {
        let why = match self.category {
            Category::Hardware | Category::Cache | Category::Raw => {
                if Path::new("/sys/bus/event_source/devices/cpu").exists() {
                    format!("this CPU's PMU does not count it ({err})")
                } else {
                    "this machine exposes no hardware performance counters (no CPU PMU, as in most VMs); software events such as cpu-clock, page-faults and context-switches work".to_string()
                }
            }
            _ => err.to_string(),
        };
        anyhow::anyhow!("The {} event is not supported: {why}", self.name)
    }
}

/// The unit of an event's weights from its name (see [`EventSpec::unit`]); also used for the
/// events of a data file.
pub fn unit_of(name: &str) -> &str {
    match name {
        "cpu-clock" | "task-clock" => "ns",
        other => other,
    }
}

/// Reads a small tracefs file (ids are a few bytes; nothing larger is expected).
fn read_small(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut s = String::new();
    std::fs::File::open(path)?
        .take(4096)
        .read_to_string(&mut s)?;
    Ok(s)
}

/// Parses perf's CPU list syntax (`0-3,5`), checking each CPU against the online ones.
pub fn parse_cpu_list(s: &str, online: &[usize]) -> Result<Vec<usize>> {
    let mut cpus = Vec::new();
    for part in s.split(',').map(str::trim) {
        let num = |x: &str| -> Result<usize> {
            x.trim().parse().map_err(|_| {
                anyhow::anyhow!("-C {s}: `{x}` is not a CPU number (expected a list such as 0-3,5)")
            })
        };
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => {
                let a = num(part)?;
                (a, a)
            }
        };
        if a > b {
            bail!("-C {s}: the range {part} runs backwards");
        }
        for c in a..=b {
            if !online.contains(&c) {
                bail!(
                    "-C {s}: CPU {c} is not online (online CPUs: {})",
                    format_cpu_list(online)
                );
            }
            if !cpus.contains(&c) {
                cpus.push(c);
            }
        }
    }
    cpus.sort_unstable();
    Ok(cpus)
}

/// Formats CPUs in perf's list syntax (`0-3,5`).
pub fn format_cpu_list(cpus: &[usize]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < cpus.len() {
        let start = cpus[i];
        let mut end = start;
        while i + 1 < cpus.len() && cpus[i + 1] == end + 1 {
            i += 1;
            end = cpus[i];
        }
        out.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    out.join(",")
}

/// One line of `rprof list`: the names (canonical first) and the group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    /// Names the event answers to, canonical first.
    pub names: Vec<String>,
    /// The group.
    pub category: Category,
}

/// Whether this machine can open `spec` for sampling on this process: the same attributes
/// `record` uses, asked of the kernel and closed again.
pub fn probe(spec: &EventSpec) -> bool {
    let mut b = spec.builder();
    // Kernel mode is not needed to learn whether the event exists, and excluding it keeps the
    // probe working for users whom perf_event_paranoid limits to user mode.
    b.exclude_kernel(!spec.fires_in_kernel())
        .exclude_hv(true)
        .sample_period(1_000_000);
    b.build().is_ok()
}

/// Every event this machine supports, grouped as `perf list` groups them: hardware, software,
/// hardware cache (each probed with perf_event_open), the raw descriptor when a CPU PMU exists,
/// then the tracepoints in tracefs (listed, not probed, as perf does).
pub fn supported() -> Vec<Listed> {
    let mut out = Vec::new();
    for (name, aliases, config) in HARDWARE {
        if probe(&EventSpec::hardware(*config)) {
            out.push(listed(name, aliases, Category::Hardware));
        }
    }
    for (name, aliases, config) in SOFTWARE {
        if probe(&EventSpec::software(*config)) {
            out.push(listed(name, aliases, Category::Software));
        }
    }
    for (_, cache, ops) in CACHES {
        for (_, _, _, op) in CACHE_OPS {
            if ops & (1 << op) == 0 {
                continue;
            }
            for (_, result) in CACHE_RESULTS {
                let spec = EventSpec::cache(*cache, *op, *result);
                if probe(&spec) {
                    out.push(listed(&spec.name, &[], Category::Cache));
                }
            }
        }
    }
    if Path::new("/sys/bus/event_source/devices/cpu").exists() {
        out.push(Listed {
            names: vec!["rNNN".into()],
            category: Category::Raw,
        });
    }
    if let Ok(root) = crate::strace::tracefs::ensure_tracefs() {
        out.extend(
            tracepoints(&root.join("events"))
                .into_iter()
                .map(|n| Listed {
                    names: vec![n],
                    category: Category::Tracepoint,
                }),
        );
    }
    out
}

fn listed(name: &str, aliases: &[&str], category: Category) -> Listed {
    let mut names = vec![name.to_string()];
    names.extend(aliases.iter().map(|a| a.to_string()));
    Listed { names, category }
}

/// `subsys:name` of every tracepoint under `events` (those with an `id`), sorted.
fn tracepoints(events: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(systems) = std::fs::read_dir(events) else {
        return out;
    };
    for sys in systems.flatten() {
        if !sys.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(sys.path()) else {
            continue;
        };
        let sname = sys.file_name().to_string_lossy().into_owned();
        for ev in entries.flatten() {
            if ev.path().join("id").is_file() {
                out.push(format!("{sname}:{}", ev.file_name().to_string_lossy()));
            }
        }
    }
    out.sort();
    out
}

/// Every name (canonical and alias) of perf's generic hardware events and hardware cache
/// families (`cycles`, `cpu-cycles`, …, `L1-dcache`, `LLC`, `dTLB`, …): what a filter of
/// `rprof list` may be looking for on a machine that has none of them.
pub fn hardware_names() -> impl Iterator<Item = &'static str> {
    HARDWARE
        .iter()
        .flat_map(|(n, a, _)| std::iter::once(*n).chain(a.iter().copied()))
        .chain(
            CACHES
                .iter()
                .flat_map(|(names, _, _)| names.iter().copied()),
        )
}

/// Whether `name` matches a `perf list`-style filter: a `*`/`?` glob when it has one, else a
/// case-insensitive substring.
pub fn matches_filter(name: &str, filter: &str) -> bool {
    let name = name.to_ascii_lowercase();
    let filter = filter.to_ascii_lowercase();
    if !filter.contains(['*', '?']) {
        return name.contains(&filter);
    }
    glob(name.as_bytes(), filter.as_bytes())
}

fn glob(s: &[u8], p: &[u8]) -> bool {
    // Iterative wildcard match with backtracking to the last `*`.
    let (mut si, mut pi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == s[si]) {
            si += 1;
            pi += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hardware_and_software_names_and_aliases() {
        let hw = |s: &str| EventSpec::parse(s).unwrap();
        assert_eq!(hw("cpu-cycles"), EventSpec::cycles());
        assert_eq!(hw("instructions").attr(), (bindings::PERF_TYPE_HARDWARE, 1));
        assert_eq!(hw("branch-instructions").name(), "branches");
        assert_eq!(hw("ref-cycles").attr().1, 9);
        assert_eq!(hw("idle-cycles-backend").name(), "stalled-cycles-backend");
        assert_eq!(hw("cs").name(), "context-switches");
        assert_eq!(hw("migrations").attr(), (bindings::PERF_TYPE_SOFTWARE, 4));
        assert_eq!(hw("faults").name(), "page-faults");
        assert_eq!(hw("emulation-faults").attr().1, 8);
        assert!(hw("cs").fires_in_kernel() && !hw("page-faults").fires_in_kernel());
        assert_eq!(hw("task-clock").unit(), "ns");
        assert_eq!(hw("major-faults").unit(), "major-faults");
    }

    #[test]
    fn cache_events_follow_perfs_encoding() {
        let c = |s: &str| EventSpec::parse(s).unwrap();
        // L1D (0) | READ (0) << 8 | MISS (1) << 16
        assert_eq!(
            c("L1-dcache-load-misses").attr(),
            (bindings::PERF_TYPE_HW_CACHE, 0x10000)
        );
        assert_eq!(c("LLC-load-misses").attr().1, 2 | 1 << 16);
        assert_eq!(c("dTLB-stores").attr().1, 3 | 1 << 8);
        assert_eq!(c("iTLB-load-misses").attr().1, 4 | 1 << 16);
        assert_eq!(c("branch-loads").attr().1, 5);
        assert_eq!(c("L1-icache-prefetches").attr().1, 1 | 2 << 8);
        assert_eq!(c("l1d-read-miss").name(), "L1-dcache-load-misses");
        assert_eq!(c("node-store-misses").attr().1, 6 | 1 << 8 | 1 << 16);
        // perf has no store events for the instruction cache.
        assert!(EventSpec::parse("L1-icache-stores").is_err());
    }

    #[test]
    fn raw_and_bad_names() {
        let r = EventSpec::parse("r01c2").unwrap();
        assert_eq!(r.attr(), (bindings::PERF_TYPE_RAW, 0x1c2));
        assert!(r.is_hardware());
        for bad in [
            "",
            "bogus",
            "r",
            "rxyz",
            "../x:y",
            "sched:../../x",
            "r1ffffffffffffffff0",
        ] {
            assert!(EventSpec::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn perfs_modifier_suffix() {
        let m = |s: &str| EventSpec::parse_with_modifiers(s);
        let (e, mods) = m("cpu-clock:u").unwrap();
        assert_eq!((e.name(), mods.user_only), ("cpu-clock", true));
        let (e, mods) = m("cs:u").unwrap();
        assert_eq!((e.name(), mods.user_only), ("context-switches", true));
        assert_eq!(m("cycles:uu").unwrap().0, EventSpec::cycles());
        assert!(m("LLC-load-misses:u").unwrap().1.user_only);
        assert!(m("r01c2:u").unwrap().1.user_only);
        let (e, mods) = m("page-faults").unwrap();
        assert_eq!((e.name(), mods.user_only), ("page-faults", false));
        // Each refusal names the modifier instead of looking for a tracepoint `cycles:pp`.
        let err = |s: &str| format!("{:#}", m(s).unwrap_err());
        assert!(err("cycles:pp").contains("precise sampling"));
        assert!(err("cpu-clock:k").contains("the :k modifier"));
        assert!(err("cycles:uH").contains(":H modifier"));
        assert!(err("cpu-clock:").contains("nothing after"));
        assert!(err("cpu-clock:zz").contains("not a modifier"));
        assert_eq!(
            EventSpec::canonical_name("cs").as_deref(),
            Some("context-switches")
        );
        assert_eq!(EventSpec::canonical_name("sched:sched_switch"), None);
    }

    #[test]
    fn cpu_lists() {
        let online = [0, 1, 2, 3, 5];
        assert_eq!(parse_cpu_list("0-3,5", &online).unwrap(), [0, 1, 2, 3, 5]);
        assert_eq!(parse_cpu_list("1,1", &online).unwrap(), [1]);
        assert!(parse_cpu_list("4", &online).is_err());
        assert!(parse_cpu_list("3-1", &online).is_err());
        assert!(parse_cpu_list("a", &online).is_err());
        assert_eq!(format_cpu_list(&[0, 1, 2, 3, 5, 7, 8]), "0-3,5,7-8");
    }

    #[test]
    fn list_filters() {
        assert!(matches_filter("sched:sched_switch", "sched:*"));
        assert!(matches_filter("L1-dcache-load-misses", "l1"));
        assert!(matches_filter("context-switches", "*switch*"));
        assert!(!matches_filter("cycles", "sched:*"));
        assert!(matches_filter("cycles", "c?cles"));
    }
}
