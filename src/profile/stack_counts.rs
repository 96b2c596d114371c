//! Folded stacks summed per distinct stack text, without building a [`super::Profile`].
//!
//! `rprof flamegraph` on plain folded text and `rprof diff` of two folded inputs need nothing
//! but "how many samples per stack, in order": interning every frame into the model, then
//! turning the stacks back into text and sorting them, costs more than the whole answer.
//! Large inputs are split into chunks at line boundaries; each chunk is counted and sorted on
//! its own CPU, and the sorted chunks are merged.

use std::cmp::Ordering as CmpOrdering;
use std::collections::hash_map::Entry;
use std::sync::atomic::{AtomicBool, Ordering};

use rustc_hash::FxHashMap as HashMap;

use super::folded::{split_line, FoldedError};

/// How stacks are ordered: a total order, equal only for equal texts.
pub type StackOrder = fn(&str, &str) -> CmpOrdering;

/// The samples of folded text per distinct stack; the stack texts borrow from the input.
#[derive(Debug, Default)]
pub struct StackCounts<'a> {
    /// Each distinct stack text (the text before the count, as [`split_line`] returns it) with
    /// its summed count, in the order the caller asked for.
    pub stacks: Vec<(&'a str, u64)>,
    /// Number of non-blank lines read.
    pub lines: usize,
}

impl StackCounts<'_> {
    /// Sum of all counts (wrapping, as the model's `total_weight` sums in release builds).
    pub fn total(&self) -> u64 {
        self.stacks
            .iter()
            .fold(0u64, |t, (_, w)| t.wrapping_add(*w))
    }
}

/// A chunk's table, sorted.
fn sorted<'a>(counts: HashMap<&'a str, u64>, lines: usize, order: StackOrder) -> StackCounts<'a> {
    let mut stacks: Vec<(&str, u64)> = counts.into_iter().collect();
    stacks.sort_unstable_by(|a, b| order(a.0, b.0));
    StackCounts { stacks, lines }
}

/// Merges two sorted tables, summing the counts of a stack both hold.
fn merge<'a>(a: StackCounts<'a>, b: StackCounts<'a>, order: StackOrder) -> StackCounts<'a> {
    if a.stacks.is_empty() || b.stacks.is_empty() {
        let lines = a.lines + b.lines;
        let stacks = if a.stacks.is_empty() {
            b.stacks
        } else {
            a.stacks
        };
        return StackCounts { stacks, lines };
    }
    let mut out = Vec::with_capacity(a.stacks.len().max(b.stacks.len()));
    let (mut x, mut y) = (
        a.stacks.into_iter().peekable(),
        b.stacks.into_iter().peekable(),
    );
    loop {
        let next = match (x.peek(), y.peek()) {
            (Some(p), Some(q)) => match order(p.0, q.0) {
                CmpOrdering::Less => x.next(),
                CmpOrdering::Greater => y.next(),
                CmpOrdering::Equal => {
                    let (s, w) = (p.0, p.1.wrapping_add(q.1));
                    x.next();
                    y.next();
                    Some((s, w))
                }
            },
            (Some(_), None) => x.next(),
            (None, Some(_)) => y.next(),
            (None, None) => break,
        };
        out.extend(next);
    }
    StackCounts {
        stacks: out,
        lines: a.lines + b.lines,
    }
}

/// The string order, by bytes: what sorting the stack texts as strings gives.
pub fn text_order(a: &str, b: &str) -> CmpOrdering {
    a.cmp(b)
}

/// Below this size one thread is quicker than starting others.
const PARALLEL_MIN_BYTES: usize = if cfg!(test) { 4096 } else { 4 << 20 };

/// Counts every non-blank line of `text` as `parse` would read it: the same stacks, the same
/// counts, and the same error (with its line number) for the first bad line. The stacks come
/// in `order`.
pub fn count(text: &str, order: StackOrder) -> Result<StackCounts<'_>, FoldedError> {
    let parts = run_chunks(text, |chunk, _| {
        let mut counts: HashMap<&str, u64> = HashMap::default();
        let mut lines = 0;
        for (i, line) in chunk.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let (stack, n) = split_line(line).map_err(|msg| (i, msg))?;
            lines += 1;
            let c = counts.entry(stack).or_insert(0);
            *c = c.wrapping_add(n);
        }
        Ok(sorted(counts, lines, order))
    });
    let mut all = StackCounts::default();
    for (start, part) in parts {
        match part {
            Ok(p) => all = merge(all, p, order),
            // Chunks come in input order, so the first error met is the first in the file.
            Err((i, msg)) => {
                return Err(FoldedError {
                    line: lines_before(text, start) + i + 1,
                    msg,
                })
            }
        }
    }
    Ok(all)
}

/// Counts `text` only when every non-blank line is "plain": `STACK COUNT` with one space
/// before a count of digits, a stack that neither starts nor ends with whitespace, holds no
/// space followed by a digit and does not start with `# `, and a total that fits in a u64.
///
/// For such lines inferno reads the same stack and count as rprof does, never sees a second
/// (differential) count, never skips a line as a comment, and sorts all lines of one stack
/// next to each other in the same order as the summed lines (see [`cmp_plain_lines`]): so one
/// summed line per stack draws exactly the graph that all the lines would. None otherwise,
/// and the caller hands the lines to inferno as they are. The stacks come in
/// [`cmp_plain_lines`] order.
pub fn count_plain(text: &str) -> Option<StackCounts<'_>> {
    let parts = run_chunks(text, |chunk, abort| {
        let mut counts: HashMap<&str, u64> = HashMap::default();
        let mut lines = 0;
        let mut total: u64 = 0;
        for (i, line) in chunk.lines().enumerate() {
            // Another chunk found a line that is not plain: the result is thrown away anyway.
            if i % 4096 == 0 && abort.load(Ordering::Relaxed) {
                return Err(());
            }
            if line.trim().is_empty() {
                continue;
            }
            let (stack, n) = split_plain(line).ok_or(())?;
            total = total.checked_add(n).ok_or(())?;
            lines += 1;
            match counts.entry(stack) {
                // Cannot overflow: bounded by `total`.
                Entry::Occupied(mut o) => *o.get_mut() += n,
                // The stack's own checks, once per distinct stack rather than per line.
                Entry::Vacant(v) => {
                    if !plain_stack(stack) {
                        return Err(());
                    }
                    v.insert(n);
                }
            }
        }
        Ok((total, sorted(counts, lines, cmp_plain_lines)))
    });
    let mut all = StackCounts::default();
    let mut total: u64 = 0;
    for (_, part) in parts {
        let (t, p) = part.ok()?;
        total = total.checked_add(t)?;
        all = merge(all, p, cmp_plain_lines);
    }
    Some(all)
}

/// Orders plain stacks (see [`count_plain`]) as inferno's string sort orders their lines
/// `STACK COUNT`. The count never decides: lines of different plain stacks differ before the
/// end of the shorter stack, or at the byte after it, or, when one stack is the other plus a
/// space and more, at a digit of the count against the byte after that space, which is not a
/// digit. So comparing the stacks each followed by ` 0` gives the same order, and that is a
/// total order, equal only for equal stacks.
pub fn cmp_plain_lines(a: &str, b: &str) -> CmpOrdering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len().min(b.len());
    match a[..n].cmp(&b[..n]) {
        // One is a prefix of the other (rare): compare what follows, suffix included.
        CmpOrdering::Equal => a[n..].iter().chain(b" 0").cmp(b[n..].iter().chain(b" 0")),
        o => o,
    }
}

/// `STACK COUNT` split at the last space, the count all digits; None for anything else.
fn split_plain(line: &str) -> Option<(&str, u64)> {
    let b = line.as_bytes();
    let sp = b.iter().rposition(|&c| c == b' ')?;
    let digits = &b[sp + 1..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) || sp == 0 {
        return None;
    }
    // Too many digits for a u64 fails here, and the caller's validation names the line.
    let n: u64 = line[sp + 1..].parse().ok()?;
    Some((&line[..sp], n))
}

fn plain_stack(stack: &str) -> bool {
    let first_ok = stack.chars().next().is_some_and(|c| !c.is_whitespace());
    let last_ok = stack
        .chars()
        .next_back()
        .is_some_and(|c| !c.is_whitespace());
    if !first_ok || !last_ok || stack.starts_with("# ") || stack == "#" {
        return false;
    }
    let b = stack.as_bytes();
    let mut from = 0;
    while let Some(i) = stack[from..].find(' ') {
        let at = from + i;
        if b.get(at + 1).is_some_and(u8::is_ascii_digit) {
            return false;
        }
        from = at + 1;
    }
    true
}

/// Number of lines that end before byte `start` (a chunk start, right after a newline).
fn lines_before(text: &str, start: usize) -> usize {
    text.as_bytes()[..start]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

/// Splits `text` into chunks that start and end at line boundaries, runs `work` on each (on
/// its own thread when the input is large), and returns each chunk's start offset and result
/// in input order. `work` gets a flag it may poll: set once any chunk has failed.
fn run_chunks<'a, T, E, F>(text: &'a str, work: F) -> Vec<(usize, Result<T, E>)>
where
    T: Send,
    E: Send,
    F: Fn(&'a str, &AtomicBool) -> Result<T, E> + Sync,
{
    let abort = AtomicBool::new(false);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    let n = if text.len() < PARALLEL_MIN_BYTES {
        1
    } else {
        threads
    };
    let mut bounds = Vec::with_capacity(n + 1);
    bounds.push(0);
    for k in 1..n {
        let want = (text.len() * k / n).max(*bounds.last().unwrap_or(&0));
        // The chunk ends right after the next newline, so no line is cut in two.
        let end = match text.as_bytes()[want..].iter().position(|&b| b == b'\n') {
            Some(i) => want + i + 1,
            None => text.len(),
        };
        bounds.push(end);
    }
    bounds.push(text.len());
    bounds.dedup();
    if bounds.len() <= 2 {
        return vec![(0, work(text, &abort))];
    }
    let work = &work;
    let abort = &abort;
    std::thread::scope(|s| {
        let handles: Vec<_> = bounds
            .windows(2)
            .map(|w| {
                let (a, b) = (w[0], w[1]);
                let chunk = &text[a..b];
                let h = s.spawn(move || {
                    let r = work(chunk, abort);
                    if r.is_err() {
                        abort.store(true, Ordering::Relaxed);
                    }
                    r
                });
                (a, h)
            })
            .collect();
        handles
            .into_iter()
            .map(|(a, h)| match h.join() {
                Ok(r) => (a, r),
                // A panic in a worker is a bug: let it surface as one.
                Err(p) => std::panic::resume_unwind(p),
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get<'a>(c: &StackCounts<'a>, s: &str) -> Option<u64> {
        c.stacks.iter().find(|x| x.0 == s).map(|x| x.1)
    }

    #[test]
    fn counts_like_the_parser() {
        let text = "a;b 2\n\na;b 3\n  \nc 1\n x;y\t4 \n";
        let c = count(text, text_order).expect("counts");
        assert_eq!(c.lines, 4);
        assert_eq!(c.stacks, vec![(" x;y", 4), ("a;b", 5), ("c", 1)]);
        assert_eq!(c.total(), 10);
        let e = count("a 1\nb 2\nc x\n", text_order).err().map(|e| e.line);
        assert_eq!(e, Some(3));
    }

    #[test]
    fn plain_only_when_inferno_reads_it_the_same() {
        let c = count_plain("a;b 2\na;b 3\nc\td 1\n").expect("plain");
        assert_eq!(get(&c, "a;b"), Some(5));
        assert_eq!(c.lines, 3);
        for bad in [
            "a;b\t2\n",
            "a b 1 2\n",
            "a 1x;b 2\n",
            " a 2\n",
            "a  2\n",
            "# x 2\n",
            "# 2\n",
            "a +2\n",
            "a 2 \n",
            "a 99999999999999999999\n",
            "a 18446744073709551615\nb 1\n",
        ] {
            assert!(count_plain(bad).is_none(), "{bad:?} is not plain");
        }
        assert!(count_plain("a b;c 1\n#x 2\n").is_some());
    }

    #[test]
    fn plain_line_order_is_inferno_order() {
        let mut stacks = vec![
            "a\tb", "a", "a;b", "a!c", "b", "a b", "a (x)", "a  y", "a b;c", "a\x01",
        ];
        stacks.sort_by(|x, y| cmp_plain_lines(x, y));
        let mut lines: Vec<String> = stacks.iter().map(|s| format!("{s} 7")).collect();
        lines.sort_unstable();
        let raw: Vec<&str> = lines.iter().filter_map(|l| l.strip_suffix(" 7")).collect();
        assert_eq!(stacks, raw);
        use std::cmp::Ordering::*;
        assert_eq!(cmp_plain_lines("a", "a\tb"), Greater);
        assert_eq!(cmp_plain_lines("a", "a;b"), Less);
        assert_eq!(cmp_plain_lines("a", "a"), Equal);
        assert_eq!(cmp_plain_lines("a", "a (x)"), Greater);
        assert_eq!(cmp_plain_lines("a", "a x"), Less);
    }

    #[test]
    fn chunks_cover_every_line_once() {
        let mut text = String::new();
        for i in 0..300_000 {
            text.push_str(&format!("s{};f{} {}\n", i % 97, i % 13, i % 5));
        }
        text.push_str("tail 9");
        let c = count(&text, text_order).expect("counts");
        assert_eq!(c.lines, 300_001);
        assert!(c.stacks.windows(2).all(|w| w[0].0 < w[1].0));
        let mut want: HashMap<&str, u64> = HashMap::default();
        for l in text.lines() {
            let (s, n) = split_line(l).expect("line");
            *want.entry(s).or_insert(0) += n;
        }
        let got: HashMap<&str, u64> = c.stacks.iter().copied().collect();
        assert_eq!(got, want);
        let p = count_plain(&text).expect("plain");
        let got: HashMap<&str, u64> = p.stacks.iter().copied().collect();
        assert_eq!(got, want);
        let mut bad = text.clone();
        bad.push_str("\nbroken\n");
        assert_eq!(count(&bad, text_order).err().map(|e| e.line), Some(300_002));
    }
}
