//! Checks on alerting: `alert` (at Prometheus or Alertmanager), `silence`, `notification`
//! (what the built-in webhook sink received).

use super::spec::{AlertCheck, NotificationCheck, SilenceCheck};
use super::{Ctx, Eval};

/// `alert:`
pub async fn alert(_ctx: &Ctx, c: &AlertCheck) -> Eval {
    Eval::fail(
        "an alert check",
        format!("alert checks at {} are not implemented in this build", c.at),
    )
}

/// `silence:`
pub async fn silence(_ctx: &Ctx, _c: &SilenceCheck) -> Eval {
    Eval::fail(
        "a silence check",
        "silence checks are not implemented in this build",
    )
}

/// `notification:`
pub async fn notification(_ctx: &Ctx, _c: &NotificationCheck) -> Eval {
    Eval::fail(
        "a notification check",
        "notification checks are not implemented in this build",
    )
}
