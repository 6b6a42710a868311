//! Generic HTTP checks (`http`) and metrics pages parsed (`exposition`).

use super::spec::{ExpositionCheck, HttpCheck};
use super::{Ctx, Eval};

/// `http:`
pub async fn http(_ctx: &Ctx, _c: &HttpCheck) -> Eval {
    Eval::fail("an http check", "http checks are not implemented in this build")
}

/// `exposition:`
pub async fn exposition(_ctx: &Ctx, _c: &ExpositionCheck) -> Eval {
    Eval::fail(
        "an exposition check",
        "exposition checks are not implemented in this build",
    )
}
