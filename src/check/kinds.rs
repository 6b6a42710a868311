//! The grader's side of the kinds table (`lab::spec::for_each_kind!`): every kind's spec
//! type is judged by the module of the system it talks to, through [`Judge`], and
//! [`eval_once`] dispatches on the kind.

use futures::future::BoxFuture;

use super::context::Ctx;
use super::outcome::Eval;
use crate::lab::spec::*;

/// Judging one kind of check once, against the live stack.
pub(crate) trait Judge {
    /// Evaluates the check once.
    fn judge<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Eval>;
}

macro_rules! dispatch {
    ($( $(#[$doc:meta])* $key:ident => $variant:ident($ty:ty), )*) => {
        /// Evaluates one check once.
        pub(crate) fn eval_once<'a>(ctx: &'a Ctx, spec: &'a CheckSpec) -> BoxFuture<'a, Eval> {
            Box::pin(async move {
                match spec.kind() {
                    Err(e) => Eval::fail("a valid check", e),
                    $(Ok(Kind::$variant(c)) => c.judge(ctx).await,)*
                }
            })
        }
    };
}

for_each_kind!(dispatch);
