//! Test certificates made with rcgen: a certificate authority of our own and the relay
//! certificates it issues (valid, expired, for another host name), written as PEM files.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair, KeyUsagePurpose,
    date_time_ymd,
};

/// A certificate authority of our own, issuing relay certificates into one directory.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
    dir: PathBuf,
    /// The CA certificate's PEM file (`ca.pem` in the directory), for `kompas --ca`.
    pub file: PathBuf,
}

impl TestCa {
    /// A new CA named `name` with its own key, its certificate written to `dir/ca.pem`.
    pub fn new(dir: &Path, name: &str) -> TestCa {
        std::fs::create_dir_all(dir).expect("certificate directory");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().expect("ca key");
        let issuer = CertifiedIssuer::self_signed(params, key).expect("ca certificate");
        let file = dir.join("ca.pem");
        std::fs::write(&file, issuer.pem()).expect("write ca");
        TestCa {
            issuer,
            dir: dir.to_path_buf(),
            file,
        }
    }

    /// The CA file as a command-line argument.
    pub fn arg(&self) -> &str {
        self.file.to_str().expect("a UTF-8 path")
    }

    /// A relay certificate for `host`, valid from `from` to `until` (years), as PEM files
    /// `<name>.crt` and `<name>.key` in the CA's directory.
    pub fn issue(&self, name: &str, host: &str, from: i32, until: i32) -> Tls {
        let dir = &self.dir;
        let mut params = CertificateParams::new(vec![host.to_string()]).expect("params");
        params.not_before = date_time_ymd(from, 1, 1);
        params.not_after = date_time_ymd(until, 1, 1);
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.issuer).expect("certificate");
        let tls = Tls {
            cert: dir.join(format!("{name}.crt")),
            key: dir.join(format!("{name}.key")),
        };
        std::fs::write(&tls.cert, cert.pem()).expect("write cert");
        std::fs::write(&tls.key, key.serialize_pem()).expect("write key");
        tls
    }
}

/// A certificate and its key on disk.
pub struct Tls {
    /// The certificate (PEM).
    pub cert: PathBuf,
    /// Its private key (PEM).
    pub key: PathBuf,
}

impl Tls {
    /// Copies this pair over `to` (the files a running relay reads), key first.
    pub fn copy_over(&self, to: &Tls) {
        std::fs::copy(&self.key, &to.key).expect("copy key");
        std::fs::copy(&self.cert, &to.cert).expect("copy cert");
    }
}
