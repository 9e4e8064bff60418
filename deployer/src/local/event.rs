//! Translation between HTTP and the Lambda proxy integration of a REST API:
//! an HTTP request becomes the event API Gateway sends the function, and the
//! function's proxy response becomes the HTTP response.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lambda_events::apigw::{
    ApiGatewayProxyRequest, ApiGatewayProxyRequestContext, ApiGatewayProxyResponse,
    ApiGatewayRequestIdentity,
};
use aws_lambda_events::encodings::Body;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use http::{HeaderMap, Method, StatusCode};
use query_map::QueryMap;

use crate::local::routes::RouteMatch;

/// Account id that the emulator uses in ARNs; events carry it in `requestContext`.
const LOCAL_ACCOUNT_ID: &str = "123456789012";

/// Facts about one request and its API that are not part of the HTTP
/// message itself.
#[derive(Debug, Clone)]
pub struct RequestInfo {
    pub api_id: String,
    pub stage: String,
    /// The REST API's `BinaryMediaTypes`, such as `image/png`, `image/*` or `*/*`.
    pub binary_media_types: Vec<String>,
    pub request_id: String,
    pub source_ip: IpAddr,
    /// Host and port the request was sent to, for `requestContext.domainName`.
    pub domain_name: String,
    pub received_at: SystemTime,
}

/// Builds the REST proxy event for a request whose path (after the stage)
/// matched `route`. `full_path` is the request path including the stage.
pub fn build_event(
    method: &Method,
    full_path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
    route: &RouteMatch,
    info: &RequestInfo,
) -> ApiGatewayProxyRequest {
    let path = strip_stage(full_path, &info.stage).unwrap_or(full_path);
    let (single_headers, multi_headers) = gateway_headers(headers, info);
    let (single_query, multi_query) = query_parameters(query);
    let (body, is_base64_encoded) = encode_body(headers, body, &info.binary_media_types);

    let mut identity = ApiGatewayRequestIdentity::default();
    identity.source_ip = Some(info.source_ip.to_string());
    identity.user_agent = single_headers
        .get(http::header::USER_AGENT)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());

    let epoch_ms = info
        .received_at
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as i64)
        .unwrap_or_default();

    let mut context = ApiGatewayProxyRequestContext::default();
    context.account_id = Some(LOCAL_ACCOUNT_ID.to_owned());
    context.resource_id = Some(resource_id(&route.resource_path));
    context.stage = Some(info.stage.clone());
    context.domain_name = Some(info.domain_name.clone());
    context.domain_prefix = Some(info.api_id.clone());
    context.request_id = Some(info.request_id.clone());
    context.protocol = Some("HTTP/1.1".to_owned());
    context.identity = identity;
    context.resource_path = Some(route.resource_path.clone());
    context.path = Some(full_path.to_owned());
    context.http_method = method.clone();
    context.request_time = Some(format_request_time(epoch_ms / 1000));
    context.request_time_epoch = epoch_ms;
    context.apiid = Some(info.api_id.clone());

    let mut event = ApiGatewayProxyRequest::default();
    event.resource = Some(route.resource_path.clone());
    event.path = Some(path.to_owned());
    event.http_method = method.clone();
    event.headers = single_headers;
    event.multi_value_headers = multi_headers;
    event.query_string_parameters = single_query;
    event.multi_value_query_string_parameters = multi_query;
    event.path_parameters = route.path_parameters.clone();
    event.request_context = context;
    event.body = body;
    event.is_base64_encoded = is_base64_encoded;
    event
}

/// Returns the path after `/{stage}`, or `None` when the path is not under
/// the stage.
pub fn strip_stage<'a>(full_path: &'a str, stage: &str) -> Option<&'a str> {
    let rest = full_path.strip_prefix('/')?.strip_prefix(stage)?;
    if rest.is_empty() {
        return Some("/");
    }
    rest.starts_with('/').then_some(rest)
}

/// Copies the request headers and adds the ones API Gateway adds. The
/// single-value map keeps the last value of a repeated header, as API
/// Gateway does. Values that are not UTF-8 are converted lossily, because
/// the event carries headers as JSON strings.
fn gateway_headers(headers: &HeaderMap, info: &RequestInfo) -> (HeaderMap, HeaderMap) {
    let mut multi = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        multi.append(name.clone(), utf8_header_value(value));
    }
    let forwarded = [
        ("x-forwarded-for", info.source_ip.to_string()),
        ("x-forwarded-proto", "http".to_owned()),
        (
            "x-forwarded-port",
            info.domain_name
                .rsplit_once(':')
                .map(|(_, port)| port.to_owned())
                .unwrap_or_else(|| "80".to_owned()),
        ),
    ];
    for (name, value) in forwarded {
        if let Ok(value) = HeaderValue::from_str(&value) {
            multi.insert(HeaderName::from_static(name), value);
        }
    }

    let mut single = HeaderMap::new();
    for name in multi.keys() {
        if let Some(last) = multi.get_all(name).iter().next_back() {
            single.insert(name.clone(), last.clone());
        }
    }
    (single, multi)
}

/// Returns the value unchanged when it is UTF-8, and otherwise with each
/// invalid sequence replaced by U+FFFD.
fn utf8_header_value(value: &HeaderValue) -> HeaderValue {
    let bytes = value.as_bytes();
    if std::str::from_utf8(bytes).is_ok() {
        return value.clone();
    }
    let text = String::from_utf8_lossy(bytes);
    // U+FFFD encodes as bytes 0xEF 0xBF 0xBD, which header values allow, and
    // the other bytes come from a valid value, so this conversion succeeds.
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Splits a raw query string into API Gateway's two maps, decoding `%XX` and `+`.
fn query_parameters(query: Option<&str>) -> (QueryMap, QueryMap) {
    let mut multi: HashMap<String, Vec<String>> = HashMap::new();
    for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        multi
            .entry(key.into_owned())
            .or_default()
            .push(value.into_owned());
    }
    let single: HashMap<String, String> = multi
        .iter()
        .filter_map(|(key, values)| Some((key.clone(), values.last()?.clone())))
        .collect();
    (QueryMap::from(single), QueryMap::from(multi))
}

/// Returns the event body and whether it is base64. As on API Gateway, the
/// body is base64 exactly when the request's content type matches one of
/// the API's binary media types, and text otherwise.
fn encode_body(
    headers: &HeaderMap,
    body: &[u8],
    binary_media_types: &[String],
) -> (Option<String>, bool) {
    if body.is_empty() {
        return (None, false);
    }
    let content_type = headers
        .get(CONTENT_TYPE)
        .map(|value| String::from_utf8_lossy(value.as_bytes()));
    if is_binary_media_type(content_type.as_deref(), binary_media_types) {
        return (Some(BASE64.encode(body)), true);
    }
    // NOTE: API Gateway alters a text body that is not UTF-8 before the
    // function gets it. Replacing each invalid sequence with U+FFFD
    // approximates that, but has not been compared byte for byte with AWS.
    (Some(String::from_utf8_lossy(body).into_owned()), false)
}

/// Returns whether `content_type` matches one of `binary_media_types`. An
/// entry matches its exact media type, `type/*` matches every subtype and
/// `*/*` matches every request. Parameters such as `; charset=utf-8` are
/// ignored and case does not matter.
///
/// NOTE: that `*/*` also matches a request without a content type is assumed
/// here, not checked against AWS.
pub fn is_binary_media_type(content_type: Option<&str>, binary_media_types: &[String]) -> bool {
    let essence = content_type
        .and_then(|value| value.split(';').next())
        .map(|value| value.trim().to_ascii_lowercase());
    binary_media_types.iter().any(|pattern| {
        let pattern = pattern.trim().to_ascii_lowercase();
        if pattern == "*/*" {
            return true;
        }
        let Some(essence) = &essence else {
            return false;
        };
        match pattern.strip_suffix("/*") {
            Some(main_type) => essence
                .split_once('/')
                .is_some_and(|(essence_type, _)| essence_type == main_type),
            None => *essence == pattern,
        }
    })
}

/// Derives a stable id from a resource path, in place of API Gateway's resource id.
fn resource_id(resource_path: &str) -> String {
    let hash = resource_path
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        });
    format!("{:010x}", hash & 0xff_ffff_ffff)
}

/// Formats Unix seconds as API Gateway's `requestTime`, e.g. `04/Dec/2026:16:50:41 +0000`.
fn format_request_time(unix_seconds: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = unix_seconds.div_euclid(86_400);
    let seconds_of_day = unix_seconds.rem_euclid(86_400);

    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);

    format!(
        "{day:02}/{}/{year}:{:02}:{:02}:{:02} +0000",
        MONTHS[(month - 1) as usize],
        seconds_of_day / 3600,
        seconds_of_day % 3600 / 60,
        seconds_of_day % 60
    )
}

/// An HTTP response ready to write: status, headers and body bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct GatewayResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Errors API Gateway returns itself, without calling the function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewayError {
    /// No route for the method and path (403, as REST APIs respond).
    MissingAuthenticationToken,
    /// The path does not start with the stage name.
    ///
    /// NOTE: this body is not checked against AWS. Some sources report
    /// "Missing Authentication Token" for an unknown stage instead, and the
    /// status is 403 either way.
    Forbidden,
    /// The function failed or returned something that is not a proxy response.
    InternalServerError,
    /// The function did not respond within the integration timeout.
    EndpointRequestTimedOut,
    /// The request body is over API Gateway's payload limit.
    RequestTooLong,
    /// The request body could not be read, for example because the client
    /// closed the connection.
    BadRequest,
    /// The client did not send the whole body in time. This is serve's own
    /// response: API Gateway's handling of slow clients is not reproduced.
    RequestTimeout,
}

impl GatewayError {
    /// Builds the response API Gateway sends for this error.
    pub fn response(self, request_id: &str) -> GatewayResponse {
        let (status, error_type, message) = match self {
            GatewayError::MissingAuthenticationToken => (
                StatusCode::FORBIDDEN,
                "MissingAuthenticationTokenException",
                "Missing Authentication Token",
            ),
            GatewayError::Forbidden => (StatusCode::FORBIDDEN, "ForbiddenException", "Forbidden"),
            GatewayError::InternalServerError => (
                StatusCode::BAD_GATEWAY,
                "InternalServerErrorException",
                "Internal server error",
            ),
            GatewayError::EndpointRequestTimedOut => (
                StatusCode::GATEWAY_TIMEOUT,
                "IntegrationTimeoutException",
                "Endpoint request timed out",
            ),
            GatewayError::RequestTooLong => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestTooLongException",
                "Request Too Long",
            ),
            GatewayError::BadRequest => (
                StatusCode::BAD_REQUEST,
                "BadRequestException",
                "Bad Request",
            ),
            GatewayError::RequestTimeout => (
                StatusCode::REQUEST_TIMEOUT,
                "RequestTimeoutException",
                "Request Timeout",
            ),
        };

        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(
            HeaderName::from_static("x-amzn-errortype"),
            HeaderValue::from_static(error_type),
        );
        insert_request_id(&mut headers, request_id);
        let body = serde_json::json!({ "message": message }).to_string();
        GatewayResponse {
            status,
            headers,
            body: Bytes::from(body),
        }
    }
}

/// Turns the function's proxy response into the HTTP response. A status
/// outside 100-599 or a body flagged base64 that does not decode is what API
/// Gateway reports as a malformed proxy response (502).
pub fn build_response(
    proxy: ApiGatewayProxyResponse,
    request_id: &str,
) -> Result<GatewayResponse, String> {
    let status = u16::try_from(proxy.status_code)
        .ok()
        .and_then(|code| StatusCode::from_u16(code).ok())
        .filter(|_| (100..=599).contains(&proxy.status_code))
        .ok_or_else(|| format!("invalid statusCode {}", proxy.status_code))?;

    let mut headers = proxy.headers;
    let mut replaced = Vec::new();
    for (name, value) in &proxy.multi_value_headers {
        if !replaced.contains(name) {
            headers.remove(name);
            replaced.push(name.clone());
        }
        headers.append(name.clone(), value.clone());
    }
    if !headers.contains_key(CONTENT_TYPE) {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    insert_request_id(&mut headers, request_id);

    let body = match proxy.body {
        None | Some(Body::Empty) => Bytes::new(),
        Some(Body::Text(text)) if proxy.is_base64_encoded => BASE64
            .decode(text.as_bytes())
            .map(Bytes::from)
            .map_err(|error| format!("body is flagged base64 but does not decode: {error}"))?,
        Some(Body::Text(text)) => Bytes::from(text),
        Some(Body::Binary(bytes)) => Bytes::from(bytes),
        Some(_) => return Err("unsupported body type".to_owned()),
    };

    Ok(GatewayResponse {
        status,
        headers,
        body,
    })
}

fn insert_request_id(headers: &mut HeaderMap, request_id: &str) {
    if let Ok(value) = HeaderValue::from_str(request_id) {
        headers.insert(HeaderName::from_static("x-amzn-requestid"), value);
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::time::Duration;

    use super::*;

    fn info() -> RequestInfo {
        RequestInfo {
            api_id: "abc123".into(),
            stage: "prod".into(),
            binary_media_types: Vec::new(),
            request_id: "req-1".into(),
            source_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            domain_name: "127.0.0.1:3000".into(),
            received_at: UNIX_EPOCH + Duration::from_secs(1_796_403_041),
        }
    }

    fn webhook_route(tenant: &str) -> RouteMatch {
        RouteMatch {
            resource_path: "/v1/receiver/{tenantId}/webhook".into(),
            path_parameters: HashMap::from([("tenantId".to_owned(), tenant.to_owned())]),
        }
    }

    fn post(headers: &HeaderMap, query: Option<&str>, body: &[u8]) -> ApiGatewayProxyRequest {
        post_to_api(headers, query, body, &[])
    }

    /// Builds the event for a POST to an API with these binary media types.
    fn post_to_api(
        headers: &HeaderMap,
        query: Option<&str>,
        body: &[u8],
        binary_media_types: &[&str],
    ) -> ApiGatewayProxyRequest {
        let mut info = info();
        info.binary_media_types = binary_media_types.iter().map(|t| t.to_string()).collect();
        build_event(
            &Method::POST,
            "/prod/v1/receiver/acme/webhook",
            query,
            headers,
            body,
            &webhook_route("acme"),
            &info,
        )
    }

    #[test]
    fn event_has_rest_proxy_fields() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let event = post(&headers, None, br#"{"id":"evt_1"}"#);

        assert_eq!(
            event.resource.as_deref(),
            Some("/v1/receiver/{tenantId}/webhook")
        );
        assert_eq!(event.path.as_deref(), Some("/v1/receiver/acme/webhook"));
        assert_eq!(event.http_method, Method::POST);
        assert_eq!(event.path_parameters["tenantId"], "acme");
        assert_eq!(event.body.as_deref(), Some(r#"{"id":"evt_1"}"#));
        assert!(!event.is_base64_encoded);

        let context = &event.request_context;
        assert_eq!(context.stage.as_deref(), Some("prod"));
        assert_eq!(context.request_id.as_deref(), Some("req-1"));
        assert_eq!(
            context.resource_path.as_deref(),
            Some("/v1/receiver/{tenantId}/webhook")
        );
        assert_eq!(
            context.path.as_deref(),
            Some("/prod/v1/receiver/acme/webhook")
        );
        assert_eq!(context.http_method, Method::POST);
        assert_eq!(context.identity.source_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(context.apiid.as_deref(), Some("abc123"));
        assert_eq!(context.request_time_epoch, 1_796_403_041_000);
        assert_eq!(
            context.request_time.as_deref(),
            Some("04/Dec/2026:16:50:41 +0000")
        );
    }

    #[test]
    fn event_serializes_as_rest_payload() {
        let event = post(&HeaderMap::new(), Some("a=1"), b"{}");
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["httpMethod"], "POST");
        assert_eq!(json["pathParameters"]["tenantId"], "acme");
        assert_eq!(json["queryStringParameters"]["a"], "1");
        assert_eq!(json["multiValueQueryStringParameters"]["a"][0], "1");
        assert_eq!(json["requestContext"]["identity"]["sourceIp"], "127.0.0.1");
        assert_eq!(json["isBase64Encoded"], false);
    }

    #[test]
    fn binary_media_type_body_is_base64() {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        let event = post_to_api(
            &headers,
            None,
            &[0, 159, 146, 150],
            &["application/octet-stream"],
        );
        assert!(event.is_base64_encoded);
        assert_eq!(event.body.as_deref(), Some("AJ+Slg=="));
    }

    #[test]
    fn wildcard_media_type_makes_json_base64() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let event = post_to_api(&headers, None, b"{}", &["*/*"]);
        assert!(event.is_base64_encoded);
        assert_eq!(event.body.as_deref(), Some("e30="));
    }

    #[test]
    fn wildcard_media_type_without_content_type() {
        let event = post_to_api(&HeaderMap::new(), None, &[0xff], &["*/*"]);
        assert!(event.is_base64_encoded);
        assert_eq!(event.body.as_deref(), Some("/w=="));
    }

    #[test]
    fn unlisted_media_type_is_text() {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        let event = post_to_api(&headers, None, b"abc", &["image/png"]);
        assert!(!event.is_base64_encoded);
        assert_eq!(event.body.as_deref(), Some("abc"));
    }

    #[test]
    fn invalid_utf8_text_body_is_replaced() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        let event = post(&headers, None, &[b'a', 0xff, 0xfe]);
        assert!(!event.is_base64_encoded);
        assert_eq!(event.body.as_deref(), Some("a\u{fffd}\u{fffd}"));
    }

    #[test]
    fn binary_media_type_matching() {
        let cases: &[(Option<&str>, &[&str], bool)] = &[
            (Some("image/png"), &["image/png"], true),
            (Some("IMAGE/PNG; q=1"), &["image/png"], true),
            (Some("image/png"), &["image/*"], true),
            (Some("image/png"), &["*/*"], true),
            (None, &["*/*"], true),
            (None, &["image/*"], false),
            (Some("image/png"), &["image/jpeg"], false),
            (Some("imagex/png"), &["image/*"], false),
            (Some("application/json"), &[], false),
            (
                Some("text/plain"),
                &["application/json", "text/plain"],
                true,
            ),
        ];
        for (content_type, patterns, expected) in cases {
            let patterns: Vec<String> = patterns.iter().map(|p| p.to_string()).collect();
            assert_eq!(
                is_binary_media_type(*content_type, &patterns),
                *expected,
                "content type {content_type:?} against {patterns:?}"
            );
        }
    }

    #[test]
    fn non_utf8_header_values_are_replaced() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "stripe-signature",
            HeaderValue::from_bytes(b"t=1,v1=ab,x=\xe9").unwrap(),
        );
        headers.insert("x-custom", HeaderValue::from_bytes(b"caf\xe9").unwrap());
        headers.insert(
            http::header::USER_AGENT,
            HeaderValue::from_bytes(b"\xff\xfe").unwrap(),
        );
        headers.insert("x-utf8", HeaderValue::from_str("café").unwrap());
        let event = post(&headers, None, b"");

        let json = serde_json::to_value(&event).expect("event serializes");
        assert_eq!(json["headers"]["stripe-signature"], "t=1,v1=ab,x=\u{fffd}");
        assert_eq!(json["headers"]["x-custom"], "caf\u{fffd}");
        assert_eq!(json["headers"]["user-agent"], "\u{fffd}\u{fffd}");
        assert_eq!(json["headers"]["x-utf8"], "café");
        assert_eq!(json["multiValueHeaders"]["x-custom"][0], "caf\u{fffd}");
        assert_eq!(
            event.request_context.identity.user_agent.as_deref(),
            Some("\u{fffd}\u{fffd}")
        );
    }

    #[test]
    fn empty_body_is_null() {
        let event = post(&HeaderMap::new(), None, b"");
        assert_eq!(event.body, None);
        assert!(!event.is_base64_encoded);
    }

    #[test]
    fn repeated_headers_keep_every_value() {
        let mut headers = HeaderMap::new();
        headers.append("x-tag", HeaderValue::from_static("one"));
        headers.append("x-tag", HeaderValue::from_static("two"));
        let event = post(&headers, None, b"");

        let multi: Vec<_> = event.multi_value_headers.get_all("x-tag").iter().collect();
        assert_eq!(multi, ["one", "two"]);
        assert_eq!(event.headers.get_all("x-tag").iter().count(), 1);
        assert_eq!(event.headers["x-tag"], "two");
        assert_eq!(event.headers["x-forwarded-for"], "127.0.0.1");
        assert_eq!(event.headers["x-forwarded-port"], "3000");
    }

    #[test]
    fn repeated_query_keys_keep_every_value() {
        let event = post(&HeaderMap::new(), Some("tag=a&tag=b%20c&q=x+y"), b"");
        assert_eq!(
            event.multi_value_query_string_parameters.all("tag"),
            Some(vec!["a", "b c"])
        );
        assert_eq!(event.query_string_parameters.first("tag"), Some("b c"));
        assert_eq!(event.query_string_parameters.first("q"), Some("x y"));
    }

    #[test]
    fn strip_stage_cases() {
        assert_eq!(strip_stage("/prod/v1/x", "prod"), Some("/v1/x"));
        assert_eq!(strip_stage("/prod", "prod"), Some("/"));
        assert_eq!(strip_stage("/prod/", "prod"), Some("/"));
        assert_eq!(strip_stage("/production/v1", "prod"), None);
        assert_eq!(strip_stage("/dev/v1/x", "prod"), None);
        assert_eq!(strip_stage("/", "prod"), None);
    }

    #[test]
    fn unknown_route_response() {
        let response = GatewayError::MissingAuthenticationToken.response("req-1");
        assert_eq!(response.status, StatusCode::FORBIDDEN);
        assert_eq!(
            response.body,
            Bytes::from_static(br#"{"message":"Missing Authentication Token"}"#)
        );
        assert_eq!(
            response.headers["x-amzn-errortype"],
            "MissingAuthenticationTokenException"
        );
        assert_eq!(response.headers["x-amzn-requestid"], "req-1");
    }

    fn proxy_response(json: &str) -> ApiGatewayProxyResponse {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn response_text_body_and_headers() {
        let proxy = proxy_response(
            r#"{"statusCode":401,"headers":{"content-type":"text/plain","x-one":"1"},
                "multiValueHeaders":{"set-cookie":["a=1","b=2"]},"body":"unauthorized"}"#,
        );
        let response = build_response(proxy, "req-1").unwrap();
        assert_eq!(response.status, StatusCode::UNAUTHORIZED);
        assert_eq!(response.body, Bytes::from_static(b"unauthorized"));
        assert_eq!(response.headers["content-type"], "text/plain");
        assert_eq!(response.headers["x-one"], "1");
        let cookies: Vec<_> = response.headers.get_all("set-cookie").iter().collect();
        assert_eq!(cookies, ["a=1", "b=2"]);
        assert_eq!(response.headers["x-amzn-requestid"], "req-1");
    }

    #[test]
    fn response_multi_value_headers_replace_single() {
        let proxy = proxy_response(
            r#"{"statusCode":200,"headers":{"x-tag":"single"},
                "multiValueHeaders":{"x-tag":["m1","m2"]}}"#,
        );
        let response = build_response(proxy, "req-1").unwrap();
        let tags: Vec<_> = response.headers.get_all("x-tag").iter().collect();
        assert_eq!(tags, ["m1", "m2"]);
        assert_eq!(response.headers["content-type"], "application/json");
        assert!(response.body.is_empty());
    }

    #[test]
    fn response_base64_body_is_decoded() {
        let proxy =
            proxy_response(r#"{"statusCode":200,"body":"AJ+Slg==","isBase64Encoded":true}"#);
        let response = build_response(proxy, "req-1").unwrap();
        assert_eq!(response.body, Bytes::from_static(&[0, 159, 146, 150]));
    }

    #[test]
    fn response_invalid_base64_is_rejected() {
        let proxy = proxy_response(r#"{"statusCode":200,"body":"***","isBase64Encoded":true}"#);
        assert!(build_response(proxy, "req-1").is_err());
    }

    #[test]
    fn response_invalid_status_is_rejected() {
        let proxy = proxy_response(r#"{"statusCode":42}"#);
        let error = build_response(proxy, "req-1").unwrap_err();
        assert!(error.contains("42"), "{error}");
    }
}
