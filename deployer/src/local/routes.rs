//! Routes of a REST API as the deployed CloudFormation template declares them
//! (`AWS::ApiGateway::Resource` and `AWS::ApiGateway::Method`), and the
//! matching of a request path against them.

use std::collections::{BTreeMap, HashMap};

use anyhow::{Context, Result, bail};
use serde_yaml::Value;

/// One method on one resource, for example `POST /v1/receiver/{tenantId}/webhook`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// HTTP method, upper case; `ANY` matches every method.
    pub method: String,
    /// Resource path with `{name}` and `{name+}` placeholders.
    pub resource_path: String,
}

/// A route that matched a request path, with the path parameters it captured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch {
    pub resource_path: String,
    pub path_parameters: HashMap<String, String>,
}

/// Result of looking a request up in the route table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Found(RouteMatch),
    /// No resource has this path, or the resource has no method for the request.
    NotFound,
}

/// The routes of one REST API.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    routes: Vec<Route>,
}

impl RouteTable {
    #[cfg(test)]
    pub fn new(routes: Vec<Route>) -> Self {
        Self { routes }
    }

    /// Reads the routes from a template body in JSON or YAML, including YAML
    /// short forms such as `!Ref` and `!GetAtt`.
    pub fn from_template(body: &str) -> Result<Self> {
        let template: Value =
            serde_yaml::from_str(body).context("failed to parse the stack's template")?;
        let Some(resources) = template.get("Resources").and_then(Value::as_mapping) else {
            bail!("the stack's template has no Resources section");
        };

        let mut parents = BTreeMap::new();
        let mut methods = Vec::new();
        for (logical_id, resource) in resources {
            let Some(logical_id) = logical_id.as_str() else {
                continue;
            };
            let properties = resource.get("Properties").unwrap_or(&Value::Null);
            match resource.get("Type").and_then(Value::as_str) {
                Some("AWS::ApiGateway::Resource") => {
                    let parent = reference_target(properties.get("ParentId"));
                    let path_part = properties
                        .get("PathPart")
                        .and_then(Value::as_str)
                        .with_context(|| format!("resource {logical_id} has no PathPart"))?;
                    parents.insert(logical_id.to_owned(), (parent, path_part.to_owned()));
                }
                Some("AWS::ApiGateway::Method") => {
                    let method = properties
                        .get("HttpMethod")
                        .and_then(Value::as_str)
                        .with_context(|| format!("method {logical_id} has no HttpMethod"))?;
                    let resource_id = reference_target(properties.get("ResourceId"));
                    methods.push((method.to_ascii_uppercase(), resource_id));
                }
                _ => {}
            }
        }

        let mut routes = Vec::new();
        for (method, resource_id) in methods {
            let resource_path = resolve_path(&parents, resource_id.as_deref(), 0)?;
            routes.push(Route {
                method,
                resource_path,
            });
        }
        routes.sort_by(|a, b| (&a.resource_path, &a.method).cmp(&(&b.resource_path, &b.method)));
        Ok(Self { routes })
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Finds the route for `method` and `path` (the path after the stage).
    /// Literal segments win over `{name}`, and `{name}` over `{name+}`, as in
    /// API Gateway; a method of `ANY` matches when no exact method does.
    pub fn lookup(&self, method: &str, path: &str) -> Lookup {
        let segments = split_path(path);
        let mut best: Option<(Vec<u8>, bool, RouteMatch)> = None;

        for route in &self.routes {
            let exact = route.method.eq_ignore_ascii_case(method);
            if !exact && route.method != "ANY" {
                continue;
            }
            let Some((rank, path_parameters)) = match_resource(&route.resource_path, &segments)
            else {
                continue;
            };
            let candidate = RouteMatch {
                resource_path: route.resource_path.clone(),
                path_parameters,
            };
            let better = match &best {
                None => true,
                Some((best_rank, best_exact, _)) => {
                    rank > *best_rank || (rank == *best_rank && exact && !best_exact)
                }
            };
            if better {
                best = Some((rank, exact, candidate));
            }
        }

        match best {
            Some((_, _, found)) => Lookup::Found(found),
            None => Lookup::NotFound,
        }
    }
}

/// Returns the logical id that a `Ref` or `Fn::GetAtt` points to; `None` for
/// the API's root resource (`Fn::GetAtt: [Api, RootResourceId]`).
fn reference_target(value: Option<&Value>) -> Option<String> {
    let value = value?;
    if let Value::Tagged(tagged) = value {
        if tagged.tag == "Ref" {
            return tagged.value.as_str().map(str::to_owned);
        }
        return None;
    }
    if let Some(target) = value.get("Ref").and_then(Value::as_str) {
        return Some(target.to_owned());
    }
    None
}

fn resolve_path(
    parents: &BTreeMap<String, (Option<String>, String)>,
    resource_id: Option<&str>,
    depth: usize,
) -> Result<String> {
    let Some(resource_id) = resource_id else {
        return Ok("/".to_owned());
    };
    if depth > 64 {
        bail!("the template's API resources form a cycle at {resource_id}");
    }
    let Some((parent, path_part)) = parents.get(resource_id) else {
        bail!("the template's API refers to an unknown resource {resource_id}");
    };
    let parent_path = resolve_path(parents, parent.as_deref(), depth + 1)?;
    Ok(format!("{}/{path_part}", parent_path.trim_end_matches('/')))
}

fn split_path(path: &str) -> Vec<&str> {
    path.trim_start_matches('/')
        .split('/')
        .filter(|segment| !segment.is_empty())
        .collect()
}

/// Matches request segments against a resource path. The rank has one entry
/// per resource segment (2 literal, 1 parameter, 0 greedy), so comparing
/// ranks orders candidates by API Gateway's precedence.
fn match_resource(
    resource_path: &str,
    segments: &[&str],
) -> Option<(Vec<u8>, HashMap<String, String>)> {
    let pattern = split_path(resource_path);
    let mut rank = Vec::with_capacity(pattern.len());
    let mut parameters = HashMap::new();

    for (index, part) in pattern.iter().enumerate() {
        if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix("+}")) {
            let rest = segments.get(index..).filter(|rest| !rest.is_empty())?;
            let joined: Vec<String> = rest.iter().map(|s| decode_segment(s)).collect();
            parameters.insert(name.to_owned(), joined.join("/"));
            rank.push(0);
            return Some((rank, parameters));
        }
        let segment = segments.get(index)?;
        if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            parameters.insert(name.to_owned(), decode_segment(segment));
            rank.push(1);
        } else if part == segment {
            rank.push(2);
        } else {
            return None;
        }
    }

    (segments.len() == pattern.len()).then_some((rank, parameters))
}

fn decode_segment(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE_JSON: &str = r#"{
      "Resources": {
        "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "x"}},
        "V1": {"Type": "AWS::ApiGateway::Resource", "Properties": {
          "RestApiId": {"Ref": "Api"},
          "ParentId": {"Fn::GetAtt": ["Api", "RootResourceId"]}, "PathPart": "v1"}},
        "Receiver": {"Type": "AWS::ApiGateway::Resource", "Properties": {
          "ParentId": {"Ref": "V1"}, "PathPart": "receiver"}},
        "Tenant": {"Type": "AWS::ApiGateway::Resource", "Properties": {
          "ParentId": {"Ref": "Receiver"}, "PathPart": "{tenantId}"}},
        "Webhook": {"Type": "AWS::ApiGateway::Resource", "Properties": {
          "ParentId": {"Ref": "Tenant"}, "PathPart": "webhook"}},
        "Health": {"Type": "AWS::ApiGateway::Resource", "Properties": {
          "ParentId": {"Ref": "Receiver"}, "PathPart": "health"}},
        "WebhookPost": {"Type": "AWS::ApiGateway::Method", "Properties": {
          "HttpMethod": "POST", "ResourceId": {"Ref": "Webhook"}}},
        "HealthGet": {"Type": "AWS::ApiGateway::Method", "Properties": {
          "HttpMethod": "GET", "ResourceId": {"Ref": "Health"}}}
      }
    }"#;

    const TEMPLATE_YAML: &str = "
Resources:
  Api:
    Type: AWS::ApiGateway::RestApi
  Files:
    Type: AWS::ApiGateway::Resource
    Properties:
      ParentId: !GetAtt Api.RootResourceId
      PathPart: files
  Proxy:
    Type: AWS::ApiGateway::Resource
    Properties:
      ParentId: !Ref Files
      PathPart: '{proxy+}'
  Readme:
    Type: AWS::ApiGateway::Resource
    Properties:
      ParentId: !Ref Files
      PathPart: readme
  ProxyAny:
    Type: AWS::ApiGateway::Method
    Properties:
      HttpMethod: ANY
      ResourceId: !Ref Proxy
  ReadmeGet:
    Type: AWS::ApiGateway::Method
    Properties:
      HttpMethod: GET
      ResourceId: !Ref Readme
  RootGet:
    Type: AWS::ApiGateway::Method
    Properties:
      HttpMethod: GET
      ResourceId: !GetAtt Api.RootResourceId
";

    fn found(lookup: Lookup) -> RouteMatch {
        match lookup {
            Lookup::Found(found) => found,
            Lookup::NotFound => panic!("expected a route"),
        }
    }

    #[test]
    fn template_json_routes() {
        let table = RouteTable::from_template(TEMPLATE_JSON).unwrap();
        let routes: Vec<String> = table
            .routes()
            .iter()
            .map(|r| format!("{} {}", r.method, r.resource_path))
            .collect();
        assert_eq!(
            routes,
            [
                "GET /v1/receiver/health",
                "POST /v1/receiver/{tenantId}/webhook"
            ]
        );
    }

    #[test]
    fn lookup_captures_path_parameter() {
        let table = RouteTable::from_template(TEMPLATE_JSON).unwrap();
        let route = found(table.lookup("POST", "/v1/receiver/acme/webhook"));
        assert_eq!(route.resource_path, "/v1/receiver/{tenantId}/webhook");
        assert_eq!(route.path_parameters["tenantId"], "acme");
    }

    #[test]
    fn lookup_decodes_path_parameter() {
        let table = RouteTable::from_template(TEMPLATE_JSON).unwrap();
        let route = found(table.lookup("POST", "/v1/receiver/a%20b/webhook"));
        assert_eq!(route.path_parameters["tenantId"], "a b");
    }

    #[test]
    fn lookup_prefers_literal_segment() {
        let table = RouteTable::new(vec![
            Route {
                method: "GET".into(),
                resource_path: "/v1/receiver/{tenantId}".into(),
            },
            Route {
                method: "GET".into(),
                resource_path: "/v1/receiver/health".into(),
            },
        ]);
        let route = found(table.lookup("GET", "/v1/receiver/health"));
        assert_eq!(route.resource_path, "/v1/receiver/health");
        assert!(route.path_parameters.is_empty());
    }

    #[test]
    fn lookup_rejects_unknown_routes() {
        let table = RouteTable::from_template(TEMPLATE_JSON).unwrap();
        assert_eq!(
            table.lookup("GET", "/v1/receiver/acme/webhook"),
            Lookup::NotFound
        );
        assert_eq!(
            table.lookup("POST", "/v1/receiver/webhook"),
            Lookup::NotFound
        );
        assert_eq!(
            table.lookup("POST", "/v1/receiver/a/webhook/x"),
            Lookup::NotFound
        );
        assert_eq!(table.lookup("GET", "/"), Lookup::NotFound);
    }

    #[test]
    fn template_yaml_short_forms() {
        let table = RouteTable::from_template(TEMPLATE_YAML).unwrap();
        let root = found(table.lookup("GET", "/"));
        assert_eq!(root.resource_path, "/");

        let readme = found(table.lookup("GET", "/files/readme"));
        assert_eq!(readme.resource_path, "/files/readme");

        let greedy = found(table.lookup("DELETE", "/files/a/b%2Fc"));
        assert_eq!(greedy.resource_path, "/files/{proxy+}");
        assert_eq!(greedy.path_parameters["proxy"], "a/b/c");

        assert_eq!(table.lookup("GET", "/files"), Lookup::NotFound);
    }

    #[test]
    fn template_without_resources_fails() {
        let error = RouteTable::from_template("{}").unwrap_err();
        assert!(error.to_string().contains("no Resources"), "{error}");
    }
}
