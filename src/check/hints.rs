//! Hints computed from what a failing check saw (a target down because of `localhost`, a
//! rule file not loaded, …). They come before the lab's own hint.

use super::outcome::Outcome;

/// Extra hint lines for a failed outcome, from patterns in what it observed.
pub fn computed(o: &Outcome) -> Vec<String> {
    // What the check saw, not the advice already attached (hints quote URLs and names too).
    let seen: Vec<&str> = o
        .detail
        .iter()
        .map(String::as_str)
        .filter(|d| !d.starts_with("hint:") && !d.starts_with("step hint:"))
        .collect();
    let text = format!("{} {}", o.observed, seen.join(" "));
    let mut out = Vec::new();
    // (patterns that must all be seen, the hint)
    let rules: &[(&[&str], &str)] = &[
        (
            &["localhost", "connection refused"],
            "inside the lab network `localhost` is the container itself: address other services by their service name (e.g. node-exporter:9100)",
        ),
        (
            &["127.0.0.1:9", "connection refused"],
            "inside the lab network 127.0.0.1 is the container itself: use the service name instead",
        ),
        (
            &["no such host"],
            "that host name does not resolve on the lab network: use a service name from `promlab status`",
        ),
        (
            &["connection refused"],
            "the host answered but nothing listens on that port: check the port number",
        ),
        (&["404 Not Found"], "the target answered 404: check metrics_path"),
        (
            &["400 Bad Request"],
            "the target answered 400 Bad Request: if it serves HTTPS, the job needs scheme: https",
        ),
        (
            &["HTTP response to HTTPS client"],
            "the target speaks plain HTTP: the job's scheme must be http",
        ),
        (
            &["certificate signed by unknown authority"],
            "the target's certificate does not chain to a CA the job trusts: set tls_config.ca_file to the CA that issued it",
        ),
        (
            &["certificate is valid for"],
            "the target's certificate does not name the host the job dials: issue it with that name in subjectAltName, or set tls_config.server_name",
        ),
        (
            &["401 Unauthorized"],
            "the target wants credentials: check basic_auth or authorization",
        ),
        (
            &["Content-Type"],
            "Prometheus 3 rejects unknown Content-Types: set fallback_scrape_protocol for this job",
        ),
        (
            &["loaded rules: none"],
            "Prometheus loaded no rules at all: is your rule file listed under rule_files (path as seen inside the container, /etc/prometheus/...)?",
        ),
        (
            &["parse error"],
            "the query does not parse: try it in the Prometheus UI (Graph tab) first",
        ),
    ];
    for (all, hint) in rules {
        if all.iter().all(|p| text.contains(p)) {
            out.push(format!("hint: {hint}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::outcome::Status;

    fn outcome(observed: &str, detail: &[&str]) -> Outcome {
        Outcome {
            id: "x".into(),
            title: "x".into(),
            status: Status::Fail,
            expected: String::new(),
            observed: observed.into(),
            detail: detail.iter().map(|s| s.to_string()).collect(),
            hint: String::new(),
            seconds: 0.0,
        }
    }

    #[test]
    fn hints_come_from_what_was_seen_not_from_advice() {
        let o = outcome(
            "node health=down lastError=\"dial tcp 127.0.0.1:9100: connect: connection refused\"",
            &[],
        );
        let h = computed(&o);
        assert!(h.iter().any(|l| l.contains("container itself")), "{h:?}");
        assert!(h.iter().any(|l| l.contains("nothing listens")), "{h:?}");
        let o = outcome(
            "receivers [\"blackhole\"]",
            &["step hint: GET http://127.0.0.1:9093/api/v2/alerts shows it"],
        );
        assert!(computed(&o).is_empty(), "{:?}", computed(&o));
        // Prometheus scraping its own TLS port over plain HTTP: not a `localhost` mistake.
        let o = outcome(
            "localhost:9090 health=down lastError=\"server returned HTTP status 400 Bad Request\"",
            &[],
        );
        let h = computed(&o);
        assert_eq!(h.len(), 1, "{h:?}");
        assert!(h[0].contains("scheme: https"), "{h:?}");
    }
}
