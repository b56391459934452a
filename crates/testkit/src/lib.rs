//! Test kit: real parts, no mocks.
//!
//! [`RedisServer`] starts its own `redis-server` on a free port in a
//! temporary directory with AOF and `appendfsync always`, so a test can kill
//! it and prove acknowledged writes survive. [`ServiceProcess`] runs a real
//! service binary on port 0 and learns its address from the log, so tests
//! talk to it over a real socket exactly as clients do.
#![forbid(unsafe_code)]
#![allow(clippy::unwrap_used)]

pub mod deploy;
pub mod fixtures;
pub mod import;
pub mod otlp;
pub mod tls;
pub mod webhook_receiver;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use supplyrisk_api::ingest::v1::ingest_service_client::IngestServiceClient;
use tonic::metadata::MetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// Tokens the kit configures on every service it starts.
pub const READER_TOKEN: &str = "reader-token-for-tests";
/// Ingester token.
pub const INGESTER_TOKEN: &str = "ingester-token-for-tests";
/// Admin token.
pub const ADMIN_TOKEN: &str = "admin-token-for-tests";

/// `SUPPLYRISK__ALERTING__SECRET_KEYS` of the test cluster (tests only).
pub const ALERTING_SECRET_KEYS: &str = "test=dGVzdC1rZXktZm9yLXNlYWxpbmctd2ViaG9va3MtMzI=";

/// `SUPPLYRISK__AUTH__TOKENS` value matching the tokens above.
pub fn auth_tokens() -> String {
    format!("reader={READER_TOKEN},ingester={INGESTER_TOKEN},admin={ADMIN_TOKEN}")
}

/// SIGKILLs and reaps a child, if there is one.
fn kill9(child: &mut Option<Child>) {
    if let Some(mut c) = child.take() {
        let _ = c.kill();
        let _ = c.wait();
    }
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port")
}

/// A `redis-server` owned by a test.
pub struct RedisServer {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
    fsync: &'static str,
    /// The TLS port and the files it serves with, when TLS is on.
    tls: Option<(u16, Vec<String>)>,
}

impl RedisServer {
    /// Starts a server on a free port with AOF (`appendfsync always`).
    pub fn start() -> RedisServer {
        Self::start_with_fsync("always")
    }

    /// Starts a server whose AOF uses `appendfsync <policy>` (`always`,
    /// `everysec`); benchmarks compare like with like this way.
    pub fn start_with_fsync(policy: &'static str) -> RedisServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut server = RedisServer {
            port: free_port(),
            dir,
            child: None,
            fsync: policy,
            tls: None,
        };
        server.launch();
        server
    }

    /// Starts a server that also listens for TLS ([`RedisServer::tls_url`])
    /// with `pki`'s server certificate and requires a client certificate
    /// signed by its CA there. The plain port stays open for the kit's own
    /// checks (`redis-cli`, PING).
    pub fn start_tls(pki: &tls::TestPki) -> RedisServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let args = [
            "--tls-cert-file",
            &pki.server_cert,
            "--tls-key-file",
            &pki.server_key,
            "--tls-ca-cert-file",
            &pki.ca,
            "--tls-auth-clients",
            "yes",
        ]
        .map(str::to_string)
        .to_vec();
        let mut server = RedisServer {
            port: free_port(),
            dir,
            child: None,
            fsync: "always",
            tls: Some((free_port(), args)),
        };
        server.launch();
        server
    }

    /// `rediss://127.0.0.1:PORT` of the TLS port, when TLS is on.
    pub fn tls_url(&self) -> Option<String> {
        self.tls.as_ref().map(|(port, _)| format!("rediss://127.0.0.1:{port}"))
    }

    fn launch(&mut self) {
        let mut cmd = Command::new("redis-server");
        if let Some((tls_port, files)) = &self.tls {
            cmd.args(["--tls-port", &tls_port.to_string()]).args(files);
        }
        let child = cmd
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", ""])
            .args(["--appendonly", "yes", "--appendfsync", self.fsync])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server not found: install it (scripts/test does) or put it on PATH");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.ping() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server on port {} did not answer PING", self.port);
    }

    /// True when the server answers PING.
    pub fn ping(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
        if s.write_all(b"PING\r\n").is_err() {
            return false;
        }
        let mut buf = [0u8; 7];
        s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server with SIGKILL (no shutdown save; AOF is all it has).
    pub fn kill9(&mut self) {
        kill9(&mut self.child);
    }

    /// Starts it again on the same port and directory.
    pub fn restart(&mut self) {
        self.kill9();
        self.launch();
    }

    /// Calls of `command` (lower case, e.g. `evalsha`) since the server
    /// started or the last `CONFIG RESETSTAT`.
    pub fn command_calls(&self, command: &str) -> u64 {
        let prefix = format!("cmdstat_{command}:calls=");
        self.cli(&["INFO", "commandstats"])
            .lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// Runs a command with `redis-cli` and returns its output.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli not found");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Path of a workspace binary of the same build profile as the running
/// executable (a test in `target/<profile>/deps` or a binary in
/// `target/<profile>`).
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let mut dir = exe.parent().expect("exe dir");
    if dir.ends_with("deps") {
        dir = dir.parent().expect("profile dir");
    }
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} not built; build it with cargo first (scripts/test does)",
        path.display()
    );
    path
}

/// The address in a service's start-up line, text (`listening addr=…`) or
/// JSON (`"message":"listening"` with `"addr":"…"`).
fn listening_addr(line: &str) -> Option<String> {
    if let Some(i) = line.find("listening addr=") {
        return line[i + 15..].split_whitespace().next().map(str::to_string);
    }
    if !line.contains("\"message\":\"listening\"") {
        return None;
    }
    let rest = &line[line.find("\"addr\":\"")? + 8..];
    rest.split('"').next().map(str::to_string)
}

/// A running service binary.
pub struct ServiceProcess {
    child: Option<Child>,
    addr: String,
    logs: Arc<Mutex<String>>,
    binary: PathBuf,
    env: Vec<(String, String)>,
}

impl ServiceProcess {
    /// Starts `binary` listening on a free port with `env` (on top of a
    /// clean `SUPPLYRISK__` environment) and waits until it logs its address.
    pub fn spawn(binary: &Path, env: &[(&str, &str)]) -> ServiceProcess {
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let mut p = ServiceProcess {
            child: None,
            addr: String::new(),
            logs: Arc::new(Mutex::new(String::new())),
            binary: binary.to_path_buf(),
            env,
        };
        p.launch("127.0.0.1:0");
        p
    }

    fn launch(&mut self, listen: &str) {
        let mut cmd = Command::new(&self.binary);
        for (k, _) in std::env::vars() {
            if k.starts_with("SUPPLYRISK") {
                cmd.env_remove(k);
            }
        }
        cmd.env("SUPPLYRISK__GRPC__LISTEN", listen)
            .env("SUPPLYRISK__TELEMETRY__LOG_FORMAT", "text")
            .env("SUPPLYRISK__GRPC__SHUTDOWN_GRACE_SECS", "5");
        if !self.env.iter().any(|(k, _)| k == "SUPPLYRISK__AUTH__TOKENS") {
            cmd.env("SUPPLYRISK__AUTH__TOKENS", auth_tokens());
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn service");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        let logs = self.logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = listening_addr(&line) {
                    let _ = tx.send(addr);
                }
                if let Ok(mut l) = logs.lock() {
                    l.push_str(&line);
                    l.push('\n');
                }
            }
        });
        self.child = Some(child);
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(addr) => self.addr = addr,
            Err(_) => panic!(
                "{} did not report its address; logs:\n{}",
                self.binary.display(),
                self.logs()
            ),
        }
    }

    /// Another process of the same binary with the same settings, on a new
    /// port: a second replica.
    pub fn replica(&self) -> ServiceProcess {
        let env: Vec<(&str, &str)> = self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        ServiceProcess::spawn(&self.binary, &env)
    }

    /// `host:port` it listens on.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Process id, while running.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    /// `http://host:port`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Everything it logged so far.
    pub fn logs(&self) -> String {
        self.logs.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Kills it with SIGKILL.
    pub fn kill9(&mut self) {
        kill9(&mut self.child);
    }

    /// Starts it again with the same settings on the same address.
    pub fn restart(&mut self) {
        self.kill9();
        let addr = self.addr.clone();
        self.launch(&addr);
    }

    /// Sends SIGTERM and waits for it to exit.
    pub fn terminate(&mut self) -> ExitStatus {
        let mut c = self.child.take().expect("running");
        let _ = Command::new("kill").args(["-TERM", &c.id().to_string()]).status();
        c.wait().expect("wait")
    }

    /// Sends SIGTERM without waiting; returns the child to wait on.
    pub fn terminate_async(&mut self) -> Child {
        let c = self.child.take().expect("running");
        let _ = Command::new("kill").args(["-TERM", &c.id().to_string()]).status();
        c
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Adds a bearer token to every call.
#[derive(Clone)]
pub struct Bearer(pub Option<String>);

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(t) = &self.0 {
            req.metadata_mut().insert(
                "authorization",
                MetadataValue::try_from(format!("Bearer {t}")).expect("ascii"),
            );
        }
        Ok(req)
    }
}

/// A channel to `endpoint`, connected now.
pub async fn channel(endpoint: &str) -> Channel {
    Channel::from_shared(endpoint.to_string())
        .expect("endpoint")
        .connect()
        .await
        .expect("connect")
}

/// An ingest client presenting `token`.
pub async fn ingest_client(
    endpoint: &str,
    token: Option<&str>,
) -> IngestServiceClient<InterceptedService<Channel, Bearer>> {
    IngestServiceClient::with_interceptor(channel(endpoint).await, Bearer(token.map(str::to_string)))
        .max_decoding_message_size(64 << 20)
        .max_encoding_message_size(64 << 20)
}

/// The health status of `service` ("" = whole server).
pub async fn health(endpoint: &str, service: &str) -> Result<i32, tonic::Status> {
    let mut client = tonic_health::pb::health_client::HealthClient::new(channel(endpoint).await);
    let resp = client
        .check(tonic_health::pb::HealthCheckRequest {
            service: service.to_string(),
        })
        .await?;
    Ok(resp.into_inner().status)
}

/// Polls `check` every 100 ms until it returns true or `timeout` passes.
pub async fn eventually<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// How a [`Cluster`] runs.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// `SUPPLYRISK__SCORING__TRACKED_IMPORTERS`.
    pub tracked_importers: String,
    /// Redis `appendfsync` policy.
    pub fsync: &'static str,
    /// Extra settings; `SUPPLYRISK__SCORING__…` and `SUPPLYRISK__ALERTING__…`
    /// go only to their service, the rest to every service.
    pub env: Vec<(String, String)>,
    /// Extra settings of the ingest process only (e.g. its server's
    /// `SUPPLYRISK__GRPC__…`, which `env` would give every service).
    pub ingest_env: Vec<(String, String)>,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        Self {
            tracked_importers: "JPN".into(),
            fsync: "always",
            env: vec![
                ("SUPPLYRISK__SCORING__RECLAIM_IDLE_MS".into(), "1000".into()),
                ("SUPPLYRISK__ALERTING__RECLAIM_IDLE_MS".into(), "1000".into()),
            ],
            ingest_env: Vec::new(),
        }
    }
}

/// Redis and the three services as real processes, wired to each other.
pub struct Cluster {
    /// The store.
    pub redis: RedisServer,
    /// `supplyrisk-ingest`.
    pub ingest: ServiceProcess,
    /// `supplyrisk-scoring`, reading snapshots from `ingest`.
    pub scoring: ServiceProcess,
    /// `supplyrisk-alerting`.
    pub alerting: ServiceProcess,
}

impl Cluster {
    /// Starts Redis and the services with the default options.
    pub fn start() -> Cluster {
        Self::start_with(ClusterOptions::default())
    }

    /// Starts Redis and the services.
    pub fn start_with(options: ClusterOptions) -> Cluster {
        let redis = RedisServer::start_with_fsync(options.fsync);
        let url = redis.url();
        let spawn = |name: &str, section: &str, extra: Vec<(String, String)>| {
            let mut env: Vec<(String, String)> = vec![("SUPPLYRISK__REDIS__URL".into(), url.clone())];
            env.extend(extra);
            let own = format!("SUPPLYRISK__{section}__");
            env.extend(
                options
                    .env
                    .iter()
                    .filter(|(k, _)| {
                        let sectioned =
                            k.starts_with("SUPPLYRISK__SCORING__") || k.starts_with("SUPPLYRISK__ALERTING__");
                        !sectioned || k.starts_with(&own)
                    })
                    .cloned(),
            );
            let refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            ServiceProcess::spawn(&binary(name), &refs)
        };
        let ingest = spawn("supplyrisk-ingest", "INGEST", options.ingest_env.clone());
        let upstream = vec![
            ("SUPPLYRISK__UPSTREAM__INGEST__ENDPOINT".to_string(), ingest.endpoint()),
            (
                "SUPPLYRISK__UPSTREAM__INGEST__TOKEN".to_string(),
                READER_TOKEN.to_string(),
            ),
        ];
        let mut scoring_env = upstream.clone();
        scoring_env.push((
            "SUPPLYRISK__SCORING__TRACKED_IMPORTERS".into(),
            options.tracked_importers.clone(),
        ));
        let scoring = spawn("supplyrisk-scoring", "SCORING", scoring_env);
        let mut alerting_env = upstream;
        alerting_env.extend([
            (
                "SUPPLYRISK__UPSTREAM__SCORING__ENDPOINT".to_string(),
                scoring.endpoint(),
            ),
            (
                "SUPPLYRISK__UPSTREAM__SCORING__TOKEN".to_string(),
                READER_TOKEN.to_string(),
            ),
            (
                "SUPPLYRISK__ALERTING__SECRET_KEYS".to_string(),
                ALERTING_SECRET_KEYS.to_string(),
            ),
        ]);
        let alerting = spawn("supplyrisk-alerting", "ALERTING", alerting_env);
        Cluster {
            redis,
            ingest,
            scoring,
            alerting,
        }
    }
}

/// The `BadRequest` field violations of a status, as (field, description).
pub fn field_violations(status: &tonic::Status) -> Vec<(String, String)> {
    use tonic_types::StatusExt;
    status
        .get_error_details()
        .bad_request()
        .map(|b| {
            b.field_violations
                .iter()
                .map(|v| (v.field.clone(), v.description.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// The services a server lists through reflection (v1), sorted.
pub async fn reflected_services(endpoint: &str) -> Vec<String> {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    let mut client = ServerReflectionClient::new(channel(endpoint).await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut replies = client
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .expect("reflection")
        .into_inner();
    let reply = replies.message().await.expect("reply").expect("one reply");
    let Some(MessageResponse::ListServicesResponse(list)) = reply.message_response else {
        panic!("not a service list: {reply:?}");
    };
    let mut names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    names.sort();
    names
}
