//! One websocket connection to one relay, as a task: frames out, frames in, events to the driver.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use kompas_engine::sync::replication::Event;
use kompas_engine::sync::wire::{MAX_FRAME_BYTES, Message, decode_frame, encode_frame};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// How long opening a connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How many frames may wait to be written.
const OUTGOING_BUFFER: usize = 4096;

/// What the driver asks a connection to do.
pub enum Outgoing {
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

/// Opens a connection in a task and returns the channel to send through it.
pub fn spawn(
    relay: String,
    id: u64,
    events: mpsc::Sender<ConnectionEvent>,
) -> mpsc::Sender<Outgoing> {
    let (tx, rx) = mpsc::channel(OUTGOING_BUFFER);
    tokio::spawn(async move {
        let reason = run(&relay, id, rx, &events).await;
        let _ = events
            .send(ConnectionEvent {
                relay: relay.clone(),
                id,
                event: Event::Disconnected { relay, reason },
            })
            .await;
    });
    tx
}

/// Runs the connection; returns why it ended.
async fn run(
    relay: &str,
    id: u64,
    mut outgoing: mpsc::Receiver<Outgoing>,
    events: &mpsc::Sender<ConnectionEvent>,
) -> String {
    let url = kompas_relay::client::endpoint(relay);
    let socket = match tokio::time::timeout(
        CONNECT_TIMEOUT,
        tokio_tungstenite::connect_async(url.as_str()),
    )
    .await
    {
        Ok(Ok((socket, _))) => socket,
        Ok(Err(e)) => return format!("geen verbinding: {e}"),
        Err(_) => return "geen verbinding: time-out".to_string(),
    };
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
    let reader = async {
        loop {
            match stream.next().await {
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
    let writer = async {
        while let Some(Outgoing::Message(message)) = outgoing.recv().await {
            let frame = encode_frame(&message);
            if let Err(e) = sink.send(WsMessage::Binary(frame.into())).await {
                return format!("verzenden mislukt: {e}");
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
        let tx = spawn(url, 1, events_tx);
        for i in 0..FRAMES {
            tx.try_send(Outgoing::Message(Box::new(big_frame(i))))
                .map_err(|_| "outgoing buffer full")
                .unwrap();
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
        tx.try_send(Outgoing::Close).unwrap();
    }
}
