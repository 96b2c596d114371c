//! Renderers: report tables, call graphs, call trees, source listings, folded stacks, flame
//! graphs and differential flame graphs, JSON. Each is a function of a profile that went
//! through the one filter stage in [`filter`].

pub mod callgraph;
pub mod diff;
pub mod filter;
pub mod flamegraph;
pub mod listing;
pub mod report;
pub mod tree;

/// The text a function view (`--callers`, `--callees`, `--list`) prints when it shows no
/// function: nothing matched `pattern`, or each of the `omitted` matches is beyond --limit.
pub fn no_function_shown(pattern: &str, omitted: usize) -> String {
    if omitted == 0 {
        format!("\nno function matches '{pattern}'\n")
    } else {
        format!("\n({omitted} more matching functions below the limit; see --limit)\n")
    }
}

/// Formats a sample count with thousands separators for tables.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Formats nanoseconds as seconds with three decimals.
pub fn secs(ns: u64) -> String {
    format!("{:.3} s", ns as f64 / 1e9)
}

/// `n` as a percentage of `total`, 0 when `total` is 0.
pub fn pct(n: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        n as f64 * 100.0 / total as f64
    }
}
