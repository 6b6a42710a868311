//! Shared helpers of the live tests: a data root with fixture labs, running the real binary,
//! asking Docker what is left.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Env {
    pub root: tempfile::TempDir,
    pub home: tempfile::TempDir,
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn copy_dir(from: &Path, to: &Path) {
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
pub fn setup() -> Env {
    setup_with(&[])
}

/// An extra fixture lab: (id, title, stack, lab.yaml additions, files written into the lab).
pub type Fixture<'a> = (&'a str, &'a str, &'a str, &'a str, &'a [(&'a str, &'a str)]);

/// Like `setup`, plus extra fixture labs. Needs Docker and the built images: a test calling
/// it is a live test, marked `#[ignore = "live: …"]` (`make test` runs it with
/// `--include-ignored`).
pub fn setup_with(extra_labs: &[Fixture<'_>]) -> Env {
    let out = Command::new("docker")
        .args(["image", "inspect", "promlab-local/prometheus:debian"])
        .output();
    let gate = " (a test that needs Docker must be marked #[ignore = \"live: …\"]; make test runs those)";
    match out {
        Ok(o) if o.status.success() => {}
        Ok(_) => panic!("image promlab-local/prometheus:debian is missing: run `make images` first{gate}"),
        Err(e) => panic!("cannot run docker ({e}): the live tests need a Docker engine{gate}"),
    }
    data_root_with(extra_labs)
}

/// The data root and home of `setup`, without asking Docker: for tests of commands that
/// never reach the engine (`show`, `list`, `completions`), which run in a plain `cargo test`.
pub fn data_root() -> Env {
    data_root_with(&[])
}

fn data_root_with(extra_labs: &[Fixture<'_>]) -> Env {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    std::fs::create_dir_all(r.join("labs")).unwrap();
    std::fs::copy(repo().join("labs/roadmap.yaml"), r.join("labs/roadmap.yaml")).unwrap();
    copy_dir(&repo().join("compose"), &r.join("compose"));
    // Fixture labs live in section 25 so they never collide with a lab someone runs by hand.
    let l11 = repo().join("labs/01-fundamentals/1.1-what-is-prometheus");
    const BROKEN: &str = "services:\n  prometheus:\n    image: prometheus\n    command: [--no-such-flag]\n    ports: [\"127.0.0.1:9090:9090\"]\n    x-promlab: {port: 9090, ready: /-/ready, role: prometheus}\n";
    let standard: [Fixture<'_>; 3] = [
        ("25.1", "Prometheus Strategy Development", "base", "", &[]),
        ("25.2", "Monitoring Strategy Decisions", "base", "", &[]),
        ("25.3", "Technology Stack Planning", "base", BROKEN, &[]),
    ];
    for (id, title, stack, additions, files) in standard.iter().chain(extra_labs) {
        let dir = r.join(format!("labs/25-cto/{id}-fixture"));
        copy_dir(&l11, &dir);
        // A fixture proves only the variants its test gives it (1.1's own are proven by
        // validate --all on 1.1).
        let _ = std::fs::remove_dir_all(dir.join("variants"));
        let text = std::fs::read_to_string(dir.join("lab.yaml"))
            .unwrap()
            .replace("id: \"1.1\"", &format!("id: \"{id}\""))
            .replace("title: What is Prometheus", &format!("title: {title}"))
            .replace("stack: base\n", &format!("stack: {stack}\n{additions}"));
        std::fs::write(dir.join("lab.yaml"), text).unwrap();
        // 1.1's README promises 1.1's number of checks; a fixture has its own.
        std::fs::write(
            dir.join("README.md"),
            format!("# Lab {id} — {title}\n\nA fixture lab of promlab's tests.\n"),
        )
        .unwrap();
        for (path, content) in *files {
            let p = dir.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, content).unwrap();
        }
    }
    Env {
        root,
        home: tempfile::tempdir().unwrap(),
    }
}

/// The URL a `promlab up` output line gives for a service.
pub fn url_of(up_output: &str, service: &str) -> String {
    up_output
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{service} ")))
        .and_then(|l| l.split_whitespace().find(|w| w.starts_with("http://127.0.0.1:")))
        .unwrap_or_else(|| panic!("no {service} URL in: {up_output}"))
        .to_string()
}

impl Env {
    pub fn run(&self, args: &[&str]) -> Output {
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
pub fn http_get(base: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Names of Docker objects of a kind carrying a label.
pub fn docker_names(kind: &str, label: &str) -> Vec<String> {
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

pub fn leftovers(project: &str) -> Vec<String> {
    let label = format!("io.promlab.project={project}");
    ["container", "network", "volume"]
        .iter()
        .flat_map(|k| docker_names(k, &label))
        .collect()
}
