//! Content negotiation for `/metrics`.
//!
//! prometheus-client only encodes OpenMetrics text. Scrapers that ask for it
//! (Prometheus does by default) get it verbatim, exemplars included, under
//! the OpenMetrics content type. Everyone else (curl, `promtool check
//! metrics`, scrapers configured for the classic format) gets the same
//! samples re-labelled into the Prometheus text format 0.0.4: exemplars,
//! `# UNIT` and `# EOF` dropped, counter families named `<name>_total`, info
//! families turned into `<name>_info` gauges. The samples themselves are the
//! library's, untouched.

/// Content type of an OpenMetrics answer.
pub const OPENMETRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Content type of a Prometheus text format 0.0.4 answer.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The two exposition formats `/metrics` can answer in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OpenMetrics 1.0.0 text, with exemplars.
    OpenMetrics,
    /// Prometheus text format 0.0.4, without exemplars.
    Text,
}

impl Format {
    /// OpenMetrics if the `Accept` header lists `application/openmetrics-text`
    /// with a non-zero quality, else the classic text format (as
    /// client_golang does).
    pub fn negotiate(accept: Option<&str>) -> Self {
        let wants_om = accept.is_some_and(|accept| {
            accept.split(',').any(|range| {
                let mut parts = range.split(';').map(str::trim);
                let media = parts.next().unwrap_or_default();
                let q_zero = parts.any(|p| {
                    p.strip_prefix("q=")
                        .and_then(|q| q.parse::<f64>().ok())
                        .is_some_and(|q| q <= 0.0)
                });
                media.eq_ignore_ascii_case("application/openmetrics-text") && !q_zero
            })
        });
        if wants_om {
            Format::OpenMetrics
        } else {
            Format::Text
        }
    }

    /// The `Content-Type` header value for this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
            Format::Text => TEXT_CONTENT_TYPE,
        }
    }

    /// Renders an OpenMetrics body from prometheus-client in this format.
    pub fn render(self, openmetrics: String) -> String {
        match self {
            Format::OpenMetrics => openmetrics,
            Format::Text => to_text_format(&openmetrics),
        }
    }
}

/// Where the label set of a sample line ends (the byte after its `}`), or
/// after the metric name if it has none.
fn end_of_series(line: &str) -> usize {
    let Some(open) = line.find(['{', ' ']) else {
        return line.len();
    };
    if line.as_bytes().get(open) != Some(&b'{') {
        return open;
    }
    let mut in_quotes = false;
    let mut escaped = false;
    for (i, c) in line.char_indices().skip_while(|(i, _)| *i <= open) {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            '}' if !in_quotes => return i + 1,
            _ => {}
        }
    }
    line.len()
}

/// Converts prometheus-client's OpenMetrics text to text format 0.0.4.
pub fn to_text_format(openmetrics: &str) -> String {
    let mut out = String::with_capacity(openmetrics.len());
    let mut help: Option<(&str, &str)> = None;
    for line in openmetrics.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, text) = rest.split_once(' ').unwrap_or((rest, ""));
            help = Some((name, text));
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, "untyped"));
            let (suffix, kind) = match kind {
                "counter" => ("_total", "counter"),
                "info" => ("_info", "gauge"),
                "gauge" | "histogram" | "summary" => ("", kind),
                _ => ("", "untyped"),
            };
            if let Some((help_name, text)) = help.take()
                && help_name == name
            {
                out.push_str(&format!("# HELP {name}{suffix} {text}\n"));
            }
            out.push_str(&format!("# TYPE {name}{suffix} {kind}\n"));
        } else if line.starts_with('#') || line.is_empty() {
            // `# UNIT`, `# EOF`: no 0.0.4 equivalent.
        } else {
            let series_end = end_of_series(line);
            let (series, rest) = line.split_at(series_end);
            let value = rest.split(" # ").next().unwrap_or(rest);
            out.push_str(series);
            out.push_str(value);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiates_like_client_golang() {
        let prometheus3 = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
        assert_eq!(Format::negotiate(Some(prometheus3)), Format::OpenMetrics);
        assert_eq!(
            Format::negotiate(Some("Application/OpenMetrics-Text; version=1.0.0")),
            Format::OpenMetrics
        );
        assert_eq!(Format::negotiate(None), Format::Text);
        assert_eq!(Format::negotiate(Some("*/*")), Format::Text);
        assert_eq!(Format::negotiate(Some("text/plain;version=0.0.4")), Format::Text);
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text;q=0,text/plain")),
            Format::Text
        );
    }

    #[test]
    fn converts_to_text_format() {
        let om = r#"# HELP reqs Requests.
# TYPE reqs counter
reqs_total{route="/a # {x}",code="200"} 3 # {trace_id="ab"} 1.0 1700000000.5
reqs_total{route="/b\"}",code="500"} 0
# HELP lat Latency.
# TYPE lat histogram
# UNIT lat_seconds seconds
lat_sum{route="/a"} 0.5
lat_count{route="/a"} 2
lat_bucket{le="0.1",route="/a"} 1 # {trace_id="cd"} 0.05 1700000000.5
lat_bucket{le="+Inf",route="/a"} 2
# HELP build Build information.
# TYPE build info
build_info{version="1.4.2"} 1
# HELP up Up.
# TYPE up gauge
up 1
# EOF
"#;
        let expected = r#"# HELP reqs_total Requests.
# TYPE reqs_total counter
reqs_total{route="/a # {x}",code="200"} 3
reqs_total{route="/b\"}",code="500"} 0
# HELP lat Latency.
# TYPE lat histogram
lat_sum{route="/a"} 0.5
lat_count{route="/a"} 2
lat_bucket{le="0.1",route="/a"} 1
lat_bucket{le="+Inf",route="/a"} 2
# HELP build_info Build information.
# TYPE build_info gauge
build_info{version="1.4.2"} 1
# HELP up Up.
# TYPE up gauge
up 1
"#;
        assert_eq!(to_text_format(om), expected);
    }

    #[test]
    fn finds_the_end_of_the_series() {
        assert_eq!(end_of_series("up 1"), 2);
        assert_eq!(end_of_series(r#"a{b="}"} 1"#), 8);
        assert_eq!(end_of_series(r#"a{b="\\"} 1 # {c="d"} 1"#), 9);
        assert_eq!(end_of_series("lonely"), 6);
    }
}
