//! A socket that reports every byte it reads to its connection's [`Ticket`], and stops reading
//! once the connection holds more unfinished frame bytes than it may.
//!
//! The HTTP and websocket layers above buffer what they read until a request or a message is
//! complete; counting below them is what bounds that buffering without changing either layer.
//! When a connection is over its budget the read stays pending and the ticket is cut, so the
//! connection's task closes it with a typed refusal.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::admission::Ticket;

/// An I/O stream counted against a ticket.
pub struct Metered<T> {
    io: T,
    ticket: Ticket,
}

impl<T> Metered<T> {
    /// Wraps `io`.
    pub fn new(io: T, ticket: Ticket) -> Metered<T> {
        Metered { io, ticket }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Metered<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.ticket.may_read() {
            // Not woken again: the connection's task sees the cut and closes the connection.
            return Poll::Pending;
        }
        let before = buf.filled().len();
        let this = &mut *self;
        let polled = Pin::new(&mut this.io).poll_read(cx, buf);
        if polled.is_ready() {
            this.ticket.read(buf.filled().len() - before);
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Metered<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}
