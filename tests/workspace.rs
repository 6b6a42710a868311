//! Live tests of workspace safety through the real binary: `up` and `reset` never change,
//! read or remove anything outside the workspace, and refuse a link out of it (exit 6,
//! naming the link) before any container starts. Fixture lab 25.16.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use support::{leftovers, setup_with, text};

const PROJECT: &str = "promlab-25-16";

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777
}

/// A private key (0600) in a private folder (0700), as in `~/.ssh`.
fn private_key(dir: &Path) -> PathBuf {
    let keys = dir.join("ssh");
    std::fs::create_dir(&keys).unwrap();
    std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o700)).unwrap();
    let key = keys.join("id_ed25519");
    std::fs::write(&key, "PRIVATE KEY").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    key
}

#[test]
#[ignore = "live: needs Docker and the built images (make test)"]
fn up_and_reset_refuse_a_link_out_of_the_workspace_and_touch_nothing() {
    let env = setup_with(&[("25.16", "Crisis Management and Recovery", "base", "", &[])]);
    let outside = tempfile::tempdir().unwrap();
    let key = private_key(outside.path());
    let place = tempfile::tempdir().unwrap();

    // `ln -s ~/.ssh/id_ed25519 W/key; promlab up 25.16 --workspace W`
    let w = place.path().join("w");
    std::fs::create_dir(&w).unwrap();
    std::os::unix::fs::symlink(&key, w.join("key")).unwrap();
    let up = env.run(&["up", "25.16", "--workspace", w.to_str().unwrap()]);
    let left = leftovers(PROJECT);
    if !left.is_empty() || up.status.success() {
        let _ = env.run(&["down", "25.16"]);
    }
    let out = text(&up);
    assert_eq!(mode(&key), 0o600, "the key was opened up: {out}");
    assert_eq!(mode(key.parent().unwrap()), 0o700, "{out}");
    assert_eq!(up.status.code(), Some(6), "{out}");
    assert!(
        out.contains("w/key is a link to") && out.contains("id_ed25519"),
        "{out}"
    );
    assert!(out.contains("outside the workspace"), "{out}");
    assert!(left.is_empty(), "containers left behind: {left:?}");

    // The same link deeper, in a workspace promlab marked: still refused, nothing changed.
    let m = place.path().join("marked");
    std::fs::create_dir_all(m.join(".promlab")).unwrap();
    std::fs::write(m.join(".promlab/workspace"), "lab: \"25.16\"\n").unwrap();
    std::fs::create_dir_all(m.join("prometheus")).unwrap();
    std::os::unix::fs::symlink(key.parent().unwrap(), m.join("prometheus/keys")).unwrap();
    let up = env.run(&["up", "25.16", "--workspace", m.to_str().unwrap()]);
    let left = leftovers(PROJECT);
    if !left.is_empty() || up.status.success() {
        let _ = env.run(&["down", "25.16"]);
    }
    let out = text(&up);
    assert_eq!(up.status.code(), Some(6), "{out}");
    assert!(out.contains("prometheus/keys is a link to"), "{out}");
    assert_eq!(mode(&key), 0o600, "{out}");
    assert_eq!(mode(key.parent().unwrap()), 0o700, "{out}");
    assert!(left.is_empty(), "containers left behind: {left:?}");

    // A folder holding other files (a home folder, say) is refused and left as it was.
    let h = place.path().join("home");
    std::fs::create_dir(&h).unwrap();
    std::fs::write(h.join("thesis.tex"), "mine").unwrap();
    std::fs::set_permissions(h.join("thesis.tex"), std::fs::Permissions::from_mode(0o600)).unwrap();
    let up = env.run(&["up", "25.16", "--workspace", h.to_str().unwrap()]);
    if up.status.success() {
        let _ = env.run(&["down", "25.16"]);
    }
    let out = text(&up);
    assert_eq!(up.status.code(), Some(6), "{out}");
    assert!(out.contains("already holds other files"), "{out}");
    assert_eq!(mode(&h.join("thesis.tex")), 0o600);
    assert!(!h.join("prometheus").exists(), "{out}");

    // `reset` of the default workspace with a linked folder out of it: refused, the folder
    // outside keeps every file.
    let d = env.home.path().join("labs/25.16");
    std::fs::create_dir_all(d.join(".promlab")).unwrap();
    std::os::unix::fs::symlink(key.parent().unwrap(), d.join("prometheus")).unwrap();
    let reset = env.run(&["reset", "25.16"]);
    let out = text(&reset);
    assert_eq!(reset.status.code(), Some(6), "{out}");
    assert!(out.contains("25.16/prometheus is a link to"), "{out}");
    assert!(key.exists(), "reset removed a file outside the workspace: {out}");
    assert_eq!(mode(&key), 0o600);
    assert!(!key.parent().unwrap().join("prometheus.yml").exists(), "{out}");
}

/// `solve`, `check` and `reset` on a running lab: a non-UTF-8 answers file is named as such
/// (not "does not exist"); a link out of the workspace is never read into the report, and
/// `reset` refuses it; without it, `reset` restores the starter. Fixture lab 25.17.
#[test]
#[ignore = "live: needs Docker and the built images (make test)"]
fn check_and_reset_never_read_or_follow_a_link_out() {
    let env = setup_with(&[("25.17", "Long-term Monitoring Vision", "base", "", &[])]);
    let run = || {
        let up = env.run(&["up", "25.17"]);
        assert!(up.status.success(), "{}", text(&up));
        let ws = env.home.path().join("labs/25.17");
        assert!(ws.join(".promlab/workspace").is_file(), "no marker");
        let solve = env.run(&["solve", "25.17"]);
        assert_eq!(solve.status.code(), Some(0), "{}", text(&solve));
        let answers = ws.join("answers.yaml");
        std::fs::write(&answers, b"node_series: 12\xff\ningest_rate: 3\n").unwrap();
        let check = env.run(&["check", "25.17"]);
        let out = text(&check);
        assert_eq!(check.status.code(), Some(1), "{out}");
        assert!(
            out.contains("answers.yaml is not UTF-8 text (line 1, byte offset 15)"),
            "{out}"
        );
        assert!(!out.contains("does not exist"), "{out}");
        let outside = tempfile::tempdir().unwrap();
        let secret = outside.path().join("shadow");
        std::fs::write(&secret, "node_series: SECRET\n").unwrap();
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::remove_file(&answers).unwrap();
        std::os::unix::fs::symlink(&secret, &answers).unwrap();
        let check = env.run(&["check", "25.17"]);
        let out = text(&check);
        assert_eq!(check.status.code(), Some(1), "{out}");
        assert!(
            out.contains("outside the workspace") && !out.contains("SECRET"),
            "{out}"
        );
        let reset = env.run(&["reset", "25.17"]);
        let out = text(&reset);
        assert_eq!(reset.status.code(), Some(6), "{out}");
        assert!(out.contains("answers.yaml is a link to"), "{out}");
        assert_eq!(mode(&secret), 0o600);
        assert_eq!(std::fs::read_to_string(&secret).unwrap(), "node_series: SECRET\n");
        std::fs::remove_file(&answers).unwrap();
        let reset = env.run(&["reset", "25.17"]);
        assert!(reset.status.success(), "{}", text(&reset));
        assert!(
            std::fs::read_to_string(&answers)
                .unwrap()
                .contains("node_series: TODO")
        );
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run));
    let down = env.run(&["down", "25.17"]);
    assert!(down.status.success(), "{}", text(&down));
    assert!(leftovers("promlab-25-17").is_empty());
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}
