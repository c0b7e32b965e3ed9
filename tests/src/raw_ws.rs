//! A websocket client written against the bare socket, for attack tests: it can stop halfway
//! through the HTTP headers or through a frame, which no well-behaved client library does.
//!
//! Only the little of RFC 6455 the tests need: the upgrade request, binary frames with a zero
//! mask (masking is required of clients; a zero mask leaves the payload as it is), and reading
//! the relay's unmasked frames.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use ed25519_dalek::SigningKey;
use kompas_engine::sync::wire::{
    Access, ErrorCode, MAX_FRAME_BYTES, Message, OrgKey, PROTOCOL_VERSION, WorkspaceId,
    decode_frame, encode_frame, sign_auth,
};

/// A raw connection to a relay.
pub struct RawWs {
    stream: TcpStream,
}

impl RawWs {
    /// Connects and upgrades to a websocket.
    pub fn open(addr: SocketAddr) -> std::io::Result<RawWs> {
        let mut stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        write!(
            stream,
            "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )?;
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if stream.read(&mut byte)? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            head.push(byte[0]);
        }
        if !head.starts_with(b"HTTP/1.1 101") {
            return Err(std::io::Error::other(
                String::from_utf8_lossy(&head).into_owned(),
            ));
        }
        Ok(RawWs { stream })
    }

    /// Opens a TCP connection and sends only the start of an HTTP request, never its end.
    pub fn half_request(addr: SocketAddr) -> std::io::Result<TcpStream> {
        let mut stream = TcpStream::connect(addr)?;
        write!(
            stream,
            "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n"
        )?;
        Ok(stream)
    }

    /// Sends one message as a whole binary frame.
    pub fn send(&mut self, message: &Message) -> std::io::Result<()> {
        let payload = encode_frame(message);
        self.begin_frame(payload.len() as u64, &payload)
    }

    /// Sends the header of a binary frame announcing `len` payload bytes, then `part` of them.
    pub fn begin_frame(&mut self, len: u64, part: &[u8]) -> std::io::Result<()> {
        let mut header = vec![0x82u8];
        if len < 126 {
            header.push(0x80 | len as u8);
        } else if len <= u64::from(u16::MAX) {
            header.push(0x80 | 126);
            header.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            header.push(0x80 | 127);
            header.extend_from_slice(&len.to_be_bytes());
        }
        header.extend_from_slice(&[0; 4]);
        self.stream.write_all(&header)?;
        self.stream.write_all(part)
    }

    /// Sends more payload bytes of a frame begun earlier.
    pub fn more(&mut self, part: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(part)
    }

    /// The next message from the relay; `None` once the relay closed the connection.
    pub fn recv(&mut self) -> Option<Message> {
        loop {
            let mut head = [0u8; 2];
            self.stream.read_exact(&mut head).ok()?;
            let len = match head[1] & 0x7f {
                126 => {
                    let mut b = [0u8; 2];
                    self.stream.read_exact(&mut b).ok()?;
                    u64::from(u16::from_be_bytes(b))
                }
                127 => {
                    let mut b = [0u8; 8];
                    self.stream.read_exact(&mut b).ok()?;
                    u64::from_be_bytes(b)
                }
                n => u64::from(n),
            };
            let mut payload = vec![0u8; usize::try_from(len).ok()?];
            self.stream.read_exact(&mut payload).ok()?;
            match head[0] & 0x0f {
                0x2 => return decode_frame(&payload, MAX_FRAME_BYTES).ok(),
                0x8 => return None,
                _ => continue,
            }
        }
    }

    /// The code of the next error frame, skipping other messages; `None` if the connection
    /// closed without one.
    pub fn next_error(&mut self) -> Option<ErrorCode> {
        loop {
            if let Message::Error { code, .. } = self.recv()? {
                return Some(code);
            }
        }
    }

    /// Hello, challenge, auth, welcome: the access the relay gives `key` in `workspace`.
    pub fn authenticate(&mut self, workspace: WorkspaceId, key: &SigningKey) -> Option<Access> {
        self.send(&Message::Hello {
            min_version: PROTOCOL_VERSION,
            max_version: PROTOCOL_VERSION,
            agent: "aanval".into(),
            nonce: [7; kompas_engine::sync::wire::CHALLENGE_LEN],
        })
        .ok()?;
        let Message::Challenge { relay, nonce, .. } = self.recv()? else {
            return None;
        };
        self.send(&Message::Auth {
            workspace,
            key: OrgKey::of(key),
            signature: sign_auth(&relay, &nonce, &workspace, key),
        })
        .ok()?;
        match self.recv()? {
            Message::Welcome { access, .. } => Some(access),
            _ => None,
        }
    }
}
