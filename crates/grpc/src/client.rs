//! Calling another supplyrisk service: one channel per endpoint, the
//! service's own bearer token and the current trace context on every call.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use supplyrisk_config::EndpointSettings;
use tonic::metadata::MetadataValue;
use tonic::service::Interceptor;
use tonic::transport::{Channel, Endpoint};

/// Adds `authorization` and `traceparent` to outgoing calls.
#[derive(Clone)]
pub struct ClientInterceptor {
    bearer: Option<MetadataValue<tonic::metadata::Ascii>>,
}

impl ClientInterceptor {
    /// An interceptor presenting `token` (none when empty).
    pub fn new(token: &SecretString) -> Self {
        let t = token.expose_secret();
        let bearer = (!t.is_empty()).then(|| format!("Bearer {t}").parse().ok()).flatten();
        Self { bearer }
    }
}

impl Interceptor for ClientInterceptor {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(b) = &self.bearer {
            req.metadata_mut().insert("authorization", b.clone());
        }
        supplyrisk_telemetry::propagation::inject_metadata(req.metadata_mut());
        Ok(req)
    }
}

/// A lazily connecting channel to `settings.endpoint`.
pub fn channel(settings: &EndpointSettings) -> Result<Channel, tonic::transport::Error> {
    Ok(Endpoint::from_shared(settings.endpoint.trim().to_string())?
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_millis(settings.timeout_ms))
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_while_idle(true)
        .connect_lazy())
}
