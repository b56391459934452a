//! Sealing every stored webhook secret with the current key, once at start.
//!
//! Secrets stored in clear (before sealing) or under a key that is no
//! longer the first are sealed again, so after a rotation the old key can
//! be dropped once every replica has started with the new list. A secret
//! changed meanwhile by an update is left as the update wrote it.

use std::sync::Arc;

use supplyrisk_service::{Shutdown, Worker};
use supplyrisk_store::Store;
use supplyrisk_webhook::SecretKeys;

/// Re-seals what the current key did not seal, then stops.
pub struct Resealer {
    store: Store,
    keys: Arc<SecretKeys>,
}

impl Resealer {
    /// A resealer of `store`'s secrets with `keys`.
    pub fn new(store: Store, keys: Arc<SecretKeys>) -> Self {
        Self { store, keys }
    }

    async fn reseal(&self) -> Result<usize, String> {
        let mut resealed = 0;
        for (subscription, stored) in self.store.webhook_secrets().await.map_err(|e| e.to_string())? {
            if self.keys.is_current(&stored) {
                continue;
            }
            let secret = match self.keys.open(&stored) {
                Ok(secret) => secret,
                Err(e) => {
                    tracing::error!(subscription, error = %e, "a webhook secret does not open; its deliveries wait");
                    continue;
                }
            };
            let sealed = self.keys.seal(&secret);
            if self
                .store
                .replace_webhook_secret(&subscription, &stored, &sealed)
                .await
                .map_err(|e| e.to_string())?
            {
                resealed += 1;
            }
        }
        Ok(resealed)
    }
}

impl Worker for Resealer {
    const NAME: &'static str = "secret resealer";

    async fn run(self, mut shutdown: Shutdown) {
        tokio::select! {
            result = self.reseal() => match result {
                Ok(0) => {}
                Ok(n) => tracing::info!(resealed = n, "webhook secrets sealed with the current key"),
                Err(e) => tracing::warn!(error = %e, "re-sealing webhook secrets failed; next start tries again"),
            },
            _ = shutdown.recv() => {}
        }
    }
}
