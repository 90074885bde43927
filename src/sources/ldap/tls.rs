//! The TLS settings of a directory read, as a rustls client
//! configuration: the system's roots or the CA named by `ca_cert`, and
//! the server's name checked unless `tls_verify_hostname = false`, which
//! is taken only together with a named CA. Certificate verification
//! itself is never off.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use crate::config::LdapConfig;
use crate::sources::SourceError;

/// The client configuration for `[ldap]`; errors are set-up mistakes.
pub fn client_config(config: &LdapConfig, server: &str) -> Result<Arc<ClientConfig>, SourceError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = match &config.ca_cert {
        Some(path) => named_ca(path, server)?,
        None if !config.tls_verify_hostname => {
            return Err(SourceError::new(
                server,
                "`tls_verify_hostname = false` without `ca_cert` would accept a certificate for any name from any public CA",
            )
            .with_help("name the CA that signed the server's certificate with `ca_cert` in [ldap], or keep the host name check on"));
        }
        None => system_roots(server)?,
    };
    let roots = Arc::new(roots);
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| SourceError::new(server, format!("cannot set up TLS: {e}")))?;
    let config = if config.tls_verify_hostname {
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        let verifier = WebPkiServerVerifier::builder_with_provider(roots, provider)
            .build()
            .map_err(|e| SourceError::new(server, format!("cannot set up TLS: {e}")))?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyName(verifier)))
            .with_no_client_auth()
    };
    Ok(Arc::new(config))
}

fn named_ca(path: &std::path::Path, server: &str) -> Result<RootCertStore, SourceError> {
    let pem = crate::text::read_bounded(path, crate::text::MAX_SETTINGS_BYTES).map_err(|e| {
        SourceError::new(
            server,
            format!("cannot read the CA certificate `{}`: {e}", path.display()),
        )
        .with_help("check `ca_cert` in [ldap]")
    })?;
    let not_pem = |why: String| {
        SourceError::new(
            server,
            format!("`{}` is not a PEM certificate: {why}", path.display()),
        )
        .with_help(
            "`ca_cert` is the certificate of the CA that signed the server's certificate, in PEM",
        )
    };
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        let cert = cert.map_err(|e| not_pem(e.to_string()))?;
        roots.add(cert).map_err(|e| not_pem(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(not_pem("it holds no certificate".into()));
    }
    Ok(roots)
}

fn system_roots(server: &str) -> Result<RootCertStore, SourceError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        return Err(SourceError::new(
            server,
            "the system has no CA certificates to verify the server with",
        )
        .with_help("install the system's CA certificates (ca-certificates), or name the CA with `ca_cert` in [ldap]"));
    }
    Ok(roots)
}

/// Verifies the chain against the named CA, its dates and signatures as
/// ever, and accepts a certificate that names another host.
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // The name is checked after the chain: an error about the name
        // means everything else held.
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

/// Whether an I/O error is rustls's, carried through the stream.
pub fn is_tls_io_error(e: &std::io::Error) -> bool {
    e.get_ref()
        .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some())
}

pub fn handshake_error(server: &str, text: &str) -> SourceError {
    let lower = text.to_lowercase();
    let help = if lower.contains("certificate") || lower.contains("verify") {
        "the server's certificate could not be verified: set `ca_cert` in [ldap] to the CA that signed it"
    } else {
        "check that the server speaks TLS on this port, and the [ldap] settings"
    };
    SourceError::new(
        server,
        format!("cannot connect: the TLS handshake failed: {text}"),
    )
    .with_help(help)
}
