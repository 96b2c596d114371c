//! SVG flame graphs through inferno.

use std::borrow::Cow;
use std::str::FromStr;

use anyhow::{anyhow, Context, Result};
use inferno::flamegraph::color::{Color, PaletteMap};
use inferno::flamegraph::{self, color::Palette, Direction, FuncFrameAttrsMap, Options};

use crate::profile::folded::INLINED_MARK;

/// How to draw.
#[derive(Clone, Debug)]
pub struct SvgOptions {
    /// Title at the top.
    pub title: String,
    /// Second line under the title.
    pub subtitle: Option<String>,
    /// inferno palette name.
    pub colors: String,
    /// Icicle graph (roots at the top).
    pub inverted: bool,
    /// Reverse stacks before merging (callers on top of callees).
    pub reverse: bool,
    /// Omit frames narrower than this many pixels.
    pub min_width: f64,
    /// Image width in pixels (None: inferno's default, 1200).
    pub width: Option<usize>,
    /// Keep time order instead of sorting stacks alphabetically.
    pub flame_chart: bool,
    /// What a sample counts (`samples`, `bytes`).
    pub count_name: String,
    /// Swap the colours of a differential graph.
    pub negate: bool,
    /// The lines are already sorted (as `folded::fold` returns them), so inferno can skip
    /// sorting.
    pub presorted: bool,
}

impl Default for SvgOptions {
    fn default() -> Self {
        SvgOptions {
            title: "Flame Graph".into(),
            subtitle: None,
            colors: "hot".into(),
            inverted: false,
            reverse: false,
            min_width: 0.1,
            width: None,
            flame_chart: false,
            count_name: "samples".into(),
            negate: false,
            presorted: false,
        }
    }
}

/// The palette names accepted by `--colors`.
pub const PALETTES: &[&str] = &[
    "hot", "mem", "io", "wakeup", "java", "js", "perl", "python", "rust", "red", "green", "blue",
    "aqua", "yellow", "purple", "orange",
];

/// True for the characters XML 1.0 does not allow anywhere in a document, even escaped: the
/// C0 controls other than tab, newline and carriage return, and the non-characters U+FFFE and
/// U+FFFF. One of them in an SVG makes browsers refuse the whole image.
pub fn xml_forbidden(c: char) -> bool {
    matches!(
        c,
        '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}'
    )
}

/// `s` with every character XML cannot carry written out as visible text (`\x01`,
/// `\u{fffe}`), so that a function name holding one still shows, and differs from its
/// neighbours, in a well-formed SVG. Borrows when nothing needs replacing (the usual case).
pub fn xml_safe(s: &str) -> Cow<'_, str> {
    // Fast path on bytes: every forbidden character starts with a byte below 0x20 or 0xEF
    // (U+FFFE and U+FFFF are EF BF BE / EF BF BF in UTF-8).
    if !s.bytes().any(|b| b < 0x20 || b == 0xEF) || !s.chars().any(xml_forbidden) {
        return Cow::Borrowed(s);
    }
    let mut o = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !xml_forbidden(c) {
            o.push(c);
        } else if (c as u32) < 0x20 {
            o.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            o.push_str(&format!("\\u{{{:x}}}", c as u32));
        }
    }
    Cow::Owned(o)
}

/// Renders folded lines (`stack count` or `stack before after`) into SVG bytes.
///
/// Names, title and subtitle pass through [`xml_safe`] first: inferno escapes `&`, `<` and
/// `>` but copies control characters as they are.
pub fn render<'a>(lines: impl IntoIterator<Item = &'a str>, o: &SvgOptions) -> Result<Vec<u8>> {
    let palette = Palette::from_str(&o.colors).map_err(|_| {
        anyhow!(
            "unknown palette '{}' (choose one of: {})",
            o.colors,
            PALETTES.join(", ")
        )
    })?;
    let lines: Vec<&str> = lines.into_iter().collect();
    let inlined = inlined_frames(&lines);
    let off_cpu = off_cpu_frames(&lines);
    let mut palette_map = PaletteMap::default();
    let mut opt = Options::default();
    if !inlined.is_empty() || !off_cpu.is_empty() {
        mark_frames(&inlined, &off_cpu, &o.colors, &mut palette_map, &mut opt)?;
        opt.palette_map = Some(&mut palette_map);
    }
    opt.colors = palette;
    opt.title = xml_safe(&o.title).into_owned();
    opt.subtitle = o.subtitle.as_deref().map(|t| xml_safe(t).into_owned());
    opt.direction = if o.inverted {
        Direction::Inverted
    } else {
        Direction::Straight
    };
    opt.reverse_stack_order = o.reverse;
    opt.min_width = o.min_width;
    opt.image_width = o.width;
    opt.flame_chart = o.flame_chart;
    // Callers hand over lines already sorted (folded::fold sorts them), so inferno need not.
    opt.no_sort = o.presorted && !o.flame_chart;
    opt.count_name = xml_safe(&o.count_name).into_owned();
    opt.negate_differentials = o.negate;
    // Same input, same colours: makes SVGs diffable and tests stable.
    opt.hash = true;
    opt.deterministic = true;
    let lines: Vec<Cow<'a, str>> = lines.into_iter().map(xml_safe).collect();
    let mut out = Vec::new();
    flamegraph::from_lines(&mut opt, lines.iter().map(|l| l.as_ref()), &mut out)
        .context("rendering the flame graph")?;
    Ok(out)
}

/// A line's stack without its count (two counts in a differential line).
fn stack_of(line: &str) -> &str {
    let mut stack = line.trim_end();
    for _ in 0..2 {
        match stack.rsplit_once(' ') {
            Some((s, n)) if n.bytes().all(|b| b.is_ascii_digit()) && !n.is_empty() => {
                stack = s.trim_end()
            }
            _ => break,
        }
    }
    stack
}

/// The distinct frame names of `lines` that carry the inlined mark (`name_[i]`).
fn inlined_frames<'a>(lines: &[&'a str]) -> Vec<&'a str> {
    let mut out: rustc_hash::FxHashSet<&str> = Default::default();
    for l in lines {
        if !l.contains(INLINED_MARK) {
            continue;
        }
        out.extend(stack_of(l).split(';').filter(|f| f.ends_with(INLINED_MARK)));
    }
    let mut v: Vec<&str> = out.into_iter().collect();
    v.sort_unstable();
    v
}

/// The frames drawn only in off-CPU stacks (those ending in an `[off-cpu: …]` leaf, as
/// `rprof record --off-cpu` and `--wall` write them): the waits' own frames, told apart from
/// the on-CPU frames of a wall-clock profile. A frame on both kinds of stack (`main`) keeps
/// the normal palette, since a flame graph colours by name.
fn off_cpu_frames<'a>(lines: &[&'a str]) -> Vec<&'a str> {
    let prefix = crate::record::offcpu::LEAF_PREFIX;
    if !lines.iter().any(|l| l.contains(prefix)) {
        return Vec::new();
    }
    let mut off: rustc_hash::FxHashSet<&str> = Default::default();
    let mut on: rustc_hash::FxHashSet<&str> = Default::default();
    for l in lines {
        let stack = stack_of(l);
        let leaf = stack.rsplit(';').next().unwrap_or("");
        let set = if leaf.starts_with(prefix) {
            &mut off
        } else {
            &mut on
        };
        set.extend(stack.split(';'));
    }
    let mut v: Vec<&str> = off.difference(&on).copied().collect();
    v.sort_unstable();
    v
}

/// FNV-1a of a name: a fixed shade per name, as inferno's palettes spread them.
fn shade(n: &str) -> f32 {
    let h = n.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    });
    (h >> 56) as f32 / 255.0
}

/// Makes inlined and off-CPU frames recognisable in the SVG. Inlined frames, where inferno
/// strips the `_[i]` from the text, get `class="inlined"` and aqua fill in every palette (as
/// inferno's java palette already does), so an inlined copy is told from the out-of-line
/// function of the same name. Off-CPU frames get `class="off-cpu"` and blue fill (the colour
/// of Brendan Gregg's off-CPU flame graphs), so in a wall-clock profile the waits stand out
/// from the on-CPU work around them.
fn mark_frames(
    inlined: &[&str],
    off_cpu: &[&str],
    palette: &str,
    map: &mut PaletteMap,
    opt: &mut Options<'_>,
) -> Result<()> {
    let mut attrs = String::new();
    // The attribute list is tab-separated lines, trimmed: such names cannot be listed.
    let listable = |n: &str| !n.contains(['\t', '\n', '\r']) && n.trim() == n;
    for n in inlined {
        if !listable(n) || off_cpu.binary_search(n).is_ok() {
            continue;
        }
        attrs.push_str(n);
        attrs.push_str("\tclass=inlined\n");
        if palette != "java" {
            let v = shade(n);
            let c = Color {
                r: (50.0 + 60.0 * v) as u8,
                g: (165.0 + 55.0 * v) as u8,
                b: (165.0 + 55.0 * v) as u8,
            };
            map.insert(n, c);
        }
    }
    for n in off_cpu {
        if !listable(n) {
            continue;
        }
        attrs.push_str(n);
        attrs.push_str("\tclass=off-cpu\n");
        let v = shade(n);
        let c = Color {
            r: (40.0 + 60.0 * v) as u8,
            g: (80.0 + 60.0 * v) as u8,
            b: (190.0 + 55.0 * v) as u8,
        };
        map.insert(n, c);
    }
    opt.func_frameattrs =
        FuncFrameAttrsMap::from_reader(attrs.as_bytes()).context("marking frames")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_safe_spells_out_forbidden_characters() {
        assert!(matches!(xml_safe("main;work"), Cow::Borrowed(_)));
        assert!(matches!(xml_safe("caf\u{e9}\t\u{fffd}"), Cow::Borrowed(_)));
        assert_eq!(
            xml_safe("ma\x01in;wo\u{fffe}rk\u{ffff}\x1f"),
            "ma\\x01in;wo\\u{fffe}rk\\u{ffff}\\x1f"
        );
    }

    #[test]
    fn rendered_svg_is_well_formed_with_control_characters() {
        let o = SvgOptions {
            title: "t\x02".into(),
            subtitle: Some("s\u{ffff}".into()),
            ..SvgOptions::default()
        };
        let svg = render(["ma\x01in;wo\u{fffe}rk 5", "ma\x01in 3"], &o).unwrap();
        let text = String::from_utf8(svg).unwrap();
        let opts = roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        };
        roxmltree::Document::parse_with_options(&text, opts).unwrap();
        assert!(text.contains("ma\\x01in"), "{text}");
        assert!(text.contains("wo\\u{fffe}rk"));
    }

    #[test]
    fn off_cpu_frames_are_blue_and_classed() {
        let lines = [
            "main;compute 5",
            "main;wait;read;schedule;[off-cpu: S] 7",
            "main;compute;schedule;[off-cpu: R] 1",
        ];
        assert_eq!(
            off_cpu_frames(&lines),
            vec!["[off-cpu: R]", "[off-cpu: S]", "read", "schedule", "wait"]
        );
        let svg = render(lines, &SvgOptions::default()).expect("renders");
        let svg = String::from_utf8(svg).expect("utf-8");
        let g = |name: &str| {
            svg.split("<g")
                .find(|g| g.contains(&format!("<title>{name} (")))
                .unwrap_or_else(|| panic!("{name} in {svg}"))
                .to_string()
        };
        let wait = g("wait");
        assert!(wait.contains("class=\"off-cpu\""), "{wait}");
        // Blue: the blue channel dominates.
        let fill = wait.split("fill=\"rgb(").nth(1).expect("fill");
        let rgb: Vec<u32> = fill
            .split(')')
            .next()
            .unwrap()
            .split(',')
            .map(|x| x.trim().parse().unwrap())
            .collect();
        assert!(rgb[2] >= 190 && rgb[0] < 110 && rgb[1] < 150, "{rgb:?}");
        // On both kinds of stack, or on-CPU only: the normal palette.
        assert!(!g("main").contains("off-cpu"));
        assert!(!g("compute").contains("off-cpu"));
        // No off-CPU stacks, no marks.
        assert!(off_cpu_frames(&["a;b 1"]).is_empty());
    }

    #[test]
    fn inlined_frames_are_marked_in_the_svg() {
        let lines = ["main;work;mix_[i] 5", "main;work 3"];
        let svg = render(lines, &SvgOptions::default()).expect("renders");
        let svg = String::from_utf8(svg).expect("utf-8");
        let g = svg
            .split("<g")
            .find(|g| g.contains("<title>mix (5 samples"))
            .expect("the inlined frame, its mark stripped from the title");
        assert!(g.contains("class=\"inlined\""), "{g}");
        assert!(g.contains("fill=\"rgb("), "{g}");
        let work = svg
            .split("<g")
            .find(|g| g.contains("<title>work ("))
            .expect("work");
        assert!(!work.contains("inlined"));
        assert_eq!(
            inlined_frames(&["a;b_[i];c_[i] 1 2", "x_[i] 3", "y 1"]),
            ["b_[i]", "c_[i]", "x_[i]"]
        );
    }
}
