//! Tenant rows in the TenantApiKeys table: seeding test tenants, rotating
//! and retiring their secrets, counting rows and purging seeded ones.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Result, anyhow, bail};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, KeyType, Select};
use rand::TryRngCore;
use webhook_receiver::schema;

use crate::aws::explain;
use crate::output::{SeedAction, SeededRow};
use crate::stack::{StackInfo, Stacks};
use crate::template::names::{outputs, params};

/// Attribute that marks a row written by `seed`, so that purging removes
/// only those.
pub const SEEDED_BY: &str = "seededBy";

/// Value of [`SEEDED_BY`].
pub const SEEDED_BY_DEPLOYER: &str = "deployer";

/// Attribute with the Unix time in milliseconds at which `seed` wrote the
/// row. It orders rows written within the same second, which `createdAt`
/// cannot tell apart.
pub const SEEDED_AT_MILLIS: &str = "seededAtMillis";

/// Tenants `seed` writes when none are named.
pub const DEFAULT_TENANTS: [&str; 3] = ["test-tenant", "acme", "globex"];

/// CloudFormation type of the tenant table.
pub const TABLE_TYPE: &str = "AWS::DynamoDB::Table";

/// Returns the tenant table a deployed stack uses: its `TableName` output,
/// else its own table resource, else the existing table passed as the
/// `TenantTableName` parameter. The fallbacks matter on the local emulator,
/// which returns no outputs for stacks made through change sets.
pub async fn stack_table_name(stacks: &Stacks<'_>, stack: &StackInfo) -> Result<Option<String>> {
    if let Some(name) = stack.outputs.get(outputs::TABLE_NAME) {
        return Ok(Some(name.clone()));
    }
    if let Some(name) = stacks
        .physical_ids(&stack.stack_id, TABLE_TYPE)
        .await?
        .pop()
    {
        return Ok(Some(name));
    }
    let parameter = stack.parameters.get(params::TENANT_TABLE_NAME);
    Ok(parameter.filter(|name| !name.is_empty()).cloned())
}

/// Attempts at a fresh API key when a conditional write finds the key taken.
const MAX_KEY_ATTEMPTS: u32 = 3;

/// One row of the tenant table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantRow {
    pub api_key: String,
    pub tenant_id: String,
    pub target_url: String,
    pub webhook_secret: String,
    pub is_active: bool,
    pub created_at: String,
    pub seeded_at_millis: u64,
}

impl TenantRow {
    fn from_item(item: &HashMap<String, AttributeValue>) -> Option<Self> {
        let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
        Some(Self {
            api_key: text(schema::API_KEY)?,
            tenant_id: text(schema::TENANT_ID)?,
            target_url: text(schema::TARGET_URL).unwrap_or_default(),
            webhook_secret: text(schema::WEBHOOK_SECRET).unwrap_or_default(),
            // Anything but a boolean true counts as inactive, as in the function.
            is_active: item
                .get(schema::IS_ACTIVE)
                .and_then(|v| v.as_bool().ok())
                .copied()
                .unwrap_or(false),
            created_at: text(schema::CREATED_AT).unwrap_or_default(),
            seeded_at_millis: item
                .get(SEEDED_AT_MILLIS)
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0),
        })
    }

    /// Sort key from oldest to newest.
    fn age_key(&self) -> (u64, u64) {
        (self.created_at.parse().unwrap_or(0), self.seeded_at_millis)
    }

    fn seeded(&self, action: SeedAction) -> SeededRow {
        SeededRow {
            tenant_id: self.tenant_id.clone(),
            action,
            api_key: self.api_key.clone(),
            webhook_secret: self.webhook_secret.clone(),
            is_active: self.is_active,
            target_url: self.target_url.clone(),
            created_at: self.created_at.clone(),
        }
    }
}

/// Options of `seed` that apply to each tenant.
#[derive(Debug, Clone, Copy, Default)]
pub struct SeedOptions {
    /// Add a new active secret even when the tenant has one.
    pub rotate: bool,
    /// Turn every active row but the newest inactive.
    pub retire: bool,
}

/// The tenant table and how to find a tenant's rows in it.
pub struct TenantTable<'a> {
    client: &'a Client,
    name: String,
    /// A global secondary index whose partition key is `tenantId`.
    tenant_index: Option<String>,
}

impl<'a> TenantTable<'a> {
    /// Describes the table and looks for an index keyed on `tenantId`.
    pub async fn open(client: &'a Client, name: &str) -> Result<Self> {
        let output = match client.describe_table().table_name(name).send().await {
            Ok(output) => output,
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                bail!(
                    "tenant table {name} does not exist; check --table-name, or deploy \
                     without it so that the stack creates its own table"
                );
            }
            Err(error) => return Err(explain(error, &format!("failed to describe table {name}"))),
        };
        let tenant_index = output.table().and_then(|table| {
            table
                .global_secondary_indexes()
                .iter()
                .find(|index| {
                    index.key_schema().iter().any(|key| {
                        key.key_type() == &KeyType::Hash
                            && key.attribute_name() == schema::TENANT_ID
                    })
                })
                .and_then(|index| index.index_name().map(str::to_owned))
        });
        Ok(Self {
            client,
            name: name.to_owned(),
            tenant_index,
        })
    }

    /// Name of the global secondary index keyed on `tenantId`, if the table has one.
    pub fn tenant_index(&self) -> Option<&str> {
        self.tenant_index.as_deref()
    }

    /// Seeds one tenant and returns the rows it wrote, kept or retired.
    pub async fn seed(
        &self,
        tenant_id: &str,
        target_url: &str,
        options: SeedOptions,
    ) -> Result<Vec<SeededRow>> {
        // NOTE: the check for an active row and the write are two requests,
        // so two seeds of one tenant at the same moment can both create a
        // row. Each row is a valid secret and nothing is overwritten.
        let rows = self.tenant_rows(tenant_id).await?;
        let mut active: Vec<TenantRow> = rows.into_iter().filter(|row| row.is_active).collect();
        active.sort_by_key(TenantRow::age_key);

        let mut report = Vec::new();
        if active.is_empty() || options.rotate {
            let action = if active.is_empty() {
                SeedAction::Created
            } else {
                SeedAction::Rotated
            };
            let row = self.insert(tenant_id, target_url).await?;
            report.push(row.seeded(action));
            active.push(row);
        }

        // The newest row is last: the one just written, or else the one
        // with the latest createdAt.
        let newest = active.len().saturating_sub(1);
        for (position, row) in active.iter().enumerate() {
            if position == newest || !options.retire {
                if !report.iter().any(|seeded| seeded.api_key == row.api_key) {
                    report.push(row.seeded(SeedAction::Existing));
                }
                continue;
            }
            self.deactivate(&row.api_key).await?;
            let mut retired = row.clone();
            retired.is_active = false;
            report.push(retired.seeded(SeedAction::Retired));
        }
        Ok(report)
    }

    /// Returns every row of `tenant_id`: from the index when there is one,
    /// else by scanning the table.
    pub async fn tenant_rows(&self, tenant_id: &str) -> Result<Vec<TenantRow>> {
        let value = AttributeValue::S(tenant_id.to_owned());
        let mut items = Vec::new();
        if let Some(index) = &self.tenant_index {
            // NOTE: a global secondary index is eventually consistent, so a
            // row written a moment earlier may be missing here on AWS.
            let mut pages = self
                .client
                .query()
                .table_name(&self.name)
                .index_name(index)
                .key_condition_expression("#tenant = :tenant")
                .expression_attribute_names("#tenant", schema::TENANT_ID)
                .expression_attribute_values(":tenant", value)
                .into_paginator()
                .items()
                .send();
            while let Some(item) = pages.next().await {
                items.push(item.map_err(|error| {
                    explain(
                        error,
                        &format!("failed to query {} for tenant {tenant_id}", self.name),
                    )
                })?);
            }
        } else {
            let mut pages = self
                .client
                .scan()
                .table_name(&self.name)
                .filter_expression("#tenant = :tenant")
                .expression_attribute_names("#tenant", schema::TENANT_ID)
                .expression_attribute_values(":tenant", value)
                .into_paginator()
                .items()
                .send();
            while let Some(item) = pages.next().await {
                items.push(item.map_err(|error| {
                    explain(
                        error,
                        &format!("failed to scan {} for tenant {tenant_id}", self.name),
                    )
                })?);
            }
        }
        Ok(items.iter().filter_map(TenantRow::from_item).collect())
    }

    /// Writes a new active row with a fresh API key and secret. The write is
    /// conditional, so an existing row is never overwritten.
    async fn insert(&self, tenant_id: &str, target_url: &str) -> Result<TenantRow> {
        for _ in 0..MAX_KEY_ATTEMPTS {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            let row = TenantRow {
                api_key: format!("tenant_{tenant_id}_live_{}", random_hex(6)?),
                tenant_id: tenant_id.to_owned(),
                target_url: target_url.to_owned(),
                webhook_secret: format!("whsec_{}", random_hex(16)?),
                is_active: true,
                created_at: now.as_secs().to_string(),
                seeded_at_millis: u64::try_from(now.as_millis()).unwrap_or(u64::MAX),
            };
            let result = self
                .client
                .put_item()
                .table_name(&self.name)
                .set_item(Some(item(&row)))
                .condition_expression("attribute_not_exists(#key)")
                .expression_attribute_names("#key", schema::API_KEY)
                .send()
                .await;
            match result {
                Ok(_) => return Ok(row),
                Err(error)
                    if matches!(
                        error.as_service_error(),
                        Some(PutItemError::ConditionalCheckFailedException(_))
                    ) =>
                {
                    tracing::debug!(
                        tenant_id,
                        "generated API key exists already; trying another"
                    );
                }
                Err(error) => {
                    return Err(explain(
                        error,
                        &format!(
                            "failed to write a row for tenant {tenant_id} to {}",
                            self.name
                        ),
                    ));
                }
            }
        }
        Err(anyhow!(
            "failed to find an unused API key for tenant {tenant_id} after {MAX_KEY_ATTEMPTS} attempts"
        ))
    }

    /// Marks a row inactive, if it still exists.
    async fn deactivate(&self, api_key: &str) -> Result<()> {
        let result = self
            .client
            .update_item()
            .table_name(&self.name)
            .key(schema::API_KEY, AttributeValue::S(api_key.to_owned()))
            .update_expression("SET #active = :false")
            .condition_expression("attribute_exists(#key)")
            .expression_attribute_names("#active", schema::IS_ACTIVE)
            .expression_attribute_names("#key", schema::API_KEY)
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Deleted since it was read: nothing left to retire.
            Err(error)
                if matches!(
                    error.as_service_error(),
                    Some(UpdateItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(())
            }
            Err(error) => Err(explain(
                error,
                &format!("failed to retire a key in {}", self.name),
            )),
        }
    }

    /// Counts every row of the table.
    pub async fn count_rows(&self) -> Result<u64> {
        let mut pages = self
            .client
            .scan()
            .table_name(&self.name)
            .select(Select::Count)
            .into_paginator()
            .send();
        let mut count = 0u64;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|error| {
                explain(error, &format!("failed to count rows in {}", self.name))
            })?;
            count += u64::try_from(page.count()).unwrap_or(0);
        }
        Ok(count)
    }

    /// Deletes the rows `seed` wrote and returns how many.
    pub async fn purge_seeded(&self) -> Result<u64> {
        let mut pages = self
            .client
            .scan()
            .table_name(&self.name)
            .filter_expression("#seeded = :deployer")
            .projection_expression("#key")
            .expression_attribute_names("#seeded", SEEDED_BY)
            .expression_attribute_names("#key", schema::API_KEY)
            .expression_attribute_values(":deployer", AttributeValue::S(SEEDED_BY_DEPLOYER.into()))
            .into_paginator()
            .items()
            .send();
        let mut keys = Vec::new();
        while let Some(item) = pages.next().await {
            let item =
                item.map_err(|error| explain(error, &format!("failed to scan {}", self.name)))?;
            if let Some(key) = item.get(schema::API_KEY) {
                keys.push(key.clone());
            }
        }

        for key in &keys {
            self.client
                .delete_item()
                .table_name(&self.name)
                .key(schema::API_KEY, key.clone())
                .send()
                .await
                .map_err(|error| {
                    explain(
                        error,
                        &format!("failed to delete a seeded row from {}", self.name),
                    )
                })?;
        }
        Ok(keys.len() as u64)
    }
}

fn item(row: &TenantRow) -> HashMap<String, AttributeValue> {
    let text = |value: &str| AttributeValue::S(value.to_owned());
    HashMap::from([
        (schema::API_KEY.to_owned(), text(&row.api_key)),
        (schema::TENANT_ID.to_owned(), text(&row.tenant_id)),
        (schema::TARGET_URL.to_owned(), text(&row.target_url)),
        (schema::WEBHOOK_SECRET.to_owned(), text(&row.webhook_secret)),
        (
            schema::IS_ACTIVE.to_owned(),
            AttributeValue::Bool(row.is_active),
        ),
        (schema::CREATED_AT.to_owned(), text(&row.created_at)),
        (
            schema::DISPLAY_NAME.to_owned(),
            text(&display_name(&row.tenant_id)),
        ),
        (SEEDED_BY.to_owned(), text(SEEDED_BY_DEPLOYER)),
        (
            SEEDED_AT_MILLIS.to_owned(),
            AttributeValue::N(row.seeded_at_millis.to_string()),
        ),
    ])
}

/// Turns `test-tenant` into `Test Tenant (seeded)`.
fn display_name(tenant_id: &str) -> String {
    let words: Vec<String> = tenant_id
        .split(['-', '_'])
        .filter(|word| !word.is_empty())
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => String::new(),
            }
        })
        .collect();
    format!("{} (seeded)", words.join(" "))
}

/// Returns `bytes` random bytes from the operating system's CSPRNG as
/// lowercase hex.
fn random_hex(bytes: usize) -> Result<String> {
    let mut buffer = vec![0u8; bytes];
    rand::rngs::OsRng
        .try_fill_bytes(&mut buffer)
        .map_err(|error| {
            anyhow!("failed to read random bytes from the operating system: {error}")
        })?;
    Ok(hex::encode(buffer))
}

/// Returns the tenant ids to seed: the named ones (default: test-tenant,
/// acme, globex) followed by `tenant-1` ... `tenant-N`, each once.
pub fn tenant_ids(named: &[String], count: Option<u32>) -> Result<Vec<String>> {
    let mut ids: Vec<String> = if named.is_empty() && count.is_none() {
        DEFAULT_TENANTS.iter().map(|id| (*id).to_owned()).collect()
    } else {
        named.to_vec()
    };
    for number in 1..=count.unwrap_or(0) {
        ids.push(format!("tenant-{number}"));
    }
    let mut unique = Vec::new();
    for id in ids {
        webhook_receiver::tenant_id::validate(&id)
            .map_err(|error| anyhow!("invalid tenant id {id:?}: {error}"))?;
        if !unique.contains(&id) {
            unique.push(id);
        }
    }
    Ok(unique)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids_default() {
        assert_eq!(tenant_ids(&[], None).unwrap(), DEFAULT_TENANTS);
    }

    #[test]
    fn tenant_ids_named_and_counted() {
        let named = vec!["acme".to_owned(), "acme".to_owned()];

        let ids = tenant_ids(&named, Some(2)).unwrap();

        assert_eq!(ids, ["acme", "tenant-1", "tenant-2"]);
    }

    #[test]
    fn tenant_ids_reject_invalid() {
        let error = tenant_ids(&["a/b".to_owned()], None).unwrap_err();

        assert!(error.to_string().contains("\"a/b\""), "{error}");
    }

    #[test]
    fn random_hex_lengths() {
        let secret = random_hex(16).unwrap();

        assert_eq!(secret.len(), 32);
        assert!(
            secret
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
    }

    #[test]
    fn display_name_capitalises_words() {
        assert_eq!(display_name("test-tenant"), "Test Tenant (seeded)");
    }
}
