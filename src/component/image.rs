//! Packages the running promlab binary, with exactly the shared libraries it needs, into a
//! local image (imported through the Engine API: no registry, no base image). The tag
//! `:auto` in an images file stands for `<promlab version>-<binary hash>`, so a rebuilt
//! binary gets a new image.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::runtime::docker::Docker;

/// The tag that stands for "this binary".
pub const AUTO_TAG: &str = ":auto";

/// The running binary, to read. On Linux `/proc/self/exe` still opens when the file was
/// replaced or deleted while promlab runs (an upgrade mid-`validate`).
fn exe() -> Result<PathBuf, Error> {
    let proc_exe = PathBuf::from("/proc/self/exe");
    if proc_exe.exists() {
        return Ok(proc_exe);
    }
    exe_path()
}

/// The running binary's path on disk, for `ldd` (which must not be given `/proc/self/exe`:
/// in its own process that names `ldd`'s loader, not promlab).
fn exe_path() -> Result<PathBuf, Error> {
    let p = std::env::current_exe()
        .map_err(|e| Error::Other(format!("cannot locate the promlab binary: {e}")))?;
    let shown = p.display().to_string();
    Ok(PathBuf::from(shown.trim_end_matches(" (deleted)")))
}

/// `<version>-<first 12 hex of the binary's sha256>`.
pub fn binary_tag() -> Result<String, Error> {
    // The running binary does not change under a process (see `exe`): hashed once.
    static TAG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    if let Some(tag) = TAG.get() {
        return Ok(tag.clone());
    }
    let tag = hash_binary()?;
    Ok(TAG.get_or_init(|| tag).clone())
}

fn hash_binary() -> Result<String, Error> {
    let path = exe()?;
    let f = std::fs::File::open(&path).map_err(Error::io("read", &path))?;
    let digest = crate::hash::sha256_reader(f).map_err(Error::io("read", &path))?;
    let hex = crate::hash::hex(&digest[..6]);
    Ok(format!("{}-{hex}", env!("CARGO_PKG_VERSION")))
}

/// Resolves `repo:auto` to `repo:<version>-<hash>`; other references are returned as they are.
pub fn resolve(reference: &str) -> Result<String, Error> {
    match reference.strip_suffix(AUTO_TAG) {
        Some(repo) => Ok(format!("{repo}:{}", binary_tag()?)),
        None => Ok(reference.to_string()),
    }
}

/// The shared libraries (and loader) a binary needs, from `ldd`.
fn libraries(bin: &Path) -> Result<Vec<PathBuf>, Error> {
    let out = std::process::Command::new("ldd").arg(bin).output().map_err(|e| {
        Error::Other(format!(
            "cannot package promlab into an image here (`ldd` failed: {e}); this needs a Linux host — elsewhere use the demo and sink images from compose/images.yaml"
        ))
    })?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut libs = Vec::new();
    for line in text.lines() {
        let path = match line.split_once("=>") {
            Some((_, rhs)) => rhs.split_whitespace().next(),
            None => line.split_whitespace().next(),
        };
        if let Some(p) = path.filter(|p| p.starts_with('/')) {
            libs.push(PathBuf::from(p));
        }
    }
    if libs.is_empty() && !text.contains("statically linked") {
        return Err(Error::Other(format!(
            "`ldd {}` listed no libraries: {}",
            bin.display(),
            text.trim()
        )));
    }
    Ok(libs)
}

fn add_file(
    tar: &mut tar::Builder<std::fs::File>,
    path_in_image: &str,
    data: &[u8],
    mode: u32,
) -> Result<(), Error> {
    add_entry(tar, path_in_image, data.len() as u64, data, mode)
}

/// Copies a file of the host into the archive as it reads it (no second copy in memory).
fn add_host_file(
    tar: &mut tar::Builder<std::fs::File>,
    path_in_image: &str,
    host: &Path,
) -> Result<(), Error> {
    let f = std::fs::File::open(host).map_err(Error::io("read", host))?;
    let len = f.metadata().map_err(Error::io("read", host))?.len();
    add_entry(tar, path_in_image, len, f, 0o755)
}

fn add_entry(
    tar: &mut tar::Builder<std::fs::File>,
    path_in_image: &str,
    len: u64,
    data: impl Read,
    mode: u32,
) -> Result<(), Error> {
    let mut header = tar::Header::new_gnu();
    header.set_size(len);
    header.set_mode(mode);
    header.set_uid(0);
    header.set_gid(0);
    header.set_cksum();
    tar.append_data(&mut header, path_in_image.trim_start_matches('/'), data)
        .map_err(|e| Error::Other(format!("cannot write the image archive: {e}")))
}

fn add_dir(tar: &mut tar::Builder<std::fs::File>, path_in_image: &str, mode: u32) -> Result<(), Error> {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Directory);
    header.set_size(0);
    header.set_mode(mode);
    header.set_cksum();
    tar.append_data(
        &mut header,
        format!("{}/", path_in_image.trim_start_matches('/')),
        std::io::empty(),
    )
    .map_err(|e| Error::Other(format!("cannot write the image archive: {e}")))
}

/// The root filesystem of the image, as a tar archive in an anonymous temporary file
/// (rewound): it holds the binary and its libraries, tens of MB not kept in memory.
pub fn rootfs() -> Result<std::fs::File, Error> {
    let bin = exe()?;
    let libs = libraries(&exe_path()?)?;
    let archive_error = |e: std::io::Error| Error::Other(format!("cannot write the image archive: {e}"));
    let mut tar = tar::Builder::new(tempfile::tempfile().map_err(archive_error)?);
    for d in ["etc", "tmp", "lib", "lib64", "usr", "usr/lib"] {
        add_dir(&mut tar, d, if d == "tmp" { 0o1777 } else { 0o755 })?;
    }
    add_host_file(&mut tar, "promlab", &bin)?;
    for lib in libs {
        add_host_file(&mut tar, &lib.display().to_string(), &lib)?;
    }
    add_file(
        &mut tar,
        "etc/passwd",
        b"root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n",
        0o644,
    )?;
    add_file(&mut tar, "etc/group", b"root:x:0:\nnogroup:x:65534:\n", 0o644)?;
    add_file(&mut tar, "etc/nsswitch.conf", b"hosts: files dns\n", 0o644)?;
    let mut file = tar.into_inner().map_err(archive_error)?;
    std::io::Seek::rewind(&mut file).map_err(archive_error)?;
    Ok(file)
}

/// Builds (imports) the image `reference` (`repo:auto` or `repo:tag`) unless it exists.
pub async fn build(docker: &Docker, reference: &str, force: bool) -> Result<String, Error> {
    let resolved = resolve(reference)?;
    if !force && docker.image_present(&resolved).await? {
        return Ok(resolved);
    }
    if !cfg!(target_os = "linux") {
        return Err(Error::Other(format!(
            "cannot package promlab into {resolved} on {}: use a registry image for demo and sink",
            std::env::consts::OS
        )));
    }
    let (repo, tag) = resolved.rsplit_once(':').unwrap_or((resolved.as_str(), "auto"));
    let tar = rootfs()?;
    docker
        .import_rootfs(
            tar,
            repo,
            tag,
            vec![
                "ENTRYPOINT [\"/promlab\"]".to_string(),
                "USER 65534".to_string(),
                format!(
                    "LABEL org.opencontainers.image.version={}",
                    env!("CARGO_PKG_VERSION")
                ),
            ],
        )
        .await?;
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    #[test]
    fn the_archive_holds_the_running_binary_whole_and_its_libraries() {
        let mut archive = tar::Archive::new(super::rootfs().unwrap());
        let exe = std::fs::read("/proc/self/exe").unwrap();
        let mut names = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let name = entry.path().unwrap().display().to_string();
            if name == "promlab" {
                let mut data = Vec::new();
                entry.read_to_end(&mut data).unwrap();
                assert!(data == exe, "the packaged binary differs from the running one");
            }
            names.push(name);
        }
        assert!(names.iter().any(|n| n == "promlab"), "{names:?}");
        assert!(
            names.iter().any(|n| n.contains("ld-linux")),
            "no loader in {names:?}"
        );
        assert!(names.iter().any(|n| n == "etc/passwd"), "{names:?}");
    }

    #[test]
    fn the_binary_tag_is_stable_within_a_process() {
        let a = super::binary_tag().unwrap();
        assert_eq!(a, super::binary_tag().unwrap());
        assert!(a.starts_with(concat!(env!("CARGO_PKG_VERSION"), "-")), "{a}");
    }
}
