//! valgrind massif output: a streaming parser, the compact model, ms_print-style text, an SVG
//! chart, and conversion of one snapshot's allocation tree into a [`Profile`].

pub mod chart;
pub mod convert;
pub mod model;
pub mod parse;
pub mod text;

use anyhow::Result;

use crate::profile::Profile;

pub use model::Massif;

/// Parses massif output (plain or gzip) and converts snapshot `snapshot` (default: the peak)
/// into a Profile weighted by bytes, stacks outermost caller first with the allocation sites
/// as leaves.
pub fn load_profile(bytes: &[u8], name: &str, snapshot: Option<usize>) -> Result<Profile> {
    let m = parse::parse_bytes(bytes, name)?;
    let idx = convert::choose_snapshot(&m, snapshot)?;
    convert::to_profile(&m, idx, name)
}
