//! Small conversions between decibels and linear gain, shared by the audio
//! nodes (parameters arrive in dB).

/// Linear amplitude of a level in dB (relative to full scale, or a gain).
pub fn db_to_gain(db: f64) -> f32 {
    10f64.powf(db / 20.0) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_levels() {
        assert_eq!(db_to_gain(0.0), 1.0);
        assert!((db_to_gain(-6.0206) - 0.5).abs() < 1e-5);
        assert!((db_to_gain(20.0) - 10.0).abs() < 1e-5);
    }
}
