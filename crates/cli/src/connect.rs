//! Clients of the three services, opened the way a command-line tool needs:
//! connected before the first call so that an unreachable service is named
//! at once, one timeout per call, and the caller's bearer token on every
//! call through the services' shared [`ClientInterceptor`].
//!
//! The services' own channels (`supplyrisk_grpc::client::channel`) connect
//! lazily and trace every call; a person at a terminal wants the plain
//! "cannot reach" instead, so the channel is built here.

use std::time::Duration;

use secrecy::SecretString;
use supplyrisk_api::admin::v1::dead_letter_service_client::DeadLetterServiceClient;
use supplyrisk_api::alerting::v1::alerting_service_client::AlertingServiceClient;
use supplyrisk_api::ingest::v1::ingest_service_client::IngestServiceClient;
use supplyrisk_api::scoring::v1::scoring_service_client::ScoringServiceClient;
use supplyrisk_config::ClientTls;
use supplyrisk_grpc::client::ChannelError;
use supplyrisk_grpc::client::ClientInterceptor;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, ClientTlsConfig};

use crate::cli::Cli;
use crate::error::CliError;

/// A connected channel presenting the caller's token.
pub type AuthorisedChannel = InterceptedService<Channel, ClientInterceptor>;

/// A client of the ingest service.
pub type IngestClient = IngestServiceClient<AuthorisedChannel>;

/// A client of the scoring service.
pub type ScoringClient = ScoringServiceClient<AuthorisedChannel>;

/// A client of the alerting service.
pub type AlertingClient = AlertingServiceClient<AuthorisedChannel>;

/// A client of a service's dead letters.
pub type DeadLetterClient = DeadLetterServiceClient<AuthorisedChannel>;

/// A client of the ingest service at `--ingest-endpoint`.
pub async fn ingest(cli: &Cli) -> Result<IngestClient, CliError> {
    let channel = authorised_channel(cli, &cli.ingest_endpoint, "ingest").await?;
    Ok(IngestServiceClient::new(channel))
}

/// A client of the scoring service at `--scoring-endpoint`.
pub async fn scoring(cli: &Cli) -> Result<ScoringClient, CliError> {
    let channel = authorised_channel(cli, &cli.scoring_endpoint, "scoring").await?;
    Ok(ScoringServiceClient::new(channel))
}

/// A client of the alerting service at `--alerting-endpoint`.
pub async fn alerting(cli: &Cli) -> Result<AlertingClient, CliError> {
    let channel = authorised_channel(cli, &cli.alerting_endpoint, "alerting").await?;
    Ok(AlertingServiceClient::new(channel))
}

/// A client of the dead-letter service of `service` (`scoring` or
/// `alerting`), at that service's endpoint.
pub async fn dead_letters(cli: &Cli, service: &'static str) -> Result<DeadLetterClient, CliError> {
    let endpoint = if service == "scoring" {
        &cli.scoring_endpoint
    } else {
        &cli.alerting_endpoint
    };
    let channel = authorised_channel(cli, endpoint, service).await?;
    Ok(DeadLetterServiceClient::new(channel))
}

/// TLS for an `https://` endpoint: the CA of `--ca-file` and, for mutual
/// TLS, the certificate of `--cert-file`/`--key-file`.
fn client_tls(cli: &Cli) -> Result<ClientTlsConfig, CliError> {
    let Some(ca) = &cli.ca_file else {
        return Err(CliError::Invalid(
            "an https:// endpoint needs --ca-file (SUPPLYRISK_CA_FILE): the CA its certificate chains to".into(),
        ));
    };
    let path = |p: &Option<std::path::PathBuf>| p.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
    let files = ClientTls::files(&ca.display().to_string(), &path(&cli.cert_file), &path(&cli.key_file));
    supplyrisk_grpc::client::client_tls(&files).map_err(|e| match e {
        ChannelError::TlsFile(file) => CliError::Invalid(format!("--{}-file {file}", file.setting)),
        other => CliError::Invalid(other.to_string()),
    })
}

/// A connected channel to `endpoint` carrying the caller's bearer token;
/// `service` names the service in the error when it cannot be reached.
async fn authorised_channel(cli: &Cli, endpoint: &str, service: &'static str) -> Result<AuthorisedChannel, CliError> {
    let mut channel = Channel::from_shared(endpoint.to_string())
        .map_err(|source| CliError::BadEndpoint {
            endpoint: endpoint.to_string(),
            source,
        })?
        .timeout(Duration::from_secs(cli.timeout));
    if endpoint.starts_with("https://") {
        channel = channel
            .tls_config(client_tls(cli)?)
            .map_err(|source| CliError::Unreachable {
                service,
                endpoint: endpoint.to_string(),
                source,
            })?;
    }
    let channel = channel.connect().await.map_err(|source| CliError::Unreachable {
        service,
        endpoint: endpoint.to_string(),
        source,
    })?;
    let token = cli.token.clone().unwrap_or_default();
    // The interceptor quietly sends no token when it cannot be a header;
    // the caller should hear why instead of "not authenticated".
    if !token.is_empty() && format!("Bearer {token}").parse::<MetadataValue<Ascii>>().is_err() {
        return Err(CliError::Invalid(
            "the token has characters a header cannot carry".into(),
        ));
    }
    let interceptor = ClientInterceptor::new(&SecretString::from(token));
    Ok(InterceptedService::new(channel, interceptor))
}
