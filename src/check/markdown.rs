//! Markdown sources a check can read from the learner's documents: tables (as rows keyed by
//! their header cells) and fenced code blocks (a query kept in a runbook). Parsing is
//! pulldown-cmark's; this module only shapes what it reports.

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};
use serde_json::{Map, Value};

/// Every table of a Markdown text, in order: each an array of rows, each row an object from
/// header cell to cell text (trimmed; inline formatting dropped).
pub fn tables(text: &str) -> Value {
    let mut out: Vec<Value> = Vec::new();
    let mut header: Vec<String> = Vec::new();
    let mut rows: Vec<Value> = Vec::new();
    let mut row: Vec<String> = Vec::new();
    let mut cell: Option<String> = None;
    let mut in_head = false;
    for ev in Parser::new_ext(text, Options::ENABLE_TABLES) {
        match ev {
            Event::Start(Tag::Table(_)) => {
                header.clear();
                rows.clear();
            }
            Event::Start(Tag::TableHead) => in_head = true,
            Event::End(TagEnd::TableHead) => {
                in_head = false;
                header = std::mem::take(&mut row);
            }
            Event::Start(Tag::TableCell) => cell = Some(String::new()),
            Event::End(TagEnd::TableCell) => row.push(cell.take().unwrap_or_default().trim().to_string()),
            Event::End(TagEnd::TableRow) if !in_head => {
                let obj: Map<String, Value> = header
                    .iter()
                    .cloned()
                    .zip(std::mem::take(&mut row).into_iter().map(Value::String))
                    .collect();
                rows.push(Value::Object(obj));
            }
            Event::End(TagEnd::Table) => out.push(Value::Array(std::mem::take(&mut rows))),
            Event::Text(t) | Event::Code(t) => {
                if let Some(c) = cell.as_mut() {
                    c.push_str(&t);
                }
            }
            _ => {}
        }
    }
    Value::Array(out)
}

/// The fenced code blocks of a Markdown text whose info string starts with `lang`.
pub(crate) fn code_blocks(text: &str, lang: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for ev in Parser::new(text) {
        match ev {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info)))
                if info.split_whitespace().next() == Some(lang) =>
            {
                current = Some(String::new());
            }
            Event::Text(t) => {
                if let Some(c) = current.as_mut() {
                    c.push_str(&t);
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some(c) = current.take() {
                    out.push(c);
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const RUNBOOK: &str = "# DemoDown runbook\n\n| Alert | Severity | Owner |\n|---|:-:|---|\n| DemoDown | **page** | `team-web` |\n| DemoSlow | ticket | team-web |\n\nThe query:\n\n```promql\nsum by (job) (up{job=\"demo\"}) == 0\n```\n\n```yaml\nnot: this\n```\n\n| Step | Command |\n| --- | --- |\n| 1 | check /targets |\n";

    #[test]
    fn tables_become_rows_keyed_by_header() {
        let t = tables(RUNBOOK);
        assert_eq!(t.as_array().unwrap().len(), 2);
        assert_eq!(
            t[0],
            json!([
                {"Alert": "DemoDown", "Severity": "page", "Owner": "team-web"},
                {"Alert": "DemoSlow", "Severity": "ticket", "Owner": "team-web"}
            ])
        );
        assert_eq!(t[1][0]["Command"], "check /targets");
        assert_eq!(tables("no tables here"), json!([]));
    }

    #[test]
    fn code_blocks_by_language() {
        assert_eq!(
            code_blocks(RUNBOOK, "promql"),
            vec!["sum by (job) (up{job=\"demo\"}) == 0\n".to_string()]
        );
        assert_eq!(code_blocks(RUNBOOK, "yaml").len(), 1);
        assert!(code_blocks(RUNBOOK, "sql").is_empty());
    }
}
