//! The few DER encodings a CMS signature needs, written and read by hand: the structures are
//! small and fixed (RFC 5652), and owning them keeps a second ASN.1 stack out of the tree.

/// One DER element: tag, definite length, contents.
pub fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(contents.len() + 6);
    out.push(tag);
    let len = contents.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(contents);
    out
}

pub fn sequence(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

/// A SET OF: DER orders its elements by their encodings.
pub fn set_of(parts: &[&[u8]]) -> Vec<u8> {
    let mut sorted: Vec<&[u8]> = parts.to_vec();
    sorted.sort();
    tlv(0x31, &sorted.concat())
}

/// A non-negative INTEGER.
pub fn uint(value: u64) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count().min(7);
    let mut contents = bytes[skip..].to_vec();
    if contents[0] & 0x80 != 0 {
        contents.insert(0, 0);
    }
    tlv(0x02, &contents)
}

pub fn octets(bytes: &[u8]) -> Vec<u8> {
    tlv(0x04, bytes)
}

/// An OBJECT IDENTIFIER from its dotted form.
pub fn oid(dotted: &str) -> Vec<u8> {
    let arcs: Vec<u64> = dotted
        .split('.')
        .map(|a| a.parse().expect("an OID's arcs are numbers"))
        .collect();
    assert!(
        arcs.len() >= 2 && arcs[0] <= 2,
        "an OID has two arcs at least"
    );
    let mut contents = Vec::new();
    for arc in std::iter::once(arcs[0] * 40 + arcs[1]).chain(arcs[2..].iter().copied()) {
        let mut chunk = vec![(arc & 0x7f) as u8];
        let mut rest = arc >> 7;
        while rest > 0 {
            chunk.insert(0, 0x80 | (rest & 0x7f) as u8);
            rest >>= 7;
        }
        contents.extend(chunk);
    }
    tlv(0x06, &contents)
}

/// A context-specific constructed tag `[n]` around `contents` (EXPLICIT, or IMPLICIT over
/// a constructed type whose own tag is replaced).
pub fn context(n: u8, contents: &[u8]) -> Vec<u8> {
    tlv(0xa0 | n, contents)
}

/// An AlgorithmIdentifier without parameters.
pub fn algorithm(dotted: &str) -> Vec<u8> {
    sequence(&[&oid(dotted)])
}

/// A DER element being read: its tag, its contents and all of its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Element<'a> {
    pub tag: u8,
    pub contents: &'a [u8],
    pub whole: &'a [u8],
}

/// Reads the element at the start of `bytes`, and what follows it.
pub fn read(bytes: &[u8]) -> Option<(Element<'_>, &[u8])> {
    let (&tag, rest) = bytes.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    let header = bytes.len() - rest.len();
    Some((
        Element {
            tag,
            contents: &rest[..len],
            whole: &bytes[..header + len],
        },
        &rest[len..],
    ))
}

/// The elements inside a constructed element, in order.
pub fn children(contents: &[u8]) -> Option<Vec<Element<'_>>> {
    let mut out = Vec::new();
    let mut rest = contents;
    while !rest.is_empty() {
        let (element, next) = read(rest)?;
        out.push(element);
        rest = next;
    }
    Some(out)
}

/// A certificate's issuer (its Name, as encoded) and serial number (its INTEGER, as encoded):
/// what a CMS signer names its certificate by.
pub fn issuer_and_serial(certificate: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let (cert, _) = read(certificate)?;
    let parts = children(cert.contents)?;
    let tbs = children(parts.first()?.contents)?;
    // An explicit version ([0]) comes first when present.
    let at = usize::from(tbs.first()?.tag == 0xa0);
    let serial = tbs.get(at)?;
    let issuer = tbs.get(at + 2)?;
    (serial.tag == 0x02 && issuer.tag == 0x30)
        .then(|| (issuer.whole.to_vec(), serial.whole.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_short_or_long_form_at_every_boundary() {
        for (len, header) in [
            (0usize, vec![0x04, 0]),
            (127, vec![0x04, 127]),
            (128, vec![0x04, 0x81, 128]),
            (255, vec![0x04, 0x81, 255]),
            (256, vec![0x04, 0x82, 1, 0]),
            (70_000, vec![0x04, 0x83, 0x01, 0x11, 0x70]),
        ] {
            let encoded = octets(&vec![7u8; len]);
            assert_eq!(&encoded[..header.len()], &header[..], "length {len}");
            assert_eq!(encoded.len(), header.len() + len);
            let (element, rest) = read(&encoded).expect("reads back");
            assert_eq!((element.tag, element.contents.len()), (0x04, len));
            assert!(rest.is_empty());
        }
    }

    #[test]
    fn integers_are_minimal_and_never_negative() {
        assert_eq!(uint(0), [0x02, 1, 0]);
        assert_eq!(uint(1), [0x02, 1, 1]);
        assert_eq!(uint(127), [0x02, 1, 127]);
        assert_eq!(uint(128), [0x02, 2, 0, 128]);
        assert_eq!(uint(256), [0x02, 2, 1, 0]);
        assert_eq!(
            uint(u64::MAX),
            [0x02, 9, 0, 255, 255, 255, 255, 255, 255, 255, 255]
        );
    }

    #[test]
    fn object_identifiers_encode_as_published() {
        // sha256 and signedData, as RFC 5754 and RFC 5652 print them.
        assert_eq!(
            oid("2.16.840.1.101.3.4.2.1"),
            [
                0x06, 9, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01
            ]
        );
        assert_eq!(
            oid("1.2.840.113549.1.7.2"),
            [
                0x06, 9, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02
            ]
        );
    }

    #[test]
    fn a_set_is_ordered_by_its_elements_encodings() {
        let (b, a) = (octets(b"b"), octets(b"a"));
        assert_eq!(set_of(&[&b, &a]), set_of(&[&a, &b]));
        assert_eq!(&set_of(&[&b, &a])[2..5], &a[..]);
    }

    #[test]
    fn truncated_or_overlong_input_reads_as_nothing() {
        assert_eq!(read(&[]), None);
        assert_eq!(read(&[0x04]), None);
        assert_eq!(read(&[0x04, 3, 1, 2]), None);
        assert_eq!(read(&[0x04, 0x85, 1, 1, 1, 1, 1]), None);
        assert_eq!(read(&[0x04, 0x80]), None);
        assert_eq!(children(&[0x04, 1, 9, 0x04]), None);
    }
}
