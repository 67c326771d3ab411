//! The agency's seal on the documents the desk executes: one PDF signature (PAdES baseline,
//! `ETSI.CAdES.detached`) over the whole file, a CMS SignedData made with the seal's key (P-256
//! or RSA) and carrying its certificate chain, so any later change to the file is reported by
//! any PDF reader or verifier.

use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair, RSA_PKCS1_SHA256, RsaKeyPair,
};
use sha2::{Digest, Sha256};

use super::der;
use super::pdf::{self, Document, SealField};
use crate::auth::token::to_hex;

const SHA256: &str = "2.16.840.1.101.3.4.2.1";
const ECDSA_WITH_SHA256: &str = "1.2.840.10045.4.3.2";
const SHA256_WITH_RSA: &str = "1.2.840.113549.1.1.11";
const DATA: &str = "1.2.840.113549.1.7.1";
const SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
const CONTENT_TYPE: &str = "1.2.840.113549.1.9.3";
const MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";
const SIGNING_CERTIFICATE_V2: &str = "1.2.840.113549.1.9.16.2.47";

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("the seal's key is neither a P-256 nor an RSA (2048 to 8192 bits) key in PKCS#8")]
    Key,
    #[error("the seal's certificate cannot be read")]
    Certificate,
    #[error("the certificate is not the key's (its public key is another)")]
    Mismatch,
    #[error("the certificate chain is too long to fit the signature's space ({0} bytes)")]
    ChainTooLong(usize),
    #[error("the seal could not be made: {0}")]
    Generate(String),
    #[error("the signature does not fit the space the document keeps for it")]
    TooLarge,
    #[error("signing failed")]
    Signing,
}

/// The seal's private key.
enum Key {
    P256(EcdsaKeyPair),
    Rsa(RsaKeyPair),
}

impl Key {
    fn from_pkcs8(pkcs8: &[u8]) -> Result<Key, SealError> {
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8, &SystemRandom::new())
            .map(Key::P256)
            .or_else(|_| RsaKeyPair::from_pkcs8(pkcs8).map(Key::Rsa))
            .map_err(|_| SealError::Key)
    }

    /// The public key as the certificate carries it (the EC point, or the RSAPublicKey).
    fn public(&self) -> &[u8] {
        match self {
            Key::P256(key) => key.public_key().as_ref(),
            Key::Rsa(key) => key.public_key().as_ref(),
        }
    }

    fn sign(&self, message: &[u8]) -> Result<(Vec<u8>, Vec<u8>), SealError> {
        let random = SystemRandom::new();
        match self {
            Key::P256(key) => {
                let signature = key.sign(&random, message).map_err(|_| SealError::Signing)?;
                Ok((
                    der::algorithm(ECDSA_WITH_SHA256),
                    signature.as_ref().to_vec(),
                ))
            }
            Key::Rsa(key) => {
                let mut signature = vec![0; key.public().modulus_len()];
                key.sign(&RSA_PKCS1_SHA256, &random, message, &mut signature)
                    .map_err(|_| SealError::Signing)?;
                // RSA's algorithm identifiers carry an explicit NULL.
                let algorithm = der::sequence(&[&der::oid(SHA256_WITH_RSA), &[0x05, 0]]);
                Ok((algorithm, signature))
            }
        }
    }
}

/// The key and certificate documents are sealed with.
pub struct Seal {
    key: Key,
    key_pkcs8: Vec<u8>,
    certificate: Vec<u8>,
    /// The certificates between the seal's and a root, as the certificate authority issued
    /// them: carried in each signature so a reader can build the chain.
    chain: Vec<Vec<u8>>,
    issuer: Vec<u8>,
    serial: Vec<u8>,
    /// Made by the desk for development, not issued to the agency: readers show its seal's
    /// validity as unknown.
    pub self_signed: bool,
}

impl Seal {
    /// A seal from a P-256 or RSA key (PKCS#8 DER) and its certificate (DER).
    pub fn from_der(
        key_pkcs8: &[u8],
        certificate: &[u8],
        self_signed: bool,
    ) -> Result<Seal, SealError> {
        Seal::with_chain(key_pkcs8, &[certificate.to_vec()], self_signed)
    }

    /// A seal from a key (PKCS#8 DER) and certificates (DER), one of them the key's and the
    /// others its chain, in any order (as a PKCS#12 file holds them).
    pub fn with_chain(
        key_pkcs8: &[u8],
        certificates: &[Vec<u8>],
        self_signed: bool,
    ) -> Result<Seal, SealError> {
        let key = Key::from_pkcs8(key_pkcs8)?;
        // The key's certificate carries its public key (the EC point or the RSAPublicKey).
        let public = key.public();
        let carries = |c: &Vec<u8>| c.windows(public.len()).any(|w| w == public);
        let Some(at) = certificates.iter().position(carries) else {
            return match certificates {
                [one] if der::issuer_and_serial(one).is_none() => Err(SealError::Certificate),
                _ => Err(SealError::Mismatch),
            };
        };
        let certificate = certificates[at].clone();
        let (issuer, serial) =
            der::issuer_and_serial(&certificate).ok_or(SealError::Certificate)?;
        let chain: Vec<Vec<u8>> = certificates
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != at)
            .map(|(_, c)| c.clone())
            .collect();
        // The signature, its attributes and every certificate fit the space kept for them.
        let carried = certificate.len() + chain.iter().map(Vec::len).sum::<usize>();
        if carried + 2048 > pdf::SIGNATURE_SPACE {
            return Err(SealError::ChainTooLong(carried));
        }
        Ok(Seal {
            key,
            key_pkcs8: key_pkcs8.to_vec(),
            certificate,
            chain,
            issuer,
            serial,
            self_signed,
        })
    }

    /// A new self-signed seal for `agency`, valid ten years from `today`.
    pub fn self_signed(agency: &str, today: chrono::NaiveDate) -> Result<Seal, SealError> {
        use chrono::Datelike;
        use rcgen::{
            CertificateParams, DistinguishedName, DnType, KeyPair, KeyUsagePurpose, SerialNumber,
        };
        let generate = |e: rcgen::Error| SealError::Generate(e.to_string());
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(generate)?;
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(generate)?;
        let mut name = DistinguishedName::new();
        name.push(
            DnType::CommonName,
            format!("{agency} document seal (self-signed)"),
        );
        name.push(DnType::OrganizationName, agency);
        params.distinguished_name = name;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::ContentCommitment,
        ];
        let serial: [u8; 16] = rand::random();
        params.serial_number = Some(SerialNumber::from_slice(&serial[..]));
        let month = u8::try_from(today.month()).expect("a month fits");
        let day = u8::try_from(today.day()).expect("a day fits");
        // From the day before: `today` is the agency's, and its midnight may still be ahead
        // in UTC, where a reader checks the seal's time against it.
        let from = today.pred_opt().unwrap_or(today);
        let from_month = u8::try_from(from.month()).expect("a month fits");
        let from_day = u8::try_from(from.day()).expect("a day fits");
        params.not_before = rcgen::date_time_ymd(from.year(), from_month, from_day);
        params.not_after = rcgen::date_time_ymd(today.year() + 10, month, day.min(28));
        let certificate = params.self_signed(&key).map_err(generate)?;
        Seal::from_der(&key.serialize_der(), certificate.der(), true)
    }

    pub fn certificate(&self) -> &[u8] {
        &self.certificate
    }

    pub fn key_pkcs8(&self) -> &[u8] {
        &self.key_pkcs8
    }

    /// The certificate's SHA-256, as verifiers and the certificate page print it.
    pub fn fingerprint(&self) -> String {
        to_hex(&Sha256::digest(&self.certificate))
    }

    /// Writes `document` sealed: its signature covers every byte but the signature's own.
    pub fn seal(&self, document: &Document, field: &SealField) -> Result<Vec<u8>, SealError> {
        let (mut pdf, at) = pdf::write(document, Some(field));
        let at = at.expect("a document written with a seal has its placeholders");
        let (open, close) = at.contents;
        let byte_range = format!(
            "{:010} {:010} {:010} {:010}",
            0,
            open,
            close,
            pdf.len() - close
        );
        pdf[at.byte_range..at.byte_range + byte_range.len()].copy_from_slice(byte_range.as_bytes());
        let mut digest = Sha256::new();
        digest.update(&pdf[..open]);
        digest.update(&pdf[close..]);
        let cms = self.signed_data(&digest.finalize())?;
        let encoded = to_hex(&cms);
        if encoded.len() > close - open - 2 {
            return Err(SealError::TooLarge);
        }
        pdf[open + 1..open + 1 + encoded.len()].copy_from_slice(encoded.as_bytes());
        Ok(pdf)
    }

    /// A detached CMS SignedData (RFC 5652) over a document whose SHA-256 is `digest`, with
    /// the attributes PAdES asks for (content type, message digest, signing certificate).
    fn signed_data(&self, digest: &[u8]) -> Result<Vec<u8>, SealError> {
        let attribute =
            |kind: &str, value: &[u8]| der::sequence(&[&der::oid(kind), &der::set_of(&[value])]);
        let certificate_hash = Sha256::digest(&self.certificate);
        let ess_cert_id = der::sequence(&[&der::octets(&certificate_hash)]);
        let signing_certificate = der::sequence(&[&der::sequence(&[&ess_cert_id])]);
        let attributes = [
            attribute(CONTENT_TYPE, &der::oid(DATA)),
            attribute(MESSAGE_DIGEST, &der::octets(digest)),
            attribute(SIGNING_CERTIFICATE_V2, &signing_certificate),
        ];
        let refs: Vec<&[u8]> = attributes.iter().map(Vec::as_slice).collect();
        // Signed as a SET OF; carried as [0] IMPLICIT.
        let signed = der::set_of(&refs);
        let (signature_algorithm, signature) = self.key.sign(&signed)?;
        let mut implicit = signed.clone();
        implicit[0] = 0xa0;
        let signer = der::sequence(&[
            &der::uint(1),
            &der::sequence(&[&self.issuer, &self.serial]),
            &der::algorithm(SHA256),
            &implicit,
            &signature_algorithm,
            &der::octets(&signature),
        ]);
        let signed_data = der::sequence(&[
            &der::uint(1),
            &der::set_of(&[&der::algorithm(SHA256)]),
            &der::sequence(&[&der::oid(DATA)]),
            &der::context(
                0,
                &[&self.certificate[..]]
                    .into_iter()
                    .chain(self.chain.iter().map(Vec::as_slice))
                    .collect::<Vec<_>>()
                    .concat(),
            ),
            &der::set_of(&[&signer]),
        ]);
        Ok(der::sequence(&[
            &der::oid(SIGNED_DATA),
            &der::context(0, &signed_data),
        ]))
    }
}

/// A time as a PDF date (`D:YYYYMMDDHHmmSS+00'00'`), in UTC.
pub fn pdf_date(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("D:%Y%m%d%H%M%S+00'00'").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2026, 12, 3).unwrap()
    }

    #[test]
    fn a_self_signed_seal_names_its_certificate_and_reloads_from_its_parts() {
        let seal = Seal::self_signed("Northwind Digital", today()).unwrap();
        assert!(seal.self_signed);
        let again = Seal::from_der(seal.key_pkcs8(), seal.certificate(), true).unwrap();
        assert_eq!(again.fingerprint(), seal.fingerprint());
        assert_eq!(seal.fingerprint().len(), 64);
        // The issuer is the subject, the agency's name in it.
        let issuer = String::from_utf8_lossy(&seal.issuer);
        assert!(issuer.contains("Northwind Digital document seal (self-signed)"));
    }

    #[test]
    fn a_key_or_certificate_that_is_not_one_is_refused() {
        let seal = Seal::self_signed("Agency", today()).unwrap();
        assert!(matches!(
            Seal::from_der(b"not a key", seal.certificate(), false),
            Err(SealError::Key)
        ));
        assert!(matches!(
            Seal::from_der(seal.key_pkcs8(), b"not a certificate", false),
            Err(SealError::Certificate)
        ));
        // Each a real one, but not of each other.
        let other = Seal::self_signed("Agency", today()).unwrap();
        assert!(matches!(
            Seal::from_der(other.key_pkcs8(), seal.certificate(), false),
            Err(SealError::Mismatch)
        ));
    }

    #[test]
    fn the_byte_range_covers_all_but_the_signature() {
        let seal = Seal::self_signed("Agency", today()).unwrap();
        let document = Document {
            title: "t".into(),
            pages: vec![pdf::Page::default()],
        };
        let field = SealField {
            signer: "Agency".into(),
            reason: "r".into(),
            time: pdf_date(chrono::Utc::now()),
        };
        let sealed = seal.seal(&document, &field).unwrap();
        let text = String::from_utf8_lossy(&sealed);
        let start = text.find("/ByteRange [").unwrap() + "/ByteRange [".len();
        let numbers: Vec<usize> = text[start..start + 43]
            .split(' ')
            .map(|n| n.trim_end_matches(']').parse().unwrap())
            .collect();
        assert_eq!(numbers[0], 0);
        assert_eq!(numbers[2] + numbers[3], sealed.len());
        assert_eq!(sealed[numbers[1]], b'<');
        assert_eq!(sealed[numbers[2] - 1], b'>');
        // The signature is there, padded with zeros.
        assert_eq!(&sealed[numbers[1] + 1..numbers[1] + 3], b"30");
    }
}
