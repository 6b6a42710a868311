//! Checks that ask Docker: `exec` (promtool, amtool in the lab's own containers) and
//! `container` (inspect facts). They go through the runtime module, never bollard.

use serde_json::Value;

use crate::lab::compare::{Cmp, show};
use crate::lab::spec::{ContainerCheck, ExecCheck, Mutation};
use futures::future::BoxFuture;

use super::context::Ctx;
use super::kinds::Judge;
use super::outcome::{Eval, trim};

/// Where `exec` copies a workspace folder inside the container.
pub(crate) const COPY_ROOT: &str = "/tmp/promlab-copy";

/// Builds a tar of a workspace folder (as `<folder>/…`) with the mutations applied.
pub(crate) fn copy_archive(
    workspace: &std::path::Path,
    folder: &str,
    mutations: &[Mutation],
) -> Result<Vec<u8>, String> {
    let root = workspace.join(folder);
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let real =
        std::fs::canonicalize(workspace).map_err(|e| format!("cannot read {}: {e}", workspace.display()))?;
    collect(&real, &root, &root, &mut files)?;
    for m in mutations {
        let rel = m.file.strip_prefix(&format!("{folder}/")).unwrap_or(&m.file);
        let Some(entry) = files.iter_mut().find(|(p, _)| p == rel) else {
            return Err(format!("mutation of {}: no such file in {folder}/", m.file));
        };
        let text = String::from_utf8_lossy(&entry.1).into_owned();
        if !text.contains(&m.replace) {
            return Err(format!(
                "mutation of {}: `{}` does not occur in it",
                m.file, m.replace
            ));
        }
        entry.1 = text.replace(&m.replace, &m.with).into_bytes();
    }
    let mut tar = tar::Builder::new(Vec::new());
    for (rel, data) in files {
        append_file(&mut tar, &format!("{folder}/{rel}"), &data)?;
    }
    tar.into_inner().map_err(|e| e.to_string())
}

/// Appends one file to an archive copied into a container: mode 0644, owned by nobody
/// (65534), like every file promlab copies in.
fn append_file(tar: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8]) -> Result<(), String> {
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_uid(65534);
    h.set_gid(65534);
    h.set_cksum();
    tar.append_data(&mut h, path, data).map_err(|e| e.to_string())
}

/// Builds a tar of files of a lab's `hidden/` folder (as `hidden/<path>`): a path that leaves
/// the folder or names no file is refused with a sentence that says which.
pub(crate) fn hidden_archive(hidden: &std::path::Path, paths: &[String]) -> Result<Vec<u8>, String> {
    let mut tar = tar::Builder::new(Vec::new());
    for rel in paths {
        let p = std::path::Path::new(rel);
        if p.is_absolute()
            || p.components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            return Err(format!(
                "copy_hidden `{rel}`: give a path inside the lab's hidden/ folder"
            ));
        }
        let data = std::fs::read(hidden.join(p)).map_err(|e| {
            format!(
                "copy_hidden `{rel}`: cannot read {}: {e}",
                hidden.join(p).display()
            )
        })?;
        append_file(&mut tar, &format!("hidden/{rel}"), &data)?;
    }
    tar.into_inner().map_err(|e| e.to_string())
}

/// The files under `dir`, walked without following links: a link to a file in the workspace
/// is read, a link to a folder is not walked, and a link out of the workspace is an error
/// (its target is never read, so never copied or echoed).
fn collect(
    workspace: &std::path::Path,
    root: &std::path::Path,
    dir: &std::path::Path,
    out: &mut Vec<(String, Vec<u8>)>,
) -> Result<(), String> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for e in rd.flatten() {
        let p = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_symlink() {
            if let Some(target) = crate::workspace::link_leaves(workspace, &p) {
                return Err(crate::workspace::link_error(&p, &target, workspace).to_string());
            }
            if !p.is_file() {
                continue;
            }
        } else if ft.is_dir() {
            collect(workspace, root, &p, out)?;
            continue;
        }
        if let Ok(b) = std::fs::read(&p) {
            out.push((p.strip_prefix(root).unwrap_or(&p).display().to_string(), b));
        }
    }
    Ok(())
}

/// The command line for messages: long scripts are cut.
fn shown(cmd: &[String]) -> String {
    trim(&cmd.join(" "), 80)
}

/// `exec:`
pub(crate) async fn exec(ctx: &Ctx, c: &ExecCheck) -> Eval {
    let id = match ctx.container(&c.service) {
        Ok(id) => id,
        Err(e) => return Eval::fail(format!("`{}` to run", shown(&c.cmd)), e),
    };
    // Each exec gets its own copy (checks run concurrently); `/tmp/promlab-copy` in the
    // command names it.
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let root = format!(
        "{COPY_ROOT}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let cmd: Vec<String> = if c.copies() {
        c.cmd.iter().map(|a| a.replace(COPY_ROOT, &root)).collect()
    } else {
        c.cmd.clone()
    };
    if c.copies() {
        let fresh = [
            "sh".to_string(),
            "-c".to_string(),
            format!("rm -rf {root} && mkdir -p {root}"),
        ];
        if let Err(e) = ctx.docker.exec(&id, &fresh).await {
            return Eval::fail(format!("a scratch folder in {}", c.service), e.to_string());
        }
    }
    if let Some(folder) = &c.copy {
        let tar = match copy_archive(&ctx.workspace, folder, &c.mutate) {
            Ok(t) => t,
            Err(e) => return Eval::fail("a copy of the workspace to test", e).settled(),
        };
        if let Err(e) = ctx.docker.upload(&id, &root, tar).await {
            return Eval::fail(format!("a copy of {folder}/ in {}", c.service), e.to_string());
        }
    }
    if !c.copy_hidden.is_empty() {
        let tar = match hidden_archive(&ctx.lab.dir.join("hidden"), &c.copy_hidden) {
            Ok(t) => t,
            Err(e) => return Eval::fail("the lab's hidden files", e).settled(),
        };
        if let Err(e) = ctx.docker.upload(&id, &root, tar).await {
            return Eval::fail(format!("a copy of hidden files in {}", c.service), e.to_string());
        }
    }
    let out = ctx.docker.exec(&id, &cmd).await;
    if c.copies() {
        let _ = ctx
            .docker
            .exec(&id, &["rm".to_string(), "-rf".to_string(), root.clone()])
            .await;
    }
    let out = match out {
        Ok(o) => o,
        Err(e) => {
            return Eval::fail(
                format!("`{}` to run in {}", shown(&c.cmd), c.service),
                e.to_string(),
            );
        }
    };
    let code_cmp = c.exit_code.clone().unwrap_or_else(|| Cmp::eq(Value::from(0)));
    let tail = |s: &str| {
        s.lines()
            .rev()
            .take(20)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    // A command on the learner's files (promtool, amtool) says the same thing until a file
    // changes: its failure is final, unless the check declares it asks a live server.
    let fail = |expected: String, observed: String| {
        let mut e = Eval::fail(expected, observed);
        e.settled = !c.dynamic;
        e.detail
            .extend(tail(&out.stdout).into_iter().map(|l| format!("stdout: {l}")));
        e.detail
            .extend(tail(&out.stderr).into_iter().map(|l| format!("stderr: {l}")));
        e
    };
    if let Err(why) = code_cmp.check(Some(&Value::from(out.exit_code))) {
        return fail(
            format!("`{}` to exit {}", shown(&c.cmd), code_cmp.describe()),
            format!("it exited {} ({why})", out.exit_code),
        );
    }
    for (name, cmp, text) in [
        ("stdout", &c.stdout, &out.stdout),
        ("stderr", &c.stderr, &out.stderr),
    ] {
        if let Some(cmp) = cmp
            && let Err(why) = cmp.check(Some(&Value::String(text.clone())))
        {
            return fail(
                format!("{name} {}", cmp.describe()),
                format!("{name} was {} ({why})", trim(text, 120)),
            );
        }
    }
    Eval::pass(
        format!("`{}` to succeed", shown(&c.cmd)),
        format!("exit {}", out.exit_code),
    )
}

/// `container:`
pub(crate) async fn container(ctx: &Ctx, c: &ContainerCheck) -> Eval {
    let id = match ctx.container(&c.service) {
        Ok(id) => id,
        Err(e) => return Eval::fail(format!("container {}", c.service), e),
    };
    let doc = match ctx.docker.inspect_json(&id).await {
        Ok(d) => d,
        Err(e) => return Eval::fail(format!("container {}", c.service), e.to_string()),
    };
    judge_container(&doc, c)
}

/// Judges a container's inspect document.
pub(crate) fn judge_container(doc: &Value, c: &ContainerCheck) -> Eval {
    let cmd = {
        let mut parts: Vec<String> = Vec::new();
        for p in ["/Path", "/Args"] {
            match doc.pointer(p) {
                Some(Value::String(s)) => parts.push(s.clone()),
                Some(Value::Array(a)) => parts.extend(a.iter().filter_map(Value::as_str).map(str::to_string)),
                _ => {}
            }
        }
        parts.join(" ")
    };
    let facts: [(&str, Option<Cmp>, Option<Value>); 7] = [
        (
            "running",
            c.running.map(|b| Cmp::eq(Value::Bool(b))),
            doc.pointer("/State/Running").cloned(),
        ),
        ("user", c.user.clone(), doc.pointer("/Config/User").cloned()),
        (
            "restarts",
            c.restarts.clone(),
            doc.pointer("/RestartCount").cloned(),
        ),
        (
            "memory limit",
            c.memory_limit.clone(),
            doc.pointer("/HostConfig/Memory").cloned(),
        ),
        (
            "privileged",
            c.privileged.map(|b| Cmp::eq(Value::Bool(b))),
            doc.pointer("/HostConfig/Privileged").cloned(),
        ),
        (
            "read-only root filesystem",
            c.readonly_rootfs.map(|b| Cmp::eq(Value::Bool(b))),
            doc.pointer("/HostConfig/ReadonlyRootfs").cloned(),
        ),
        ("command line", c.cmd.clone(), Some(Value::String(cmd))),
    ];
    let mut seen = Vec::new();
    for (what, cmp, got) in facts {
        let Some(cmp) = cmp else { continue };
        let got = got.unwrap_or(Value::Null);
        if let Err(why) = cmp.check(Some(&got)) {
            return Eval::fail(
                format!("{}: {what} {}", c.service, cmp.describe()),
                format!("{what} is {} ({why})", show(&got)),
            );
        }
        seen.push(format!("{what}={}", show(&got)));
    }
    Eval::pass(format!("container {}", c.service), seen.join(", "))
}

impl Judge for ExecCheck {
    fn judge<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Eval> {
        Box::pin(exec(ctx, self))
    }
}

impl Judge for ContainerCheck {
    fn judge<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Eval> {
        Box::pin(container(ctx, self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hidden_files_are_archived_under_hidden_and_paths_stay_inside() {
        let lab = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(lab.path().join("tests")).unwrap();
        std::fs::write(lab.path().join("tests/t.yml"), "tests: []\n").unwrap();
        let tar = hidden_archive(lab.path(), &["tests/t.yml".to_string()]).unwrap();
        let mut a = tar::Archive::new(tar.as_slice());
        let names: Vec<String> = a
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["hidden/tests/t.yml"]);
        let e = hidden_archive(lab.path(), &["../lab.yaml".to_string()]).unwrap_err();
        assert!(e.contains("inside the lab's hidden/ folder"), "{e}");
        let e = hidden_archive(lab.path(), &["nope.yml".to_string()]).unwrap_err();
        assert!(e.contains("copy_hidden `nope.yml`: cannot read"), "{e}");
    }

    #[test]
    fn mutations_apply_to_the_copy_only() {
        let ws = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(ws.path().join("prometheus/rules")).unwrap();
        std::fs::write(ws.path().join("prometheus/rules/a.yml"), "expr: rate(x[1m])").unwrap();
        let m = vec![Mutation {
            file: "prometheus/rules/a.yml".into(),
            replace: "rate(".into(),
            with: "irate(".into(),
        }];
        let tar = copy_archive(ws.path(), "prometheus", &m).unwrap();
        let mut ar = tar::Archive::new(tar.as_slice());
        let mut found = String::new();
        for e in ar.entries().unwrap() {
            let mut e = e.unwrap();
            assert_eq!(e.path().unwrap().display().to_string(), "prometheus/rules/a.yml");
            std::io::Read::read_to_string(&mut e, &mut found).unwrap();
        }
        assert_eq!(found, "expr: irate(x[1m])");
        assert_eq!(
            std::fs::read_to_string(ws.path().join("prometheus/rules/a.yml")).unwrap(),
            "expr: rate(x[1m])"
        );
        let bad = vec![Mutation {
            file: "prometheus/rules/a.yml".into(),
            replace: "nope".into(),
            with: "x".into(),
        }];
        assert!(
            copy_archive(ws.path(), "prometheus", &bad)
                .unwrap_err()
                .contains("does not occur")
        );
    }

    #[test]
    fn container_facts() {
        let doc = json!({"State":{"Running":true},"Config":{"User":"65534"},"RestartCount":0,"HostConfig":{"Privileged":false,"Memory":0,"ReadonlyRootfs":false},"Path":"/bin/prometheus","Args":["--web.enable-lifecycle"]});
        let c: ContainerCheck = crate::yaml::parse("{service: p, running: true, user: {not_in: ['', '0', root]}, privileged: false, cmd: {contains: enable-lifecycle}}").unwrap();
        assert!(judge_container(&doc, &c).pass);
        let c: ContainerCheck = crate::yaml::parse("{service: p, readonly_rootfs: true}").unwrap();
        assert!(!judge_container(&doc, &c).pass);
    }
}
