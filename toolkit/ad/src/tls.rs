//! TLS for LDAPS and StartTLS: rustls with the ring provider, the system trust store plus an
//! optional CA file, and Directory Sync's `verify_mode`.

use crate::error::AdError;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use std::path::Path;
use std::sync::Arc;

/// Where the trust anchors came from, for error messages.
#[derive(Debug, Clone)]
pub struct TrustSources {
    pub system_roots: usize,
    pub ca_file: Option<String>,
}

impl TrustSources {
    pub fn describe(&self) -> String {
        let mut s = format!(
            "the system trust store ({} certificates)",
            self.system_roots
        );
        if let Some(f) = &self.ca_file {
            s.push_str(" and ");
            s.push_str(f);
        }
        s
    }
}

/// Builds the client configuration. `verify_name = false` (Directory Sync's
/// `verify_mode: false`) still requires a certificate chain to a trusted CA but accepts a
/// certificate that does not name the address connected to.
pub fn client_config(
    ca_file: Option<&Path>,
    verify_name: bool,
) -> Result<(Arc<ClientConfig>, TrustSources), AdError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    let (system_roots, _) = roots.add_parsable_certificates(native.certs);
    let mut sources = TrustSources {
        system_roots,
        ca_file: None,
    };
    if let Some(path) = ca_file {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| AdError::InputFile {
            path: shown.clone(),
            message: format!("cannot read the CA file: {e}"),
        })?;
        let mut added = 0usize;
        for cert in CertificateDer::pem_slice_iter(&bytes) {
            let cert = cert.map_err(|e| AdError::InputFile {
                path: shown.clone(),
                message: format!("not a PEM certificate bundle: {e}"),
            })?;
            roots.add(cert).map_err(|e| AdError::InputFile {
                path: shown.clone(),
                message: format!("unusable CA certificate: {e}"),
            })?;
            added += 1;
        }
        if added == 0 {
            return Err(AdError::InputFile {
                path: shown,
                message: "holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into(),
            });
        }
        sources.ca_file = Some(shown);
    }
    let roots = Arc::new(roots);
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| AdError::InputFile {
            path: "TLS".into(),
            message: e.to_string(),
        })?;
    let config = if verify_name {
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        let inner = WebPkiServerVerifier::builder_with_provider(roots, provider)
            .build()
            .map_err(|e| AdError::InputFile {
                path: sources.ca_file.clone().unwrap_or_else(|| "TLS".into()),
                message: format!("cannot build a certificate verifier: {e}"),
            })?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(ChainOnly(inner)))
            .with_no_client_auth()
    };
    Ok((Arc::new(config), sources))
}

/// Verifies the chain and signatures like rustls does, but not the server name.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
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
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// A sentence for a rejected TLS handshake that says what to do about it.
pub fn describe_tls_error(e: &rustls::Error, host: &str, trust: &TrustSources) -> String {
    match e {
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
        | rustls::Error::InvalidCertificate(CertificateError::BadSignature) => format!(
            "TLS certificate verification failed: the server's certificate is not issued by a \
             trusted CA ({e}); trusted were {}. Give the CA that issued the domain controller's \
             certificate with --ca-file",
            trust.describe()
        ),
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => format!(
            "TLS certificate verification failed: the certificate does not name {host:?} ({e}); \
             verify_mode: true requires the address in ad.ldap.server.addresses to match the \
             certificate"
        ),
        rustls::Error::InvalidCertificate(_) => {
            format!("TLS certificate verification failed: {e}")
        }
        other => format!("TLS handshake failed: {other}"),
    }
}

/// Makes ring the process-wide default provider (once; later calls are no-ops).
pub fn install_ring_provider() {
    let _ = CryptoProvider::install_default(rustls::crypto::ring::default_provider());
}
