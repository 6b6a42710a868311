//! Marks and colors (✓ green, ✗ red, hints dim) and wrapping at word boundaries.
//!
//! Colors are written as ANSI sequences; commands print through `anstream`, which strips
//! them when NO_COLOR is set, when CLICOLOR=0, or when stdout is not a terminal. `plain`
//! gives the same text without them (for tests and files).

use anstyle::{AnsiColor, Style};

const GREEN: Style = AnsiColor::Green.on_default();
const RED: Style = AnsiColor::Red.on_default();
const YELLOW: Style = AnsiColor::Yellow.on_default();
const DIM: Style = Style::new().dimmed();
const BOLD: Style = Style::new().bold();

fn paint(style: Style, text: &str) -> String {
    format!("{style}{text}{style:#}")
}

/// Success (green).
pub fn good(text: &str) -> String {
    paint(GREEN, text)
}

/// Failure (red).
pub fn bad(text: &str) -> String {
    paint(RED, text)
}

/// Something to look at, not a failure (yellow).
pub fn warn(text: &str) -> String {
    paint(YELLOW, text)
}

/// Secondary text such as hints (dim).
pub fn dim(text: &str) -> String {
    paint(DIM, text)
}

/// Headings (bold).
pub fn bold(text: &str) -> String {
    paint(BOLD, text)
}

/// The text without color sequences.
pub fn plain(text: &str) -> String {
    anstream::adapter::strip_str(text).to_string()
}

/// Whether colors are shown for a stream: never with NO_COLOR set (to anything but empty,
/// per no-color.org), otherwise only on a terminal.
pub fn colors_wanted(no_color: Option<&str>, is_terminal: bool) -> bool {
    no_color.is_none_or(str::is_empty) && is_terminal
}

/// The width reports are wrapped to: the terminal's, else 100 columns (pipes, files); at
/// least 40 so that narrow terminals still get readable lines.
pub fn width_of(terminal: Option<u16>) -> usize {
    terminal.map_or(100, usize::from).max(40)
}

/// Wraps `text` at word boundaries to `width` columns; continuation lines start with
/// `indent`, the first line with `first` (e.g. "    hint: " and 10 spaces). A word longer
/// than a line stays whole (a URL or a query is never cut).
pub fn wrap(text: &str, width: usize, first: &str, indent: &str) -> String {
    let options = textwrap::Options::new(width)
        .initial_indent(first)
        .subsequent_indent(indent)
        .break_words(false)
        .word_splitter(textwrap::WordSplitter::NoHyphenation)
        .word_separator(textwrap::WordSeparator::AsciiSpace);
    textwrap::fill(text, options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_color_and_pipes_turn_colors_off() {
        assert!(colors_wanted(None, true));
        assert!(!colors_wanted(Some("1"), true));
        assert!(colors_wanted(Some(""), true), "an empty NO_COLOR does not count");
        assert!(!colors_wanted(None, false));
    }

    #[test]
    fn colored_text_strips_to_the_same_words() {
        let t = format!("{} a — {}", good("✓"), dim("hint: x"));
        assert!(t.contains("\x1b["), "{t:?}");
        assert_eq!(plain(&t), "✓ a — hint: x");
        assert_eq!(plain(&bad("✗")), "✗");
    }

    #[test]
    fn long_hints_wrap_between_words_not_inside_them() {
        let hint = "add a scrape job named node that scrapes node-exporter:9100 every 15s, then reload Prometheus with promlab check";
        let w = wrap(hint, 40, "    hint: ", "          ");
        for line in w.lines() {
            assert!(line.chars().count() <= 40, "{line:?} is longer than 40");
        }
        assert!(w.starts_with("    hint: add a scrape job"), "{w}");
        // Every word survives whole.
        let words: Vec<&str> = w.split_whitespace().collect();
        assert!(words.contains(&"node-exporter:9100"), "{w}");
        assert_eq!(words.join(" "), format!("hint: {hint}"));
        // A word longer than the line is kept whole.
        let url = "http://127.0.0.1:9090/api/v1/query?query=rate(http_requests_total[5m])";
        assert!(wrap(url, 40, "", "").contains(url));
    }

    #[test]
    fn width_has_a_floor_and_a_default() {
        assert_eq!(width_of(None), 100);
        assert_eq!(width_of(Some(20)), 40);
        assert_eq!(width_of(Some(132)), 132);
    }
}
