//! CloudFormation templates as typed Rust values, and their YAML or JSON rendering.
//!
//! `receiver_template` builds the webhook receiver's stack from the resolved
//! settings, and `parameter_values` returns the parameter values `up` passes to it.

mod api;
pub mod intrinsic;
pub mod names;
mod ordered_map;
mod parameters;
mod receiver;
pub mod resources;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::cli::TemplateFormat;

pub use self::intrinsic::{Condition, Value};
pub use self::ordered_map::OrderedMap;
pub use self::parameters::parameter_values;
pub use self::receiver::receiver_template;
use self::resources::Properties;

pub const FORMAT_VERSION: &str = "2010-09-09";

/// A failure to render a template as text.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("failed to render the template as YAML")]
    Yaml(#[from] serde_yaml::Error),
    #[error("failed to render the template as JSON")]
    Json(#[from] serde_json::Error),
}

/// A CloudFormation template. Sections render in CloudFormation's usual order
/// and their entries in the order they were added.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Template {
    #[serde(rename = "AWSTemplateFormatVersion")]
    pub format_version: &'static str,
    pub description: String,
    pub parameters: OrderedMap<Parameter>,
    #[serde(skip_serializing_if = "OrderedMap::is_empty")]
    pub rules: OrderedMap<Rule>,
    #[serde(skip_serializing_if = "OrderedMap::is_empty")]
    pub conditions: OrderedMap<Condition>,
    pub resources: OrderedMap<Resource>,
    pub outputs: OrderedMap<Output>,
}

impl Template {
    pub fn new(description: impl Into<String>) -> Self {
        Self {
            format_version: FORMAT_VERSION,
            description: description.into(),
            parameters: OrderedMap::new(),
            rules: OrderedMap::new(),
            conditions: OrderedMap::new(),
            resources: OrderedMap::new(),
            outputs: OrderedMap::new(),
        }
    }

    /// Renders the template as YAML or as pretty-printed JSON, ending in a newline.
    pub fn render(&self, format: TemplateFormat) -> Result<String, RenderError> {
        match format {
            TemplateFormat::Yaml => Ok(quote_dates(&serde_yaml::to_string(self)?)),
            TemplateFormat::Json => {
                let mut text = serde_json::to_string_pretty(self)?;
                text.push('\n');
                Ok(text)
            }
        }
    }
}

/// Quotes plain scalars that look like dates, such as `2010-09-09`.
/// serde_yaml writes YAML 1.2, where they are strings, but YAML 1.1 parsers
/// (PyYAML, which cfn-lint and moto use) read them as timestamps.
///
/// NOTE: this works on `key: value` lines, so a multi-line block scalar with
/// such a line would change; no value of these templates spans lines.
fn quote_dates(yaml: &str) -> String {
    let mut quoted = String::with_capacity(yaml.len() + 16);
    for line in yaml.lines() {
        match line.rsplit_once(": ") {
            Some((key, value)) if is_date(value) => {
                quoted.push_str(&format!("{key}: '{value}'"));
            }
            _ => quoted.push_str(line),
        }
        quoted.push('\n');
    }
    quoted
}

/// Returns whether `text` has the form `YYYY-MM-DD`.
fn is_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 10
        && bytes.iter().enumerate().all(|(index, byte)| match index {
            4 | 7 => *byte == b'-',
            _ => byte.is_ascii_digit(),
        })
}

/// The `Type` of a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum ParameterType {
    String,
    Number,
}

/// A parameter's default or allowed value. CloudFormation passes every value
/// as a string, but numbers render unquoted so the template reads naturally.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ParameterValue {
    Text(String),
    Integer(u64),
    Decimal(f64),
}

impl ParameterValue {
    /// Returns `value` as an integer when it has no fractional part.
    pub fn number(value: f64) -> Self {
        if value.fract() == 0.0 && (0.0..=u64::MAX as f64).contains(&value) {
            Self::Integer(value as u64)
        } else {
            Self::Decimal(value)
        }
    }
}

/// A template parameter with its constraints.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Parameter {
    #[serde(rename = "Type")]
    pub parameter_type: ParameterType,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<ParameterValue>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_values: Vec<ParameterValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_pattern: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_value: Option<ParameterValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_value: Option<ParameterValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub constraint_description: Option<String>,
}

impl Parameter {
    fn new(parameter_type: ParameterType, description: impl Into<String>) -> Self {
        Self {
            parameter_type,
            description: description.into(),
            default: None,
            allowed_values: Vec::new(),
            allowed_pattern: None,
            min_length: None,
            max_length: None,
            min_value: None,
            max_value: None,
            constraint_description: None,
        }
    }

    pub fn string(description: impl Into<String>) -> Self {
        Self::new(ParameterType::String, description)
    }

    pub fn number(description: impl Into<String>) -> Self {
        Self::new(ParameterType::Number, description)
    }

    pub fn default_value(mut self, value: ParameterValue) -> Self {
        self.default = Some(value);
        self
    }

    pub fn default_text(self, value: impl Into<String>) -> Self {
        self.default_value(ParameterValue::Text(value.into()))
    }

    pub fn allowed_values(mut self, values: Vec<ParameterValue>) -> Self {
        self.allowed_values = values;
        self
    }

    /// Sets the regular expression the value must match, and the message
    /// CloudFormation shows when it does not.
    pub fn pattern(mut self, pattern: &str, constraint: &str) -> Self {
        self.allowed_pattern = Some(pattern.to_owned());
        self.constraint_description = Some(constraint.to_owned());
        self
    }

    pub fn length(mut self, min: u32, max: u32) -> Self {
        self.min_length = Some(min);
        self.max_length = Some(max);
        self
    }

    pub fn range(mut self, min: ParameterValue, max: ParameterValue) -> Self {
        self.min_value = Some(min);
        self.max_value = Some(max);
        self
    }
}

/// A rule: assertions on parameter values that CloudFormation checks before
/// it creates or updates the stack.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Rule {
    pub rule_condition: Condition,
    pub assertions: Vec<Assertion>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Assertion {
    pub assert: Condition,
    pub assert_description: String,
}

/// Policy for a resource's data when the stack deletes or replaces it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum DeletionPolicy {
    /// Delete the resource and its data.
    Delete,
}

/// A resource: typed properties plus the attributes every resource can carry.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub properties: Properties,
    pub condition: Option<String>,
    pub depends_on: Vec<String>,
    pub deletion_policy: Option<DeletionPolicy>,
    pub update_replace_policy: Option<DeletionPolicy>,
}

impl Resource {
    pub fn new(properties: Properties) -> Self {
        Self {
            properties,
            condition: None,
            depends_on: Vec::new(),
            deletion_policy: None,
            update_replace_policy: None,
        }
    }

    pub fn condition(mut self, condition: &str) -> Self {
        self.condition = Some(condition.to_owned());
        self
    }

    pub fn depends_on(mut self, logical_ids: &[&str]) -> Self {
        self.depends_on = logical_ids.iter().map(|id| (*id).to_owned()).collect();
        self
    }

    /// Sets both `DeletionPolicy` and `UpdateReplacePolicy` to `policy`.
    pub fn on_delete_and_replace(mut self, policy: DeletionPolicy) -> Self {
        self.deletion_policy = Some(policy);
        self.update_replace_policy = Some(policy);
        self
    }
}

impl Serialize for Resource {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("Type", self.properties.resource_type())?;
        if let Some(condition) = &self.condition {
            map.serialize_entry("Condition", condition)?;
        }
        if !self.depends_on.is_empty() {
            map.serialize_entry("DependsOn", &self.depends_on)?;
        }
        if let Some(policy) = &self.deletion_policy {
            map.serialize_entry("DeletionPolicy", policy)?;
        }
        if let Some(policy) = &self.update_replace_policy {
            map.serialize_entry("UpdateReplacePolicy", policy)?;
        }
        map.serialize_entry("Properties", &self.properties)?;
        map.end()
    }
}

/// A stack output.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Output {
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    pub value: Value,
}

impl Output {
    pub fn new(description: impl Into<String>, value: Value) -> Self {
        Self {
            description: description.into(),
            condition: None,
            value,
        }
    }

    pub fn condition(mut self, condition: &str) -> Self {
        self.condition = Some(condition.to_owned());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_dates_quotes_only_dates() {
        let yaml = "AWSTemplateFormatVersion: 2010-09-09\n  Version: 2012-10-17\nName: 2012-10\n";

        let quoted = quote_dates(yaml);

        assert_eq!(
            quoted,
            "AWSTemplateFormatVersion: '2010-09-09'\n  Version: '2012-10-17'\nName: 2012-10\n"
        );
    }

    #[test]
    fn yaml_and_json_hold_same_data() {
        let template = receiver_template(&crate::settings::StackSettings::defaults("dev"));

        let yaml = template.render(TemplateFormat::Yaml).expect("YAML renders");
        let json = template.render(TemplateFormat::Json).expect("JSON renders");

        let from_yaml: serde_json::Value = serde_yaml::from_str(&yaml).expect("YAML parses");
        let from_json: serde_json::Value = serde_json::from_str(&json).expect("JSON parses");
        assert_eq!(from_yaml, from_json);
    }
}
