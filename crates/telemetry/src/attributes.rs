//! Span attribute keys, following the OpenTelemetry semantic conventions for
//! RPC and database spans. Defined once so dashboards and tests agree.

/// `rpc.system`: always `grpc`.
pub const RPC_SYSTEM: &str = "rpc.system";
/// `rpc.service`: full service name, e.g. `supplyrisk.ingest.v1.IngestService`.
pub const RPC_SERVICE: &str = "rpc.service";
/// `rpc.method`: method name, e.g. `GetSupplySnapshot`.
pub const RPC_METHOD: &str = "rpc.method";
/// `rpc.grpc.status_code`: numeric gRPC status.
pub const RPC_GRPC_STATUS_CODE: &str = "rpc.grpc.status_code";
/// `server.address`.
pub const SERVER_ADDRESS: &str = "server.address";
/// `server.port`.
pub const SERVER_PORT: &str = "server.port";
/// `db.system`: `redis` for Redis calls.
pub const DB_SYSTEM: &str = "db.system";
/// `db.operation.name`: the Redis command, never its arguments.
pub const DB_OPERATION: &str = "db.operation.name";
/// `messaging.system`: `redis` streams.
pub const MESSAGING_SYSTEM: &str = "messaging.system";
/// `messaging.destination.name`: the stream key.
pub const MESSAGING_DESTINATION: &str = "messaging.destination.name";
/// `messaging.message.id`: the stream entry id.
pub const MESSAGING_MESSAGE_ID: &str = "messaging.message.id";
