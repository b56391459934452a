//! A message already in wire form.
//!
//! A cached answer is encoded once and served many times; sending these
//! bytes is indistinguishable on the wire from encoding the message again.

use bytes::{Buf, BufMut, Bytes};
use prost::Message;
use prost::encoding::{DecodeContext, WireType};

/// The protobuf encoding of one message, sent as is.
///
/// Only for answers a server sends: decoding into it keeps nothing, so a
/// client decodes the concrete message type instead.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PreEncoded(Bytes);

impl PreEncoded {
    /// Encodes `message` once.
    pub fn new(message: &impl Message) -> Self {
        Self(Bytes::from(message.encode_to_vec()))
    }

    /// The encoded bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl Message for PreEncoded {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        buf.put_slice(&self.0);
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
        self.0.len()
    }

    fn clear(&mut self) {
        self.0 = Bytes::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::v1::{Component, RiskScore};

    #[test]
    fn preencoded_bytes_decode_as_the_original_message() {
        let score = RiskScore {
            mineral: "REE".into(),
            importer: "JPN".into(),
            score: 0.42,
            components: vec![Component {
                name: "hhi".into(),
                value: 0.3,
                meaning: "concentration".into(),
            }],
            ..Default::default()
        };
        let pre = PreEncoded::new(&score);
        assert_eq!(pre.encoded_len(), score.encoded_len());
        let wire = pre.encode_to_vec();
        assert_eq!(RiskScore::decode(wire.as_slice()).expect("decodes"), score);
    }
}
