//! Routing of a REST API event with stage `prod`, with and without
//! `AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH`.
//!
//! lambda_http reads that variable while it builds a request. This file
//! contains a single test, so no other test in this process reads the
//! environment while the test changes it.

mod common;

use common::{Event, Reply, secret};
use lambda_http::RequestExt;
use webhook_receiver::config::SignatureMode;
use webhook_receiver::handler::Receiver;
use webhook_receiver::store::InMemorySecretStore;

const IGNORE_STAGE: &str = "AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH";

async fn tenant_of(event: &Event) -> String {
    let store = InMemorySecretStore::new().with_secret("acme", secret());
    let receiver = Receiver::with_settings(store, 300, SignatureMode::Enforce);

    let reply = Reply::from(receiver.handle(event.request()).await);

    assert_eq!(reply.status, 200, "{}", reply.json);
    reply.json["tenantId"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn stage_prod_routes_to_acme_either_way() {
    let with_parameter = Event::rest().signed(&secret());
    let without_parameter = Event::rest().tenant_parameter(None).signed(&secret());

    // SAFETY: this is the only test in this binary, so no other thread
    // reads or writes the environment meanwhile.
    unsafe { std::env::remove_var(IGNORE_STAGE) };
    assert_eq!(
        with_parameter.request().uri().path(),
        "/prod/v1/receiver/acme/webhook"
    );
    assert_eq!(
        with_parameter.request().raw_http_path(),
        "/v1/receiver/acme/webhook"
    );
    assert_eq!(tenant_of(&with_parameter).await, "acme");
    assert_eq!(tenant_of(&without_parameter).await, "acme");

    // Any value, "false" included, makes lambda_http drop the stage.
    for value in ["true", "false"] {
        // SAFETY: as above.
        unsafe { std::env::set_var(IGNORE_STAGE, value) };
        assert_eq!(
            with_parameter.request().uri().path(),
            "/v1/receiver/acme/webhook"
        );
        assert_eq!(tenant_of(&with_parameter).await, "acme");
        assert_eq!(tenant_of(&without_parameter).await, "acme");
    }

    // SAFETY: as above.
    unsafe { std::env::remove_var(IGNORE_STAGE) };
}
