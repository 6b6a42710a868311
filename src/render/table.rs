//! Aligned text tables: a header row and rows of cells, columns padded to the widest cell
//! (by display width, so `✓` and `—` count as one column).

use textwrap::core::display_width;

/// Renders a table; the last column is not padded. Cells may hold color sequences: they
/// count as zero width.
pub fn render(headers: &[&str], rows: &[Vec<String>]) -> String {
    let cols = headers.len();
    let width = |s: &str| display_width(&super::style::plain(s));
    let mut widths: Vec<usize> = headers.iter().map(|h| width(h)).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(cols) {
            widths[i] = widths[i].max(width(cell));
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<String>, out: &mut String| {
        let mut l = String::new();
        for (i, cell) in cells.iter().enumerate() {
            l.push_str(cell);
            if i + 1 < cells.len() {
                l.push_str(&" ".repeat(widths[i] - width(cell) + 2));
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(headers.iter().map(|h| super::style::bold(h)).collect(), &mut out);
    for row in rows {
        line(row.iter().take(cols).cloned().collect(), &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::style::{good, plain};

    #[test]
    fn columns_line_up_by_display_width() {
        let rows = vec![
            vec![good("✓ up"), "node".into(), "http://node:9100/metrics".into()],
            vec!["✗ down".into(), "a-much-longer-job".into(), "x".into()],
        ];
        let t = plain(&render(&["health", "job", "url"], &rows));
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "health  job                url");
        assert_eq!(lines[1], "✓ up    node               http://node:9100/metrics");
        assert_eq!(lines[2], "✗ down  a-much-longer-job  x");
    }
}
