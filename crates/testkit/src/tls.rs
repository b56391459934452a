//! A throwaway certificate authority for TLS tests, made with `openssl`:
//! one CA, a server certificate for `localhost` and `127.0.0.1`, and a
//! client certificate, all valid for a day and deleted with the value.

use std::path::Path;
use std::process::{Command, Stdio};

/// PEM files of a test CA and the certificates it signed.
pub struct TestPki {
    _dir: tempfile::TempDir,
    /// The CA certificate.
    pub ca: String,
    /// Server certificate (SAN `localhost`, `127.0.0.1`) and key.
    pub server_cert: String,
    /// The server certificate's key.
    pub server_key: String,
    /// Client certificate (CN `supplyrisk-test-client`) and key.
    pub client_cert: String,
    /// The client certificate's key.
    pub client_key: String,
}

fn openssl(args: &[&str]) {
    let ok = Command::new("openssl")
        .args(args)
        .stderr(Stdio::null())
        .status()
        .expect("openssl is needed to make test certificates")
        .success();
    assert!(ok, "openssl {args:?}");
}

/// Makes a key and a certificate for `subject` signed by the CA, with the
/// extensions in `ext` (rustls refuses a CA certificate as an end entity).
fn signed(dir: &Path, name: &str, subject: &str, ext: &str, ca: &str, ca_key: &str) -> (String, String) {
    let p = |suffix: &str| dir.join(format!("{name}{suffix}")).to_str().unwrap().to_string();
    let (key, csr, cert, extfile) = (p(".key"), p(".csr"), p(".pem"), p(".cnf"));
    std::fs::write(&extfile, ext).unwrap();
    openssl(&[
        "req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", &key, "-out", &csr,
    ]);
    openssl(&[
        "x509",
        "-req",
        "-in",
        &csr,
        "-CA",
        ca,
        "-CAkey",
        ca_key,
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        &extfile,
        "-out",
        &cert,
    ]);
    (cert, key)
}

impl TestPki {
    /// A new CA with a server and a client certificate.
    pub fn new() -> TestPki {
        let dir = tempfile::tempdir().unwrap();
        let ca_key = dir.path().join("ca.key").to_str().unwrap().to_string();
        let ca = dir.path().join("ca.pem").to_str().unwrap().to_string();
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=supplyrisk-test-ca",
            "-keyout",
            &ca_key,
            "-out",
            &ca,
        ]);
        let (server_cert, server_key) = signed(
            dir.path(),
            "server",
            "/CN=localhost",
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
            &ca,
            &ca_key,
        );
        let (client_cert, client_key) = signed(
            dir.path(),
            "client",
            "/CN=supplyrisk-test-client",
            "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n",
            &ca,
            &ca_key,
        );
        TestPki {
            _dir: dir,
            ca,
            server_cert,
            server_key,
            client_cert,
            client_key,
        }
    }
}

impl Default for TestPki {
    fn default() -> Self {
        Self::new()
    }
}
