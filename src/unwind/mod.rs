//! unwind (see DESIGN.md).
pub mod dwarf;
