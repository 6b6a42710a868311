//! Live tests against the real Docker engine with locally built images: `up`, `status`,
//! `check`, `down`, rollback of a failed `up`, two labs side by side. They fail with one
//! clear sentence when Docker or the images are missing (run `make images`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Env {
    root: tempfile::TempDir,
    home: tempfile::TempDir,
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), dst).unwrap();
        }
    }
}

/// A data root with the repo's roadmap, stacks and images, and fixture labs made from lab
/// 1.1: 25.1 and 25.2 (copies) and 25.3 (a Prometheus that cannot start).
fn setup() -> Env {
    let out = Command::new("docker")
        .args(["image", "inspect", "promlab-local/prometheus:debian"])
        .output();
    match out {
        Ok(o) if o.status.success() => {}
        Ok(_) => panic!("image promlab-local/prometheus:debian is missing: run `make images` first"),
        Err(e) => panic!("cannot run docker ({e}): the live tests need a Docker engine"),
    }
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    std::fs::create_dir_all(r.join("labs")).unwrap();
    std::fs::copy(repo().join("labs/roadmap.yaml"), r.join("labs/roadmap.yaml")).unwrap();
    copy_dir(&repo().join("compose"), &r.join("compose"));
    // Fixture labs live in section 25 so they never collide with a lab someone runs by hand.
    let l11 = repo().join("labs/01-fundamentals/1.1-what-is-prometheus");
    for (id, title, extra) in [
        ("25.1", "Prometheus Strategy Development", ""),
        ("25.2", "Monitoring Strategy Decisions", ""),
        (
            "25.3",
            "Technology Stack Planning",
            "services:\n  prometheus:\n    image: prometheus\n    command: [--no-such-flag]\n    ports: [\"127.0.0.1:9090:9090\"]\n    x-promlab: {port: 9090, ready: /-/ready, role: prometheus}\n",
        ),
    ] {
        let dir = r.join(format!("labs/25-cto/{id}-fixture"));
        copy_dir(&l11, &dir);
        let text = std::fs::read_to_string(dir.join("lab.yaml"))
            .unwrap()
            .replace("id: \"1.1\"", &format!("id: \"{id}\""))
            .replace("title: What is Prometheus", &format!("title: {title}"))
            .replace("stack: base\n", &format!("stack: base\n{extra}"));
        std::fs::write(dir.join("lab.yaml"), text).unwrap();
    }
    Env {
        root,
        home: tempfile::tempdir().unwrap(),
    }
}

impl Env {
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_promlab"))
            .args(args)
            .env("PROMLAB_ROOT", self.root.path())
            .env("PROMLAB_HOME", self.home.path())
            .env("PROMLAB_IMAGES", "compose/images.local.yaml")
            .output()
            .unwrap()
    }
}

/// A plain HTTP/1.0 GET; returns the raw response.
fn http_get(base: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Names of Docker objects of a kind carrying a label.
fn docker_names(kind: &str, label: &str) -> Vec<String> {
    let args: Vec<&str> = match kind {
        "container" => vec!["ps", "-a", "--format", "{{.Names}}"],
        "network" => vec!["network", "ls", "--format", "{{.Name}}"],
        _ => vec!["volume", "ls", "--format", "{{.Name}}"],
    };
    let filter = format!("label={label}");
    let mut cmd = Command::new("docker");
    cmd.args(&args[..args.len() - 2])
        .args(["--filter", &filter])
        .args(&args[args.len() - 2..]);
    let out = cmd.output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .filter(|l| !l.is_empty())
        .collect()
}

fn leftovers(project: &str) -> Vec<String> {
    let label = format!("io.promlab.project={project}");
    ["container", "network", "volume"]
        .iter()
        .flat_map(|k| docker_names(k, &label))
        .collect()
}

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
