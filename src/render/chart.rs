//! Line charts of range-query results in the terminal: one braille chart per series
//! (textplots), scaled to the given width, under a legend line with the series' labels and
//! its last, lowest and highest values.

use textplots::{Chart, LabelBuilder, LabelFormat, Plot, Shape};

/// One series of a range query: its labels as PromQL writes them and its samples
/// (unix seconds, value).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// `name{label="value", …}`, or `{}` for a series without labels.
    pub legend: String,
    /// Samples in time order.
    pub points: Vec<(f64, f64)>,
}

/// Columns kept right of the chart for the y labels.
const LABEL_COLS: usize = 10;
/// The chart's height in braille dots (4 per text row): 8 rows.
const HEIGHT_DOTS: u32 = 32;
/// textplots' smallest width, in dots.
const MIN_DOTS: u32 = 32;

/// A number in at most about 7 characters: 1234567 → 1.23M, 0.5 → 0.5, 3 → 3.
pub fn short_number(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    let a = v.abs();
    let (scaled, suffix) = match a {
        a if a >= 1e12 => (v / 1e12, "T"),
        a if a >= 1e9 => (v / 1e9, "G"),
        a if a >= 1e6 => (v / 1e6, "M"),
        a if a >= 1e4 => (v / 1e3, "k"),
        _ => (v, ""),
    };
    if scaled.fract() == 0.0 && scaled.abs() < 1e4 {
        return format!("{scaled}{suffix}");
    }
    // Three significant digits, trailing zeros dropped.
    let digits = if scaled.abs() >= 100.0 {
        1
    } else if scaled.abs() >= 1.0 {
        2
    } else if a == 0.0 {
        0
    } else {
        (2 - scaled.abs().log10().floor() as i32).clamp(0, 9) as usize
    };
    let s = format!("{scaled:.digits$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    format!("{s}{suffix}")
}

/// A time offset from the end of the range: -600 → "-10m", 0 → "now".
pub fn offset(seconds: f64) -> String {
    let s = seconds.round() as i64;
    if s == 0 {
        return "now".to_string();
    }
    let a = s.unsigned_abs();
    let sign = if s < 0 { "-" } else { "+" };
    if a.is_multiple_of(3600) {
        format!("{sign}{}h", a / 3600)
    } else if a.is_multiple_of(60) || a >= 3600 {
        format!("{sign}{}m", a / 60)
    } else {
        format!("{sign}{a}s")
    }
}

/// Renders every series as its own chart, `columns` wide, over the range [start, end]
/// (unix seconds). A series without finite samples is listed with "no samples".
pub fn render(series: &[Series], start: f64, end: f64, columns: usize) -> String {
    let dots = (columns.saturating_sub(LABEL_COLS + 1) * 2).max(MIN_DOTS as usize) as u32;
    let span = (end - start).max(1.0);
    let mut out = String::new();
    for s in series {
        let pts: Vec<(f32, f32)> = s
            .points
            .iter()
            .filter(|(_, v)| v.is_finite())
            .map(|(t, v)| ((t - end) as f32, *v as f32))
            .collect();
        out.push_str(&s.legend);
        out.push('\n');
        let Some(last) = s.points.iter().rev().find(|(_, v)| v.is_finite()) else {
            out.push_str("  no samples in this range\n\n");
            continue;
        };
        let values = || s.points.iter().map(|p| p.1).filter(|v| v.is_finite());
        let lo = values().fold(f64::INFINITY, f64::min);
        let hi = values().fold(f64::NEG_INFINITY, f64::max);
        out.push_str(&format!(
            "  last {}  min {}  max {}  ({} samples)\n",
            short_number(last.1),
            short_number(lo),
            short_number(hi),
            pts.len()
        ));
        // A flat series gets a band around its value, so its line is drawn mid-chart.
        let (ymin, ymax) = if (hi - lo).abs() < f64::EPSILON {
            let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
            (lo - pad, hi + pad)
        } else {
            (lo, hi)
        };
        // A single sample is a dot: a line needs two.
        let shape = if pts.len() == 1 {
            Shape::Points(&pts)
        } else {
            Shape::Lines(&pts)
        };
        let mut chart =
            Chart::new_with_y_range(dots, HEIGHT_DOTS, -span as f32, 0.0, ymin as f32, ymax as f32);
        let chart = chart
            .lineplot(&shape)
            .x_label_format(LabelFormat::Custom(Box::new(|x| offset(f64::from(x)))))
            .y_label_format(LabelFormat::Custom(Box::new(|y| short_number(f64::from(y)))));
        chart.figures();
        out.push_str(&chart.to_string());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(n: usize) -> Vec<(f64, f64)> {
        (0..n).map(|i| (1000.0 + 15.0 * i as f64, i as f64)).collect()
    }

    #[test]
    fn one_chart_per_series_fits_the_width() {
        let series = vec![
            Series {
                legend: "up{instance=\"a:9100\", job=\"node\"}".into(),
                points: ramp(41),
            },
            Series {
                legend: "up{instance=\"b:9100\", job=\"node\"}".into(),
                points: (0..41).map(|i| (1000.0 + 15.0 * f64::from(i), 1.0)).collect(),
            },
        ];
        let t = render(&series, 1000.0, 1600.0, 80);
        assert!(
            t.contains("up{instance=\"a:9100\", job=\"node\"}\n  last 40  min 0  max 40  (41 samples)"),
            "{t}"
        );
        assert!(
            t.contains("up{instance=\"b:9100\", job=\"node\"}\n  last 1  min 1  max 1"),
            "{t}"
        );
        for line in t.lines() {
            assert!(line.chars().count() <= 80, "{line:?} is wider than 80");
        }
        // Braille dots were drawn, and the x axis runs from -10m to now.
        assert!(t.chars().any(|c| ('\u{2801}'..='\u{28ff}').contains(&c)), "{t}");
        assert!(
            t.lines()
                .any(|l| l.starts_with("-10m") && l.trim_end().ends_with("now")),
            "{t}"
        );
        // y labels: the highest value on the first row, the lowest on the last.
        // (32 dots high: 9 rows of 4 dots, the last one shared with the x axis)
        let rows: Vec<&str> = t.lines().skip(2).take(9).collect();
        assert!(rows[0].ends_with(" 40"), "{rows:?}");
        assert!(rows[8].ends_with(" 0"), "{rows:?}");
    }

    #[test]
    fn rising_series_draws_low_on_the_left_and_high_on_the_right() {
        let t = render(
            &[Series {
                legend: "x".into(),
                points: ramp(41),
            }],
            1000.0,
            1600.0,
            60,
        );
        let rows: Vec<Vec<char>> = t.lines().skip(2).take(9).map(|l| l.chars().collect()).collect();
        let drawn = |r: &Vec<char>, range: std::ops::Range<usize>| {
            range
                .into_iter()
                .any(|i| r.get(i).is_some_and(|c| ('\u{2801}'..='\u{28ff}').contains(c)))
        };
        assert!(drawn(&rows[0], 40..49), "top row drawn at the right: {t}");
        assert!(!drawn(&rows[0], 0..10), "top row empty at the left: {t}");
        assert!(drawn(&rows[8], 0..5), "bottom row drawn at the left: {t}");
    }

    #[test]
    fn a_narrow_terminal_and_an_empty_series_do_not_panic() {
        let t = render(
            &[
                Series {
                    legend: "y".into(),
                    points: vec![(1.0, f64::NAN)],
                },
                Series {
                    legend: "z".into(),
                    points: ramp(3),
                },
            ],
            1000.0,
            1030.0,
            10,
        );
        assert!(t.contains("y\n  no samples in this range"), "{t}");
        assert!(t.contains("z\n  last 2"), "{t}");
    }

    #[test]
    fn numbers_and_offsets_are_short() {
        assert_eq!(short_number(3.0), "3");
        assert_eq!(short_number(0.5), "0.5");
        assert_eq!(short_number(0.012345), "0.0123");
        assert_eq!(short_number(1234567.0), "1.23M");
        assert_eq!(short_number(12.3456), "12.35");
        assert_eq!(short_number(25000.0), "25k");
        assert_eq!(offset(-600.0), "-10m");
        assert_eq!(offset(-7200.0), "-2h");
        assert_eq!(offset(-45.0), "-45s");
        assert_eq!(offset(0.0), "now");
    }
}
