//! The template configuration file CodePipeline's CloudFormation action takes
//! (`{"Parameters": {...}, "Tags": {...}, "StackPolicy": {...}}`), so a pipeline that deploys
//! with it in the global partition uses the same file for China.

use std::path::Path;

use spanned::{Node, Value};

/// Parameters and tags, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateConfig {
    pub parameters: Vec<(String, String)>,
    pub tags: Vec<(String, String)>,
}

impl TemplateConfig {
    /// The file's parameters with the flags' values over them.
    pub fn merged_parameters(&self, overrides: &[(String, String)]) -> Vec<(String, String)> {
        let mut merged = self.parameters.clone();
        for (k, v) in overrides {
            merged.retain(|(key, _)| key != k);
            merged.push((k.clone(), v.clone()));
        }
        merged
    }
}

/// Reads the file; errors name the file, line and column.
pub fn load(path: &Path) -> Result<TemplateConfig, String> {
    let file = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{file}: cannot read the template configuration: {e}"))?;
    let root = spanned::load(&text, spanned::Format::Auto, spanned::Limits::default())
        .map_err(|e| format!("{file}:{}:{}: {}", e.line, e.column, e.message))?;
    let entries = root.as_map().ok_or_else(|| {
        format!(
            "{file}:{}:{}: a template configuration is an object with Parameters, Tags and StackPolicy",
            root.pos.line, root.pos.column
        )
    })?;
    let mut config = TemplateConfig::default();
    for e in entries {
        match e.key.as_str() {
            "Parameters" => {
                config.parameters = strings(&e.value, &format!("{file}"), "Parameters")?
            }
            "Tags" => config.tags = strings(&e.value, &format!("{file}"), "Tags")?,
            // CodePipeline applies it; a stack policy is set by SetStackPolicy, not here.
            "StackPolicy" => {}
            other => {
                let hint = spanned::closest(["Parameters", "Tags", "StackPolicy"], other)
                    .map(|c| format!("; did you mean {c}?"))
                    .unwrap_or_default();
                return Err(format!(
                    "{file}:{}:{}: unknown key {other}{hint}",
                    e.key_pos.line, e.key_pos.column
                ));
            }
        }
    }
    Ok(config)
}

/// A map of names to scalar values, as strings (CloudFormation takes every value as a string).
fn strings(node: &Node, file: &str, section: &str) -> Result<Vec<(String, String)>, String> {
    let entries = node.as_map().ok_or_else(|| {
        format!(
            "{file}:{}:{}: {section} must map names to values",
            node.pos.line, node.pos.column
        )
    })?;
    entries
        .iter()
        .map(|e| {
            let value = match &e.value.value {
                Value::String(s) => s.clone(),
                Value::Int(i) => i.to_string(),
                Value::Float(f) => f.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => {
                    return Err(format!(
                        "{file}:{}:{}: {section}.{} must be a string, number or boolean",
                        e.value.pos.line, e.value.pos.column, e.key
                    ))
                }
            };
            Ok((e.key.clone(), value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_and_tags_are_read_and_flags_win() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("prod.json");
        std::fs::write(
            &path,
            r#"{"Parameters": {"Stage": "prod", "Memory": 512}, "Tags": {"team": "shop"}, "StackPolicy": {}}"#,
        )
        .expect("write");
        let config = load(&path).expect("config");
        assert_eq!(config.tags, [("team".to_owned(), "shop".to_owned())]);
        assert_eq!(
            config.merged_parameters(&[("Stage".into(), "beta".into())]),
            [
                ("Memory".to_owned(), "512".to_owned()),
                ("Stage".to_owned(), "beta".to_owned())
            ]
        );
    }

    #[test]
    fn mistakes_name_the_line() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("bad.json");
        std::fs::write(&path, "{\n  \"Parameter\": {}\n}").expect("write");
        let error = load(&path).unwrap_err();
        assert!(
            error.ends_with("bad.json:2:3: unknown key Parameter; did you mean Parameters?"),
            "{error}"
        );
        std::fs::write(&path, "{\"Parameters\": {\"A\": [1]}}").expect("write");
        assert!(load(&path)
            .unwrap_err()
            .contains("Parameters.A must be a string"));
    }
}
