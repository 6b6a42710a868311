//! Live tests of promlab in the user's environment: which Docker engine it talks to, a
//! closed output pipe, ports taken by something else, naming the broken file. Fixture lab
//! ids 25.22 and 25.23 belong to this file.

mod support;

use std::process::{Command, Stdio};

use support::{setup, text};

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
    let env = setup();
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
