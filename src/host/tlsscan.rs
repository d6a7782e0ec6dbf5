//! Weak-TLS probing with a hand-made ClientHello, and the names in an X.509
//! certificate, using only `std`.
//!
//! rustls cannot offer TLS 1.0/1.1 or legacy cipher suites, and OpenSSL 3
//! cannot offer 3DES or RC4 at all, so a probe writes its own ClientHello and
//! reads only the ServerHello or the alert that answers it; the handshake is
//! never finished. A server may answer with a lower version than offered (Go
//! limited to TLS 1.0 answers a TLS 1.2 hello with 0x0301), so callers compare
//! the chosen version and suite with what they offered.
//!
//! Everything read from the peer or from a certificate is bounds-checked: a
//! hostile input yields [`HelloAnswer::NotTls`] or `None`, never a panic or
//! an allocation sized by the input.

use std::io::{self, Read, Write};
use std::net::IpAddr;

/// TLS 1.0 as a protocol version number.
pub const TLS10: u16 = 0x0301;
/// TLS 1.1 as a protocol version number.
pub const TLS11: u16 = 0x0302;
/// TLS 1.2 as a protocol version number.
pub const TLS12: u16 = 0x0303;

/// What a server answered to one ClientHello.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HelloAnswer {
    /// A ServerHello: the version and cipher suite the server chose.
    Accepted { version: u16, suite: u16 },
    /// A TLS alert (level, description).
    Alert { level: u8, description: u8 },
    /// The peer answered something that is not TLS (e.g. "HTTP/1.1 400"),
    /// or TLS records that are malformed or do not begin with a ServerHello.
    NotTls,
    /// The peer closed (or reset) the connection without answering.
    Closed,
}

/// Every cipher suite name kube-scheduler's `--tls-cipher-suites` accepts
/// (Go's `CipherSuites()` and `InsecureCipherSuites()`, TLS 1.2 and below,
/// plus the TLS 1.3 ones), with its IANA id. Kubernetes also keeps Go's
/// older names for the two ChaCha20 suites; the IANA name of an id comes
/// first.
pub const SUITES: &[(&str, u16)] = &[
    ("TLS_RSA_WITH_RC4_128_SHA", 0x0005),
    ("TLS_RSA_WITH_3DES_EDE_CBC_SHA", 0x000a),
    ("TLS_RSA_WITH_AES_128_CBC_SHA", 0x002f),
    ("TLS_RSA_WITH_AES_256_CBC_SHA", 0x0035),
    ("TLS_RSA_WITH_AES_128_CBC_SHA256", 0x003c),
    ("TLS_RSA_WITH_AES_128_GCM_SHA256", 0x009c),
    ("TLS_RSA_WITH_AES_256_GCM_SHA384", 0x009d),
    ("TLS_AES_128_GCM_SHA256", 0x1301),
    ("TLS_AES_256_GCM_SHA384", 0x1302),
    ("TLS_CHACHA20_POLY1305_SHA256", 0x1303),
    ("TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", 0xc007),
    ("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", 0xc009),
    ("TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", 0xc00a),
    ("TLS_ECDHE_RSA_WITH_RC4_128_SHA", 0xc011),
    ("TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", 0xc012),
    ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", 0xc013),
    ("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", 0xc014),
    ("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", 0xc023),
    ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", 0xc027),
    ("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", 0xc02b),
    ("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", 0xc02c),
    ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 0xc02f),
    ("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", 0xc030),
    ("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", 0xcca8),
    ("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", 0xcca9),
    ("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305", 0xcca8),
    ("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305", 0xcca9),
];

/// Go's insecure cipher suites (Go 1.22 and newer): RC4 (3), 3DES (2), RSA
/// key exchange (5) and the ECDHE CBC-SHA256 suites (2).
pub const INSECURE_SUITES: &[u16] = &[
    0x0005, 0xc007, 0xc011, // RC4
    0x000a, 0xc012, // 3DES
    0x002f, 0x0035, 0x003c, 0x009c, 0x009d, // RSA key exchange
    0xc023, 0xc027, // ECDHE CBC-SHA256
];

/// Suites to offer when probing whether a legacy protocol version is
/// accepted at all: every suite Go negotiates below TLS 1.2, that is the
/// CBC-SHA suites (AES and 3DES, ECDHE and RSA key exchange, RSA and ECDSA
/// certificates) and, so that an RC4-only server is not missed, RC4.
pub const LEGACY_VERSION_SUITES: &[u16] = &[
    0xc013, 0xc014, 0xc009, 0xc00a, 0x002f, 0x0035, 0xc012, 0x000a, 0xc011, 0xc007, 0x0005,
];

/// The name of a cipher suite id (the IANA spelling where Go has two).
pub fn suite_name(id: u16) -> Option<&'static str> {
    SUITES.iter().find(|(_, i)| *i == id).map(|(name, _)| *name)
}

/// The id of a cipher suite name as `--tls-cipher-suites` spells it
/// (case-sensitive, like Kubernetes).
pub fn suite_id(name: &str) -> Option<u16> {
    SUITES.iter().find(|(n, _)| *n == name).map(|(_, id)| *id)
}

const RECORD_HANDSHAKE: u8 = 22;
const RECORD_ALERT: u8 = 21;
const HANDSHAKE_CLIENT_HELLO: u8 = 1;
const HANDSHAKE_SERVER_HELLO: u8 = 2;
/// Lets a server that supports secure renegotiation see that we do too,
/// without a renegotiation_info extension.
const RENEGOTIATION_SCSV: u16 = 0x00ff;

const EXT_SERVER_NAME: u16 = 0x0000;
const EXT_SUPPORTED_GROUPS: u16 = 0x000a;
const EXT_EC_POINT_FORMATS: u16 = 0x000b;
const EXT_SIGNATURE_ALGORITHMS: u16 = 0x000d;

/// x25519, secp256r1, secp384r1: Go only picks an ECDHE suite when it shares
/// a group with the client.
const SUPPORTED_GROUPS: &[u16] = &[0x001d, 0x0017, 0x0018];
/// The uncompressed point format, the only one Go accepts.
const EC_POINT_FORMATS: &[u8] = &[0];
/// TLS 1.2 signature schemes, SHA-1 last so that old certificates still
/// get a ServerHello.
const SIGNATURE_SCHEMES: &[u16] = &[
    0x0403, // ecdsa_secp256r1_sha256
    0x0804, // rsa_pss_rsae_sha256
    0x0401, // rsa_pkcs1_sha256
    0x0503, // ecdsa_secp384r1_sha384
    0x0805, // rsa_pss_rsae_sha384
    0x0501, // rsa_pkcs1_sha384
    0x0603, // ecdsa_secp521r1_sha512
    0x0806, // rsa_pss_rsae_sha512
    0x0601, // rsa_pkcs1_sha512
    0x0201, // rsa_pkcs1_sha1
    0x0203, // ecdsa_sha1
];

/// At most this many suites are put in one ClientHello, which keeps it
/// within a single record.
const MAX_OFFERED_SUITES: usize = 4096;
/// The largest record length accepted: 2^14 plus the expansion TLS allows.
const MAX_RECORD: usize = (1 << 14) + 2048;
/// How many bytes of answer are read at most. A ServerHello needs under 100;
/// the slack covers a peer that fragments it into tiny records.
const ANSWER_LIMIT: usize = 4096;

/// A ClientHello record offering `version` and `suites` (plus the
/// renegotiation SCSV), with the extensions a Go server needs to choose an
/// ECDHE suite. `server_name` is sent as SNI only when it is a DNS name.
/// At most the first 4096 suites are offered.
pub fn client_hello(version: u16, suites: &[u16], server_name: Option<&str>) -> Vec<u8> {
    let mut record = vec![RECORD_HANDSHAKE];
    // Old servers reject a record version above TLS 1.0 in the first hello.
    record.extend_from_slice(&TLS10.to_be_bytes());
    prefixed(&mut record, 2, |handshake| {
        handshake.push(HANDSHAKE_CLIENT_HELLO);
        prefixed(handshake, 3, |hello| {
            hello.extend_from_slice(&version.to_be_bytes());
            hello.extend_from_slice(&probe_random());
            prefixed(hello, 1, |_| {}); // session id
            prefixed(hello, 2, |list| {
                let offered = suites.iter().take(MAX_OFFERED_SUITES);
                put_u16s(list, offered.chain(&[RENEGOTIATION_SCSV]));
            });
            prefixed(hello, 1, |methods| methods.push(0)); // null compression
            prefixed(hello, 2, |extensions| {
                if let Some(host) = server_name.and_then(sni_host) {
                    extension(extensions, EXT_SERVER_NAME, |body| {
                        prefixed(body, 2, |list| {
                            list.push(0); // host_name
                            prefixed(list, 2, |name| name.extend_from_slice(host.as_bytes()));
                        });
                    });
                }
                extension(extensions, EXT_SUPPORTED_GROUPS, |body| {
                    prefixed(body, 2, |groups| put_u16s(groups, SUPPORTED_GROUPS));
                });
                extension(extensions, EXT_EC_POINT_FORMATS, |body| {
                    prefixed(body, 1, |formats| {
                        formats.extend_from_slice(EC_POINT_FORMATS)
                    });
                });
                extension(extensions, EXT_SIGNATURE_ALGORITHMS, |body| {
                    prefixed(body, 2, |schemes| put_u16s(schemes, SIGNATURE_SCHEMES));
                });
            });
        });
    });
    record
}

/// The host name to send as SNI: RFC 6066 forbids IP literals, and Go's
/// server rejects a name with a trailing dot.
fn sni_host(name: &str) -> Option<&str> {
    let host = name.strip_suffix('.').unwrap_or(name);
    let dns = !host.is_empty()
        && host.len() <= 253
        && host.parse::<IpAddr>().is_err()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
    dns.then_some(host)
}

/// Appends what `body` writes, preceded by its length in `width` bytes.
fn prefixed(out: &mut Vec<u8>, width: usize, body: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.resize(start + width, 0);
    body(out);
    let len = out.len() - start - width;
    debug_assert!(len < 1 << (8 * width), "vector too long for its prefix");
    let len = (len as u32).to_be_bytes();
    out[start..start + width].copy_from_slice(&len[4 - width..]);
}

fn extension(out: &mut Vec<u8>, kind: u16, body: impl FnOnce(&mut Vec<u8>)) {
    out.extend_from_slice(&kind.to_be_bytes());
    prefixed(out, 2, body);
}

fn put_u16s<'a>(out: &mut Vec<u8>, values: impl IntoIterator<Item = &'a u16>) {
    for value in values {
        out.extend_from_slice(&value.to_be_bytes());
    }
}

/// 32 unpredictable-enough bytes for a probe's ClientHello random: the
/// clock and a counter mixed by splitmix64. Never used for keys.
fn probe_random() -> [u8; 32] {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{SystemTime, UNIX_EPOCH};
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut state = nanos ^ CALLS.fetch_add(1, Ordering::Relaxed).rotate_left(32);
    let mut random = [0u8; 32];
    for chunk in random.chunks_exact_mut(8) {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        chunk.copy_from_slice(&(z ^ (z >> 31)).to_be_bytes());
    }
    random
}

/// Writes a ClientHello on `stream` and reads the answer, reading at most a
/// few KiB; the caller sets timeouts on the stream. I/O errors (timeouts
/// included) are returned as errors; a peer that closes or resets the
/// connection gives [`HelloAnswer::Closed`].
pub fn offer<S: Read + Write>(
    stream: &mut S,
    version: u16,
    suites: &[u16],
    server_name: Option<&str>,
) -> io::Result<HelloAnswer> {
    let hello = client_hello(version, suites, server_name);
    match stream.write_all(&hello).and_then(|()| stream.flush()) {
        Err(e) if peer_gone(&e) => return Ok(HelloAnswer::Closed),
        other => other?,
    }
    read_answer(stream)
}

fn peer_gone(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
    )
}

/// Reads into `buf` until it is full or the peer is gone; returns how many
/// bytes were read. Every byte counts against `budget`, which the caller
/// checks beforehand.
fn fill(stream: &mut impl Read, buf: &mut [u8], budget: &mut usize) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match stream.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if peer_gone(&e) => break,
            Err(e) => return Err(e),
        }
    }
    *budget = budget.saturating_sub(filled);
    Ok(filled)
}

/// Whether `bytes` could be the start of an alert or handshake record.
fn starts_like_tls(bytes: &[u8]) -> bool {
    matches!(
        bytes.first(),
        None | Some(&RECORD_ALERT | &RECORD_HANDSHAKE)
    ) && matches!(bytes.get(1), None | Some(3))
}

/// Reads records until the first alert or the start of the first handshake
/// message is complete. Only the bytes needed are read: the rest of a record
/// holding the ServerHello stays unread.
fn read_answer(stream: &mut impl Read) -> io::Result<HelloAnswer> {
    let mut budget = ANSWER_LIMIT;
    // The content type being reassembled and its bytes so far (under 100).
    let mut kind = RECORD_HANDSHAKE;
    let mut message = Vec::new();
    loop {
        let mut header = [0u8; 5];
        if budget < header.len() {
            return Ok(HelloAnswer::NotTls);
        }
        let got = fill(stream, &mut header, &mut budget)?;
        if !starts_like_tls(&header[..got]) {
            return Ok(HelloAnswer::NotTls);
        }
        if got < header.len() {
            return Ok(HelloAnswer::Closed);
        }
        let mut left = usize::from(u16::from_be_bytes([header[3], header[4]]));
        if left > MAX_RECORD {
            return Ok(HelloAnswer::NotTls);
        }
        if header[0] != kind {
            // An alert cuts short a fragmented handshake message.
            kind = header[0];
            message.clear();
        }
        loop {
            let need = match progress(kind, &message) {
                Progress::Done(answer) => return Ok(answer),
                Progress::Need(total) => total - message.len(),
            };
            if left == 0 {
                break;
            }
            let take = need.min(left);
            if take > budget {
                return Ok(HelloAnswer::NotTls);
            }
            let start = message.len();
            message.resize(start + take, 0);
            if fill(stream, &mut message[start..], &mut budget)? < take {
                return Ok(HelloAnswer::Closed);
            }
            left -= take;
        }
    }
}

enum Progress {
    Done(HelloAnswer),
    /// More bytes are needed: this many in total, always more than held.
    Need(usize),
}

/// Judges the bytes of the first alert or handshake message read so far.
fn progress(kind: u8, message: &[u8]) -> Progress {
    if kind == RECORD_ALERT {
        return match message {
            [level, description, ..] => Progress::Done(HelloAnswer::Alert {
                level: *level,
                description: *description,
            }),
            _ => Progress::Need(2),
        };
    }
    // ServerHello: type(1) length(3) version(2) random(32) session_id<0..32>
    // cipher_suite(2) compression(1) ...
    const SESSION_ID_AT: usize = 4 + 2 + 32;
    let Some(header) = message.get(..4) else {
        return Progress::Need(4);
    };
    let length =
        (usize::from(header[1]) << 16) | (usize::from(header[2]) << 8) | usize::from(header[3]);
    if header[0] != HANDSHAKE_SERVER_HELLO || length < SESSION_ID_AT - 4 + 1 + 2 + 1 {
        return Progress::Done(HelloAnswer::NotTls);
    }
    let Some(&session_id_len) = message.get(SESSION_ID_AT) else {
        return Progress::Need(SESSION_ID_AT + 1);
    };
    let suite_at = SESSION_ID_AT + 1 + usize::from(session_id_len);
    if session_id_len > 32 || length < suite_at - 4 + 2 + 1 {
        return Progress::Done(HelloAnswer::NotTls);
    }
    match message.get(suite_at..suite_at + 2) {
        Some(suite) => Progress::Done(HelloAnswer::Accepted {
            version: u16::from_be_bytes([message[4], message[5]]),
            suite: u16::from_be_bytes([suite[0], suite[1]]),
        }),
        None => Progress::Need(suite_at + 2),
    }
}

const TAG_INTEGER: u8 = 0x02;
const TAG_OID: u8 = 0x06;
const TAG_SEQUENCE: u8 = 0x30;
const TAG_SET: u8 = 0x31;
const TAG_VERSION: u8 = 0xa0;

/// RFC 4514 short names of the attribute types, by DER-encoded OID.
const ATTRIBUTE_NAMES: &[(&[u8], &str)] = &[
    (&[0x55, 0x04, 0x03], "CN"),
    (&[0x55, 0x04, 0x05], "serialNumber"),
    (&[0x55, 0x04, 0x06], "C"),
    (&[0x55, 0x04, 0x07], "L"),
    (&[0x55, 0x04, 0x08], "ST"),
    (&[0x55, 0x04, 0x09], "STREET"),
    (&[0x55, 0x04, 0x0a], "O"),
    (&[0x55, 0x04, 0x0b], "OU"),
    (
        &[0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x01],
        "UID",
    ),
    (
        &[0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19],
        "DC",
    ),
];

/// Splits the first DER element off `input`: its tag and contents. Only
/// single-byte tags and definite lengths of up to four bytes are accepted.
fn der<'a>(input: &mut &'a [u8]) -> Option<(u8, &'a [u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    if tag & 0x1f == 0x1f {
        return None;
    }
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (bytes, after) = rest.split_at(count);
        rest = after;
        bytes.iter().try_fold(0usize, |len, b| {
            len.checked_mul(256)?.checked_add(usize::from(*b))
        })?
    };
    if rest.len() < len {
        return None;
    }
    let (contents, after) = rest.split_at(len);
    *input = after;
    Some((tag, contents))
}

/// Splits off the first DER element if it has tag `tag`.
fn expect<'a>(input: &mut &'a [u8], tag: u8) -> Option<&'a [u8]> {
    der(input).and_then(|(found, contents)| (found == tag).then_some(contents))
}

/// The subject and issuer of a DER-encoded certificate, as RFC 4514-style
/// strings such as `CN=kube-scheduler,O=system:masters`. Attributes keep the
/// certificate's order; multi-valued RDNs are joined with `+`; unknown
/// attribute types appear as dotted OIDs and non-string values as `#` and
/// hex. `None` when the input is not a certificate this can walk.
pub fn certificate_names(der_bytes: &[u8]) -> Option<(String, String)> {
    let mut input = der_bytes;
    let mut certificate = expect(&mut input, TAG_SEQUENCE)?;
    let mut tbs = expect(&mut certificate, TAG_SEQUENCE)?;
    if tbs.first() == Some(&TAG_VERSION) {
        der(&mut tbs)?;
    }
    expect(&mut tbs, TAG_INTEGER)?; // serialNumber
    expect(&mut tbs, TAG_SEQUENCE)?; // signature
    let issuer = expect(&mut tbs, TAG_SEQUENCE)?;
    expect(&mut tbs, TAG_SEQUENCE)?; // validity
    let subject = expect(&mut tbs, TAG_SEQUENCE)?;
    Some((name(subject)?, name(issuer)?))
}

/// A Name's RDN sequence as `TYPE=value,...`.
fn name(mut rdns: &[u8]) -> Option<String> {
    let mut out = String::new();
    while !rdns.is_empty() {
        let mut set = expect(&mut rdns, TAG_SET)?;
        if !out.is_empty() {
            out.push(',');
        }
        let mut first = true;
        while !set.is_empty() {
            let mut attribute = expect(&mut set, TAG_SEQUENCE)?;
            let oid = expect(&mut attribute, TAG_OID)?;
            let raw = attribute;
            let (tag, value) = der(&mut attribute)?;
            let raw = &raw[..raw.len() - attribute.len()];
            if !first {
                out.push('+');
            }
            first = false;
            match ATTRIBUTE_NAMES.iter().find(|(known, _)| *known == oid) {
                Some((_, short)) => out.push_str(short),
                None => out.push_str(&dotted_oid(oid)?),
            }
            out.push('=');
            match string_value(tag, value) {
                Some(text) => escape_value(&mut out, &text),
                None => {
                    out.push('#');
                    for byte in raw {
                        out.push_str(&format!("{byte:02x}"));
                    }
                }
            }
        }
    }
    Some(out)
}

/// The text of a directory string; `None` for other value types.
fn string_value(tag: u8, value: &[u8]) -> Option<String> {
    match tag {
        // UTF8String, PrintableString, IA5String
        0x0c | 0x13 | 0x16 => Some(String::from_utf8_lossy(value).into_owned()),
        // T61String: in practice Latin-1.
        0x14 => Some(value.iter().map(|b| char::from(*b)).collect()),
        // BMPString: UTF-16BE.
        0x1e if value.len().is_multiple_of(2) => {
            let units = value
                .chunks_exact(2)
                .map(|u| u16::from_be_bytes([u[0], u[1]]));
            Some(
                char::decode_utf16(units)
                    .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                    .collect(),
            )
        }
        _ => None,
    }
}

/// Appends `value` with RFC 4514 escaping; control characters are written
/// as `\XX` so that a hostile certificate cannot forge report lines.
fn escape_value(out: &mut String, value: &str) {
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let edge = (i == 0 && matches!(c, '#' | ' ')) || (i == last && c == ' ');
        if edge || matches!(c, '"' | '+' | ',' | ';' | '<' | '>' | '\\') {
            out.push('\\');
            out.push(c);
        } else if c.is_control() {
            let mut utf8 = [0u8; 4];
            for byte in c.encode_utf8(&mut utf8).bytes() {
                out.push_str(&format!("\\{byte:02X}"));
            }
        } else {
            out.push(c);
        }
    }
}

/// An OID's contents in dotted form; `None` if malformed.
fn dotted_oid(oid: &[u8]) -> Option<String> {
    if oid.last().is_none_or(|b| b & 0x80 != 0) {
        return None;
    }
    let mut arcs = Vec::new();
    let mut value: u64 = 0;
    for byte in oid {
        value = value.checked_mul(128)? | u64::from(byte & 0x7f);
        if value >> 57 != 0 {
            return None;
        }
        if byte & 0x80 == 0 {
            if arcs.is_empty() {
                let top = (value / 40).min(2);
                arcs.push(top);
                arcs.push(value - top * 40);
            } else {
                arcs.push(value);
            }
            value = 0;
        }
    }
    let arcs: Vec<String> = arcs.iter().map(u64::to_string).collect();
    Some(arcs.join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A peer that answers with canned bytes, `chunk` bytes per read, and
    /// records what was written to it.
    struct Peer {
        answer: Vec<u8>,
        at: usize,
        chunk: usize,
        written: Vec<u8>,
    }

    impl Peer {
        fn new(answer: &[u8]) -> Self {
            Peer {
                answer: answer.to_vec(),
                at: 0,
                chunk: usize::MAX,
                written: Vec::new(),
            }
        }
    }

    impl Read for Peer {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let rest = &self.answer[self.at..];
            let n = rest.len().min(buf.len()).min(self.chunk);
            buf[..n].copy_from_slice(&rest[..n]);
            self.at += n;
            Ok(n)
        }
    }

    impl Write for Peer {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.written.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// A peer that sends the same bytes forever.
    struct Endless(&'static [u8], usize);

    impl Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            for byte in buf.iter_mut() {
                *byte = self.0[self.1 % self.0.len()];
                self.1 += 1;
            }
            Ok(buf.len())
        }
    }

    impl Write for Endless {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn answer(bytes: &[u8]) -> HelloAnswer {
        offer(&mut Peer::new(bytes), TLS12, &[0x000a], None).expect("canned peers never fail")
    }

    fn server_hello(version: u16, suite: u16, session_id: &[u8]) -> Vec<u8> {
        let mut body = version.to_be_bytes().to_vec();
        body.extend_from_slice(&[0x5a; 32]);
        body.push(session_id.len() as u8);
        body.extend_from_slice(session_id);
        body.extend_from_slice(&suite.to_be_bytes());
        body.push(0); // compression
        body.extend_from_slice(&[0, 0]); // no extensions
        let mut message = vec![HANDSHAKE_SERVER_HELLO, 0];
        message.extend_from_slice(&(body.len() as u16).to_be_bytes());
        message.extend_from_slice(&body);
        message
    }

    fn record(kind: u8, version: u16, body: &[u8]) -> Vec<u8> {
        let mut out = vec![kind];
        out.extend_from_slice(&version.to_be_bytes());
        out.extend_from_slice(&(body.len() as u16).to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    /// A parsed ClientHello: (legacy_version, suites, extensions by type).
    type ParsedHello = (u16, Vec<u16>, Vec<(u16, Vec<u8>)>);

    /// Takes `n` bytes off the front of `input`.
    fn take<'a>(input: &mut &'a [u8], n: usize) -> &'a [u8] {
        let (head, rest) = input.split_at(n);
        *input = rest;
        head
    }

    fn take_u16(input: &mut &[u8]) -> usize {
        usize::from(u16::from_be_bytes(take(input, 2).try_into().unwrap()))
    }

    /// Parses a ClientHello record strictly, checking every length.
    fn parse_hello(record: &[u8]) -> ParsedHello {
        let mut input = record;
        assert_eq!(take(&mut input, 3), [22, 3, 1], "handshake record, TLS 1.0");
        assert_eq!(take_u16(&mut input), input.len(), "record length");
        let header = take(&mut input, 4);
        assert_eq!(header[0], HANDSHAKE_CLIENT_HELLO);
        let length = (usize::from(header[1]) << 16) | take_u16(&mut &header[2..]);
        assert_eq!(length, input.len(), "handshake length");
        let version = take_u16(&mut input) as u16;
        take(&mut input, 32);
        assert_eq!(take(&mut input, 1), [0], "empty session id");
        let suites_len = take_u16(&mut input);
        assert_eq!(suites_len % 2, 0);
        let mut suite_bytes = take(&mut input, suites_len);
        let suites = (0..suites_len / 2)
            .map(|_| take_u16(&mut suite_bytes) as u16)
            .collect();
        assert_eq!(take(&mut input, 2), [1, 0], "null compression only");
        assert_eq!(take_u16(&mut input), input.len(), "extensions length");
        let mut extensions = Vec::new();
        while !input.is_empty() {
            let kind = take_u16(&mut input) as u16;
            let len = take_u16(&mut input);
            extensions.push((kind, take(&mut input, len).to_vec()));
        }
        (version, suites, extensions)
    }

    fn extension_body(extensions: &[(u16, Vec<u8>)], kind: u16) -> Option<&[u8]> {
        extensions
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, body)| body.as_slice())
    }

    #[test]
    fn client_hello_is_well_formed() {
        let hello = client_hello(TLS11, &[0x002f, 0xc013], Some("kube-scheduler.local"));
        let (version, suites, extensions) = parse_hello(&hello);
        assert_eq!(version, TLS11);
        assert_eq!(suites, [0x002f, 0xc013, RENEGOTIATION_SCSV]);
        let kinds: Vec<u16> = extensions.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            kinds,
            [
                EXT_SERVER_NAME,
                EXT_SUPPORTED_GROUPS,
                EXT_EC_POINT_FORMATS,
                EXT_SIGNATURE_ALGORITHMS
            ]
        );
        let sni = extension_body(&extensions, EXT_SERVER_NAME).unwrap();
        let mut expected = vec![0, 23, 0, 0, 20];
        expected.extend_from_slice(b"kube-scheduler.local");
        assert_eq!(sni, expected);
        assert_eq!(
            extension_body(&extensions, EXT_SUPPORTED_GROUPS).unwrap(),
            [0, 6, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18]
        );
        assert_eq!(
            extension_body(&extensions, EXT_EC_POINT_FORMATS).unwrap(),
            [1, 0]
        );
        let schemes = extension_body(&extensions, EXT_SIGNATURE_ALGORITHMS).unwrap();
        assert_eq!(schemes.len(), 2 + 2 * SIGNATURE_SCHEMES.len());
        for scheme in [0x0401u16, 0x0403, 0x0804, 0x0201, 0x0203] {
            assert!(schemes[2..].chunks(2).any(|s| s == scheme.to_be_bytes()));
        }
        assert!(extension_body(&extensions, 0x002b).is_none(), "no TLS 1.3");
    }

    #[test]
    fn client_hello_sends_sni_only_for_dns_names() {
        for name in ["127.0.0.1", "::1", "[::1]", "", ".", "bad name", "a/b"] {
            let (_, _, extensions) = parse_hello(&client_hello(TLS12, &[0x002f], Some(name)));
            assert!(
                extension_body(&extensions, EXT_SERVER_NAME).is_none(),
                "{name:?}"
            );
        }
        let (_, _, extensions) = parse_hello(&client_hello(TLS12, &[], None));
        assert!(extension_body(&extensions, EXT_SERVER_NAME).is_none());
        let (_, _, extensions) = parse_hello(&client_hello(TLS12, &[], Some("localhost.")));
        let sni = extension_body(&extensions, EXT_SERVER_NAME).unwrap();
        assert_eq!(&sni[5..], b"localhost", "the trailing dot is dropped");
    }

    #[test]
    fn client_hello_randoms_differ() {
        let a = client_hello(TLS12, &[0x002f], None);
        let b = client_hello(TLS12, &[0x002f], None);
        assert_ne!(a[11..43], b[11..43]);
    }

    #[test]
    fn client_hello_caps_the_suite_list() {
        let many = vec![0x002fu16; 40_000];
        let (_, suites, _) = parse_hello(&client_hello(TLS12, &many, None));
        assert_eq!(suites.len(), MAX_OFFERED_SUITES + 1);
    }

    #[test]
    fn offer_writes_the_hello_and_reads_a_server_hello() {
        let mut peer = Peer::new(&record(22, TLS12, &server_hello(TLS12, 0x000a, &[])));
        let got = offer(&mut peer, TLS12, &[0x000a], Some("localhost")).unwrap();
        assert_eq!(
            got,
            HelloAnswer::Accepted {
                version: TLS12,
                suite: 0x000a
            }
        );
        let (version, suites, _) = parse_hello(&peer.written);
        assert_eq!((version, suites), (TLS12, vec![0x000a, RENEGOTIATION_SCSV]));
    }

    #[test]
    fn server_hello_with_session_id_and_more_messages() {
        let mut body = server_hello(TLS10, 0x002f, &[7; 32]);
        body.extend_from_slice(&[11, 0, 0x10, 0]); // a Certificate header follows
        body.extend_from_slice(&[0; 4096]);
        let mut peer = Peer::new(&record(22, TLS10, &body));
        let got = offer(&mut peer, TLS10, LEGACY_VERSION_SUITES, None).unwrap();
        assert_eq!(
            got,
            HelloAnswer::Accepted {
                version: TLS10,
                suite: 0x002f
            }
        );
        assert!(peer.at < 128, "only the ServerHello is read: {}", peer.at);
    }

    #[test]
    fn server_hello_split_across_records() {
        let message = server_hello(TLS12, 0xc011, &[1; 16]);
        for cut in [1, 4, 20, 38, 39, 50, 56] {
            let mut bytes = record(22, TLS12, &message[..cut]);
            bytes.extend(record(22, TLS12, &message[cut..]));
            assert_eq!(
                answer(&bytes),
                HelloAnswer::Accepted {
                    version: TLS12,
                    suite: 0xc011
                },
                "cut at {cut}"
            );
        }
        let mut tiny = Vec::new();
        for byte in &message {
            tiny.extend(record(22, TLS12, &[*byte]));
        }
        let mut peer = Peer::new(&tiny);
        peer.chunk = 1;
        let got = offer(&mut peer, TLS12, &[0xc011], None).unwrap();
        assert_eq!(
            got,
            HelloAnswer::Accepted {
                version: TLS12,
                suite: 0xc011
            }
        );
    }

    #[test]
    fn alerts() {
        let alert = HelloAnswer::Alert {
            level: 2,
            description: 70,
        };
        assert_eq!(answer(&record(21, TLS10, &[2, 70])), alert);
        assert_eq!(answer(&record(21, TLS12, &[2, 40])), {
            HelloAnswer::Alert {
                level: 2,
                description: 40,
            }
        });
        let mut fragmented = record(21, TLS12, &[2]);
        fragmented.extend(record(21, TLS12, &[70]));
        assert_eq!(answer(&fragmented), alert);
        let mut cut_short = record(22, TLS12, &server_hello(TLS12, 0x000a, &[])[..10]);
        cut_short.extend(record(21, TLS12, &[2, 70]));
        assert_eq!(answer(&cut_short), alert);
    }

    #[test]
    fn not_tls_and_closed() {
        assert_eq!(
            answer(b"HTTP/1.1 400 Bad Request\r\n\r\n"),
            HelloAnswer::NotTls
        );
        assert_eq!(answer(b"H"), HelloAnswer::NotTls);
        assert_eq!(answer(&[22, 0x48]), HelloAnswer::NotTls);
        assert_eq!(answer(&record(23, TLS12, &[0; 8])), HelloAnswer::NotTls);
        assert_eq!(
            answer(&record(22, TLS12, &[1, 0, 0, 0])),
            HelloAnswer::NotTls
        );
        assert_eq!(answer(b""), HelloAnswer::Closed);
        assert_eq!(answer(&[22]), HelloAnswer::Closed);
        assert_eq!(answer(&[22, 3, 3, 0]), HelloAnswer::Closed);
        assert_eq!(answer(&record(21, TLS12, &[2])), HelloAnswer::Closed);
        let hello = record(22, TLS12, &server_hello(TLS12, 0x000a, &[]));
        for cut in 0..45 {
            assert_eq!(answer(&hello[..cut]), HelloAnswer::Closed, "cut at {cut}");
        }
    }

    #[test]
    fn hostile_lengths() {
        assert_eq!(answer(&[22, 3, 3, 0xff, 0xff]), HelloAnswer::NotTls);
        // A ServerHello claiming 16 MiB, and one too short for its fields.
        let mut huge = server_hello(TLS12, 0x000a, &[]);
        huge[1..4].copy_from_slice(&[0xff, 0xff, 0xff]);
        assert!(matches!(
            answer(&record(22, TLS12, &huge)),
            HelloAnswer::Accepted { .. }
        ));
        let mut short = server_hello(TLS12, 0x000a, &[]);
        short[1..4].copy_from_slice(&[0, 0, 10]);
        assert_eq!(answer(&record(22, TLS12, &short)), HelloAnswer::NotTls);
        let mut long_id = server_hello(TLS12, 0x000a, &[]);
        long_id[38] = 33;
        assert_eq!(answer(&record(22, TLS12, &long_id)), HelloAnswer::NotTls);
        // Endless empty or one-byte records end at the read limit.
        for pattern in [&[22u8, 3, 3, 0, 0][..], &[21, 3, 3, 0, 1, 2]] {
            let mut peer = Endless(pattern, 0);
            let got = offer(&mut peer, TLS12, &[0x000a], None).unwrap();
            assert!(peer.1 <= ANSWER_LIMIT, "read {}", peer.1);
            if pattern[0] == 22 {
                assert_eq!(got, HelloAnswer::NotTls);
            }
        }
    }

    #[test]
    fn io_errors_are_returned_and_resets_are_closed() {
        struct Failing(io::ErrorKind, bool);
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(self.0.into())
            }
        }
        impl Write for Failing {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                if self.1 {
                    Err(self.0.into())
                } else {
                    Ok(buf.len())
                }
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        for on_write in [false, true] {
            let mut timeout = Failing(io::ErrorKind::WouldBlock, on_write);
            let err = offer(&mut timeout, TLS12, &[0x000a], None).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
            let mut reset = Failing(io::ErrorKind::ConnectionReset, on_write);
            let got = offer(&mut reset, TLS12, &[0x000a], None).unwrap();
            assert_eq!(got, HelloAnswer::Closed);
        }
    }

    /// xorshift64, for reproducible fuzzing.
    fn next(seed: &mut u64) -> u64 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *seed
    }

    #[test]
    fn fuzzed_answers_never_panic() {
        let mut seed = 0x5eed_1234_abcd_ef01;
        let valid = record(22, TLS12, &server_hello(TLS12, 0x000a, &[9; 8]));
        for round in 0..20_000 {
            let mut bytes = match round % 3 {
                0 => valid.clone(),
                1 => vec![22, 3, 3],
                _ => Vec::new(),
            };
            let extra = (next(&mut seed) % 96) as usize;
            bytes.extend((0..extra).map(|_| next(&mut seed) as u8));
            if round % 3 == 0 {
                for _ in 0..3 {
                    let at = (next(&mut seed) as usize) % bytes.len();
                    bytes[at] ^= next(&mut seed) as u8;
                }
                bytes.truncate((next(&mut seed) as usize) % (bytes.len() + 1));
            }
            let mut peer = Peer::new(&bytes);
            peer.chunk = 1 + (round % 7);
            offer(&mut peer, TLS12, &[0x000a], None).unwrap();
        }
    }

    const CERTIFICATE_PEM: &str = "
        MIIDOzCCAiOgAwIBAgIUZzP372JCHuvok+7hNEmdq5u0InAwDQYJKoZIhvcNAQEL
        BQAwLDEVMBMGA1UEAwwMdGVzdC5leGFtcGxlMRMwEQYDVQQKDApzY2hlZGd1YXJk
        MCAXDTI2MTIwMzIyMjYxMVoYDzIxMjYxMTA5MjIyNjExWjAsMRUwEwYDVQQDDAx0
        ZXN0LmV4YW1wbGUxEzARBgNVBAoMCnNjaGVkZ3VhcmQwggEiMA0GCSqGSIb3DQEB
        AQUAA4IBDwAwggEKAoIBAQDC88RBBrZTuddV5DTxwZvBEKRg8rceDAMJ+R8+dsjU
        sjNSPcglhgFow6qfoL9DVxapZohZXbIKx1SJAzQEGlaPZIAEIOYQmEyt6ySYaLYU
        PENZiBaaoK0HrMHNZEtRiGjazuXq3Jqgh+EbsKhdzWNfDtR19BURpLhBX7Gzp0xb
        qgAVNzkIYN1i0PTYTeCOIe6Txb28qfXPr49+9lak5076wmNUBS2wY2cs3mEHEFuj
        DV1A44zKfFC2pRy8cfA1dg+zX+V2lu7EqpMejdLgc3VxFo4Xfh82vDAP03F2SCn4
        z5wnan5dvOVxOM3QJbmbR3ynMYpHFaZ4JgV6axCPlmA7AgMBAAGjUzBRMB0GA1Ud
        DgQWBBTvNQ/8dzlKekzNw/CU38StCCCSNjAfBgNVHSMEGDAWgBTvNQ/8dzlKekzN
        w/CU38StCCCSNjAPBgNVHRMBAf8EBTADAQH/MA0GCSqGSIb3DQEBCwUAA4IBAQA0
        Y7VQVbeDj1nbAprKig4ggD7D/UbL2gZ6u/DGmzx+07KagpQCe0/ys9nbQIuh4BM+
        i6u148c0uS1BbV3HokWqN3+8YqDVbiRiTrTOpcedd42HVyJbv6D0C+rFLguPHoEo
        3lC/mVKJ4Np24zKdVjrb4JVh5VyLb/4OcZEBSKWS7l/6QXYnUO2R1EObDUim5kzd
        eZUjiEfQzO+xLsg3YS5qHXCG9F/DS3Dh1PFTkf3DAXn3X+RF6Ld73WiCBksUYZhD
        nR+LhfFZgYUhB6/GZCVFLdGvmRh7d8rMFtSKs1j1eTptt5puTnEI9xBmVzRSZtmV
        hwuQSAuZD3cBg3RW1boX";

    /// A self-signed certificate made with `openssl req -x509 -newkey
    /// rsa:2048 -nodes -subj "/CN=test.example/O=schedguard" -days 36500`.
    fn certificate() -> Vec<u8> {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let sextets: Vec<u32> = CERTIFICATE_PEM
            .bytes()
            .filter(|b| !b.is_ascii_whitespace() && *b != b'=')
            .map(|b| ALPHABET.iter().position(|a| *a == b).unwrap() as u32)
            .collect();
        let mut out = Vec::new();
        for group in sextets.chunks(4) {
            let bits = group.iter().fold(0u32, |acc, s| (acc << 6) | s) << (6 * (4 - group.len()));
            out.extend_from_slice(&bits.to_be_bytes()[1..group.len()]);
        }
        out
    }

    /// DER TLV with a short or two-byte length, for synthetic Names.
    fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        match contents.len() {
            n @ 0..=0x7f => out.push(n as u8),
            n => out.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]),
        }
        out.extend_from_slice(contents);
        out
    }

    fn attribute(oid: &[u8], tag: u8, value: &[u8]) -> Vec<u8> {
        let mut pair = tlv(TAG_OID, oid);
        pair.extend(tlv(tag, value));
        tlv(TAG_SEQUENCE, &pair)
    }

    /// A certificate skeleton (no signature) with the given Names.
    fn synthetic_certificate(subject: &[Vec<Vec<u8>>], issuer: &[Vec<Vec<u8>>]) -> Vec<u8> {
        let encode = |rdns: &[Vec<Vec<u8>>]| {
            let sets: Vec<u8> = rdns
                .iter()
                .flat_map(|set| tlv(TAG_SET, &set.concat()))
                .collect();
            tlv(TAG_SEQUENCE, &sets)
        };
        let mut tbs = tlv(TAG_INTEGER, &[1]);
        tbs.extend(tlv(TAG_SEQUENCE, &[]));
        tbs.extend(encode(issuer));
        tbs.extend(tlv(TAG_SEQUENCE, &[]));
        tbs.extend(encode(subject));
        tlv(TAG_SEQUENCE, &tlv(TAG_SEQUENCE, &tbs))
    }

    #[test]
    fn names_of_a_real_certificate() {
        let der = certificate();
        assert_eq!(der.len(), 831);
        let (subject, issuer) = certificate_names(&der).unwrap();
        assert_eq!(subject, "CN=test.example,O=schedguard");
        assert_eq!(issuer, subject);
    }

    #[test]
    fn names_keep_order_and_escape() {
        const CN: &[u8] = &[0x55, 0x04, 0x03];
        const O: &[u8] = &[0x55, 0x04, 0x0a];
        const EMAIL: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01];
        let subject = vec![
            vec![attribute(O, 0x13, b"system:masters")],
            vec![attribute(CN, 0x0c, b"kube-scheduler")],
        ];
        let issuer = vec![
            vec![
                attribute(CN, 0x14, b"caf\xe9"),
                attribute(EMAIL, 0x16, b"a@b"),
            ],
            vec![attribute(O, 0x1e, &[0, b'x', 0, b',', 0, b' '])],
            vec![attribute(&[0x55, 0x04, 0x2a], 0x02, &[5])],
            vec![attribute(CN, 0x0c, b"#a+b\"c\n")],
        ];
        let der = synthetic_certificate(&subject, &issuer);
        let (subject, issuer) = certificate_names(&der).unwrap();
        assert_eq!(subject, "O=system:masters,CN=kube-scheduler");
        assert_eq!(
            issuer,
            "CN=café+1.2.840.113549.1.9.1=a@b,O=x\\,\\ ,2.5.4.42=#020105,CN=\\#a\\+b\\\"c\\0A"
        );
        let localhost = vec![vec![attribute(CN, 0x0c, b"localhost@1700000000")]];
        let der = synthetic_certificate(&localhost, &[]);
        assert_eq!(
            certificate_names(&der).unwrap(),
            ("CN=localhost@1700000000".into(), String::new())
        );
    }

    #[test]
    fn dotted_oids() {
        assert_eq!(dotted_oid(&[0x55, 0x04, 0x03]).unwrap(), "2.5.4.3");
        assert_eq!(dotted_oid(&[0x2b, 0x06, 0x01]).unwrap(), "1.3.6.1");
        assert_eq!(dotted_oid(&[0x88, 0x37, 0x03]).unwrap(), "2.999.3");
        assert_eq!(dotted_oid(&[]), None);
        assert_eq!(dotted_oid(&[0x55, 0x84]), None);
        assert_eq!(dotted_oid(&[&[0xff; 11][..], &[0x7f]].concat()), None);
    }

    #[test]
    fn garbage_certificates_give_none() {
        for garbage in [
            &b""[..],
            &[0x30],
            &[0x30, 0x80, 0, 0],
            &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
            &[0x30, 0x85, 1, 0, 0, 0, 0],
            &[0x30, 0x03, 0x02, 0x01],
            &[0x3f, 0x01, 0x00],
            b"-----BEGIN CERTIFICATE-----",
        ] {
            assert_eq!(certificate_names(garbage), None, "{garbage:?}");
        }
        let der = certificate();
        for cut in 0..200 {
            assert_eq!(certificate_names(&der[..cut]), None, "cut at {cut}");
        }
        let mut seed = 0x0123_4567_89ab_cdef;
        for _ in 0..20_000 {
            let mut bytes = der.clone();
            for _ in 0..1 + next(&mut seed) % 4 {
                let at = (next(&mut seed) % 200) as usize;
                bytes[at] = next(&mut seed) as u8;
            }
            let _ = certificate_names(&bytes);
            let len = (next(&mut seed) % 64) as usize;
            let random: Vec<u8> = (0..len).map(|_| next(&mut seed) as u8).collect();
            let _ = certificate_names(&random);
        }
    }

    #[test]
    fn suite_names_round_trip() {
        assert_eq!(SUITES.len(), 27);
        for (name, id) in SUITES {
            assert_eq!(suite_id(name), Some(*id), "{name}");
            let canonical = suite_name(*id).unwrap();
            assert_eq!(suite_id(canonical), Some(*id));
        }
        for id in INSECURE_SUITES.iter().chain(LEGACY_VERSION_SUITES) {
            assert!(suite_name(*id).is_some(), "{id:#06x}");
        }
        assert_eq!(INSECURE_SUITES.len(), 12);
        assert_eq!(
            suite_name(0xcca8),
            Some("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256")
        );
        assert_eq!(
            suite_id("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305"),
            Some(0xcca9)
        );
        assert_eq!(suite_name(0x0000), None);
        assert_eq!(suite_id("tls_rsa_with_rc4_128_sha"), None);
    }
}
