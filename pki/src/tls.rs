//! rustls configurations for tandem: the server side (client certificates required,
//! optional or ignored, as `tls-auth-clients yes|optional|no`) and the client side of a
//! replication link, plus atomic swapping for certificate rotation.
//!
//! **Hostname policy for replication links.** Redis verifies only the chain of the
//! master's certificate (OpenSSL with `SSL_VERIFY_PEER` and no host check), and masters
//! are often reached by addresses their certificates do not name (Docker service names,
//! IPs). tandem does the same by default: the master's certificate must chain to the
//! configured CA, be within its validity and carry serverAuth; its names are not compared
//! with the host dialled. [`ClientFiles::verify_hostname`] turns the name check on.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, DistinguishedName, ServerConfig,
    SignatureScheme, SupportedCipherSuite, SupportedProtocolVersion,
};

use crate::v1::{self, V1Verifier};
use crate::{store, verify, PkiError};

/// Whether the server asks for client certificates (`tls-auth-clients`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// A certificate from the CA is required (`yes`, Redis's default).
    Required,
    /// A certificate is verified if sent (`optional`).
    Optional,
    /// No certificate is asked for (`no`).
    None,
}

/// Protocol versions and cipher suites (`tls-protocols`, `tls-ciphersuites`).
#[derive(Debug, Clone)]
pub struct TlsOptions {
    pub protocols: Vec<&'static SupportedProtocolVersion>,
    /// None: rustls's defaults.
    pub cipher_suites: Option<Vec<SupportedCipherSuite>>,
}

impl Default for TlsOptions {
    fn default() -> Self {
        TlsOptions {
            protocols: vec![&rustls::version::TLS13, &rustls::version::TLS12],
            cipher_suites: None,
        }
    }
}

/// Parses `tls-protocols` ("TLSv1.2 TLSv1.3"); empty means both.
pub fn parse_protocols(text: &str) -> Result<Vec<&'static SupportedProtocolVersion>, PkiError> {
    let mut out = Vec::new();
    for word in text.split_whitespace() {
        match word.to_ascii_lowercase().as_str() {
            "tlsv1.2" => out.push(&rustls::version::TLS12),
            "tlsv1.3" => out.push(&rustls::version::TLS13),
            _ => return Err(PkiError::UnknownProtocol(word.into())),
        }
    }
    if out.is_empty() {
        out = TlsOptions::default().protocols;
    }
    Ok(out)
}

/// Parses `tls-ciphersuites` (TLS 1.3 names, colon-separated, as OpenSSL takes them) or
/// IANA names of TLS 1.2 suites; a suite rustls does not implement is an error naming it.
pub fn parse_ciphersuites(text: &str) -> Result<Option<Vec<SupportedCipherSuite>>, PkiError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let all = rustls::crypto::ring::default_provider().cipher_suites;
    let mut out = Vec::new();
    for name in text.split(':').map(str::trim).filter(|n| !n.is_empty()) {
        let found = all
            .iter()
            .find(|s| format!("{:?}", s.suite()).eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                PkiError::UnknownCipherSuite(
                    name.into(),
                    all.iter()
                        .map(|s| format!("{:?}", s.suite()))
                        .collect::<Vec<_>>()
                        .join(", "),
                )
            })?;
        out.push(*found);
    }
    Ok(Some(out))
}

fn provider_for(opts: &TlsOptions) -> Arc<CryptoProvider> {
    let mut provider = rustls::crypto::ring::default_provider();
    if let Some(suites) = &opts.cipher_suites {
        provider.cipher_suites = suites.clone();
    }
    Arc::new(provider)
}

/// The files a TLS server needs.
#[derive(Debug, Clone)]
pub struct ServerFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// A CA file or a directory of CA files, to verify client certificates.
    pub ca: Option<PathBuf>,
    pub crls: Vec<PathBuf>,
    /// The password of an encrypted key (`tls-key-file-pass`).
    pub key_password: Option<String>,
}

/// The node's own certificate chain with its key, checked to belong together. (rustls's
/// own check parses the certificate with webpki, which refuses version 1 certificates.)
fn certified_key(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    provider: &CryptoProvider,
    cert_path: &std::path::Path,
    key_path: &std::path::Path,
) -> Result<Arc<SingleCertAndKey>, PkiError> {
    let key = provider.key_provider.load_private_key(key)?;
    let cert_spki = chain.first().and_then(v1::subject_public_key_info);
    if let (Some(from_key), Some(from_cert)) = (key.public_key(), cert_spki) {
        if from_key.as_ref() != from_cert.as_slice() {
            return Err(PkiError::KeyMismatch {
                cert: cert_path.to_path_buf(),
                key: key_path.to_path_buf(),
            });
        }
    }
    Ok(Arc::new(SingleCertAndKey::from(CertifiedKey::new(
        chain, key,
    ))))
}

/// The verifier of version 1 peer certificates (see [`v1`]) for the CAs in `ca`.
fn v1_verifier(
    ca: &std::path::Path,
    crls: &[Vec<u8>],
    provider: &CryptoProvider,
) -> Result<V1Verifier, PkiError> {
    let cas = store::read_ca_certs(ca)?;
    Ok(V1Verifier::new(
        &cas,
        crls,
        provider.signature_verification_algorithms,
    ))
}

/// webpki's client certificate verification, with version 1 certificates verified by
/// [`V1Verifier`] instead.
#[derive(Debug)]
struct ClientVerifier {
    webpki: Arc<dyn ClientCertVerifier>,
    v1: V1Verifier,
}

impl ClientCertVerifier for ClientVerifier {
    fn offer_client_auth(&self) -> bool {
        self.webpki.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.webpki.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.webpki.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if v1::is_v1(end_entity) {
            self.v1.verify(end_entity, now)?;
            return Ok(ClientCertVerified::assertion());
        }
        self.webpki
            .verify_client_cert(end_entity, intermediates, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        if v1::is_v1(cert) {
            return self.v1.verify_tls12_signature(message, cert, dss);
        }
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        if v1::is_v1(cert) {
            return self.v1.verify_tls13_signature(message, cert, dss);
        }
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// Builds a server configuration; any problem with a file is an error naming it.
pub fn server_config(
    files: &ServerFiles,
    auth: ClientAuth,
    opts: &TlsOptions,
) -> Result<ServerConfig, PkiError> {
    let chain = store::read_certs(&files.cert)?;
    let key = store::read_key_with_password(&files.key, files.key_password.as_deref())?;
    let provider = provider_for(opts);
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&opts.protocols)?;
    let builder = match (auth, &files.ca) {
        (ClientAuth::None, _) => builder.with_no_client_auth(),
        (_, None) => {
            return Err(PkiError::NoCaCertificates {
                path: PathBuf::from("(tls-ca-cert-file / tls-ca-cert-dir not set)"),
            })
        }
        (auth, Some(ca)) => {
            let roots = Arc::new(verify::root_store(ca)?);
            let mut crls = Vec::new();
            for crl in &files.crls {
                crls.extend(store::read_crls(crl)?);
            }
            let crl_bytes: Vec<Vec<u8>> = crls.iter().map(|c| c.as_ref().to_vec()).collect();
            let v1 = v1_verifier(ca, &crl_bytes, &provider)?;
            let mut v = rustls::server::WebPkiClientVerifier::builder_with_provider(
                roots,
                provider.clone(),
            )
            .with_crls(crls);
            if auth == ClientAuth::Optional {
                v = v.allow_unauthenticated();
            }
            builder.with_client_cert_verifier(Arc::new(ClientVerifier {
                webpki: v.build()?,
                v1,
            }))
        }
    };
    let own = certified_key(chain, key, &provider, &files.cert, &files.key)?;
    let mut config = builder.with_cert_resolver(own);
    config.alpn_protocols.clear();
    Ok(config)
}

/// The files the client side of a replication link needs.
#[derive(Debug, Clone)]
pub struct ClientFiles {
    /// The certificate presented to the master (the node's own, or tls-client-cert-file).
    pub cert: PathBuf,
    pub key: PathBuf,
    /// CA file or directory the master's certificate must chain to.
    pub ca: PathBuf,
    /// Also require the master's certificate to name the host dialled.
    pub verify_hostname: bool,
    /// The password of an encrypted key (`tls-client-key-file-pass`).
    pub key_password: Option<String>,
}

/// Verifies the chain like webpki and, unless asked, not the name (see the module docs);
/// a version 1 certificate (which names nothing but its subject) by [`V1Verifier`].
#[derive(Debug)]
struct ChainOnlyVerifier {
    inner: Arc<rustls::client::WebPkiServerVerifier>,
    v1: V1Verifier,
}

impl ServerCertVerifier for ChainOnlyVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if v1::is_v1(end_entity) {
            self.v1.verify(end_entity, now)?;
            return Ok(ServerCertVerified::assertion());
        }
        match self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            // webpki checks the name only after the chain, validity and purpose passed.
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        if v1::is_v1(cert) {
            return self.v1.verify_tls12_signature(message, cert, dss);
        }
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        if v1::is_v1(cert) {
            return self.v1.verify_tls13_signature(message, cert, dss);
        }
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Builds the client configuration of a replication link.
pub fn client_config(files: &ClientFiles, opts: &TlsOptions) -> Result<ClientConfig, PkiError> {
    let roots = Arc::new(verify::root_store(&files.ca)?);
    let chain = store::read_certs(&files.cert)?;
    let key = store::read_key_with_password(&files.key, files.key_password.as_deref())?;
    let provider = provider_for(opts);
    let webpki =
        rustls::client::WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
            .build()
            .map_err(|e| PkiError::Tls(rustls::Error::General(e.to_string())))?;
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&opts.protocols)?;
    let builder = if files.verify_hostname {
        builder.with_webpki_verifier(webpki)
    } else {
        let v1 = v1_verifier(&files.ca, &[], &provider)?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(ChainOnlyVerifier { inner: webpki, v1 }))
    };
    let own = certified_key(chain, key, &provider, &files.cert, &files.key)?;
    Ok(builder.with_client_cert_resolver(own))
}

/// A configuration that can be replaced while in use: new handshakes take the new one,
/// connections already made keep theirs.
#[derive(Debug)]
pub struct Reloadable<T> {
    current: RwLock<Arc<T>>,
}

impl<T> Reloadable<T> {
    pub fn new(value: T) -> Reloadable<T> {
        Reloadable {
            current: RwLock::new(Arc::new(value)),
        }
    }

    /// The configuration to use for the next handshake.
    pub fn current(&self) -> Arc<T> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Swaps in a new configuration.
    pub fn replace(&self, value: T) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ca::{self, KeyType, Validity};
    use crate::issue::{issue, IssueRequest};
    use crate::profile::Profile;
    use rustls::{ClientConnection, ServerConnection};
    use std::path::Path;

    /// Writes a CA and the named certificates (name, profile) into `dir`.
    fn make_pki(dir: &Path, leaves: &[(&str, Profile)]) {
        let ca = ca::create_in(dir, Validity::days(30), KeyType::EcdsaP256).unwrap();
        for (name, profile) in leaves {
            let req = IssueRequest {
                name: name.to_string(),
                profile: *profile,
                sans: vec![],
                validity: Validity::days(30),
                key_type: KeyType::EcdsaP256,
            };
            issue(&ca, &req)
                .unwrap()
                .write(
                    &dir.join(format!("{name}.crt")),
                    &dir.join(format!("{name}.key")),
                )
                .unwrap();
        }
    }

    /// Runs a handshake in memory; Ok when both sides complete it.
    fn handshake(
        client: ClientConfig,
        server: ServerConfig,
        name: &str,
    ) -> Result<ServerConnection, rustls::Error> {
        let mut c = ClientConnection::new(
            Arc::new(client),
            ServerName::try_from(name.to_string()).unwrap(),
        )?;
        let mut s = ServerConnection::new(Arc::new(server))?;
        for _ in 0..10 {
            let mut buf = Vec::new();
            c.write_tls(&mut buf).unwrap();
            s.read_tls(&mut &buf[..]).unwrap();
            s.process_new_packets()?;
            let mut buf = Vec::new();
            s.write_tls(&mut buf).unwrap();
            c.read_tls(&mut &buf[..]).unwrap();
            c.process_new_packets()?;
            if !c.is_handshaking() && !s.is_handshaking() {
                return Ok(s);
            }
        }
        Err(rustls::Error::General("handshake did not finish".into()))
    }

    fn server_files(dir: &Path) -> ServerFiles {
        ServerFiles {
            cert: dir.join("node.crt"),
            key: dir.join("node.key"),
            ca: Some(dir.join("ca.crt")),
            crls: vec![],
            key_password: None,
        }
    }

    fn client_files(dir: &Path, cert: &str, ca_dir: &Path) -> ClientFiles {
        ClientFiles {
            cert: dir.join(format!("{cert}.crt")),
            key: dir.join(format!("{cert}.key")),
            ca: ca_dir.join("ca.crt"),
            verify_hostname: false,
            key_password: None,
        }
    }

    fn client_without_cert(ca_dir: &Path) -> ClientConfig {
        ClientConfig::builder_with_provider(crate::provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(verify::root_store(&ca_dir.join("ca.crt")).unwrap())
            .with_no_client_auth()
    }

    #[test]
    fn mutual_tls_with_node_and_client_certificates() {
        let dir = tempfile::tempdir().unwrap();
        make_pki(
            dir.path(),
            &[("node", Profile::Node), ("client", Profile::Client)],
        );
        let opts = TlsOptions::default();
        let server = server_config(&server_files(dir.path()), ClientAuth::Required, &opts).unwrap();
        let client = client_config(&client_files(dir.path(), "client", dir.path()), &opts).unwrap();
        let conn = handshake(client, server, "localhost").unwrap();
        let peer = conn.peer_certificates().unwrap();
        let id = crate::identity::of_certificate(&peer[0]).unwrap();
        assert_eq!(id.common_name.as_deref(), Some("client"));
        // The node certificate also authenticates as a client (replication).
        let server = server_config(&server_files(dir.path()), ClientAuth::Required, &opts).unwrap();
        let client = client_config(&client_files(dir.path(), "node", dir.path()), &opts).unwrap();
        handshake(client, server, "localhost").unwrap();
    }

    #[test]
    fn client_auth_required_optional_and_none() {
        let dir = tempfile::tempdir().unwrap();
        make_pki(dir.path(), &[("node", Profile::Node)]);
        let opts = TlsOptions::default();
        let files = server_files(dir.path());
        let required = server_config(&files, ClientAuth::Required, &opts).unwrap();
        assert!(handshake(client_without_cert(dir.path()), required, "localhost").is_err());
        let optional = server_config(&files, ClientAuth::Optional, &opts).unwrap();
        handshake(client_without_cert(dir.path()), optional, "localhost").unwrap();
        let none =
            server_config(&ServerFiles { ca: None, ..files }, ClientAuth::None, &opts).unwrap();
        handshake(client_without_cert(dir.path()), none, "localhost").unwrap();
    }

    #[test]
    fn foreign_client_and_server_certificates_are_refused() {
        let ours = tempfile::tempdir().unwrap();
        let theirs = tempfile::tempdir().unwrap();
        make_pki(ours.path(), &[("node", Profile::Node)]);
        make_pki(
            theirs.path(),
            &[("node", Profile::Node), ("client", Profile::Client)],
        );
        let opts = TlsOptions::default();
        let server =
            server_config(&server_files(ours.path()), ClientAuth::Required, &opts).unwrap();
        // Their client, trusting our CA so the server side is the one to refuse.
        let client =
            client_config(&client_files(theirs.path(), "client", ours.path()), &opts).unwrap();
        let err = handshake(client, server, "localhost").unwrap_err();
        assert!(
            matches!(
                err,
                rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
                    | rustls::Error::AlertReceived(_)
            ),
            "{err:?}"
        );
        // Our replica dialling their master: the chain does not verify.
        let server = server_config(&server_files(theirs.path()), ClientAuth::None, &opts).unwrap();
        let client = client_config(&client_files(ours.path(), "node", ours.path()), &opts).unwrap();
        let err = handshake(client, server, "localhost").unwrap_err();
        assert!(
            matches!(
                err,
                rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
            ),
            "{err:?}"
        );
    }

    /// Rewrites `dir/<name>.crt` as a version 1 certificate (no version field, no
    /// extensions: what `openssl x509 -req` makes without `-extensions`), signed again by
    /// the CA in `ca_dir`.
    fn make_v1(dir: &Path, name: &str, ca_dir: &Path) {
        let der = store::read_certs(&dir.join(format!("{name}.crt"))).unwrap()[0].to_vec();
        let element = |input: &[u8]| -> (Vec<u8>, usize) {
            // (whole element, its length) of a DER element at the start of `input`.
            let len = if input[1] < 0x80 {
                2 + usize::from(input[1])
            } else {
                let n = usize::from(input[1] & 0x7f);
                2 + n
                    + input[2..2 + n]
                        .iter()
                        .fold(0usize, |l, &b| (l << 8) | usize::from(b))
            };
            (input[..len].to_vec(), len)
        };
        let header_len = |input: &[u8]| {
            if input[1] < 0x80 {
                2
            } else {
                2 + usize::from(input[1] & 0x7f)
            }
        };
        let encode = |tag: u8, body: &[u8]| -> Vec<u8> {
            let mut out = vec![tag];
            let len = body.len();
            if len < 0x80 {
                out.push(len as u8);
            } else {
                let bytes: Vec<u8> = len
                    .to_be_bytes()
                    .into_iter()
                    .skip_while(|b| *b == 0)
                    .collect();
                out.push(0x80 | bytes.len() as u8);
                out.extend(bytes);
            }
            out.extend_from_slice(body);
            out
        };
        let cert_body = &der[header_len(&der)..];
        let (tbs, tbs_len) = element(cert_body);
        let (sig_alg, _) = element(&cert_body[tbs_len..]);
        let mut rest = &tbs[header_len(&tbs)..];
        let mut fields = Vec::new();
        while !rest.is_empty() {
            let (field, len) = element(rest);
            // [0] version and [3] extensions go: what is left is a version 1 body.
            if field[0] != 0xa0 && field[0] != 0xa3 {
                fields.extend(field);
            }
            rest = &rest[len..];
        }
        let tbs_v1 = encode(0x30, &fields);
        let ca_key =
            rcgen::KeyPair::from_pem(&std::fs::read_to_string(ca_dir.join("ca.key")).unwrap())
                .unwrap();
        let signature = rcgen::SigningKey::sign(&ca_key, &tbs_v1).unwrap();
        let mut bits = vec![0u8];
        bits.extend(signature);
        let mut body = tbs_v1;
        body.extend(sig_alg);
        body.extend(encode(0x03, &bits));
        let v1_der = encode(0x30, &body);
        assert!(v1::is_v1(&CertificateDer::from(v1_der.clone())));
        std::fs::write(dir.join(format!("{name}.crt")), to_pem(&v1_der)).unwrap();
    }

    /// PEM of a certificate.
    fn to_pem(der: &[u8]) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut b64 = String::new();
        for chunk in der.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
            for i in 0..4 {
                if i <= chunk.len() {
                    b64.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
                } else {
                    b64.push('=');
                }
            }
        }
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|l| std::str::from_utf8(l).unwrap())
            .collect();
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            lines.join("\n")
        )
    }

    #[test]
    fn version_1_certificates_from_the_ca_are_accepted_as_openssl_accepts_them() {
        let dir = tempfile::tempdir().unwrap();
        let foreign = tempfile::tempdir().unwrap();
        make_pki(
            dir.path(),
            &[("node", Profile::Node), ("client", Profile::Client)],
        );
        make_pki(foreign.path(), &[("client", Profile::Client)]);
        make_v1(dir.path(), "node", dir.path());
        make_v1(dir.path(), "client", dir.path());
        make_v1(foreign.path(), "client", foreign.path());
        let opts = TlsOptions::default();
        let tls12 = TlsOptions {
            protocols: vec![&rustls::version::TLS12],
            cipher_suites: None,
        };
        for opts in [&opts, &tls12] {
            // A v1 server certificate, a v1 client certificate, both ways of a link.
            let server =
                server_config(&server_files(dir.path()), ClientAuth::Required, opts).unwrap();
            let client =
                client_config(&client_files(dir.path(), "client", dir.path()), opts).unwrap();
            handshake(client, server, "localhost").unwrap();
            let server =
                server_config(&server_files(dir.path()), ClientAuth::Required, opts).unwrap();
            let client =
                client_config(&client_files(dir.path(), "node", dir.path()), opts).unwrap();
            handshake(client, server, "localhost").unwrap();
            // A v1 certificate of another CA is still refused.
            let server =
                server_config(&server_files(dir.path()), ClientAuth::Required, opts).unwrap();
            let client =
                client_config(&client_files(foreign.path(), "client", dir.path()), opts).unwrap();
            assert!(handshake(client, server, "localhost").is_err());
        }
        // A key that is not the certificate's is still caught.
        let files = ServerFiles {
            key: dir.path().join("client.key"),
            ..server_files(dir.path())
        };
        assert!(matches!(
            server_config(&files, ClientAuth::Required, &opts),
            Err(PkiError::KeyMismatch { .. })
        ));
    }

    #[test]
    fn replication_links_check_the_chain_not_the_host_name_unless_asked() {
        let dir = tempfile::tempdir().unwrap();
        make_pki(dir.path(), &[("node", Profile::Node)]);
        let opts = TlsOptions::default();
        let server =
            || server_config(&server_files(dir.path()), ClientAuth::Required, &opts).unwrap();
        let files = client_files(dir.path(), "node", dir.path());
        handshake(
            client_config(&files, &opts).unwrap(),
            server(),
            "redis-master",
        )
        .unwrap();
        let strict = ClientFiles {
            verify_hostname: true,
            ..files
        };
        let err = handshake(
            client_config(&strict, &opts).unwrap(),
            server(),
            "redis-master",
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                rustls::Error::InvalidCertificate(
                    CertificateError::NotValidForNameContext { .. }
                        | CertificateError::NotValidForName
                )
            ),
            "{err:?}"
        );
    }

    #[test]
    fn a_key_that_does_not_match_its_certificate_is_named() {
        let dir = tempfile::tempdir().unwrap();
        make_pki(
            dir.path(),
            &[("node", Profile::Node), ("other", Profile::Node)],
        );
        let files = ServerFiles {
            key: dir.path().join("other.key"),
            ..server_files(dir.path())
        };
        let err = server_config(&files, ClientAuth::Required, &TlsOptions::default()).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("other.key") && msg.contains("does not match") && msg.contains("node.crt"),
            "{msg}"
        );
    }

    #[test]
    fn ca_directory_protocols_and_cipher_suites() {
        let dir = tempfile::tempdir().unwrap();
        make_pki(dir.path(), &[("node", Profile::Node)]);
        let ca_dir = dir.path().join("cas");
        std::fs::create_dir(&ca_dir).unwrap();
        std::fs::copy(dir.path().join("ca.crt"), ca_dir.join("ours.crt")).unwrap();
        let files = ServerFiles {
            ca: Some(ca_dir),
            ..server_files(dir.path())
        };
        let opts = TlsOptions {
            protocols: parse_protocols("TLSv1.3").unwrap(),
            cipher_suites: parse_ciphersuites("TLS13_AES_256_GCM_SHA384").unwrap(),
        };
        let server = server_config(&files, ClientAuth::Required, &opts).unwrap();
        let client = client_config(&client_files(dir.path(), "node", dir.path()), &opts).unwrap();
        handshake(client, server, "localhost").unwrap();
        assert!(matches!(
            parse_protocols("SSLv3"),
            Err(PkiError::UnknownProtocol(_))
        ));
        let err = parse_ciphersuites("TLS_RSA_WITH_RC4_128_MD5")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("TLS_RSA_WITH_RC4_128_MD5") && err.contains("TLS13_AES_128_GCM_SHA256"),
            "{err}"
        );
    }

    #[test]
    fn reloadable_swaps_for_new_handshakes_only() {
        let r = Reloadable::new(1);
        let held = r.current();
        r.replace(2);
        assert_eq!(*held, 1);
        assert_eq!(*r.current(), 2);
    }
}
