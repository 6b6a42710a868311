//! Live tests (real binary, real engine) that `up` leaves nothing behind and never jams:
//! SIGINT/SIGTERM at random instants, SIGKILL then `up`/`down`, two `up`s at once, and a
//! running lab asked for on another workspace. Fixture labs 25.18–25.20 are reserved here.

mod support;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use support::{Env, docker_names, leftovers, setup_with, text};

fn spawn_up(env: &Env, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_promlab"))
        .args(args)
        .env("PROMLAB_ROOT", env.root.path())
        .env("PROMLAB_HOME", env.home.path())
        .env("PROMLAB_IMAGES", "compose/images.local.yaml")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[expect(
    clippy::disallowed_methods,
    reason = "these tests are synchronous: there is no async runtime to block"
)]
fn pause(d: Duration) {
    std::thread::sleep(d);
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args(["-s", sig, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    // The process may have ended just before: not an error.
    let _ = ok;
}

/// Waits for the process with a deadline (a hung `up` fails the test instead of hanging it).
fn wait(mut child: Child, deadline: Duration) -> Output {
    let until = Instant::now() + deadline;
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if Instant::now() > until {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("promlab did not end within {deadline:?}: {}", text(&out));
        }
        pause(Duration::from_millis(10));
    }
}

fn networks(project: &str) -> Vec<String> {
    docker_names("network", &format!("io.promlab.project={project}"))
}

fn poll(what: &str, deadline: Duration, mut f: impl FnMut() -> bool) {
    let until = Instant::now() + deadline;
    while !f() {
        assert!(
            Instant::now() < until,
            "{what} did not happen within {deadline:?}"
        );
        pause(Duration::from_millis(5));
    }
}

/// SIGINT and SIGTERM mixed, at random instants of `up 25.18 --fresh` (from before the
/// handler is installed to after the stack is ready): after each, nothing of the project
/// is left, and the message says what was removed. PROMLAB_INTERRUPT_SEED replays a run;
/// PROMLAB_INTERRUPT_RUNS changes how many interrupted runs it needs (default 12).
#[test]
#[ignore = "live: needs Docker and the built images (make test)"]
fn random_interrupts_of_up_leave_nothing() {
    let env = setup_with(&[("25.18", "Technical Debt Management", "base", "", &[])]);
    let project = "promlab-25-18";
    let seed: u64 = std::env::var("PROMLAB_INTERRUPT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    let runs: usize = std::env::var("PROMLAB_INTERRUPT_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12);
    eprintln!("interrupt test: seed {seed} (PROMLAB_INTERRUPT_SEED={seed} replays it), {runs} runs");
    let mut rng = StdRng::seed_from_u64(seed);
    // Uninterrupted runs give the window to aim at (the first also makes the workspace).
    let mut full = Duration::ZERO;
    for _ in 0..2 {
        let t = Instant::now();
        let out = wait(
            spawn_up(&env, &["up", "25.18", "--fresh"]),
            Duration::from_secs(90),
        );
        full = t.elapsed();
        assert!(out.status.success(), "{}", text(&out));
    }
    let (mut interrupted, mut attempts) = (0, 0);
    while interrupted < runs {
        attempts += 1;
        assert!(
            attempts <= runs * 3,
            "seed {seed}: only {interrupted} of {attempts} runs were interrupted"
        );
        let run = attempts;
        // The last third of a run prints URLs; aim at the steps before, where objects appear.
        let delay = Duration::from_millis(rng.random_range(0..=full.as_millis() as u64 * 2 / 3));
        let sig = if rng.random_bool(0.5) { "INT" } else { "TERM" };
        let mut before = leftovers(project);
        let child = spawn_up(&env, &["up", "25.18", "--fresh"]);
        pause(delay);
        signal(&child, sig);
        // Now and then a second signal while promlab removes what it created: removal
        // must still complete.
        let twice = rng.random_bool(0.3);
        if twice {
            pause(Duration::from_millis(rng.random_range(5..=100)));
            signal(&child, sig);
        }
        let out = wait(child, Duration::from_secs(60));
        let left = leftovers(project);
        let what = format!(
            "seed {seed}, run {run}: SIG{sig}{} after {delay:?} (exit {:?})",
            if twice { " twice" } else { "" },
            out.status.code()
        );
        let said = String::from_utf8_lossy(&out.stderr)
            .lines()
            .last()
            .unwrap_or_default()
            .to_string();
        eprintln!("{what}; leftovers {left:?}; {said}");
        if out.status.success() {
            // The stack was up before the signal came: not an interruption. It stays, so
            // that the next run's `--fresh` has a copy to remove (and a signal may hit that).
            continue;
        }
        interrupted += 1;
        let Some(code) = out.status.code() else {
            // Killed by the signal before promlab took it over: it had done nothing yet.
            let mut left = left;
            left.sort();
            before.sort();
            assert_eq!(left, before, "{what}: changed Docker before taking over signals");
            let down = env.run(&["down", "25.18"]);
            assert!(down.status.success(), "{what}: {}", text(&down));
            continue;
        };
        assert!(left.is_empty(), "{what}: left {left:?}; output: {}", text(&out));
        assert_eq!(code, 130, "{what}: {}", text(&out));
        let t = text(&out);
        assert!(
            t.contains(&format!("interrupted by SIG{sig}")) && t.contains("(checked)"),
            "{what}: the message does not say what was done: {t}"
        );
    }
    eprintln!("interrupt test: seed {seed}: {attempts} runs, {interrupted} interrupted, 0 leftovers");
    let down = env.run(&["down", "25.18"]);
    assert!(down.status.success(), "{}", text(&down));
    assert!(leftovers(project).is_empty());
}

/// SIGKILL leaves objects; the next `up` removes them first (one network, says so), and
/// `down` removes what a SIGKILLed `up` left, by label.
#[test]
#[ignore = "live: needs Docker and the built images (make test)"]
fn after_sigkill_up_and_down_clean_up_first() {
    let env = setup_with(&[("25.19", "Monitoring Governance Framework", "base", "", &[])]);
    let project = "promlab-25-19";
    let kill_once_created = || {
        let child = spawn_up(&env, &["up", "25.19", "--fresh"]);
        poll("the first container", Duration::from_secs(60), || {
            !docker_names("container", &format!("io.promlab.project={project}")).is_empty()
        });
        signal(&child, "KILL");
        let _ = wait(child, Duration::from_secs(10));
        assert!(
            !leftovers(project).is_empty(),
            "SIGKILL left nothing to clean: the test proves nothing"
        );
    };
    kill_once_created();
    let up = env.run(&["up", "25.19"]);
    assert!(up.status.success(), "{}", text(&up));
    assert!(
        text(&up).contains("removed what an interrupted `promlab up 25.19` had left")
            || text(&up).contains("partly stopped"),
        "up did not say it cleaned up: {}",
        text(&up)
    );
    assert_eq!(networks(project).len(), 1, "{:?}", networks(project));
    kill_once_created();
    let down = env.run(&["down", "25.19"]);
    assert!(down.status.success(), "{}", text(&down));
    assert!(
        leftovers(project).is_empty(),
        "down left {:?}",
        leftovers(project)
    );
}

/// Two `up`s of one lab at once: one starts it, the other says it is already starting (or
/// up), one network. Then `up --workspace OTHER` on the running lab names both workspaces
/// and `--fresh`, exit 2.
#[test]
#[ignore = "live: needs Docker and the built images (make test)"]
fn concurrent_ups_start_one_stack_and_another_workspace_is_refused() {
    let env = setup_with(&[("25.20", "Innovation Lab and R&D Strategy", "base", "", &[])]);
    let project = "promlab-25-20";
    let a = spawn_up(&env, &["up", "25.20"]);
    let b = spawn_up(&env, &["up", "25.20"]);
    let (a, b) = (wait(a, Duration::from_secs(90)), wait(b, Duration::from_secs(90)));
    let started: Vec<&Output> = [&a, &b]
        .into_iter()
        .filter(|o| text(o).contains("is up in"))
        .collect();
    assert_eq!(started.len(), 1, "a: {}\nb: {}", text(&a), text(&b));
    let other = if text(&a).contains("is up in") { &b } else { &a };
    let t = text(other);
    match other.status.code() {
        Some(5) => assert!(t.contains("lab 25.20 is already starting"), "{t}"),
        Some(0) => assert!(t.contains("lab 25.20 is already up"), "{t}"),
        c => panic!("the second up ended with {c:?}: {t}"),
    }
    assert!(started[0].status.success());
    assert_eq!(networks(project).len(), 1, "{:?}", networks(project));

    let elsewhere = tempfile::tempdir().unwrap();
    let ws = env.home.path().join("labs/25.20");
    let o = env.run(&[
        "up",
        "25.20",
        "--workspace",
        &elsewhere.path().display().to_string(),
    ]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(
        t.contains(&format!("already runs on workspace {}", ws.display()))
            && t.contains(&elsewhere.path().display().to_string())
            && t.contains("--fresh"),
        "{t}"
    );
    assert!(
        !Path::new(&elsewhere.path().join("prometheus")).exists(),
        "the other workspace was prepared"
    );
    let same = env.run(&["up", "25.20", "--workspace", &ws.display().to_string()]);
    assert!(
        same.status.success() && text(&same).contains("reusing it"),
        "{}",
        text(&same)
    );

    let down = env.run(&["down", "25.20"]);
    assert!(down.status.success(), "{}", text(&down));
    assert!(
        leftovers(project).is_empty(),
        "down left {:?}",
        leftovers(project)
    );
}
