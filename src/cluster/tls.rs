//! Which certificates of the nodes both clients trust: the system's roots, those plus the CA
//! file (`es_ca_file`), or none checked at all (`es_insecure_skip_verify`). The CA file is read
//! once, when the service starts.

use anyhow::Context;
use elasticsearch::cert::{Certificate, CertificateValidation};

use crate::config::TlsVerification;

pub(crate) enum Trust {
    /// The nodes' certificates are not checked.
    Skip,
    /// The system's roots.
    System,
    /// The system's roots and the certificates of the CA file.
    WithCa {
        /// The file as read, for the official client (its certificate type cannot be cloned).
        pem: Vec<u8>,
        roots: Vec<reqwest::Certificate>,
    },
}

impl Trust {
    pub(crate) fn load(tls: &TlsVerification) -> anyhow::Result<Self> {
        let path = match tls {
            TlsVerification::Skip => {
                log::warn!(
                    "not verifying the certificates of the nodes (es_insecure_skip_verify): development only"
                );
                return Ok(Self::Skip);
            }
            TlsVerification::Verify { extra_ca: None } => return Ok(Self::System),
            TlsVerification::Verify { extra_ca: Some(path) } => path,
        };
        let pem = std::fs::read(path)
            .with_context(|| format!("cannot read the CA certificates in {}", path.display()))?;
        let roots = read_pem(&pem)?.to_vec();
        Ok(Self::WithCa { pem, roots })
    }

    /// The official client's certificate check (its type cannot be cloned, so each node gets
    /// its own).
    pub(crate) fn certificate_validation(&self) -> anyhow::Result<CertificateValidation> {
        Ok(match self {
            Self::Skip => CertificateValidation::None,
            Self::System => CertificateValidation::Default,
            Self::WithCa { pem, .. } => CertificateValidation::Full(read_pem(pem)?),
        })
    }

    /// The same check on a plain HTTP client.
    pub(crate) fn configure(&self, builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
        match self {
            Self::Skip => builder.danger_accept_invalid_certs(true),
            Self::System => builder,
            Self::WithCa { roots, .. } => roots
                .iter()
                .fold(builder, |builder, ca| builder.add_root_certificate(ca.clone())),
        }
    }
}

fn read_pem(pem: &[u8]) -> anyhow::Result<Certificate> {
    let chain = Certificate::from_pem(pem).context("the CA file holds a certificate that cannot be read")?;
    anyhow::ensure!(!chain.is_empty(), "the CA file holds no PEM certificate");
    Ok(chain)
}
