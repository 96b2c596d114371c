//! Streaming reader for massif's output format.
//!
//! The file is read line by line from any `BufRead` (a file, stdin, a gzip decoder), so memory
//! follows the size of the parsed model, not of the file: a line is never held longer than it
//! takes to parse it, and tree nodes go straight into the compact pre-order arrays of
//! [`Tree`]. Lines are handled as bytes; only node texts that are kept get decoded, once each.
//! Optionally ([`ParseOptions::threshold`]) entries the output will not show are summed into
//! one merged node per parent instead of being stored. Every error names the input and the
//! line.
//!
//! Like ms_print, blank lines and lines starting with `#` are skipped anywhere.

use std::io::{BufRead, BufReader, Read};

use thiserror::Error;

use super::model::{
    sat_sum, significant, Massif, Node, Snapshot, TimeUnit, Tree, TreeKind, MERGED_LABEL,
};

/// Longest line accepted; massif's lines are short, so anything longer is not massif output and
/// reading it whole could exhaust memory.
const MAX_LINE: usize = 1 << 20;

/// What to keep while parsing.
#[derive(Clone, Debug, Default)]
pub struct ParseOptions {
    /// Tree entries below this percentage of their snapshot's total are merged into one node
    /// per parent as they are read (their subtrees are never stored), as ms_print would merge
    /// them when printing. 0 keeps everything. The peak snapshot and `full` are always kept
    /// whole.
    pub threshold: f64,
    /// A snapshot number whose tree is kept whole regardless of `threshold`.
    pub full: Option<u64>,
}

/// Malformed or unreadable massif input.
#[derive(Debug, Error)]
#[error("{name}:{line}: {msg}")]
pub struct ParseError {
    /// The input's name (path or `<stdin>`).
    pub name: String,
    /// 1-based line number where the problem was found.
    pub line: u64,
    /// What is wrong.
    pub msg: String,
}

/// True when `bytes` starts like a gzip stream.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.len() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b
}

/// Wraps a reader, decompressing transparently when it starts with the gzip magic.
pub fn maybe_gunzip<'a, R: BufRead + 'a>(mut r: R) -> std::io::Result<Box<dyn BufRead + 'a>> {
    let gz = is_gzip(r.fill_buf()?);
    Ok(if gz {
        Box::new(BufReader::with_capacity(
            1 << 16,
            flate2::read::MultiGzDecoder::new(r),
        ))
    } else {
        Box::new(r)
    })
}

/// Parses massif output from bytes (plain or gzip) with options.
pub fn parse_bytes_with(
    bytes: &[u8],
    name: &str,
    opt: &ParseOptions,
) -> Result<Massif, ParseError> {
    let r = maybe_gunzip(bytes).map_err(|e| ParseError {
        name: name.to_string(),
        line: 1,
        msg: format!("read error: {e}"),
    })?;
    parse(r, name, opt)
}

struct Lines<'a, R> {
    r: R,
    name: &'a str,
    buf: Vec<u8>,
    line: u64,
}

impl<R: BufRead> Lines<'_, R> {
    fn err(&self, msg: impl Into<String>) -> ParseError {
        ParseError {
            name: self.name.to_string(),
            line: self.line.max(1),
            msg: msg.into(),
        }
    }

    /// Reads one raw line into `buf` (without its newline); false at end of input.
    fn read_raw(&mut self) -> Result<bool, ParseError> {
        self.buf.clear();
        // `read_until` finds the newline with a fast memchr; `take` bounds a line without one.
        let n = match (&mut self.r)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut self.buf)
        {
            Ok(n) => n,
            Err(e) => {
                self.line += 1;
                return Err(self.err(format!("read error: {e}")));
            }
        };
        if n == 0 {
            return Ok(false);
        }
        self.line += 1;
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
        } else if self.buf.len() > MAX_LINE {
            return Err(self.err(format!(
                "line longer than {MAX_LINE} bytes: this is not massif output"
            )));
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        Ok(true)
    }

    /// The next meaningful line as bytes (text is only decoded where it is kept or shown).
    fn next_bytes(&mut self) -> Result<Option<&[u8]>, ParseError> {
        loop {
            if !self.read_raw()? {
                return Ok(None);
            }
            let t = self.buf.trim_ascii_start();
            if t.is_empty() || t[0] == b'#' {
                continue;
            }
            return Ok(Some(&self.buf));
        }
    }

    /// The next meaningful line (not blank, not a comment) as text, or None at end of input;
    /// for the header, where anything but text means this is not massif output.
    fn next(&mut self) -> Result<Option<&str>, ParseError> {
        if self.next_bytes()?.is_none() {
            return Ok(None);
        }
        match std::str::from_utf8(&self.buf) {
            Ok(s) => Ok(Some(s)),
            Err(_) => Err(ParseError {
                name: self.name.to_string(),
                line: self.line.max(1),
                msg: "not text (invalid UTF-8): this is not massif output".into(),
            }),
        }
    }

    /// Reads the `field=VALUE` line that must come next and converts VALUE with `f`.
    fn field<T>(
        &mut self,
        field: &str,
        snapshot: Option<u64>,
        f: impl FnOnce(&[u8]) -> Result<T, String>,
    ) -> Result<T, ParseError> {
        let name = self.name;
        let eof_line = self.line + 1;
        let Some(line) = self.next_bytes()? else {
            let which = snapshot.map_or(String::new(), |n| format!(" of snapshot {n}"));
            return Err(ParseError {
                name: name.to_string(),
                line: eof_line,
                msg: format!(
                    "unexpected end of file: expected the `{field}=` line{which} (truncated file?)"
                ),
            });
        };
        let res = match line
            .strip_prefix(field.as_bytes())
            .and_then(|r| r.strip_prefix(b"="))
        {
            Some(v) => f(v.trim_ascii()),
            None => Err(format!(
                "expected a `{field}=` line, got `{}`",
                short_b(line)
            )),
        };
        res.map_err(|m| self.err(m))
    }

    fn num_field(&mut self, field: &str, snapshot: Option<u64>) -> Result<u64, ParseError> {
        self.field(field, snapshot, |v| {
            parse_u64(v)
                .ok_or_else(|| format!("`{field}=` wants a whole number, got `{}`", short_b(v)))
        })
    }
}

/// A whole unsigned decimal number, None on anything else or on overflow.
fn parse_u64(b: &[u8]) -> Option<u64> {
    if b.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(v)
}

fn short_b(b: &[u8]) -> String {
    short(&String::from_utf8_lossy(&b[..b.len().min(256)]))
}

fn short(s: &str) -> String {
    if s.chars().count() > 60 {
        let cut: String = s.chars().take(60).collect();
        format!("{cut}…")
    } else {
        s.to_string()
    }
}

/// Parses `nCHILDREN: BYTES rest` (any leading indentation); returns children, bytes, rest.
fn tree_line(line: &[u8]) -> Option<(u32, u64, &[u8])> {
    let t = line.trim_ascii_start().strip_prefix(b"n")?;
    let colon = t.iter().position(|&b| b == b':')?;
    let children = u32::try_from(parse_u64(&t[..colon])?).ok()?;
    let rest = t[colon + 1..].trim_ascii_start();
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let bytes = parse_u64(&rest[..digits])?;
    Some((children, bytes, &rest[digits..]))
}

/// Parses a whole massif file.
pub fn parse<R: BufRead>(r: R, name: &str, opt: &ParseOptions) -> Result<Massif, ParseError> {
    let mut ls = Lines {
        r,
        name,
        buf: Vec::with_capacity(256),
        line: 0,
    };
    // Header: desc lines, cmd, time_unit.
    let mut desc = Vec::new();
    let first = loop {
        let next = ls.next()?.map(str::to_string);
        match next {
            None if ls.line == 0 => {
                return Err(ls.err("empty input: expected massif output starting with `desc:`"))
            }
            None => {
                return Err(ParseError {
                    name: name.to_string(),
                    line: ls.line + 1,
                    msg: "unexpected end of file: expected the `cmd:` line".into(),
                })
            }
            Some(l) => match l.strip_prefix("desc:") {
                Some(d) => desc.push(d.to_string()),
                None => break l,
            },
        }
    };
    let Some(cmd) = first.strip_prefix("cmd:") else {
        let what = if desc.is_empty() {
            "not massif output: expected a `desc:` or `cmd:` line"
        } else {
            "expected the `cmd:` line"
        };
        return Err(ls.err(format!("{what}, got `{}`", short(&first))));
    };
    let cmd = cmd.trim_start().to_string();
    let tu = match ls.next()? {
        Some(l) => match l.strip_prefix("time_unit:") {
            Some(u) => u.trim().to_string(),
            None => {
                let got = short(l);
                return Err(ls.err(format!("expected the `time_unit:` line, got `{got}`")));
            }
        },
        None => {
            return Err(ParseError {
                name: name.to_string(),
                line: ls.line + 1,
                msg: "unexpected end of file: expected the `time_unit:` line".into(),
            })
        }
    };
    let time_unit = TimeUnit::parse(&tu).ok_or_else(|| {
        ls.err(format!(
            "unknown time unit `{}` (massif writes i, ms or B)",
            short(&tu)
        ))
    })?;
    let mut m = Massif::new(cmd, desc, time_unit);

    // Snapshots.
    let mut stack: Vec<Open> = Vec::new();
    loop {
        let num = match ls.next_bytes()? {
            None => break,
            Some(line) => match line.strip_prefix(b"snapshot=") {
                Some(v) => parse_u64(v.trim_ascii()).ok_or_else(|| {
                    format!("`snapshot=` wants a whole number, got `{}`", short_b(v))
                }),
                None => Err(format!(
                    "expected a `snapshot=` line, got `{}`",
                    short_b(line)
                )),
            },
        };
        let num = num.map_err(|m| ls.err(m))?;
        let time = ls.num_field("time", Some(num))?;
        let heap = ls.num_field("mem_heap_B", Some(num))?;
        let extra = ls.num_field("mem_heap_extra_B", Some(num))?;
        let stacks = ls.num_field("mem_stacks_B", Some(num))?;
        let kind = ls.field("heap_tree", Some(num), |v| match v {
            b"empty" => Ok(TreeKind::Empty),
            b"detailed" => Ok(TreeKind::Detailed),
            b"peak" => Ok(TreeKind::Peak),
            other => Err(format!(
                "`heap_tree=` must be empty, detailed or peak, got `{}`",
                short_b(other)
            )),
        })?;
        let tree = if kind == TreeKind::Empty {
            None
        } else {
            let whole = kind == TreeKind::Peak || opt.full == Some(num) || opt.threshold == 0.0;
            let total = heap.saturating_add(extra).saturating_add(stacks);
            let th = if whole { 0.0 } else { opt.threshold };
            Some(read_tree(&mut ls, &mut m, &mut stack, num, total, th)?)
        };
        m.snapshots.push(Snapshot {
            num,
            time,
            heap,
            extra,
            stacks,
            kind,
            tree,
        });
    }
    if m.snapshots.is_empty() {
        return Err(ParseError {
            name: name.to_string(),
            line: ls.line.max(1),
            msg: "no snapshots: the file ends after its header (was massif interrupted?)".into(),
        });
    }
    Ok(m)
}

/// A tree node whose children are still being read.
struct Open {
    /// Its index in the node array, None inside a dropped subtree.
    idx: Option<usize>,
    /// Children still to come.
    left: u32,
    /// The merged node collecting its dropped children, once one exists.
    merged: Option<usize>,
    /// Bytes not yet claimed by its children: in massif's trees a node holds the sum of its
    /// children, so a child claiming more is corruption (and would overflow sums later).
    room: u64,
}

/// Reads one allocation tree, iteratively (a corrupt file must not overflow our stack).
/// Children below `threshold` percent of `total` are folded into one merged node per parent.
fn read_tree<R: BufRead>(
    ls: &mut Lines<'_, R>,
    m: &mut Massif,
    stack: &mut Vec<Open>,
    snapshot: u64,
    total: u64,
    threshold: f64,
) -> Result<Tree, ParseError> {
    let mut nodes: Vec<Node> = Vec::new();
    stack.clear();
    loop {
        let name = ls.name;
        let line_no = ls.line;
        let Some(line) = ls.next_bytes()? else {
            let msg = if nodes.is_empty() {
                format!("unexpected end of file: snapshot {snapshot} says it has a tree, but none follows")
            } else {
                let missing = sat_sum(stack.iter().map(|s| u64::from(s.left)));
                format!(
                    "unexpected end of file inside the tree of snapshot {snapshot}: at least {missing} more node(s) expected (truncated file?)"
                )
            };
            return Err(ParseError {
                name: name.to_string(),
                line: line_no + 1,
                msg,
            });
        };
        let Some((children, bytes, rest)) = tree_line(line) else {
            let got = short_b(line);
            return Err(ls.err(format!(
                "expected a tree line (`nCHILDREN: BYTES location`) of snapshot {snapshot}, got `{got}`"
            )));
        };
        if nodes.len() >= u32::MAX as usize - 1 {
            return Err(ls.err("allocation tree too large"));
        }
        if let Some(p) = stack.last_mut() {
            if bytes > p.room {
                let got = short_b(line);
                return Err(ls.err(format!(
                    "tree line of snapshot {snapshot} claims more bytes than its parent has left: `{got}`"
                )));
            }
            p.room -= bytes;
        }
        let parent = stack.last_mut();
        let keep = match &parent {
            None => true,
            Some(p) => p.idx.is_some() && significant(false, bytes, total, threshold),
        };
        let mut opened: Option<usize> = None;
        if keep {
            let idx = nodes.len();
            nodes.push(Node {
                bytes,
                label: m.intern_bytes(rest),
                children,
                end: idx as u32 + 1,
                merged: 0,
            });
            opened = Some(idx);
        } else if let Some(p) = parent.filter(|p| p.idx.is_some()) {
            // A dropped child of a kept node: count it in the parent's merged node.
            match p.merged {
                Some(mi) => {
                    nodes[mi].bytes = nodes[mi].bytes.saturating_add(bytes);
                    nodes[mi].merged += 1;
                }
                None => {
                    let mi = nodes.len();
                    nodes.push(Node {
                        bytes,
                        label: MERGED_LABEL,
                        children: 0,
                        end: mi as u32 + 1,
                        merged: 1,
                    });
                    p.merged = Some(mi);
                }
            }
        }
        if let Some(top) = stack.last_mut() {
            top.left -= 1;
        }
        if children > 0 {
            stack.push(Open {
                idx: opened,
                left: children,
                merged: None,
                room: bytes,
            });
        }
        // Close every subtree that just received its last child.
        while let Some(top) = stack.last() {
            if top.left > 0 {
                break;
            }
            if let Some(i) = top.idx {
                nodes[i].end = nodes.len() as u32;
            }
            stack.pop();
        }
        if stack.is_empty() {
            nodes[0].end = nodes.len() as u32;
            return Ok(Tree { nodes });
        }
    }
}

/// Parses from any reader (wrapped in a buffer), gzip or plain.
pub fn parse_reader<R: Read>(r: R, name: &str, opt: &ParseOptions) -> Result<Massif, ParseError> {
    let r = maybe_gunzip(BufReader::with_capacity(1 << 16, r)).map_err(|e| ParseError {
        name: name.to_string(),
        line: 1,
        msg: format!("read error: {e}"),
    })?;
    parse(r, name, opt)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(bytes: &[u8], name: &str) -> Result<Massif, ParseError> {
        parse_bytes_with(bytes, name, &ParseOptions::default())
    }

    const SMALL: &str = "desc: --x\ncmd: ./p 1\ntime_unit: i\n#---\nsnapshot=0\n#---\ntime=0\nmem_heap_B=0\nmem_heap_extra_B=0\nmem_stacks_B=0\nheap_tree=empty\nsnapshot=1\ntime=10\nmem_heap_B=300\nmem_heap_extra_B=8\nmem_stacks_B=0\nheap_tree=peak\nn2: 300 (heap allocation functions) malloc/new/new[], --alloc-fns, etc.\n n1: 200 0x1: f (a.c:1)\n  n0: 200 0x2: main (a.c:9)\n n0: 100 in 2 places, all below massif's threshold (1.00%)\n";

    #[test]
    fn parses_small_file() {
        let m = parse_all(SMALL.as_bytes(), "t").expect("parses");
        assert_eq!(m.cmd, "./p 1");
        assert_eq!(m.snapshots.len(), 2);
        let t = m.snapshots[1].tree.as_ref().expect("tree");
        assert_eq!(t.nodes.len(), 4);
        assert_eq!(t.children(0).collect::<Vec<_>>(), vec![1, 3]);
        assert_eq!(t.children(1).collect::<Vec<_>>(), vec![2]);
        assert_eq!(m.peak_index(), Some(1));
    }

    #[test]
    fn truncated_tree_names_line() {
        let cut = &SMALL[..SMALL.find(" n0: 100").expect("line")];
        let e = parse_all(cut.as_bytes(), "t").expect_err("fails");
        assert!(e.msg.contains("tree of snapshot 1"), "{e}");
        assert_eq!(e.line, 21);
    }

    #[test]
    fn broken_tree_line() {
        let bad = SMALL.replace("  n0: 200 0x2", "  x0: 200 0x2");
        let e = parse_all(bad.as_bytes(), "t").expect_err("fails");
        assert_eq!(e.line, 20);
    }

    #[test]
    fn empty_and_garbage() {
        assert_eq!(parse_all(b"", "t").expect_err("empty").line, 1);
        let e = parse_all(&[0xff, 0xfe, 0x00, 0x13, b'\n'], "t").expect_err("garbage");
        assert_eq!(e.line, 1);
    }
}
