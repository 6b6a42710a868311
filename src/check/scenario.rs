//! `scenario`: actions that make the stack do something (faults, restarts, posted alerts),
//! then nested checks; `cleanup` always runs.

use super::spec::ScenarioCheck;
use super::{Ctx, Eval};

/// `scenario:`
pub async fn run(_ctx: &Ctx, _c: &ScenarioCheck) -> Eval {
    Eval::fail("a scenario", "scenario checks are not implemented in this build")
}
