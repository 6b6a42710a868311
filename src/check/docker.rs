//! Checks that ask Docker: `exec` (promtool, amtool in the lab's own containers) and
//! `container` (inspect facts). They go through the runtime module, never bollard.

use serde_json::Value;

use super::compare::{Cmp, show};
use super::spec::{ContainerCheck, ExecCheck};
use super::{Ctx, Eval, trim};

/// `exec:`
pub async fn exec(ctx: &Ctx, c: &ExecCheck) -> Eval {
    let id = match ctx.container(&c.service) {
        Ok(id) => id,
        Err(e) => return Eval::fail(format!("`{}` to run", c.cmd.join(" ")), e),
    };
    let out = match ctx.docker.exec(&id, &c.cmd).await {
        Ok(o) => o,
        Err(e) => {
            return Eval::fail(
                format!("`{}` to run in {}", c.cmd.join(" "), c.service),
                e.to_string(),
            );
        }
    };
    let code_cmp = c.exit_code.clone().unwrap_or_else(|| Cmp::eq(Value::from(0)));
    let tail = |s: &str| {
        s.lines()
            .rev()
            .take(20)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let fail = |expected: String, observed: String| {
        let mut e = Eval::fail(expected, observed);
        e.detail
            .extend(tail(&out.stdout).into_iter().map(|l| format!("stdout: {l}")));
        e.detail
            .extend(tail(&out.stderr).into_iter().map(|l| format!("stderr: {l}")));
        e
    };
    if let Err(why) = code_cmp.check(Some(&Value::from(out.exit_code))) {
        return fail(
            format!("`{}` to exit {}", c.cmd.join(" "), code_cmp.describe()),
            format!("it exited {} ({why})", out.exit_code),
        );
    }
    for (name, cmp, text) in [
        ("stdout", &c.stdout, &out.stdout),
        ("stderr", &c.stderr, &out.stderr),
    ] {
        if let Some(cmp) = cmp
            && let Err(why) = cmp.check(Some(&Value::String(text.clone())))
        {
            return fail(
                format!("{name} {}", cmp.describe()),
                format!("{name} was {} ({why})", trim(text, 120)),
            );
        }
    }
    Eval::pass(
        format!("`{}` to succeed", c.cmd.join(" ")),
        format!("exit {}", out.exit_code),
    )
}

/// `container:`
pub async fn container(ctx: &Ctx, c: &ContainerCheck) -> Eval {
    let id = match ctx.container(&c.service) {
        Ok(id) => id,
        Err(e) => return Eval::fail(format!("container {}", c.service), e),
    };
    let doc = match ctx.docker.inspect_json(&id).await {
        Ok(d) => d,
        Err(e) => return Eval::fail(format!("container {}", c.service), e.to_string()),
    };
    judge_container(&doc, c)
}

/// Judges a container's inspect document.
pub fn judge_container(doc: &Value, c: &ContainerCheck) -> Eval {
    let cmd = {
        let mut parts: Vec<String> = Vec::new();
        for p in ["/Path", "/Args"] {
            match doc.pointer(p) {
                Some(Value::String(s)) => parts.push(s.clone()),
                Some(Value::Array(a)) => parts.extend(a.iter().filter_map(Value::as_str).map(str::to_string)),
                _ => {}
            }
        }
        parts.join(" ")
    };
    let facts: [(&str, Option<Cmp>, Option<Value>); 7] = [
        (
            "running",
            c.running.map(|b| Cmp::eq(Value::Bool(b))),
            doc.pointer("/State/Running").cloned(),
        ),
        ("user", c.user.clone(), doc.pointer("/Config/User").cloned()),
        (
            "restarts",
            c.restarts.clone(),
            doc.pointer("/RestartCount").cloned(),
        ),
        (
            "memory limit",
            c.memory_limit.clone(),
            doc.pointer("/HostConfig/Memory").cloned(),
        ),
        (
            "privileged",
            c.privileged.map(|b| Cmp::eq(Value::Bool(b))),
            doc.pointer("/HostConfig/Privileged").cloned(),
        ),
        (
            "read-only root filesystem",
            c.readonly_rootfs.map(|b| Cmp::eq(Value::Bool(b))),
            doc.pointer("/HostConfig/ReadonlyRootfs").cloned(),
        ),
        ("command line", c.cmd.clone(), Some(Value::String(cmd))),
    ];
    let mut seen = Vec::new();
    for (what, cmp, got) in facts {
        let Some(cmp) = cmp else { continue };
        let got = got.unwrap_or(Value::Null);
        if let Err(why) = cmp.check(Some(&got)) {
            return Eval::fail(
                format!("{}: {what} {}", c.service, cmp.describe()),
                format!("{what} is {} ({why})", show(&got)),
            );
        }
        seen.push(format!("{what}={}", show(&got)));
    }
    Eval::pass(format!("container {}", c.service), seen.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn container_facts() {
        let doc = json!({"State":{"Running":true},"Config":{"User":"65534"},"RestartCount":0,"HostConfig":{"Privileged":false,"Memory":0,"ReadonlyRootfs":false},"Path":"/bin/prometheus","Args":["--web.enable-lifecycle"]});
        let c: ContainerCheck = serde_yaml::from_str("{service: p, running: true, user: {not_in: ['', '0', root]}, privileged: false, cmd: {contains: enable-lifecycle}}").unwrap();
        assert!(judge_container(&doc, &c).pass);
        let c: ContainerCheck = serde_yaml::from_str("{service: p, readonly_rootfs: true}").unwrap();
        assert!(!judge_container(&doc, &c).pass);
    }
}
