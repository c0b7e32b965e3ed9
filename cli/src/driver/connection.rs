//! One websocket connection to one relay, as a task: frames out, frames in, events to the driver.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use kompas_engine::sync::replication::Event;
use kompas_engine::sync::wire::{MAX_FRAME_BYTES, Message, decode_frame, encode_frame};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use kompas_relay::client_tls as tls;

/// How long opening a connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How a connection notices a relay that went silent without closing (a laptop that slept, a
/// network that dropped the connection without telling either side): it pings the relay when
/// it has heard nothing for a while, and gives the connection up when even that brings nothing
/// back. Any frame from the relay counts; the relay answers a ping with a pong as it reads.
#[derive(Debug, Clone, Copy)]
struct Liveness {
    /// Ping after this long without hearing from the relay.
    ping_after: Duration,
    /// Give up after this long without hearing from the relay.
    give_up_after: Duration,
}

const LIVENESS: Liveness = Liveness {
    ping_after: Duration::from_secs(20),
    give_up_after: Duration::from_secs(60),
};

/// What the driver asks a connection to do.
enum Outgoing {
    /// Send a message.
    Message(Box<Message>),
    /// Close the connection.
    Close,
}

/// An event from a connection, tagged so the driver can ignore connections it replaced.
pub struct ConnectionEvent {
    pub relay: String,
    pub id: u64,
    pub event: Event,
}

/// The driver's end of one connection task.
///
/// Frames wait for the socket in an unbounded queue, so sending never blocks the driver and
/// never drops a frame. A bounded queue would leave the driver two bad choices when it is full:
/// wait (and stop reading the other connections' events, which can deadlock with a relay that
/// stops reading while its own answers wait) or drop the frame (and leave the machine waiting
/// for an answer to a request that was never sent). Treating a full queue as a lost connection
/// is not safe either: the machine may ask for more frames in one go than any fixed bound
/// (every membership operation a new relay lacks), and would then reconnect for ever.
///
/// The queue stays small without a bound of its own because the machine limits what it asks
/// for: at most [`MAX_IN_FLIGHT`] pushes wait for acknowledgement per connection, one pull or
/// subscription is outstanding, the membership log goes out once per connection, and
/// everything else answers a message the relay sent, which it only does while it reads ours.
///
/// [`MAX_IN_FLIGHT`]: kompas_engine::sync::replication::MAX_IN_FLIGHT
pub struct Connection {
    /// Tells this connection's events apart from those of the one it replaced.
    pub id: u64,
    outgoing: mpsc::UnboundedSender<Outgoing>,
}

impl Connection {
    /// Opens a connection to `relay` in a task that reports to `events`; a `wss://` relay's
    /// certificate is checked against the system's trust store and `ca`, if given.
    pub fn spawn(
        relay: String,
        ca: Option<PathBuf>,
        id: u64,
        events: mpsc::Sender<ConnectionEvent>,
    ) -> Connection {
        Connection {
            id,
            outgoing: spawn(relay, ca, id, events),
        }
    }

    /// Queues `message` for the socket. If the connection has already ended the message goes
    /// nowhere, and the machine hears of the end as [`Event::Disconnected`]: the task sends
    /// that once it stops taking frames, and the machine then resends what it still needs on
    /// the next connection.
    pub fn send(&self, message: Box<Message>) {
        let _ = self.outgoing.send(Outgoing::Message(message));
    }

    /// Closes the connection once the frames queued before have been written.
    pub fn close(&self) {
        let _ = self.outgoing.send(Outgoing::Close);
    }
}

/// Opens a connection in a task and returns the queue to send through it.
fn spawn(
    relay: String,
    ca: Option<PathBuf>,
    id: u64,
    events: mpsc::Sender<ConnectionEvent>,
) -> mpsc::UnboundedSender<Outgoing> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let name = relay.clone();
        let event = match open(&relay, ca.as_deref()).await {
            Ok(socket) => Event::Disconnected {
                reason: run(socket, &relay, id, rx, &events, LIVENESS).await,
                relay,
            },
            Err(ended) => ended.into_event(relay),
        };
        let _ = events
            .send(ConnectionEvent {
                relay: name,
                id,
                event,
            })
            .await;
    });
    tx
}

type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// Why a connection could not be opened.
enum NotOpened {
    /// Not reached (yet): worth trying again.
    Unreachable(String),
    /// Reached, but its TLS certificate is not trusted (or the CA file is unusable).
    Untrusted(String),
}

impl NotOpened {
    fn into_event(self, relay: String) -> Event {
        match self {
            NotOpened::Unreachable(reason) => Event::Disconnected { relay, reason },
            NotOpened::Untrusted(reason) => Event::Untrusted { relay, reason },
        }
    }
}

/// Opens the websocket, with TLS for `wss://`.
async fn open(relay: &str, ca: Option<&Path>) -> Result<Socket, NotOpened> {
    let url = kompas_relay::client::endpoint(relay);
    let connector = tls::connector(relay, ca, "--ca").map_err(NotOpened::Untrusted)?;
    let connecting =
        tokio_tungstenite::connect_async_tls_with_config(url.as_str(), None, false, connector);
    match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
        Ok(Ok((socket, _))) => Ok(socket),
        Ok(Err(e)) => Err(match tls::explain(relay, &e, "--ca") {
            Some(why) => NotOpened::Untrusted(why),
            None => NotOpened::Unreachable(format!("geen verbinding: {}", unreachable_nl(&e))),
        }),
        Err(_) => Err(NotOpened::Unreachable(
            "geen verbinding: time-out".to_string(),
        )),
    }
}

/// Why a relay could not be reached, in Dutch where the cause is a system error (a refused
/// connection, an unknown host name).
fn unreachable_nl(e: &tokio_tungstenite::tungstenite::Error) -> String {
    match e {
        tokio_tungstenite::tungstenite::Error::Io(io) => crate::failure::io_nl(io),
        other => other.to_string(),
    }
}

/// Runs an open connection; returns why it ended.
async fn run(
    socket: Socket,
    relay: &str,
    id: u64,
    mut outgoing: mpsc::UnboundedReceiver<Outgoing>,
    events: &mpsc::Sender<ConnectionEvent>,
    liveness: Liveness,
) -> String {
    let (mut sink, mut stream) = socket.split();
    let send = |event: Event| ConnectionEvent {
        relay: relay.to_string(),
        id,
        event,
    };
    if events
        .send(send(Event::Connected {
            relay: relay.to_string(),
        }))
        .await
        .is_err()
    {
        return "gestopt".to_string();
    }
    // Reading and writing run side by side: the relay stops reading from a connection while
    // its answer waits for the socket, so a client that stopped reading while its own writes
    // wait would deadlock with it as soon as both directions fill their buffers.
    // When the relay was last heard from, in milliseconds since the connection opened.
    let opened = tokio::time::Instant::now();
    let heard = AtomicU64::new(0);
    let since_heard = || {
        let now = opened.elapsed().as_millis() as u64;
        Duration::from_millis(now.saturating_sub(heard.load(Ordering::Relaxed)))
    };
    let reader = async {
        loop {
            let next = stream.next().await;
            heard.store(opened.elapsed().as_millis() as u64, Ordering::Relaxed);
            match next {
                Some(Ok(WsMessage::Binary(bytes))) => match decode_frame(&bytes, MAX_FRAME_BYTES) {
                    Ok(message) => {
                        let event = Event::Received {
                            relay: relay.to_string(),
                            message: Box::new(message),
                        };
                        if events.send(send(event)).await.is_err() {
                            return "gestopt".to_string();
                        }
                    }
                    Err(e) => return format!("onleesbaar bericht van de relay: {e}"),
                },
                Some(Ok(WsMessage::Close(_))) | None => {
                    return "de relay sloot de verbinding".to_string();
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return format!("verbinding verbroken: {e}"),
            }
        }
    };
    let silent_too_long = || {
        let silent = since_heard();
        (silent >= liveness.give_up_after)
            .then(|| format!("de relay gaf {} s geen teken van leven", silent.as_secs()))
    };
    let writer = async {
        let mut check = tokio::time::interval(liveness.ping_after / 2);
        check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let frame = tokio::select! {
                next = outgoing.recv() => match next {
                    Some(Outgoing::Message(message)) => WsMessage::Binary(encode_frame(&message).into()),
                    Some(Outgoing::Close) | None => break,
                },
                _ = check.tick() => {
                    if let Some(reason) = silent_too_long() {
                        return reason;
                    }
                    if since_heard() < liveness.ping_after {
                        continue;
                    }
                    WsMessage::Ping(Vec::new().into())
                }
            };
            // A relay that stopped reading leaves this write waiting; keep checking meanwhile.
            let send = sink.send(frame);
            tokio::pin!(send);
            loop {
                tokio::select! {
                    sent = &mut send => match sent {
                        Ok(()) => break,
                        Err(e) => return format!("verzenden mislukt: {e}"),
                    },
                    _ = check.tick() => {
                        if let Some(reason) = silent_too_long() {
                            return reason;
                        }
                    }
                }
            }
        }
        let _ = sink.send(WsMessage::Close(None)).await;
        "gesloten".to_string()
    };
    tokio::select! {
        reason = reader => reason,
        reason = writer => reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kompas_engine::sync::wire::ErrorCode;

    /// Frames big enough that a few dozen fill the socket buffers in both directions.
    const FRAMES: usize = 160;

    fn big_frame(i: usize) -> Message {
        Message::Error {
            code: ErrorCode::Internal,
            message: format!("{i:05}{}", "x".repeat(64 * 1024)),
        }
    }

    /// The relay writes its answers before it reads the next request. A connection that stops
    /// reading while its own writes wait would deadlock with it once both directions are full.
    #[tokio::test]
    async fn a_relay_that_refuses_the_connection_is_explained_in_dutch() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let relay = format!("ws://127.0.0.1:{port}");
        match open(&relay, None).await {
            Err(NotOpened::Unreachable(reason)) => {
                assert_eq!(reason, "geen verbinding: verbinding geweigerd")
            }
            Err(NotOpened::Untrusted(reason)) => panic!("not a TLS problem: {reason}"),
            Ok(_) => panic!("nothing listens on port {port}"),
        }
    }

    #[tokio::test]
    async fn keeps_reading_while_its_writes_wait() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}", listener.local_addr().unwrap());
        // A peer like the relay: it writes everything first and reads only afterwards.
        let peer = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
            let (mut sink, mut stream) = ws.split();
            for i in 0..FRAMES {
                let frame = encode_frame(&big_frame(i));
                sink.send(WsMessage::Binary(frame.into())).await.unwrap();
            }
            let mut read = 0;
            while read < FRAMES {
                match stream.next().await {
                    Some(Ok(WsMessage::Binary(_))) => read += 1,
                    Some(Ok(_)) => {}
                    _ => break,
                }
            }
            read
        });
        let (events_tx, mut events_rx) = mpsc::channel(1024);
        let connection = Connection::spawn(url, None, 1, events_tx);
        for i in 0..FRAMES {
            connection.send(Box::new(big_frame(i)));
        }
        let deadline = Duration::from_secs(60);
        let received = tokio::time::timeout(deadline, async {
            let mut received = 0;
            while received < FRAMES {
                match events_rx.recv().await.map(|e| e.event) {
                    Some(Event::Received { .. }) => received += 1,
                    Some(Event::Connected { .. }) => {}
                    Some(Event::Disconnected { reason, .. }) => {
                        panic!("connection ended: {reason}")
                    }
                    _ => panic!("unexpected event"),
                }
            }
            received
        })
        .await
        .expect("the connection read everything the peer wrote");
        assert_eq!(received, FRAMES);
        let written = tokio::time::timeout(deadline, peer)
            .await
            .expect("the peer read everything the connection wrote")
            .unwrap();
        assert_eq!(written, FRAMES);
        connection.close();
    }

    /// More frames than the old fixed queue of 4,096 held, all asked for before the connection
    /// has written anything (the test runtime has one thread, so the task cannot run while the
    /// frames are queued): every one must reach the peer, in order.
    #[tokio::test]
    async fn loses_no_frame_however_many_wait() {
        const MANY: usize = 10_000;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}", listener.local_addr().unwrap());
        let peer = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
            let mut seen = Vec::new();
            while let Some(Ok(frame)) = ws.next().await {
                match frame {
                    WsMessage::Binary(bytes) => {
                        match decode_frame(&bytes, MAX_FRAME_BYTES).unwrap() {
                            Message::Error { message, .. } => seen.push(message),
                            other => panic!("unexpected frame {other:?}"),
                        }
                    }
                    WsMessage::Close(_) => break,
                    _ => {}
                }
            }
            seen
        });
        let (events_tx, mut events_rx) = mpsc::channel(16);
        let connection = Connection::spawn(url, None, 1, events_tx);
        let frame = |i: usize| Message::Error {
            code: ErrorCode::Internal,
            message: format!("bericht {i}"),
        };
        for i in 0..MANY {
            connection.send(Box::new(frame(i)));
        }
        connection.close();
        let seen = tokio::time::timeout(Duration::from_secs(60), peer)
            .await
            .expect("the peer read until the close")
            .unwrap();
        assert_eq!(seen.len(), MANY, "frames were lost");
        let expected: Vec<String> = (0..MANY).map(|i| format!("bericht {i}")).collect();
        assert_eq!(seen, expected, "frames arrived out of order");
        match events_rx.recv().await.map(|e| e.event) {
            Some(Event::Connected { .. }) => {}
            _ => panic!("the connection did not report that it opened"),
        }
    }

    const QUICK: Liveness = Liveness {
        ping_after: Duration::from_millis(100),
        give_up_after: Duration::from_millis(400),
    };

    /// Runs a connection with quick liveness checks; returns its queue and why it ended.
    fn quick_connection(
        url: String,
    ) -> (
        mpsc::UnboundedSender<Outgoing>,
        tokio::task::JoinHandle<String>,
    ) {
        let (tx, rx) = mpsc::unbounded_channel();
        let (events_tx, mut events_rx) = mpsc::channel(16);
        tokio::spawn(async move { while events_rx.recv().await.is_some() {} });
        let ended = tokio::spawn(async move {
            let socket = open(&url, None).await.ok().expect("connected");
            run(socket, &url, 1, rx, &events_tx, QUICK).await
        });
        (tx, ended)
    }

    #[tokio::test]
    async fn gives_up_on_a_relay_that_went_silent_without_closing() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}", listener.local_addr().unwrap());
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        // A peer that accepts and then neither reads nor writes, but keeps the socket open.
        let peer = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
            let _ = released.await;
            drop(ws);
        });
        let (_queue, ended) = quick_connection(url);
        let reason = tokio::time::timeout(Duration::from_secs(20), ended)
            .await
            .expect("the connection gave up on the silent relay")
            .unwrap();
        assert!(reason.contains("geen teken van leven"), "{reason}");
        let _ = release.send(());
        peer.await.unwrap();
    }

    #[tokio::test]
    async fn a_relay_that_answers_pings_keeps_the_connection() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}", listener.local_addr().unwrap());
        // A peer that only reads (tungstenite answers each ping with a pong as it reads) and
        // counts the pings until the connection closes properly.
        let peer = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
            let mut pings = 0;
            loop {
                match ws.next().await {
                    Some(Ok(WsMessage::Ping(_))) => pings += 1,
                    Some(Ok(WsMessage::Close(_))) => return Ok(pings),
                    Some(Ok(_)) => {}
                    other => return Err(format!("the connection broke: {other:?}")),
                }
            }
        });
        let (queue, mut ended) = quick_connection(url);
        // Quiet for many times the give-up period: only pings and pongs pass.
        let quiet = tokio::time::timeout(QUICK.give_up_after * 5, &mut ended).await;
        assert!(
            quiet.is_err(),
            "the connection ended while the relay answered pings: {quiet:?}"
        );
        let _ = queue.send(Outgoing::Close);
        let reason = ended.await.unwrap();
        assert_eq!(reason, "gesloten");
        let pings = peer.await.unwrap().unwrap();
        assert!(pings >= 3, "only {pings} pings");
    }
}
