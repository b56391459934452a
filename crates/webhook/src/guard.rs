//! Which addresses a webhook may reach.
//!
//! A subscriber chooses the URL, so without a guard anyone allowed to
//! subscribe could make the alerting service POST to Redis, to the cloud
//! metadata endpoint or to anything else inside the cluster network. The
//! guard is applied to the addresses a host name resolves to, right before
//! connecting to exactly that address, so a name that resolves to a public
//! address at subscription time and a private one later (DNS rebinding)
//! is still refused. Operators allow-list internal receivers explicitly.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Host names refused whatever they resolve to: cloud metadata services.
const METADATA_HOSTS: &[&str] = &["metadata.google.internal", "metadata", "instance-data"];

/// Why a destination is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The address is loopback, private, link-local, metadata or otherwise internal.
    #[error("{address} is a {kind} address; allow-list it in SUPPLYRISK__ALERTING__WEBHOOK_ALLOW to use it")]
    Internal {
        /// The refused address.
        address: IpAddr,
        /// Which kind of internal address.
        kind: &'static str,
    },
    /// The host name is a cloud metadata name.
    #[error("{0} is a cloud metadata host name")]
    MetadataHost(String),
}

/// One allow-list entry: a host name or an address block.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Allowed {
    Host(String),
    Block { network: IpAddr, prefix: u8 },
}

/// Hosts and CIDR blocks that may be reached even though they are internal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    entries: Vec<Allowed>,
}

/// An allow-list entry that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{entry:?}: {reason}")]
pub struct AllowListError {
    /// The entry as written.
    pub entry: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl AllowList {
    /// Parses a comma-separated list of host names, addresses and CIDR
    /// blocks, e.g. `127.0.0.1,hooks.internal,10.20.0.0/16,fd00::/8`.
    pub fn parse(list: &str) -> Result<Self, AllowListError> {
        let mut entries = Vec::new();
        for raw in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let error = |reason| AllowListError {
                entry: raw.to_string(),
                reason,
            };
            let entry = if let Some((addr, prefix)) = raw.split_once('/') {
                let network: IpAddr = addr.parse().map_err(|_| error("not an IP address before '/'"))?;
                let max = if network.is_ipv4() { 32 } else { 128 };
                let prefix: u8 = prefix
                    .parse()
                    .ok()
                    .filter(|p| *p <= max)
                    .ok_or_else(|| error("prefix length out of range"))?;
                Allowed::Block { network, prefix }
            } else if let Ok(address) = raw.parse::<IpAddr>() {
                let prefix = if address.is_ipv4() { 32 } else { 128 };
                Allowed::Block {
                    network: address,
                    prefix,
                }
            } else if raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-') {
                Allowed::Host(raw.to_ascii_lowercase())
            } else {
                return Err(error("not a host name, address or CIDR block"));
            };
            entries.push(entry);
        }
        Ok(Self { entries })
    }

    /// True when no entry is configured.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn allows_host(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.entries.iter().any(|e| matches!(e, Allowed::Host(h) if *h == host))
    }

    fn allows_address(&self, address: IpAddr) -> bool {
        self.entries.iter().any(|e| match e {
            Allowed::Block { network, prefix } => in_block(address, *network, *prefix),
            Allowed::Host(_) => false,
        })
    }

    /// Checks a destination: `host` as written in the URL and one address it
    /// resolved to. An allow-listed host name admits all its addresses.
    pub fn check(&self, host: &str, address: IpAddr) -> Result<(), Refusal> {
        if self.allows_host(host) || self.allows_address(address) {
            return Ok(());
        }
        let bare = host.trim_end_matches('.').to_ascii_lowercase();
        if METADATA_HOSTS.contains(&bare.as_str()) {
            return Err(Refusal::MetadataHost(bare));
        }
        match internal_kind(address) {
            Some(kind) => Err(Refusal::Internal { address, kind }),
            None => Ok(()),
        }
    }
}

fn in_block(address: IpAddr, network: IpAddr, prefix: u8) -> bool {
    match (canonical(address), canonical(network)) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(address),
        v4 => v4,
    }
}

fn v4_kind(a: Ipv4Addr) -> Option<&'static str> {
    let [o0, o1, ..] = a.octets();
    if a == Ipv4Addr::new(169, 254, 169, 254) || a == Ipv4Addr::new(100, 100, 100, 200) {
        Some("cloud metadata")
    } else if a.is_loopback() {
        Some("loopback")
    } else if a.is_private() {
        Some("private")
    } else if a.is_link_local() {
        Some("link-local")
    } else if a.is_unspecified() || o0 == 0 {
        Some("unspecified")
    } else if o0 == 100 && (64..128).contains(&o1) {
        Some("shared (carrier-grade NAT)")
    } else if a.is_multicast() || a.is_broadcast() || o0 >= 240 {
        Some("multicast or reserved")
    } else {
        None
    }
}

fn v6_kind(a: Ipv6Addr) -> Option<&'static str> {
    let first = a.segments()[0];
    if a == Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x254) {
        Some("cloud metadata")
    } else if a.is_loopback() {
        Some("loopback")
    } else if a.is_unspecified() {
        Some("unspecified")
    } else if first & 0xfe00 == 0xfc00 {
        Some("private (unique local)")
    } else if first & 0xffc0 == 0xfe80 {
        Some("link-local")
    } else if a.is_multicast() {
        Some("multicast or reserved")
    } else {
        None
    }
}

/// The kind of internal address `address` is, if it is one.
pub fn internal_kind(address: IpAddr) -> Option<&'static str> {
    match canonical(address) {
        IpAddr::V4(a) => v4_kind(a),
        IpAddr::V6(a) => v6_kind(a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("address")
    }

    #[test]
    fn internal_addresses_are_refused_without_an_allow_list() {
        let guard = AllowList::default();
        for a in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.1.1",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fd12::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "fd00:ec2::254",
        ] {
            assert!(guard.check("example.test", ip(a)).is_err(), "{a} must be refused");
        }
        for a in ["93.184.215.14", "2606:4700::1111", "172.32.0.1", "100.128.0.1"] {
            assert_eq!(guard.check("example.test", ip(a)), Ok(()), "{a} is public");
        }
        assert_eq!(
            guard.check("metadata.google.internal.", ip("8.8.8.8")),
            Err(Refusal::MetadataHost("metadata.google.internal".into()))
        );
    }

    #[test]
    fn allow_list_admits_hosts_addresses_and_blocks() {
        let guard = AllowList::parse(" 127.0.0.1 , hooks.internal,10.20.0.0/16, fd00::/8").expect("parses");
        assert_eq!(guard.check("localhost", ip("127.0.0.1")), Ok(()));
        assert!(guard.check("localhost", ip("127.0.0.2")).is_err());
        assert_eq!(guard.check("HOOKS.internal", ip("10.9.9.9")), Ok(()));
        assert_eq!(guard.check("x", ip("10.20.255.1")), Ok(()));
        assert!(guard.check("x", ip("10.21.0.1")).is_err());
        assert_eq!(guard.check("x", ip("fd99::1")), Ok(()));
        assert_eq!(guard.check("x", ip("::ffff:127.0.0.1")), Ok(()));
    }

    #[test]
    fn bad_allow_list_entries_name_the_entry() {
        let e = AllowList::parse("127.0.0.1,10.0.0.0/40").expect_err("prefix too long");
        assert_eq!(e.entry, "10.0.0.0/40");
        assert!(AllowList::parse("http://x").is_err());
        assert!(AllowList::parse("").expect("empty is fine").is_empty());
    }
}
