//! Images: whether one is present, its labels, pulling one, importing a root filesystem.

use bollard::query_parameters::CreateImageOptions;
use futures::StreamExt;

use super::{Docker, PullEvent, api, classify, first_line, status_of};
use crate::runtime::RuntimeError;

impl Docker {
    /// Whether an image is present locally.
    pub async fn image_present(&self, image: &str) -> Result<bool, RuntimeError> {
        match self.inner.inspect_image(image).await {
            Ok(_) => Ok(true),
            Err(e) if status_of(&e) == Some(404) => Ok(false),
            Err(e) => Err(classify(&format!("inspect image {image}"), e)),
        }
    }

    /// A label of an image, if the image exists and has it.
    pub async fn image_label(&self, image: &str, label: &str) -> Result<Option<String>, RuntimeError> {
        match self.inner.inspect_image(image).await {
            Ok(i) => Ok(i
                .config
                .and_then(|c| c.labels)
                .and_then(|l| l.get(label).cloned())),
            Err(e) if status_of(&e) == Some(404) => Ok(None),
            Err(e) => Err(classify(&format!("inspect image {image}"), e)),
        }
    }

    /// Pulls an image, reporting progress.
    pub async fn pull(&self, image: &str, mut progress: impl FnMut(PullEvent)) -> Result<(), RuntimeError> {
        let opts = CreateImageOptions {
            from_image: Some(image.to_string()),
            ..Default::default()
        };
        let mut stream = self.inner.create_image(Some(opts), None, None);
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => {
                    let pd = info.progress_detail.unwrap_or_default();
                    progress((
                        info.id.unwrap_or_default(),
                        info.status.unwrap_or_default(),
                        pd.current.and_then(|c| u64::try_from(c).ok()),
                        pd.total.and_then(|c| u64::try_from(c).ok()),
                    ));
                }
                Err(e) => {
                    return Err(RuntimeError::ImageMissing {
                        image: image.to_string(),
                        detail: first_line(&e.to_string()),
                    });
                }
            }
        }
        Ok(())
    }

    /// Imports a root filesystem tarball as an image (`docker import`), with Dockerfile-style
    /// `changes` such as `ENTRYPOINT ["/promlab"]`.
    pub async fn import_rootfs(
        &self,
        tar: std::fs::File,
        repo: &str,
        tag: &str,
        changes: Vec<String>,
    ) -> Result<(), RuntimeError> {
        let opts = CreateImageOptions {
            from_src: Some("-".to_string()),
            repo: Some(repo.to_string()),
            tag: Some(tag.to_string()),
            changes,
            ..Default::default()
        };
        // Streamed from the file in chunks: the archive is never whole in memory.
        let body =
            bollard::body_try_stream(tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(tar)));
        let mut stream = self.inner.create_image(Some(opts), Some(body), None);
        while let Some(item) = stream.next().await {
            item.map_err(api(format!("import image {repo}:{tag}")))?;
        }
        Ok(())
    }
}
