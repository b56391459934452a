//! gRPC handlers of `AlertingService`.

use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use supplyrisk_api::alerting::v1 as pb;
use supplyrisk_api::alerting::v1::alerting_service_server::AlertingService;
use supplyrisk_domain::{Catalog, MineralId, Violations};
use supplyrisk_grpc::{ServiceError, ServiceResult};
use supplyrisk_store::Store;
use tokio::sync::Notify;
use tonic::{Request, Response, Status};

const DEFAULT_PAGE_SIZE: usize = 50;
const MAX_PAGE_SIZE: usize = 500;
const MAX_RULES: usize = 20;

/// Implements `AlertingService`.
#[derive(Clone)]
pub struct AlertingHandler {
    store: Store,
    recorded: Arc<Notify>,
    poll: Duration,
}

fn now() -> prost_types::Timestamp {
    prost_types::Timestamp::from(std::time::SystemTime::now())
}

fn new_id() -> String {
    format!("sub-{:016x}", rand::random::<u64>())
}

/// Checks a subscription's name, filter and rules.
pub fn validate(sub: &pb::Subscription) -> Result<pb::Subscription, Violations> {
    let mut v = Violations::new();
    let mut out = sub.clone();
    if sub.name.trim().is_empty() || sub.name.len() > 200 {
        v.push("subscription.name", "is required (at most 200 characters)");
    }
    let filter = sub.filter.clone().unwrap_or_default();
    let mut minerals = Vec::new();
    for (i, m) in filter.minerals.iter().enumerate() {
        if let Some(id) = v.check(&format!("subscription.filter.minerals[{i}]"), MineralId::parse(m)) {
            minerals.push(id.to_string());
        }
    }
    let apps = Catalog::builtin().applications();
    for (i, a) in filter.applications.iter().enumerate() {
        if !apps.contains(&a.as_str()) {
            v.push(
                format!("subscription.filter.applications[{i}]"),
                format!("unknown application; one of {}", apps.join(", ")),
            );
        }
    }
    let importers: Vec<String> = filter.importers.iter().map(|i| i.trim().to_ascii_uppercase()).collect();
    for (i, imp) in importers.iter().enumerate() {
        let ok = !imp.is_empty() && imp.len() <= 200 && imp.chars().all(|c| c.is_ascii_alphanumeric() || c == '+');
        if !ok {
            v.push(
                format!("subscription.filter.importers[{i}]"),
                "must be an ISO3 code or bloc id (e.g. JPN, JPN+USA, EU27)",
            );
        }
    }
    if !matches!(filter.methodology.as_str(), "" | "eu-crm" | "geopolrisk") {
        v.push("subscription.filter.methodology", "must be empty, eu-crm or geopolrisk");
    }
    if sub.rules.is_empty() || sub.rules.len() > MAX_RULES {
        v.push(
            "subscription.rules",
            format!("between 1 and {MAX_RULES} rules are required"),
        );
    }
    for (i, r) in sub.rules.iter().enumerate() {
        match &r.kind {
            Some(pb::rule::Kind::Threshold(t)) => {
                if !(t.value.is_finite() && t.hysteresis.is_finite() && t.hysteresis >= 0.0) {
                    v.push(
                        format!("subscription.rules[{i}].threshold"),
                        "value must be finite and hysteresis >= 0",
                    );
                }
            }
            Some(pb::rule::Kind::Delta(d)) => {
                if !(d.min_delta.is_finite() && d.min_delta > 0.0) {
                    v.push(format!("subscription.rules[{i}].delta.min_delta"), "must be > 0");
                }
            }
            Some(pb::rule::Kind::Policy(p)) => {
                if !(p.min_supplier_share.is_finite() && (0.0..=1.0).contains(&p.min_supplier_share)) {
                    v.push(
                        format!("subscription.rules[{i}].policy.min_supplier_share"),
                        "must be within 0..=1",
                    );
                }
            }
            None => v.push(
                format!("subscription.rules[{i}]"),
                "a threshold, delta or policy rule is required",
            ),
        }
    }
    out.filter = Some(pb::Filter {
        minerals,
        importers,
        ..filter
    });
    out.name = sub.name.trim().to_string();
    v.into_result(|| out)
}

fn page_size(v: &mut Violations, size: i32) -> usize {
    if size < 0 {
        v.push("page_size", "must not be negative");
    }
    match size {
        n if n <= 0 => DEFAULT_PAGE_SIZE,
        n => (n as usize).min(MAX_PAGE_SIZE),
    }
}

fn token(v: &mut Violations, token: &str) -> Option<String> {
    if token.is_empty() {
        return None;
    }
    match hex::decode(token).ok().and_then(|b| String::from_utf8(b).ok()) {
        Some(t) => Some(t),
        None => {
            v.push("page_token", "is not a token returned by this call");
            None
        }
    }
}

impl AlertingHandler {
    /// A handler over `store`; `recorded` wakes open streams.
    pub fn new(store: Store, recorded: Arc<Notify>, poll: Duration) -> Self {
        Self { store, recorded, poll }
    }

    async fn get_subscription_inner(&self, id: &str) -> ServiceResult<pb::Subscription> {
        let bytes = self
            .store
            .subscription(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound {
                resource_type: "subscription",
                name: id.to_string(),
                suggestions: Vec::new(),
            })?;
        pb::Subscription::decode(bytes.as_slice()).map_err(|e| ServiceError::Internal(e.to_string()))
    }

    async fn with_acks(&self, subscription: &str, mut alerts: Vec<pb::Alert>) -> ServiceResult<Vec<pb::Alert>> {
        let ids: Vec<String> = alerts.iter().map(|a| a.id.clone()).collect();
        let acked = self.store.acknowledged(subscription, &ids).await?;
        for (a, ack) in alerts.iter_mut().zip(acked) {
            a.acknowledged = ack;
        }
        Ok(alerts)
    }
}

fn decode_alerts(entries: &[supplyrisk_store::StreamEntry]) -> Vec<pb::Alert> {
    entries
        .iter()
        .filter_map(|e| pb::Alert::decode(e.payload.as_slice()).ok())
        .collect()
}

#[tonic::async_trait]
impl AlertingService for AlertingHandler {
    async fn create_subscription(
        &self,
        request: Request<pb::CreateSubscriptionRequest>,
    ) -> Result<Response<pb::Subscription>, Status> {
        let Some(sub) = request.into_inner().subscription else {
            let mut v = Violations::new();
            v.push("subscription", "is required");
            return Err(ServiceError::from(v).into());
        };
        let mut sub = validate(&sub).map_err(ServiceError::from)?;
        sub.id = new_id();
        sub.create_time = Some(now());
        sub.update_time = sub.create_time;
        self.store
            .put_subscription(&sub.id, &sub.encode_to_vec())
            .await
            .map_err(ServiceError::from)?;
        tracing::info!(id = sub.id, "subscription created");
        Ok(Response::new(sub))
    }

    async fn get_subscription(
        &self,
        request: Request<pb::GetSubscriptionRequest>,
    ) -> Result<Response<pb::Subscription>, Status> {
        Ok(Response::new(
            self.get_subscription_inner(&request.into_inner().id).await?,
        ))
    }

    async fn list_subscriptions(
        &self,
        request: Request<pb::ListSubscriptionsRequest>,
    ) -> Result<Response<pb::ListSubscriptionsResponse>, Status> {
        let req = request.into_inner();
        let mut v = Violations::new();
        let size = page_size(&mut v, req.page_size);
        let after = token(&mut v, &req.page_token);
        if !v.is_empty() {
            return Err(ServiceError::from(v).into());
        }
        let page = self
            .store
            .list_subscriptions(after.as_deref(), size)
            .await
            .map_err(ServiceError::from)?;
        let next = if page.len() == size {
            page.last().map(|(id, _)| hex::encode(id)).unwrap_or_default()
        } else {
            String::new()
        };
        let subscriptions = page
            .iter()
            .filter_map(|(_, b)| pb::Subscription::decode(b.as_slice()).ok())
            .collect();
        Ok(Response::new(pb::ListSubscriptionsResponse {
            subscriptions,
            next_page_token: next,
        }))
    }

    async fn update_subscription(
        &self,
        request: Request<pb::UpdateSubscriptionRequest>,
    ) -> Result<Response<pb::Subscription>, Status> {
        let Some(sub) = request.into_inner().subscription else {
            let mut v = Violations::new();
            v.push("subscription", "is required");
            return Err(ServiceError::from(v).into());
        };
        let existing = self.get_subscription_inner(&sub.id).await?;
        let mut updated = validate(&sub).map_err(ServiceError::from)?;
        updated.id = existing.id;
        updated.create_time = existing.create_time;
        updated.update_time = Some(now());
        self.store
            .put_subscription(&updated.id, &updated.encode_to_vec())
            .await
            .map_err(ServiceError::from)?;
        Ok(Response::new(updated))
    }

    async fn delete_subscription(
        &self,
        request: Request<pb::DeleteSubscriptionRequest>,
    ) -> Result<Response<pb::DeleteSubscriptionResponse>, Status> {
        let id = request.into_inner().id;
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
        let req = request.into_inner();
        self.get_subscription_inner(&req.subscription_id).await?;
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
        let (store, recorded, poll, sub) = (
            self.store.clone(),
            self.recorded.clone(),
            self.poll,
            req.subscription_id,
        );
        tokio::spawn(async move {
            loop {
                let woken = recorded.notified();
                let entries = match store.alerts_after(&sub, last.as_deref(), 100).await {
                    Ok(e) => e,
                    Err(e) => {
                        let _ = tx.send(Err(ServiceError::from(e).into())).await;
                        return;
                    }
                };
                if let Some(e) = entries.last() {
                    last = Some(e.id.clone());
                }
                for alert in decode_alerts(&entries) {
                    if tx.send(Ok(alert)).await.is_err() {
                        return;
                    }
                }
                if entries.len() == 100 {
                    continue;
                }
                if tx.is_closed() {
                    return;
                }
                // Woken at once by alerts this process records; other replicas' by polling.
                tokio::select! {
                    _ = woken => {}
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
        let size = page_size(&mut v, req.page_size);
        let before = token(&mut v, &req.page_token);
        if !v.is_empty() {
            return Err(ServiceError::from(v).into());
        }
        let entries = self
            .store
            .alerts_before(&req.subscription_id, before.as_deref(), size)
            .await
            .map_err(ServiceError::from)?;
        let next = if entries.len() == size {
            entries.last().map(|e| hex::encode(&e.id)).unwrap_or_default()
        } else {
            String::new()
        };
        let alerts = self.with_acks(&req.subscription_id, decode_alerts(&entries)).await?;
        Ok(Response::new(pb::ListAlertsResponse {
            alerts,
            next_page_token: next,
        }))
    }

    async fn acknowledge_alert(
        &self,
        request: Request<pb::AcknowledgeAlertRequest>,
    ) -> Result<Response<pb::Alert>, Status> {
        let req = request.into_inner();
        let entry = self
            .store
            .alert_entry(&req.subscription_id, &req.alert_id)
            .await
            .map_err(ServiceError::from)?;
        let Some(entry) = entry else {
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
        let mut alert = self
            .store
            .alerts_before(&req.subscription_id, Some(&bump(&entry)), 1)
            .await
            .map_err(ServiceError::from)?
            .first()
            .and_then(|e| pb::Alert::decode(e.payload.as_slice()).ok())
            .ok_or_else(|| ServiceError::Internal("alert entry vanished".into()))?;
        alert.acknowledged = true;
        Ok(Response::new(alert))
    }
}

/// The stream id just after `id` (`ms-seq` → `ms-(seq+1)`), so an exclusive
/// range ending there includes `id`.
fn bump(id: &str) -> String {
    match id.split_once('-') {
        Some((ms, seq)) => format!("{ms}-{}", seq.parse::<u64>().unwrap_or(0) + 1),
        None => id.to_string(),
    }
}
