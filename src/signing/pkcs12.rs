//! The agency's seal as most certificate authorities and key stores hand it over: one PKCS#12
//! file (RFC 7292) and its password. Read here with the DER reader the seal already owns, the
//! password checked by the file's MAC, its bags decrypted with PBES2 (PBKDF2 and AES-CBC, what
//! OpenSSL 3, Windows' "AES256-SHA256" and current key stores write). The legacy encryptions
//! (RC2, RC4, triple DES) are refused with the command that rewrites the file.

use std::num::NonZeroU32;

use aes::cipher::{BlockModeDecrypt, KeyIvInit, block_padding::Pkcs7};
use ring::{digest, hmac, pbkdf2};

use super::der::{self, Element};

const DATA: &str = "1.2.840.113549.1.7.1";
const ENCRYPTED_DATA: &str = "1.2.840.113549.1.7.6";
const KEY_BAG: &str = "1.2.840.113549.1.12.10.1.1";
const SHROUDED_KEY_BAG: &str = "1.2.840.113549.1.12.10.1.2";
const CERT_BAG: &str = "1.2.840.113549.1.12.10.1.3";
const X509_CERTIFICATE: &str = "1.2.840.113549.1.9.22.1";
const SHA1: &str = "1.3.14.3.2.26";
const SHA256: &str = "2.16.840.1.101.3.4.2.1";
const SHA384: &str = "2.16.840.1.101.3.4.2.2";
const SHA512: &str = "2.16.840.1.101.3.4.2.3";
const PBMAC1: &str = "1.2.840.113549.1.5.14";
const PBES2: &str = "1.2.840.113549.1.5.13";
const PBKDF2: &str = "1.2.840.113549.1.5.12";
const HMAC_WITH_SHA1: &str = "1.2.840.113549.2.7";
const HMAC_WITH_SHA256: &str = "1.2.840.113549.2.9";
const HMAC_WITH_SHA384: &str = "1.2.840.113549.2.10";
const HMAC_WITH_SHA512: &str = "1.2.840.113549.2.11";
const AES_128_CBC: &str = "2.16.840.1.101.3.4.1.2";
const AES_192_CBC: &str = "2.16.840.1.101.3.4.1.22";
const AES_256_CBC: &str = "2.16.840.1.101.3.4.1.42";
/// PKCS#12's own password-based encryptions (RFC 7292, appendix C), and PBES1's.
const LEGACY: [(&str, &str); 9] = [
    ("1.2.840.113549.1.12.1.1", "128-bit RC4"),
    ("1.2.840.113549.1.12.1.2", "40-bit RC4"),
    ("1.2.840.113549.1.12.1.3", "triple DES"),
    ("1.2.840.113549.1.12.1.4", "two-key triple DES"),
    ("1.2.840.113549.1.12.1.5", "128-bit RC2"),
    ("1.2.840.113549.1.12.1.6", "40-bit RC2"),
    ("1.2.840.113549.1.5.3", "DES (PBES1)"),
    ("1.2.840.113549.1.5.10", "DES (PBES1)"),
    ("1.2.840.113549.1.5.11", "RC2 (PBES1)"),
];
/// More rounds than any key store writes: a file asking for more is not one to wait on.
const MOST_ITERATIONS: u32 = 10_000_000;

/// What the file holds: one private key (PKCS#8) and its certificates, in the file's order.
#[derive(Debug)]
pub struct Contents {
    pub key_pkcs8: Vec<u8>,
    pub certificates: Vec<Vec<u8>>,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Pkcs12Error {
    #[error("it is not a PKCS#12 file (.p12 or .pfx)")]
    NotPkcs12,
    #[error("the password does not open it")]
    Password,
    #[error(
        "it is encrypted with {0}, an algorithm too weak to read: write it again with AES \
         (`openssl pkcs12 -legacy -in old.p12 -nodes -out seal.pem`, then `openssl pkcs12 \
         -export -in seal.pem -out seal.p12` and delete seal.pem; or choose \"AES256-SHA256\" \
         when exporting from Windows)"
    )]
    Legacy(&'static str),
    #[error("it uses {0}, which the desk does not read")]
    Unsupported(&'static str),
    #[error(
        "it has no integrity check (MAC), so its password cannot be checked: export it with one"
    )]
    NoMac,
    #[error("it holds no private key")]
    NoKey,
    #[error("it holds more than one private key")]
    ManyKeys,
    #[error("it holds no certificate")]
    NoCertificate,
}

/// Opens `file` with `password`: the MAC checked first (so a wrong password is named as
/// such), then every bag read.
pub fn read(file: &[u8], password: &str) -> Result<Contents, Pkcs12Error> {
    use Pkcs12Error::NotPkcs12;
    let (pfx, _) = der::read(file).ok_or(NotPkcs12)?;
    let parts = sequence(&pfx)?;
    let [version, auth_safe, rest @ ..] = parts.as_slice() else {
        return Err(NotPkcs12);
    };
    if version.tag != 0x02 || version.contents != [3] {
        return Err(NotPkcs12);
    }
    let safe = content_info(auth_safe, DATA)?;
    // Without its MAC a wrong password could pass for a right one (or a changed file for the
    // one issued).
    let mac = rest.first().ok_or(Pkcs12Error::NoMac)?;
    check_mac(mac, &safe, password)?;
    let mut key = None;
    let mut certificates = Vec::new();
    let (all, _) = der::read(&safe).ok_or(NotPkcs12)?;
    for info in sequence(&all)? {
        let kind = children(&info)?;
        let bags = if kind.first().map(|k| k.whole) == Some(&der::oid(DATA)[..]) {
            content_info(&info, DATA)?
        } else if kind.first().map(|k| k.whole) == Some(&der::oid(ENCRYPTED_DATA)[..]) {
            encrypted_data(&info, password)?
        } else {
            continue;
        };
        let (bags, _) = der::read(&bags).ok_or(NotPkcs12)?;
        for bag in sequence(&bags)? {
            let parts = children(&bag)?;
            let [id, value, ..] = parts.as_slice() else {
                return Err(NotPkcs12);
            };
            let value = explicit(value)?;
            let found = if is(id, KEY_BAG) {
                Some(value.whole.to_vec())
            } else if is(id, SHROUDED_KEY_BAG) {
                let parts = children(&value)?;
                let [algorithm, data, ..] = parts.as_slice() else {
                    return Err(NotPkcs12);
                };
                Some(decrypt(algorithm, octets(data)?.as_slice(), password)?)
            } else {
                if is(id, CERT_BAG) {
                    let parts = children(&value)?;
                    if let [kind, certificate, ..] = parts.as_slice()
                        && is(kind, X509_CERTIFICATE)
                    {
                        certificates.push(octets(&explicit(certificate)?)?);
                    }
                }
                None
            };
            if let Some(found) = found {
                if key.is_some() {
                    return Err(Pkcs12Error::ManyKeys);
                }
                key = Some(found);
            }
        }
    }
    let key_pkcs8 = key.ok_or(Pkcs12Error::NoKey)?;
    if certificates.is_empty() {
        return Err(Pkcs12Error::NoCertificate);
    }
    Ok(Contents {
        key_pkcs8,
        certificates,
    })
}

fn is(element: &Element<'_>, dotted: &str) -> bool {
    element.tag == 0x06 && element.whole == der::oid(dotted)
}

fn children<'a>(element: &Element<'a>) -> Result<Vec<Element<'a>>, Pkcs12Error> {
    der::children(element.contents).ok_or(Pkcs12Error::NotPkcs12)
}

fn sequence<'a>(element: &Element<'a>) -> Result<Vec<Element<'a>>, Pkcs12Error> {
    if element.tag != 0x30 {
        return Err(Pkcs12Error::NotPkcs12);
    }
    children(element)
}

/// The one element inside an EXPLICIT `[0]`.
fn explicit<'a>(element: &Element<'a>) -> Result<Element<'a>, Pkcs12Error> {
    if element.tag != 0xa0 {
        return Err(Pkcs12Error::NotPkcs12);
    }
    match der::read(element.contents) {
        Some((inner, [])) => Ok(inner),
        _ => Err(Pkcs12Error::NotPkcs12),
    }
}

/// An OCTET STRING's bytes, primitive or (as BER writers split it) constructed.
fn octets(element: &Element<'_>) -> Result<Vec<u8>, Pkcs12Error> {
    match element.tag {
        0x04 | 0x80 => Ok(element.contents.to_vec()),
        0x24 | 0xa0 => {
            let mut out = Vec::new();
            for part in children(element)? {
                out.extend(octets(&part)?);
            }
            Ok(out)
        }
        _ => Err(Pkcs12Error::NotPkcs12),
    }
}

fn uint(element: &Element<'_>) -> Result<u32, Pkcs12Error> {
    let digits = element.contents;
    if element.tag != 0x02 || digits.is_empty() || digits[0] & 0x80 != 0 {
        return Err(Pkcs12Error::NotPkcs12);
    }
    let start = digits.iter().take_while(|d| **d == 0).count();
    if digits.len() - start > 4 {
        return Err(Pkcs12Error::NotPkcs12);
    }
    Ok(digits[start..]
        .iter()
        .fold(0u32, |n, d| (n << 8) | u32::from(*d)))
}

fn iterations(element: &Element<'_>) -> Result<NonZeroU32, Pkcs12Error> {
    let n = uint(element)?;
    if n > MOST_ITERATIONS {
        return Err(Pkcs12Error::Unsupported(
            "more key-derivation rounds than any key store writes",
        ));
    }
    NonZeroU32::new(n).ok_or(Pkcs12Error::NotPkcs12)
}

/// The bytes of a ContentInfo of type `kind` (`[0] EXPLICIT OCTET STRING`).
fn content_info(element: &Element<'_>, kind: &str) -> Result<Vec<u8>, Pkcs12Error> {
    let parts = sequence(element)?;
    match parts.as_slice() {
        [id, content, ..] if is(id, kind) => octets(&explicit(content)?),
        _ => Err(Pkcs12Error::NotPkcs12),
    }
}

/// The plaintext of an EncryptedData ContentInfo (RFC 5652, 8).
fn encrypted_data(element: &Element<'_>, password: &str) -> Result<Vec<u8>, Pkcs12Error> {
    let parts = sequence(element)?;
    let [_, content, ..] = parts.as_slice() else {
        return Err(Pkcs12Error::NotPkcs12);
    };
    let data = sequence(&explicit(content)?)?;
    let [_version, info, ..] = data.as_slice() else {
        return Err(Pkcs12Error::NotPkcs12);
    };
    let info = sequence(info)?;
    let [_kind, algorithm, encrypted, ..] = info.as_slice() else {
        return Err(Pkcs12Error::NotPkcs12);
    };
    decrypt(algorithm, &octets(encrypted)?, password)
}

/// Decrypts `data` with the password-based encryption `algorithm` names.
fn decrypt(algorithm: &Element<'_>, data: &[u8], password: &str) -> Result<Vec<u8>, Pkcs12Error> {
    let parts = sequence(algorithm)?;
    let [id, params, ..] = parts.as_slice() else {
        return Err(Pkcs12Error::NotPkcs12);
    };
    if let Some((_, name)) = LEGACY.iter().find(|(oid, _)| is(id, oid)) {
        return Err(Pkcs12Error::Legacy(name));
    }
    if !is(id, PBES2) {
        return Err(Pkcs12Error::Unsupported("an unknown encryption"));
    }
    let params = sequence(params)?;
    let [kdf, scheme, ..] = params.as_slice() else {
        return Err(Pkcs12Error::NotPkcs12);
    };
    let kdf = sequence(kdf)?;
    let [kdf_id, kdf_params, ..] = kdf.as_slice() else {
        return Err(Pkcs12Error::NotPkcs12);
    };
    if !is(kdf_id, PBKDF2) {
        return Err(Pkcs12Error::Unsupported(
            "a key derivation other than PBKDF2",
        ));
    }
    let kdf_params = sequence(kdf_params)?;
    let [salt, rounds, more @ ..] = kdf_params.as_slice() else {
        return Err(Pkcs12Error::NotPkcs12);
    };
    if salt.tag != 0x04 {
        return Err(Pkcs12Error::Unsupported(
            "a PBKDF2 salt chosen by algorithm",
        ));
    }
    // keyLength (an INTEGER) may come before the pseudo-random function; HMAC-SHA1 when absent.
    let prf = match more.iter().find(|e| e.tag == 0x30) {
        None => pbkdf2::PBKDF2_HMAC_SHA1,
        Some(prf) => {
            let prf = sequence(prf)?;
            match prf.first() {
                Some(id) if is(id, HMAC_WITH_SHA1) => pbkdf2::PBKDF2_HMAC_SHA1,
                Some(id) if is(id, HMAC_WITH_SHA256) => pbkdf2::PBKDF2_HMAC_SHA256,
                Some(id) if is(id, HMAC_WITH_SHA384) => pbkdf2::PBKDF2_HMAC_SHA384,
                Some(id) if is(id, HMAC_WITH_SHA512) => pbkdf2::PBKDF2_HMAC_SHA512,
                _ => return Err(Pkcs12Error::Unsupported("an unknown PBKDF2 function")),
            }
        }
    };
    let scheme = sequence(scheme)?;
    let [cipher, iv, ..] = scheme.as_slice() else {
        return Err(Pkcs12Error::NotPkcs12);
    };
    let key_len = if is(cipher, AES_128_CBC) {
        16
    } else if is(cipher, AES_192_CBC) {
        24
    } else if is(cipher, AES_256_CBC) {
        32
    } else {
        return Err(Pkcs12Error::Unsupported("a cipher other than AES-CBC"));
    };
    if iv.tag != 0x04
        || iv.contents.len() != 16
        || data.is_empty()
        || !data.len().is_multiple_of(16)
    {
        return Err(Pkcs12Error::NotPkcs12);
    }
    let mut key = vec![0u8; key_len];
    pbkdf2::derive(
        prf,
        iterations(rounds)?,
        salt.contents,
        password.as_bytes(),
        &mut key,
    );
    let mut buffer = data.to_vec();
    let plain = match key_len {
        16 => cbc_decrypt::<aes::Aes128>(&key, iv.contents, &mut buffer),
        24 => cbc_decrypt::<aes::Aes192>(&key, iv.contents, &mut buffer),
        _ => cbc_decrypt::<aes::Aes256>(&key, iv.contents, &mut buffer),
    };
    // Without a MAC (rare), a wrong password shows here, as padding that is not.
    plain.ok_or(Pkcs12Error::Password)
}

fn cbc_decrypt<C>(key: &[u8], iv: &[u8], buffer: &mut [u8]) -> Option<Vec<u8>>
where
    C: aes::cipher::BlockCipherDecrypt + aes::cipher::KeyInit,
    cbc::Decryptor<C>: KeyIvInit + BlockModeDecrypt,
{
    let decryptor = cbc::Decryptor::<C>::new_from_slices(key, iv).ok()?;
    decryptor
        .decrypt_padded::<Pkcs7>(buffer)
        .ok()
        .map(<[u8]>::to_vec)
}

/// Checks MacData (RFC 7292, 4) over the authenticated safe: HMAC with a key derived from the
/// password by PKCS#12's own function.
fn check_mac(mac: &Element<'_>, safe: &[u8], password: &str) -> Result<(), Pkcs12Error> {
    let parts = sequence(mac)?;
    let [digest_info, salt, rest @ ..] = parts.as_slice() else {
        return Err(Pkcs12Error::NotPkcs12);
    };
    let digest_info = sequence(digest_info)?;
    let [algorithm, expected, ..] = digest_info.as_slice() else {
        return Err(Pkcs12Error::NotPkcs12);
    };
    let algorithm = sequence(algorithm)?;
    let (hash, mac_algorithm) = match algorithm.first() {
        Some(id) if is(id, SHA1) => (
            &digest::SHA1_FOR_LEGACY_USE_ONLY,
            hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        ),
        Some(id) if is(id, SHA256) => (&digest::SHA256, hmac::HMAC_SHA256),
        Some(id) if is(id, SHA384) => (&digest::SHA384, hmac::HMAC_SHA384),
        Some(id) if is(id, SHA512) => (&digest::SHA512, hmac::HMAC_SHA512),
        Some(id) if is(id, PBMAC1) => {
            return Err(Pkcs12Error::Unsupported("a PBMAC1 integrity check"));
        }
        _ => return Err(Pkcs12Error::Unsupported("an unknown integrity check")),
    };
    let rounds = match rest.first() {
        Some(n) => iterations(n)?,
        None => NonZeroU32::MIN,
    };
    if salt.tag != 0x04 || expected.tag != 0x04 {
        return Err(Pkcs12Error::NotPkcs12);
    }
    let holds = |password: &[u8]| {
        let key = derive(
            hash,
            3,
            password,
            salt.contents,
            rounds.get(),
            hash.output_len(),
        );
        hmac::verify(
            &hmac::Key::new(mac_algorithm, &key),
            safe,
            expected.contents,
        )
        .is_ok()
    };
    // An empty password is written by some tools as an empty BMPString (its terminator only),
    // by others as no password at all: OpenSSL tries both, and so does the desk.
    if holds(&bmp(password)) || (password.is_empty() && holds(&[])) {
        Ok(())
    } else {
        Err(Pkcs12Error::Password)
    }
}

/// A password as PKCS#12 hashes it: a BMPString (UTF-16, big-endian) with its terminating zero.
fn bmp(password: &str) -> Vec<u8> {
    password
        .encode_utf16()
        .chain(std::iter::once(0))
        .flat_map(u16::to_be_bytes)
        .collect()
}

/// PKCS#12's key derivation (RFC 7292, appendix B.2): `n` bytes for purpose `id` (1 a key,
/// 2 an IV, 3 a MAC key).
fn derive(
    hash: &'static digest::Algorithm,
    id: u8,
    password: &[u8],
    salt: &[u8],
    rounds: u32,
    n: usize,
) -> Vec<u8> {
    let v = hash.block_len();
    let stretch = |s: &[u8]| -> Vec<u8> {
        s.iter()
            .cycle()
            .take(v * s.len().div_ceil(v))
            .copied()
            .collect()
    };
    let mut input = [stretch(salt), stretch(password)].concat();
    let diversifier = vec![id; v];
    let mut out = Vec::with_capacity(n + hash.output_len());
    loop {
        let mut context = digest::Context::new(hash);
        context.update(&diversifier);
        context.update(&input);
        let mut a = context.finish().as_ref().to_vec();
        for _ in 1..rounds {
            a = digest::digest(hash, &a).as_ref().to_vec();
        }
        out.extend_from_slice(&a);
        if out.len() >= n {
            out.truncate(n);
            return out;
        }
        // Each v-byte block of the input becomes (block + B + 1) mod 2^(8v), B being A
        // repeated to v bytes.
        let b: Vec<u8> = a.iter().cycle().take(v).copied().collect();
        for block in input.chunks_mut(v) {
            let mut carry = 1u16;
            for (byte, add) in block.iter_mut().zip(&b).rev() {
                let sum = u16::from(*byte) + u16::from(*add) + carry;
                *byte = (sum & 0xff) as u8;
                carry = sum >> 8;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/seal")
            .join(name);
        std::fs::read(path).unwrap()
    }

    const PASSWORD: &str = "correct horse";

    #[test]
    fn an_openssl_3_file_opens_to_its_key_and_certificate() {
        let contents = read(&fixture("p256.p12"), PASSWORD).unwrap();
        assert_eq!(contents.certificates.len(), 1);
        // The PKCS#8 key is a P-256 one ring reads.
        ring::signature::EcdsaKeyPair::from_pkcs8(
            &ring::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            &contents.key_pkcs8,
            &ring::rand::SystemRandom::new(),
        )
        .unwrap();
        let subject = String::from_utf8_lossy(&contents.certificates[0]).into_owned();
        assert!(subject.contains("Northwind Digital document seal (P-256)"));
    }

    #[test]
    fn a_chain_a_sha1_mac_and_unencrypted_bags_are_read() {
        let chain = read(&fixture("rsa-chain.p12"), PASSWORD).unwrap();
        assert_eq!(chain.certificates.len(), 2);
        ring::signature::RsaKeyPair::from_pkcs8(&chain.key_pkcs8).unwrap();
        let plain = read(&fixture("plain.p12"), PASSWORD).unwrap();
        assert_eq!(plain.certificates.len(), 1);
        let sha512 = read(&fixture("sha512.p12"), PASSWORD).unwrap();
        assert_eq!(sha512.certificates.len(), 1);
        let empty = read(&fixture("empty.p12"), "").unwrap();
        assert_eq!(empty.certificates.len(), 1);
        assert_eq!(
            read(&fixture("empty.p12"), PASSWORD).unwrap_err(),
            Pkcs12Error::Password
        );
    }

    #[test]
    fn a_wrong_password_is_named_as_such() {
        for name in ["p256.p12", "rsa-chain.p12", "plain.p12", "legacy.p12"] {
            assert_eq!(
                read(&fixture(name), "wrong").unwrap_err(),
                Pkcs12Error::Password,
                "{name}"
            );
        }
        assert_eq!(
            read(&fixture("p256.p12"), "").unwrap_err(),
            Pkcs12Error::Password
        );
    }

    #[test]
    fn legacy_encryption_is_refused_with_how_to_rewrite_it() {
        let refused = read(&fixture("legacy.p12"), PASSWORD).unwrap_err();
        assert!(matches!(refused, Pkcs12Error::Legacy(_)), "{refused}");
        assert!(refused.to_string().contains("openssl pkcs12"), "{refused}");
    }

    #[test]
    fn a_file_without_its_mac_is_refused() {
        assert_eq!(
            read(&fixture("nomac.p12"), PASSWORD).unwrap_err(),
            Pkcs12Error::NoMac
        );
    }

    #[test]
    fn what_is_not_a_pkcs12_file_says_so() {
        let file = fixture("p256.p12");
        for broken in [
            &b""[..],
            b"-----BEGIN CERTIFICATE-----",
            &file[..file.len() / 2],
            &[0x30, 3, 0x02, 1, 2],
        ] {
            assert_eq!(read(broken, PASSWORD).unwrap_err(), Pkcs12Error::NotPkcs12);
        }
        // One byte changed inside: the MAC no longer holds.
        let mut changed = file.clone();
        let middle = changed.len() / 2;
        changed[middle] ^= 1;
        assert!(read(&changed, PASSWORD).is_err());
    }

    #[test]
    fn the_key_derivation_matches_the_published_vector() {
        // RFC 7292 has none; this is the vector OpenSSL's and BouncyCastle's test suites share
        // (SHA-1, ID 1, password "smeg", salt 0A58CF64530D823F, one round, 24 bytes).
        let key = derive(
            &digest::SHA1_FOR_LEGACY_USE_ONLY,
            1,
            &bmp("smeg"),
            &[0x0A, 0x58, 0xCF, 0x64, 0x53, 0x0D, 0x82, 0x3F],
            1,
            24,
        );
        assert_eq!(
            crate::auth::token::to_hex(&key),
            "8aaae6297b6cb04642ab5b077851284eb7128f1a2a7fbca3"
        );
    }

    #[test]
    fn a_password_is_hashed_as_a_terminated_bmp_string() {
        assert_eq!(bmp(""), [0, 0]);
        assert_eq!(bmp("aé"), [0, b'a', 0, 0xe9, 0, 0]);
    }
}
