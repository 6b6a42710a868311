//! Live tests of promlab in the user's environment: which Docker engine it talks to, a
//! closed output pipe, ports taken by something else, naming the broken file. Fixture lab
//! ids 25.22 and 25.23 belong to this file.

mod support;

use std::process::{Command, Stdio};

use support::{Fixture, setup, setup_with, text};

/// Takes a lab down when dropped, so a failing assertion leaves nothing behind.
struct Down<'a> {
    env: &'a support::Env,
    lab: &'a str,
}

impl Drop for Down<'_> {
    fn drop(&mut self) {
        let out = self.env.run(&["down", self.lab]);
        if !out.status.success() {
            eprintln!("down {} failed: {}", self.lab, text(&out));
        }
    }
}

/// `promlab up ID`, asserted to succeed, with its guard and output.
fn up<'a>(env: &'a support::Env, lab: &'a str) -> (Down<'a>, String) {
    let out = env.run(&["up", lab]);
    let guard = Down { env, lab };
    assert!(out.status.success(), "up {lab} failed: {}", text(&out));
    (guard, text(&out))
}

/// Runs promlab with extra environment variables.
fn run_with_env(env: &support::Env, vars: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_promlab"));
    cmd.args(args)
        .env("PROMLAB_ROOT", env.root.path())
        .env("PROMLAB_HOME", env.home.path())
        .env("PROMLAB_IMAGES", "compose/images.local.yaml")
        .env_remove("DOCKER_CONTEXT");
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
#[ignore = "live: needs Docker and the built images (make test)"]
fn docker_host_is_honoured() {
    let env = setup();
    let out = run_with_env(&env, &[("DOCKER_HOST", "tcp://127.0.0.1:1")], &["status"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(4), "{said}");
    assert!(
        said.contains("tcp://127.0.0.1:1"),
        "names the endpoint tried: {said}"
    );
    assert_eq!(said.trim().lines().count(), 1, "one sentence: {said}");
    let out = run_with_env(
        &env,
        &[("DOCKER_HOST", "unix:///var/run/docker.sock")],
        &["status"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn a_closed_pipe_ends_promlab_quietly() {
    let env = support::data_root();
    for args in [
        &["show", "25.1"][..],
        &["completions", "bash"],
        &["list", "--json"],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_promlab"))
            .args(args)
            .env("PROMLAB_ROOT", env.root.path())
            .env("PROMLAB_HOME", env.home.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before promlab writes anything: its first write hits a closed pipe.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(err.trim(), "", "{args:?} says nothing: {err}");
        assert_eq!(out.status.code(), Some(141), "{args:?}: {err}");
    }
}

/// `build-local.sh --print-mirror` with the apt sources read from `dir`.
fn print_mirror(dir: &std::path::Path, override_: Option<&str>) -> std::process::Output {
    let mut cmd = Command::new("bash");
    cmd.arg(support::repo().join("compose/images/build-local.sh"))
        .arg("--print-mirror")
        .env("PROMLAB_APT_SOURCES_DIR", dir)
        .env("PROMLAB_IMAGE_CACHE", dir.join("cache"))
        .env_remove("PROMLAB_DEBIAN_MIRROR");
    if let Some(m) = override_ {
        cmd.env("PROMLAB_DEBIAN_MIRROR", m);
    }
    cmd.output().unwrap()
}

#[test]
fn build_local_reads_the_mirror_from_the_hosts_apt_sources() {
    let script = std::fs::read_to_string(support::repo().join("compose/images/build-local.sh")).unwrap();
    assert!(
        !script.contains("deb.debian.org"),
        "the script names no mirror host"
    );
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // No sources and no override: one sentence that says what to set.
    let out = print_mirror(d, None);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("set PROMLAB_DEBIAN_MIRROR") && err.trim().lines().count() == 1,
        "{err}"
    );
    // One-line format: deb-src, comments and other vendors' repositories are skipped.
    std::fs::create_dir_all(d.join("sources.list.d")).unwrap();
    std::fs::write(
        d.join("sources.list.d/a.list"),
        "deb-src http://src.example/debian sid main\n# deb http://commented.example/debian sid main\n\
         deb [arch=amd64 signed-by=/k.gpg] https://deb.nodesource.com/node_20.x nodistro main\n\
         deb [trusted=yes] http://one.example/debian/ bookworm main\n",
    )
    .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&print_mirror(d, None).stdout).trim(),
        "http://one.example/debian"
    );
    // deb822: security archives, deb-src-only and disabled stanzas are skipped.
    std::fs::remove_file(d.join("sources.list.d/a.list")).unwrap();
    std::fs::write(
        d.join("sources.list.d/debian.sources"),
        "Types: deb\nURIs: http://sec.example/debian-security\nSuites: x\n\n\
         Types: deb-src\nURIs: http://src.example/debian\n\n\
         Enabled: no\nTypes: deb\nURIs: http://off.example/debian\n\n\
         Types: deb deb-src\n# a comment\nURIs: http://snap.example/archive/debian/20250520T000000Z http://two.example/debian\nSuites: sid\n",
    )
    .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&print_mirror(d, None).stdout).trim(),
        "http://snap.example/archive/debian/20250520T000000Z"
    );
    // The override wins.
    let out = print_mirror(d, Some("http://override.example/debian"));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "http://override.example/debian"
    );
}

const RULES_PROMETHEUS_YML: &str = "global:\n  scrape_interval: 5s\n  evaluation_interval: 5s\nrule_files: [\"/etc/prometheus/rules/*.yml\"]\nscrape_configs:\n  - job_name: prometheus\n    static_configs:\n      - targets: [\"localhost:9090\"]\n";
const GOOD_RULES: &str =
    "groups:\n  - name: demo\n    rules:\n      - record: job:up:sum\n        expr: sum by (job) (up)\n";

#[test]
#[ignore = "live: needs Docker and the built images (make test)"]
fn a_broken_rule_file_is_named_with_its_line() {
    let files: &[(&str, &str)] = &[
        ("starter/prometheus/prometheus.yml", RULES_PROMETHEUS_YML),
        ("starter/prometheus/rules/demo.yml", GOOD_RULES),
    ];
    let fixture: Fixture<'_> = ("25.22", "Performance and Scalability Strategy", "base", "", files);
    let env = setup_with(&[fixture]);
    let (_down, _) = up(&env, "25.22");
    let rules = env.home.path().join("labs/25.22/prometheus/rules/demo.yml");
    let broken = [
        // Bad indentation: a YAML syntax error.
        (
            "groups:\n  - name: demo\n    rules:\n      - record: job:up:sum\n       expr: sum by (job) (up)\n",
            "prometheus/rules/demo.yml:3:",
        ),
        // A misspelt field.
        (
            "groups:\n  - name: demo\n    rules:\n      - record: job:up:sum\n        exp: sum by (job) (up)\n",
            "prometheus/rules/demo.yml:5: field exp not found",
        ),
    ];
    for (text_of_file, named) in broken {
        std::fs::write(&rules, text_of_file).unwrap();
        let out = env.run(&["check", "25.22"]);
        let report = text(&out);
        assert_eq!(out.status.code(), Some(1), "{report}");
        let observed = report
            .lines()
            .find(|l| l.trim_start().starts_with("observed:"))
            .unwrap_or_else(|| panic!("no observed line: {report}"));
        assert!(observed.contains(named), "the report names {named}: {report}");
    }
}

#[test]
#[ignore = "live: needs Docker and the built images (make test)"]
fn a_moved_port_is_said_and_the_lab_text_shows_the_real_url() {
    // Something else holds 9090 before the lab starts (another lab may hold it already:
    // then the port is taken all the same).
    let _holder = std::net::TcpListener::bind(("127.0.0.1", 9090));
    assert!(
        std::net::TcpListener::bind(("127.0.0.1", 9090)).is_err(),
        "127.0.0.1:9090 is held for the test"
    );
    let readme: &str = "# Lab 25.23\n\nOpen http://127.0.0.1:9090/targets and http://localhost:9090/graph; node_exporter is http://127.0.0.1:9100/metrics.\n";
    let files: &[(&str, &str)] = &[("README.md", readme)];
    let fixture: Fixture<'_> = ("25.23", "Cost Optimization Strategy", "base", "", files);
    let env = setup_with(&[fixture]);
    let (_down, up_out) = up(&env, "25.23");
    let real = support::url_of(&up_out, "prometheus");
    assert_ne!(real, "http://127.0.0.1:9090", "{up_out}");
    let port = real.rsplit(':').next().unwrap();
    assert!(
        up_out.contains(&format!(
            "port 9090 is taken on this machine, so prometheus listens on 127.0.0.1:{port}"
        )),
        "up says the port moved: {up_out}"
    );
    let out = env.run(&["show", "25.23"]);
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert!(
        shown.contains(&format!(
            "Open http://127.0.0.1:{port}/targets and http://localhost:{port}/graph"
        )),
        "{shown}"
    );
    assert!(!shown.contains("127.0.0.1:9090/"), "{shown}");
    let node = support::url_of(&up_out, "node-exporter");
    assert!(
        shown.contains(&format!("node_exporter is {node}/metrics")),
        "{shown}"
    );
}
