//! The learner's loop through the real binary: bare `promlab` says where the learner is and
//! the one command to run next, from any folder (fresh user, Docker unreachable, a lab
//! brought up, checked, passed and taken down); `hint`, `list` and `next` along the roadmap;
//! `query`, `targets` and `alerts` against a live Prometheus. Live parts use fixture labs
//! 25.24 and 25.25, 25.9 and 25.10.

mod support;

use std::process::{Command, Output};

use support::{leftovers, setup_with, text};

/// Runs the binary from a folder outside the checkout, with its own PROMLAB_HOME and no
/// PROMLAB_ROOT: it must find its labs through the checkout it was built from.
fn bare_from_elsewhere(envs: &[(&str, &str)]) -> Output {
    let cwd = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_promlab"))
        .current_dir(cwd.path())
        .env_remove("PROMLAB_ROOT")
        .env("PROMLAB_HOME", home.path())
        .envs(envs.iter().copied())
        .output()
        .unwrap()
}

#[test]
#[ignore = "live: needs Docker and the built images (make test)"]
fn a_fresh_user_anywhere_is_told_to_start_lab_1_1() {
    let out = bare_from_elsewhere(&[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("you have not started a lab yet"), "{t}");
    assert!(t.contains("progress: 0 of "), "{t}");
    assert!(t.trim_end().ends_with("next: promlab up 1.1"), "{t}");
}

#[test]
fn docker_unreachable_is_said_and_the_rest_still_shown() {
    let out = bare_from_elsewhere(&[("DOCKER_HOST", "tcp://127.0.0.1:1")]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains("Docker: unreachable (") && t.contains("127.0.0.1:1"),
        "{t}"
    );
    assert!(t.contains("progress: 0 of "), "{t}");
    assert!(t.trim_end().ends_with("next: promlab doctor"), "{t}");
}

#[test]
#[ignore = "live: needs Docker and the built images (make test)"]
fn bare_promlab_follows_a_lab_from_up_to_passed() {
    let env = setup_with(&[
        ("25.24", "Future Technology Roadmap", "base", "", &[]),
        ("25.25", "Strategic Partnerships", "base", "", &[]),
    ]);
    /// Takes the lab down however the test ends.
    struct Down<'a>(&'a support::Env);
    impl Drop for Down<'_> {
        fn drop(&mut self) {
            let _ = self.0.run(&["down", "25.24"]);
        }
    }
    let _down = Down(&env);
    let bare = |want: &[&str], next: &str| {
        let out = env.run(&[]);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(0), "{t}");
        for w in want {
            assert!(t.contains(w), "`{w}` missing in: {t}");
        }
        assert!(
            t.trim_end().ends_with(&format!("next: {next}")),
            "want next: {next} in: {t}"
        );
    };
    // The fixture root's first lab is 25.1.
    bare(&["you have not started a lab yet"], "promlab up 25.1");
    let out = env.run(&["up", "25.24"]);
    assert!(out.status.success(), "{}", text(&out));
    let ws = env.home.path().join("labs/25.24");
    bare(
        &[
            "current lab: 25.24 — Future Technology Roadmap",
            &format!("running, workspace {}", ws.display()),
            "last check: not checked yet",
        ],
        "promlab check",
    );
    // The starter fails: the score is recorded and the lab stays the one to check.
    let out = env.run(&["check", "25.24"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    bare(&["checks passed", "running"], "promlab check");
    let progress: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.home.path().join("progress.json")).unwrap()).unwrap();
    let score = &progress["labs"]["25.24"]["last_score"];
    assert!(score[0].as_u64() < score[1].as_u64(), "{progress}");
    // Passed (the solution, then the learner's own check): on to the next lab.
    let out = env.run(&["solve", "25.24"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = env.run(&["check", "25.24"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    bare(
        &["(lab passed)", "progress: 1 of 5 labs passed"],
        "promlab up 25.25",
    );
    let out = env.run(&["down", "25.24"]);
    assert!(out.status.success(), "{}", text(&out));
    bare(&["not running", "(lab passed)"], "promlab up 25.25");
    assert_eq!(leftovers("promlab-25-24"), Vec::<String>::new());
}

/// A Prometheus config for fixture 25.9: both base-stack targets and a rule file with one
/// alert that always fires and one that never does.
const PROM_WITH_RULES: &str = "global:\n  scrape_interval: 2s\n  evaluation_interval: 2s\nrule_files: [rules.yml]\nscrape_configs:\n  - job_name: prometheus\n    static_configs: [{targets: [\"localhost:9090\"]}]\n  - job_name: node\n    static_configs: [{targets: [\"node-exporter:9100\"]}]\n";
const RULES: &str = "groups:\n  - name: fixture\n    rules:\n      - alert: FixtureAlwaysFiring\n        expr: vector(1)\n      - alert: FixtureQuiet\n        expr: vector(1) > 2\n        for: 5m\n";

#[expect(
    clippy::disallowed_methods,
    reason = "these tests are synchronous: there is no async runtime to block"
)]
fn pause(d: std::time::Duration) {
    std::thread::sleep(d);
}

/// Polls `check` on the binary's output until it holds or the deadline passes; returns the
/// last output.
fn poll(env: &support::Env, args: &[&str], secs: u64, check: impl Fn(&Output) -> bool) -> Output {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let out = env.run(args);
        if check(&out) || std::time::Instant::now() > deadline {
            return out;
        }
        pause(std::time::Duration::from_millis(500));
    }
}

#[test]
fn hint_repeats_the_current_hint_until_asked_for_the_next() {
    let env = support::data_root();
    let hint = |args: &[&str]| {
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let first = hint(&["hint", "25.1"]);
    assert!(
        first.starts_with("hint 1/3 for lab 25.1: Add a second entry"),
        "{first}"
    );
    assert!(
        first.contains("`promlab hint --next` shows hint 2 of 3"),
        "{first}"
    );
    assert_eq!(
        hint(&["hint", "25.1"]),
        first,
        "a second `hint` shows the same hint"
    );
    let second = hint(&["hint", "25.1", "--next"]);
    assert!(
        second.starts_with("hint 2/3 for lab 25.1: Inside the lab network"),
        "{second}"
    );
    assert!(
        hint(&["hint", "25.1"]).starts_with("hint 2/3"),
        "the current hint is now the second"
    );
    let all = hint(&["hint", "25.1", "--all"]);
    for n in 1..=3 {
        assert!(all.contains(&format!("hint {n}/3 for lab 25.1: ")), "{all}");
    }
    assert!(
        all.contains("that is the last hint; `promlab solve 25.1`"),
        "{all}"
    );
    // Not a terminal: no color sequences.
    assert!(!all.contains('\x1b'), "{all:?}");
    // Long hints are wrapped between words: no line is wider than the default 100 columns.
    for line in all.lines() {
        assert!(line.chars().count() <= 100, "{line:?}");
    }
}

#[test]
fn list_marks_the_next_lab_and_its_json_has_a_format_version() {
    let env = support::data_root();
    let out = env.run(&["list", "--section", "25", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["format_version"], 1, "{v}");
    let topics = v["topics"].as_array().unwrap();
    let state = |id: &str| {
        topics
            .iter()
            .find(|t| t["id"] == id)
            .map(|t| t["progress"].as_str().unwrap().to_string())
    };
    // A new learner: the roadmap's first lab here is next.
    assert_eq!(state("25.1").as_deref(), Some("next"), "{v}");
    assert_eq!(state("25.2").as_deref(), Some("pending"), "{v}");
    let out = env.run(&["list", "--section", "25"]);
    let t = text(&out);
    let line = t.lines().find(|l| l.contains("25.1 ")).unwrap();
    assert!(
        line.trim_start().starts_with("→ 25.1") && line.ends_with("← next (`promlab next`)"),
        "{t}"
    );
}

#[test]
#[ignore = "live: needs Docker and the built images (make test)"]
fn query_targets_and_alerts_read_the_live_prometheus_then_next_moves_on() {
    let env = support::setup_with(&[
        (
            "25.9",
            "Digital Transformation Strategy",
            "base",
            "",
            &[
                ("starter/prometheus/prometheus.yml", PROM_WITH_RULES),
                ("starter/prometheus/rules.yml", RULES),
            ],
        ),
        ("25.10", "Mergers and Acquisitions Integration", "base", "", &[]),
    ]);
    /// Takes both labs down however the test ends.
    struct Down<'a>(&'a support::Env);
    impl Drop for Down<'_> {
        fn drop(&mut self) {
            let _ = self.0.run(&["down", "25.9"]);
            let _ = self.0.run(&["down", "25.10"]);
        }
    }
    let _down = Down(&env);
    let up = env.run(&["up", "25.9"]);
    assert!(up.status.success(), "{}", text(&up));
    let prom = support::url_of(&text(&up), "prometheus");

    // Targets: both scrape jobs, polled until their first scrapes are in.
    let out = poll(&env, &["targets", "--lab", "25.9"], 60, |o| {
        text(o).contains("2 of 2 targets up")
    });
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains("http://localhost:9090/metrics") && t.contains("http://node-exporter:9100/metrics"),
        "{t}"
    );
    assert!(t.contains("2 of 2 targets up"), "{t}");

    // An instant query: its JSON is Prometheus' answer from the lab's real URL, and the
    // table shows the same series.
    let out = env.run(&["query", "up", "--lab", "25.9", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["format_version"], 1);
    assert_eq!(v["prometheus"], prom.as_str());
    assert_eq!(v["result_type"], "vector");
    let api = support::http_get(&prom, "/api/v1/query?query=count(up)");
    let count = api.rsplit("\"").nth(1).unwrap().to_string();
    let series = v["result"].as_array().unwrap();
    assert_eq!(series.len().to_string(), count, "{api}");
    let out = env.run(&["query", "up", "--lab", "25.9"]);
    let t = text(&out);
    assert!(t.starts_with("series"), "{t}");
    for s in series {
        let job = s["metric"]["job"].as_str().unwrap();
        let line = t
            .lines()
            .find(|l| l.contains(&format!("job=\"{job}\"")))
            .unwrap_or_else(|| panic!("{job} in {t}"));
        assert!(
            line.ends_with(&format!("  {}", s["value"][1].as_str().unwrap())),
            "{line}"
        );
    }

    // A range query: one braille chart per series, over the last minute.
    let out = env.run(&["query", "up", "--lab", "25.9", "--range", "1m"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains("up{instance=\"localhost:9090\", job=\"prometheus\"}\n  last 1"),
        "{t}"
    );
    assert!(
        t.contains("up{instance=\"node-exporter:9100\", job=\"node\"}\n  last 1"),
        "{t}"
    );
    assert!(t.chars().any(|c| ('\u{2801}'..='\u{28ff}').contains(&c)), "{t}");
    assert!(
        t.lines()
            .any(|l| l.starts_with("-1m") && l.trim_end().ends_with("now")),
        "{t}"
    );

    // A bad query: Prometheus' own parse error, with the column under the query.
    let out = env.run(&["query", "sum(rate(up[1m])", "--lab", "25.9"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(
        t.contains("Prometheus rejected the query: ") && t.contains("parse error"),
        "{t}"
    );
    assert!(
        t.contains("\n  sum(rate(up[1m])\n  ") && t.contains("^ line 1, column"),
        "{t}"
    );

    // Alerts: the rule that always fires is firing, the other one inactive.
    let out = poll(&env, &["alerts", "--lab", "25.9"], 30, |o| {
        text(o).contains("firing")
    });
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    let row = |name: &str| {
        t.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} in {t}"))
            .to_string()
    };
    assert!(row("FixtureAlwaysFiring ").contains(" firing "), "{t}");
    assert!(row("FixtureQuiet ").contains(" inactive "), "{t}");
    assert!(t.contains("2 alerting rules"), "{t}");
    assert!(
        t.contains("FixtureAlwaysFiring firing: {alertname=\"FixtureAlwaysFiring\"}"),
        "{t}"
    );

    // `next --down` (not a terminal, so no question): 25.9 is stopped, 25.10 started.
    let out = env.run(&["next", "--down"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains("stopped lab 25.9") && t.contains("next lab: 25.10"),
        "{t}"
    );
    assert_eq!(leftovers("promlab-25-9"), Vec::<String>::new());
    let out = env.run(&["list", "--section", "25", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let current = v["topics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["progress"] == "current")
        .unwrap();
    assert_eq!(current["id"], "25.10", "{v}");
    let out = env.run(&["down", "25.10"]);
    assert!(out.status.success(), "{}", text(&out));
}
