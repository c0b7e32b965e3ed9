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
    loop {
        tokio::select! {
            out = outgoing.recv() => match out {
                Some(Outgoing::Message(message)) => {
                    let frame = encode_frame(&message);
                    if let Err(e) = sink.send(WsMessage::Binary(frame.into())).await {
                        return format!("verzenden mislukt: {e}");
                    }
                }
                Some(Outgoing::Close) | None => {
                    let _ = sink.send(WsMessage::Close(None)).await;
                    return "gesloten".to_string();
                }
            },
            incoming = stream.next() => match incoming {
                Some(Ok(WsMessage::Binary(bytes))) => match decode_frame(&bytes, MAX_FRAME_BYTES) {
                    Ok(message) => {
                        let event = Event::Received { relay: relay.to_string(), message: Box::new(message) };
                        if events.send(send(event)).await.is_err() {
                            return "gestopt".to_string();
                        }
                    }
                    Err(e) => return format!("onleesbaar bericht van de relay: {e}"),
                },
                Some(Ok(WsMessage::Close(_))) | None => return "de relay sloot de verbinding".to_string(),
                Some(Ok(_)) => {}
                Some(Err(e)) => return format!("verbinding verbroken: {e}"),
            },
        }
    }
}
