//! strace (see DESIGN.md).
