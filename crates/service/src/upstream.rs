//! Other supplyrisk services a service calls, and the start-up check that
//! they accept its credentials.
//!
//! A missing or wrong token for an upstream that requires one would
//! otherwise surface only as failed calls. The check asks the upstream once
//! (retrying while it is unreachable) and, if it refuses the credentials,
//! holds health NOT_SERVING with the reason in the log, so the replica never
//! enters rotation and the operator sees which setting to fix.

use std::time::Duration;

use secrecy::ExposeSecret;

use supplyrisk_config::{EndpointSettings, env_name};
use supplyrisk_grpc::HealthMonitor;
use supplyrisk_grpc::client::{Channel, ClientInterceptor};
use supplyrisk_grpc::error::from_transport;
use tonic::Code;
use tonic::service::interceptor::InterceptedService;

use crate::StartupError;
use crate::supervisor::{Shutdown, Worker};

/// Another supplyrisk service this one calls.
#[derive(Debug, Clone, Copy)]
pub struct Upstream<'a> {
    /// Its dotted settings section, e.g. `upstream.ingest`.
    pub section: &'static str,
    /// Where and how to call it.
    pub settings: &'a EndpointSettings,
    /// Full path of a method any role may call with an empty request
    /// (`/package.Service/Method`), asked once at start-up.
    pub probe: &'static str,
}

impl<'a> Upstream<'a> {
    /// The ingest service, at `[upstream.ingest]`.
    pub fn ingest(settings: &'a EndpointSettings) -> Self {
        Self {
            section: "upstream.ingest",
            settings,
            probe: "/supplyrisk.ingest.v1.IngestService/ListMinerals",
        }
    }

    /// The scoring service, at `[upstream.scoring]`.
    pub fn scoring(settings: &'a EndpointSettings) -> Self {
        Self {
            section: "upstream.scoring",
            settings,
            probe: "/supplyrisk.scoring.v1.ScoringService/ListBlocs",
        }
    }

    /// The variable of one of its settings, e.g. `SUPPLYRISK__UPSTREAM__INGEST__TOKEN`.
    pub fn variable(&self, key: &str) -> String {
        env_name(&format!("{}.{key}", self.section))
    }

    /// A lazily connecting channel to it and the interceptor presenting this
    /// service's token, for a generated client's `with_interceptor`.
    pub fn connect(&self) -> Result<(Channel, ClientInterceptor), StartupError> {
        let channel = supplyrisk_grpc::client::channel(self.settings).map_err(|source| StartupError::Endpoint {
            variable: self.variable(&source.setting()),
            source,
        })?;
        Ok((channel, ClientInterceptor::new(&self.settings.token)))
    }

    pub(crate) fn credential_check(&self, health: HealthMonitor) -> CredentialCheck {
        CredentialCheck {
            section: self.section,
            settings: self.settings.clone(),
            probe: self.probe,
            health,
        }
    }
}

/// Asks an upstream once whether it accepts this service's credentials.
pub(crate) struct CredentialCheck {
    section: &'static str,
    settings: EndpointSettings,
    probe: &'static str,
    health: HealthMonitor,
}

/// How long to wait before asking an unreachable upstream again.
const RETRY: Duration = Duration::from_secs(2);

impl CredentialCheck {
    fn view(&self) -> Upstream<'_> {
        Upstream {
            section: self.section,
            settings: &self.settings,
            probe: self.probe,
        }
    }

    /// The upstream's answer to the probe: `None` while unreachable.
    async fn ask(&self) -> Option<Code> {
        let (channel, auth) = self.view().connect().ok()?;
        let mut grpc = tonic::client::Grpc::new(InterceptedService::new(channel, auth));
        grpc.ready().await.ok()?;
        let path = http::uri::PathAndQuery::try_from(self.probe).ok()?;
        let codec = tonic_prost::ProstCodec::<(), ()>::default();
        match grpc.unary(tonic::Request::new(()), path, codec).await {
            Ok(_) => Some(Code::Ok),
            // No answer yet: the transport failed, or the upstream is not ready.
            Err(status)
                if from_transport(&status) || matches!(status.code(), Code::Unavailable | Code::DeadlineExceeded) =>
            {
                None
            }
            Err(status) => Some(status.code()),
        }
    }

    fn refusal(&self, code: Code) -> Option<String> {
        let variable = self.view().variable("token");
        let endpoint = self.settings.endpoint.trim();
        let empty = self.settings.token.expose_secret().is_empty();
        match code {
            Code::Unauthenticated if empty => Some(format!("{endpoint} requires a token and {variable} is empty")),
            Code::Unauthenticated => Some(format!("{endpoint} does not accept the token in {variable}")),
            Code::PermissionDenied => Some(format!(
                "{endpoint} refuses reads with the token in {variable}: it needs a reader, ingester or admin token"
            )),
            _ => None,
        }
    }
}

impl Worker for CredentialCheck {
    const NAME: &'static str = "upstream-credential-check";

    fn drain(&self) -> Duration {
        Duration::from_millis(100)
    }

    async fn run(self, mut shutdown: Shutdown) {
        loop {
            let answer = tokio::select! {
                answer = self.ask() => answer,
                _ = shutdown.recv() => return,
            };
            match answer {
                Some(code) => {
                    if let Some(reason) = self.refusal(code) {
                        self.health.hold(reason).await;
                    }
                    return;
                }
                None => tokio::select! {
                    _ = tokio::time::sleep(RETRY) => {}
                    _ = shutdown.recv() => return,
                },
            }
        }
    }
}
