//! Command-line interface: global options, per-deploy stack options and subcommands.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Deploys the Stripe-style webhook receiver to AWS (or a local emulator),
/// seeds test tenants and tears the stack down again.
#[derive(Debug, Parser)]
#[command(
    name = "deployer",
    version,
    propagate_version = true,
    after_help = "Exit codes: 0 success, including \"no changes\" and \"nothing to delete\"; \
                  1 any failure, with the reason on stderr; 2 invalid command line."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Options shared by every subcommand. Each one may also come from the
/// environment variable shown in `--help` or from `deployer.toml`. A flag
/// wins over the environment, and the environment over the file.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Named AWS profile from ~/.aws/config to take credentials and region from.
    #[arg(long, global = true, env = "AWS_PROFILE")]
    pub profile: Option<String>,

    /// AWS region to deploy to, for example eu-west-1.
    #[arg(long, global = true, env = "AWS_REGION")]
    pub region: Option<String>,

    /// Endpoint URL that replaces every AWS service endpoint, for example
    /// http://127.0.0.1:5000 for the local emulator.
    #[arg(long, global = true, env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,

    /// Prefix of resource names: `{prefix}-WebhookReceiver` for the function,
    /// `{prefix}-TenantApiKeys` for the table. Default: dev.
    #[arg(long, global = true, env = "DEPLOYER_PREFIX")]
    pub prefix: Option<String>,

    /// CloudFormation stack name. Default: `{prefix}-webhook-receiver`.
    #[arg(long, global = true, env = "DEPLOYER_STACK_NAME")]
    pub stack_name: Option<String>,

    /// Format of the result printed on stdout. Default: text.
    #[arg(long, global = true, value_enum, env = "DEPLOYER_OUTPUT")]
    pub output: Option<OutputFormat>,

    /// Settings file read before the environment and flags. It must exist when
    /// given; without this option, `deployer.toml` is read if present.
    #[arg(long, global = true, env = "DEPLOYER_CONFIG")]
    pub config: Option<PathBuf>,

    /// Log more detail on stderr: -v for debug, -vv also for the deployer's
    /// own trace events. AWS request and response bodies are logged only
    /// when RUST_LOG enables the SDK's trace events.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// Maximum wait for CloudFormation that `--timeout` accepts: one day, in minutes.
const MAX_WAIT_MINUTES: u64 = 24 * 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TemplateFormat {
    Yaml,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize, serde::Serialize)]
pub enum Architecture {
    #[value(name = "x86_64")]
    #[serde(rename = "x86_64")]
    X86_64,
    #[value(name = "arm64")]
    #[serde(rename = "arm64")]
    Arm64,
}

impl Architecture {
    /// Returns the name Lambda uses in `Architectures`.
    pub fn as_lambda_name(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }
}

/// Settings that shape the stack; each becomes a template parameter default
/// in `synth` and a parameter value in `up`.
#[derive(Debug, Default, Args)]
pub struct StackArgs {
    /// API Gateway stage name, the first segment of every URL. Default: prod.
    #[arg(long)]
    pub stage: Option<String>,

    /// Existing tenant table to use instead of creating `{prefix}-TenantApiKeys`.
    /// The stack never modifies or deletes a table given here.
    #[arg(long)]
    pub table_name: Option<String>,

    /// Global secondary index on `tenantId`; an empty string makes the function
    /// Scan the table instead. Default: tenantId-index.
    #[arg(long)]
    pub index_name: Option<String>,

    /// CPU architecture of the function. Default: x86_64.
    #[arg(long, value_enum)]
    pub architecture: Option<Architecture>,

    /// Function memory in MB (128 to 10240). Default: 128.
    #[arg(long)]
    pub memory: Option<u32>,

    /// Function timeout in seconds (1 to 29, API Gateway's limit). Default: 10.
    #[arg(long)]
    pub function_timeout: Option<u32>,

    /// Days the function's log group keeps events. Default: 14.
    #[arg(long)]
    pub log_retention_days: Option<u32>,

    /// Maximum age, in seconds, of a signature timestamp in either direction.
    /// Default: 300.
    #[arg(long)]
    pub tolerance: Option<u32>,

    /// Stage throttling: steady-state requests per second. Default: 100.
    #[arg(long)]
    pub throttle_rate: Option<f64>,

    /// Stage throttling: burst size in requests. Default: 200.
    #[arg(long)]
    pub throttle_burst: Option<u32>,

    /// Custom domain name for the API, for example hooks.example.com.
    #[arg(long, requires_all = ["certificate_arn", "hosted_zone_id"])]
    pub domain_name: Option<String>,

    /// ARN of a regional ACM certificate for `--domain-name`.
    #[arg(long, requires = "domain_name")]
    pub certificate_arn: Option<String>,

    /// Route 53 hosted zone id that receives the alias record for `--domain-name`.
    #[arg(long, requires = "domain_name")]
    pub hosted_zone_id: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render the CloudFormation template without calling AWS.
    Synth(SynthArgs),
    /// Build the function, upload it and create or update the stack.
    Up(UpArgs),
    /// Show the changes `up` would make, without applying them.
    Diff(UpArgs),
    /// Write test tenants with fresh webhook secrets into the tenant table.
    Seed(SeedArgs),
    /// Delete the stack and the artifact bucket.
    Down(DownArgs),
    /// Print the stack's status and outputs.
    Status,
    /// Serve a stack deployed to the local emulator over HTTP on 127.0.0.1.
    Serve(ServeArgs),
    /// Sign a delivery Stripe-style and POST it to a tenant's webhook URL.
    Send(SendArgs),
}

#[derive(Debug, Args)]
pub struct SynthArgs {
    #[command(flatten)]
    pub stack: StackArgs,

    /// Template format.
    #[arg(long, value_enum, default_value = "yaml")]
    pub format: TemplateFormat,

    /// File to write the template to; stdout when absent.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub stack: StackArgs,

    /// Deploy this zip instead of building the function with cargo-lambda.
    #[arg(long)]
    pub artifact: Option<PathBuf>,

    /// Show the change set and stop without applying it.
    #[arg(long)]
    pub dry_run: bool,

    /// Maximum time, in minutes, to wait for CloudFormation (1 to 1440).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=MAX_WAIT_MINUTES))]
    pub timeout: u64,
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// Tenant id to seed; repeat for several. Default: test-tenant, acme, globex.
    #[arg(long = "tenant", value_name = "ID")]
    pub tenants: Vec<String>,

    /// Also seed N generated tenants named tenant-1 ... tenant-N (N >= 1).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub count: Option<u32>,

    /// Base URL for `targetUrl`, instead of the stack's webhook URL.
    #[arg(long, value_name = "URL")]
    pub target_base: Option<String>,

    /// Add a new active secret beside each tenant's existing ones.
    #[arg(long)]
    pub rotate: bool,

    /// Mark every secret but each tenant's newest one inactive.
    #[arg(long)]
    pub retire: bool,

    /// Tenant table to write to. Default: the stack's `TableName` output.
    #[arg(long)]
    pub table_name: Option<String>,
}

#[derive(Debug, Args)]
pub struct DownArgs {
    /// Delete without asking for confirmation; required when stdin is not a terminal.
    #[arg(long)]
    pub yes: bool,

    /// Remove the rows `seed` wrote from an existing table passed with --table-name.
    #[arg(long)]
    pub purge_seeded: bool,

    /// Existing tenant table the stack uses; it is never deleted.
    #[arg(long)]
    pub table_name: Option<String>,

    /// Maximum time, in minutes, to wait for CloudFormation (1 to 1440).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=MAX_WAIT_MINUTES))]
    pub timeout: u64,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Port to listen on, on 127.0.0.1.
    #[arg(long, default_value_t = 3000)]
    pub port: u16,

    /// Function zip (or unpacked `bootstrap` binary) to run. Default: the
    /// zip the stack deployed, read from the emulator's S3.
    #[arg(long)]
    pub artifact: Option<PathBuf>,

    /// Function processes to run, like concurrent Lambda execution environments.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub instances: u16,

    /// Set or override a variable of the function's environment, for example
    /// SECRET_CACHE_TTL_SECONDS=0; repeat for several.
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
}

#[derive(Debug, Args)]
pub struct SendArgs {
    /// Tenant id to deliver to.
    #[arg(long)]
    pub tenant: String,

    /// JSON body to send. Default: a small generated test event.
    #[arg(long, conflicts_with = "data_file")]
    pub data: Option<String>,

    /// File whose bytes are sent as the body, unchanged.
    #[arg(long)]
    pub data_file: Option<PathBuf>,

    /// Webhook URL; default: the tenant's URL from the stack outputs.
    #[arg(long)]
    pub url: Option<String>,

    /// Signing secret (whsec_...); default: the tenant's active secret from the table.
    #[arg(long)]
    pub secret: Option<String>,

    /// Signature timestamp in Unix seconds. Default: now.
    #[arg(long)]
    pub timestamp: Option<i64>,

    /// Change the body after signing, so the signature no longer matches.
    #[arg(long)]
    pub tamper: bool,

    /// HTTP status that counts as success; exit 0 only when every response has it.
    #[arg(long)]
    pub expect: Option<u16>,

    /// Number of deliveries to send.
    #[arg(long, default_value_t = 1)]
    pub count: u32,

    /// Deliveries in flight at once.
    #[arg(long, default_value_t = 1)]
    pub concurrency: u32,
}
