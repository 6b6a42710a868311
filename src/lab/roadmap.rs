//! The roadmap as data (`labs/roadmap.yaml`): sections and topics, ids and titles.

use std::path::Path;

use serde::Deserialize;

use super::{LabError, LabId};
use crate::yaml;

/// Newest `format_version` of `roadmap.yaml` this build reads.
pub const ROADMAP_FORMAT_VERSION: u32 = 1;

/// The whole roadmap.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Roadmap {
    /// File format version.
    pub format_version: u32,
    /// Sections in roadmap order.
    pub sections: Vec<Section>,
}

/// One roadmap section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    /// Section number.
    pub id: u16,
    /// Section title, verbatim.
    pub title: String,
    /// Topics in roadmap order.
    pub topics: Vec<Topic>,
}

/// One roadmap topic (one lab, when it exists).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Topic {
    /// Topic id, e.g. `8.3`.
    pub id: LabId,
    /// Topic title, verbatim.
    pub title: String,
}

impl Roadmap {
    /// Reads and checks `roadmap.yaml`: ids unique and inside their section.
    pub fn load(path: &Path) -> Result<Self, LabError> {
        let text = super::read_text(path)?;
        let map: Roadmap = yaml::from_str(path, &text)?;
        if map.format_version != ROADMAP_FORMAT_VERSION {
            return Err(LabError::invalid(
                path,
                &text,
                "format_version",
                format!(
                    "format_version {} is not supported; this promlab reads {ROADMAP_FORMAT_VERSION}",
                    map.format_version
                ),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for s in &map.sections {
            for t in &s.topics {
                if t.id.section != s.id {
                    return Err(LabError::invalid(
                        path,
                        &text,
                        &format!("\"{}\"", t.id),
                        format!("topic {} is listed under section {}", t.id, s.id),
                    ));
                }
                if !seen.insert(t.id) {
                    let needle = format!("\"{}\"", t.id);
                    return Err(LabError::Invalid {
                        file: path.to_path_buf(),
                        line: yaml::last_line_of(&text, &needle),
                        message: format!("topic {} is listed twice", t.id),
                    });
                }
            }
        }
        Ok(map)
    }

    /// Every topic, in roadmap order.
    pub fn topics(&self) -> impl Iterator<Item = (&Section, &Topic)> {
        self.sections
            .iter()
            .flat_map(|s| s.topics.iter().map(move |t| (s, t)))
    }

    /// The topic with this id.
    pub fn topic(&self, id: LabId) -> Option<&Topic> {
        self.topics().map(|(_, t)| t).find(|t| t.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_roadmap() -> Roadmap {
        Roadmap::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/roadmap.yaml")).unwrap()
    }

    #[test]
    fn has_25_sections_and_263_topics() {
        let map = repo_roadmap();
        assert_eq!(map.sections.len(), 25);
        assert_eq!(map.topics().count(), 263);
        assert_eq!(
            map.topic(LabId::new(25, 25)).unwrap().title,
            "Strategic Partnerships"
        );
    }

    #[test]
    /// `labs/roadmap.txt` is the roadmap text, copied verbatim into the repo (so this test
    /// runs in any clone); `labs/roadmap.yaml` must list the same topics, ids and titles.
    fn matches_the_roadmap_text_verbatim() {
        let txt_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/roadmap.txt");
        let txt = std::fs::read_to_string(&txt_path)
            .unwrap_or_else(|e| panic!("cannot read the roadmap text {}: {e}", txt_path.display()));
        let from_text: Vec<(String, String)> = txt
            .lines()
            .filter_map(|l| l.strip_prefix("- "))
            .filter_map(|l| l.split_once(' '))
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let from_yaml: Vec<(String, String)> = repo_roadmap()
            .topics()
            .map(|(_, t)| (t.id.to_string(), t.title.clone()))
            .collect();
        assert_eq!(from_text, from_yaml);
    }

    #[test]
    fn duplicate_topic_is_rejected_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("roadmap.yaml");
        std::fs::write(
            &p,
            "format_version: 1\nsections:\n  - id: 1\n    title: A\n    topics:\n      - {id: \"1.1\", title: x}\n      - {id: \"1.1\", title: y}\n",
        )
        .unwrap();
        let err = Roadmap::load(&p).unwrap_err().to_string();
        assert!(err.contains("roadmap.yaml:7"), "{err}");
        assert!(err.contains("listed twice"), "{err}");
    }
}
