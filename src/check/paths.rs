//! JMESPath into JSON documents (a server's config or status, an HTTP answer, a learner's
//! YAML file): `path:` expectations judged, and what a path reads.

use serde_json::Value;

use super::outcome::Eval;
use crate::lab::compare::show;
use crate::lab::spec::PathExpect;

/// Evaluates JMESPath expectations against a JSON document.
pub(crate) fn judge_paths(doc: &Value, expects: &[PathExpect], what: &str) -> Eval {
    let mut seen = Vec::new();
    for pe in expects {
        let got = match jmes(doc, &pe.path) {
            Ok(g) => g,
            Err(e) => return Eval::fail(format!("a valid path {}", pe.path), e),
        };
        let shown = got.as_ref().map_or_else(|| "absent".to_string(), show);
        let named = pe.what.as_deref().unwrap_or(&pe.path);
        if let Err(why) = pe.expect.check(got.as_ref()) {
            return Eval::fail(
                format!("{what}: {named} {}", pe.expect.describe()),
                format!("{named}: {shown} ({why})"),
            );
        }
        seen.push(format!("{named}: {shown}"));
    }
    Eval::pass(what.to_string(), seen.join(", "))
}

/// Evaluates a JMESPath expression; `None` when it yields null.
pub(crate) fn jmes(doc: &Value, path: &str) -> Result<Option<Value>, String> {
    let expr = jmespath::compile(path).map_err(|e| format!("bad JMESPath `{path}`: {e}"))?;
    let data = jmespath::Variable::from_json(&doc.to_string()).map_err(|e| e.to_string())?;
    let out = expr.search(data).map_err(|e| format!("JMESPath `{path}`: {e}"))?;
    let v: Value = serde_json::to_value(&*out).map_err(|e| e.to_string())?;
    Ok(if v.is_null() { None } else { Some(v) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn jmespath_paths() {
        let doc = json!({"global": {"scrape_interval": "10s"}, "scrape_configs": [{"job_name": "a"}]});
        assert_eq!(jmes(&doc, "global.scrape_interval").unwrap(), Some(json!("10s")));
        assert_eq!(jmes(&doc, "global.nope").unwrap(), None);
        assert_eq!(
            jmes(&doc, "scrape_configs[*].job_name").unwrap(),
            Some(json!(["a"]))
        );
    }

    #[test]
    fn a_path_with_plain_words_is_reported_in_those_words() {
        let doc = json!({"remote_write": [{"url": "http://localhost:8428/api/v1/write"}]});
        let path = "remote_write[?starts_with(url, 'http://vm:8428/')] | length(@)";
        let plain: Vec<PathExpect> = crate::yaml::parse(&format!(
            "[{{path: \"{path}\", expect: {{ge: 1}}, what: remote_write entries sending to VM}}]"
        ))
        .unwrap();
        let e = judge_paths(&doc, &plain, "prometheus config");
        assert!(!e.pass);
        assert_eq!(
            e.expected,
            "prometheus config: remote_write entries sending to VM ≥ 1"
        );
        assert!(
            e.observed.starts_with("remote_write entries sending to VM: 0"),
            "{}",
            e.observed
        );
        let raw: Vec<PathExpect> =
            crate::yaml::parse(&format!("[{{path: \"{path}\", expect: {{ge: 1}}}}]")).unwrap();
        assert!(
            judge_paths(&doc, &raw, "prometheus config")
                .expected
                .contains(path)
        );
    }
}
