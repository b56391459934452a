//! Builder for one atomic write through `lua/upsert.lua`.

use std::collections::HashMap;

use crate::keys;

/// Most fields sent to the script in one hash group (Lua's `unpack` limit
/// is about 8,000 values; HSET needs two per field).
const MAX_GROUP_FIELDS: usize = 2000;

/// A hash group: key index, version index, counter (key index, field), fields and values.
type Group = (usize, usize, Option<(usize, String)>, Vec<(String, Vec<u8>)>);

/// One atomic write: hash fields to upsert, index operations, and the
/// versions it bumps. Build it, then run it with `Store::apply`.
#[derive(Debug, Default)]
pub struct UpsertBatch {
    versions: Vec<(String, String)>,
    version_index: HashMap<String, usize>,
    keys: Vec<String>,
    key_index: HashMap<String, usize>,
    groups: Vec<Group>,
    group_index: HashMap<String, usize>,
    ops: Vec<(&'static str, usize, String, usize)>,
}

impl UpsertBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    fn key(&mut self, key: String) -> usize {
        let next = self.keys.len();
        *self.key_index.entry(key.clone()).or_insert_with(|| {
            self.keys.push(key);
            next
        })
    }

    /// Version slot (1-based) for a mineral, or `None` for `""` meaning governance.
    fn version(&mut self, mineral: Option<&str>) -> usize {
        let (key, id) = match mineral {
            Some(m) => (keys::mineral_version(m), m.to_string()),
            None => (keys::governance_version(), String::new()),
        };
        let next = self.versions.len() + 1;
        *self.version_index.entry(key.clone()).or_insert_with(|| {
            self.versions.push((key, id));
            next
        })
    }

    /// Sets `field` of hash `key` to `value`; a change bumps the version of
    /// `mineral` (`None` = the governance version).
    pub fn hset(&mut self, key: String, field: String, value: Vec<u8>, mineral: Option<&str>) {
        self.hset_counted(key, field, value, mineral, None);
    }

    /// As [`UpsertBatch::hset`]; when the field is new to the hash, the
    /// `counter` (hash key, field) is incremented in the same step.
    pub fn hset_counted(
        &mut self,
        key: String,
        field: String,
        value: Vec<u8>,
        mineral: Option<&str>,
        counter: Option<(String, String)>,
    ) {
        let v = self.version(mineral);
        let counter = counter.map(|(k, f)| (self.key(k), f));
        let group = match self.group_index.get(&key) {
            Some(&g) if self.groups[g].3.len() < MAX_GROUP_FIELDS && self.groups[g].2 == counter => g,
            _ => {
                let k = self.key(key.clone());
                self.groups.push((k, v, counter, Vec::new()));
                self.group_index.insert(key, self.groups.len() - 1);
                self.groups.len() - 1
            }
        };
        self.groups[group].3.push((field, value));
    }

    /// Hash field upserts added so far.
    pub fn len(&self) -> usize {
        self.groups.iter().map(|g| g.3.len()).sum()
    }

    /// True when nothing was added.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty() && self.ops.is_empty()
    }

    /// Adds `member` to set `key`.
    pub fn sadd(&mut self, key: String, member: String) {
        let k = self.key(key);
        if !self
            .ops
            .iter()
            .any(|(kind, kk, m, _)| *kind == "S" && *kk == k && *m == member)
        {
            self.ops.push(("S", k, member, 0));
        }
    }

    /// Adds `member` with score 0 to sorted set `key`.
    pub fn zadd(&mut self, key: String, member: String) {
        let k = self.key(key);
        self.ops.push(("Z", k, member, 0));
    }

    /// Deletes `field` from hash `key`; a deletion bumps `mineral`'s version.
    pub fn hdel(&mut self, key: String, field: String, mineral: &str) {
        let v = self.version(Some(mineral));
        let k = self.key(key);
        self.ops.push(("D", k, field, v));
    }

    /// The `EVALSHA` command of the script `script_hash` for this batch:
    /// KEYS and ARGV written straight into the command, one copy of each
    /// argument instead of three.
    pub(crate) fn into_command(self, script_hash: &str, stream_maxlen: u64, payload: &[u8]) -> redis::Cmd {
        let nv = self.versions.len();
        let mut cmd = redis::cmd("EVALSHA");
        cmd.arg(script_hash).arg(1 + nv + self.keys.len());
        cmd.arg(keys::DATA_STREAM);
        for (k, _) in &self.versions {
            cmd.arg(k);
        }
        for k in &self.keys {
            cmd.arg(k);
        }
        let key_pos = |i: usize| i + 2 + nv;
        cmd.arg(stream_maxlen).arg(payload).arg(nv);
        for (_, id) in &self.versions {
            cmd.arg(id);
        }
        cmd.arg(self.groups.len());
        for (k, v, counter, fields) in &self.groups {
            cmd.arg(key_pos(*k)).arg(*v);
            match counter {
                Some((ck, cf)) => cmd.arg(key_pos(*ck)).arg(cf),
                None => cmd.arg(0).arg(b"".as_slice()),
            };
            cmd.arg(fields.len());
            for (f, val) in fields {
                cmd.arg(f).arg(val);
            }
        }
        cmd.arg(self.ops.len());
        for (kind, k, member, v) in &self.ops {
            cmd.arg(*kind).arg(key_pos(*k)).arg(member).arg(*v);
        }
        cmd
    }
}
