//! Maps a request's method and path to a route.
//!
//! Routes are matched on the path from `/v1/receiver/` on, so whatever comes
//! before it (a REST API stage such as `/prod`, or a custom domain's base
//! path) does not change the result.

use lambda_http::http::Method;
use lambda_http::{Request, RequestExt};

/// Path segment prefix shared by every route.
pub const ROUTE_PREFIX: &str = "/v1/receiver/";

/// Name of the API Gateway path parameter that carries the tenant id.
pub const TENANT_ID_PARAMETER: &str = "tenantId";

const HEALTH_SEGMENT: &str = "health";
const WEBHOOK_SUFFIX: &str = "/webhook";

/// A request that matched a route. The tenant id is not validated yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /v1/receiver/health`
    Health,
    /// `POST /v1/receiver/{tenantId}/webhook`
    Webhook { tenant_id: String },
}

/// A request that matched no route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteError {
    NotFound,
    /// The path is known but the method is not; `allow` is the value of the
    /// `Allow` response header.
    MethodNotAllowed {
        allow: &'static str,
    },
}

/// Routes a Lambda HTTP request.
///
/// The path is the event's path without the REST API stage
/// (`raw_http_path`), falling back to the URI path. The tenant id comes from
/// the `tenantId` path parameter when API Gateway sends one, and otherwise
/// from the path, as HTTP API and function URL events carry no parameters.
pub fn route_request(request: &Request) -> Result<Route, RouteError> {
    let raw_path = request.raw_http_path();
    let path = if raw_path.is_empty() {
        request.uri().path()
    } else {
        raw_path
    };
    let parameters = request.path_parameters_ref();
    let tenant_parameter = parameters.and_then(|parameters| parameters.first(TENANT_ID_PARAMETER));
    route(request.method(), path, tenant_parameter)
}

/// Routes `method` and `path`, taking the tenant id from `tenant_parameter`
/// when given.
pub fn route(
    method: &Method,
    path: &str,
    tenant_parameter: Option<&str>,
) -> Result<Route, RouteError> {
    // NOTE: the first `/v1/receiver/` in the path starts the route, so a
    // base path that itself contains `/v1/receiver/` is not supported.
    let Some(start) = path.find(ROUTE_PREFIX) else {
        return Err(RouteError::NotFound);
    };
    // API Gateway routes `/health/` to the `/health` resource too, so one
    // trailing slash names the same route.
    let rest = &path[start + ROUTE_PREFIX.len()..];
    let rest = rest.strip_suffix('/').unwrap_or(rest);

    if rest == HEALTH_SEGMENT {
        return match *method {
            Method::GET => Ok(Route::Health),
            _ => Err(RouteError::MethodNotAllowed { allow: "GET" }),
        };
    }

    // Everything between the prefix and the suffix is the tenant id, `/`
    // included, so that validation rejects it instead of the route missing.
    let Some(path_tenant) = rest.strip_suffix(WEBHOOK_SUFFIX) else {
        return Err(RouteError::NotFound);
    };
    if *method != Method::POST {
        return Err(RouteError::MethodNotAllowed { allow: "POST" });
    }
    let tenant_id = tenant_parameter.unwrap_or(path_tenant).to_owned();
    Ok(Route::Webhook { tenant_id })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn webhook(tenant_id: &str) -> Result<Route, RouteError> {
        Ok(Route::Webhook {
            tenant_id: tenant_id.to_owned(),
        })
    }

    #[test]
    fn trailing_slash_names_same_route() {
        let webhook_result = route(&Method::POST, "/v1/receiver/acme/webhook/", None);
        let health_result = route(&Method::GET, "/prod/v1/receiver/health/", None);

        assert_eq!(webhook_result, webhook("acme"));
        assert_eq!(health_result, Ok(Route::Health));
    }

    #[test]
    fn webhook_path_gives_tenant() {
        let result = route(&Method::POST, "/v1/receiver/acme/webhook", None);

        assert_eq!(result, webhook("acme"));
    }

    #[test]
    fn prefix_before_route_is_ignored() {
        for path in [
            "/prod/v1/receiver/acme/webhook",
            "/api/payments/v1/receiver/acme/webhook",
        ] {
            assert_eq!(route(&Method::POST, path, None), webhook("acme"), "{path}");
        }
    }

    #[test]
    fn path_parameter_wins_over_path() {
        let result = route(&Method::POST, "/v1/receiver/x/webhook", Some("acme"));

        assert_eq!(result, webhook("acme"));
    }

    #[test]
    fn slash_stays_in_tenant_id() {
        let result = route(&Method::POST, "/v1/receiver/a/b/webhook", None);

        assert_eq!(result, webhook("a/b"));
    }

    #[test]
    fn health_answers_get() {
        let result = route(&Method::GET, "/prod/v1/receiver/health", None);

        assert_eq!(result, Ok(Route::Health));
    }

    #[test]
    fn wrong_method_is_405() {
        let health = route(&Method::POST, "/v1/receiver/health", None);
        let webhook = route(&Method::GET, "/v1/receiver/acme/webhook", None);

        assert_eq!(health, Err(RouteError::MethodNotAllowed { allow: "GET" }));
        assert_eq!(webhook, Err(RouteError::MethodNotAllowed { allow: "POST" }));
    }

    #[test]
    fn unknown_paths_are_404() {
        for path in [
            "/",
            "",
            "/v1/receiver",
            "/v1/receiver/",
            "/v1/receiver/webhook",
            "/v1/receiver/acme",
            "/v1/receiver/acme/webhook/extra",
            "/v1/receiver/health//",
            "/v2/receiver/acme/webhook",
        ] {
            assert_eq!(
                route(&Method::POST, path, None),
                Err(RouteError::NotFound),
                "{path:?}"
            );
        }
    }
}
