//! Loading, layering and checking settings.

use secrecy::SecretString;
use serde::Deserialize;

use super::*;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    grpc: GrpcSettings,
    redis: RedisSettings,
    auth: AuthSettings,
    telemetry: TelemetrySettings,
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn environment_overrides_defaults() {
    let s: Settings = load_with_env(
        &[COMMON_DEFAULTS],
        None,
        env(&[
            ("SUPPLYRISK__GRPC__LISTEN", "0.0.0.0:0"),
            ("SUPPLYRISK__GRPC__MAX_MESSAGE_BYTES", "2048"),
        ]),
    )
    .expect("valid");
    assert_eq!(s.grpc.listen, "0.0.0.0:0");
    assert_eq!(s.grpc.max_message_bytes, 2048);
    assert_eq!(s.telemetry.log_format, "text");
    assert!(s.redis.validate().is_ok());
}

#[test]
fn file_sits_between_defaults_and_environment() {
    let dir = std::env::temp_dir().join(format!("sr-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let path = dir.join("c.toml");
    std::fs::write(&path, "[grpc]\nlisten = \"127.0.0.1:7000\"\nshutdown_grace_secs = 3\n").expect("write");
    let s: Settings = load_with_env(
        &[COMMON_DEFAULTS],
        Some(&path),
        env(&[("SUPPLYRISK__GRPC__LISTEN", "127.0.0.1:7001")]),
    )
    .expect("valid");
    assert_eq!(s.grpc.listen, "127.0.0.1:7001");
    assert_eq!(s.grpc.shutdown_grace_secs, 3);
}

#[test]
fn bad_values_name_the_variable() {
    let err = load_with_env::<Settings>(
        &[COMMON_DEFAULTS],
        None,
        env(&[("SUPPLYRISK__GRPC__MAX_MESSAGE_BYTES", "lots")]),
    )
    .expect_err("invalid");
    assert!(err.to_string().contains("SUPPLYRISK__GRPC__MAX_MESSAGE_BYTES"), "{err}");
    let s: Settings = load_with_env(
        &[COMMON_DEFAULTS],
        None,
        env(&[("SUPPLYRISK__GRPC__LISTEN", "nowhere")]),
    )
    .expect("loads");
    let err = s.grpc.validate().expect_err("invalid");
    assert!(err.to_string().contains("SUPPLYRISK__GRPC__LISTEN"), "{err}");
}

#[test]
fn unknown_keys_are_refused() {
    let err = load_with_env::<Settings>(&[COMMON_DEFAULTS], None, env(&[("SUPPLYRISK__GRPC__LISTN", "x")]))
        .expect_err("unknown key");
    assert!(err.to_string().contains("listn"), "{err}");
}

#[test]
fn tokens_parse_and_stay_secret() {
    let s: Settings = load_with_env(
        &[COMMON_DEFAULTS],
        None,
        env(&[("SUPPLYRISK__AUTH__TOKENS", "reader=read-token-1, admin=admin-token-1")]),
    )
    .expect("valid");
    let tokens = s.auth.parsed_tokens().expect("valid tokens");
    assert_eq!(tokens.len(), 2);
    assert_eq!(
        tokens[1].0,
        Principal {
            name: "admin".into(),
            role: Role::Admin
        },
        "a token without a name is named after its role"
    );
    assert!(
        !format!("{s:?}").contains("admin-token-1"),
        "secrets must not appear in Debug output"
    );
    let bad = AuthSettings {
        tokens: SecretString::from("root=abcdefgh"),
        disabled: false,
    };
    assert!(
        bad.parsed_tokens()
            .expect_err("bad role")
            .to_string()
            .contains("SUPPLYRISK__AUTH__TOKENS")
    );
    let none = AuthSettings {
        tokens: SecretString::from(""),
        disabled: false,
    };
    assert!(none.parsed_tokens().is_err());
}

#[test]
fn tokens_may_name_their_principal() {
    let auth = AuthSettings {
        tokens: SecretString::from("ingester:team-a=token-a-123, ingester:team-b=token-b-123, reader=read-1234"),
        disabled: false,
    };
    let names: Vec<(String, Role)> = auth
        .parsed_tokens()
        .expect("valid")
        .into_iter()
        .map(|(p, _)| (p.name, p.role))
        .collect();
    assert_eq!(
        names,
        [
            ("team-a".to_string(), Role::Ingester),
            ("team-b".to_string(), Role::Ingester),
            ("reader".to_string(), Role::Reader),
        ]
    );
    for bad in [
        "ingester:=token-a-123",
        "ingester:team a=token-a-123",
        "ingester:a|b=token-a-123",
    ] {
        let auth = AuthSettings {
            tokens: SecretString::from(bad),
            disabled: false,
        };
        let err = auth.parsed_tokens().expect_err(bad).to_string();
        assert!(err.contains("a name is 1 to 64 characters"), "{bad}: {err}");
    }
}

#[derive(Debug, Deserialize)]
struct Moved {
    upstream: Upstreams,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Upstreams {
    ingest: EndpointSettings,
}

const MOVED_DEFAULTS: &str = "[upstream.ingest]\nendpoint = \"http://127.0.0.1:50051\"\ntimeout_ms = 10000\n";
const MOVED: &[RenamedSection] = &[RenamedSection {
    old: "ingest",
    new: "upstream.ingest",
}];

#[test]
fn a_renamed_section_loads_under_its_old_variable_names_with_a_warning() {
    let layered = Layered::load(
        &[MOVED_DEFAULTS],
        None,
        env(&[
            ("SUPPLYRISK__INGEST__ENDPOINT", "http://old:1"),
            ("SUPPLYRISK__INGEST__TIMEOUT_MS", "7"),
        ]),
        MOVED,
    )
    .expect("loads");
    let s: Moved = layered.read().expect("reads");
    assert_eq!(s.upstream.ingest.endpoint, "http://old:1");
    assert_eq!(s.upstream.ingest.timeout_ms, 7);
    assert_eq!(
        layered.deprecations(),
        [
            "SUPPLYRISK__INGEST__ENDPOINT is deprecated; use SUPPLYRISK__UPSTREAM__INGEST__ENDPOINT",
            "SUPPLYRISK__INGEST__TIMEOUT_MS is deprecated; use SUPPLYRISK__UPSTREAM__INGEST__TIMEOUT_MS"
        ]
    );
    layered
        .refuse_unknown_sections(&["upstream"])
        .expect("the old section is gone");
}

#[test]
fn the_new_name_wins_over_the_old_one() {
    let layered = Layered::load(
        &[MOVED_DEFAULTS],
        None,
        env(&[
            ("SUPPLYRISK__INGEST__ENDPOINT", "http://old:1"),
            ("SUPPLYRISK__UPSTREAM__INGEST__ENDPOINT", "http://new:2"),
        ]),
        MOVED,
    )
    .expect("loads");
    let s: Moved = layered.read().expect("reads");
    assert_eq!(s.upstream.ingest.endpoint, "http://new:2");
    assert!(
        layered.deprecations()[0].contains("ignored"),
        "{:?}",
        layered.deprecations()
    );
}

#[test]
fn a_renamed_section_in_a_file_moves_and_the_environment_still_overrides_it() {
    let dir = std::env::temp_dir().join(format!("sr-config-renamed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let path = dir.join("c.toml");
    std::fs::write(&path, "[ingest]\nendpoint = \"http://file:3\"\ntimeout_ms = 9\n").expect("write");
    let layered = Layered::load(
        &[MOVED_DEFAULTS],
        Some(&path),
        env(&[("SUPPLYRISK__UPSTREAM__INGEST__TIMEOUT_MS", "11")]),
        MOVED,
    )
    .expect("loads");
    let s: Moved = layered.read().expect("reads");
    assert_eq!(s.upstream.ingest.endpoint, "http://file:3");
    assert_eq!(s.upstream.ingest.timeout_ms, 11);
    assert!(layered.deprecations()[0].contains("rename it [upstream.ingest]"));
}

#[test]
fn an_unknown_section_is_refused_by_its_variable() {
    let layered = Layered::load(
        &[COMMON_DEFAULTS],
        None,
        env(&[("SUPPLYRISK__SCORNG__CACHE_ENTRIES", "1")]),
        &[],
    )
    .expect("loads");
    let err = layered
        .refuse_unknown_sections(&["grpc", "redis", "auth", "telemetry"])
        .expect_err("typo in a section name");
    assert!(err.to_string().contains("SUPPLYRISK__SCORNG__"), "{err}");
}

#[test]
fn tls_settings_are_checked_together() {
    let settings =
        |pairs: &[(&str, &str)]| -> Settings { load_with_env(&[COMMON_DEFAULTS], None, env(pairs)).expect("loads") };
    let err = settings(&[("SUPPLYRISK__GRPC__TLS_CLIENT_CA", "/ca.pem")])
        .grpc
        .validate()
        .expect_err("client certificates need TLS");
    assert!(err.to_string().contains("SUPPLYRISK__GRPC__TLS_CLIENT_CA"), "{err}");
    let mutual = settings(&[
        ("SUPPLYRISK__GRPC__TLS_CERT", "/cert.pem"),
        ("SUPPLYRISK__GRPC__TLS_KEY", "/key.pem"),
        ("SUPPLYRISK__GRPC__TLS_CLIENT_CA", "/ca.pem"),
    ]);
    assert!(mutual.grpc.validate().is_ok());
    assert_eq!(mutual.grpc.client_ca(), Some(std::path::PathBuf::from("/ca.pem")));

    let upstream = |endpoint: &str, tls: &[(&str, &str)]| {
        let mut e = EndpointSettings::plain(endpoint, "t", 100);
        for (k, v) in tls {
            let v = v.to_string();
            match *k {
                "ca" => e.tls.ca = v,
                "cert" => e.tls.cert = v,
                "key" => e.tls.key = v,
                _ => e.tls.domain = v,
            }
        }
        e.validate("upstream.ingest").map_err(|e| e.to_string())
    };
    assert!(upstream("http://ingest:50051", &[]).is_ok());
    let no_ca = upstream("https://ingest:50051", &[]).expect_err("an https endpoint needs its CA");
    assert!(no_ca.contains("SUPPLYRISK__UPSTREAM__INGEST__TLS__CA"), "{no_ca}");
    let plain = upstream("http://ingest:50051", &[("ca", "/ca.pem")]).expect_err("TLS files on http://");
    assert!(plain.contains("SUPPLYRISK__UPSTREAM__INGEST__ENDPOINT"), "{plain}");
    let half = upstream("https://ingest:50051", &[("ca", "/ca.pem"), ("cert", "/c.pem")]).expect_err("no key");
    assert!(half.contains("SUPPLYRISK__UPSTREAM__INGEST__TLS__CERT"), "{half}");
    assert!(
        upstream(
            "https://ingest:50051",
            &[("ca", "/ca.pem"), ("cert", "/c.pem"), ("key", "/k.pem")]
        )
        .is_ok()
    );
}

#[test]
fn redis_tls_files_need_a_rediss_url() {
    let with = |url: &str, ca: &str, cert: &str, key: &str| {
        RedisSettings {
            tls: ClientTls::files(ca, cert, key),
            ..RedisSettings::at(url)
        }
        .validate()
        .map_err(|e| e.to_string())
    };
    assert!(
        with("rediss://redis:6380", "", "", "").is_ok(),
        "the system's trust store"
    );
    assert!(with("rediss://redis:6380", "/ca.pem", "/c.pem", "/k.pem").is_ok());
    let plain = with("redis://redis:6379", "/ca.pem", "", "").expect_err("TLS files on redis://");
    assert!(plain.contains("SUPPLYRISK__REDIS__URL"), "{plain}");
    let half = with("rediss://redis:6380", "", "/c.pem", "").expect_err("no key");
    assert!(half.contains("SUPPLYRISK__REDIS__TLS__CERT"), "{half}");
}

#[test]
fn tls_files_are_read_together_and_a_missing_one_is_named() {
    let dir = std::env::temp_dir().join(format!("sr-tls-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let file = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        path.to_str().expect("utf-8").to_string()
    };
    let (ca, cert, key) = (file("ca.pem", "CA"), file("c.pem", "CERT"), file("k.pem", "KEY"));
    let material = ClientTls::files(&ca, &cert, &key).read().expect("readable");
    assert_eq!(material.ca.as_deref(), Some(&b"CA"[..]));
    assert_eq!(material.identity, Some((b"CERT".to_vec(), b"KEY".to_vec())));
    let none = ClientTls::default().read().expect("nothing to read");
    assert!(none.ca.is_none() && none.identity.is_none());
    let missing = ClientTls::files(&ca, "/nonexistent/c.pem", &key)
        .read()
        .expect_err("no such file");
    assert_eq!((missing.setting, missing.path.as_str()), ("cert", "/nonexistent/c.pem"));
}
