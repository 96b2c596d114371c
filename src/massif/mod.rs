//! valgrind massif output: parser, ms_print-style text, conversion to a Profile.

use anyhow::{bail, Result};

use crate::profile::Profile;

/// Parses massif output and converts snapshot `snapshot` (default: the peak) into a Profile
/// weighted by bytes.
pub fn load_profile(_bytes: &[u8], name: &str, _snapshot: Option<usize>) -> Result<Profile> {
    bail!("{name}: massif input is not supported in this build")
}
