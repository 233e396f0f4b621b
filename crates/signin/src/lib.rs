//! The web dashboard's sign-in: the OpenID Connect client and session store ports, the dev
//! issuer's sign-in port, and the helpers every sign-in step shares (random tokens and
//! constant-time comparison).
//!
//! It lives apart from `orderdesk-domain` because signing people in to a web page is not the
//! business: a service that embeds the domain never needs it. The API's pages use these ports;
//! the adapters implement them.

#![warn(missing_docs)]

pub mod ports;
pub mod token;

pub use ports::{
    DevSignIn, DevTokens, LoginError, LoginRequest, OidcClient, Session, SessionRepository, SignedInUser, SigningError,
};
