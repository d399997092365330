//! The audio streaming protocol of Azure Communication Services call
//! automation, as JSON text messages over a WebSocket.
//!
//! Incoming: `AudioMetadata` (first), then `AudioData` every 20 ms per
//! participant (base64 16-bit PCM LE mono) and `DtmfData`.
//! Outgoing: `AudioData` with only `data` (and `"stopAudio": null`, as the
//! platform's SDK serializers write it), and `StopAudio` for barge-in.
//! Field names are accepted in camelCase (the documented spelling) and
//! PascalCase (what the .NET SDK's serializer sends).
//!
//! The decoder never panics and never allocates more than the message's
//! own size: every bad input is a [`ProtocolError`] that says what is wrong,
//! echoing at most [`MAX_ECHO_BYTES`] of the client's text. Ids are cut
//! as they are decoded ([`ids::bounded`]), so a client cannot make the
//! server keep megabytes of ids.

use super::ids::{self, bounded, echo, MAX_CALL_ID, MAX_ECHO_BYTES, MAX_PARTICIPANT_ID};
use super::timestamp::{parse_iso8601, Micros};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Deserialize;
use std::fmt;

/// Largest message accepted, in bytes: a 20 ms frame at 24 kHz is about
/// 1.3 KiB of base64, so 1 MiB leaves room for any real message while
/// bounding what one client can make the server hold.
pub const MAX_MESSAGE_BYTES: usize = 1 << 20;

/// Sample rates the platform streams at.
pub const CALL_RATES: [u32; 2] = [16_000, 24_000];

/// Duration of one message's audio in milliseconds.
pub const CHUNK_MS: u32 = 20;

/// A decoded incoming message.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// The call's audio format; always the first message.
    AudioMetadata(AudioMetadata),
    /// One chunk of one participant's audio (or of the mixed stream).
    AudioData(AudioData),
    /// A DTMF tone pressed by a participant.
    DtmfData(Dtmf),
    /// Stop playing the audio queued for sending. The platform never
    /// sends it (it is the server's barge-in message); a client that does
    /// drops the audio queued for it.
    StopAudio,
}

/// The format of a call's audio, from its `AudioMetadata` message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioMetadata {
    /// The platform's id for this media subscription.
    pub subscription_id: String,
    /// Sample rate of every chunk, in Hz (16000 or 24000).
    pub sample_rate: u32,
    /// Channel count (always 1).
    pub channels: u16,
    /// Bytes of PCM in a full 20 ms chunk: the cap on any one `AudioData`.
    pub length: usize,
}

impl AudioMetadata {
    /// Samples in a full chunk.
    pub fn chunk_samples(&self) -> usize {
        self.length / 2
    }
}

/// One chunk of audio from the call.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioData {
    /// When the chunk was captured, in microseconds since the Unix epoch
    /// (`None` without a readable timestamp: the chunk keeps arrival order).
    pub timestamp: Option<Micros>,
    /// A timestamp was given but is not ISO 8601 (counted by the caller).
    pub bad_timestamp: bool,
    /// The participant's raw id (cut to [`MAX_PARTICIPANT_ID`] bytes); empty
    /// in mixed mode.
    pub participant: String,
    /// 16-bit samples, mono.
    pub samples: Vec<i16>,
    /// The platform marks the chunk as silence (muted or not speaking).
    pub silent: bool,
}

/// A DTMF tone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dtmf {
    /// The tone: `0`-`9`, `*`, `#` or `A`-`D`.
    pub tone: char,
    /// The participant who pressed it, if the platform says (cut to
    /// [`MAX_PARTICIPANT_ID`] bytes).
    pub participant: String,
}

/// Why a message was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    /// The message is larger than [`MAX_MESSAGE_BYTES`].
    TooLarge {
        /// Its size in bytes.
        len: usize,
    },
    /// Not JSON, or not the shape of any known message.
    Json(String),
    /// A `kind` this decoder does not know.
    UnknownKind(String),
    /// The `kind` names a body that is missing or null.
    MissingBody(&'static str),
    /// `data` is not valid base64.
    BadBase64(String),
    /// The PCM has an odd number of bytes (16-bit samples need pairs).
    OddByteCount(usize),
    /// More PCM than the call's `AudioMetadata` length allows.
    FrameTooLong {
        /// Bytes of PCM in the message.
        len: usize,
        /// The cap from the metadata.
        max: usize,
    },
    /// The metadata describes a format this server cannot take.
    BadMetadata(String),
    /// The DTMF tone is not one of `0-9 * # A-D`.
    BadDtmf(String),
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::TooLarge { len } => write!(
                f,
                "message of {len} bytes is larger than the {MAX_MESSAGE_BYTES}-byte limit"
            ),
            ProtocolError::Json(e) => write!(f, "malformed message: {e}"),
            ProtocolError::UnknownKind(k) => write!(
                f,
                "unknown message kind {k:?} (expected AudioMetadata, AudioData, DtmfData or StopAudio)"
            ),
            ProtocolError::MissingBody(b) => write!(f, "message has no `{b}` object"),
            ProtocolError::BadBase64(e) => write!(f, "audio data is not valid base64: {e}"),
            ProtocolError::OddByteCount(n) => write!(
                f,
                "audio data has {n} bytes, not a whole number of 16-bit samples"
            ),
            ProtocolError::FrameTooLong { len, max } => write!(
                f,
                "audio data of {len} bytes is longer than the {max} bytes the AudioMetadata announced"
            ),
            ProtocolError::BadMetadata(e) => write!(f, "unsupported AudioMetadata: {e}"),
            ProtocolError::BadDtmf(t) => {
                write!(f, "DTMF tone {t:?} is not one of 0-9, *, #, A-D")
            }
        }
    }
}

impl std::error::Error for ProtocolError {}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    #[serde(alias = "Kind")]
    kind: String,
    #[serde(default, alias = "AudioMetadata")]
    audio_metadata: Option<MetadataBody>,
    #[serde(default, alias = "AudioData")]
    audio_data: Option<DataBody>,
    #[serde(default, alias = "DtmfData")]
    dtmf_data: Option<DtmfBody>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MetadataBody {
    #[serde(default, alias = "SubscriptionId")]
    subscription_id: String,
    #[serde(alias = "Encoding")]
    encoding: String,
    #[serde(alias = "SampleRate")]
    sample_rate: u64,
    #[serde(alias = "Channels")]
    channels: u64,
    #[serde(alias = "Length")]
    length: u64,
}

#[derive(Deserialize)]
struct DataBody {
    #[serde(default, alias = "Timestamp")]
    timestamp: Option<String>,
    #[serde(default, rename = "participantRawID", alias = "ParticipantRawID")]
    participant: Option<String>,
    #[serde(default, alias = "Data")]
    data: String,
    #[serde(default, alias = "Silent")]
    silent: bool,
}

#[derive(Deserialize)]
struct DtmfBody {
    #[serde(alias = "Data")]
    data: String,
    #[serde(default, rename = "participantRawID", alias = "ParticipantRawID")]
    participant: Option<String>,
}

/// Decodes one text message. `frame_limit` caps the PCM bytes of an
/// `AudioData` (the call's metadata `length`; before the metadata, use
/// [`max_chunk_bytes`] of the highest rate).
pub fn decode(text: &[u8], frame_limit: usize) -> Result<Message, ProtocolError> {
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(ProtocolError::TooLarge { len: text.len() });
    }
    let env: Envelope =
        serde_json::from_slice(text).map_err(|e| ProtocolError::Json(echo(&e.to_string())))?;
    match env.kind.as_str() {
        "AudioMetadata" => {
            let body = env
                .audio_metadata
                .ok_or(ProtocolError::MissingBody("audioMetadata"))?;
            metadata(body).map(Message::AudioMetadata)
        }
        "AudioData" => {
            let body = env
                .audio_data
                .ok_or(ProtocolError::MissingBody("audioData"))?;
            audio(body, frame_limit).map(Message::AudioData)
        }
        "DtmfData" => {
            let body = env
                .dtmf_data
                .ok_or(ProtocolError::MissingBody("dtmfData"))?;
            dtmf(body).map(Message::DtmfData)
        }
        "StopAudio" => Ok(Message::StopAudio),
        other => Err(ProtocolError::UnknownKind(truncate(other, 64))),
    }
}

/// Bytes of PCM in a 20 ms chunk at `rate`.
pub fn max_chunk_bytes(rate: u32) -> usize {
    (rate as usize * CHUNK_MS as usize / 1000) * 2
}

fn metadata(b: MetadataBody) -> Result<AudioMetadata, ProtocolError> {
    if !b.encoding.eq_ignore_ascii_case("PCM") {
        return Err(ProtocolError::BadMetadata(format!(
            "encoding {:?} (only PCM is supported)",
            truncate(&b.encoding, 32)
        )));
    }
    let rate = u32::try_from(b.sample_rate)
        .ok()
        .filter(|r| CALL_RATES.contains(r))
        .ok_or_else(|| {
            ProtocolError::BadMetadata(format!(
                "sampleRate {} (the platform streams 16000 or 24000)",
                b.sample_rate
            ))
        })?;
    if b.channels != 1 {
        return Err(ProtocolError::BadMetadata(format!(
            "channels {} (audio streaming is mono)",
            b.channels
        )));
    }
    let cap = 5 * max_chunk_bytes(rate);
    let length = usize::try_from(b.length)
        .ok()
        .filter(|&l| l >= 2 && l % 2 == 0 && l <= cap)
        .ok_or_else(|| {
            ProtocolError::BadMetadata(format!(
                "length {} (expected an even byte count up to {cap}; 20 ms at {rate} Hz is {})",
                b.length,
                max_chunk_bytes(rate)
            ))
        })?;
    Ok(AudioMetadata {
        subscription_id: bounded(&b.subscription_id, MAX_CALL_ID),
        sample_rate: rate,
        channels: 1,
        length,
    })
}

fn audio(b: DataBody, frame_limit: usize) -> Result<AudioData, ProtocolError> {
    let timestamp = match b.timestamp.as_deref() {
        None | Some("") => None,
        Some(t) => parse_iso8601(t),
    };
    let bad_timestamp = timestamp.is_none() && b.timestamp.is_some_and(|t| !t.is_empty());
    let encoded = b.data.as_bytes();
    // Check the decoded size from the encoded one before decoding anything.
    if encoded.len() > (frame_limit.div_ceil(3) + 1) * 4 {
        let len = base64::decoded_len_estimate(encoded.len());
        return Err(ProtocolError::FrameTooLong {
            len,
            max: frame_limit,
        });
    }
    let bytes = STANDARD
        .decode(encoded)
        .map_err(|e| ProtocolError::BadBase64(e.to_string()))?;
    if bytes.len() % 2 != 0 {
        return Err(ProtocolError::OddByteCount(bytes.len()));
    }
    if bytes.len() > frame_limit {
        return Err(ProtocolError::FrameTooLong {
            len: bytes.len(),
            max: frame_limit,
        });
    }
    let samples = bytes
        .chunks_exact(2)
        .map(|p| i16::from_le_bytes([p[0], p[1]]))
        .collect();
    Ok(AudioData {
        timestamp,
        bad_timestamp,
        participant: participant(b.participant),
        samples,
        silent: b.silent,
    })
}

fn dtmf(b: DtmfBody) -> Result<Dtmf, ProtocolError> {
    let mut chars = b.data.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if matches!(c, '0'..='9' | '*' | '#' | 'A'..='D') => Ok(Dtmf {
            tone: c,
            participant: participant(b.participant),
        }),
        _ => Err(ProtocolError::BadDtmf(truncate(&b.data, 16))),
    }
}

/// A participant id as kept: cut and hashed past [`MAX_PARTICIPANT_ID`].
fn participant(id: Option<String>) -> String {
    match id {
        Some(id) if id.len() > MAX_PARTICIPANT_ID => bounded(&id, MAX_PARTICIPANT_ID),
        Some(id) => id,
        None => String::new(),
    }
}

/// At most `max` bytes of `s` (error messages echo client text, and a
/// client must not make them arbitrarily long).
fn truncate(s: &str, max: usize) -> String {
    ids::cut(s, max.min(MAX_ECHO_BYTES)).to_string()
}

/// Writes an outgoing `AudioData` message for `samples` into `out`
/// (cleared first; reusing one `String` avoids an allocation per message),
/// with `"stopAudio": null` as the platform's SDK serializers write it.
pub fn encode_audio(samples: &[i16], bytes: &mut Vec<u8>, out: &mut String) {
    bytes.clear();
    for s in samples {
        bytes.extend_from_slice(&s.to_le_bytes());
    }
    out.clear();
    out.push_str(r#"{"kind":"AudioData","audioData":{"data":""#);
    STANDARD.encode_string(bytes, out);
    out.push_str(r#""},"stopAudio":null}"#);
}

/// The outgoing `StopAudio` message (barge-in: drop what was queued).
pub const STOP_AUDIO: &str = r#"{"kind":"StopAudio","audioData":null,"stopAudio":{}}"#;

#[cfg(test)]
mod tests;
