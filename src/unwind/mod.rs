//! unwind (see DESIGN.md).
