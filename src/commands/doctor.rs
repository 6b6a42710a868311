//! `doctor` (preflight) and `images` (list, pull, build-local), plus building the self-made
//! demo and sink images on demand.

use crate::error::Error;
use crate::exit;
use crate::lab::Catalog;
use crate::runtime::StackPlan;
use crate::runtime::docker::Docker;
use crate::stack::images::{ImageMap, SELF_BUILT};

/// Builds the demo/sink images when a plan needs them and they are missing.
pub async fn ensure_self_built(docker: &Docker, plan: &StackPlan) -> Result<(), Error> {
    // One build at a time in this process: `validate` brings several stacks up at once, and
    // each would otherwise package the same binary (tens of MB held in memory per copy).
    // `build` looks again once it holds the lock, so the waiting ones find the image made.
    static BUILDING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    for c in &plan.containers {
        if SELF_BUILT.contains(&c.logical_image.as_str()) && !docker.image_present(&c.image).await? {
            let _one_at_a_time = BUILDING.lock().await;
            crate::component::image::build(docker, &c.image, false).await?;
        }
    }
    Ok(())
}

/// `promlab doctor`.
pub async fn doctor() -> Result<u8, Error> {
    let mut ok = true;
    let catalog = match Catalog::discover() {
        Ok(c) => {
            println!("✓ labs found in {}", c.root.display());
            Some(c)
        }
        Err(e) => {
            println!("✗ {e}");
            ok = false;
            None
        }
    };
    match Docker::connect().await {
        Ok(d) => {
            let (v, api) = d.version().await.unwrap_or_default();
            println!("✓ Docker {v} reachable (API {api})");
            if let Some(c) = &catalog {
                let images = ImageMap::selected(&c.root)?;
                println!("  images from {}", images.source.display());
                for (name, reference) in &images.images {
                    let present = d.image_present(reference).await.unwrap_or(false);
                    let note = if present {
                        "present"
                    } else if SELF_BUILT.contains(&name.as_str()) {
                        "missing (built on demand by `promlab up`)"
                    } else {
                        "missing (`make images`, or a registry)"
                    };
                    println!(
                        "  {} {name:<18} {reference:<45} {note}",
                        if present { "✓" } else { "·" }
                    );
                }
            }
        }
        Err(e) => {
            println!("✗ {e}");
            ok = false;
        }
    }
    for port in [9090u16, 9093, 9100, 9099, 8080] {
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
            println!("· port {port} is taken on 127.0.0.1: labs will use an ephemeral port instead");
        }
    }
    println!("  architecture {}", std::env::consts::ARCH);
    Ok(if ok { exit::OK } else { exit::RUNTIME })
}

/// `promlab images …`.
pub async fn images(action: crate::cli::ImagesAction) -> Result<u8, Error> {
    use crate::cli::ImagesAction;
    let catalog = Catalog::discover()?;
    let docker = Docker::connect().await?;
    let map = ImageMap::selected(&catalog.root)?;
    match action {
        ImagesAction::List => {
            for (name, reference) in &map.images {
                let present = docker.image_present(reference).await?;
                println!("{} {name:<18} {reference}", if present { "✓" } else { "·" });
            }
        }
        ImagesAction::Pull => {
            for (name, reference) in &map.images {
                if SELF_BUILT.contains(&name.as_str()) || docker.image_present(reference).await? {
                    continue;
                }
                println!("pulling {reference}");
                docker.pull(reference, |_| {}).await?;
            }
        }
        ImagesAction::BuildLocal { force } => {
            for name in SELF_BUILT {
                if let Some(reference) = map.resolve(name) {
                    crate::component::image::build(&docker, reference, force).await?;
                    println!("{name}: {reference} ready");
                }
            }
        }
    }
    Ok(exit::OK)
}
