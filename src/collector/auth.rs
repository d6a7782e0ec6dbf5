//! Who is asking. Agents and API clients send `Authorization: Bearer TOKEN`;
//! browsers send HTTP Basic with a read token as the password (any user
//! name), which every browser can prompt for and keep for the session
//! without a cookie, a login form or a script.

use crate::collector::reply::Problem;
use crate::collector::tokens::{Role, Tokens};
use axum::http::{header, HeaderMap, StatusCode};
use base64::Engine;

/// The challenge for API clients.
pub const API_CHALLENGE: &str = "Bearer realm=\"schedguard collector\"";
/// The challenge that makes a browser ask for a user name and password.
pub const BROWSER_CHALLENGE: &str = "Basic realm=\"schedguard collector\", charset=\"UTF-8\"";

/// The token a request presents: the bearer token, or the Basic password.
pub fn presented(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(rest.to_string());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (_, password) = text.split_once(':')?;
        return Some(password.to_string());
    }
    None
}

fn unknown(challenge: &'static str, what: &str) -> Problem {
    Problem::new(StatusCode::UNAUTHORIZED, what.to_string()).challenge(challenge)
}

/// The node a write token speaks for.
pub fn writer(tokens: &Tokens, headers: &HeaderMap) -> Result<String, Problem> {
    let Some(token) = presented(headers) else {
        return Err(unknown(
            API_CHALLENGE,
            "no bearer token: send Authorization: Bearer TOKEN with the node's write token",
        ));
    };
    match tokens.authenticate(&token) {
        Some(Role::Write { node }) => Ok(node.clone()),
        Some(Role::Read { name }) => Err(Problem::new(
            StatusCode::FORBIDDEN,
            format!("read token {name} cannot write reports; use the node's write token"),
        )),
        None => Err(unknown(
            API_CHALLENGE,
            "the bearer token is not in the collector's tokens file",
        )),
    }
}

/// The name of a read token; `challenge` says how to ask again.
pub fn reader(
    tokens: &Tokens,
    headers: &HeaderMap,
    challenge: &'static str,
) -> Result<String, Problem> {
    let Some(token) = presented(headers) else {
        return Err(unknown(
            challenge,
            "a read token is needed: Authorization: Bearer TOKEN, or in a browser, any user name and the token as the password",
        ));
    };
    match tokens.authenticate(&token) {
        Some(Role::Read { name }) => Ok(name.clone()),
        Some(Role::Write { node }) => Err(Problem::new(
            StatusCode::FORBIDDEN,
            format!("the write token of node {node} cannot read the fleet; use a read token"),
        )),
        None => Err(unknown(
            challenge,
            "the token is not in the collector's tokens file",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, value.parse().unwrap());
        h
    }

    #[test]
    fn bearer_and_basic_passwords_are_read() {
        assert_eq!(
            presented(&headers("Bearer sg_abc")).as_deref(),
            Some("sg_abc")
        );
        // "ops:sg_abc"
        assert_eq!(
            presented(&headers("Basic b3BzOnNnX2FiYw==")).as_deref(),
            Some("sg_abc")
        );
        assert_eq!(presented(&headers("Digest x")), None);
        assert_eq!(presented(&HeaderMap::new()), None);
    }
}
