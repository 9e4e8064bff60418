//! The parts of a deployed stack that `serve` reproduces: its stage, REST
//! API routes and the function's settings, read from the stack's parameters,
//! outputs, resources and deployed template.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use aws_sdk_cloudformation::types::TemplateStage;
use serde_yaml::Value;

use crate::aws::{Clients, explain};
use crate::local::routes::RouteTable;
use crate::settings::DEFAULT_STAGE;
use crate::template::names::{outputs, params};

/// Lambda's default memory size, used when the template sets none.
const DEFAULT_MEMORY_MB: u32 = 128;

/// Lambda's default timeout, used when the template sets none.
const DEFAULT_TIMEOUT_SECONDS: u64 = 3;

/// The function as the stack configures it.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionSpec {
    pub name: String,
    pub memory_mb: u32,
    pub timeout: Duration,
    /// `Environment.Variables`, resolved against the stack.
    pub environment: BTreeMap<String, String>,
    /// S3 location of the deployed zip (`Code.S3Bucket` and `Code.S3Key`).
    pub code_location: Option<(String, String)>,
}

/// A deployed stack, as `serve` reproduces it.
#[derive(Debug, Clone)]
pub struct LocalStack {
    pub stack_name: String,
    pub stage: String,
    pub api_id: String,
    pub routes: RouteTable,
    /// The REST API's `BinaryMediaTypes`; empty when the template sets none.
    pub binary_media_types: Vec<String>,
    pub function: FunctionSpec,
}

impl LocalStack {
    /// Reads the stack's parameters, outputs, resources and template.
    pub async fn load(clients: &Clients, stack_name: &str) -> Result<Self> {
        let described = clients
            .cloudformation
            .describe_stacks()
            .stack_name(stack_name)
            .send()
            .await
            .map_err(|error| {
                explain(
                    error,
                    &format!("failed to describe stack {stack_name}; deploy it with `deployer up`"),
                )
            })?;
        let stack = described
            .stacks()
            .first()
            .ok_or_else(|| anyhow!("stack {stack_name} not found; deploy it with `deployer up`"))?;
        let parameters: HashMap<String, String> = stack
            .parameters()
            .iter()
            .filter_map(|p| {
                Some((
                    p.parameter_key()?.to_owned(),
                    p.parameter_value()?.to_owned(),
                ))
            })
            .collect();
        let stack_outputs: HashMap<String, String> = stack
            .outputs()
            .iter()
            .filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value()?.to_owned())))
            .collect();

        let template = clients
            .cloudformation
            .get_template()
            .stack_name(stack_name)
            .template_stage(TemplateStage::Original)
            .send()
            .await
            .map_err(|error| {
                explain(
                    error,
                    &format!("failed to read the template of {stack_name}"),
                )
            })?;
        let template_body = template
            .template_body()
            .ok_or_else(|| anyhow!("stack {stack_name} returned an empty template"))?;

        let physical_ids = physical_ids(clients, stack_name).await?;
        let context = TemplateContext {
            parameters,
            physical_ids,
            region: clients.region.clone(),
            stack_name: stack_name.to_owned(),
        };
        Self::from_parts(stack_name, template_body, &stack_outputs, &context)
    }

    fn from_parts(
        stack_name: &str,
        template_body: &str,
        stack_outputs: &HashMap<String, String>,
        context: &TemplateContext,
    ) -> Result<Self> {
        let template: Value =
            serde_yaml::from_str(template_body).context("failed to parse the stack's template")?;
        let routes = RouteTable::from_template(template_body)?;
        if routes.routes().is_empty() {
            bail!("the template of stack {stack_name} declares no API Gateway methods to serve");
        }

        // The stage comes from the parameter, because the emulator creates no
        // stage resource and may leave the StageName output unresolved.
        let stage = context
            .parameters
            .get(params::STAGE_NAME)
            .or_else(|| stack_outputs.get(outputs::STAGE_NAME))
            .cloned()
            .unwrap_or_else(|| DEFAULT_STAGE.to_owned());
        let api_id = stack_outputs
            .get(outputs::API_ID)
            .cloned()
            .or_else(|| first_of_type(&template, "AWS::ApiGateway::RestApi", context))
            .unwrap_or_else(|| "local".to_owned());

        let binary_media_types = binary_media_types(&template, context)?;
        let function = function_spec(&template, stack_outputs, context)?;
        Ok(Self {
            stack_name: stack_name.to_owned(),
            stage,
            api_id,
            routes,
            binary_media_types,
            function,
        })
    }
}

async fn physical_ids(clients: &Clients, stack_name: &str) -> Result<HashMap<String, String>> {
    let mut pages = clients
        .cloudformation
        .list_stack_resources()
        .stack_name(stack_name)
        .into_paginator()
        .send();
    let mut ids = HashMap::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| {
            explain(
                error,
                &format!("failed to list the resources of {stack_name}"),
            )
        })?;
        for summary in page.stack_resource_summaries() {
            if let (Some(logical), Some(physical)) = (
                summary.logical_resource_id(),
                summary.physical_resource_id(),
            ) {
                ids.insert(logical.to_owned(), physical.to_owned());
            }
        }
    }
    Ok(ids)
}

fn first_of_type(
    template: &Value,
    resource_type: &str,
    context: &TemplateContext,
) -> Option<String> {
    let resources = template.get("Resources")?.as_mapping()?;
    resources.iter().find_map(|(logical_id, resource)| {
        let is_type = resource.get("Type").and_then(Value::as_str) == Some(resource_type);
        is_type
            .then(|| context.physical_ids.get(logical_id.as_str()?).cloned())
            .flatten()
    })
}

/// Reads `BinaryMediaTypes` from the template's first REST API. `~1` is
/// turned into `/`, because templates may write a media type in the escaped
/// form that API Gateway's patch paths use, such as `image~1png`.
fn binary_media_types(template: &Value, context: &TemplateContext) -> Result<Vec<String>> {
    let Some(resources) = template.get("Resources").and_then(Value::as_mapping) else {
        return Ok(Vec::new());
    };
    let rest_api = resources.values().find(|resource| {
        resource.get("Type").and_then(Value::as_str) == Some("AWS::ApiGateway::RestApi")
    });
    let listed = rest_api
        .and_then(|resource| resource.get("Properties"))
        .and_then(|properties| properties.get("BinaryMediaTypes"))
        .and_then(Value::as_sequence);

    let mut media_types = Vec::new();
    for value in listed.into_iter().flatten() {
        let resolved = context
            .resolve(template, value)
            .context("failed to resolve the REST API's BinaryMediaTypes")?;
        if let Some(media_type) = resolved {
            media_types.push(media_type.replace("~1", "/"));
        }
    }
    Ok(media_types)
}

/// Finds the function resource (the one named by the FunctionName output
/// when there are several) and resolves its name, memory, timeout and
/// environment.
fn function_spec(
    template: &Value,
    stack_outputs: &HashMap<String, String>,
    context: &TemplateContext,
) -> Result<FunctionSpec> {
    let resources = template
        .get("Resources")
        .and_then(Value::as_mapping)
        .ok_or_else(|| anyhow!("the stack's template has no Resources section"))?;
    let functions: Vec<(&str, &Value)> = resources
        .iter()
        .filter(|(_, resource)| {
            resource.get("Type").and_then(Value::as_str) == Some("AWS::Lambda::Function")
        })
        .filter_map(|(logical_id, resource)| Some((logical_id.as_str()?, resource)))
        .collect();
    let expected_function_name = stack_outputs.get(outputs::FUNCTION_NAME);
    let (logical_id, resource) = functions
        .iter()
        .find(|(logical_id, _)| {
            expected_function_name.is_some()
                && context.physical_ids.get(*logical_id) == expected_function_name
        })
        .or_else(|| functions.first())
        .copied()
        .ok_or_else(|| anyhow!("the stack's template declares no AWS::Lambda::Function"))?;

    let properties = resource.get("Properties").unwrap_or(&Value::Null);
    let name = expected_function_name
        .cloned()
        .or_else(|| context.physical_ids.get(logical_id).cloned())
        .unwrap_or_else(|| logical_id.to_owned());

    let memory_mb = match properties.get("MemorySize") {
        Some(value) => parse_number(&context.resolve(template, value)?, "MemorySize")?,
        None => DEFAULT_MEMORY_MB,
    };
    let timeout_seconds = match properties.get("Timeout") {
        Some(value) => parse_number(&context.resolve(template, value)?, "Timeout")?,
        None => DEFAULT_TIMEOUT_SECONDS,
    };

    let mut environment = BTreeMap::new();
    let variables = properties
        .get("Environment")
        .and_then(|environment| environment.get("Variables"))
        .and_then(Value::as_mapping);
    for (key, value) in variables.into_iter().flatten() {
        let Some(key) = key.as_str() else {
            continue;
        };
        let resolved = context.resolve(template, value).with_context(|| {
            format!("failed to resolve the function's environment variable {key}")
        })?;
        if let Some(resolved) = resolved {
            environment.insert(key.to_owned(), resolved);
        }
    }

    let code = properties.get("Code").unwrap_or(&Value::Null);
    let code_location = match (code.get("S3Bucket"), code.get("S3Key")) {
        (Some(bucket), Some(key)) => context
            .resolve(template, bucket)?
            .zip(context.resolve(template, key)?),
        _ => None,
    };

    Ok(FunctionSpec {
        name,
        memory_mb,
        timeout: Duration::from_secs(timeout_seconds),
        environment,
        code_location,
    })
}

fn parse_number<T: std::str::FromStr>(value: &Option<String>, property: &str) -> Result<T> {
    let text = value
        .as_deref()
        .ok_or_else(|| anyhow!("the function's {property} resolves to no value"))?;
    text.parse()
        .map_err(|_| anyhow!("the function's {property} is {text:?}, not a number"))
}

/// Values that intrinsic functions in the template resolve against.
#[derive(Debug, Clone, Default)]
struct TemplateContext {
    parameters: HashMap<String, String>,
    physical_ids: HashMap<String, String>,
    region: String,
    stack_name: String,
}

impl TemplateContext {
    /// Resolves a property value: literals, `Ref`, `Fn::If`, `Fn::Sub` with
    /// `${Name}` references, `Fn::Join` and `Fn::Select`. `None` stands for
    /// `AWS::NoValue`.
    fn resolve(&self, template: &Value, value: &Value) -> Result<Option<String>> {
        let (function, argument) = match intrinsic(value) {
            Some(found) => found,
            None => {
                return match value {
                    Value::String(text) => Ok(Some(text.clone())),
                    Value::Number(number) => Ok(Some(number.to_string())),
                    Value::Bool(flag) => Ok(Some(flag.to_string())),
                    Value::Null => Ok(None),
                    other => bail!("unsupported template value {other:?}"),
                };
            }
        };

        match function.as_str() {
            "Ref" => {
                let name = argument
                    .as_str()
                    .ok_or_else(|| anyhow!("Ref takes a name, found {argument:?}"))?;
                self.reference(name)
            }
            "Fn::If" => {
                let items = argument
                    .as_sequence()
                    .filter(|items| items.len() == 3)
                    .ok_or_else(|| anyhow!("Fn::If takes [condition, then, else]"))?;
                let condition = items[0]
                    .as_str()
                    .ok_or_else(|| anyhow!("Fn::If takes a condition name first"))?;
                let branch = if self.condition(template, condition, 0)? {
                    &items[1]
                } else {
                    &items[2]
                };
                self.resolve(template, branch)
            }
            "Fn::Sub" => {
                let text = argument
                    .as_str()
                    .ok_or_else(|| anyhow!("only the string form of Fn::Sub is supported"))?;
                self.substitute(text).map(Some)
            }
            "Fn::Join" => {
                let items = argument
                    .as_sequence()
                    .filter(|items| items.len() == 2)
                    .ok_or_else(|| anyhow!("Fn::Join takes [delimiter, list]"))?;
                let delimiter = items[0].as_str().unwrap_or_default();
                let parts = items[1]
                    .as_sequence()
                    .ok_or_else(|| anyhow!("Fn::Join takes a list"))?;
                let mut resolved = Vec::new();
                for part in parts {
                    resolved.extend(self.resolve(template, part)?);
                }
                Ok(Some(resolved.join(delimiter)))
            }
            other => bail!("{other} cannot be resolved outside CloudFormation"),
        }
    }

    fn reference(&self, name: &str) -> Result<Option<String>> {
        if name == "AWS::NoValue" {
            return Ok(None);
        }
        let pseudo = match name {
            "AWS::Region" => Some(self.region.clone()),
            "AWS::StackName" => Some(self.stack_name.clone()),
            "AWS::AccountId" => Some("123456789012".to_owned()),
            "AWS::Partition" => Some("aws".to_owned()),
            "AWS::URLSuffix" => Some("amazonaws.com".to_owned()),
            _ => None,
        };
        pseudo
            .or_else(|| self.parameters.get(name).cloned())
            .or_else(|| self.physical_ids.get(name).cloned())
            .map(Some)
            .ok_or_else(|| anyhow!("Ref {name} names no parameter or resource of the stack"))
    }

    fn substitute(&self, text: &str) -> Result<String> {
        let mut result = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            result.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| anyhow!("unclosed ${{ in Fn::Sub {text:?}"))?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                result.push_str("${");
                result.push_str(literal);
                result.push('}');
            } else {
                result.push_str(&self.reference(name)?.unwrap_or_default());
            }
            rest = &after[end + 1..];
        }
        result.push_str(rest);
        Ok(result)
    }

    /// Evaluates a named condition: `Fn::Equals`, `Fn::Not`, `Fn::And`,
    /// `Fn::Or` and `Condition`.
    fn condition(&self, template: &Value, name: &str, depth: usize) -> Result<bool> {
        if depth > 16 {
            bail!("condition {name} nests too deep");
        }
        let body = template
            .get("Conditions")
            .and_then(|conditions| conditions.get(name))
            .ok_or_else(|| anyhow!("condition {name} is not in the template"))?;
        self.evaluate(template, body, depth + 1)
    }

    fn evaluate(&self, template: &Value, body: &Value, depth: usize) -> Result<bool> {
        let (function, argument) =
            intrinsic(body).ok_or_else(|| anyhow!("unsupported condition {body:?}"))?;
        let items = argument.as_sequence();
        match (function.as_str(), items) {
            ("Fn::Equals", Some(items)) if items.len() == 2 => {
                Ok(self.resolve(template, &items[0])? == self.resolve(template, &items[1])?)
            }
            ("Fn::Not", Some(items)) if items.len() == 1 => {
                Ok(!self.evaluate(template, &items[0], depth + 1)?)
            }
            ("Fn::And", Some(items)) => {
                for item in items {
                    if !self.evaluate(template, item, depth + 1)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            ("Fn::Or", Some(items)) => {
                for item in items {
                    if self.evaluate(template, item, depth + 1)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            ("Condition", _) => {
                let name = argument
                    .as_str()
                    .ok_or_else(|| anyhow!("Condition takes a name"))?;
                self.condition(template, name, depth + 1)
            }
            (other, _) => bail!("unsupported condition function {other}"),
        }
    }
}

/// Splits `{"Fn::X": arg}` and the YAML short form `!X arg` into the long
/// function name and its argument.
fn intrinsic(value: &Value) -> Option<(String, &Value)> {
    if let Value::Tagged(tagged) = value {
        let tag = tagged.tag.to_string();
        let name = tag.trim_start_matches('!');
        let long = match name {
            "Ref" | "Condition" => name.to_owned(),
            other => format!("Fn::{other}"),
        };
        return Some((long, &tagged.value));
    }
    let mapping = value.as_mapping()?;
    if mapping.len() != 1 {
        return None;
    }
    let (key, argument) = mapping.iter().next()?;
    let key = key.as_str()?;
    (key == "Ref" || key == "Condition" || key.starts_with("Fn::"))
        .then(|| (key.to_owned(), argument))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"{
      "Parameters": {"StageName": {"Type": "String"}},
      "Conditions": {
        "CreateTenantTable": {"Fn::Equals": [{"Ref": "TenantTableName"}, ""]},
        "HasIndex": {"Fn::Not": [{"Fn::Equals": [{"Ref": "TenantIndexName"}, ""]}]}
      },
      "Resources": {
        "Table": {"Type": "AWS::DynamoDB::Table"},
        "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {
          "BinaryMediaTypes": ["*/*", "image~1png"]}},
        "Health": {"Type": "AWS::ApiGateway::Resource", "Properties": {
          "ParentId": {"Fn::GetAtt": ["Api", "RootResourceId"]}, "PathPart": "health"}},
        "HealthGet": {"Type": "AWS::ApiGateway::Method", "Properties": {
          "HttpMethod": "GET", "ResourceId": {"Ref": "Health"}}},
        "Fn": {"Type": "AWS::Lambda::Function", "Properties": {
          "MemorySize": {"Ref": "MemorySize"},
          "Timeout": 10,
          "Code": {"S3Bucket": {"Ref": "ArtifactBucket"}, "S3Key": {"Ref": "ArtifactKey"}},
          "Environment": {"Variables": {
            "TENANT_API_KEYS_TABLE": {"Fn::If": ["CreateTenantTable", {"Ref": "Table"}, {"Ref": "TenantTableName"}]},
            "TENANT_INDEX_NAME": {"Fn::If": ["HasIndex", {"Ref": "TenantIndexName"}, {"Ref": "AWS::NoValue"}]},
            "SIGNATURE_TOLERANCE_SECONDS": {"Ref": "SignatureToleranceSeconds"},
            "SIGNATURE_MODE": "enforce",
            "LOG_PREFIX": {"Fn::Sub": "${AWS::StackName}-${StageName}"}
          }}}}
      }
    }"#;

    fn context(table_parameter: &str, index: &str) -> TemplateContext {
        TemplateContext {
            parameters: HashMap::from([
                ("StageName".to_owned(), "prod".to_owned()),
                ("TenantTableName".to_owned(), table_parameter.to_owned()),
                ("TenantIndexName".to_owned(), index.to_owned()),
                ("SignatureToleranceSeconds".to_owned(), "300".to_owned()),
                ("MemorySize".to_owned(), "256".to_owned()),
                ("ArtifactBucket".to_owned(), "artifacts".to_owned()),
                (
                    "ArtifactKey".to_owned(),
                    "webhook-receiver/abc.zip".to_owned(),
                ),
            ]),
            physical_ids: HashMap::from([
                ("Table".to_owned(), "dev-TenantApiKeys".to_owned()),
                ("Api".to_owned(), "abc123".to_owned()),
                ("Fn".to_owned(), "dev-WebhookReceiver".to_owned()),
            ]),
            region: "us-east-1".to_owned(),
            stack_name: "dev-webhook-receiver".to_owned(),
        }
    }

    #[test]
    fn stack_with_owned_table() {
        let stack = LocalStack::from_parts(
            "s",
            TEMPLATE,
            &HashMap::new(),
            &context("", "tenantId-index"),
        )
        .unwrap();
        assert_eq!(stack.stage, "prod");
        assert_eq!(stack.api_id, "abc123");
        assert_eq!(stack.binary_media_types, ["*/*", "image/png"]);
        assert_eq!(stack.function.name, "dev-WebhookReceiver");
        assert_eq!(stack.function.memory_mb, 256);
        assert_eq!(stack.function.timeout, Duration::from_secs(10));
        assert_eq!(
            stack.function.code_location,
            Some((
                "artifacts".to_owned(),
                "webhook-receiver/abc.zip".to_owned()
            ))
        );

        let environment = &stack.function.environment;
        assert_eq!(environment["TENANT_API_KEYS_TABLE"], "dev-TenantApiKeys");
        assert_eq!(environment["TENANT_INDEX_NAME"], "tenantId-index");
        assert_eq!(environment["SIGNATURE_TOLERANCE_SECONDS"], "300");
        assert_eq!(environment["SIGNATURE_MODE"], "enforce");
        assert_eq!(environment["LOG_PREFIX"], "dev-webhook-receiver-prod");
    }

    #[test]
    fn stack_with_existing_table_and_no_index() {
        let stack =
            LocalStack::from_parts("s", TEMPLATE, &HashMap::new(), &context("Existing", ""))
                .unwrap();
        let environment = &stack.function.environment;
        assert_eq!(environment["TENANT_API_KEYS_TABLE"], "Existing");
        assert!(!environment.contains_key("TENANT_INDEX_NAME"));
    }

    #[test]
    fn stack_without_binary_media_types() {
        let template = TEMPLATE.replace(r#""BinaryMediaTypes": ["*/*", "image~1png"]"#, "");
        let stack =
            LocalStack::from_parts("s", &template, &HashMap::new(), &context("", "")).unwrap();
        assert!(stack.binary_media_types.is_empty());
    }

    #[test]
    fn unknown_reference_is_an_error() {
        let template = TEMPLATE.replace("SignatureToleranceSeconds\"}", "Missing\"}");
        let error =
            LocalStack::from_parts("s", &template, &HashMap::new(), &context("", "")).unwrap_err();
        assert!(format!("{error:#}").contains("Ref Missing"), "{error:#}");
    }
}
