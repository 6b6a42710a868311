//! Lab content: ids, the roadmap, lab manifests and the catalog that finds them on disk,
//! and the lab format the grader reads: check specs (`spec`), comparators (`compare`),
//! per-learner parameters and templating (`template`).
//!
//! The lab format is a leaf: nothing here depends on the grader (`check`), the runtime or the
//! commands; `check` depends on it.

pub mod catalog;
pub mod compare;
pub mod id;
pub mod manifest;
pub mod roadmap;
pub mod spec;
pub mod template;

pub use catalog::Catalog;
pub use id::LabId;
pub use manifest::{Lab, Manifest};
pub use roadmap::Roadmap;
// LabError, read_text and the YAML helpers live in crate::yaml (a leaf, so stack/ can use
// them without importing lab/); these re-exports keep the `crate::lab::…` paths working.
pub use crate::yaml::{LabError, read_text};
