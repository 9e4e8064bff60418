//! The function behind a local Lambda runtime API: cargo-lambda's emulator
//! (`cargo lambda watch --only-lambda-apis`) serves the runtime and invoke
//! APIs, and the function's release binary runs as one or more instances
//! that poll it, with the environment the stack gives the function.

use std::net::{SocketAddr, TcpListener};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http_body_util::Full;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::Notify;

use crate::local::client::{HttpClient, build_client, read_body};
use crate::local::deployment::FunctionSpec;

/// Name cargo-lambda gives the function when it does not start it itself
/// (`--only-lambda-apis`); invoke requests must use it.
const EMULATOR_FUNCTION_NAME: &str = "_";

/// Maximum time to wait for cargo-lambda's emulator to accept connections.
const EMULATOR_START_TIMEOUT: Duration = Duration::from_secs(60);

/// Time a process gets to exit after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// Settings of the local function processes.
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// Workspace directory that cargo-lambda runs in.
    pub workspace: PathBuf,
    /// The function's `bootstrap` binary, as deployed.
    pub binary: PathBuf,
    pub function: FunctionSpec,
    /// Emulator endpoint the function's SDK calls go to.
    pub endpoint_url: String,
    pub region: String,
    /// Variables that override the stack's function environment.
    pub overrides: Vec<(String, String)>,
    /// Function processes polling the runtime API, like concurrent Lambda
    /// execution environments.
    pub instances: usize,
}

/// Outcome of one invocation.
#[derive(Debug)]
pub enum Invocation {
    /// The function returned this payload.
    Response(Bytes),
    /// The function reported an error, or the emulator rejected the call.
    FunctionError(String),
    /// A function process exited while the invocation was pending.
    ///
    /// NOTE: the emulator keeps the event queued, so the next instance
    /// handles it again and its response is dropped. Any exit also ends
    /// every other pending invocation, whichever instance held it.
    Crashed(String),
    /// No response within the function's timeout.
    TimedOut,
}

/// Result of [`LambdaRuntime::invoke`].
#[derive(Debug)]
pub struct InvokeResult {
    pub invocation: Invocation,
    /// Set on the first response after function processes were started: the
    /// time from their start to that response.
    pub cold_start: Option<Duration>,
}

/// cargo-lambda's runtime emulator and the function processes behind it.
pub struct LambdaRuntime {
    options: RuntimeOptions,
    runtime_address: SocketAddr,
    emulator: Mutex<Option<Child>>,
    emulator_pid: u32,
    instances: Arc<Mutex<Vec<u32>>>,
    cold_start_since: Mutex<Option<Instant>>,
    spawn_lock: tokio::sync::Mutex<()>,
    instance_exited: Arc<Notify>,
    stopping: Arc<AtomicBool>,
    client: HttpClient,
}

impl LambdaRuntime {
    /// Starts cargo-lambda's emulator on a free loopback port and waits until
    /// it accepts connections. Function processes start on the first invoke.
    pub async fn start(options: RuntimeOptions) -> Result<Self> {
        if !options.binary.is_file() {
            bail!(
                "function binary {} not found; build it with scripts/build-function.sh \
                 or `deployer up`, or pass --artifact",
                options.binary.display()
            );
        }
        let port = free_port()?;
        let runtime_address = SocketAddr::from(([127, 0, 0, 1], port));

        let mut command = Command::new("cargo");
        command
            .args(["lambda", "watch", "--only-lambda-apis", "--ignore-changes"])
            .args(["-A", "127.0.0.1", "-P", &port.to_string()])
            .current_dir(&options.workspace)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut emulator = command.spawn().context(
            "failed to run `cargo lambda watch`; install cargo-lambda with scripts/setup.sh \
             and put it on PATH with `source scripts/env.sh`",
        )?;
        let emulator_pid = emulator.id().unwrap_or_default();
        forward_output(emulator.stdout.take(), "cargo-lambda");
        forward_output(emulator.stderr.take(), "cargo-lambda");
        tracing::debug!(pid = emulator_pid, %runtime_address, "started cargo lambda watch");

        let runtime = Self {
            options,
            runtime_address,
            emulator: Mutex::new(Some(emulator)),
            emulator_pid,
            instances: Arc::new(Mutex::new(Vec::new())),
            cold_start_since: Mutex::new(None),
            spawn_lock: tokio::sync::Mutex::new(()),
            instance_exited: Arc::new(Notify::new()),
            stopping: Arc::new(AtomicBool::new(false)),
            client: build_client(64)?,
        };
        if let Err(error) = runtime.wait_until_listening().await {
            runtime.stop().await;
            return Err(error);
        }
        Ok(runtime)
    }

    /// Address of the emulator's runtime and invoke APIs.
    pub fn address(&self) -> SocketAddr {
        self.runtime_address
    }

    async fn wait_until_listening(&self) -> Result<()> {
        let deadline = Instant::now() + EMULATOR_START_TIMEOUT;
        loop {
            if tokio::net::TcpStream::connect(self.runtime_address)
                .await
                .is_ok()
            {
                return Ok(());
            }
            if let Some(status) = self.emulator_exit_status() {
                bail!(
                    "`cargo lambda watch` exited with {status} before it listened on {}; \
                     rerun with -v to see its output",
                    self.runtime_address
                );
            }
            if Instant::now() >= deadline {
                bail!(
                    "`cargo lambda watch` did not listen on {} within {:?}",
                    self.runtime_address,
                    EMULATOR_START_TIMEOUT
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn emulator_exit_status(&self) -> Option<ExitStatus> {
        let mut guard = self.emulator.lock().ok()?;
        guard.as_mut()?.try_wait().ok().flatten()
    }

    /// Sends one event through the invoke API and waits for the function's
    /// response, at most the function's timeout. Starts function processes
    /// first when fewer than the configured number are running.
    pub async fn invoke(&self, event: Vec<u8>) -> InvokeResult {
        // Created before any process starts, so that an instance that exits
        // at once still wakes this invocation.
        let exited = self.instance_exited.notified();
        if let Err(error) = self.ensure_instances().await {
            return InvokeResult {
                invocation: Invocation::Crashed(format!("{error:#}")),
                cold_start: None,
            };
        }

        let request = self.post_invocation(event);
        let invocation = tokio::select! {
            result = tokio::time::timeout(self.options.function.timeout, request) => match result {
                Ok(invocation) => invocation,
                Err(_) => Invocation::TimedOut,
            },
            () = exited => Invocation::Crashed("a function process exited".to_owned()),
        };

        let cold_start = match invocation {
            Invocation::Response(_) => self
                .cold_start_since
                .lock()
                .ok()
                .and_then(|mut since| since.take())
                .map(|since| since.elapsed()),
            _ => None,
        };
        InvokeResult {
            invocation,
            cold_start,
        }
    }

    async fn post_invocation(&self, event: Vec<u8>) -> Invocation {
        let uri = format!(
            "http://{}/2015-03-31/functions/{EMULATOR_FUNCTION_NAME}/invocations",
            self.runtime_address
        );
        let request = hyper::Request::post(uri)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(event)));
        let request = match request {
            Ok(request) => request,
            Err(error) => {
                return Invocation::FunctionError(format!("invalid invoke request: {error}"));
            }
        };
        let response = match self.client.request(request).await {
            Ok(response) => response,
            Err(error) => {
                return Invocation::FunctionError(format!(
                    "invoke request to cargo-lambda failed: {error}"
                ));
            }
        };
        let status = response.status();
        let function_error = response
            .headers()
            .get("x-amz-function-error")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let body = match read_body(response.into_body()).await {
            Ok(body) => body,
            Err(error) => return Invocation::FunctionError(format!("{error:#}")),
        };
        if !status.is_success() || function_error.is_some() {
            let text = String::from_utf8_lossy(&body);
            return Invocation::FunctionError(format!("invoke returned {status}: {text}"));
        }
        Invocation::Response(body)
    }

    /// Starts function processes until the configured number run.
    async fn ensure_instances(&self) -> Result<()> {
        let _guard = self.spawn_lock.lock().await;
        let running = self.instances.lock().map(|pids| pids.len()).unwrap_or(0);
        if running >= self.options.instances {
            return Ok(());
        }
        if running == 0
            && let Ok(mut since) = self.cold_start_since.lock()
        {
            *since = Some(Instant::now());
        }
        for _ in running..self.options.instances {
            self.spawn_instance()?;
        }
        Ok(())
    }

    fn spawn_instance(&self) -> Result<()> {
        let function = &self.options.function;
        let mut command = Command::new(&self.options.binary);
        command
            .env_clear()
            .envs(self.environment())
            .current_dir(
                self.options
                    .binary
                    .parent()
                    .unwrap_or(&self.options.workspace),
            )
            .stdin(Stdio::null())
            .stdout(stderr_stdio())
            .stderr(Stdio::inherit())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = command.spawn().with_context(|| {
            format!(
                "failed to start the function binary {}",
                self.options.binary.display()
            )
        })?;
        let pid = child.id().unwrap_or_default();
        if let Ok(mut pids) = self.instances.lock() {
            pids.push(pid);
        }
        tracing::info!(pid, function = %function.name, "started a function process");

        let instances = Arc::clone(&self.instances);
        let exited = Arc::clone(&self.instance_exited);
        let stopping = Arc::clone(&self.stopping);
        tokio::spawn(async move {
            let status = child.wait().await;
            if let Ok(mut pids) = instances.lock() {
                pids.retain(|running| *running != pid);
            }
            if !stopping.load(Ordering::SeqCst) {
                match status {
                    Ok(status) => tracing::warn!(pid, %status, "function process exited"),
                    Err(error) => {
                        tracing::warn!(pid, %error, "failed to wait for function process")
                    }
                }
            }
            exited.notify_waiters();
        });
        Ok(())
    }

    /// Builds the function's environment: Lambda's reserved variables, the
    /// stack's variables, the emulator endpoint with dummy credentials, then
    /// the overrides.
    fn environment(&self) -> Vec<(String, String)> {
        let function = &self.options.function;
        let mut environment: Vec<(String, String)> = [
            (
                "AWS_LAMBDA_RUNTIME_API",
                format!("http://{}/.rt", self.runtime_address),
            ),
            ("AWS_LAMBDA_FUNCTION_NAME", function.name.clone()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
            (
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                function.memory_mb.to_string(),
            ),
            (
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{}", function.name),
            ),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "local".to_owned()),
            ("AWS_REGION", self.options.region.clone()),
            ("AWS_DEFAULT_REGION", self.options.region.clone()),
            ("AWS_ENDPOINT_URL", self.options.endpoint_url.clone()),
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
            ("_HANDLER", "bootstrap".to_owned()),
            ("PATH", "/usr/local/bin:/usr/bin:/bin".to_owned()),
            ("TZ", ":UTC".to_owned()),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect();
        environment.extend(
            function
                .environment
                .iter()
                .map(|(key, value)| (key.clone(), value.clone())),
        );
        environment.extend(self.options.overrides.iter().cloned());
        environment
    }

    /// Stops the function processes, then cargo-lambda's process group:
    /// SIGTERM first, SIGKILL for any process still running after a grace
    /// period.
    pub async fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        let pids: Vec<u32> = self
            .instances
            .lock()
            .map(|pids| pids.clone())
            .unwrap_or_default();
        for pid in &pids {
            signal_process(*pid as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline
            && self
                .instances
                .lock()
                .map(|p| !p.is_empty())
                .unwrap_or(false)
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let left: Vec<u32> = self
            .instances
            .lock()
            .map(|pids| pids.clone())
            .unwrap_or_default();
        for pid in left {
            tracing::warn!(pid, "function process ignored SIGTERM; killing it");
            signal_process(pid as i32, libc::SIGKILL);
        }

        let emulator = self.emulator.lock().ok().and_then(|mut guard| guard.take());
        let Some(mut emulator) = emulator else {
            return;
        };
        let group = -(self.emulator_pid as i32);
        signal_process(group, libc::SIGTERM);
        if tokio::time::timeout(STOP_GRACE, emulator.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                pid = self.emulator_pid,
                "cargo-lambda ignored SIGTERM; killing it"
            );
            signal_process(group, libc::SIGKILL);
            let _ = emulator.wait().await;
        }
        // Any other member of the group has had the same signals; this
        // catches one that outlived the leader.
        signal_process(group, libc::SIGKILL);
        tracing::debug!("stopped cargo lambda watch");
    }
}

/// Sends `signal` to a process, or to a process group when `pid` is negative.
fn signal_process(pid: i32, signal: libc::c_int) {
    if pid == 0 || pid == -1 {
        return;
    }
    // SAFETY: kill(2) takes plain integers and has no memory effects. Pids 0
    // and -1 address our own group or every process, so they are excluded
    // above.
    unsafe {
        libc::kill(pid, signal);
    }
}

fn free_port() -> Result<u16> {
    let listener =
        TcpListener::bind("127.0.0.1:0").context("failed to find a free loopback port")?;
    Ok(listener.local_addr()?.port())
}

/// Standard error as a child's standard output, so that function logs stay
/// off the access log on standard output.
fn stderr_stdio() -> Stdio {
    match std::io::stderr().as_fd().try_clone_to_owned() {
        Ok(fd) => Stdio::from(fd),
        Err(_) => Stdio::inherit(),
    }
}

/// Logs each line a child writes, at debug level, or warn for its errors.
fn forward_output<R>(stream: Option<R>, source: &'static str)
where
    R: AsyncRead + Unpin + Send + 'static,
{
    let Some(stream) = stream else {
        return;
    };
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("ERROR") {
                tracing::warn!("{source}: {line}");
            } else {
                tracing::debug!("{source}: {line}");
            }
        }
    });
}
