use super::*;
use proptest::prelude::*;

const LIMIT: usize = 640;

fn b64(samples: &[i16]) -> String {
    let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    STANDARD.encode(bytes)
}

#[test]
fn audio_metadata_camel_case() {
    let m = decode(
        br#"{"kind":"AudioMetadata","audioMetadata":{"subscriptionId":"89e8cb59-b991-48b0-b154-1db84f16a077","encoding":"PCM","sampleRate":16000,"channels":1,"length":640}}"#,
        LIMIT,
    )
    .unwrap();
    assert_eq!(
        m,
        Message::AudioMetadata(AudioMetadata {
            subscription_id: "89e8cb59-b991-48b0-b154-1db84f16a077".into(),
            sample_rate: 16000,
            channels: 1,
            length: 640,
        })
    );
}

#[test]
fn audio_metadata_pascal_case() {
    let m = decode(
        br#"{"Kind":"AudioMetadata","AudioMetadata":{"SubscriptionId":"s","Encoding":"PCM","SampleRate":24000,"Channels":1,"Length":960}}"#,
        LIMIT,
    )
    .unwrap();
    let Message::AudioMetadata(m) = m else {
        panic!("not metadata")
    };
    assert_eq!(
        (m.sample_rate, m.length, m.chunk_samples()),
        (24000, 960, 480)
    );
}

#[test]
fn audio_data_both_casings() {
    let samples = [0i16, 1, -1, i16::MAX, i16::MIN, 1234];
    let camel = format!(
        r#"{{"kind":"AudioData","audioData":{{"timestamp":"2024-05-21T10:11:12.020Z","participantRawID":"8:acs:abc","data":"{}","silent":false}}}}"#,
        b64(&samples)
    );
    let pascal = format!(
        r#"{{"Kind":"AudioData","AudioData":{{"Timestamp":"2024-05-21T10:11:12.020Z","ParticipantRawID":"8:acs:abc","Data":"{}","Silent":false}}}}"#,
        b64(&samples)
    );
    for text in [camel, pascal] {
        let Message::AudioData(d) = decode(text.as_bytes(), LIMIT).unwrap() else {
            panic!("not audio")
        };
        assert_eq!(d.samples, samples);
        assert_eq!(d.participant, "8:acs:abc");
        assert_eq!(d.timestamp, Some(1_716_286_272_020_000));
        assert!(!d.silent);
    }
}

#[test]
fn silent_mixed_audio_without_id_or_data() {
    let Message::AudioData(d) = decode(
        br#"{"kind":"AudioData","audioData":{"timestamp":"2024-05-21T10:11:12Z","data":"","silent":true}}"#,
        LIMIT,
    )
    .unwrap() else {
        panic!("not audio")
    };
    assert!(d.silent && d.samples.is_empty() && d.participant.is_empty());
}

#[test]
fn dtmf_and_stop_audio() {
    assert_eq!(
        decode(br#"{"kind":"DtmfData","dtmfData":{"data":"3"}}"#, LIMIT).unwrap(),
        Message::DtmfData(Dtmf {
            tone: '3',
            participant: String::new()
        })
    );
    assert_eq!(
        decode(br##"{"Kind":"DtmfData","DtmfData":{"Data":"#"}}"##, LIMIT).unwrap(),
        Message::DtmfData(Dtmf {
            tone: '#',
            participant: String::new()
        })
    );
    assert_eq!(
        decode(STOP_AUDIO.as_bytes(), LIMIT).unwrap(),
        Message::StopAudio
    );
}

#[test]
fn encode_audio_round_trips_through_the_decoder() {
    let samples: Vec<i16> = (0..320).map(|i| (i * 97 - 15000) as i16).collect();
    let (mut bytes, mut text) = (Vec::new(), String::new());
    encode_audio(&samples, &mut bytes, &mut text);
    assert!(text.starts_with(r#"{"kind":"AudioData","audioData":{"data":""#));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["audioData"].as_object().unwrap().len(), 1);
    // As every SDK serializer writes it: `stopAudio` present and null.
    assert!(v.as_object().unwrap()["stopAudio"].is_null());
    let Message::AudioData(d) = decode(text.as_bytes(), LIMIT).unwrap() else {
        panic!("not audio")
    };
    assert_eq!(d.samples, samples);
}

#[test]
fn stop_audio_is_the_documented_shape() {
    let v: serde_json::Value = serde_json::from_str(STOP_AUDIO).unwrap();
    assert_eq!(v["kind"], "StopAudio");
    assert!(v["audioData"].is_null());
    assert!(v["stopAudio"].as_object().unwrap().is_empty());
}

fn err(text: &str) -> ProtocolError {
    decode(text.as_bytes(), LIMIT).unwrap_err()
}

#[test]
fn malformed_json() {
    assert!(matches!(err("{not json"), ProtocolError::Json(_)));
    assert!(matches!(err(r#"{"audioData":{}}"#), ProtocolError::Json(_)));
    assert!(matches!(err("[1,2,3]"), ProtocolError::Json(_)));
    let e = err(r#"{"kind":"AudioMetadata","audioMetadata":{"encoding":"PCM"}}"#);
    assert!(e.to_string().contains("sampleRate"), "{e}");
}

#[test]
fn unknown_kind() {
    let e = err(r#"{"kind":"VideoData","videoData":{}}"#);
    assert_eq!(e, ProtocolError::UnknownKind("VideoData".into()));
    assert!(e.to_string().contains("VideoData"));
}

#[test]
fn missing_body() {
    assert_eq!(
        err(r#"{"kind":"AudioData","audioData":null}"#),
        ProtocolError::MissingBody("audioData")
    );
    assert_eq!(
        err(r#"{"kind":"AudioMetadata"}"#),
        ProtocolError::MissingBody("audioMetadata")
    );
    assert_eq!(
        err(r#"{"kind":"DtmfData"}"#),
        ProtocolError::MissingBody("dtmfData")
    );
}

#[test]
fn bad_base64() {
    let e = err(r#"{"kind":"AudioData","audioData":{"data":"!!!!","participantRawID":"a"}}"#);
    assert!(matches!(e, ProtocolError::BadBase64(_)), "{e}");
}

#[test]
fn odd_byte_count() {
    let data = STANDARD.encode([1u8, 2, 3]);
    let e = err(&format!(
        r#"{{"kind":"AudioData","audioData":{{"data":"{data}"}}}}"#
    ));
    assert_eq!(e, ProtocolError::OddByteCount(3));
}

#[test]
fn frame_longer_than_metadata_length() {
    let just_over = b64(&[0i16; LIMIT / 2 + 1]);
    let e = err(&format!(
        r#"{{"kind":"AudioData","audioData":{{"data":"{just_over}"}}}}"#
    ));
    assert_eq!(
        e,
        ProtocolError::FrameTooLong {
            len: LIMIT + 2,
            max: LIMIT
        }
    );
    let huge = "A".repeat(100_000);
    let e = err(&format!(
        r#"{{"kind":"AudioData","audioData":{{"data":"{huge}"}}}}"#
    ));
    assert!(matches!(e, ProtocolError::FrameTooLong { .. }), "{e}");
    let exact = b64(&[0i16; LIMIT / 2]);
    assert!(decode(
        format!(r#"{{"kind":"AudioData","audioData":{{"data":"{exact}"}}}}"#).as_bytes(),
        LIMIT
    )
    .is_ok());
}

#[test]
fn message_too_large() {
    let text = vec![b' '; MAX_MESSAGE_BYTES + 1];
    assert_eq!(
        decode(&text, LIMIT).unwrap_err(),
        ProtocolError::TooLarge {
            len: MAX_MESSAGE_BYTES + 1
        }
    );
}

#[test]
fn bad_metadata() {
    let meta = |enc: &str, rate: i64, ch: i64, len: i64| {
        err(&format!(
            r#"{{"kind":"AudioMetadata","audioMetadata":{{"subscriptionId":"s","encoding":"{enc}","sampleRate":{rate},"channels":{ch},"length":{len}}}}}"#
        ))
    };
    for (e, needle) in [
        (meta("OPUS", 16000, 1, 640), "encoding"),
        (meta("PCM", 44100, 1, 640), "sampleRate 44100"),
        (meta("PCM", 16000, 2, 640), "channels 2"),
        (meta("PCM", 16000, 1, 641), "length 641"),
        (meta("PCM", 16000, 1, 0), "length 0"),
        (meta("PCM", 16000, 1, 1 << 40), "length"),
    ] {
        assert!(matches!(e, ProtocolError::BadMetadata(_)), "{e}");
        assert!(e.to_string().contains(needle), "{e}");
    }
    assert!(matches!(meta("PCM", -1, 1, 640), ProtocolError::Json(_)));
}

#[test]
fn a_bad_timestamp_falls_back_to_arrival_order() {
    let Message::AudioData(d) = decode(
        br#"{"kind":"AudioData","audioData":{"timestamp":"noon","data":"AAA="}}"#,
        LIMIT,
    )
    .unwrap() else {
        panic!("not audio")
    };
    assert_eq!((d.timestamp, d.bad_timestamp), (None, true));
    assert_eq!(d.samples, [0]);
}

#[test]
fn ids_are_cut_as_they_are_decoded() {
    let id = "8".repeat(900 * 1024);
    let text =
        format!(r#"{{"kind":"AudioData","audioData":{{"participantRawID":"{id}","data":""}}}}"#);
    let Message::AudioData(d) = decode(text.as_bytes(), LIMIT).unwrap() else {
        panic!("not audio")
    };
    assert_eq!(d.participant.len(), crate::acs::ids::MAX_PARTICIPANT_ID);
    let text =
        format!(r#"{{"kind":"DtmfData","dtmfData":{{"data":"1","participantRawID":"{id}"}}}}"#);
    let Message::DtmfData(t) = decode(text.as_bytes(), LIMIT).unwrap() else {
        panic!("not dtmf")
    };
    assert_eq!(t.participant.len(), crate::acs::ids::MAX_PARTICIPANT_ID);
}

#[test]
fn a_huge_bad_value_is_not_echoed_whole() {
    let rate = "9".repeat(900 * 1024);
    let e = err(&format!(
        r#"{{"kind":"AudioMetadata","audioMetadata":{{"encoding":"PCM","sampleRate":"{rate}","channels":1,"length":640}}}}"#
    ));
    assert!(matches!(e, ProtocolError::Json(_)), "{e}");
    assert!(e.to_string().len() <= 250, "{} bytes", e.to_string().len());
}

#[test]
fn bad_dtmf() {
    for tone in ["", "12", "E", "x"] {
        let e = err(&format!(
            r#"{{"kind":"DtmfData","dtmfData":{{"data":"{tone}"}}}}"#
        ));
        assert!(matches!(e, ProtocolError::BadDtmf(_)), "{tone}: {e}");
    }
}

#[test]
fn errors_do_not_echo_unbounded_client_text() {
    let kind = "K".repeat(10_000);
    let e = err(&format!(r#"{{"kind":"{kind}"}}"#));
    assert!(e.to_string().len() < 200);
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = decode(&bytes, LIMIT);
    }

    #[test]
    fn mutated_messages_never_panic(cut in 0usize..200, byte in any::<u8>(), at in 0usize..200) {
        let mut text = format!(
            r#"{{"kind":"AudioData","audioData":{{"timestamp":"2024-05-21T10:11:12.020Z","participantRawID":"p","data":"{}","silent":false}}}}"#,
            b64(&[1, 2, 3, 4])
        ).into_bytes();
        let at = at % text.len();
        text[at] = byte;
        text.truncate(text.len().saturating_sub(cut % 8));
        let _ = decode(&text, LIMIT);
    }

    #[test]
    fn any_pcm_round_trips(samples in proptest::collection::vec(any::<i16>(), 0..320)) {
        let (mut bytes, mut text) = (Vec::new(), String::new());
        encode_audio(&samples, &mut bytes, &mut text);
        let Message::AudioData(d) = decode(text.as_bytes(), LIMIT).unwrap() else {
            panic!("not audio")
        };
        prop_assert_eq!(d.samples, samples);
    }
}
