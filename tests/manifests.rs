//! The corpus of broken manifests under `tests/fixtures/manifests/`: each case is a
//! `lab.yaml` and `expected.txt`, the error it must produce as `lab.yaml:LINE: MESSAGE`
//! (MESSAGE may be the start of the message). Plus the folder-level mistakes.

use std::path::Path;

use promlab::lab::Lab;

fn lab_dir(manifest: &str, extra: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(p.join("lab.yaml"), manifest).unwrap();
    std::fs::write(p.join("README.md"), "# x").unwrap();
    std::fs::create_dir_all(p.join("starter")).unwrap();
    std::fs::create_dir_all(p.join("solution")).unwrap();
    for f in extra {
        std::fs::write(p.join(f), "x").unwrap();
    }
    dir
}

/// A manifest that loads: the unknown-field case without its misspelled field.
fn reference_manifest() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/manifests/unknown-field/lab.yaml"),
    )
    .unwrap()
    .replace("sumary: t\n", "")
}

#[test]
fn every_broken_manifest_gives_its_exact_error() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/manifests");
    let mut n = 0;
    for case in std::fs::read_dir(&corpus).unwrap() {
        let case = case.unwrap().path();
        let manifest = std::fs::read_to_string(case.join("lab.yaml")).unwrap();
        let expected = std::fs::read_to_string(case.join("expected.txt")).unwrap();
        let expected = expected.trim_end();
        let dir = lab_dir(&manifest, &[]);
        let err = Lab::load(dir.path())
            .map(|_| String::new())
            .unwrap_or_else(|e| e.to_string());
        let file = dir.path().join("lab.yaml").display().to_string();
        let got = err
            .strip_prefix(&file)
            .map(|rest| format!("lab.yaml{rest}"))
            .unwrap_or(err.clone());
        assert!(
            got.starts_with(expected),
            "case {}:\n expected: {expected}\n      got: {got}",
            case.display()
        );
        n += 1;
    }
    assert!(n >= 10, "the corpus has only {n} cases");
}

#[test]
fn the_reference_manifest_loads() {
    let good = reference_manifest();
    let dir = lab_dir(&good, &[]);
    assert!(Lab::load(dir.path()).is_ok());
}

#[test]
fn missing_file_and_stray_file() {
    let good = reference_manifest();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("lab.yaml"), &good).unwrap();
    let err = Lab::load(dir.path()).unwrap_err().to_string();
    assert!(err.contains("has no `README.md`"), "{err}");
    let dir = lab_dir(&good, &["notes.txt"]);
    let err = Lab::load(dir.path()).unwrap_err().to_string();
    assert!(
        err.starts_with(&dir.path().join("notes.txt").display().to_string()),
        "{err}"
    );
    assert!(err.contains("stray file `notes.txt`"), "{err}");
}

#[test]
fn a_readme_promising_another_number_of_checks() {
    let good = reference_manifest();
    let checks = Lab::load(lab_dir(&good, &[]).path())
        .unwrap()
        .manifest
        .checks
        .len();
    let dir = lab_dir(&good, &[]);
    let readme = dir.path().join("README.md");
    let says = |n: usize| format!("# x\n\n**Done** when `promlab check` shows {n}/{n}: all of it.\n");
    std::fs::write(&readme, says(checks)).unwrap();
    assert!(Lab::load(dir.path()).is_ok());
    std::fs::write(&readme, says(checks + 1)).unwrap();
    let err = Lab::load(dir.path()).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "{}:3: README.md says `promlab check` shows {n}/{n}, but lab.yaml has {checks} checks: update the README",
            readme.display(),
            n = checks + 1
        )
    );
}
