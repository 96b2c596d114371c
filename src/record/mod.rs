//! record (see DESIGN.md).
