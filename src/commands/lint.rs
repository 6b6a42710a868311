//! `promlab lint`: every manifest, stack and images file checked without Docker, plus a
//! coverage table per section.

use std::collections::BTreeSet;

use crate::error::Error;
use crate::exit;
use crate::lab::spec::Kind;
use crate::lab::{Catalog, Lab, LabError};
use crate::stack::Stack;
use crate::stack::images::ImageMap;

/// Lints everything under a data root; returns the problems (empty = clean) and the labs.
pub fn lint_root(catalog: &Catalog) -> (Vec<String>, Vec<Lab>) {
    let mut problems: Vec<String> = Vec::new();
    let images: Vec<ImageMap> = ["compose/images.yaml", "compose/images.local.yaml"]
        .iter()
        .filter_map(|f| match ImageMap::load(&catalog.root.join(f)) {
            Ok(m) => Some(m),
            Err(e) => {
                problems.push(e.to_string());
                None
            }
        })
        .collect();
    let (labs, errors) = catalog.all_labs();
    problems.extend(errors.iter().map(LabError::to_string));
    // A stack only online-only labs use may need an image with no offline build: the local
    // images file need not name it (validate then reports those labs skipped).
    let online_only_stack = |stem: &str| {
        let users: Vec<&Lab> = labs.iter().filter(|l| l.manifest.stack == stem).collect();
        !users.is_empty() && users.iter().all(|l| l.is_online_only())
    };
    let stacks_dir = catalog.root.join("compose/stacks");
    if let Ok(rd) = std::fs::read_dir(&stacks_dir) {
        for e in rd.flatten() {
            let p = e.path();
            let stem = p
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            match Stack::load(&p) {
                Ok(s) => {
                    let text = std::fs::read_to_string(&p).unwrap_or_default();
                    for (name, svc) in &s.services {
                        for m in &images {
                            let local = m.source.ends_with("images.local.yaml");
                            if m.resolve(&svc.image).is_none() && !(local && online_only_stack(&stem)) {
                                problems.push(
                                    LabError::Invalid {
                                        file: p.clone(),
                                        line: crate::stack::service_line(&text, name, "image:"),
                                        message: format!(
                                            "service `{name}` uses image `{}`, which {} does not name; add it there or use one it names",
                                            svc.image,
                                            m.source.display()
                                        ),
                                    }
                                    .to_string(),
                                );
                            }
                        }
                    }
                }
                Err(e) => problems.push(e.to_string()),
            }
        }
    }
    for lab in &labs {
        problems.extend(lint_lab(catalog, lab));
    }
    (problems, labs)
}

/// Problems of one lab beyond what loading it checks.
pub fn lint_lab(catalog: &Catalog, lab: &Lab) -> Vec<String> {
    let mut out = Vec::new();
    let path = lab.manifest_path();
    let at = |needle: &str, msg: String| LabError::invalid(&path, &lab.text, needle, msg).to_string();
    let stack_path = catalog.stack_path(&lab.manifest.stack);
    out.extend(unprovided_files(lab).into_iter().map(|(id, rel)| {
        at(
            &format!("id: {id}"),
            format!(
                "check `{id}` reads `{rel}`, which neither starter/ nor solution/ provides, so the lab can never pass; add `{rel}` to solution/ (or starter/), or fix the path"
            ),
        )
    }));
    let stack = match Stack::load(&stack_path) {
        Ok(s) => s.merged(&lab.manifest.services),
        Err(_) if stack_path.exists() => {
            // The stack's own error is reported once, by `lint_root`: one line, not one per lab.
            return out;
        }
        Err(_) => {
            out.push(at(
                "stack:",
                format!(
                    "stack `{}` does not exist: write an existing stack (a file of compose/stacks/), or add compose/stacks/{}.yaml",
                    lab.manifest.stack, lab.manifest.stack
                ),
            ));
            return out;
        }
    };
    let services: BTreeSet<&str> = stack.services.keys().map(String::as_str).collect();
    let mut queries: Vec<(String, String)> = Vec::new();
    // Dashboard checks without exactly one source (file or uid).
    let mut sources: Vec<String> = Vec::new();
    let mut check_service = |svc: &str, id: &str| {
        if !services.contains(svc) {
            out.push(at(
                &format!("id: {id}"),
                format!(
                    "check `{id}` talks to service `{svc}`, which stack `{}` does not run",
                    lab.manifest.stack
                ),
            ));
        }
    };
    for c in &lab.manifest.checks {
        match c.kind() {
            Ok(Kind::Promql(p)) => {
                check_service(&p.server, &c.id);
                let role = stack
                    .services
                    .get(&p.server)
                    .and_then(|s| s.promlab.as_ref())
                    .and_then(|m| m.role);
                if role != Some(crate::stack::Role::Prometheus) {
                    // Another query language (MetricsQL on VictoriaMetrics): the server judges it.
                    continue;
                }
                if let Some(e) = &p.expr {
                    queries.push((c.id.clone(), e.clone()));
                }
                if let Some(eq) = &p.expect.equals_expr {
                    queries.push((c.id.clone(), eq.expr.clone()));
                }
                // The solution's answer file must hold a query that parses (unless the
                // check wants Prometheus to reject it).
                if let Some(f) = &p.expr_file
                    && p.expect.error.is_none()
                    && let Ok(text) = std::fs::read_to_string(lab.dir.join("solution").join(f))
                {
                    let q = crate::check::prometheus::promql::query_in_file(f, &text).unwrap_or_default();
                    queries.push((format!("{} (solution/{f})", c.id), q));
                }
            }
            Ok(Kind::Targets(t)) => check_service(&t.server, &c.id),
            Ok(Kind::Rule(r)) => check_service(&r.server, &c.id),
            Ok(Kind::Status(s)) => check_service(&s.server, &c.id),
            Ok(Kind::Exec(e)) => check_service(&e.service, &c.id),
            Ok(Kind::Http(h)) => check_service(&h.service, &c.id),
            Ok(Kind::Container(h)) => check_service(&h.service, &c.id),
            Ok(Kind::Tls(h)) => check_service(&h.service, &c.id),
            Ok(Kind::Dashboard(d)) => {
                if d.expect.every_target.returns_data {
                    check_service(&d.server, &c.id);
                }
                if d.uid.is_some() {
                    check_service(&d.grafana, &c.id);
                }
                if d.file.is_some() == d.uid.is_some() {
                    sources.push(c.id.clone());
                }
            }
            Ok(Kind::Answer(a)) => {
                if let Some(q) = &a.truth.promql {
                    queries.push((c.id.clone(), q.clone()));
                }
            }
            _ => {}
        }
    }
    for id in sources {
        out.push(at(
            &format!("id: {id}"),
            format!("dashboard check `{id}` needs exactly one of `file:` (a workspace dashboard JSON) or `uid:` (Grafana)"),
        ));
    }
    for (key, t) in &lab.manifest.solution_answers {
        if let Some(q) = &t.promql {
            queries.push((format!("solution_answers.{key}"), q.clone()));
        }
    }
    for (id, q) in queries {
        if q.contains("{{") {
            continue;
        }
        if let Err(e) = promql_parser::parser::parse(&q) {
            let check_id = id.split(' ').next().unwrap_or(&id);
            out.push(at(
                &format!("id: {check_id}"),
                format!("`{id}`: PromQL does not parse: {}", crate::check::trim(&e, 160)),
            ));
        }
    }
    for (name, dir) in &lab.near_misses {
        if std::fs::read_dir(dir)
            .map(|mut d| d.next().is_none())
            .unwrap_or(true)
        {
            out.push(format!("{}: near-miss `{name}` is empty", dir.display()));
        }
    }
    for (name, dir) in lab.variants().unwrap_or_default() {
        if std::fs::read_dir(&dir)
            .map(|mut d| d.next().is_none())
            .unwrap_or(true)
        {
            out.push(format!("{}: variant `{name}` is empty", dir.display()));
        }
    }
    out
}

/// Workspace files the checks read (with the check id) that neither the starter nor the
/// solution provides: with them missing the lab can never pass. A `file:` check expecting
/// the file absent, and templated paths (`{{ params.x }}`), are not counted.
pub fn unprovided_files(lab: &Lab) -> Vec<(String, String)> {
    let mut read: Vec<(String, String)> = Vec::new();
    for c in &lab.manifest.checks {
        read_files(c, &c.id, &mut read);
    }
    let provided =
        |rel: &str| lab.provides(rel) || (rel == "answers.yaml" && !lab.manifest.solution_answers.is_empty());
    let mut out: Vec<(String, String)> = Vec::new();
    for (id, rel) in read {
        if !rel.contains("{{") && !provided(&rel) && !out.contains(&(id.clone(), rel.clone())) {
            out.push((id, rel));
        }
    }
    out
}

/// The workspace paths one check reads (`id` is the top-level check's, for nested checks).
fn read_files(c: &crate::lab::spec::CheckSpec, id: &str, out: &mut Vec<(String, String)>) {
    let mut add = |p: &str| out.push((id.to_string(), p.trim_end_matches('/').to_string()));
    match c.kind() {
        Ok(Kind::File(f)) if f.exists != Some(false) => add(&f.path),
        Ok(Kind::Answer(a)) => add(&a.file),
        Ok(Kind::Promql(p)) => {
            if let Some(f) = &p.expr_file {
                add(f);
            }
        }
        Ok(Kind::Dashboard(d)) => {
            if let Some(f) = &d.file {
                add(f);
            }
        }
        Ok(Kind::Exec(x)) => {
            if let Some(folder) = &x.copy {
                add(folder);
            }
            for m in &x.mutate {
                add(&m.file);
            }
        }
        Ok(Kind::Tls(t)) => {
            if let Some(cc) = &t.client_cert {
                add(&cc.cert);
                add(&cc.key);
            }
            if let Some(ca) = &t.expect.verifies_with {
                add(ca);
            }
        }
        Ok(Kind::Scenario(s)) => {
            for step in s.steps.iter().chain(&s.cleanup) {
                if let Some(inner) = &step.check {
                    read_files(inner, id, out);
                }
            }
        }
        _ => {}
    }
}

/// `promlab lint`.
pub fn lint() -> Result<u8, Error> {
    let catalog = Catalog::discover()?;
    let (problems, labs) = lint_root(&catalog);
    for p in &problems {
        eprintln!("{p}");
    }
    println!(
        "{:<4} {:<44} {:>6} {:>8} {:>7} {:>8}",
        "sec", "title", "topics", "offline", "online", "planned"
    );
    let (mut t_all, mut t_off, mut t_on) = (0, 0, 0);
    for s in &catalog.roadmap.sections {
        let in_sec: Vec<&Lab> = labs.iter().filter(|l| l.id().section == s.id).collect();
        let online = in_sec.iter().filter(|l| l.is_online_only()).count();
        let offline = in_sec.len() - online;
        t_all += s.topics.len();
        t_off += offline;
        t_on += online;
        println!(
            "{:<4} {:<44} {:>6} {:>8} {:>7} {:>8}",
            s.id,
            crate::check::trim(&s.title, 44),
            s.topics.len(),
            offline,
            online,
            s.topics.len() - in_sec.len()
        );
    }
    println!(
        "{:<4} {:<44} {:>6} {:>8} {:>7} {:>8}",
        "all",
        "",
        t_all,
        t_off,
        t_on,
        t_all - t_off - t_on
    );
    if problems.is_empty() {
        println!("lint: {} labs, no problems", labs.len());
        Ok(exit::OK)
    } else {
        println!("lint: {} problems", problems.len());
        Ok(exit::LAB_INVALID)
    }
}
