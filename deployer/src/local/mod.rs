//! Running a deployed stack on one machine: the REST API's routes, the
//! translation between HTTP and Lambda proxy events, the function behind a
//! local runtime API, and the HTTP client `serve` and `send` share.

pub mod artifact;
pub mod client;
pub mod deployment;
pub mod event;
pub mod routes;
pub mod runtime;
