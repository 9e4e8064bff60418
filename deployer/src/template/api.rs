//! The REST API in front of the function: resources, methods, a deployment
//! whose logical id follows their content, the stage, the invoke
//! permissions and the optional custom domain.

use sha2::{Digest, Sha256};

use crate::settings::StackSettings;

use super::Resource;
use super::intrinsic::{Value, pseudo};
use super::names::{conditions, params, resources as ids};
use super::ordered_map::OrderedMap;
use super::resources::{
    AliasTarget, ApiResource, AuthorizationType, BasePathMapping, Deployment, DomainName,
    EndpointConfiguration, EndpointType, Integration, IntegrationType, Method, MethodSetting,
    Permission, Properties, RecordSet, RecordType, RestApi, Stage,
};

/// Treats every request body as binary. The receiver verifies the signature
/// over the exact bytes sent, and API Gateway alters a text body that is not
/// UTF-8, so every body has to reach the function base64-encoded
/// (`isBase64Encoded: true`), which lambda_http decodes back to the original
/// bytes. Responses are unaffected: a proxy integration's response is
/// returned as text unless the function sets `isBase64Encoded`, which this
/// function never does, so its JSON responses go out unchanged.
const ALL_MEDIA_TYPES: &str = "*/*";

/// Hex digits of the content hash in the deployment's logical id.
const DEPLOYMENT_HASH_DIGITS: usize = 10;

/// Builds every API resource of the stack, in template order.
pub fn api_resources(settings: &StackSettings) -> Vec<(String, Resource)> {
    let api = (ids::API.to_owned(), rest_api(settings));

    // The API is hashed with the routes, so that a change of its
    // BinaryMediaTypes also creates a new deployment.
    // NOTE: this assumes a stage picks up API-level settings only from a new
    // deployment, as it does routes. It has not been checked on AWS.
    let routes = routes();
    let hashed: Vec<(String, Resource)> = std::iter::once(api.clone())
        .chain(routes.iter().cloned())
        .collect();
    let deployment_id = deployment_logical_id(&hashed);

    let mut resources = vec![api];
    resources.extend(routes);
    resources.push((
        deployment_id.clone(),
        deployment(&[ids::WEBHOOK_METHOD, ids::HEALTH_METHOD]),
    ));
    resources.push((ids::STAGE.to_owned(), stage(&deployment_id)));

    resources.push((
        ids::WEBHOOK_PERMISSION.to_owned(),
        invoke_permission("POST/v1/receiver/*/webhook"),
    ));
    resources.push((
        ids::HEALTH_PERMISSION.to_owned(),
        invoke_permission("GET/v1/receiver/health"),
    ));

    resources.extend(custom_domain());
    resources
}

fn rest_api(settings: &StackSettings) -> Resource {
    let api = RestApi {
        name: Value::literal(format!("{}-WebhookReceiverApi", settings.prefix)),
        description: "Public HTTPS endpoint of the webhook receiver.".to_owned(),
        endpoint_configuration: regional(),
        binary_media_types: vec![ALL_MEDIA_TYPES.to_owned()],
    };
    Resource::new(Properties::RestApi(api))
}

fn regional() -> EndpointConfiguration {
    EndpointConfiguration {
        types: vec![EndpointType::Regional],
    }
}

/// Builds the API's resources and methods: `POST /v1/receiver/{tenantId}/webhook`
/// and `GET /v1/receiver/health`, both proxied to the function.
pub fn routes() -> Vec<(String, Resource)> {
    let root = Value::get_att(ids::API, "RootResourceId");
    let webhook_parameters = OrderedMap::from_iter([("method.request.path.tenantId", true)]);
    vec![
        path_part(ids::V1_RESOURCE, root, "v1"),
        path_part(
            ids::RECEIVER_RESOURCE,
            Value::reference(ids::V1_RESOURCE),
            "receiver",
        ),
        path_part(
            ids::TENANT_ID_RESOURCE,
            Value::reference(ids::RECEIVER_RESOURCE),
            "{tenantId}",
        ),
        path_part(
            ids::WEBHOOK_RESOURCE,
            Value::reference(ids::TENANT_ID_RESOURCE),
            "webhook",
        ),
        path_part(
            ids::HEALTH_RESOURCE,
            Value::reference(ids::RECEIVER_RESOURCE),
            "health",
        ),
        proxy_method(
            ids::WEBHOOK_METHOD,
            ids::WEBHOOK_RESOURCE,
            "POST",
            webhook_parameters,
        ),
        proxy_method(
            ids::HEALTH_METHOD,
            ids::HEALTH_RESOURCE,
            "GET",
            OrderedMap::new(),
        ),
    ]
}

fn path_part(logical_id: &str, parent_id: Value, path_part: &str) -> (String, Resource) {
    let resource = ApiResource {
        rest_api_id: Value::reference(ids::API),
        parent_id,
        path_part: path_part.to_owned(),
    };
    (
        logical_id.to_owned(),
        Resource::new(Properties::ApiResource(resource)),
    )
}

/// Builds a method without authorisation in API Gateway: the function
/// authenticates each request by its signature.
fn proxy_method(
    logical_id: &str,
    resource_id: &str,
    http_method: &str,
    request_parameters: OrderedMap<bool>,
) -> (String, Resource) {
    let method = Method {
        rest_api_id: Value::reference(ids::API),
        resource_id: Value::reference(resource_id),
        http_method: http_method.to_owned(),
        authorization_type: AuthorizationType::None,
        request_parameters,
        integration: Integration {
            integration_type: IntegrationType::AwsProxy,
            integration_http_method: "POST".to_owned(),
            uri: function_invoke_arn(),
        },
    };
    (
        logical_id.to_owned(),
        Resource::new(Properties::Method(method)),
    )
}

fn function_invoke_arn() -> Value {
    Value::sub(format!(
        "arn:${{{}}}:apigateway:${{{}}}:lambda:path/2015-03-31/functions/${{{}.Arn}}/invocations",
        pseudo::PARTITION,
        pseudo::REGION,
        ids::FUNCTION,
    ))
}

/// Returns `Deployment` followed by the first hex digits of the SHA-256 of
/// the JSON of `resources` (the API and its routes). A deployment is
/// immutable, so a new logical id whenever one of them changes makes
/// CloudFormation create a new deployment and point the stage at it. An
/// unchanged template keeps the same id.
pub fn deployment_logical_id(resources: &[(String, Resource)]) -> String {
    let resources: OrderedMap<&Resource> = resources
        .iter()
        .map(|(logical_id, resource)| (logical_id.as_str(), resource))
        .collect();
    // serde_json fails only on non-string map keys or a failing `Serialize`
    // impl, and these types have neither.
    let json = serde_json::to_vec(&resources).expect("API resources serialise to JSON");
    let digest = hex::encode(Sha256::digest(&json));
    format!(
        "{}{}",
        ids::DEPLOYMENT_PREFIX,
        &digest[..DEPLOYMENT_HASH_DIGITS]
    )
}

/// Builds the deployment. It depends on the methods because API Gateway
/// rejects a deployment of an API without methods.
fn deployment(methods: &[&str]) -> Resource {
    let deployment = Deployment {
        rest_api_id: Value::reference(ids::API),
        description: "Routes of the webhook receiver.".to_owned(),
    };
    Resource::new(Properties::Deployment(deployment)).depends_on(methods)
}

fn stage(deployment_id: &str) -> Resource {
    let stage = Stage {
        rest_api_id: Value::reference(ids::API),
        deployment_id: Value::reference(deployment_id),
        stage_name: Value::reference(params::STAGE_NAME),
        description: "Serves the webhook receiver with throttling and metrics.".to_owned(),
        method_settings: vec![MethodSetting {
            resource_path: "/*".to_owned(),
            http_method: "*".to_owned(),
            throttling_rate_limit: Value::reference(params::THROTTLING_RATE_LIMIT),
            throttling_burst_limit: Value::reference(params::THROTTLING_BURST_LIMIT),
            metrics_enabled: true,
        }],
    };
    Resource::new(Properties::Stage(stage))
}

/// Builds a permission for API Gateway to invoke the function on one route,
/// `route` being `METHOD/path` with `*` for path parameters, from any stage.
fn invoke_permission(route: &str) -> Resource {
    let source_arn = Value::sub(format!(
        "arn:${{{}}}:execute-api:${{{}}}:${{{}}}:${{{}}}/*/{route}",
        pseudo::PARTITION,
        pseudo::REGION,
        pseudo::ACCOUNT_ID,
        ids::API,
    ));
    let permission = Permission {
        action: "lambda:InvokeFunction".to_owned(),
        function_name: Value::get_att(ids::FUNCTION, "Arn"),
        principal: "apigateway.amazonaws.com".to_owned(),
        source_arn,
    };
    Resource::new(Properties::Permission(permission))
}

/// Builds the regional custom domain, its mapping to the stage and its DNS
/// alias, all created only when `DomainName` is set.
fn custom_domain() -> Vec<(String, Resource)> {
    let domain = DomainName {
        domain_name: Value::reference(params::DOMAIN_NAME),
        regional_certificate_arn: Value::reference(params::CERTIFICATE_ARN),
        endpoint_configuration: regional(),
        security_policy: "TLS_1_2".to_owned(),
    };
    // The mapping names the stage by the parameter, so it needs an explicit
    // dependency on the stage resource.
    let mapping = BasePathMapping {
        domain_name: Value::reference(ids::CUSTOM_DOMAIN),
        rest_api_id: Value::reference(ids::API),
        stage: Value::reference(params::STAGE_NAME),
    };
    let record = RecordSet {
        hosted_zone_id: Value::reference(params::HOSTED_ZONE_ID),
        name: Value::reference(params::DOMAIN_NAME),
        record_type: RecordType::A,
        alias_target: AliasTarget {
            dns_name: Value::get_att(ids::CUSTOM_DOMAIN, "RegionalDomainName"),
            hosted_zone_id: Value::get_att(ids::CUSTOM_DOMAIN, "RegionalHostedZoneId"),
            evaluate_target_health: false,
        },
    };

    let when_domain =
        |properties| Resource::new(properties).condition(conditions::HAS_CUSTOM_DOMAIN);
    vec![
        (
            ids::CUSTOM_DOMAIN.to_owned(),
            when_domain(Properties::DomainName(domain)),
        ),
        (
            ids::BASE_PATH_MAPPING.to_owned(),
            when_domain(Properties::BasePathMapping(mapping)).depends_on(&[ids::STAGE]),
        ),
        (
            ids::DNS_RECORD.to_owned(),
            when_domain(Properties::RecordSet(record)),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn method_mut<'a>(routes: &'a mut [(String, Resource)], logical_id: &str) -> &'a mut Method {
        let (_, resource) = routes
            .iter_mut()
            .find(|(id, _)| id == logical_id)
            .expect("route is declared");
        match &mut resource.properties {
            Properties::Method(method) => method,
            other => panic!("{logical_id} is a {}", other.resource_type()),
        }
    }

    #[test]
    fn deployment_id_is_stable() {
        let first = deployment_logical_id(&routes());
        let second = deployment_logical_id(&routes());

        assert_eq!(first, second);
    }

    #[test]
    fn deployment_id_has_prefix_and_hash() {
        let id = deployment_logical_id(&routes());

        let hash = id
            .strip_prefix("Deployment")
            .expect("id starts with Deployment");
        assert_eq!(hash.len(), DEPLOYMENT_HASH_DIGITS);
        assert!(hash.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
    }

    #[test]
    fn deployment_id_changes_with_method() {
        let before = deployment_logical_id(&routes());
        let mut changed = routes();
        method_mut(&mut changed, ids::HEALTH_METHOD).http_method = "HEAD".to_owned();

        let after = deployment_logical_id(&changed);

        assert_ne!(before, after);
    }

    #[test]
    fn deployment_id_changes_with_request_parameter() {
        let before = deployment_logical_id(&routes());
        let mut changed = routes();
        method_mut(&mut changed, ids::WEBHOOK_METHOD)
            .request_parameters
            .insert("method.request.path.tenantId", false);

        let after = deployment_logical_id(&changed);

        assert_ne!(before, after);
    }

    #[test]
    fn deployment_id_changes_with_resource() {
        let before = deployment_logical_id(&routes());
        let mut changed = routes();
        let (_, health) = changed
            .iter_mut()
            .find(|(id, _)| id == ids::HEALTH_RESOURCE)
            .expect("health resource is declared");
        let Properties::ApiResource(resource) = &mut health.properties else {
            panic!("health resource is an API resource");
        };
        resource.path_part = "healthz".to_owned();

        let after = deployment_logical_id(&changed);

        assert_ne!(before, after);
    }
}
