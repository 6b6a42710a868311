//! The learner's workspace: where it lives, filling it from the starter, overlays, and
//! timestamped backups before anything overwrites the learner's files.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::Error;
use crate::lab::{Lab, LabId};

/// The environment variable naming promlab's home (workspaces, backups).
pub const HOME_ENV: &str = "PROMLAB_HOME";

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

/// What `prepare` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prepared {
    /// The starter was copied into a new or empty folder.
    Fresh,
    /// The folder already held files; they were kept.
    Kept,
}

/// Template values for lab files (`params.NAME`, `seed`).
pub type Vars = std::collections::BTreeMap<String, String>;

/// Fills an empty or missing workspace from the starter (templates rendered); keeps an
/// existing one untouched. Either way makes every file readable by the containers' user.
pub fn prepare(lab: &Lab, dir: &Path, vars: &Vars) -> Result<Prepared, Error> {
    let fresh = !dir.exists() || is_empty(dir);
    if fresh {
        copy_rendered(&lab.starter_dir(), dir, vars)?;
    }
    open_up(dir)?;
    Ok(if fresh { Prepared::Fresh } else { Prepared::Kept })
}

/// Makes sure a bind-mount source exists (an empty folder when the starter has none).
pub fn ensure_dir(dir: &Path) -> Result<(), Error> {
    fs::create_dir_all(dir).map_err(Error::io("create", dir))?;
    open_up(dir)
}

fn is_empty(dir: &Path) -> bool {
    fs::read_dir(dir).map(|mut d| d.next().is_none()).unwrap_or(true)
}

/// Copies a folder tree onto another, overwriting files of the same name.
pub fn copy_tree(from: &Path, to: &Path) -> Result<usize, Error> {
    fs::create_dir_all(to).map_err(Error::io("create", to))?;
    let mut n = 0;
    let entries = fs::read_dir(from).map_err(Error::io("read", from))?;
    for e in entries {
        let e = e.map_err(Error::io("read", from))?;
        let src = e.path();
        let dst = to.join(e.file_name());
        if src.is_dir() {
            n += copy_tree(&src, &dst)?;
        } else {
            fs::copy(&src, &dst).map_err(Error::io("copy to", &dst))?;
            n += 1;
        }
    }
    Ok(n)
}

/// Copies a lab folder (starter, solution, near-miss) onto the workspace, rendering
/// `{{ params.NAME }}` and `{{ seed }}` in text files so each learner gets their own values.
pub fn copy_rendered(from: &Path, to: &Path, vars: &Vars) -> Result<usize, Error> {
    let n = copy_tree(from, to)?;
    if !vars.is_empty() {
        render_in_place(from, to, vars)?;
    }
    Ok(n)
}

fn render_in_place(from: &Path, to: &Path, vars: &Vars) -> Result<(), Error> {
    for e in fs::read_dir(from).map_err(Error::io("read", from))? {
        let e = e.map_err(Error::io("read", from))?;
        let dst = to.join(e.file_name());
        if e.path().is_dir() {
            render_in_place(&e.path(), &dst, vars)?;
        } else if let Ok(text) = fs::read_to_string(&dst)
            && text.contains("{{")
        {
            let out = crate::check::template::render(&text, vars);
            if out != text {
                fs::write(&dst, out).map_err(Error::io("write", &dst))?;
            }
        }
    }
    Ok(())
}

/// Gives the containers' unprivileged user read access: dirs 0755, files 0644 (or more).
pub fn open_up(dir: &Path) -> Result<(), Error> {
    let meta = fs::metadata(dir).map_err(Error::io("read", dir))?;
    let mode = meta.permissions().mode();
    if meta.is_dir() {
        if mode & 0o005 != 0o005 {
            fs::set_permissions(dir, fs::Permissions::from_mode(mode | 0o755))
                .map_err(Error::io("change permissions of", dir))?;
        }
        for e in fs::read_dir(dir).map_err(Error::io("read", dir))? {
            let e = e.map_err(Error::io("read", dir))?;
            if e.file_name().to_string_lossy().starts_with(".promlab") {
                continue;
            }
            open_up(&e.path())?;
        }
    } else if mode & 0o004 == 0 {
        fs::set_permissions(dir, fs::Permissions::from_mode(mode | 0o644))
            .map_err(Error::io("change permissions of", dir))?;
    }
    Ok(())
}

/// Copies the workspace to `$PROMLAB_HOME/backups/<id>-<unix time>/` and returns that path.
pub fn backup(id: LabId, dir: &Path) -> Result<Option<PathBuf>, Error> {
    if !dir.exists() || is_empty(dir) {
        return Ok(None);
    }
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let dest = home().join("backups").join(format!("{id}-{stamp}"));
    copy_tree(dir, &dest)?;
    Ok(Some(dest))
}

/// Makes the workspace equal to the starter (dot-files kept). Files are rewritten in place
/// and folders are never removed: containers bind-mount workspace folders, and a folder
/// deleted and recreated would leave them looking at the old, deleted one.
pub fn restore_starter(lab: &Lab, dir: &Path, vars: &Vars) -> Result<(), Error> {
    if dir.exists() {
        remove_files_not_in(&lab.starter_dir(), dir)?;
    }
    copy_rendered(&lab.starter_dir(), dir, vars)?;
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
        let twin = reference.join(&name);
        if p.is_dir() {
            remove_files_not_in(&twin, &p)?;
        } else if !twin.is_file() {
            fs::remove_file(&p).map_err(Error::io("remove", &p))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        use std::os::unix::fs::MetadataExt;
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
}
