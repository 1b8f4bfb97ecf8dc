//! Typed access to the evaluated properties of one resource: only the properties a policy
//! needs are evaluated, so an unsupported intrinsic elsewhere in the resource does not matter;
//! a missing or mistyped one is an error naming the resource, the property and its line.

use cfn::Node;
use cfn_eval::{kind, EvalError, Evaluator};
use serde_json::Value as Json;

pub struct Props<'a, 't> {
    pub evaluator: &'a Evaluator<'t>,
    pub logical: &'a str,
    pub resource: &'a Node,
    file: &'a str,
}

impl<'a, 't> Props<'a, 't> {
    pub fn new(
        evaluator: &'a Evaluator<'t>,
        file: &'a str,
        logical: &'a str,
        resource: &'a Node,
    ) -> Self {
        Props {
            evaluator,
            logical,
            resource,
            file,
        }
    }

    fn path(&self, property: &str) -> String {
        format!("Resources.{}.Properties.{property}", self.logical)
    }

    /// An error at the resource's `Properties` (or the resource when it has none).
    pub fn error(&self, property: Option<&str>, message: String) -> EvalError {
        let node = property
            .and_then(|p| self.resource.get("Properties")?.get(p))
            .or_else(|| self.resource.get("Properties"))
            .unwrap_or(self.resource);
        let path = match property {
            Some(p) => self.path(p),
            None => format!("Resources.{}.Properties", self.logical),
        };
        EvalError::new(self.file, node.pos, path, message)
    }

    /// Whether the resource has a `Properties` map; some types require one.
    pub fn require_properties(&self) -> Result<(), EvalError> {
        match self.resource.get("Properties") {
            Some(p) if p.as_map().is_some() => Ok(()),
            Some(_) => Err(self.error(None, format!("{}: Properties must be a map", self.logical))),
            None => Err(EvalError::new(
                self.file,
                self.resource.pos,
                format!("Resources.{}", self.logical),
                format!("{} has no Properties", self.logical),
            )),
        }
    }

    /// The evaluated property, None when absent or `AWS::NoValue`.
    pub fn get(&self, property: &str) -> Result<Option<Json>, EvalError> {
        let Some(node) = self
            .resource
            .get("Properties")
            .and_then(|p| p.get(property))
        else {
            return Ok(None);
        };
        self.evaluator.eval(node, &self.path(property))
    }

    pub fn required(&self, property: &str) -> Result<Json, EvalError> {
        self.get(property)?.ok_or_else(|| {
            self.error(
                None,
                format!("{} is a required property of {}", property, self.logical),
            )
        })
    }

    fn typed<T>(
        &self,
        property: &str,
        value: Json,
        expected: &str,
        pick: impl FnOnce(Json) -> Option<T>,
    ) -> Result<T, EvalError> {
        let found = kind(&value);
        pick(value).ok_or_else(|| {
            self.error(
                Some(property),
                format!(
                    "{}.{property} must be {expected}, not {found}",
                    self.logical
                ),
            )
        })
    }

    fn as_string(&self, property: &str, value: Json) -> Result<String, EvalError> {
        self.typed(property, value, "a string", |v| match v {
            Json::String(s) => Some(s),
            _ => None,
        })
    }

    fn as_document(&self, property: &str, value: Json) -> Result<Json, EvalError> {
        self.typed(property, value, "a policy document (a map)", |v| {
            v.is_object().then_some(v)
        })
    }

    fn as_strings(&self, property: &str, value: Json) -> Result<Vec<String>, EvalError> {
        let items = self.typed(property, value, "a list", |v| match v {
            Json::Array(items) => Some(items),
            _ => None,
        })?;
        items
            .into_iter()
            .enumerate()
            .map(|(i, item)| self.as_string(&format!("{property}.{i}"), item))
            .collect()
    }

    pub fn string(&self, property: &str) -> Result<Option<String>, EvalError> {
        self.get(property)?
            .map(|v| self.as_string(property, v))
            .transpose()
    }

    pub fn required_string(&self, property: &str) -> Result<String, EvalError> {
        self.as_string(property, self.required(property)?)
    }

    /// An IAM name (role, user, group): letters, digits and `+=,.@_-`, 1 to 64 characters.
    pub fn iam_name(&self, property: &str) -> Result<Option<String>, EvalError> {
        let name = self.string(property)?;
        if let Some(n) = &name {
            let valid = !n.is_empty()
                && n.chars().count() <= 64
                && n.chars()
                    .all(|c| c.is_alphanumeric() || "+=,.@_-".contains(c));
            if !valid {
                return Err(self.error(
                    Some(property),
                    format!(
                        "{}.{property} `{n}` is not a valid IAM name (1 to 64 letters, digits and +=,.@_-)",
                        self.logical
                    ),
                ));
            }
        }
        Ok(name)
    }

    /// A policy document: a map.
    pub fn document(&self, property: &str) -> Result<Option<Json>, EvalError> {
        self.get(property)?
            .map(|v| self.as_document(property, v))
            .transpose()
    }

    pub fn required_document(&self, property: &str) -> Result<Json, EvalError> {
        self.as_document(property, self.required(property)?)
    }

    /// A list of strings (absent is empty).
    pub fn strings(&self, property: &str) -> Result<Vec<String>, EvalError> {
        match self.get(property)? {
            None => Ok(Vec::new()),
            Some(v) => self.as_strings(property, v),
        }
    }

    pub fn required_strings(&self, property: &str) -> Result<Vec<String>, EvalError> {
        let list = self.as_strings(property, self.required(property)?)?;
        if list.is_empty() {
            return Err(self.error(
                Some(property),
                format!("{}.{property} must not be empty", self.logical),
            ));
        }
        Ok(list)
    }
}
