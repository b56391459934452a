//! The store against a real `redis-server`, for behaviour no service test
//! reaches directly.

mod alerts;
mod consumers;
mod scores;
mod tls;
mod trim;

use supplyrisk_config::RedisSettings;
use supplyrisk_store::{Store, StoreOptions};
use supplyrisk_testkit::RedisServer;

/// A store on `redis` with `options`.
fn store(redis: &RedisServer, options: StoreOptions) -> Store {
    let settings = RedisSettings::at(&redis.url());
    Store::new(&settings, options).expect("store")
}
