//! A minimal SMTP server on 127.0.0.1 (port 0) for the reminder tests, written here rather
//! than taken from a crate because the tests must choose the moment of acceptance: it can hold
//! back its reply to a complete message, tell the test (which then kills the sender), and drop
//! the transaction unaccepted, as a server does when the client goes away before the reply.
//! It speaks just enough SMTP for lettre: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP and QUIT.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, MutexGuard};

/// One message as the server received it.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// Headers and body, dot-unstuffed, lines joined with CRLF.
    pub data: String,
}

impl Mail {
    /// The value of header `name` (case-insensitive), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next()?;
        let mut value: Option<String> = None;
        for line in head.split("\r\n") {
            if let Some(v) = value.as_mut()
                && (line.starts_with(' ') || line.starts_with('\t'))
            {
                // Unfolding removes the line break only; the space it stood before stays.
                v.push_str(line);
                continue;
            }
            if value.is_some() {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case(name)
            {
                value = Some(v.trim().to_string());
            }
        }
        value
    }

    /// The body as sent (still in its transfer encoding).
    pub fn raw_body(&self) -> &str {
        self.data.split_once("\r\n\r\n").map_or("", |(_, b)| b)
    }
}

#[derive(Default)]
struct Shared {
    accepted: Vec<Mail>,
    dropped: Vec<Mail>,
    /// Hold back the reply to the n-th complete message from now (1 = the next one).
    hold: Option<(usize, Sender<()>)>,
}

/// The running server; it stops accepting when dropped.
pub struct SmtpServer {
    port: u16,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
}

impl SmtpServer {
    /// Starts the server on a free port of 127.0.0.1.
    pub fn start() -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("an SMTP test port");
        let port = listener.local_addr().expect("its address").port();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (shared.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let s = s.clone();
                std::thread::spawn(move || serve(conn, &s));
            }
        });
        SmtpServer { port, shared, stop }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The messages accepted so far.
    pub fn accepted(&self) -> Vec<Mail> {
        lock(&self.shared).accepted.clone()
    }

    /// The messages received whole but never accepted (the sender went away first), once
    /// there are `n` of them (noticing a sender gone takes a moment); at most 30 seconds.
    pub fn dropped(&self, n: usize) -> Vec<Mail> {
        let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let dropped = lock(&self.shared).dropped.clone();
            if dropped.len() >= n || std::time::Instant::now() > until {
                return dropped;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Holds back the reply to the `nth` complete message from now; the receiver hears when
    /// that message is in. The transaction is then dropped once the sender goes away.
    pub fn hold(&self, nth: usize) -> Receiver<()> {
        let (tx, rx) = channel();
        lock(&self.shared).hold = Some((nth, tx));
        rx
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the stop.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn lock(m: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn serve(conn: TcpStream, shared: &Mutex<Shared>) {
    let Ok(mut out) = conn.try_clone() else {
        return;
    };
    let mut lines = BufReader::new(conn);
    let mut reply = |text: &str| out.write_all(format!("{text}\r\n").as_bytes()).is_ok();
    if !reply("220 proef ESMTP") {
        return;
    }
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let command = line.trim_end().to_string();
        let upper = command.to_ascii_uppercase();
        let ok = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            reply("250 proef")
        } else if let Some(rest) = upper.strip_prefix("MAIL FROM:") {
            from = address(&command[command.len() - rest.len()..]);
            to.clear();
            reply("250 OK")
        } else if let Some(rest) = upper.strip_prefix("RCPT TO:") {
            to.push(address(&command[command.len() - rest.len()..]));
            reply("250 OK")
        } else if upper == "DATA" {
            if !reply("354 ga je gang") {
                return;
            }
            let Some(data) = read_data(&mut lines) else {
                return;
            };
            let mail = Mail {
                from: from.clone(),
                to: to.clone(),
                data,
            };
            let held = {
                let mut s = lock(shared);
                match s.hold.take() {
                    Some((1, tx)) => Some(tx),
                    Some((n, tx)) => {
                        s.hold = Some((n - 1, tx));
                        None
                    }
                    None => None,
                }
            };
            if let Some(tx) = held {
                let _ = tx.send(());
                // No reply: wait for the sender to go away, then forget the transaction.
                let mut rest = String::new();
                while lines.read_line(&mut rest).unwrap_or(0) > 0 {
                    rest.clear();
                }
                lock(shared).dropped.push(mail);
                return;
            }
            lock(shared).accepted.push(mail);
            reply("250 OK aangenomen")
        } else if upper == "RSET" || upper == "NOOP" {
            reply("250 OK")
        } else if upper == "QUIT" {
            reply("221 tot ziens");
            return;
        } else {
            reply("502 onbekend")
        };
        if !ok {
            return;
        }
    }
}

/// `<a@b> SIZE=...` to `a@b`.
fn address(text: &str) -> String {
    let text = text.trim();
    match (text.find('<'), text.find('>')) {
        (Some(a), Some(b)) if a < b => text[a + 1..b].to_string(),
        _ => text.split_whitespace().next().unwrap_or("").to_string(),
    }
}

/// The message after DATA up to the lone dot, dot-unstuffed; `None` if the sender went away.
fn read_data(lines: &mut BufReader<TcpStream>) -> Option<String> {
    let mut out: Vec<String> = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let l = line.trim_end_matches(['\r', '\n']);
        if l == "." {
            return Some(out.join("\r\n"));
        }
        out.push(l.strip_prefix('.').unwrap_or(l).to_string());
    }
}

/// TLS in front of a test server (as a mail server with implicit TLS on port 465 speaks it):
/// the relay's own TLS terminator on a port of 127.0.0.1, passing the plain bytes on to the
/// server. It stops when dropped.
pub struct TlsFront {
    port: u16,
    _runtime: tokio::runtime::Runtime,
}

impl TlsFront {
    /// Terminates TLS with the certificate and key of `tls` in front of `server`.
    pub fn start(server: &SmtpServer, tls: &crate::tls::Tls) -> TlsFront {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime for the TLS front");
        let behind = server.port();
        let files = kompas_relay::tls::TlsFiles {
            cert: tls.cert.clone(),
            key: tls.key.clone(),
        };
        let port = runtime.block_on(async move {
            let terminator =
                kompas_relay::tls::Terminator::start(files).expect("the test certificate loads");
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("a TLS test port");
            let port = listener.local_addr().expect("its address").port();
            tokio::spawn(async move {
                while let Ok((conn, _)) = listener.accept().await {
                    let terminator = terminator.clone();
                    tokio::spawn(async move {
                        let Some(mut tls) = terminator.handshake(conn).await else {
                            return;
                        };
                        let Ok(mut plain) =
                            tokio::net::TcpStream::connect(("127.0.0.1", behind)).await
                        else {
                            return;
                        };
                        let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                    });
                }
            });
            port
        });
        TlsFront {
            port,
            _runtime: runtime,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}
