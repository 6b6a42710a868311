//! Reading the learner's files for grading: only inside the workspace (links resolved), only
//! as UTF-8, line endings made `\n`; why a file cannot be read is one sentence (`Unreadable`).

/// A text file of the lab (the starter's), with Windows line endings made `\n`.
pub fn read_text(path: &std::path::Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|t| t.replace("\r\n", "\n"))
}

/// Why a learner's file cannot be graded. Its `Display` is the sentence for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unreadable {
    /// No such file (or a link to nothing).
    Missing(String),
    /// A link whose target lies outside the workspace: never read.
    Outside {
        /// The file as the lab names it.
        file: String,
        /// Where the link leads.
        target: std::path::PathBuf,
    },
    /// Not UTF-8: where the first invalid byte is.
    NotUtf8 {
        /// The file as the lab names it.
        file: String,
        /// 1-based line of the first invalid byte.
        line: usize,
        /// Its byte offset in the file.
        offset: usize,
    },
    /// Any other read failure (a folder, no permission).
    Io(String, String),
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unreadable::Missing(file) => write!(f, "{file} does not exist"),
            Unreadable::Outside { file, target } => write!(
                f,
                "{file} is a link to {}, outside the workspace, and promlab does not read it: \
                 replace the link with a copy of the file",
                target.display()
            ),
            Unreadable::NotUtf8 { file, line, offset } => write!(
                f,
                "{file} is not UTF-8 text (line {line}, byte offset {offset}): save it as UTF-8"
            ),
            Unreadable::Io(file, why) => write!(f, "{file} cannot be read: {why}"),
        }
    }
}

/// Reads a learner's text file `rel` of the workspace for grading: only when its real path
/// (links resolved) stays in the workspace, and only as UTF-8; Windows line endings are made
/// `\n`, so that a `^…$` line match or a comparison does not depend on them.
pub(crate) fn read_learner(workspace: &std::path::Path, rel: &str) -> Result<String, Unreadable> {
    let path = workspace.join(rel);
    let io = |e: std::io::Error| Unreadable::Io(rel.to_string(), e.to_string());
    if std::fs::symlink_metadata(&path).is_err() {
        return Err(Unreadable::Missing(rel.to_string()));
    }
    let root = std::fs::canonicalize(workspace).map_err(io)?;
    let real = match std::fs::canonicalize(&path) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(match crate::workspace::link_leaves(&root, &path) {
                Some(target) => Unreadable::Outside {
                    file: rel.to_string(),
                    target,
                },
                None => Unreadable::Missing(rel.to_string()),
            });
        }
        Err(e) => return Err(io(e)),
    };
    if !real.starts_with(&root) {
        return Err(Unreadable::Outside {
            file: rel.to_string(),
            target: real,
        });
    }
    let bytes = std::fs::read(&real).map_err(io)?;
    match String::from_utf8(bytes) {
        Ok(t) => Ok(t.replace("\r\n", "\n")),
        Err(e) => {
            let offset = e.utf8_error().valid_up_to();
            let line = 1 + e.as_bytes()[..offset].iter().filter(|b| **b == b'\n').count();
            Err(Unreadable::NotUtf8 {
                file: rel.to_string(),
                line,
                offset,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_line_endings_read_as_lf() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("q.promql");
        std::fs::write(&p, "# Unit: seconds\r\n# Returns labels: route\r\nsum(x)\r\n").unwrap();
        let t = read_learner(dir.path(), "q.promql").unwrap();
        assert_eq!(t, "# Unit: seconds\n# Returns labels: route\nsum(x)\n");
        assert_eq!(read_text(&p).unwrap(), t);
        assert_eq!(
            read_learner(dir.path(), "missing"),
            Err(Unreadable::Missing("missing".into()))
        );
    }

    #[test]
    fn a_file_that_is_not_utf8_says_where() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.yml"), b"ok: 1\nname: caf\xe9\n").unwrap();
        let e = read_learner(dir.path(), "a.yml").unwrap_err().to_string();
        assert_eq!(
            e,
            "a.yml is not UTF-8 text (line 2, byte offset 15): save it as UTF-8"
        );
    }

    #[test]
    fn a_link_out_of_the_workspace_is_never_read() {
        let outside = tempfile::tempdir().unwrap();
        let secret = outside.path().join("shadow");
        std::fs::write(&secret, "root:SECRETHASH\n").unwrap();
        let ws = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(&secret, ws.path().join("answers.yaml")).unwrap();
        std::os::unix::fs::symlink(outside.path(), ws.path().join("etc")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("gone"), ws.path().join("dangling")).unwrap();
        for f in ["answers.yaml", "etc/shadow", "dangling"] {
            let e = read_learner(ws.path(), f).unwrap_err();
            assert!(matches!(e, Unreadable::Outside { .. }), "{f}: {e:?}");
            let msg = e.to_string();
            assert!(
                msg.contains("outside the workspace") && !msg.contains("SECRET"),
                "{msg}"
            );
        }
        // A link inside the workspace is read.
        std::fs::write(ws.path().join("real.yaml"), "a: 1\n").unwrap();
        std::os::unix::fs::symlink("real.yaml", ws.path().join("alias.yaml")).unwrap();
        assert_eq!(read_learner(ws.path(), "alias.yaml").unwrap(), "a: 1\n");
    }
}
