//! Weak-TLS probing with a hand-made ClientHello, and the names in an X.509
//! certificate. rustls cannot offer TLS 1.0/1.1 or legacy suites, and
//! OpenSSL 3 cannot offer 3DES or RC4 at all, so a probe writes its own
//! ClientHello and reads only the ServerHello or the alert; the handshake is
//! never finished. Everything here is bounds-checked: a hostile peer gets an
//! error, never a panic or a large allocation.

use std::io::{self, Read, Write};

pub const TLS10: u16 = 0x0301;
pub const TLS11: u16 = 0x0302;
pub const TLS12: u16 = 0x0303;

/// What a server answered to one ClientHello.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HelloAnswer {
    /// A ServerHello: the version and cipher suite the server chose.
    Accepted { version: u16, suite: u16 },
    /// A TLS alert (level, description).
    Alert { level: u8, description: u8 },
    /// The peer answered something that is not TLS (e.g. "HTTP/1.1 400").
    NotTls,
    /// The peer closed the connection without answering.
    Closed,
}

/// The cipher suites kube-scheduler's `--tls-cipher-suites` accepts (Go's
/// `CipherSuites()` and `InsecureCipherSuites()`), with their IANA ids.
pub const SUITES: &[(&str, u16)] = &[
    ("TLS_RSA_WITH_RC4_128_SHA", 0x0005),
    ("TLS_RSA_WITH_3DES_EDE_CBC_SHA", 0x000a),
    ("TLS_RSA_WITH_AES_128_CBC_SHA", 0x002f),
    ("TLS_RSA_WITH_AES_256_CBC_SHA", 0x0035),
    ("TLS_RSA_WITH_AES_128_CBC_SHA256", 0x003c),
    ("TLS_RSA_WITH_AES_128_GCM_SHA256", 0x009c),
    ("TLS_RSA_WITH_AES_256_GCM_SHA384", 0x009d),
    ("TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", 0xc007),
    ("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", 0xc009),
    ("TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", 0xc00a),
    ("TLS_ECDHE_RSA_WITH_RC4_128_SHA", 0xc011),
    ("TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", 0xc012),
    ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", 0xc013),
    ("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", 0xc014),
    ("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", 0xc023),
    ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", 0xc027),
    ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 0xc02f),
    ("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", 0xc02b),
    ("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", 0xc030),
    ("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", 0xc02c),
    ("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", 0xcca8),
    ("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", 0xcca9),
    ("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305", 0xcca8),
    ("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305", 0xcca9),
    ("TLS_AES_128_GCM_SHA256", 0x1301),
    ("TLS_AES_256_GCM_SHA384", 0x1302),
    ("TLS_CHACHA20_POLY1305_SHA256", 0x1303),
];

/// Go's insecure list (Go 1.22 and newer): RC4, 3DES, RSA key exchange and
/// the CBC-SHA256 suites.
pub const INSECURE_SUITES: &[u16] = &[
    0x0005, 0x000a, 0x002f, 0x0035, 0x003c, 0x009c, 0x009d, 0xc007, 0xc011, 0xc012, 0xc023, 0xc027,
];

/// Suites offered when asking whether TLS 1.0 or 1.1 is accepted at all:
/// the CBC-SHA suites those versions use, ECDHE and RSA.
pub const LEGACY_VERSION_SUITES: &[u16] = &[
    0xc013, 0xc014, 0xc009, 0xc00a, 0x002f, 0x0035, 0x000a, 0xc012,
];

/// The Go name of a suite (the first name, for suites with aliases).
pub fn suite_name(id: u16) -> Option<&'static str> {
    SUITES.iter().find(|(_, i)| *i == id).map(|(n, _)| *n)
}

pub fn suite_id(name: &str) -> Option<u16> {
    SUITES.iter().find(|(n, _)| *n == name).map(|(_, i)| *i)
}

/// Random bytes good enough for a probe's ClientHello (not for keys).
fn probe_random() -> [u8; 32] {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut state = nanos ^ COUNTER.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed);
    let mut out = [0u8; 32];
    for chunk in out.chunks_mut(8) {
        // xorshift64*
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let v = state.wrapping_mul(0x2545_f491_4f6c_dd1d);
        chunk.copy_from_slice(&v.to_be_bytes()[..chunk.len()]);
    }
    out
}

fn push_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Appends `body` prefixed by its length in `width` bytes (1, 2 or 3).
fn push_vec(out: &mut Vec<u8>, width: usize, body: &[u8]) {
    let len = body.len() as u32;
    out.extend_from_slice(&len.to_be_bytes()[4 - width..]);
    out.extend_from_slice(body);
}

fn extension(out: &mut Vec<u8>, kind: u16, body: &[u8]) {
    push_u16(out, kind);
    push_vec(out, 2, body);
}

/// A ClientHello record offering `version` and `suites` (plus the
/// renegotiation SCSV), with the extensions a Go server needs to pick ECDHE.
pub fn client_hello(version: u16, suites: &[u16], server_name: Option<&str>) -> Vec<u8> {
    let mut hello = Vec::new();
    push_u16(&mut hello, version);
    hello.extend_from_slice(&probe_random());
    push_vec(&mut hello, 1, &[]); // session id
    let mut list = Vec::new();
    for suite in suites.iter().chain([&0x00ffu16]) {
        push_u16(&mut list, *suite);
    }
    push_vec(&mut hello, 2, &list);
    push_vec(&mut hello, 1, &[0]); // null compression

    let mut extensions = Vec::new();
    if let Some(name) =
        server_name.filter(|n| n.parse::<std::net::IpAddr>().is_err() && !n.is_empty())
    {
        let mut entry = vec![0u8]; // host_name
        push_vec(&mut entry, 2, name.as_bytes());
        let mut list = Vec::new();
        push_vec(&mut list, 2, &entry);
        extension(&mut extensions, 0x0000, &list);
    }
    let mut groups = Vec::new();
    for group in [0x001du16, 0x0017, 0x0018] {
        push_u16(&mut groups, group);
    }
    let mut body = Vec::new();
    push_vec(&mut body, 2, &groups);
    extension(&mut extensions, 0x000a, &body); // supported_groups
    extension(&mut extensions, 0x000b, &[1, 0]); // ec_point_formats: uncompressed
    let mut schemes = Vec::new();
    for scheme in [
        0x0403u16, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0201, 0x0203,
    ] {
        push_u16(&mut schemes, scheme);
    }
    let mut body = Vec::new();
    push_vec(&mut body, 2, &schemes);
    extension(&mut extensions, 0x000d, &body); // signature_algorithms
    push_vec(&mut hello, 2, &extensions);

    let mut handshake = vec![1u8]; // client_hello
    push_vec(&mut handshake, 3, &hello);
    let mut record = vec![22u8];
    push_u16(&mut record, TLS10);
    push_vec(&mut record, 2, &handshake);
    record
}

/// The largest TLS record body accepted (2^14 plus expansion room).
const MAX_RECORD: usize = (1 << 14) + 2048;

/// Reads one TLS record: (type, body). `Ok(None)` at a clean end of stream.
fn read_record(stream: &mut impl Read) -> io::Result<Option<(u8, Vec<u8>)>> {
    let mut header = [0u8; 5];
    let mut filled = 0;
    while filled < header.len() {
        let n = stream.read(&mut header[filled..])?;
        if n == 0 {
            return if filled == 0 {
                Ok(None)
            } else {
                Err(io::ErrorKind::UnexpectedEof.into())
            };
        }
        filled += n;
    }
    let kind = header[0];
    let major = header[1];
    let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
    if !(20..=24).contains(&kind) || major != 3 || len > MAX_RECORD {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "not TLS"));
    }
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body)?;
    Ok(Some((kind, body)))
}

/// Writes a ClientHello and reads the first answer. The caller sets
/// timeouts on the stream; at most the first handshake message (or one
/// alert) is read.
pub fn offer<S: Read + Write>(
    stream: &mut S,
    version: u16,
    suites: &[u16],
    server_name: Option<&str>,
) -> io::Result<HelloAnswer> {
    stream.write_all(&client_hello(version, suites, server_name))?;
    stream.flush()?;

    let mut handshake = Vec::new();
    loop {
        let record = match read_record(stream) {
            Ok(Some(record)) => record,
            Ok(None) => return Ok(HelloAnswer::Closed),
            Err(e) if e.kind() == io::ErrorKind::InvalidData => return Ok(HelloAnswer::NotTls),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(HelloAnswer::Closed),
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Ok(HelloAnswer::Closed),
            Err(e) => return Err(e),
        };
        match record {
            (21, body) if body.len() >= 2 => {
                return Ok(HelloAnswer::Alert {
                    level: body[0],
                    description: body[1],
                })
            }
            (22, body) => {
                handshake.extend_from_slice(&body);
                if handshake.len() > MAX_RECORD * 2 {
                    return Ok(HelloAnswer::NotTls);
                }
                if let Some(answer) = server_hello(&handshake) {
                    return Ok(answer);
                }
            }
            _ => return Ok(HelloAnswer::NotTls),
        }
    }
}

/// Reads version and suite from a (possibly partial) handshake stream that
/// starts with a ServerHello; `None` while more bytes are needed.
fn server_hello(bytes: &[u8]) -> Option<HelloAnswer> {
    if bytes.first() != Some(&2) {
        return Some(HelloAnswer::NotTls);
    }
    // type(1) length(3) version(2) random(32) session_id_len(1)
    let session_len = usize::from(*bytes.get(38)?);
    let at = 39 + session_len;
    let version = u16::from_be_bytes([*bytes.get(4)?, *bytes.get(5)?]);
    let suite = u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]);
    Some(HelloAnswer::Accepted { version, suite })
}

/// A DER element: (tag, contents, rest after it).
fn der(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *input.first()?;
    let first = *input.get(1)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..count {
            len = (len << 8) | usize::from(*input.get(2 + i)?);
        }
        (len, 2 + count)
    };
    let end = header.checked_add(len)?;
    let contents = input.get(header..end)?;
    Some((tag, contents, &input[end..]))
}

fn oid_name(oid: &[u8]) -> String {
    match oid {
        [0x55, 0x04, 0x03] => "CN".into(),
        [0x55, 0x04, 0x0a] => "O".into(),
        [0x55, 0x04, 0x0b] => "OU".into(),
        [0x55, 0x04, 0x06] => "C".into(),
        [0x55, 0x04, 0x07] => "L".into(),
        [0x55, 0x04, 0x08] => "ST".into(),
        [0x55, 0x04, 0x05] => "serialNumber".into(),
        _ => dotted(oid),
    }
}

fn dotted(oid: &[u8]) -> String {
    let mut parts = Vec::new();
    let mut value: u64 = 0;
    for (i, byte) in oid.iter().enumerate() {
        value = (value << 7) | u64::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            if parts.is_empty() {
                let first = (value / 40).min(2);
                parts.push(first.to_string());
                parts.push((value - first * 40).to_string());
            } else {
                parts.push(value.to_string());
            }
            value = 0;
        } else if i == oid.len() - 1 || value > u64::MAX >> 7 {
            return "?".into();
        }
    }
    parts.join(".")
}

/// A Name as `CN=...,O=...`, attributes in certificate order.
fn name(contents: &[u8]) -> Option<String> {
    let mut parts = Vec::new();
    let mut rest = contents;
    while !rest.is_empty() {
        let (tag, set, after) = der(rest)?;
        if tag != 0x31 {
            return None;
        }
        rest = after;
        let mut attributes = set;
        while !attributes.is_empty() {
            let (tag, pair, after) = der(attributes)?;
            if tag != 0x30 {
                return None;
            }
            attributes = after;
            let (oid_tag, oid, value) = der(pair)?;
            let (_, text, _) = der(value)?;
            if oid_tag != 0x06 {
                return None;
            }
            parts.push(format!(
                "{}={}",
                oid_name(oid),
                String::from_utf8_lossy(text)
            ));
        }
    }
    Some(parts.join(","))
}

/// The subject and issuer of a DER certificate, as `CN=...,O=...`.
pub fn certificate_names(certificate: &[u8]) -> Option<(String, String)> {
    let (tag, cert, _) = der(certificate)?;
    if tag != 0x30 {
        return None;
    }
    let (tag, tbs, _) = der(cert)?;
    if tag != 0x30 {
        return None;
    }
    let mut rest = tbs;
    let (tag, _, after) = der(rest)?;
    if tag == 0xa0 {
        rest = after; // explicit version
    }
    let (_, _, rest) = der(rest)?; // serialNumber
    let (_, _, rest) = der(rest)?; // signature
    let (tag, issuer, rest) = der(rest)?;
    if tag != 0x30 {
        return None;
    }
    let (_, _, rest) = der(rest)?; // validity
    let (tag, subject, _) = der(rest)?;
    if tag != 0x30 {
        return None;
    }
    Some((name(subject)?, name(issuer)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// A stream that yields canned bytes and swallows what is written.
    struct Canned(Cursor<Vec<u8>>);

    impl Read for Canned {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.0.read(buf)
        }
    }

    impl Write for Canned {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn answer(bytes: &[u8]) -> io::Result<HelloAnswer> {
        offer(
            &mut Canned(Cursor::new(bytes.to_vec())),
            TLS12,
            &[0x000a],
            None,
        )
    }

    fn server_hello_record(version: u16, suite: u16) -> Vec<u8> {
        let mut body = vec![2, 0, 0, 38];
        body.extend_from_slice(&version.to_be_bytes());
        body.extend_from_slice(&[7; 32]);
        body.push(0); // empty session id
        body.extend_from_slice(&suite.to_be_bytes());
        body.push(0);
        let mut record = vec![22, 3, 3];
        record.extend_from_slice(&(body.len() as u16).to_be_bytes());
        record.extend_from_slice(&body);
        record
    }

    #[test]
    fn client_hello_lengths_are_consistent_and_carry_the_scsv() {
        let hello = client_hello(TLS11, &[0x002f, 0xc013], Some("localhost"));
        assert_eq!(hello[0], 22);
        let record_len = usize::from(u16::from_be_bytes([hello[3], hello[4]]));
        assert_eq!(record_len, hello.len() - 5);
        let handshake_len =
            (usize::from(hello[6]) << 16) | (usize::from(hello[7]) << 8) | usize::from(hello[8]);
        assert_eq!(handshake_len, record_len - 4);
        assert_eq!(&hello[9..11], &TLS11.to_be_bytes());
        let suites_len = usize::from(u16::from_be_bytes([hello[44], hello[45]]));
        assert_eq!(suites_len, 6);
        assert_eq!(&hello[46..52], &[0x00, 0x2f, 0xc0, 0x13, 0x00, 0xff]);
        assert!(hello.windows(9).any(|w| w == b"localhost"));
    }

    #[test]
    fn no_server_name_for_ip_addresses() {
        let hello = client_hello(TLS12, &[0x002f], Some("127.0.0.1"));
        assert!(!hello.windows(9).any(|w| w == b"127.0.0.1"));
    }

    #[test]
    fn server_hello_gives_version_and_suite() {
        let bytes = server_hello_record(TLS12, 0x000a);
        assert_eq!(
            answer(&bytes).unwrap(),
            HelloAnswer::Accepted {
                version: TLS12,
                suite: 0x000a
            }
        );
    }

    #[test]
    fn server_hello_split_across_records_is_reassembled() {
        let whole = server_hello_record(TLS10, 0xc013);
        let body = &whole[5..];
        let mut split = vec![22, 3, 1, 0, 20];
        split.extend_from_slice(&body[..20]);
        split.extend_from_slice(&[22, 3, 1]);
        split.extend_from_slice(&((body.len() - 20) as u16).to_be_bytes());
        split.extend_from_slice(&body[20..]);
        assert_eq!(
            answer(&split).unwrap(),
            HelloAnswer::Accepted {
                version: TLS10,
                suite: 0xc013
            }
        );
    }

    #[test]
    fn alerts_plain_http_and_silence_are_told_apart() {
        assert_eq!(
            answer(&[21, 3, 3, 0, 2, 2, 40]).unwrap(),
            HelloAnswer::Alert {
                level: 2,
                description: 40
            }
        );
        assert_eq!(
            answer(b"HTTP/1.1 400 Bad Request\r\n\r\n").unwrap(),
            HelloAnswer::NotTls
        );
        assert_eq!(answer(b"").unwrap(), HelloAnswer::Closed);
        assert_eq!(answer(&[22, 3, 3, 0]).unwrap(), HelloAnswer::Closed);
    }

    #[test]
    fn hostile_answers_never_panic() {
        let mut seed: u64 = 0x1234_5678;
        for round in 0..5000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 80) as usize;
            let mut bytes: Vec<u8> = (0..len).map(|i| (seed >> (i % 56)) as u8).collect();
            if round % 2 == 0 && bytes.len() > 3 {
                bytes[0] = 22;
                bytes[1] = 3;
            }
            let _ = answer(&bytes);
            let _ = certificate_names(&bytes);
        }
        let huge = [22, 3, 3, 0xff, 0xff];
        assert!(answer(&huge).is_ok());
    }

    #[test]
    fn certificate_names_of_a_real_certificate() {
        use rustls::pki_types::pem::PemObject;
        let pem = include_bytes!("../../tests/support/test-server.crt");
        let cert = rustls::pki_types::CertificateDer::from_pem_slice(pem).unwrap();
        let (subject, issuer) = certificate_names(cert.as_ref()).unwrap();
        assert_eq!(subject, "CN=localhost,O=schedguard-test");
        assert_eq!(issuer, "CN=schedguard test CA");
        assert_eq!(certificate_names(&[0x30, 0x03, 0x02, 0x01]), None);
    }

    #[test]
    fn suite_names_round_trip() {
        for id in INSECURE_SUITES.iter().chain(LEGACY_VERSION_SUITES) {
            let name = suite_name(*id).expect("every probed suite has a name");
            assert_eq!(suite_id(name), Some(*id));
        }
    }
}
