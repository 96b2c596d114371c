//! symbolize (see DESIGN.md).
