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
    let mut wrong = Vec::new();
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
        if !got.starts_with(expected) {
            wrong.push(format!(
                "case {}:\n expected: {expected}\n      got: {got}",
                case.display()
            ));
        }
        n += 1;
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
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

/// A data root with the real roadmap, stacks and images files and lab 1.1 written from
/// `manifest`: for what needs the catalog (the stack a lab's services join, `lint`).
fn data_root(manifest: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let real = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    std::fs::create_dir_all(r.join("compose/stacks")).unwrap();
    std::fs::copy(real.join("labs/roadmap.yaml"), {
        std::fs::create_dir_all(r.join("labs")).unwrap();
        r.join("labs/roadmap.yaml")
    })
    .unwrap();
    for f in [
        "compose/images.yaml",
        "compose/images.local.yaml",
        "compose/stacks/base.yaml",
    ] {
        std::fs::copy(real.join(f), r.join(f)).unwrap();
    }
    let lab = r.join("labs/01-fundamentals/1.1-what-is-prometheus");
    for d in ["starter", "solution"] {
        std::fs::create_dir_all(lab.join(d)).unwrap();
    }
    std::fs::write(lab.join("lab.yaml"), manifest).unwrap();
    std::fs::write(lab.join("README.md"), "# x").unwrap();
    (root, lab)
}

fn lint_problems(root: &Path) -> Vec<String> {
    let catalog = promlab::lab::Catalog::open(root).unwrap();
    promlab::commands::lint::lint_root(&catalog).0
}

#[test]
fn a_lab_service_with_an_undeclared_volume_is_refused_with_its_line() {
    let manifest = reference_manifest().replace(
        "starter_fails:",
        "services:\n  exporter:\n    image: node-exporter\n    volumes: [\"scratch:/data\"]\nstarter_fails:",
    );
    let (root, lab) = data_root(&manifest);
    let catalog = promlab::lab::Catalog::open(root.path()).unwrap();
    let err = catalog.lab("1.1".parse().unwrap()).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "{}:9: service `exporter` mounts volume `scratch`, which is not declared, so promlab could neither label nor remove it; add `scratch: {{}}` under the top-level `volumes:` of compose/stacks/base.yaml (declared: `prometheus-data`)",
            lab.join("lab.yaml").display()
        )
    );
    // The stack's declared volume is fine, and lint then has nothing to say.
    std::fs::write(
        lab.join("lab.yaml"),
        manifest.replace("scratch:/data", "prometheus-data:/data"),
    )
    .unwrap();
    std::fs::write(lab.join("starter/answers.yaml"), "{}").unwrap();
    assert_eq!(lint_problems(root.path()), Vec::<String>::new());
}

#[test]
fn a_symlink_in_starter_solution_or_near_miss_is_refused_by_name() {
    for place in ["starter/prometheus", "solution", "near-miss/typo"] {
        let dir = lab_dir(&reference_manifest(), &[]);
        let folder = dir.path().join(place);
        std::fs::create_dir_all(&folder).unwrap();
        let link = folder.join("prometheus.yml");
        std::os::unix::fs::symlink("/etc/passwd", &link).unwrap();
        let err = Lab::load(dir.path()).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "{}: `{place}/prometheus.yml` is a symbolic link, which copied into a workspace could point anywhere on the learner's machine; replace it with a copy of what it points to",
                link.display()
            )
        );
    }
    // A linked folder is named itself.
    let dir = lab_dir(&reference_manifest(), &[]);
    std::os::unix::fs::symlink("/etc", dir.path().join("starter/etc")).unwrap();
    let err = Lab::load(dir.path()).unwrap_err().to_string();
    assert!(err.contains("`starter/etc` is a symbolic link"), "{err}");
}

#[test]
fn a_readme_that_is_not_utf8_is_refused_with_its_line() {
    let dir = lab_dir(&reference_manifest(), &[]);
    let readme = dir.path().join("README.md");
    std::fs::write(&readme, b"# Lab\n\nCaf\xe9 au lait\n").unwrap();
    let err = Lab::load(dir.path()).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "{}:3: README.md is not UTF-8 text (this line holds a byte that is not); save it as UTF-8",
            readme.display()
        )
    );
}

#[test]
fn lint_names_a_file_a_check_reads_that_no_folder_provides() {
    let manifest = reference_manifest().replace(
        "checks:\n",
        "checks:\n  - id: q\n    title: Q\n    hint: h\n    promql: {expr_file: queries/error-ratio.promql}\n  - id: gone\n    title: G\n    hint: h\n    file: {path: old.yml, exists: false}\n",
    );
    let (root, lab) = data_root(&manifest);
    let file = lab.join("lab.yaml").display().to_string();
    let problems = lint_problems(root.path());
    assert_eq!(
        problems,
        vec![
            format!(
                "{file}:9: check `q` reads `queries/error-ratio.promql`, which neither starter/ nor solution/ provides, so the lab can never pass; add `queries/error-ratio.promql` to solution/ (or starter/), or fix the path"
            ),
            format!(
                "{file}:21: check `b` reads `answers.yaml`, which neither starter/ nor solution/ provides, so the lab can never pass; add `answers.yaml` to solution/ (or starter/), or fix the path"
            ),
        ]
    );
    std::fs::create_dir_all(lab.join("solution/queries")).unwrap();
    std::fs::write(lab.join("solution/queries/error-ratio.promql"), "up\n").unwrap();
    std::fs::write(lab.join("starter/answers.yaml"), "{}\n").unwrap();
    assert_eq!(lint_problems(root.path()), Vec::<String>::new());
}

#[test]
fn one_broken_stack_key_is_one_lint_line() {
    let (root, lab) = data_root(&reference_manifest());
    std::fs::write(lab.join("starter/answers.yaml"), "{}\n").unwrap();
    let stack = root.path().join("compose/stacks/base.yaml");
    let text = std::fs::read_to_string(&stack).unwrap();
    std::fs::write(&stack, text.replacen("    command:", "    comand:", 1)).unwrap();
    let problems = lint_problems(root.path());
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].starts_with(&format!("{}:", stack.display()))
            && problems[0].contains("unknown field `comand`"),
        "{problems:#?}"
    );
}

#[test]
fn a_stack_image_no_images_file_names_is_reported_with_its_line() {
    let (root, lab) = data_root(&reference_manifest());
    std::fs::write(lab.join("starter/answers.yaml"), "{}\n").unwrap();
    let stack = root.path().join("compose/stacks/base.yaml");
    let text = std::fs::read_to_string(&stack).unwrap();
    let line = text
        .lines()
        .position(|l| l.contains("image: node-exporter"))
        .unwrap()
        + 1;
    std::fs::write(
        &stack,
        text.replace("image: node-exporter", "image: node-exporterr"),
    )
    .unwrap();
    let problems = lint_problems(root.path());
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(
        problems[0].starts_with(&format!(
            "{}:{line}: service `node-exporter` uses image `node-exporterr`, which",
            stack.display()
        )),
        "{problems:#?}"
    );
}
