//! The one place lab data meets the YAML crate: parse with file:line errors, find lines.

use std::path::Path;

use serde::de::DeserializeOwned;

use super::LabError;

/// Parses `text` (read from `path`) into `T`, turning serde errors into file:line errors.
pub fn from_str<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, LabError> {
    serde_yaml::from_str(text).map_err(|e| {
        let line = e.location().map(|l| l.line());
        LabError::Parse {
            file: path.to_path_buf(),
            line,
            message: tidy(&e.to_string()),
        }
    })
}

/// Parses YAML text into a generic value (for learner files such as `answers.yaml`).
pub fn value_from_str(path: &Path, text: &str) -> Result<serde_yaml::Value, LabError> {
    from_str(path, text)
}

/// Removes serde_yaml's trailing "at line X column Y", which promlab prints as file:line,
/// and says why an unknown Compose key that would give a container power over the machine
/// (`privileged`, `cap_add`, …) is not supported.
fn tidy(msg: &str) -> String {
    let cut = msg.find(" at line ").map_or(msg, |i| &msg[..i]);
    let field = cut
        .split_once("unknown field `")
        .and_then(|(_, rest)| rest.split_once('`'))
        .map(|(f, _)| f);
    match field.and_then(crate::stack::unsupported_key_hint) {
        Some(hint) => {
            let head = cut.split_once(", expected").map_or(cut, |(h, _)| h);
            format!("{head}; {hint}")
        }
        None => cut.to_string(),
    }
}

/// The 1-based line where `needle` first appears in `text`.
pub fn line_of(text: &str, needle: &str) -> Option<usize> {
    text.lines().position(|l| l.contains(needle)).map(|i| i + 1)
}

/// The 1-based line where `needle` last appears in `text`.
pub fn last_line_of(text: &str, needle: &str) -> Option<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .last()
        .map(|(i, _)| i + 1)
}

/// Renders a YAML value as text (for `export` and reports).
pub fn to_string<T: serde::Serialize>(value: &T) -> String {
    serde_yaml::to_string(value).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_errors_carry_the_line() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct S {
            a: u32,
        }
        let err = from_str::<S>(Path::new("x.yaml"), "a: 1\nb: 2\n").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("x.yaml:2:"), "{text}");
        assert!(text.contains("unknown field `b`"), "{text}");
        assert!(!text.contains("at line"), "{text}");
    }

    #[test]
    fn finds_lines() {
        let t = "a\nb x\nc x\n";
        assert_eq!(line_of(t, "x"), Some(2));
        assert_eq!(last_line_of(t, "x"), Some(3));
        assert_eq!(line_of(t, "zz"), None);
    }
}
