//! A small client for the relay protocol: connect, authenticate, and send requests one by one.
//!
//! The relay's mirror uses it to talk to another relay, and the tests use it to drive a relay
//! without a replica. It speaks the same frames as the replicas' sync driver. A `wss://` relay's
//! certificate is checked as [`crate::client_tls`] says, and the relay's own key can be pinned:
//! a relay that presents another key is refused before anything is said about who we are.

use std::path::Path;

use ed25519_dalek::SigningKey;
use futures_util::{SinkExt, StreamExt};
use kompas_engine::sync::membership::{InviteToken, SignedOp};
use kompas_engine::sync::wire::{
    Access, CHALLENGE_LEN, ErrorCode, Hash32, MAX_FRAME_BYTES, Message, OrgKey, PROTOCOL_VERSION,
    SealedBundle, Sequenced, WireError, WorkspaceId, decode_frame, encode_frame, sign_auth,
    verify_relay_proof,
};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::client_tls;

/// Why a client request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The connection could not be made.
    #[error("kan geen verbinding maken met {url}: {source}")]
    Connect {
        /// The relay URL.
        url: String,
        /// What went wrong.
        source: Box<tokio_tungstenite::tungstenite::Error>,
    },
    /// The socket failed or was closed.
    #[error("de verbinding met de relay is verbroken")]
    Closed,
    /// The relay sent a frame that does not decode.
    #[error("onleesbaar antwoord van de relay: {0}")]
    Wire(#[from] WireError),
    /// The relay refused with a typed error.
    #[error("de relay weigert ({code}): {message}")]
    Refused {
        /// The error code.
        code: ErrorCode,
        /// The relay's explanation.
        message: String,
    },
    /// The relay answered with a message that does not fit.
    #[error("onverwacht antwoord van de relay: {0}")]
    Unexpected(&'static str),
    /// The relay did not prove it holds the key it presented.
    #[error("de relay bewijst niet dat hij relaysleutel {0} bezit")]
    NoProof(OrgKey),
    /// The relay's TLS certificate is not trusted, or the CA file cannot be used; the text
    /// says why and what to do.
    #[error("{0}")]
    Untrusted(String),
    /// The relay presented another key than the pinned one.
    #[error(
        "de relay antwoordt met relaysleutel {found}, niet met de vastgelegde sleutel {pinned}; \
         er is niets uitgewisseld"
    )]
    KeyMismatch {
        /// The key that was pinned.
        pinned: OrgKey,
        /// The key the relay presented (and proved).
        found: OrgKey,
    },
}

impl ClientError {
    /// The relay's error code, if it refused.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ClientError::Refused { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// Whether trying again cannot help: the relay is not the one whose key we trust. (A TLS
    /// certificate that is not trusted may be replaced, so that is worth trying again.)
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            ClientError::KeyMismatch { .. } | ClientError::NoProof(_)
        )
    }
}

/// What the relay said in `Welcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Welcome {
    /// What the connection may do.
    pub access: Access,
    /// The highest stored bundle sequence number.
    pub head: u64,
    /// The membership log's length.
    pub membership_len: u64,
    /// The current key epoch.
    pub epoch: u64,
    /// The relay's own key, which it proved to hold.
    pub relay: OrgKey,
}

/// An acknowledged bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Acked {
    /// Its position.
    pub seq: u64,
    /// Its content address.
    pub hash: Hash32,
    /// Whether the relay had it already.
    pub duplicate: bool,
}

/// One connection to a relay.
pub struct RelayClient {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The relay's key, this connection's challenge and the workspace, once authenticated
    /// (what a candidacy proof signs).
    session: Option<(OrgKey, [u8; CHALLENGE_LEN], WorkspaceId)>,
}

/// The websocket endpoint for a relay URL: `/ws` is added when the URL has no path.
pub fn endpoint(url: &str) -> String {
    let trimmed = url.trim_end_matches('/');
    let after_scheme = trimmed.split_once("://").map_or(trimmed, |(_, rest)| rest);
    if after_scheme.contains('/') {
        trimmed.to_string()
    } else {
        format!("{trimmed}/ws")
    }
}

impl RelayClient {
    /// Opens a connection and authenticates for `workspace` as the holder of `key`.
    pub async fn connect(
        url: &str,
        workspace: WorkspaceId,
        key: &SigningKey,
    ) -> Result<(RelayClient, Welcome), ClientError> {
        let mut client = RelayClient::open(url).await?;
        let welcome = client.authenticate(workspace, key).await?;
        Ok((client, welcome))
    }

    /// Opens a connection without saying anything yet; a `wss://` relay's certificate is
    /// checked against the system's trust store.
    pub async fn open(url: &str) -> Result<RelayClient, ClientError> {
        RelayClient::open_trusting(url, None, "--ca").await
    }

    /// Opens a connection, checking a `wss://` relay's certificate against the system's trust
    /// store plus the CA in `ca`, if given; `ca_option` names the option that gives a CA file,
    /// for the explanation when the certificate is not trusted.
    pub async fn open_trusting(
        relay: &str,
        ca: Option<&Path>,
        ca_option: &str,
    ) -> Result<RelayClient, ClientError> {
        let url = endpoint(relay);
        let connector =
            client_tls::connector(relay, ca, ca_option).map_err(ClientError::Untrusted)?;
        let (socket, _) =
            tokio_tungstenite::connect_async_tls_with_config(url.as_str(), None, false, connector)
                .await
                .map_err(
                    |source| match client_tls::explain(relay, &source, ca_option) {
                        Some(why) => ClientError::Untrusted(why),
                        None => ClientError::Connect {
                            url,
                            source: Box::new(source),
                        },
                    },
                )?;
        Ok(RelayClient {
            socket,
            session: None,
        })
    }

    /// Hello, challenge, signed answer, welcome.
    pub async fn authenticate(
        &mut self,
        workspace: WorkspaceId,
        key: &SigningKey,
    ) -> Result<Welcome, ClientError> {
        self.authenticate_pinned(workspace, key, None).await
    }

    /// As [`RelayClient::authenticate`], refusing a relay whose proven key is not `pinned`
    /// (when given) before it learns who we are.
    pub async fn authenticate_pinned(
        &mut self,
        workspace: WorkspaceId,
        key: &SigningKey,
        pinned: Option<OrgKey>,
    ) -> Result<Welcome, ClientError> {
        let hello_nonce: [u8; CHALLENGE_LEN] = rand::random();
        let hello = Message::Hello {
            min_version: PROTOCOL_VERSION,
            max_version: PROTOCOL_VERSION,
            agent: concat!("kompas-relay-client/", env!("CARGO_PKG_VERSION")).into(),
            nonce: hello_nonce,
        };
        let (relay, nonce) = match self.request(&hello).await? {
            Message::Challenge {
                relay,
                nonce,
                proof,
                ..
            } => {
                if !verify_relay_proof(&hello_nonce, &relay, &nonce, &proof) {
                    return Err(ClientError::NoProof(relay));
                }
                if let Some(pinned) = pinned
                    && pinned != relay
                {
                    return Err(ClientError::KeyMismatch {
                        pinned,
                        found: relay,
                    });
                }
                (relay, nonce)
            }
            other => return Err(ClientError::Unexpected(other.name())),
        };
        let auth = Message::Auth {
            workspace,
            key: OrgKey::of(key),
            signature: sign_auth(&relay, &nonce, &workspace, key),
        };
        self.session = Some((relay, nonce, workspace));
        self.welcome(&auth).await
    }

    /// Proves that the holder of `key`, not a member yet, holds the invite `token`; the relay
    /// answers with the welcome's real figures, or refuses with `NotMember`.
    pub async fn candidacy(
        &mut self,
        token: &InviteToken,
        key: &SigningKey,
    ) -> Result<Welcome, ClientError> {
        let (relay, nonce, workspace) = self.session.ok_or(ClientError::Closed)?;
        let proof = token.prove_candidacy(&relay, &nonce, &workspace, &OrgKey::of(key));
        self.welcome(&Message::Candidacy {
            invite_key: token.public(),
            proof,
        })
        .await
    }

    async fn welcome(&mut self, message: &Message) -> Result<Welcome, ClientError> {
        let (relay, _, _) = self.session.ok_or(ClientError::Closed)?;
        match self.request(message).await? {
            Message::Welcome {
                access,
                head,
                membership_len,
                epoch,
            } => Ok(Welcome {
                access,
                head,
                membership_len,
                epoch,
                relay,
            }),
            other => Err(ClientError::Unexpected(other.name())),
        }
    }

    /// Sends one message.
    pub async fn send(&mut self, message: &Message) -> Result<(), ClientError> {
        self.send_bytes(encode_frame(message)).await
    }

    /// Sends raw bytes as one websocket message (tests use it for garbage and oversized frames).
    pub async fn send_bytes(&mut self, bytes: Vec<u8>) -> Result<(), ClientError> {
        self.socket
            .send(WsMessage::Binary(bytes.into()))
            .await
            .map_err(|_| ClientError::Closed)
    }

    /// The next message from the relay, error frames included.
    pub async fn recv(&mut self) -> Result<Message, ClientError> {
        loop {
            match self.socket.next().await {
                None | Some(Err(_)) | Some(Ok(WsMessage::Close(_))) => {
                    return Err(ClientError::Closed);
                }
                Some(Ok(WsMessage::Binary(bytes))) => {
                    return Ok(decode_frame(&bytes, MAX_FRAME_BYTES)?);
                }
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Sends a request and returns the next message, turning an error frame into an error.
    pub async fn request(&mut self, message: &Message) -> Result<Message, ClientError> {
        self.send(message).await?;
        match self.recv().await? {
            Message::Error { code, message } => Err(ClientError::Refused { code, message }),
            other => Ok(other),
        }
    }

    /// Stores a bundle; returns once the relay has it durably.
    pub async fn push(&mut self, bundle: SealedBundle) -> Result<Acked, ClientError> {
        match self.request(&Message::Push { bundle }).await? {
            Message::Ack {
                seq,
                hash,
                duplicate,
            } => Ok(Acked {
                seq,
                hash,
                duplicate,
            }),
            other => Err(ClientError::Unexpected(other.name())),
        }
    }

    /// One page of bundles after `after`, and the relay's head.
    pub async fn pull(
        &mut self,
        after: u64,
        limit: u32,
    ) -> Result<(Vec<Sequenced>, u64), ClientError> {
        match self.request(&Message::Pull { after, limit }).await? {
            Message::Bundles { items, head } => Ok((items, head)),
            other => Err(ClientError::Unexpected(other.name())),
        }
    }

    /// Every bundle after `after`, page by page.
    pub async fn pull_all(&mut self, mut after: u64) -> Result<Vec<Sequenced>, ClientError> {
        let mut out = Vec::new();
        loop {
            let (items, head) = self.pull(after, u32::MAX).await?;
            let Some(last) = items.last() else {
                return Ok(out);
            };
            after = last.seq;
            out.extend(items);
            if after >= head {
                return Ok(out);
            }
        }
    }

    /// The membership log from position `after`, page by page until the relay has no more.
    pub async fn membership(&mut self, mut after: u64) -> Result<Vec<SignedOp>, ClientError> {
        let mut out = Vec::new();
        loop {
            let page = self.membership_page(after).await?;
            if page.is_empty() {
                return Ok(out);
            }
            after += page.len() as u64;
            out.extend(page);
        }
    }

    /// One `MembershipOps` answer from position `after`.
    pub async fn membership_page(&mut self, after: u64) -> Result<Vec<SignedOp>, ClientError> {
        match self.request(&Message::MembershipPull { after }).await? {
            Message::MembershipOps { ops, .. } => Ok(ops),
            other => Err(ClientError::Unexpected(other.name())),
        }
    }

    /// Appends a membership operation; returns its index once durable.
    pub async fn append(&mut self, op: SignedOp) -> Result<u64, ClientError> {
        match self.request(&Message::MembershipAppend { op }).await? {
            Message::MembershipAck { index, .. } => Ok(index),
            other => Err(ClientError::Unexpected(other.name())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::endpoint;

    #[test]
    fn endpoint_adds_the_websocket_path_only_when_missing() {
        assert_eq!(endpoint("ws://127.0.0.1:7421"), "ws://127.0.0.1:7421/ws");
        assert_eq!(endpoint("ws://127.0.0.1:7421/"), "ws://127.0.0.1:7421/ws");
        assert_eq!(endpoint("ws://relay.example/ws"), "ws://relay.example/ws");
    }
}
