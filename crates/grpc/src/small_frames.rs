//! Response bodies cut into pieces that HTTP/2 copies into its write buffer.
//!
//! The HTTP/2 codec copies a DATA frame smaller than 256 bytes (1,024 on a
//! connection without vectored writes) into its connection write buffer, next to other streams' frames, but keeps a
//! larger one aside and must write it out (one `writev`) before it can
//! buffer anything else. A unary answer of a few kilobytes therefore costs
//! a system call of its own, where small answers on a busy connection share
//! one: a cached 1.7 KB score took twice the writes of a health check. On
//! loopback and in-cluster that syscall, with the TCP receive path it runs,
//! is most of a cached call's cost. Cutting such a body into pieces below
//! the threshold lets many answers leave in one write; the pieces are views
//! of the same bytes (no copy here), and the extra frame headers are 9 bytes
//! each. Data frames above [`MAX_SPLIT`] are passed through: for them one chained
//! write per frame is the cheaper path.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use http_body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tonic::transport::server::{Connected, TcpConnectInfo};

/// Largest piece on a plain connection: one byte below HTTP/2's copy
/// threshold for a connection without vectored writes ([`ScalarWrites`]).
pub const PIECE_PLAIN: usize = 1023;

/// Largest piece on a TLS connection: the TLS stream reports vectored
/// writes, so HTTP/2's threshold there is 256 bytes.
pub const PIECE_TLS: usize = 255;

/// Data frames longer than this are passed through whole.
pub const MAX_SPLIT: usize = 8 * 1024;

/// A body whose data frames up to [`MAX_SPLIT`] bytes come out in pieces of
/// at most `piece` bytes; other frames and trailers are unchanged.
#[derive(Debug)]
pub struct SmallFrames<B> {
    inner: B,
    rest: Bytes,
    piece: usize,
}

impl<B> SmallFrames<B> {
    /// Wraps `inner`, cutting into pieces of at most `piece` bytes
    /// ([`PIECE_PLAIN`] or [`PIECE_TLS`]).
    pub fn new(inner: B, piece: usize) -> Self {
        Self {
            inner,
            rest: Bytes::new(),
            piece: piece.max(1),
        }
    }
}

impl<B> Body for SmallFrames<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        if this.rest.has_remaining() {
            let piece = this.rest.split_to(this.rest.len().min(this.piece));
            return Poll::Ready(Some(Ok(Frame::data(piece))));
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                Ok(mut data) if data.len() > this.piece && data.len() <= MAX_SPLIT => {
                    let piece = data.split_to(this.piece);
                    this.rest = data;
                    Poll::Ready(Some(Ok(Frame::data(piece))))
                }
                Ok(data) => Poll::Ready(Some(Ok(Frame::data(data)))),
                Err(frame) => Poll::Ready(Some(Ok(frame))),
            },
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        !self.rest.has_remaining() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        let mut hint = self.inner.size_hint();
        let rest = self.rest.len() as u64;
        hint.set_lower(hint.lower() + rest);
        if let Some(upper) = hint.upper() {
            hint.set_upper(upper + rest);
        }
        hint
    }
}

/// A server connection that tells HTTP/2 it has no vectored writes, which
/// raises the codec's copy threshold from 256 to 1,024 bytes: a 1.7 KB
/// answer then needs two pieces instead of seven. Large frames cost one
/// more `write` each (header, then payload), which is small next to their
/// size.
#[derive(Debug)]
pub struct ScalarWrites(pub TcpStream);

impl AsyncRead for ScalarWrites {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for ScalarWrites {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        false
    }
}

impl Connected for ScalarWrites {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.0.connect_info()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, StreamBody};

    fn frames(chunks: Vec<Bytes>, piece: usize) -> Vec<Bytes> {
        let stream = futures::stream::iter(
            chunks
                .into_iter()
                .map(|c| Ok::<_, std::convert::Infallible>(Frame::data(c))),
        );
        let mut body = SmallFrames::new(StreamBody::new(stream), piece);
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        runtime.block_on(async {
            let mut out = Vec::new();
            while let Some(frame) = body.frame().await {
                out.push(frame.expect("frame").into_data().expect("data"));
            }
            out
        })
    }

    #[test]
    fn a_small_answer_is_cut_below_the_copy_threshold_and_keeps_its_bytes() {
        let answer: Bytes = (0..1739u32).map(|i| (i % 251) as u8).collect::<Vec<_>>().into();
        for (piece, count) in [(PIECE_PLAIN, 2), (PIECE_TLS, 7)] {
            let out = frames(vec![answer.clone()], piece);
            assert_eq!(out.len(), count);
            assert!(out.iter().all(|p| p.len() <= piece && !p.is_empty()));
            assert_eq!(out.concat(), answer.to_vec());
        }
    }

    #[test]
    fn tiny_and_large_frames_pass_whole() {
        let tiny = Bytes::from_static(b"\0\0\0\0\x02\x08\x01");
        let large = Bytes::from(vec![7u8; MAX_SPLIT + 1]);
        let out = frames(vec![tiny.clone(), large.clone()], PIECE_PLAIN);
        assert_eq!(out, vec![tiny, large]);
    }
}
