//! Reload before grading: when the workspace changed since promlab last applied it, POST
//! each reloadable service's reload path; confirm it took; a failed reload becomes the first
//! failure, quoting the server's own error, and blocks every other check. Files a server
//! reads only at start (x-promlab `restart_on`, e.g. the web config that turns TLS on)
//! restart the service instead, and promlab waits until it is ready again.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use super::context::Ctx;
use super::outcome::{Eval, Outcome, Status, trim};
use crate::poll;
use crate::stack::Role;

/// Hash of every workspace file (names and contents), `.promlab` excluded.
pub(crate) fn workspace_hash(dir: &Path) -> u64 {
    let mut files = Vec::new();
    collect(dir, dir, &mut files);
    files.sort();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for (rel, bytes) in files {
        rel.hash(&mut h);
        bytes.hash(&mut h);
    }
    h.finish()
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        // Links are not followed: one out of the workspace (or a loop) is never walked.
        if e.file_name()
            .to_string_lossy()
            .starts_with(crate::workspace::STATE_DIR)
            || e.file_type().is_ok_and(|t| t.is_symlink())
        {
            continue;
        }
        if p.is_dir() {
            collect(root, &p, out);
        } else if let Ok(b) = std::fs::read(&p) {
            out.push((p.strip_prefix(root).unwrap_or(&p).display().to_string(), b));
        }
    }
}

fn applied_path(ws: &Path) -> std::path::PathBuf {
    ws.join(crate::workspace::STATE_DIR).join("applied.json")
}

/// What promlab last applied to a service: the workspace hash and when.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Applied {
    hash: u64,
    at: f64,
    /// The identity (inode) of each bound folder when the container was created.
    #[serde(default)]
    folders: BTreeMap<String, u64>,
    /// Hash of the files read only at start (`restart_on`), as the container last started.
    #[serde(default)]
    restart_hash: u64,
}

impl Applied {
    /// Applied just now.
    fn now(hash: u64, folders: BTreeMap<String, u64>, restart_hash: u64) -> Self {
        Applied {
            hash,
            at: super::now_unix(),
            folders,
            restart_hash,
        }
    }
}

/// What a stopped server's log says to fix: its error lines, each once (the log also holds
/// the same error from earlier starts), or its last 8 lines when it logged no error.
fn server_errors(logs: &str) -> Vec<String> {
    let mut errors: Vec<String> = Vec::new();
    for l in logs
        .lines()
        .filter(|l| l.contains("level=ERROR") || l.contains("level=error"))
    {
        let text = l.split_once(" level=").map_or(l, |(_, rest)| rest);
        if !errors.iter().any(|e| e.ends_with(text)) {
            errors.push(l.to_string());
        }
    }
    if errors.is_empty() {
        let all: Vec<String> = logs.lines().map(str::to_string).collect();
        return all[all.len().saturating_sub(8)..].to_vec();
    }
    errors
}

/// The error lines a server logged for its latest reload (after its last "Loading
/// configuration file"), without the summary line that only says errors occurred.
fn reload_errors(logs: &str) -> Vec<String> {
    let lines: Vec<&str> = logs.lines().collect();
    let from = lines
        .iter()
        .rposition(|l| l.contains("Loading configuration file"))
        .unwrap_or(0);
    let mut out: Vec<String> = Vec::new();
    for l in &lines[from..] {
        if !(l.contains("level=ERROR") || l.contains("level=error"))
            || l.contains("one or more errors occurred")
        {
            continue;
        }
        let text = l.split_once(" msg=").map_or(*l, |(_, rest)| rest);
        if !out.iter().any(|o| o == text) {
            out.push(text.to_string());
        }
    }
    let skip = out.len().saturating_sub(4);
    out.split_off(skip)
}

/// The line a server logs when it begins to load its configuration.
const RELOAD_START: &str = "Loading configuration file";

/// The line that began the server's latest load of its configuration (it carries a
/// timestamp, so it tells one reload from the one before).
fn last_reload_start(logs: &str) -> Option<&str> {
    logs.lines().rev().find(|l| l.contains(RELOAD_START))
}

/// Whether the server logged the end of a reload that began after `before` (the start line
/// that was last before promlab asked for this reload): its last "Loading configuration
/// file" is a new one, followed by a success or failure line. Before that, the lines at the
/// end of the log belong to an earlier reload, or this one's errors are still on their way
/// through Docker's log driver.
fn reload_finished(logs: &str, before: Option<&str>) -> bool {
    let lines: Vec<&str> = logs.lines().collect();
    let Some(from) = lines.iter().rposition(|l| l.contains(RELOAD_START)) else {
        return false;
    };
    Some(lines[from]) != before
        && lines[from..].iter().any(|l| {
            l.contains("Error reloading config")
                || l.contains("one or more errors occurred")
                || l.contains("Completed loading of configuration file")
        })
}

/// The server's log once the reload that began after `before` is logged to its end (3 s at
/// most).
async fn reload_log(ctx: &Ctx, id: &str, before: Option<&str>) -> String {
    let read = || async {
        let logs = ctx.docker.logs_tail(id, 200).await;
        if reload_finished(&logs, before) {
            Ok(logs)
        } else {
            Err(logs)
        }
    };
    poll::until_ok(Duration::from_secs(3), Duration::from_millis(100), read)
        .await
        .unwrap_or_else(|logs| logs)
}

/// Where a server's error points in the learner's workspace: `folder/file.yml:LINE: error`
/// for an error naming a container path (`/etc/prometheus/rules/x.yml: 5:15: …`,
/// `…: yaml: line 3: …`, `…: yaml: unmarshal errors:\n  line 5: …`) whose file is found
/// under one of the service's bound workspace folders. `None` when the error names no file.
pub fn locate(ws: &Path, binds: &[String], error: &str) -> Option<String> {
    static FILE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r#"(/[^\s:"\\]+\.ya?ml): (?:(\d+):\d+:|yaml: (?:unmarshal errors:(?:\\n|\s)*)?line (\d+))?"#,
        )
        .expect("valid regex")
    });
    let caps = FILE.captures(error)?;
    let container_path = caps.get(1)?.as_str();
    let line = caps.get(2).or_else(|| caps.get(3)).map(|m| m.as_str());
    let what = error[caps.get(0)?.end()..]
        .trim_start_matches([':', ' '])
        .replace("\\n", " ")
        .replace("\\\"", "\"");
    let what = what
        .trim_end_matches('"')
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    // The longest tail of the container path that is a file in a bound folder.
    let parts: Vec<&str> = container_path.split('/').filter(|p| !p.is_empty()).collect();
    let shown = (0..parts.len())
        .flat_map(|k| {
            let tail = parts[k..].join("/");
            binds.iter().map(move |b| format!("{b}/{tail}"))
        })
        .find(|rel| ws.join(rel).is_file())
        .unwrap_or_else(|| container_path.to_string());
    Some(match line {
        Some(n) => format!("{shown}:{n}: {what}"),
        None => format!("{shown}: {what}"),
    })
}

/// What a server's log says about its failed reload (the one that began after `before`):
/// the first error located in the workspace (see `locate`), if any, and the quoted error
/// lines.
async fn reload_said(ctx: &Ctx, svc: &super::Svc, before: Option<&str>) -> (Option<String>, Vec<String>) {
    let said = reload_errors(&reload_log(ctx, &svc.id, before).await);
    let located = said.iter().find_map(|l| locate(&ctx.workspace, &svc.binds, l));
    (located, said)
}

/// Hash of the workspace folders bound into a service.
fn binds_hash(ws: &Path, binds: &[String]) -> u64 {
    binds
        .iter()
        .fold(0u64, |h, b| h.rotate_left(7) ^ workspace_hash(&ws.join(b)))
}

/// Hash of some workspace files or folders (a missing one hashes as absent; a folder, as
/// every file under it, so a file the learner adds there counts too).
fn files_hash(ws: &Path, rels: &[String]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for r in rels {
        r.hash(&mut h);
        let p = ws.join(r);
        if p.is_dir() {
            workspace_hash(&p).hash(&mut h);
        } else {
            std::fs::read(p).ok().hash(&mut h);
        }
    }
    h.finish()
}

/// Restarts a service and waits (30 s at most) until its readiness path answers 2xx again,
/// over HTTP or HTTPS, whichever it serves now. Err: what went wrong, and its last logs.
async fn restart(ctx: &Ctx, name: &str, svc: &super::Svc) -> Result<(), (String, Vec<String>)> {
    let fail = |what: String| (what, Vec::new());
    ctx.docker
        .restart(&svc.id)
        .await
        .map_err(|e| fail(format!("cannot restart {name}: {e}")))?;
    // Ports are drawn when the container starts: read them once; the scheme is known only
    // once the server listens, so it is probed on every round.
    ctx.refresh(name).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut last = String::new();
    while std::time::Instant::now() < deadline {
        let (running, code) = ctx.docker.state(&svc.id).await.map_err(|e| fail(e.to_string()))?;
        if !running {
            let logs = ctx.docker.logs_tail(&svc.id, 20).await;
            let shown = server_errors(&logs);
            return Err((
                format!("{name} stopped (exit code {code}) after a restart to read your changed files"),
                shown,
            ));
        }
        ctx.detect_scheme(svc).await;
        if let (Ok(base), Some(ready)) = (ctx.url(name), &svc.ready) {
            match ctx.client.get(format!("{base}{ready}")).send().await {
                Ok(r) if r.status().is_success() => return Ok(()),
                Ok(r) => last = format!("{base}{ready} answered {}", r.status()),
                Err(e) => last = format!("{base}{ready}: {}", crate::http::describe(&e)),
            }
        } else {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(fail(format!(
        "{name} was restarted to read your changed files but is not ready after 30s ({last})"
    )))
}

/// A folder's identity: its inode, which a bind mount follows (0 where unknown).
fn folder_id(p: &Path) -> u64 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(p).map_or(0, |m| m.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = p;
        0
    }
}

/// The bound folders that are no longer the ones the container was given (deleted and
/// copied anew, say): the container still sees the old folder.
fn replaced_folders(ws: &Path, a: &Applied) -> Vec<String> {
    a.folders
        .iter()
        .filter(|(rel, id)| **id != 0 && folder_id(&ws.join(rel)) != **id)
        .map(|(rel, _)| rel.clone())
        .collect()
}

fn read_applied(ws: &Path) -> BTreeMap<String, Applied> {
    std::fs::read_to_string(applied_path(ws))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

fn write_applied(ws: &Path, m: &BTreeMap<String, Applied>) {
    let p = applied_path(ws);
    if let Some(d) = p.parent() {
        let _ = std::fs::create_dir_all(d);
    }
    if let Ok(t) = serde_json::to_string(m) {
        let _ = std::fs::write(p, t);
    }
}

/// Reloads what needs reloading. Returns failing outcomes (empty when all is applied) and
/// the unix time of the newest change applied (checks' `within` counts from it).
pub async fn apply(ctx: &Ctx, force: bool) -> (Vec<Outcome>, f64) {
    ctx.detect_schemes().await;
    let mut applied = read_applied(&ctx.workspace);
    let mut failures = Vec::new();
    for (name, svc) in &ctx.services {
        // A server without a reload endpoint may still read files at start (`restart_on`).
        if svc.reload.is_none() && svc.restart_on.is_empty() {
            continue;
        }
        let key = format!("{name}@{}", svc.id);
        let hash = binds_hash(&ctx.workspace, &svc.binds);
        let restart_hash = files_hash(&ctx.workspace, &svc.restart_on);
        // A file read only at start changed, or the server stopped on one (a key it cannot
        // read, say): start it again on the learner's files.
        let start_again = !svc.restart_on.is_empty()
            && (!svc.running || applied.get(&key).is_some_and(|a| a.restart_hash != restart_hash));
        if svc.running
            && let Some(o) = replaced_failure(ctx, name, applied.get(&key))
        {
            failures.push(o);
            continue;
        }
        if start_again {
            let folders = applied.get(&key).map(|a| a.folders.clone()).unwrap_or_default();
            match restart(ctx, name, svc).await {
                Ok(()) => {
                    applied.insert(key, Applied::now(hash, folders, restart_hash));
                }
                Err((observed, detail)) => failures.push(failure(name, observed, detail)),
            }
            continue;
        }
        if !svc.running {
            failures.push(failure(
                name,
                format!("{name} is not running"),
                vec![format!("`promlab logs {name}` shows why; fix the file it complains about, then run `promlab up {} --fresh`", ctx.lab.id())],
            ));
            continue;
        }
        let Some(reload_path) = &svc.reload else { continue };
        let confirmed_ok = confirm(ctx, name, svc.role).await;
        if !force && applied.get(&key).is_some_and(|a| a.hash == hash) && confirmed_ok != Some(false) {
            continue;
        }
        let Ok(base) = ctx.url(name) else { continue };
        let url = format!("{base}{reload_path}");
        // Which reload the log ends with now: a failure's errors are read from the next one.
        let before = last_reload_start(&ctx.docker.logs_tail(&svc.id, 200).await).map(str::to_owned);
        match ctx.client.post(&url).send().await {
            Ok(r) if r.status().is_success() => {
                if confirm(ctx, name, svc.role).await == Some(false) {
                    let (located, said) = reload_said(ctx, svc, before.as_deref()).await;
                    let mut detail = Vec::new();
                    if !said.is_empty() {
                        detail.push(format!("{name}'s log says:"));
                        detail.extend(said.into_iter().map(|l| format!("  {l}")));
                    }
                    failures.push(failure(
                        name,
                        located.unwrap_or_else(|| format!("{name} reports its last reload failed")),
                        detail,
                    ));
                } else {
                    if svc.role == Some(Role::Prometheus) {
                        // Checks read targets and series: not those of the previous configuration.
                        super::prometheus::settle::await_reload(ctx, name, Duration::from_secs(20)).await;
                    }
                    let folders = applied.get(&key).map(|a| a.folders.clone()).unwrap_or_default();
                    applied.insert(key, Applied::now(hash, folders, restart_hash));
                }
            }
            Ok(r) => {
                let status = r.status();
                let body = r.text().await.unwrap_or_default();
                let mut detail = vec![format!("{name} answered {status}")];
                // Prometheus answers only "one or more errors occurred"; its log says which
                // file and line (a rule file's error is nowhere else).
                // The log is read once the reload is logged to its end: read too early, it
                // named nothing.
                let (located, said) = reload_said(ctx, svc, before.as_deref()).await;
                if !said.is_empty() {
                    detail.push(format!("{name}'s log says:"));
                    detail.extend(said.into_iter().map(|l| format!("  {l}")));
                }
                if status.as_u16() == 403 {
                    detail.push(
                        "the server runs without --web.enable-lifecycle, so promlab cannot reload it"
                            .to_string(),
                    );
                }
                // Prometheus' own answer stays first when it names the file itself (an error
                // in prometheus.yml); a rule file's error is named only in its log.
                let body_names_file = locate(&ctx.workspace, &svc.binds, &body).is_some();
                let observed = match located {
                    Some(l) if !body_names_file => {
                        detail.insert(0, trim(&body, 400));
                        l
                    }
                    _ => trim(&body, 400),
                };
                failures.push(failure(name, observed, detail));
            }
            Err(e) => failures.push(failure(
                name,
                format!("cannot reach {name}: {}", crate::http::describe(&e)),
                vec![],
            )),
        }
    }
    write_applied(&ctx.workspace, &applied);
    let newest = applied
        .iter()
        .filter(|(k, _)| ctx.services.values().any(|s| k.ends_with(&format!("@{}", s.id))))
        .map(|(_, a)| a.at)
        .fold(0.0, f64::max);
    (failures, newest)
}

/// The failure for bound folders replaced since the container was created (it still sees
/// the old ones), if any.
fn replaced_failure(ctx: &Ctx, name: &str, applied: Option<&Applied>) -> Option<Outcome> {
    let replaced = applied
        .map(|a| replaced_folders(&ctx.workspace, a))
        .unwrap_or_default();
    if replaced.is_empty() {
        return None;
    }
    let folders = replaced
        .iter()
        .map(|r| format!("{r}/"))
        .collect::<Vec<_>>()
        .join(", ");
    Some(failure(
        name,
        format!(
            "{folders} in the workspace was replaced after `promlab up`: {name} still sees the old folder (a bind mount follows the folder, not its path)"
        ),
        vec![format!(
            "run `promlab up {} --fresh` to mount the new folder (your files stay), and from then on edit files in place rather than deleting and copying the folder",
            ctx.lab.id()
        )],
    ))
}

/// Whether the server says its last reload succeeded (`None` when it cannot tell).
async fn confirm(ctx: &Ctx, name: &str, role: Option<Role>) -> Option<bool> {
    match role {
        Some(Role::Prometheus) => ctx
            .get_json(name, "/api/v1/status/runtimeinfo")
            .await
            .ok()
            .and_then(|v| v.pointer("/data/reloadConfigSuccess").and_then(Value::as_bool)),
        Some(Role::Alertmanager) => {
            let base = ctx.url(name).ok()?;
            let r = ctx
                .client
                .get(format!("{base}/metrics"))
                .timeout(Duration::from_secs(5))
                .send()
                .await
                .ok()?;
            let text = r.text().await.ok()?;
            text.lines()
                .find(|l| l.starts_with("alertmanager_config_last_reload_successful "))
                .and_then(|l| l.split_whitespace().nth(1))
                .map(|v| v == "1")
        }
        _ => None,
    }
}

fn failure(service: &str, observed: String, detail: Vec<String>) -> Outcome {
    let mut e = Eval::fail(format!("{service} to load your configuration"), observed).settled();
    e.detail = detail;
    Outcome {
        id: format!("{service}-config-loads"),
        title: format!("{service} accepts the workspace configuration"),
        status: Status::Fail,
        expected: e.expected,
        observed: e.observed,
        detail: e.detail,
        hint: format!(
            "fix the error above in your workspace file, save, and run `promlab check` again (nothing else is graded against a stale {service} configuration)"
        ),
        seconds: 0.0,
    }
}

/// A service `up` just started: name, container id, bound folders, files read only at start.
#[derive(Debug, Clone)]
pub struct Started {
    /// The service.
    pub name: String,
    /// Its container id.
    pub id: String,
    /// Workspace folders bound in.
    pub binds: Vec<String>,
    /// Workspace files whose change needs a restart.
    pub restart_on: Vec<String>,
}

/// Records that freshly started services run the workspace as it is now (called by `up`),
/// so the first `check` does not reload them and counts `within` from their start.
pub fn record_started(ws: &Path, services: &[Started]) {
    let mut applied = read_applied(ws);
    let now = super::now_unix();
    for Started {
        name,
        id,
        binds,
        restart_on,
    } in services
    {
        let hash = binds_hash(ws, binds);
        let folders = binds
            .iter()
            .map(|b| (b.clone(), folder_id(&ws.join(b))))
            .collect();
        applied.insert(
            format!("{name}@{id}"),
            Applied {
                hash,
                at: now,
                folders,
                restart_hash: files_hash(ws, restart_on),
            },
        );
    }
    write_applied(ws, &applied);
}

/// Unix time of the most recently modified workspace file (`.promlab` excluded), or 0.
pub fn newest_mtime(dir: &Path) -> f64 {
    fn walk(dir: &Path, newest: &mut f64) {
        let Ok(rd) = std::fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            if e.file_name()
                .to_string_lossy()
                .starts_with(crate::workspace::STATE_DIR)
                || e.file_type().is_ok_and(|t| t.is_symlink())
            {
                continue;
            }
            let p = e.path();
            if p.is_dir() {
                walk(&p, newest);
            } else if let Ok(m) = e.metadata().and_then(|m| m.modified()) {
                let t = m
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs_f64())
                    .unwrap_or(0.0);
                *newest = newest.max(t);
            }
        }
    }
    let mut newest = 0.0;
    walk(dir, &mut newest);
    newest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reload_failure_quotes_the_errors_of_the_latest_reload_only() {
        let logs = "time=1 level=INFO msg=\"Loading configuration file\" filename=/etc/prometheus/prometheus.yml
time=2 level=ERROR msg=\"loading groups failed\" err=\"old.yml: fixed since\"
time=3 level=INFO msg=\"Loading configuration file\" filename=/etc/prometheus/prometheus.yml
time=4 level=ERROR source=manager.go msg=\"loading groups failed\" err=\"/etc/prometheus/rules/demo.yml: unknown unit \\\".\\\" in duration \\\"0.25m\\\"\"
time=5 level=ERROR msg=\"Error reloading config\" err=\"one or more errors occurred while applying the new configuration (--config.file=/etc/prometheus/prometheus.yml)\"";
        let said = reload_errors(logs);
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(said[0].starts_with("\"loading groups failed\""), "{said:?}");
        assert!(said[0].contains("rules/demo.yml: unknown unit"), "{said:?}");
    }

    #[test]
    fn a_reload_error_is_located_in_the_workspace() {
        let ws = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(ws.path().join("prometheus/rules")).unwrap();
        std::fs::write(ws.path().join("prometheus/rules/demo.yml"), "groups:\n").unwrap();
        let binds = vec!["prometheus".to_string()];
        let parse = r#""loading groups failed" component="rule manager" err="/etc/prometheus/rules/demo.yml: 5:15: group \"demo\", rule 1, \"job:up:sum\": could not parse expression: 1:17: parse error: unclosed left parenthesis""#;
        assert_eq!(
            locate(ws.path(), &binds, parse).unwrap(),
            "prometheus/rules/demo.yml:5: group \"demo\", rule 1, \"job:up:sum\": could not parse expression: 1:17: parse error: unclosed left parenthesis"
        );
        let yaml = r#""loading groups failed" err="/etc/prometheus/rules/demo.yml: yaml: line 3: did not find expected '-' indicator""#;
        assert_eq!(
            locate(ws.path(), &binds, yaml).unwrap(),
            "prometheus/rules/demo.yml:3: did not find expected '-' indicator"
        );
        let fields = r#""loading groups failed" err="/etc/prometheus/rules/demo.yml: yaml: unmarshal errors:\n  line 5: field exp not found in type rulefmt.Rule""#;
        assert_eq!(
            locate(ws.path(), &binds, fields).unwrap(),
            "prometheus/rules/demo.yml:5: field exp not found in type rulefmt.Rule"
        );
        // A file outside the workspace keeps its container path; no file, no location.
        let other = r#""x" err="/etc/other/a.yml: yaml: line 2: bad""#;
        assert_eq!(
            locate(ws.path(), &binds, other).unwrap(),
            "/etc/other/a.yml:2: bad"
        );
        assert_eq!(
            locate(
                ws.path(),
                &binds,
                r#""Failed to apply configuration" err="error loading rules""#
            ),
            None
        );
    }

    #[test]
    fn a_reload_is_finished_once_its_outcome_is_logged() {
        let started =
            "time=1 level=INFO msg=\"Loading configuration file\" filename=/etc/prometheus/prometheus.yml\n";
        assert!(!reload_finished(started, None));
        let failed = format!(
            "{started}time=2 level=ERROR msg=\"Error reloading config\" err=\"one or more errors occurred\"\n"
        );
        assert!(reload_finished(&failed, None));
        assert!(reload_finished(
            &format!("{started}time=2 level=INFO msg=\"Completed loading of configuration file\"\n"),
            None
        ));
        // The log still ends with the reload before the one promlab asked for: not yet.
        let before = last_reload_start(&failed);
        assert_eq!(before, Some(started.trim_end()));
        assert!(!reload_finished(&failed, before));
        assert!(reload_finished(
            &format!(
                "{failed}time=3 level=INFO msg=\"Loading configuration file\" filename=/etc/prometheus/prometheus.yml\ntime=3 level=ERROR msg=\"Error reloading config\"\n"
            ),
            before
        ));
    }

    #[test]
    fn a_stopped_servers_errors_are_shown_once() {
        let logs = "time=1 level=INFO msg=start\ntime=1 level=ERROR msg=\"key: permission denied\"\ntime=2 level=INFO msg=start\ntime=2 level=ERROR msg=\"key: permission denied\"\n";
        assert_eq!(
            server_errors(logs),
            vec!["time=1 level=ERROR msg=\"key: permission denied\"".to_string()]
        );
        let quiet = (0..10)
            .map(|i| format!("line {i}"))
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(server_errors(&quiet).len(), 8);
        assert_eq!(server_errors(&quiet)[7], "line 9");
    }
}
