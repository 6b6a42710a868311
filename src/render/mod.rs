//! Pure rendering for people: tables, terminal charts, colors and wrapping. Nothing here
//! reads the terminal or prints; callers pass the width and print the result (through
//! `anstream`, which drops the colors when NO_COLOR is set or stdout is not a terminal).

pub mod chart;
pub mod prom;
pub mod style;
pub mod table;
