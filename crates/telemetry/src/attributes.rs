//! Span and metric attribute keys, following the OpenTelemetry semantic
//! conventions for RPC, database and messaging where a convention exists.
//! Defined once so dashboards, alerts and tests agree.

/// `rpc.system`: always `grpc`.
pub const RPC_SYSTEM: &str = "rpc.system";
/// `rpc.service`: full service name, e.g. `supplyrisk.ingest.v1.IngestService`.
pub const RPC_SERVICE: &str = "rpc.service";
/// `rpc.method`: method name, e.g. `GetSupplySnapshot`.
pub const RPC_METHOD: &str = "rpc.method";
/// `rpc.grpc.status_code`: numeric gRPC status.
pub const RPC_GRPC_STATUS_CODE: &str = "rpc.grpc.status_code";
/// `server.address`: the listen address (server spans) or the called host (client spans).
pub const SERVER_ADDRESS: &str = "server.address";
/// `server.port`.
pub const SERVER_PORT: &str = "server.port";
/// `db.system.name`: `redis` for Redis calls.
pub const DB_SYSTEM_NAME: &str = "db.system.name";
/// `db.operation.name`: the Redis command (`EVALSHA`, `XADD`, …), `MULTI` for
/// a transaction and `PIPELINE` for a plain pipeline; never its arguments.
pub const DB_OPERATION_NAME: &str = "db.operation.name";
/// `db.operation.batch.size`: commands in a transaction or pipeline.
pub const DB_OPERATION_BATCH_SIZE: &str = "db.operation.batch.size";
/// Command names of a transaction or pipeline, space-separated
/// (`HSET ZADD LPUSH LTRIM XADD`); names only, never keys or values.
pub const REDIS_COMMANDS: &str = "supplyrisk.redis.commands";
/// `error.type`: what failed (a Redis error code such as `WRONGTYPE`, or
/// `io`, `timeout`, `connection_refused`, `connect`).
pub const ERROR_TYPE: &str = "error.type";
/// `messaging.system`: `redis` streams.
pub const MESSAGING_SYSTEM: &str = "messaging.system";
/// `messaging.destination.name`: the stream key.
pub const MESSAGING_DESTINATION: &str = "messaging.destination.name";
/// `messaging.consumer.group.name`: the consumer group.
pub const MESSAGING_CONSUMER_GROUP: &str = "messaging.consumer.group.name";
/// `messaging.message.id`: the stream entry id.
pub const MESSAGING_MESSAGE_ID: &str = "messaging.message.id";
/// What kind of data an ingest call wrote: `trade_flows`, `production`,
/// `governance`, `policy_events`, `stockpiles`, or the import format
/// (`BACI`, `WGI`, …).
pub const INGEST_KIND: &str = "supplyrisk.ingest.kind";
/// Per-record outcome of an ingest call: `accepted` (stored, changed
/// something), `unchanged` (valid, identical to what was stored) or `rejected`.
pub const INGEST_OUTCOME: &str = "supplyrisk.ingest.outcome";
/// Result of a score cache lookup: `hit` or `miss`.
pub const CACHE_RESULT: &str = "supplyrisk.cache.result";
/// Result of one webhook delivery attempt: `delivered` or `failed`.
pub const WEBHOOK_OUTCOME: &str = "supplyrisk.webhook.outcome";
/// The alerting worker that evaluated a subscription: `policy-watcher` or `score-matcher`.
pub const ALERTING_WORKER: &str = "supplyrisk.alerting.worker";
