//! One test per kind of manifest mistake: each is rejected with file:line (where a line
//! exists) and a sentence saying what to write instead.

use std::path::Path;

use promlab::lab::Lab;

const GOOD: &str = r#"format_version: 1
id: "1.1"
title: What is Prometheus
summary: s
stack: base
starter_fails: [a]
hints: [h]
checks:
  - id: a
    title: A
    hint: h
    promql: {expr: up}
  - id: b
    title: B
    hint: h
    file: {path: answers.yaml, exists: true}
  - id: c
    title: C
    hint: h
    targets: {pool: node}
"#;

fn lab_with(manifest: &str, extra: &[&str]) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(p.join("lab.yaml"), manifest).unwrap();
    std::fs::write(p.join("README.md"), "# x").unwrap();
    std::fs::create_dir_all(p.join("starter")).unwrap();
    std::fs::create_dir_all(p.join("solution")).unwrap();
    for f in extra {
        std::fs::write(p.join(f), "x").unwrap();
    }
    let err = Lab::load(p).err().map(|e| e.to_string()).unwrap_or_default();
    (dir, err)
}

fn assert_err(manifest: &str, line: Option<usize>, needle: &str) {
    let (dir, err) = lab_with(manifest, &[]);
    let file = dir.path().join("lab.yaml").display().to_string();
    let want_prefix = match line {
        Some(l) => format!("{file}:{l}:"),
        None => file.clone(),
    };
    assert!(
        err.starts_with(&want_prefix),
        "expected {want_prefix}…, got: {err}"
    );
    assert!(err.contains(needle), "expected `{needle}` in: {err}");
}

#[test]
fn the_good_manifest_loads() {
    let (_d, err) = lab_with(GOOD, &[]);
    assert_eq!(err, "");
}

#[test]
fn unknown_field() {
    assert_err(
        &GOOD.replace("summary: s", "summary: s\nsumary: t"),
        Some(5),
        "unknown field `sumary`",
    );
}

#[test]
fn misspelled_check_field() {
    assert_err(
        &GOOD.replace("promql: {expr: up}", "promql: {expr: up, expct: {}}"),
        Some(12),
        "unknown field `expct`",
    );
}

#[test]
fn wrong_type() {
    assert_err(&GOOD.replace("hints: [h]", "hints: h"), Some(7), "invalid type");
}

#[test]
fn unquoted_id() {
    assert_err(
        &GOOD.replace("id: \"1.1\"", "id: 1.10"),
        Some(2),
        "must be quoted",
    );
}

#[test]
fn path_escaping_the_lab() {
    assert_err(
        &GOOD.replace("path: answers.yaml", "path: ../../etc/passwd"),
        Some(13),
        "escapes the lab folder",
    );
    assert_err(
        &GOOD.replace("path: answers.yaml", "path: /etc/passwd"),
        Some(13),
        "is absolute",
    );
}

#[test]
fn duplicate_check_id() {
    assert_err(&GOOD.replace("- id: b", "- id: a"), Some(13), "used twice");
}

#[test]
fn starter_fails_names_an_unknown_check() {
    assert_err(
        &GOOD.replace("starter_fails: [a]", "starter_fails: [zz]"),
        Some(6),
        "not a check of this lab",
    );
}

#[test]
fn check_without_hint() {
    assert_err(
        &GOOD.replace("    hint: h\n    targets", "    targets"),
        Some(17),
        "has no hint",
    );
}

#[test]
fn check_with_two_kinds() {
    assert_err(
        &GOOD.replace(
            "targets: {pool: node}",
            "targets: {pool: node}\n    promql: {expr: up}",
        ),
        Some(17),
        "several kinds",
    );
}

#[test]
fn newer_format_version() {
    assert_err(
        &GOOD.replace("format_version: 1", "format_version: 2"),
        Some(1),
        "needs a newer promlab",
    );
}

#[test]
fn missing_file_and_stray_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("lab.yaml"), GOOD).unwrap();
    let err = Lab::load(dir.path()).unwrap_err().to_string();
    assert!(err.contains("has no `README.md`"), "{err}");
    let (_d, err) = lab_with(GOOD, &["notes.txt"]);
    assert!(err.contains("stray file `notes.txt`"), "{err}");
    assert!(
        Path::new(&err.split(':').next().unwrap().to_string()).ends_with("notes.txt"),
        "{err}"
    );
}
