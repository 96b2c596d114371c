//! SVG flame graphs through inferno.

use std::str::FromStr;

use anyhow::{anyhow, Context, Result};
use inferno::flamegraph::{self, color::Palette, Direction, Options};

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

/// Renders folded lines (`stack count` or `stack before after`) into SVG bytes.
pub fn render<'a>(lines: impl IntoIterator<Item = &'a str>, o: &SvgOptions) -> Result<Vec<u8>> {
    let palette = Palette::from_str(&o.colors).map_err(|_| {
        anyhow!(
            "unknown palette '{}' (choose one of: {})",
            o.colors,
            PALETTES.join(", ")
        )
    })?;
    let mut opt = Options::default();
    opt.colors = palette;
    opt.title = o.title.clone();
    opt.subtitle = o.subtitle.clone();
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
    opt.count_name = o.count_name.clone();
    opt.negate_differentials = o.negate;
    // Same input, same colours: makes SVGs diffable and tests stable.
    opt.hash = true;
    opt.deterministic = true;
    let mut out = Vec::new();
    flamegraph::from_lines(&mut opt, lines, &mut out).context("rendering the flame graph")?;
    Ok(out)
}
