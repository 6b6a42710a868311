//! The learner's loop through the real binary: bare `promlab` says where the learner is and
//! the one command to run next, from any folder (fresh user, Docker unreachable, a lab
//! brought up, checked, passed and taken down). Live parts use fixture labs 25.24 and 25.25.

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
