//! A message already in wire form.
//!
//! A cached answer is encoded once and served many times; sending these
//! bytes is indistinguishable on the wire from encoding the message again.
//! The bytes are kept as a whole gRPC message frame, so a server that
//! answers from memory without the gRPC framework can send them as they
//! are (`supplyrisk_grpc::cached_answers`).

use bytes::{Buf, BufMut, Bytes};
use prost::Message;
use prost::encoding::{DecodeContext, WireType};

/// Bytes before each message in a gRPC body: a compression flag and the
/// message length (big-endian `u32`).
pub const FRAME_HEADER: usize = 5;

/// `message` as one uncompressed gRPC message frame.
pub fn grpc_frame(message: &impl Message) -> Vec<u8> {
    let len = message.encoded_len();
    let mut out = Vec::with_capacity(FRAME_HEADER + len);
    out.push(0);
    out.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes());
    message.encode_raw(&mut out);
    out
}

/// The protobuf encoding of one message, sent as is.
///
/// Only for answers a server sends: decoding into it keeps nothing, so a
/// client decodes the concrete message type instead.
#[derive(Clone, Debug, PartialEq)]
pub struct PreEncoded(Bytes);

impl Default for PreEncoded {
    fn default() -> Self {
        Self(Bytes::from_static(&[0; FRAME_HEADER]))
    }
}

impl PreEncoded {
    /// Encodes `message` once.
    pub fn new(message: &impl Message) -> Self {
        Self(Bytes::from(grpc_frame(message)))
    }

    /// The encoded message.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0[FRAME_HEADER..]
    }

    /// The message as one uncompressed gRPC frame (header and message).
    pub fn into_frame(self) -> Bytes {
        self.0
    }
}

impl Message for PreEncoded {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        buf.put_slice(self.as_bytes());
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), prost::DecodeError> {
        prost::encoding::skip_field(wire_type, tag, buf, ctx)
    }

    fn encoded_len(&self) -> usize {
        self.0.len() - FRAME_HEADER
    }

    fn clear(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::v1::{Component, RiskScore};

    fn score() -> RiskScore {
        RiskScore {
            mineral: "REE".into(),
            importer: "JPN".into(),
            score: 0.42,
            components: vec![Component {
                name: "hhi".into(),
                value: 0.3,
                meaning: "concentration".into(),
            }],
            ..Default::default()
        }
    }

    #[test]
    fn preencoded_bytes_decode_as_the_original_message() {
        let score = score();
        let pre = PreEncoded::new(&score);
        assert_eq!(pre.encoded_len(), score.encoded_len());
        let wire = pre.encode_to_vec();
        assert_eq!(RiskScore::decode(wire.as_slice()).expect("decodes"), score);
        assert_eq!(PreEncoded::default().encoded_len(), 0);
    }

    #[test]
    fn the_frame_is_a_flag_a_length_and_the_message() {
        let score = score();
        let frame = PreEncoded::new(&score).into_frame();
        let len = score.encoded_len();
        assert_eq!(frame[0], 0, "not compressed");
        assert_eq!(
            u32::from_be_bytes([frame[1], frame[2], frame[3], frame[4]]) as usize,
            len
        );
        assert_eq!(frame.len(), FRAME_HEADER + len);
        assert_eq!(RiskScore::decode(&frame[FRAME_HEADER..]).expect("decodes"), score);
        assert_eq!(grpc_frame(&score), frame.to_vec());
    }
}
