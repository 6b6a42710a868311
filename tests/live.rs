//! Live tests against the real Docker engine with locally built images: `up`, `status`,
//! `check`, `down`, rollback of a failed `up`, two labs side by side. They fail with one
//! clear sentence when Docker or the images are missing (run `make images`).

mod support;

use std::process::Command;

use support::{http_get, leftovers, setup, text};

#[test]
fn up_status_check_down_for_two_labs_side_by_side() {
    let env = setup();
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| env.run(&["up", "25.1"]));
        let b = s.spawn(|| env.run(&["up", "25.2"]));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert!(a.status.success(), "up 25.1 failed: {}", text(&a));
    assert!(b.status.success(), "up 25.2 failed: {}", text(&b));
    // The URLs printed are real and answer.
    for out in [&a, &b] {
        let t = text(out);
        let url = t
            .lines()
            .find(|l| l.trim_start().starts_with("prometheus "))
            .and_then(|l| l.split_whitespace().find(|w| w.starts_with("http://127.0.0.1:")))
            .unwrap_or_else(|| panic!("no prometheus URL printed: {t}"));
        assert!(
            http_get(url, "/-/ready").starts_with("HTTP/1.0 200"),
            "{url}/-/ready does not answer 200"
        );
    }
    // Every published port is on 127.0.0.1.
    let ps = Command::new("docker")
        .args([
            "ps",
            "--filter",
            "label=io.promlab.lab=25.1",
            "--format",
            "{{.Ports}}",
        ])
        .output()
        .unwrap();
    let ports = String::from_utf8_lossy(&ps.stdout).to_string();
    assert!(ports.contains("127.0.0.1:"), "{ports}");
    assert!(!ports.contains("0.0.0.0"), "published beyond loopback: {ports}");
    let status = env.run(&["status"]);
    let st = text(&status);
    assert!(st.contains("lab 25.1") && st.contains("lab 25.2"), "{st}");
    assert!(st.contains("prometheus") && st.contains("running"), "{st}");
    // `up` again reuses the running lab.
    let again = env.run(&["up", "25.1"]);
    assert!(text(&again).contains("already up"), "{}", text(&again));
    // The starter fails the node check, as JSON.
    let check = env.run(&["check", "25.1", "--json"]);
    assert_eq!(check.status.code(), Some(1), "{}", text(&check));
    let report: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_eq!(report["outcomes"][0]["id"], "node-target-up");
    assert_eq!(report["outcomes"][0]["status"], "fail");
    assert_eq!(report["outcomes"][1]["status"], "blocked");
    // A broken config: the first failure quotes Prometheus' own reload error; nothing passes.
    let ws = env.home.path().join("labs/25.1/prometheus/prometheus.yml");
    std::fs::write(&ws, "global:\n  scrape_interval: 5s\nscrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: [\"node-exporter:9100\"]\n    scrape_interva: 5s\n").unwrap();
    let check = env.run(&["check", "25.1", "--json"]);
    assert_eq!(check.status.code(), Some(1), "{}", text(&check));
    let report: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    let first = &report["outcomes"][0];
    assert_eq!(first["id"], "prometheus-config-loads", "{report}");
    assert!(
        first["observed"].as_str().unwrap().contains("scrape_interva"),
        "{first}"
    );
    assert!(
        report["outcomes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["status"] != "pass"),
        "{report}"
    );
    for lab in ["25.1", "25.2"] {
        let down = env.run(&["down", lab]);
        assert!(down.status.success(), "{}", text(&down));
        let project = format!("promlab-{}", lab.replace('.', "-"));
        assert_eq!(
            leftovers(&project),
            Vec::<String>::new(),
            "down left objects of {project}"
        );
    }
    let down = env.run(&["down", "25.1"]);
    assert!(down.status.success(), "down is idempotent: {}", text(&down));
}

#[test]
fn failed_up_rolls_back_everything() {
    let env = setup();
    let out = env.run(&["up", "25.3"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("service `prometheus` exited"), "{t}");
    assert!(
        t.contains("no-such-flag"),
        "the container's own error is shown: {t}"
    );
    assert_eq!(leftovers("promlab-25-3"), Vec::<String>::new());
}

#[test]
fn check_without_a_running_lab_says_how_to_start_it() {
    let env = setup();
    let out = env.run(&["check", "25.2"]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert!(text(&out).contains("promlab up 25.2"), "{}", text(&out));
}
