//! Reads the rendered template as data: the committed rendering, the role's
//! permissions, the invoke permissions, the deployment id, the conditional
//! table, parameter defaults and that every reference names something declared.

mod template_support;

use std::collections::BTreeSet;

use serde_yaml::Value;
use template_support::{
    VARIANTS, resources_of_type, run_synth, section_keys, synth, synth_text, workspace_root,
};

const COMMITTED_TEMPLATE: &str = "templates/receiver.yaml";

const PSEUDO_PARAMETERS: &[&str] = &[
    "AWS::AccountId",
    "AWS::NotificationARNs",
    "AWS::NoValue",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
];

fn resource<'a>(template: &'a Value, logical_id: &str) -> &'a Value {
    let resource = &template["Resources"][logical_id];
    assert!(!resource.is_null(), "resource {logical_id} is not declared");
    resource
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_sequence()
        .unwrap_or_else(|| panic!("expected a list, found {value:?}"))
        .iter()
        .map(|item| item.as_str().expect("list of strings").to_owned())
        .collect()
}

fn yaml(text: &str) -> Value {
    serde_yaml::from_str(text).expect("test YAML parses")
}

fn deployment_ids(template: &Value) -> Vec<String> {
    resources_of_type(template, "AWS::ApiGateway::Deployment")
}

#[test]
fn committed_template_is_current() {
    let path = workspace_root().join(COMMITTED_TEMPLATE);
    let committed = std::fs::read_to_string(&path).unwrap_or_default();

    let rendered = synth_text(&[]);

    assert!(
        committed == rendered,
        "{COMMITTED_TEMPLATE} differs from what `deployer synth` renders now; regenerate it \
         with `cargo run -p deployer -- synth --out {COMMITTED_TEMPLATE}` and review the diff"
    );
}

#[test]
fn role_grants_exactly_logs_and_index_query() {
    let template = synth(&[]);
    let role = resource(&template, "ReceiverFunctionRole");

    let properties = &role["Properties"];
    let policies = properties["Policies"]
        .as_sequence()
        .expect("inline policies");
    let statements = policies[0]["PolicyDocument"]["Statement"]
        .as_sequence()
        .expect("statement list");

    assert!(
        properties["ManagedPolicyArns"].is_null(),
        "role has managed policies"
    );
    assert_eq!(policies.len(), 1);
    assert_eq!(statements.len(), 2);
    assert_eq!(
        statements[0],
        yaml(
            "Effect: Allow
Action: [logs:CreateLogStream, logs:PutLogEvents]
Resource:
- Fn::Sub: arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${ReceiverFunctionLogGroup}:log-stream:*"
        )
    );
    let table_name = "{TableName: {Fn::If: \
        [CreateTenantTable, {Ref: TenantApiKeysTable}, {Ref: TenantTableName}]}}";
    assert_eq!(
        statements[1],
        yaml(&format!(
            "Fn::If:
- HasTenantIndex
- Effect: Allow
  Action: [dynamodb:Query]
  Resource:
  - Fn::Sub:
    - arn:${{AWS::Partition}}:dynamodb:${{AWS::Region}}:${{AWS::AccountId}}:table/${{TableName}}/index/${{TenantIndexName}}
    - {table_name}
- Effect: Allow
  Action: [dynamodb:Scan]
  Resource:
  - Fn::Sub:
    - arn:${{AWS::Partition}}:dynamodb:${{AWS::Region}}:${{AWS::AccountId}}:table/${{TableName}}
    - {table_name}"
        ))
    );
}

#[test]
fn role_assumed_only_by_lambda() {
    let template = synth(&[]);
    let role = resource(&template, "ReceiverFunctionRole");

    let trust = &role["Properties"]["AssumeRolePolicyDocument"]["Statement"];

    assert_eq!(
        *trust,
        yaml(
            "- Effect: Allow
  Principal: {Service: [lambda.amazonaws.com]}
  Action: [sts:AssumeRole]"
        )
    );
}

#[test]
fn permissions_scope_source_arn_to_routes() {
    let template = synth(&[]);
    let expected = [
        (
            "WebhookInvokePermission",
            "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${ReceiverApi}/*/POST/v1/receiver/*/webhook",
        ),
        (
            "HealthInvokePermission",
            "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${ReceiverApi}/*/GET/v1/receiver/health",
        ),
    ];

    let permissions = resources_of_type(&template, "AWS::Lambda::Permission");

    assert_eq!(permissions, expected.map(|(id, _)| id.to_owned()));
    for (logical_id, source_arn) in expected {
        let properties = &resource(&template, logical_id)["Properties"];
        assert_eq!(
            properties["SourceArn"]["Fn::Sub"].as_str(),
            Some(source_arn)
        );
        assert_eq!(
            properties["Principal"].as_str(),
            Some("apigateway.amazonaws.com")
        );
        assert_eq!(properties["Action"].as_str(), Some("lambda:InvokeFunction"));
        assert_eq!(
            properties["FunctionName"],
            yaml("Fn::GetAtt: [ReceiverFunction, Arn]")
        );
    }
}

#[test]
fn deployment_id_stays_without_route_change() {
    let first = synth(&[]);
    let second = synth(&[]);
    let other_settings = synth(&["--stage", "live", "--memory", "256", "--index-name", ""]);

    let ids = deployment_ids(&first);

    assert_eq!(ids.len(), 1, "one deployment: {ids:?}");
    assert!(ids[0].starts_with("Deployment"), "{}", ids[0]);
    assert_eq!(ids[0].len(), "Deployment".len() + 10, "{}", ids[0]);
    assert_eq!(deployment_ids(&second), ids);
    assert_eq!(deployment_ids(&other_settings), ids);
}

#[test]
fn api_passes_every_body_as_binary() {
    let template = synth(&[]);

    let api = &resource(&template, "ReceiverApi")["Properties"];

    assert_eq!(strings(&api["BinaryMediaTypes"]), ["*/*"]);
}

#[test]
fn stage_uses_current_deployment() {
    let template = synth(&[]);
    let deployment_id = deployment_ids(&template).remove(0);

    let stage = &resource(&template, "ReceiverStage")["Properties"];

    assert_eq!(
        stage["DeploymentId"]["Ref"].as_str(),
        Some(deployment_id.as_str())
    );
    assert_eq!(stage["StageName"]["Ref"].as_str(), Some("StageName"));
    assert_eq!(
        stage["MethodSettings"],
        yaml(
            "- ResourcePath: /*
  HttpMethod: '*'
  ThrottlingRateLimit: {Ref: ThrottlingRateLimit}
  ThrottlingBurstLimit: {Ref: ThrottlingBurstLimit}
  MetricsEnabled: true"
        )
    );
}

#[test]
fn table_only_without_table_name() {
    let defaults = synth(&[]);
    let existing = synth(&["--table-name", "SharedTenantApiKeys"]);

    let table = resource(&defaults, "TenantApiKeysTable");

    assert_eq!(table["Condition"].as_str(), Some("CreateTenantTable"));
    assert_eq!(
        defaults["Conditions"]["CreateTenantTable"],
        yaml("Fn::Equals: [{Ref: TenantTableName}, '']")
    );
    assert_eq!(
        defaults["Parameters"]["TenantTableName"]["Default"].as_str(),
        Some("")
    );
    assert_eq!(
        existing["Parameters"]["TenantTableName"]["Default"].as_str(),
        Some("SharedTenantApiKeys")
    );
}

#[test]
fn table_has_key_index_and_protection() {
    let template = synth(&[]);

    let properties = &resource(&template, "TenantApiKeysTable")["Properties"];

    assert_eq!(properties["TableName"].as_str(), Some("dev-TenantApiKeys"));
    assert_eq!(properties["BillingMode"].as_str(), Some("PAY_PER_REQUEST"));
    assert_eq!(
        properties["KeySchema"],
        yaml("[{AttributeName: apiKey, KeyType: HASH}]")
    );
    assert_eq!(
        properties["SSESpecification"]["SSEEnabled"].as_bool(),
        Some(true)
    );
    assert_eq!(
        properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"].as_bool(),
        Some(true)
    );
    let index = &properties["GlobalSecondaryIndexes"]["Fn::If"];
    assert_eq!(index[0].as_str(), Some("HasTenantIndex"));
    assert_eq!(index[1][0]["IndexName"], yaml("Ref: TenantIndexName"));
    assert_eq!(
        index[1][0]["KeySchema"],
        yaml("[{AttributeName: tenantId, KeyType: HASH}]")
    );
    assert_eq!(index[2], yaml("Ref: AWS::NoValue"));
}

#[test]
fn function_reads_settings_from_environment() {
    let template = synth(&[]);

    let properties = &resource(&template, "ReceiverFunction")["Properties"];

    assert_eq!(
        properties["FunctionName"].as_str(),
        Some("dev-WebhookReceiver")
    );
    assert_eq!(properties["Runtime"].as_str(), Some("provided.al2023"));
    assert_eq!(properties["Handler"].as_str(), Some("bootstrap"));
    assert_eq!(
        properties["Environment"]["Variables"],
        yaml(
            "TENANT_API_KEYS_TABLE:
  Fn::If: [CreateTenantTable, {Ref: TenantApiKeysTable}, {Ref: TenantTableName}]
TENANT_INDEX_NAME: {Ref: TenantIndexName}
SIGNATURE_TOLERANCE_SECONDS: {Ref: SignatureToleranceSeconds}
SIGNATURE_MODE: enforce
SECRET_CACHE_TTL_SECONDS: '60'"
        )
    );
    assert_eq!(
        properties["LoggingConfig"],
        yaml("{LogFormat: JSON, LogGroup: {Ref: ReceiverFunctionLogGroup}}")
    );
    let log_group = &resource(&template, "ReceiverFunctionLogGroup")["Properties"];
    assert_eq!(
        log_group["LogGroupName"].as_str(),
        Some("/aws/lambda/dev-WebhookReceiver")
    );
}

#[test]
fn webhook_method_requires_tenant_id() {
    let template = synth(&[]);

    let method = &resource(&template, "WebhookPostMethod")["Properties"];

    assert_eq!(method["HttpMethod"].as_str(), Some("POST"));
    assert_eq!(method["AuthorizationType"].as_str(), Some("NONE"));
    assert_eq!(
        method["RequestParameters"]["method.request.path.tenantId"].as_bool(),
        Some(true)
    );
    assert_eq!(method["Integration"]["Type"].as_str(), Some("AWS_PROXY"));
    assert_eq!(
        method["Integration"]["Uri"]["Fn::Sub"].as_str(),
        Some(
            "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${ReceiverFunction.Arn}/invocations"
        )
    );
}

#[test]
fn parameter_defaults_follow_options() {
    let template = synth(&[
        "--architecture",
        "arm64",
        "--memory",
        "512",
        "--stage",
        "live",
        "--throttle-rate",
        "12.5",
    ]);

    let parameters = &template["Parameters"];

    assert_eq!(
        parameters["Architecture"]["Default"].as_str(),
        Some("arm64")
    );
    assert_eq!(parameters["MemorySize"]["Default"].as_u64(), Some(512));
    assert_eq!(parameters["StageName"]["Default"].as_str(), Some("live"));
    assert_eq!(
        parameters["ThrottlingRateLimit"]["Default"].as_f64(),
        Some(12.5)
    );
}

#[test]
fn parameters_have_documented_names() {
    let template = synth(&[]);

    let names = section_keys(&template, "Parameters");

    assert_eq!(
        names,
        [
            "StageName",
            "TenantTableName",
            "TenantIndexName",
            "ArtifactBucket",
            "ArtifactKey",
            "Architecture",
            "MemorySize",
            "FunctionTimeout",
            "LogRetentionDays",
            "SignatureToleranceSeconds",
            "ThrottlingRateLimit",
            "ThrottlingBurstLimit",
            "DomainName",
            "CertificateArn",
            "HostedZoneId",
        ]
    );
    for name in &names {
        let description = template["Parameters"][name.as_str()]["Description"].as_str();
        assert!(
            description.is_some_and(|text| !text.is_empty()),
            "{name} has no description"
        );
    }
}

#[test]
fn outputs_have_documented_names() {
    let template = synth(&[]);

    let names = section_keys(&template, "Outputs");

    assert_eq!(
        names,
        [
            "ApiId",
            "StageName",
            "EndpointUrl",
            "WebhookUrlTemplate",
            "HealthUrl",
            "FunctionName",
            "TableName",
            "CustomDomainUrl",
        ]
    );
    assert_eq!(
        template["Outputs"]["WebhookUrlTemplate"]["Value"]["Fn::Sub"].as_str(),
        Some(
            "https://${ReceiverApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${StageName}/v1/receiver/{tenantId}/webhook"
        )
    );
    assert_eq!(
        template["Outputs"]["CustomDomainUrl"]["Condition"].as_str(),
        Some("HasCustomDomain")
    );
}

#[test]
fn custom_domain_resources_are_conditional() {
    let template = synth(VARIANTS[4].args);
    let custom_domain = [
        "CustomDomain",
        "CustomDomainBasePathMapping",
        "CustomDomainRecord",
    ];

    for logical_id in custom_domain {
        let resource = resource(&template, logical_id);
        assert_eq!(
            resource["Condition"].as_str(),
            Some("HasCustomDomain"),
            "{logical_id}"
        );
    }
    let domain = &resource(&template, "CustomDomain")["Properties"];
    assert_eq!(domain["EndpointConfiguration"]["Types"], yaml("[REGIONAL]"));
    assert_eq!(
        template["Parameters"]["DomainName"]["Default"].as_str(),
        Some("hooks.example.com")
    );
}

#[test]
fn invalid_memory_is_rejected() {
    let output = run_synth(&["--memory", "64"]);

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "synth accepted 64 MB");
    assert!(
        stderr.contains("invalid memory 64: must be 128 to 10240 MB"),
        "{stderr}"
    );
}

#[test]
fn invalid_retention_is_rejected() {
    let output = run_synth(&["--log-retention-days", "10"]);

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "synth accepted 10 days");
    assert!(stderr.contains("invalid log-retention-days 10"), "{stderr}");
}

/// Names that `Ref`, `Fn::GetAtt`, `Fn::Sub`, `Fn::If` and `DependsOn` use,
/// collected from one template.
#[derive(Default)]
struct References {
    /// `Ref` targets and `Fn::Sub` variables without a dot.
    values: BTreeSet<String>,
    /// `Fn::GetAtt` resources, `${Resource.Attribute}` and `DependsOn` targets.
    resources: BTreeSet<String>,
    /// `Fn::If` and `Condition` names.
    conditions: BTreeSet<String>,
}

impl References {
    fn collect(&mut self, value: &Value) {
        match value {
            Value::Mapping(mapping) => {
                for (key, item) in mapping {
                    self.collect_entry(key.as_str().unwrap_or_default(), item);
                }
            }
            Value::Sequence(items) => items.iter().for_each(|item| self.collect(item)),
            _ => {}
        }
    }

    fn collect_entry(&mut self, key: &str, item: &Value) {
        match key {
            "Ref" => {
                self.values
                    .insert(item.as_str().expect("Ref names a string").to_owned());
            }
            "Fn::GetAtt" => {
                self.resources.insert(strings(item)[0].clone());
            }
            "Fn::Sub" => self.collect_sub(item),
            "Fn::If" => {
                let condition = item[0].as_str().expect("Fn::If names a condition");
                self.conditions.insert(condition.to_owned());
                self.collect(item);
            }
            "Condition" if item.is_string() => {
                self.conditions
                    .insert(item.as_str().unwrap_or_default().to_owned());
            }
            "DependsOn" => self.resources.extend(strings(item)),
            _ => self.collect(item),
        }
    }

    fn collect_sub(&mut self, item: &Value) {
        let (text, local) = match item {
            Value::String(text) => (text.as_str(), BTreeSet::new()),
            Value::Sequence(pair) => {
                self.collect(&pair[1]);
                let local = pair[1]
                    .as_mapping()
                    .expect("Fn::Sub variables are a map")
                    .keys()
                    .map(|key| key.as_str().unwrap_or_default().to_owned())
                    .collect();
                (pair[0].as_str().expect("Fn::Sub string"), local)
            }
            other => panic!("unexpected Fn::Sub {other:?}"),
        };
        for variable in sub_variables(text) {
            if local.contains(&variable) {
                continue;
            }
            match variable.split_once('.') {
                Some((resource, _)) => self.resources.insert(resource.to_owned()),
                None => self.values.insert(variable),
            };
        }
    }
}

/// Returns the `${NAME}` variables of an `Fn::Sub` string, without the
/// `${!Literal}` escapes.
fn sub_variables(text: &str) -> Vec<String> {
    let mut variables = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let end = after.find('}').expect("unterminated ${ in Fn::Sub");
        let name = &after[..end];
        if !name.starts_with('!') {
            variables.push(name.to_owned());
        }
        rest = &after[end + 1..];
    }
    variables
}

#[test]
fn references_name_declared_things() {
    for variant in VARIANTS {
        let template = synth(variant.args);
        let parameters: BTreeSet<String> =
            section_keys(&template, "Parameters").into_iter().collect();
        let resources: BTreeSet<String> =
            section_keys(&template, "Resources").into_iter().collect();
        let conditions: BTreeSet<String> =
            section_keys(&template, "Conditions").into_iter().collect();
        let mut references = References::default();

        references.collect(&template["Resources"]);
        references.collect(&template["Outputs"]);
        references.collect(&template["Rules"]);
        references.collect(&template["Conditions"]);

        for name in &references.values {
            let declared = parameters.contains(name)
                || resources.contains(name)
                || PSEUDO_PARAMETERS.contains(&name.as_str());
            assert!(declared, "{}: reference to undeclared {name}", variant.name);
        }
        for name in &references.resources {
            assert!(
                resources.contains(name),
                "{}: no resource {name}",
                variant.name
            );
        }
        for name in &references.conditions {
            assert!(
                conditions.contains(name),
                "{}: no condition {name}",
                variant.name
            );
        }
        assert!(
            !references.values.is_empty(),
            "{}: no references found",
            variant.name
        );
    }
}

#[test]
fn sub_variables_skip_literals() {
    let variables = sub_variables("arn:${AWS::Partition}:${!Literal}/${Function.Arn}");

    assert_eq!(variables, ["AWS::Partition", "Function.Arn"]);
}
