//! Verifies Stripe-style webhook signatures against per-tenant secrets.

#[cfg(feature = "testing")]
pub mod testing;
