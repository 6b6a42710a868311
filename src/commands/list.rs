//! `list` (the roadmap with lab availability and progress) and `show` (one lab).

use serde::Serialize;

use crate::error::Error;
use crate::exit;
use crate::lab::{Catalog, LabId};
use crate::learner_progress::Progress;
use crate::render::style;

/// Version of `list --json`'s shape.
pub const LIST_FORMAT_VERSION: u32 = 1;

/// `list --json`.
#[derive(Debug, Serialize)]
struct ListJson<'a> {
    format_version: u32,
    topics: Vec<&'a Row>,
}

/// One topic row.
#[derive(Debug, Serialize)]
struct Row {
    id: LabId,
    title: String,
    lab: &'static str,
    progress: &'static str,
}

/// `promlab list`.
pub fn list(sections: &[u16], json: bool) -> Result<u8, Error> {
    let catalog = Catalog::discover()?;
    let progress = Progress::load();
    let next = super::next::following(&progress, &super::next::offline_labs(&catalog));
    let mut rows = Vec::new();
    for (s, t) in catalog.roadmap.topics() {
        if !sections.is_empty() && !sections.contains(&s.id) {
            continue;
        }
        let lab = match catalog.dirs.contains_key(&t.id) {
            false => "planned",
            true => match catalog.lab(t.id) {
                Ok(l) if l.is_online_only() => "online-only",
                Ok(_) => "available",
                Err(_) => "broken",
            },
        };
        let p = progress.labs.get(&t.id);
        let state = if progress.current == Some(t.id) && !p.is_some_and(|p| p.done) {
            "current"
        } else if p.is_some_and(|p| p.done) {
            "done"
        } else if next == Some(t.id) {
            "next"
        } else {
            "pending"
        };
        rows.push((
            s.id,
            s.title.clone(),
            Row {
                id: t.id,
                title: t.title.clone(),
                lab,
                progress: state,
            },
        ));
    }
    if rows.is_empty() {
        return Err(Error::Usage(format!(
            "the roadmap has no section {sections:?} (sections are 1–{})",
            catalog.roadmap.sections.len()
        )));
    }
    if json {
        let out = ListJson {
            format_version: LIST_FORMAT_VERSION,
            topics: rows.iter().map(|r| &r.2).collect(),
        };
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        return Ok(exit::OK);
    }
    let mut last = 0;
    for (sid, stitle, r) in &rows {
        if *sid != last {
            println!("{sid}. {stitle}");
            last = *sid;
        }
        let (mark, note) = match r.progress {
            "done" => (style::good("✓"), String::new()),
            "current" => (style::bold("▶"), style::bold("  ← current")),
            "next" => ("→".to_string(), style::dim("  ← next (`promlab next`)")),
            _ => (" ".to_string(), String::new()),
        };
        super::say!("  {mark} {:6} {:45} {}{note}", r.id.to_string(), r.title, r.lab);
    }
    let avail = rows.iter().filter(|r| r.2.lab == "available").count();
    let online = rows.iter().filter(|r| r.2.lab == "online-only").count();
    let done = rows.iter().filter(|r| r.2.progress == "done").count();
    println!(
        "\n{} topics: {avail} labs available offline, {online} online-only, {done} done (✓ done, ▶ current, → next)",
        rows.len()
    );
    Ok(exit::OK)
}

/// `promlab show ID`. When the lab runs with ports moved off the ones its text names, says
/// so first and shows the real URLs.
pub async fn show(id: LabId) -> Result<u8, Error> {
    let catalog = Catalog::discover()?;
    let lab = catalog.lab(id)?;
    let readme = std::fs::read_to_string(lab.dir.join("README.md"))
        .map_err(Error::io("read", lab.dir.join("README.md")))?;
    let moved = super::session::moved_if_running(&catalog, id).await;
    for line in super::session::describe_moved(&moved) {
        println!("{line}\n");
    }
    println!("{}", super::session::real_urls(readme.trim_end(), &moved));
    let stack =
        crate::stack::Stack::load(&catalog.stack_path(&lab.manifest.stack))?.merged(&lab.manifest.services);
    println!(
        "\n---\nservices ({} stack): {}",
        lab.manifest.stack,
        stack.services.keys().cloned().collect::<Vec<_>>().join(", ")
    );
    println!("checks:");
    for c in &lab.manifest.checks {
        println!("  - {}: {}", c.id, c.title);
    }
    if let Some(why) = &lab.manifest.online_only {
        println!("online-only: {why}");
    }
    Ok(exit::OK)
}
