//! The learner's workspace: where it lives, which folders may become one, filling it from the
//! starter, overlays, and timestamped backups before anything overwrites the learner's files.
//!
//! Safety: a folder becomes a workspace only when it is new, empty, or carries promlab's
//! marker (`.promlab/workspace`, or the `.promlab` state of an older promlab); the home folder
//! and `/` never do. Walks never follow symbolic links, and a link whose target lies outside
//! the workspace is an error naming the link and its target, raised before anything changes:
//! promlab changes no mode, and reads, writes or removes no file, outside the workspace.

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::Error;
use crate::lab::{Lab, LabId};

/// The environment variable naming promlab's home (workspaces, backups).
pub const HOME_ENV: &str = "PROMLAB_HOME";

/// promlab's own folder in a workspace (state such as `applied.json`, and the marker).
pub const STATE_DIR: &str = ".promlab";

/// The marker file, in [`STATE_DIR`], that promlab writes when it fills a workspace; it
/// records the lab id.
pub const MARKER: &str = "workspace";

/// promlab's home: `$PROMLAB_HOME`, else `~/promlab`.
pub fn home() -> PathBuf {
    match std::env::var_os(HOME_ENV).filter(|v| !v.is_empty()) {
        Some(v) => PathBuf::from(v),
        None => dirs::home_dir()
            .unwrap_or_else(|| PathBuf::from("."))
            .join("promlab"),
    }
}

/// The default workspace of a lab.
pub fn default_dir(id: LabId) -> PathBuf {
    home().join("labs").join(id.to_string())
}

/// Makes a path absolute against the current folder.
pub fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(p)
    }
}

/// What `prepare` did, or what `claim` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prepared {
    /// The folder was new or empty: the starter was (or is to be) copied into it.
    Fresh,
    /// The folder is a promlab workspace that already held files; they were kept.
    Kept,
}

/// Template values for lab files (`params.NAME`, `seed`).
pub type Vars = std::collections::BTreeMap<String, String>;

/// Checks, before anything changes, that `dir` may be the workspace of `lab`: it is new or
/// empty ([`Prepared::Fresh`]), or it is promlab's own ([`Prepared::Kept`]: it carries the
/// marker, an older promlab's `.promlab` state, or only names the lab's starter or solution
/// has) and no link in it leaves it. The home folder and `/` are refused, and so is any
/// other folder that holds files.
pub fn claim(lab: &Lab, dir: &Path) -> Result<Prepared, Error> {
    match fs::symlink_metadata(dir) {
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Prepared::Fresh),
        Err(e) => return Err(Error::io("read", dir)(e)),
        Ok(_) => {}
    }
    let real = real_path(dir)?;
    if let Some(why) = special(&real, dirs::home_dir().as_deref()) {
        return Err(Error::Workspace(format!(
            "{} is {why} and cannot be a workspace: use a new or empty folder (`--workspace DIR`)",
            dir.display()
        )));
    }
    if !real.is_dir() {
        return Err(Error::Workspace(format!(
            "{} is not a folder and cannot be a workspace: use a new or empty folder (`--workspace DIR`)",
            dir.display()
        )));
    }
    let names = entry_names(&real)?;
    if names.is_empty() {
        return Ok(Prepared::Fresh);
    }
    if !is_marked(&real) && !only_lab_names(lab, &names) {
        // Name a link out of it first: that is what the learner must fix.
        for n in &names {
            let p = real.join(n);
            if p.is_symlink()
                && let Some(target) = link_leaves(&real, &p)
            {
                return Err(link_error(&dir.join(n), &target, dir));
            }
        }
        return Err(Error::Workspace(format!(
            "{} already holds other files and is not a promlab workspace (no {STATE_DIR}/{MARKER} in it): \
             use a new or empty folder (`--workspace DIR`), or, if an older promlab made it, \
             mark it with `mkdir -p {0}/{STATE_DIR} && touch {0}/{STATE_DIR}/{MARKER}`",
            dir.display()
        )));
    }
    check_links(&real, &real)?;
    Ok(Prepared::Kept)
}

/// Why a (canonical) folder can never be a workspace: it is `/` or the home folder.
fn special(real: &Path, home: Option<&Path>) -> Option<&'static str> {
    if real.parent().is_none() {
        return Some("the root folder");
    }
    let home = home.and_then(|h| fs::canonicalize(h).ok());
    (home.as_deref() == Some(real)).then_some("your home folder")
}

/// Whether promlab marked the folder: `.promlab/workspace`, or any `.promlab*` entry an
/// older promlab left (its reload state), that is not a link.
fn is_marked(real: &Path) -> bool {
    let Ok(rd) = fs::read_dir(real) else {
        return false;
    };
    rd.flatten().any(|e| {
        e.file_name().to_string_lossy().starts_with(STATE_DIR) && e.file_type().is_ok_and(|t| !t.is_symlink())
    })
}

/// Whether every entry of a folder is one the lab's starter or solution has: a workspace an
/// older promlab filled before it kept any state there.
fn only_lab_names(lab: &Lab, names: &[std::ffi::OsString]) -> bool {
    let known = |n: &std::ffi::OsString| {
        [lab.starter_dir(), lab.solution_dir()]
            .iter()
            .any(|d| fs::symlink_metadata(d.join(n)).is_ok())
    };
    names.iter().all(known)
}

fn entry_names(dir: &Path) -> Result<Vec<std::ffi::OsString>, Error> {
    let mut names = Vec::new();
    for e in fs::read_dir(dir).map_err(Error::io("read", dir))? {
        names.push(e.map_err(Error::io("read", dir))?.file_name());
    }
    Ok(names)
}

/// Writes the marker (`.promlab/workspace`, recording the lab id) unless one is there.
fn mark(dir: &Path, id: LabId) -> Result<(), Error> {
    let state = dir.join(STATE_DIR);
    let marker = state.join(MARKER);
    if fs::symlink_metadata(&marker).is_ok() {
        return Ok(());
    }
    fs::create_dir_all(&state).map_err(Error::io("create", &state))?;
    fs::write(&marker, format!("lab: \"{id}\"\n")).map_err(Error::io("write", &marker))
}

/// The canonical path of an existing file or folder (links resolved).
fn real_path(p: &Path) -> Result<PathBuf, Error> {
    fs::canonicalize(p).map_err(Error::io("read", p))
}

/// Where a link points, resolved, when that is outside `root` (canonical). A dangling link
/// is resolved by its text.
pub fn link_leaves(root: &Path, link: &Path) -> Option<PathBuf> {
    let target = match fs::canonicalize(link) {
        Ok(t) => t,
        Err(_) => {
            let raw = fs::read_link(link).ok()?;
            let parent = link.parent().unwrap_or(Path::new("/"));
            let parent = fs::canonicalize(parent).unwrap_or_else(|_| parent.to_path_buf());
            lexical(&parent.join(raw))
        }
    };
    (!target.starts_with(root)).then_some(target)
}

/// `a/b/../c` → `a/c`, without touching the filesystem.
fn lexical(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The error for a link out of the workspace: which link, where it points, what to do.
pub fn link_error(link: &Path, target: &Path, root: &Path) -> Error {
    Error::Workspace(format!(
        "{} is a link to {}, outside the workspace {}: promlab never follows links out of a \
         workspace; replace the link with a copy of what it points to, or remove it",
        link.display(),
        target.display(),
        root.display()
    ))
}

/// Fails on the first link under `dir` (walked without following links) that leaves `root`.
fn check_links(root: &Path, dir: &Path) -> Result<(), Error> {
    for e in fs::read_dir(dir).map_err(Error::io("read", dir))? {
        let e = e.map_err(Error::io("read", dir))?;
        let p = e.path();
        let ft = e.file_type().map_err(Error::io("read", &p))?;
        if ft.is_symlink() {
            if let Some(target) = link_leaves(root, &p) {
                return Err(link_error(&p, &target, root));
            }
        } else if ft.is_dir() {
            check_links(root, &p)?;
        }
    }
    Ok(())
}

/// Fills an empty or missing workspace from the starter (templates rendered) and marks it;
/// keeps a promlab workspace's files untouched. Either way makes every file readable by the
/// containers' user. Refuses any other folder, and links leaving it (see [`claim`]).
pub fn prepare(lab: &Lab, dir: &Path, vars: &Vars) -> Result<Prepared, Error> {
    let state = claim(lab, dir)?;
    if state == Prepared::Fresh {
        copy_rendered(&lab.starter_dir(), dir, vars)?;
    }
    mark(dir, lab.id())?;
    open_up(dir)?;
    Ok(state)
}

/// Makes sure a bind-mount source folder inside the workspace exists (an empty folder when
/// the starter has none) and is readable by the containers. Never goes through a link out of
/// the workspace, and never creates anything outside it.
pub fn ensure_dir(workspace: &Path, dir: &Path) -> Result<(), Error> {
    let root = real_path(workspace)?;
    let outside = || {
        Error::Workspace(format!(
            "{} is not inside the workspace {}: a stack may only mount folders of the workspace",
            dir.display(),
            workspace.display()
        ))
    };
    let rel = dir.strip_prefix(workspace).map_err(|_| outside())?;
    let mut cur = root.clone();
    for c in rel.components() {
        let Component::Normal(name) = c else {
            return Err(outside());
        };
        let mut next = cur.join(name);
        match fs::symlink_metadata(&next) {
            Err(e) if e.kind() == ErrorKind::NotFound => {
                fs::create_dir(&next).map_err(Error::io("create", &next))?;
            }
            Err(e) => return Err(Error::io("read", &next)(e)),
            Ok(m) if m.file_type().is_symlink() => {
                if let Some(target) = link_leaves(&root, &next) {
                    return Err(link_error(&next, &target, &root));
                }
                next = real_path(&next)?;
            }
            Ok(_) => {}
        }
        cur = next;
    }
    if !cur.is_dir() {
        return Err(Error::Workspace(format!(
            "{} is a file, but the lab's stack mounts it as a folder: rename or remove it",
            dir.display()
        )));
    }
    check_links(&root, &cur)?;
    open_tree(&cur)
}

fn is_empty(dir: &Path) -> bool {
    fs::read_dir(dir).map(|mut d| d.next().is_none()).unwrap_or(true)
}

/// Copies a folder tree onto another without following links: a link is copied as a link
/// (its target is neither read nor walked), folders are walked, files copied.
pub fn copy_tree(from: &Path, to: &Path) -> Result<usize, Error> {
    fs::create_dir_all(to).map_err(Error::io("create", to))?;
    let mut n = 0;
    for e in fs::read_dir(from).map_err(Error::io("read", from))? {
        let e = e.map_err(Error::io("read", from))?;
        let src = e.path();
        let dst = to.join(e.file_name());
        let ft = e.file_type().map_err(Error::io("read", &src))?;
        if ft.is_symlink() {
            let target = fs::read_link(&src).map_err(Error::io("read", &src))?;
            std::os::unix::fs::symlink(&target, &dst).map_err(Error::io("create", &dst))?;
        } else if ft.is_dir() {
            n += copy_tree(&src, &dst)?;
        } else if ft.is_file() {
            fs::copy(&src, &dst).map_err(Error::io("copy to", &dst))?;
            n += 1;
        }
    }
    Ok(n)
}

/// Copies a lab folder (starter, solution, near-miss) onto the workspace, rendering
/// `{{ params.NAME }}` and `{{ seed }}` in text files so each learner gets their own values.
/// Fails before writing anything when a link in the workspace leaves it; a link inside it is
/// written through (its target is in the workspace too). A file with other hard links is
/// replaced rather than rewritten, so the other names keep their content.
pub fn copy_rendered(from: &Path, to: &Path, vars: &Vars) -> Result<usize, Error> {
    if fs::symlink_metadata(to).is_ok() {
        let root = real_path(to)?;
        check_links(&root, &root)?;
    }
    fs::create_dir_all(to).map_err(Error::io("create", to))?;
    overlay(from, to, vars)
}

fn overlay(from: &Path, to: &Path, vars: &Vars) -> Result<usize, Error> {
    let mut n = 0;
    for e in fs::read_dir(from).map_err(Error::io("read", from))? {
        let e = e.map_err(Error::io("read", from))?;
        let src = e.path();
        let dst = to.join(e.file_name());
        let ft = e.file_type().map_err(Error::io("read", &src))?;
        if ft.is_dir() {
            if fs::symlink_metadata(&dst).is_err() {
                fs::create_dir(&dst).map_err(Error::io("create", &dst))?;
            }
            n += overlay(&src, &dst, vars)?;
        } else if ft.is_file() {
            if let Ok(m) = fs::symlink_metadata(&dst)
                && m.is_file()
                && m.nlink() > 1
            {
                fs::remove_file(&dst).map_err(Error::io("replace", &dst))?;
            }
            fs::copy(&src, &dst).map_err(Error::io("copy to", &dst))?;
            if !vars.is_empty() {
                render(&dst, vars)?;
            }
            n += 1;
        }
    }
    Ok(n)
}

fn render(dst: &Path, vars: &Vars) -> Result<(), Error> {
    if let Ok(text) = fs::read_to_string(dst)
        && text.contains("{{")
    {
        let out = crate::lab::template::render(&text, vars);
        if out != text {
            fs::write(dst, out).map_err(Error::io("write", dst))?;
        }
    }
    Ok(())
}

/// Gives the containers' unprivileged user read access: dirs 0755, files 0644 (or more).
/// Fails before changing anything when a link in `dir` leaves it; never changes a mode
/// through a link, nor the mode of a file with other hard links (that would change theirs).
pub fn open_up(dir: &Path) -> Result<(), Error> {
    let root = real_path(dir)?;
    check_links(&root, &root)?;
    open_tree(&root)
}

fn open_tree(p: &Path) -> Result<(), Error> {
    let meta = fs::symlink_metadata(p).map_err(Error::io("read", p))?;
    let ft = meta.file_type();
    let mode = meta.permissions().mode() & 0o7777;
    if ft.is_dir() {
        if mode & 0o005 != 0o005 {
            fs::set_permissions(p, fs::Permissions::from_mode(mode | 0o755))
                .map_err(Error::io("change permissions of", p))?;
        }
        for e in fs::read_dir(p).map_err(Error::io("read", p))? {
            let e = e.map_err(Error::io("read", p))?;
            if e.file_name().to_string_lossy().starts_with(STATE_DIR) {
                continue;
            }
            open_tree(&e.path())?;
        }
    } else if ft.is_file() && mode & 0o004 == 0 {
        if meta.nlink() > 1 {
            return Err(Error::Workspace(format!(
                "{} is not readable by the lab's containers and has other hard links, so \
                 promlab will not change its mode: replace it with a copy (`cp --remove-destination`) \
                 or make it readable yourself (`chmod o+r`)",
                p.display()
            )));
        }
        fs::set_permissions(p, fs::Permissions::from_mode(mode | 0o644))
            .map_err(Error::io("change permissions of", p))?;
    }
    Ok(())
}

/// Copies the workspace to `$PROMLAB_HOME/backups/<id>-<unix time>/` and returns that path.
/// Links are copied as links, never followed.
pub fn backup(id: LabId, dir: &Path) -> Result<Option<PathBuf>, Error> {
    if fs::symlink_metadata(dir).is_err() || is_empty(dir) {
        return Ok(None);
    }
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let dest = home().join("backups").join(format!("{id}-{stamp}"));
    copy_tree(&real_path(dir)?, &dest)?;
    Ok(Some(dest))
}

/// Makes the workspace equal to the starter (dot-files kept). Files are rewritten in place
/// and folders are never removed: containers bind-mount workspace folders, and a folder
/// deleted and recreated would leave them looking at the old, deleted one. Only a promlab
/// workspace is reset (see [`claim`]); links are removed as links, never followed.
pub fn restore_starter(lab: &Lab, dir: &Path, vars: &Vars) -> Result<(), Error> {
    if claim(lab, dir)? == Prepared::Kept {
        remove_files_not_in(&lab.starter_dir(), &real_path(dir)?)?;
    }
    copy_rendered(&lab.starter_dir(), dir, vars)?;
    mark(dir, lab.id())?;
    open_up(dir)
}

fn remove_files_not_in(reference: &Path, dir: &Path) -> Result<(), Error> {
    for e in fs::read_dir(dir).map_err(Error::io("read", dir))? {
        let e = e.map_err(Error::io("read", dir))?;
        let name = e.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let p = e.path();
        let ft = e.file_type().map_err(Error::io("read", &p))?;
        let twin = fs::symlink_metadata(reference.join(&name)).ok();
        if ft.is_dir() {
            remove_files_not_in(&reference.join(&name), &p)?;
        } else if ft.is_symlink() {
            // A link inside the workspace with a starter twin is written through by the
            // copy that follows; any other link goes (the link, not what it points to).
            if twin.is_none() {
                fs::remove_file(&p).map_err(Error::io("remove", &p))?;
            }
        } else if !twin.is_some_and(|m| m.is_file()) {
            fs::remove_file(&p).map_err(Error::io("remove", &p))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab() -> Lab {
        Lab::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/01-fundamentals/1.1-what-is-prometheus"))
            .unwrap()
    }

    fn mode(p: &Path) -> u32 {
        fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777
    }

    /// A private file (0600) in a private folder (0700) outside any workspace, as `~/.ssh`.
    fn private_outside() -> (tempfile::TempDir, PathBuf) {
        let outside = tempfile::tempdir().unwrap();
        let keys = outside.path().join("keys");
        fs::create_dir(&keys).unwrap();
        fs::set_permissions(&keys, fs::Permissions::from_mode(0o700)).unwrap();
        let key = keys.join("id_ed25519");
        fs::write(&key, "secret").unwrap();
        fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
        (outside, key)
    }

    #[test]
    fn copy_and_open_up() {
        let src = tempfile::tempdir().unwrap();
        fs::create_dir_all(src.path().join("a/b")).unwrap();
        fs::write(src.path().join("a/b/f.yml"), "x").unwrap();
        fs::set_permissions(src.path().join("a/b/f.yml"), fs::Permissions::from_mode(0o600)).unwrap();
        let dst = tempfile::tempdir().unwrap();
        assert_eq!(copy_tree(src.path(), dst.path()).unwrap(), 1);
        open_up(dst.path()).unwrap();
        let mode = fs::metadata(dst.path().join("a/b/f.yml"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o004, 0o004);
        let dmode = fs::metadata(dst.path()).unwrap().permissions().mode();
        assert_eq!(dmode & 0o005, 0o005, "tempfile's 0700 dirs must be opened up");
    }

    #[test]
    fn lab_files_are_rendered_per_learner() {
        let src = tempfile::tempdir().unwrap();
        fs::write(
            src.path().join("p.yml"),
            "region: {{ params.region }}\nsummary: '{{ $labels.instance }}'\n",
        )
        .unwrap();
        let dst = tempfile::tempdir().unwrap();
        let mut vars = Vars::new();
        vars.insert("params.region".into(), "eu-west-3".into());
        copy_rendered(src.path(), dst.path(), &vars).unwrap();
        assert_eq!(
            fs::read_to_string(dst.path().join("p.yml")).unwrap(),
            "region: eu-west-3\nsummary: '{{ $labels.instance }}'\n"
        );
    }

    #[test]
    fn removing_extra_files_keeps_folders_and_their_inodes() {
        let reference = tempfile::tempdir().unwrap();
        fs::create_dir_all(reference.path().join("prometheus")).unwrap();
        fs::write(reference.path().join("prometheus/prometheus.yml"), "a").unwrap();
        let ws = tempfile::tempdir().unwrap();
        copy_tree(reference.path(), ws.path()).unwrap();
        fs::write(ws.path().join("prometheus/extra.yml"), "x").unwrap();
        fs::write(ws.path().join("prometheus/prometheus.yml"), "changed").unwrap();
        let inode = fs::metadata(ws.path().join("prometheus")).unwrap().ino();
        remove_files_not_in(reference.path(), ws.path()).unwrap();
        copy_tree(reference.path(), ws.path()).unwrap();
        assert!(!ws.path().join("prometheus/extra.yml").exists());
        assert_eq!(
            fs::read_to_string(ws.path().join("prometheus/prometheus.yml")).unwrap(),
            "a"
        );
        assert_eq!(
            fs::metadata(ws.path().join("prometheus")).unwrap().ino(),
            inode,
            "bind-mounted folder kept"
        );
    }

    #[test]
    fn a_link_to_a_private_file_outside_keeps_it_private_and_is_named() {
        let lab = lab();
        let (_outside, key) = private_outside();
        // In a fresh workspace (prepare), then in a marked one (open_up, reset, solve's copy).
        let ws = tempfile::tempdir().unwrap();
        let w = ws.path().join("w");
        prepare(&lab, &w, &Vars::new()).unwrap();
        std::os::unix::fs::symlink(&key, w.join("prometheus/key")).unwrap();
        let errors = [
            prepare(&lab, &w, &Vars::new()).unwrap_err(),
            open_up(&w).unwrap_err(),
            restore_starter(&lab, &w, &Vars::new()).unwrap_err(),
            copy_rendered(&lab.solution_dir(), &w, &Vars::new()).unwrap_err(),
            ensure_dir(&w, &w.join("prometheus")).unwrap_err(),
        ];
        for e in errors {
            let msg = e.to_string();
            assert_eq!(e.exit_code(), crate::exit::WORKSPACE, "{msg}");
            assert!(
                msg.contains("prometheus/key") && msg.contains("id_ed25519"),
                "{msg}"
            );
            assert!(msg.contains("outside the workspace"), "{msg}");
        }
        assert_eq!(mode(&key), 0o600);
        assert_eq!(mode(key.parent().unwrap()), 0o700);
        assert_eq!(fs::read_to_string(&key).unwrap(), "secret");
        assert!(w.join("prometheus/key").is_symlink(), "the link itself is kept");
    }

    #[test]
    fn a_linked_folder_outside_is_not_walked_opened_or_emptied() {
        let lab = lab();
        let (_outside, key) = private_outside();
        let ws = tempfile::tempdir().unwrap();
        let w = ws.path().join("w");
        prepare(&lab, &w, &Vars::new()).unwrap();
        // Where the stack mounts a folder, and a folder of the learner's own.
        fs::remove_dir_all(w.join("prometheus")).unwrap();
        std::os::unix::fs::symlink(key.parent().unwrap(), w.join("prometheus")).unwrap();
        let e = prepare(&lab, &w, &Vars::new()).unwrap_err().to_string();
        assert!(e.contains("w/prometheus is a link to"), "{e}");
        assert!(ensure_dir(&w, &w.join("prometheus")).is_err());
        assert!(restore_starter(&lab, &w, &Vars::new()).is_err());
        let b = backup(lab.id(), &w);
        assert_eq!(mode(&key), 0o600);
        assert_eq!(mode(key.parent().unwrap()), 0o700);
        assert!(key.exists(), "reset removed a file outside the workspace");
        assert!(
            !key.parent().unwrap().join("prometheus.yml").exists(),
            "wrote outside"
        );
        // A backup copies the link as a link; nothing of the folder is copied.
        let b = b.unwrap().unwrap();
        assert!(b.join("prometheus").is_symlink());
        assert!(b.join("answers.yaml").is_file());
    }

    #[test]
    fn a_home_like_folder_is_refused_untouched() {
        let lab = lab();
        let home = tempfile::tempdir().unwrap();
        let h = home.path();
        fs::write(h.join(".bashrc"), "x").unwrap();
        fs::set_permissions(h.join(".bashrc"), fs::Permissions::from_mode(0o600)).unwrap();
        fs::create_dir(h.join("Documents")).unwrap();
        fs::write(h.join("Documents/thesis.tex"), "y").unwrap();
        fs::set_permissions(h, fs::Permissions::from_mode(0o700)).unwrap();
        for e in [
            prepare(&lab, h, &Vars::new()).unwrap_err(),
            restore_starter(&lab, h, &Vars::new()).unwrap_err(),
        ] {
            let msg = e.to_string();
            assert_eq!(e.exit_code(), crate::exit::WORKSPACE, "{msg}");
            assert!(msg.contains("already holds other files"), "{msg}");
        }
        assert_eq!(mode(h), 0o700);
        assert_eq!(mode(&h.join(".bashrc")), 0o600);
        assert!(h.join("Documents/thesis.tex").exists());
        assert!(!h.join("prometheus").exists() && !h.join(STATE_DIR).exists());
        // The home folder and `/` are refused even when marked.
        assert_eq!(special(Path::new("/"), None), Some("the root folder"));
        assert_eq!(special(h, Some(h)), Some("your home folder"));
        assert_eq!(special(&h.join("Documents"), Some(h)), None);
        let e = claim(&lab, Path::new("/")).unwrap_err().to_string();
        assert!(e.contains("the root folder"), "{e}");
    }

    #[test]
    fn marked_and_older_workspaces_are_accepted_and_kept() {
        let lab = lab();
        let ws = tempfile::tempdir().unwrap();
        let w = ws.path().join("w");
        assert_eq!(prepare(&lab, &w, &Vars::new()).unwrap(), Prepared::Fresh);
        assert_eq!(
            fs::read_to_string(w.join(".promlab/workspace")).unwrap(),
            "lab: \"1.1\"\n"
        );
        fs::write(w.join("notes.md"), "mine").unwrap();
        assert_eq!(prepare(&lab, &w, &Vars::new()).unwrap(), Prepared::Kept);
        assert_eq!(fs::read_to_string(w.join("notes.md")).unwrap(), "mine");
        // An older promlab's workspace: its reload state, no marker.
        let old = ws.path().join("old");
        fs::create_dir_all(old.join(".promlab")).unwrap();
        fs::write(old.join(".promlab/applied.json"), "{}").unwrap();
        fs::write(old.join("notes.md"), "mine").unwrap();
        assert_eq!(prepare(&lab, &old, &Vars::new()).unwrap(), Prepared::Kept);
        assert!(old.join(".promlab/workspace").is_file(), "marked from now on");
        // Or only the starter's files.
        let older = ws.path().join("older");
        fs::create_dir_all(older.join("prometheus")).unwrap();
        fs::write(older.join("answers.yaml"), "a: 1\n").unwrap();
        assert_eq!(prepare(&lab, &older, &Vars::new()).unwrap(), Prepared::Kept);
        // An empty folder is filled.
        let empty = ws.path().join("empty");
        fs::create_dir(&empty).unwrap();
        assert_eq!(prepare(&lab, &empty, &Vars::new()).unwrap(), Prepared::Fresh);
        assert!(empty.join("prometheus/prometheus.yml").is_file());
    }

    #[test]
    fn reset_of_a_marked_workspace_keeps_everything_outside() {
        let lab = lab();
        let (_outside, key) = private_outside();
        let ws = tempfile::tempdir().unwrap();
        let w = ws.path().join("w");
        let sibling = ws.path().join("sibling.txt");
        fs::write(&sibling, "keep").unwrap();
        prepare(&lab, &w, &Vars::new()).unwrap();
        fs::write(w.join("prometheus/extra.yml"), "x").unwrap();
        fs::write(w.join("prometheus/prometheus.yml"), "changed").unwrap();
        // A link inside the workspace to one of its own files is removed as a link.
        std::os::unix::fs::symlink(w.join("answers.yaml"), w.join("alias.yaml")).unwrap();
        restore_starter(&lab, &w, &Vars::new()).unwrap();
        assert!(!w.join("prometheus/extra.yml").exists());
        assert!(!w.join("alias.yaml").exists() && w.join("answers.yaml").is_file());
        assert_eq!(
            fs::read(w.join("prometheus/prometheus.yml")).unwrap(),
            fs::read(lab.starter_dir().join("prometheus/prometheus.yml")).unwrap()
        );
        assert_eq!(fs::read_to_string(&sibling).unwrap(), "keep");
        // A hard link to a file outside is replaced, not rewritten through.
        fs::remove_file(w.join("answers.yaml")).unwrap();
        fs::hard_link(&key, w.join("answers.yaml")).unwrap();
        restore_starter(&lab, &w, &Vars::new()).unwrap();
        assert_eq!(fs::read_to_string(&key).unwrap(), "secret");
        assert_eq!(mode(&key), 0o600);
        assert!(w.join(".promlab/workspace").is_file());
    }
}
