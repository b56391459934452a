//! gRPC handlers of `AlertingService`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use supplyrisk_api::alerting::v1 as pb;
use supplyrisk_api::alerting::v1::alerting_service_server::AlertingService;
use supplyrisk_config::{Principal, Role};
use supplyrisk_domain::{ImporterError, ImporterId, Violations};
use supplyrisk_grpc::{CursorPage, Page, PageSizes, Position, ServiceError, ServiceResult};
use supplyrisk_store::Store;
use supplyrisk_webhook::{SecretKeys, WebhookClient};
use tonic::{Request, Response, Status};

use crate::feed::{self, AlertFeed};
use crate::input::{WebhookInput, importer_problem, secret_required, validate};
use crate::policy::ScoringClient;
use crate::settings::AlertingSection;

/// Default and largest page sizes of list calls (AIP-158).
const PAGE_SIZES: PageSizes = PageSizes { default: 50, max: 500 };
/// Alerts one filtered `ListAlerts` call reads at most.
const MAX_FILTER_SCAN: usize = 5_000;

/// Implements `AlertingService`.
#[derive(Clone)]
pub struct AlertingHandler {
    store: Store,
    poll: Duration,
    webhooks: WebhookClient,
    /// Knows the configured blocs an importer may name.
    scoring: ScoringClient,
    /// Subscriptions one principal may own.
    max_owned: u64,
    /// Seal webhook secrets before they are stored.
    keys: Arc<SecretKeys>,
    /// Announcements of recorded alerts, from every replica.
    feed: AlertFeed,
    /// Open alert streams per principal, and the most one may hold.
    streams: Arc<Mutex<HashMap<String, usize>>>,
    max_streams: usize,
}

/// One open alert stream of a principal, counted until dropped.
struct OpenStream {
    streams: Arc<Mutex<HashMap<String, usize>>>,
    owner: String,
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        if let Ok(mut open) = self.streams.lock()
            && let Some(n) = open.get_mut(&self.owner)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.owner);
            }
        }
    }
}

/// When a caller at its limit of open streams may try again.
const STREAM_RETRY_AFTER: Duration = Duration::from_secs(5);

/// Whether `caller` may see the webhook URL of, change, delete or
/// acknowledge the alerts of `sub`: its owner or an admin.
fn may_manage(caller: &Principal, sub: &pb::Subscription) -> bool {
    caller.role == Role::Admin || caller.name == sub.owner
}

/// `sub` as `caller` may see it: the webhook URL only for its owner or an admin.
fn as_seen_by(caller: &Principal, mut sub: pb::Subscription) -> pb::Subscription {
    if !may_manage(caller, &sub)
        && let Some(w) = sub.webhook.as_mut()
    {
        w.url.clear();
    }
    sub
}

fn not_found(id: &str) -> ServiceError {
    ServiceError::NotFound {
        resource_type: "subscription",
        name: id.to_string(),
        suggestions: Vec::new(),
    }
}

fn now() -> prost_types::Timestamp {
    prost_types::Timestamp::from(std::time::SystemTime::now())
}

fn new_id() -> String {
    format!("sub-{:016x}", rand::random::<u64>())
}

/// The stream entry (`<ms>-<seq>`) of the alert a `ListAlerts` page starts
/// before. Its form is checked so that a forged token is an invalid argument
/// rather than an id the store refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
struct StreamEntryId(String);

impl Position for StreamEntryId {
    fn encode(&self) -> String {
        self.0.clone()
    }

    fn decode(text: &str) -> Option<Self> {
        supplyrisk_store::entry_id(text).map(|_| StreamEntryId(text.to_string()))
    }
}

impl AlertingHandler {
    /// A handler over `store` with the limits of `settings`; `feed` wakes
    /// open streams; `webhooks` checks webhook URLs against the SSRF guard;
    /// `scoring` lists the configured blocs importers may name; `keys` seal
    /// webhook secrets.
    pub fn new(
        store: Store,
        settings: &AlertingSection,
        webhooks: WebhookClient,
        scoring: ScoringClient,
        keys: Arc<SecretKeys>,
        feed: AlertFeed,
    ) -> Self {
        Self {
            store,
            poll: Duration::from_millis(settings.stream_poll_ms),
            webhooks,
            scoring,
            max_owned: settings.max_subscriptions_per_owner,
            keys,
            feed,
            streams: Arc::new(Mutex::new(HashMap::new())),
            max_streams: settings.max_streams_per_caller,
        }
    }

    /// Counts a new stream of `caller`, or refuses it past the limit.
    fn open_stream(&self, caller: &Principal) -> ServiceResult<OpenStream> {
        let mut open = self
            .streams
            .lock()
            .map_err(|_| ServiceError::Internal("stream counts poisoned".into()))?;
        let n = open.entry(caller.name.clone()).or_insert(0);
        if *n >= self.max_streams {
            return Err(ServiceError::ResourceExhausted {
                what: format!(
                    "'{}' already has {} alert streams open, the most one caller may",
                    caller.name, self.max_streams
                ),
                retry_after: STREAM_RETRY_AFTER,
            });
        }
        *n += 1;
        Ok(OpenStream {
            streams: self.streams.clone(),
            owner: caller.name.clone(),
        })
    }

    /// The subscription `id` if `caller` may manage it; to anyone else a
    /// subscription they do not own does not exist.
    async fn managed_subscription(&self, caller: &Principal, id: &str) -> ServiceResult<pb::Subscription> {
        let sub = self.get_subscription_inner(id).await?;
        if may_manage(caller, &sub) {
            Ok(sub)
        } else {
            Err(not_found(id))
        }
    }

    /// Importers that name no bloc configured in scoring. Only a
    /// subscription naming such an id asks scoring (`ListBlocs`), so
    /// countries and ad-hoc blocs save while scoring is down.
    async fn check_bloc_ids(&self, sub: &pb::Subscription) -> ServiceResult<Violations> {
        let importers = sub.filter.as_ref().map(|f| f.importers.as_slice()).unwrap_or_default();
        let named: Vec<(usize, String)> = importers
            .iter()
            .enumerate()
            .filter_map(|(i, imp)| match ImporterId::parse(imp) {
                Ok(ImporterId::Named(id)) => Some((i, id)),
                _ => None,
            })
            .collect();
        if named.is_empty() {
            return Ok(Violations::new());
        }
        let blocs = self
            .scoring
            .clone()
            .list_blocs(supplyrisk_api::scoring::v1::ListBlocsRequest {})
            .await
            .map_err(ServiceError::from)?
            .into_inner()
            .blocs;
        let mut v = Violations::new();
        for (i, id) in named {
            if !blocs.iter().any(|b| b.id == id) {
                let error = ImporterError::unknown(&id, blocs.iter().map(|b| b.id.as_str()));
                v.push(format!("subscription.filter.importers[{i}]"), importer_problem(&error));
            }
        }
        Ok(v)
    }

    /// [`validate`] and [`Self::check_bloc_ids`], every violation of both at once.
    async fn validate_all(&self, sub: &pb::Subscription) -> ServiceResult<(pb::Subscription, WebhookInput)> {
        let blocs = self.check_bloc_ids(sub).await?;
        match validate(sub, &self.webhooks) {
            Ok(valid) if blocs.is_empty() => Ok(valid),
            Ok(_) => Err(blocs.into()),
            Err(mut v) => {
                v.0.extend(blocs.0);
                Err(v.into())
            }
        }
    }

    /// Stores the subscription and its webhook secret: the secret first, so
    /// a stored webhook always has one; a removed webhook's secret last.
    async fn save(&self, sub: &pb::Subscription, secret: Option<&str>) -> ServiceResult<()> {
        if let Some(secret) = secret {
            self.store.put_webhook_secret(&sub.id, &self.keys.seal(secret)).await?;
        }
        self.store.put_subscription(sub).await?;
        if sub.webhook.is_none() {
            self.store.delete_webhook_secret(&sub.id).await?;
        }
        Ok(())
    }

    async fn get_subscription_inner(&self, id: &str) -> ServiceResult<pb::Subscription> {
        self.store.subscription(id).await?.ok_or_else(|| not_found(id))
    }

    /// Adds what changes after recording: acknowledgement and webhook delivery.
    async fn with_status(&self, subscription: &str, mut alerts: Vec<pb::Alert>) -> ServiceResult<Vec<pb::Alert>> {
        let ids: Vec<String> = alerts.iter().map(|a| a.id.clone()).collect();
        let acked = self.store.acknowledged(subscription, &ids).await?;
        let deliveries = self.store.delivery_states(subscription, &ids).await?;
        for ((a, ack), delivery) in alerts.iter_mut().zip(acked).zip(deliveries) {
            a.acknowledged = ack;
            a.webhook_delivery = delivery;
        }
        Ok(alerts)
    }
}

/// The request's subscription, which create and update require.
fn required(sub: Option<pb::Subscription>) -> ServiceResult<pb::Subscription> {
    sub.ok_or_else(|| {
        let mut v = Violations::new();
        v.push("subscription", "is required");
        ServiceError::from(v)
    })
}

fn alerts_of(recorded: Vec<supplyrisk_store::RecordedAlert>) -> Vec<pb::Alert> {
    recorded.into_iter().map(|r| r.alert).collect()
}

#[tonic::async_trait]
impl AlertingService for AlertingHandler {
    async fn create_subscription(
        &self,
        request: Request<pb::CreateSubscriptionRequest>,
    ) -> Result<Response<pb::Subscription>, Status> {
        let caller = supplyrisk_grpc::caller(&request)?;
        let sub = required(request.into_inner().subscription)?;
        let (mut sub, webhook) = self.validate_all(&sub).await?;
        if webhook.present && webhook.secret.is_none() {
            return Err(secret_required().into());
        }
        let owned = self
            .store
            .owned_subscription_count(&caller.name)
            .await
            .map_err(ServiceError::from)?;
        if owned >= self.max_owned {
            return Err(ServiceError::FailedPrecondition(format!(
                "'{}' already owns {owned} subscriptions, the most one caller may ({}); delete some first",
                caller.name, self.max_owned
            ))
            .into());
        }
        sub.id = new_id();
        sub.owner = caller.name;
        sub.create_time = Some(now());
        sub.update_time = sub.create_time;
        self.save(&sub, webhook.secret.as_deref()).await?;
        tracing::info!(id = sub.id, "subscription created");
        Ok(Response::new(sub))
    }

    async fn get_subscription(
        &self,
        request: Request<pb::GetSubscriptionRequest>,
    ) -> Result<Response<pb::Subscription>, Status> {
        let caller = supplyrisk_grpc::caller(&request)?;
        let sub = self.get_subscription_inner(&request.into_inner().id).await?;
        Ok(Response::new(as_seen_by(&caller, sub)))
    }

    async fn list_subscriptions(
        &self,
        request: Request<pb::ListSubscriptionsRequest>,
    ) -> Result<Response<pb::ListSubscriptionsResponse>, Status> {
        let caller = supplyrisk_grpc::caller(&request)?;
        let req = request.into_inner();
        let mut v = Violations::new();
        // No filters: every token of this call belongs to the one query.
        let page = CursorPage::parse(&mut v, PAGE_SIZES, req.page_size, &req.page_token, &[]);
        if !v.is_empty() {
            return Err(ServiceError::from(v).into());
        }
        let size = page.size();
        let listed = self
            .store
            .list_subscriptions(page.cursor(), size)
            .await
            .map_err(ServiceError::from)?;
        Ok(Response::new(pb::ListSubscriptionsResponse {
            subscriptions: listed
                .subscriptions
                .into_iter()
                .map(|s| as_seen_by(&caller, s))
                .collect(),
            next_page_token: listed.next_after.map(|id| page.token_at(&id)).unwrap_or_default(),
        }))
    }

    async fn update_subscription(
        &self,
        request: Request<pb::UpdateSubscriptionRequest>,
    ) -> Result<Response<pb::Subscription>, Status> {
        let caller = supplyrisk_grpc::caller(&request)?;
        let sub = required(request.into_inner().subscription)?;
        let existing = self.managed_subscription(&caller, &sub.id).await?;
        let (mut updated, webhook) = self.validate_all(&sub).await?;
        // A webhook sent somewhere new gets a new secret: the old one was
        // shared with the old receiver.
        let moved = match (&existing.webhook, &updated.webhook) {
            (Some(old), Some(new)) => old.url != new.url,
            _ => true,
        };
        if webhook.present
            && webhook.secret.is_none()
            && (moved
                || self
                    .store
                    .webhook_secret(&existing.id)
                    .await
                    .map_err(ServiceError::from)?
                    .is_none())
        {
            return Err(secret_required().into());
        }
        updated.owner = existing.owner;
        updated.id = existing.id;
        updated.create_time = existing.create_time;
        updated.update_time = Some(now());
        self.save(&updated, webhook.secret.as_deref()).await?;
        Ok(Response::new(updated))
    }

    async fn delete_subscription(
        &self,
        request: Request<pb::DeleteSubscriptionRequest>,
    ) -> Result<Response<pb::DeleteSubscriptionResponse>, Status> {
        let caller = supplyrisk_grpc::caller(&request)?;
        let id = request.into_inner().id;
        self.managed_subscription(&caller, &id).await?;
        if !self.store.delete_subscription(&id).await.map_err(ServiceError::from)? {
            return Err(ServiceError::NotFound {
                resource_type: "subscription",
                name: id,
                suggestions: Vec::new(),
            }
            .into());
        }
        Ok(Response::new(pb::DeleteSubscriptionResponse {}))
    }

    type StreamAlertsStream = tokio_stream::wrappers::ReceiverStream<Result<pb::Alert, Status>>;

    async fn stream_alerts(
        &self,
        request: Request<pb::StreamAlertsRequest>,
    ) -> Result<Response<Self::StreamAlertsStream>, Status> {
        let caller = supplyrisk_grpc::caller(&request)?;
        let req = request.into_inner();
        self.get_subscription_inner(&req.subscription_id).await?;
        let counted = self.open_stream(&caller)?;
        let mut last = None;
        if !req.resume_after.is_empty() {
            match self
                .store
                .alert_entry(&req.subscription_id, &req.resume_after)
                .await
                .map_err(ServiceError::from)?
            {
                Some(entry) => last = Some(entry),
                None => {
                    let mut v = Violations::new();
                    v.push("resume_after", "is not an alert of this subscription");
                    return Err(ServiceError::from(v).into());
                }
            }
        }
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        let (store, mut watch, poll, sub) = (self.store.clone(), self.feed.watch(), self.poll, req.subscription_id);
        tokio::spawn(async move {
            let _counted = counted;
            loop {
                let range = match store.alerts_after(&sub, last.as_deref(), 100).await {
                    Ok(range) => range,
                    Err(e) => {
                        let _ = tx.send(Err(ServiceError::from(e).into())).await;
                        return;
                    }
                };
                if range.last_entry.is_some() {
                    last = range.last_entry;
                }
                let read = range.read;
                for alert in alerts_of(range.alerts) {
                    if tx.send(Ok(alert)).await.is_err() {
                        return;
                    }
                }
                if read == 100 {
                    continue;
                }
                if tx.is_closed() {
                    return;
                }
                // Woken when any replica records an alert of this subscription;
                // the poll only covers announcements missed meanwhile.
                tokio::select! {
                    _ = feed::announced(&mut watch, &sub) => {}
                    _ = tokio::time::sleep(poll) => {}
                    _ = tx.closed() => return,
                }
            }
        });
        Ok(Response::new(tokio_stream::wrappers::ReceiverStream::new(rx)))
    }

    async fn list_alerts(
        &self,
        request: Request<pb::ListAlertsRequest>,
    ) -> Result<Response<pb::ListAlertsResponse>, Status> {
        let req = request.into_inner();
        self.get_subscription_inner(&req.subscription_id).await?;
        let mut v = Violations::new();
        let delivery_status = req.delivery_status.to_string();
        let filters = [req.subscription_id.as_str(), delivery_status.as_str()];
        let page: Page<StreamEntryId> = Page::parse(&mut v, PAGE_SIZES, req.page_size, &req.page_token, &filters);
        let size = page.size();
        let mut before = page.start().map(|entry| entry.0.clone());
        let wanted = match pb::DeliveryStatus::try_from(req.delivery_status) {
            Ok(pb::DeliveryStatus::Unspecified) => None,
            Ok(status) => Some(status as i32),
            Err(_) => {
                v.push("delivery_status", "unknown delivery status");
                None
            }
        };
        if !v.is_empty() {
            return Err(ServiceError::from(v).into());
        }
        // Without a filter one read is one page. With one, read on until the
        // page is full, but scan at most MAX_FILTER_SCAN alerts per call so a
        // rare status cannot make one call read the whole history; the token
        // then resumes where the scan stopped.
        let mut alerts = Vec::new();
        let mut scanned = 0;
        let mut next = String::new();
        loop {
            let range = self
                .store
                .alerts_before(&req.subscription_id, before.as_deref(), size)
                .await
                .map_err(ServiceError::from)?;
            scanned += range.read;
            let exhausted = range.read < size;
            let last = range.last_entry;
            let read = self.with_status(&req.subscription_id, alerts_of(range.alerts)).await?;
            for alert in read {
                let status = alert.webhook_delivery.as_ref().map(|d| d.status);
                if wanted.is_none() || status == wanted {
                    alerts.push(alert);
                }
            }
            if exhausted {
                break;
            }
            before = last;
            if alerts.len() >= size || scanned >= MAX_FILTER_SCAN {
                next = before
                    .map(|entry| page.token_at(&StreamEntryId(entry)))
                    .unwrap_or_default();
                break;
            }
        }
        if alerts.len() > size {
            // Cut to the page; resume just after the last alert returned.
            alerts.truncate(size);
            let last = alerts.last().map(|a| a.id.clone()).unwrap_or_default();
            let entry = self
                .store
                .alert_entry(&req.subscription_id, &last)
                .await
                .map_err(ServiceError::from)?;
            next = entry
                .map(|entry| page.token_at(&StreamEntryId(entry)))
                .unwrap_or_default();
        }
        Ok(Response::new(pb::ListAlertsResponse {
            alerts,
            next_page_token: next,
        }))
    }

    async fn acknowledge_alert(
        &self,
        request: Request<pb::AcknowledgeAlertRequest>,
    ) -> Result<Response<pb::Alert>, Status> {
        let caller = supplyrisk_grpc::caller(&request)?;
        let req = request.into_inner();
        self.managed_subscription(&caller, &req.subscription_id).await?;
        let found = self
            .store
            .alert(&req.subscription_id, &req.alert_id)
            .await
            .map_err(ServiceError::from)?;
        let Some(alert) = found else {
            return Err(ServiceError::NotFound {
                resource_type: "alert",
                name: req.alert_id,
                suggestions: Vec::new(),
            }
            .into());
        };
        self.store
            .acknowledge_alert(&req.subscription_id, &req.alert_id)
            .await
            .map_err(ServiceError::from)?;
        let alert = self.with_status(&req.subscription_id, vec![alert]).await?.pop();
        Ok(Response::new(
            alert.ok_or_else(|| ServiceError::Internal("alert vanished".into()))?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_alerts_tokens_carry_only_stream_entry_ids() {
        let entry = StreamEntryId::decode("1700000000000-0");
        assert_eq!(entry, Some(StreamEntryId("1700000000000-0".into())));
        // The form itself is `supplyrisk_store::entry_id`'s, tested there.
        let forged = ["garbage", "1-2-3"];
        for text in forged {
            assert_eq!(StreamEntryId::decode(text), None, "{text:?}");
        }
    }
}
