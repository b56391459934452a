//! `supplyrisk.admin.v1.DeadLetterService`, served the same way by every
//! service that consumes an event stream: the dead letters of its own
//! consumer groups (`crates/store/src/consumer.rs` puts them there), listed
//! and redriven. No method is in a service's `READS` or `WRITES`, so every
//! one is admin only.

use supplyrisk_api::admin::v1 as pb;
use supplyrisk_api::admin::v1::dead_letter_service_server::{DeadLetterService, DeadLetterServiceServer};
use supplyrisk_domain::Violations;
use supplyrisk_grpc::{Page, PageSizes, Position, ServiceResult};
use supplyrisk_store::consumer::ConsumerConfig;
use supplyrisk_store::{DeadLetter, Store};
use tonic::{Request, Response, Status};

/// Default and largest page sizes of `ListDeadLetters`.
const PAGE_SIZES: PageSizes = PageSizes { default: 50, max: 500 };
/// Dead letters read per step of a redrive of all.
const REDRIVE_READ: usize = 500;

/// One consumer group of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerGroup {
    /// Stream key.
    pub stream: String,
    /// Group name.
    pub group: String,
}

impl From<&ConsumerConfig> for ConsumerGroup {
    fn from(c: &ConsumerConfig) -> Self {
        ConsumerGroup {
            stream: c.stream.clone(),
            group: c.group.clone(),
        }
    }
}

/// The service's full name, for a service's `ALSO_SERVES`.
pub const SERVICE_NAME: &str = <DeadLetterServiceServer<DeadLetterHandler> as tonic::server::NamedService>::NAME;

/// The dead-letter service over `groups` (a group listed twice counts once).
pub fn server(store: Store, groups: Vec<ConsumerGroup>) -> DeadLetterServiceServer<DeadLetterHandler> {
    let mut unique: Vec<ConsumerGroup> = Vec::new();
    for g in groups {
        if !unique.contains(&g) {
            unique.push(g);
        }
    }
    DeadLetterServiceServer::new(DeadLetterHandler { store, groups: unique })
}

/// Implements `DeadLetterService` for one service's consumer groups.
#[derive(Clone)]
pub struct DeadLetterHandler {
    store: Store,
    groups: Vec<ConsumerGroup>,
}

/// Where a `ListDeadLetters` page starts: after dead letter `id` of `group`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct After {
    group: String,
    id: String,
}

impl Position for After {
    fn encode(&self) -> String {
        format!("{}|{}", self.group, self.id)
    }

    fn decode(text: &str) -> Option<Self> {
        let (group, id) = text.rsplit_once('|')?;
        (!group.is_empty() && supplyrisk_store::entry_id(id).is_some()).then(|| After {
            group: group.to_string(),
            id: id.to_string(),
        })
    }
}

fn to_pb(group: &ConsumerGroup, d: DeadLetter) -> pb::DeadLetter {
    let (millis, _) = supplyrisk_store::entry_id(&d.id).unwrap_or_default();
    pb::DeadLetter {
        stream: group.stream.clone(),
        group: group.group.clone(),
        source_id: d.source_id,
        reason: d.reason,
        attempts: d.attempts,
        dead_letter_time: Some(prost_types::Timestamp {
            seconds: (millis / 1000) as i64,
            nanos: ((millis % 1000) * 1_000_000) as i32,
        }),
        consumer: d.consumer,
        payload: d.payload,
        id: d.id,
    }
}

impl DeadLetterHandler {
    /// The groups `name` selects (empty = all); a violation on `group` when
    /// it names none of them.
    fn select(&self, v: &mut Violations, name: &str) -> Vec<&ConsumerGroup> {
        if name.is_empty() {
            return self.groups.iter().collect();
        }
        let found: Vec<&ConsumerGroup> = self.groups.iter().filter(|g| g.group == name).collect();
        if found.is_empty() {
            let names: Vec<&str> = self.groups.iter().map(|g| g.group.as_str()).collect();
            v.push(
                "group",
                format!("is not a consumer group of this service; one of {}", names.join(", ")),
            );
        }
        found
    }

    async fn list(&self, req: pb::ListDeadLettersRequest) -> ServiceResult<pb::ListDeadLettersResponse> {
        let mut v = Violations::new();
        let groups = self.select(&mut v, &req.group);
        let page = Page::<After>::parse(&mut v, PAGE_SIZES, req.page_size, &req.page_token, &[&req.group]);
        let (mut index, mut after) = match page.start() {
            None => (0, None),
            Some(start) => match groups.iter().position(|g| g.group == start.group) {
                Some(i) => (i, Some(start.id.clone())),
                None => {
                    v.push("page_token", "is not a token returned by this call");
                    (0, None)
                }
            },
        };
        if !v.is_empty() {
            return Err(v.into());
        }
        let size = page.size();
        let mut letters = Vec::new();
        let mut last = None;
        while index < groups.len() && letters.len() < size {
            let g = groups[index];
            let read = self
                .store
                .dead_letters(&g.stream, &g.group, after.as_deref(), size - letters.len())
                .await?;
            if let Some(d) = read.last() {
                last = Some(After {
                    group: g.group.clone(),
                    id: d.id.clone(),
                });
            }
            letters.extend(read.into_iter().map(|d| to_pb(g, d)));
            if letters.len() < size {
                index += 1;
                after = None;
            }
        }
        let next_page_token = match last {
            Some(last) if letters.len() == size => page.token_at(&last),
            _ => String::new(),
        };
        Ok(pb::ListDeadLettersResponse {
            dead_letters: letters,
            next_page_token,
        })
    }

    async fn redrive(&self, req: pb::RedriveDeadLettersRequest) -> ServiceResult<pb::RedriveDeadLettersResponse> {
        let mut v = Violations::new();
        let groups = self.select(&mut v, &req.group);
        match (req.ids.is_empty(), req.all) {
            (true, false) => v.push("ids", "give dead letter ids, or set all"),
            (false, true) => v.push("ids", "give dead letter ids or set all, not both"),
            _ => {}
        }
        for (i, id) in req.ids.iter().enumerate() {
            if supplyrisk_store::entry_id(id).is_none() {
                v.push(format!("ids[{i}]"), "is not a dead letter id (<ms>-<seq>)");
            }
        }
        if !v.is_empty() {
            return Err(v.into());
        }
        let mut out = pb::RedriveDeadLettersResponse::default();
        if req.all {
            for g in groups {
                // Every id first, then the redrives: a redriven entry that
                // fails again cannot come back into this call.
                let mut ids = Vec::new();
                let mut after: Option<String> = None;
                loop {
                    let read = self
                        .store
                        .dead_letters(&g.stream, &g.group, after.as_deref(), REDRIVE_READ)
                        .await?;
                    let done = read.len() < REDRIVE_READ;
                    after = read.last().map(|d| d.id.clone());
                    ids.extend(read.into_iter().map(|d| d.id));
                    if done {
                        break;
                    }
                }
                for id in ids {
                    if let Some(r) = self.store.redrive_dead_letter(&g.stream, &g.group, &id).await? {
                        out.redriven.push(redriven(g, r));
                    }
                }
            }
        } else {
            for id in &req.ids {
                let mut found = false;
                for g in &groups {
                    if let Some(r) = self.store.redrive_dead_letter(&g.stream, &g.group, id).await? {
                        out.redriven.push(redriven(g, r));
                        found = true;
                        break;
                    }
                }
                if !found {
                    out.not_found.push(id.clone());
                }
            }
        }
        for r in &out.redriven {
            tracing::info!(
                stream = r.stream,
                group = r.group,
                dead_letter = r.id,
                entry = r.source_id,
                "dead letter redriven"
            );
        }
        Ok(out)
    }
}

fn redriven(g: &ConsumerGroup, r: supplyrisk_store::Redriven) -> pb::RedrivenDeadLetter {
    pb::RedrivenDeadLetter {
        id: r.dead_letter_id,
        stream: g.stream.clone(),
        group: g.group.clone(),
        source_id: r.source_id,
    }
}

#[tonic::async_trait]
impl DeadLetterService for DeadLetterHandler {
    async fn list_dead_letters(
        &self,
        request: Request<pb::ListDeadLettersRequest>,
    ) -> Result<Response<pb::ListDeadLettersResponse>, Status> {
        Ok(Response::new(self.list(request.into_inner()).await?))
    }

    async fn redrive_dead_letters(
        &self,
        request: Request<pb::RedriveDeadLettersRequest>,
    ) -> Result<Response<pb::RedriveDeadLettersResponse>, Status> {
        Ok(Response::new(self.redrive(request.into_inner()).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_a_group_and_an_entry_id() {
        let after = After {
            group: "alerting-policy".into(),
            id: "1700000000000-3".into(),
        };
        assert_eq!(After::decode(&after.encode()), Some(after));
        for forged in ["", "|1-0", "g|", "g|x-1", "g|1-2-3", "g1-0"] {
            assert_eq!(After::decode(forged), None, "{forged:?}");
        }
    }
}
