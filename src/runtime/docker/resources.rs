//! Networks and volumes (create, list by label) and removing all of a project's objects.

use std::collections::HashMap;

use bollard::models::{NetworkCreateRequest, VolumeCreateRequest};
use bollard::query_parameters::{ListNetworksOptions, ListVolumesOptions, RemoveVolumeOptions};

use super::{Docker, Removed, api, classify, label_filter, status_of};
use crate::runtime::{LABEL_LAB, LABEL_PROJECT, RuntimeError};

impl Docker {
    /// Creates the lab network, or reuses the one promlab already made for this project
    /// (found by label, so a second network of the same name is never made). Returns whether
    /// it was created.
    pub async fn ensure_network(
        &self,
        name: &str,
        labels: &std::collections::BTreeMap<String, String>,
    ) -> Result<bool, RuntimeError> {
        let project = labels.get(LABEL_PROJECT).map_or("", String::as_str);
        let mine = self.owned_networks(&[(LABEL_PROJECT, project)]).await?;
        if mine.iter().any(|(_, n)| n == name) {
            return Ok(false);
        }
        // The engine (before API 1.44) accepts a second network of a taken name; a name
        // taken by someone else's network would then be ambiguous for every container.
        match self
            .inner
            .inspect_network(name, None::<bollard::query_parameters::InspectNetworkOptions>)
            .await
        {
            Ok(_) => {
                return Err(RuntimeError::Conflict {
                    what: "network",
                    name: name.to_string(),
                });
            }
            Err(e) if status_of(&e) == Some(404) => {}
            Err(e) => return Err(classify(&format!("inspect network {name}"), e)),
        }
        let req = NetworkCreateRequest {
            name: name.to_string(),
            driver: Some("bridge".to_string()),
            labels: Some(labels.clone().into_iter().collect()),
            ..Default::default()
        };
        match self.inner.create_network(req).await {
            Ok(_) => Ok(true),
            Err(e) if status_of(&e) == Some(409) => Err(RuntimeError::Conflict {
                what: "network",
                name: name.to_string(),
            }),
            Err(e) => Err(classify(&format!("create network {name}"), e)),
        }
    }

    /// Creates a labelled named volume (idempotent).
    pub async fn ensure_volume(
        &self,
        name: &str,
        labels: &std::collections::BTreeMap<String, String>,
    ) -> Result<(), RuntimeError> {
        let req = VolumeCreateRequest {
            name: Some(name.to_string()),
            labels: Some(labels.clone().into_iter().collect()),
            ..Default::default()
        };
        self.inner
            .create_volume(req)
            .await
            .map(|_| ())
            .map_err(api(format!("create volume {name}")))
    }

    /// Promlab-owned networks with these labels, as Docker lists them.
    async fn networks_labelled(
        &self,
        labels: &[(&str, &str)],
    ) -> Result<Vec<bollard::models::Network>, RuntimeError> {
        let opts = ListNetworksOptions {
            filters: Some(label_filter(labels)),
        };
        self.inner
            .list_networks(Some(opts))
            .await
            .map_err(api("list networks"))
    }

    /// Promlab-owned volumes with these labels, as Docker lists them.
    async fn volumes_labelled(
        &self,
        labels: &[(&str, &str)],
    ) -> Result<Vec<bollard::models::Volume>, RuntimeError> {
        let opts = ListVolumesOptions {
            filters: Some(label_filter(labels)),
        };
        let list = self
            .inner
            .list_volumes(Some(opts))
            .await
            .map_err(api("list volumes"))?;
        Ok(list.volumes.unwrap_or_default())
    }

    /// Promlab-owned networks with these labels: (id, name).
    pub async fn owned_networks(
        &self,
        labels: &[(&str, &str)],
    ) -> Result<Vec<(String, String)>, RuntimeError> {
        Ok(self
            .networks_labelled(labels)
            .await?
            .into_iter()
            .filter_map(|n| Some((n.id?, n.name.unwrap_or_default())))
            .collect())
    }

    /// Names of promlab-owned volumes with these labels.
    pub async fn owned_volumes(&self, labels: &[(&str, &str)]) -> Result<Vec<String>, RuntimeError> {
        Ok(self
            .volumes_labelled(labels)
            .await?
            .into_iter()
            .map(|v| v.name)
            .collect())
    }

    /// Removes everything promlab owns with these labels: containers, then networks and
    /// volumes, each by id (a network name may be ambiguous). Idempotent.
    pub async fn remove_all(&self, labels: &[(&str, &str)]) -> Result<Removed, RuntimeError> {
        let containers = self.owned(labels).await?;
        let removals = containers.iter().map(|c| self.remove_container(&c.id));
        for r in futures::future::join_all(removals).await {
            r?;
        }
        let mut removed = Removed {
            containers: containers.len(),
            ..Removed::default()
        };
        for (id, name) in self.owned_networks(labels).await? {
            match self.inner.remove_network(&id).await {
                Ok(()) => removed.networks += 1,
                Err(e) if status_of(&e) == Some(404) => {}
                Err(e) => return Err(classify(&format!("remove network {name} ({id})"), e)),
            }
        }
        for v in self.owned_volumes(labels).await? {
            let opts = RemoveVolumeOptions { force: true };
            match self.inner.remove_volume(&v, Some(opts)).await {
                Ok(()) => removed.volumes += 1,
                Err(e) if status_of(&e) == Some(404) => {}
                Err(e) => return Err(classify(&format!("remove volume {v}"), e)),
            }
        }
        Ok(removed)
    }

    /// The (lab, project) labels of every network and volume promlab owns: what an `up`
    /// killed before its containers existed can leave behind.
    pub async fn leftover_projects(
        &self,
    ) -> Result<std::collections::BTreeSet<(String, String)>, RuntimeError> {
        let (networks, volumes) = tokio::try_join!(self.networks_labelled(&[]), self.volumes_labelled(&[]))?;
        let pair = |labels: Option<&HashMap<String, String>>| {
            let l = labels?;
            Some((l.get(LABEL_LAB)?.clone(), l.get(LABEL_PROJECT)?.clone()))
        };
        Ok(networks
            .iter()
            .filter_map(|n| pair(n.labels.as_ref()))
            .chain(volumes.iter().filter_map(|v| pair(Some(&v.labels))))
            .collect())
    }

    /// How many containers, networks and volumes promlab owns with these labels now.
    pub async fn count_owned(&self, labels: &[(&str, &str)]) -> Result<Removed, RuntimeError> {
        let (c, n, v) = tokio::try_join!(
            self.owned(labels),
            self.owned_networks(labels),
            self.owned_volumes(labels)
        )?;
        Ok(Removed {
            containers: c.len(),
            networks: n.len(),
            volumes: v.len(),
        })
    }
}
