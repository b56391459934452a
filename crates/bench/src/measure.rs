//! Readings from outside the services: the load generators the baselines
//! come from (redis-benchmark, h2load) and a process's memory and CPU.

use std::process::Command;

/// Requests per second `redis-benchmark -P 16 -t set` reaches on `port`.
pub(crate) fn redis_set_ops(port: u16, requests: u32) -> f64 {
    let out = Command::new("redis-benchmark")
        .args([
            "-p",
            &port.to_string(),
            "-P",
            "16",
            "-t",
            "set",
            "-n",
            &requests.to_string(),
            "--csv",
        ])
        .output()
        .expect("redis-benchmark not found (apt install redis-tools)");
    let text = String::from_utf8_lossy(&out.stdout);
    // CSV: "test","rps",... with a header line first.
    text.lines()
        .find(|l| l.starts_with("\"SET\""))
        .and_then(|l| l.split(',').nth(1))
        .and_then(|v| v.trim_matches('"').parse().ok())
        .unwrap_or_else(|| panic!("cannot read redis-benchmark output:\n{text}"))
}

/// Peak resident set size of a process, in MiB (Linux `VmHWM`).
pub(crate) fn peak_rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// Runs h2load against `url` with `body`; returns (req/s, p99 ms, non-200 count).
pub(crate) fn h2load(url: &str, body: &[u8], token: Option<&str>, requests: u32) -> (f64, f64, u64) {
    let dir = tempfile::tempdir().expect("tmp");
    let body_path = dir.path().join("body.bin");
    let log_path = dir.path().join("log.tsv");
    std::fs::write(&body_path, body).expect("body");
    let mut cmd = Command::new("h2load");
    cmd.args(["-n", &requests.to_string(), "-c", "5", "-m", "10", "-t", "1"])
        .args(["-H", "content-type: application/grpc", "-H", "te: trailers"]);
    if let Some(t) = token {
        cmd.args(["-H", &format!("authorization: Bearer {t}")]);
    }
    let out = cmd
        .arg("-d")
        .arg(&body_path)
        .arg(format!("--log-file={}", log_path.display()))
        .arg(url)
        .output()
        .expect("h2load not found (apt install nghttp2-client)");
    let text = String::from_utf8_lossy(&out.stdout);
    let rps = text
        .lines()
        .find(|l| l.starts_with("finished in"))
        .and_then(|l| l.split(',').nth(1))
        .and_then(|v| v.trim().trim_end_matches(" req/s").parse().ok())
        .unwrap_or_else(|| panic!("cannot read h2load output:\n{text}"));
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    let mut durations: Vec<u64> = Vec::new();
    let mut not_ok = 0;
    for line in log.lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() >= 3 {
            if cols[1] != "200" {
                not_ok += 1;
            }
            if let Ok(us) = cols[2].parse() {
                durations.push(us);
            }
        }
    }
    durations.sort_unstable();
    let p99 = durations.get(durations.len() * 99 / 100).copied().unwrap_or(0) as f64 / 1000.0;
    (rps, p99, not_ok)
}

/// CPU time (user + system) used so far by process `pid`, in seconds.
pub(crate) fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields
        .get(11..13)
        .map_or(0.0, |f| f.iter().filter_map(|v| v.parse::<f64>().ok()).sum());
    // Linux reports these in USER_HZ, 100 per second on every supported architecture.
    ticks / 100.0
}

/// Milliseconds since the Unix epoch.
pub(crate) fn unix_ms(t: std::time::SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}
