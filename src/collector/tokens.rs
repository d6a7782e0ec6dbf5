//! The collector's tokens file: who may write (one identity per node) and
//! who may read, each as the SHA-256 of a bearer token, never the token
//! itself. Also mints new tokens and the line that admits them.
//!
//! One entry a line, `#` starts a comment:
//!
//! ```text
//! write cp-1.example.org sha256:6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b
//! read  dashboard        sha256:d4735e3a265e16eee03f59718b9b5d03019c07d8b6c51f90da3a666eec13ab35
//! ```
//!
//! A node may have several write tokens (to rotate them without a gap).
//! Tokens are 256 random bits, so a plain SHA-256 cannot be reversed or
//! guessed; a slow password hash would cost milliseconds per request and
//! protect nothing more.

use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use subtle::ConstantTimeEq;

/// The largest tokens file read (a million nodes fit).
const MAX_FILE: u64 = 128 << 20;

/// What a token lets its holder do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// POST reports whose `sender.node` is this node.
    Write { node: String },
    /// Read the query API, /metrics and the dashboard.
    Read { name: String },
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Role::Write { node } => write!(f, "write token of node {node}"),
            Role::Read { name } => write!(f, "read token {name}"),
        }
    }
}

/// Why a tokens file was refused.
#[derive(Debug, thiserror::Error)]
pub enum TokensError {
    #[error("cannot read the tokens file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the tokens file {path} is writable by group or others, so anyone with that access could add a token (chmod go-w {path})")]
    Writable { path: PathBuf },
    #[error("the tokens file {path} is larger than {MAX_FILE} bytes")]
    TooLarge { path: PathBuf },
    #[error("{path} line {line}: {problem}")]
    Line {
        path: PathBuf,
        line: usize,
        problem: String,
    },
}

/// The loaded tokens, looked up by the hash of the token presented.
#[derive(Debug, Default)]
pub struct Tokens {
    by_hash: HashMap<[u8; 32], Role>,
}

/// A node name as the collector accepts it: 1 to 253 characters of
/// letters, digits, `.`, `-` and `_` (host names and Kubernetes node names).
pub fn valid_node_name(name: &str) -> bool {
    (1..=253).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// The SHA-256 of a token.
pub fn digest(token: &str) -> [u8; 32] {
    let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(hash.as_ref());
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

impl Tokens {
    /// Parses the text of a tokens file; `path` only names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Tokens, TokensError> {
        let mut by_hash = HashMap::new();
        for (index, raw) in text.lines().enumerate() {
            let problem = |problem: String| TokensError::Line {
                path: path.to_path_buf(),
                line: index + 1,
                problem,
            };
            let line = raw.split('#').next().unwrap_or_default().trim();
            if line.is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [kind, name, hash] = fields[..] else {
                return Err(problem(
                    "expected `write NODE sha256:HEX` or `read NAME sha256:HEX`".into(),
                ));
            };
            if !valid_node_name(name) {
                return Err(problem(format!(
                    "{name:?} is not a valid name (letters, digits, '.', '-', '_'; at most 253)"
                )));
            }
            let role = match kind {
                "write" => Role::Write { node: name.into() },
                "read" => Role::Read { name: name.into() },
                other => {
                    return Err(problem(format!(
                        "unknown kind {other:?} (use `write` or `read`)"
                    )))
                }
            };
            let Some(hash) = hash.strip_prefix("sha256:").and_then(unhex) else {
                return Err(problem(
                    "the hash must be sha256: and 64 hex digits, as `schedguard collector token` prints it".into(),
                ));
            };
            if let Some(earlier) = by_hash.insert(hash, role.clone()) {
                return Err(problem(format!(
                    "the same token is already the {earlier}; every token must be unique"
                )));
            }
        }
        Ok(Tokens { by_hash })
    }

    /// Reads and parses a tokens file, refusing one that others may write.
    pub fn load(path: &Path) -> Result<Tokens, TokensError> {
        let read_error = |source| TokensError::Read {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(read_error)?;
        let meta = file.metadata().map_err(read_error)?;
        if !meta.is_file() {
            return Err(read_error(std::io::Error::other("not a regular file")));
        }
        if meta.mode() & 0o022 != 0 {
            return Err(TokensError::Writable {
                path: path.to_path_buf(),
            });
        }
        let mut bytes = Vec::new();
        file.take(MAX_FILE + 1)
            .read_to_end(&mut bytes)
            .map_err(read_error)?;
        if bytes.len() as u64 > MAX_FILE {
            return Err(TokensError::TooLarge {
                path: path.to_path_buf(),
            });
        }
        let text = String::from_utf8(bytes)
            .map_err(|_| read_error(std::io::Error::other("not UTF-8 text")))?;
        Tokens::parse(&text, path)
    }

    /// The role of a presented token, if it is known.
    ///
    /// The lookup is by the token's SHA-256: how long it takes can tell an
    /// attacker about the hash of the token they sent, which says nothing
    /// about any valid token. The final comparison is constant-time anyway.
    pub fn authenticate(&self, presented: &str) -> Option<&Role> {
        let hash = digest(presented);
        let (known, role) = self.by_hash.get_key_value(&hash)?;
        bool::from(known.ct_eq(&hash)).then_some(role)
    }

    /// How many write and read tokens are loaded.
    pub fn counts(&self) -> (usize, usize) {
        let writes = self
            .by_hash
            .values()
            .filter(|r| matches!(r, Role::Write { .. }))
            .count();
        (writes, self.by_hash.len() - writes)
    }
}

/// A new random token: `sg_` and 64 hex digits (256 bits from the
/// kernel's random source).
pub fn mint() -> std::io::Result<String> {
    let mut bytes = [0u8; 32];
    let mut filled = 0;
    while filled < bytes.len() {
        match rustix::rand::getrandom(&mut bytes[filled..], rustix::rand::GetRandomFlags::empty()) {
            Ok(n) => filled += n,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(format!("sg_{}", hex(&bytes)))
}

/// The tokens-file line that admits `token` in `role`.
pub fn line(role: &Role, token: &str) -> String {
    let (kind, name) = match role {
        Role::Write { node } => ("write", node),
        Role::Read { name } => ("read", name),
    };
    format!("{kind} {name} sha256:{}", hex(&digest(token)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Tokens, TokensError> {
        Tokens::parse(text, Path::new("tokens"))
    }

    #[test]
    fn minted_tokens_authenticate_through_their_line() {
        let token = mint().unwrap();
        assert_eq!(token.len(), 67);
        let role = Role::Write {
            node: "cp-1".into(),
        };
        let tokens = parse(&format!(
            "# fleet\n{}  # rotated 2026-12\n",
            line(&role, &token)
        ))
        .unwrap();
        assert_eq!(tokens.authenticate(&token), Some(&role));
        assert_eq!(tokens.authenticate("sg_wrong"), None);
        assert_eq!(tokens.counts(), (1, 0));
    }

    #[test]
    fn known_hash_matches_sha256() {
        // sha256("1"), as every SHA-256 implementation computes it.
        assert_eq!(
            hex(&digest("1")),
            "6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b"
        );
    }

    #[test]
    fn bad_lines_name_the_line_and_the_problem() {
        let hash = format!("sha256:{}", "ab".repeat(32));
        let cases = [
            ("write cp-1\n", "expected `write NODE"),
            (&*format!("admin cp-1 {hash}\n"), "unknown kind \"admin\""),
            (&*format!("write cp/1 {hash}\n"), "not a valid name"),
            ("write cp-1 sha256:abc\n", "64 hex digits"),
            (
                &*format!("write a {hash}\nread b {hash}\n"),
                "already the write token of node a",
            ),
        ];
        for (text, expected) in cases {
            let error = parse(text).unwrap_err().to_string();
            assert!(error.contains(expected), "{text:?}: {error}");
            assert!(error.starts_with("tokens line "), "{error}");
        }
    }

    #[test]
    fn group_writable_files_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens");
        std::fs::write(&path, "").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o664)).unwrap();
        assert!(matches!(
            Tokens::load(&path),
            Err(TokensError::Writable { .. })
        ));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(Tokens::load(&path).is_ok());
    }
}
