//! What a file that is not WAV holds, from its first bytes, so `wav_in`
//! can say what it found and how to convert it rather than only "no
//! RIFF/WAVE signature".

/// The format whose signature starts `head` (the file's first 12 bytes),
/// among those people hand to `wav_in` by mistake; `None` when unknown.
pub fn sniff(head: &[u8]) -> Option<&'static str> {
    let at = |i: usize, sig: &[u8]| head.get(i..i + sig.len()) == Some(sig);
    if at(0, b"ID3") {
        return Some("MP3 audio (with an ID3 tag)");
    }
    if let [0xFF, b, ..] = head {
        // An MPEG audio frame header: 11 sync bits, then the layer bits
        // (00 in AAC's ADTS framing).
        if b & 0xE0 == 0xE0 {
            return Some(if b & 0x06 == 0 {
                "AAC audio (ADTS)"
            } else {
                "MP3 audio"
            });
        }
    }
    let known: [(usize, &[u8], &str); 6] = [
        (0, b"OggS", "Ogg audio (Vorbis or Opus)"),
        (0, b"fLaC", "FLAC audio"),
        (4, b"ftyp", "MP4 or M4A media"),
        (0, b"\x1A\x45\xDF\xA3", "Matroska or WebM media"),
        (8, b"AIFF", "AIFF audio"),
        (0, b"RF64", "RF64 (64-bit WAV) audio"),
    ];
    known
        .iter()
        .find(|(i, sig, _)| at(*i, sig))
        .map(|(_, _, what)| *what)
}

#[cfg(test)]
mod tests {
    use super::sniff;

    #[test]
    fn names_what_people_mistake_for_wav() {
        assert_eq!(
            sniff(b"ID3\x04\0\0\0\0\0\x0f\0\0"),
            Some("MP3 audio (with an ID3 tag)")
        );
        assert_eq!(sniff(&[0xFF, 0xFB, 0x90, 0x64]), Some("MP3 audio"));
        assert_eq!(sniff(&[0xFF, 0xF1, 0x50, 0x80]), Some("AAC audio (ADTS)"));
        assert_eq!(
            sniff(b"OggS\0\x02\0\0\0\0\0\0"),
            Some("Ogg audio (Vorbis or Opus)")
        );
        assert_eq!(sniff(b"\0\0\0\x20ftypM4A "), Some("MP4 or M4A media"));
        assert_eq!(sniff(b"FORM\0\0\0\x10AIFF"), Some("AIFF audio"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WAVE"), None);
        assert_eq!(sniff(b"hello"), None);
        assert_eq!(sniff(b""), None);
    }
}
