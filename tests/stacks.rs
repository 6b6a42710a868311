//! Every stack file is valid for real Compose tools (`docker-compose config`), and parses
//! with promlab's strict subset.

use std::path::PathBuf;
use std::process::Command;

#[test]
#[ignore = "live: needs the docker-compose tool (make test)"]
fn docker_compose_accepts_every_stack() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("compose/stacks");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let out = Command::new("docker-compose")
            .args(["-f"])
            .arg(&p)
            .args(["config", "-q"])
            .output()
            .unwrap_or_else(|e| panic!("cannot run docker-compose ({e}); install the Compose tool"));
        assert!(
            out.status.success(),
            "{}: {}",
            p.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        promlab::stack::Stack::load(&p).unwrap_or_else(|e| panic!("{e}"));
        n += 1;
    }
    assert!(n >= 1, "no stacks found in {}", dir.display());
}
