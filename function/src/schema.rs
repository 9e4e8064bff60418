//! Attribute names of the TenantApiKeys DynamoDB table.
//!
//! One item per API key, with partition key [`API_KEY`]. A tenant may own
//! several items, and every item whose [`IS_ACTIVE`] is `true` contributes
//! its [`WEBHOOK_SECRET`], which allows rotation without downtime.

/// Partition key (string): the API key.
pub const API_KEY: &str = "apiKey";

/// Tenant that owns the key (string), the partition key of the
/// [`DEFAULT_INDEX_NAME`] global secondary index.
pub const TENANT_ID: &str = "tenantId";

/// URL that the tenant's deliveries are meant for (string).
pub const TARGET_URL: &str = "targetUrl";

/// Signing secret (string): `whsec_` followed by 32 hex digits.
pub const WEBHOOK_SECRET: &str = "webhookSecret";

/// Whether the item's secret is accepted (boolean). An item without it, or
/// with a value of another type, counts as inactive.
pub const IS_ACTIVE: &str = "isActive";

/// Creation time in Unix seconds, stored as a string.
pub const CREATED_AT: &str = "createdAt";

/// Human-readable name of the tenant or key (string).
pub const DISPLAY_NAME: &str = "displayName";

/// Default name of the global secondary index keyed on [`TENANT_ID`].
pub const DEFAULT_INDEX_NAME: &str = "tenantId-index";

/// Default table name.
pub const DEFAULT_TABLE_NAME: &str = "TenantApiKeys";
