//! Verifies Stripe-style webhook signatures against per-tenant secrets.

pub mod cache;
pub mod config;
pub mod handler;
pub mod logging;
pub mod response;
pub mod routing;
pub mod schema;
pub mod signature;
pub mod store;
pub mod tenant_id;
#[cfg(feature = "testing")]
pub mod testing;
