//! The vendored selfie segmentation models, run by tract, against the
//! masks their converted files gave for the same inputs
//! (tests/data: inputs as lossless PNG, masks as 16-bit fixed point).

use sluice_ml::{Segmenter, SelfieModel};
use std::path::Path;

fn data(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// The RGB bytes of a PNG.
fn rgb(path: &Path) -> (usize, usize, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(path).expect("test picture"),
    ));
    let mut reader = decoder.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("png data");
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    (info.width as usize, info.height as usize, buf)
}

fn check(model: SelfieModel) {
    let (w, h) = model.size();
    let (pw, ph, pixels) = rgb(&data(&format!("{}_in.png", model.name())));
    assert_eq!((pw, ph), (w, h));
    let mut input = vec![0f32; 3 * w * h];
    for (c, plane) in input.chunks_exact_mut(w * h).enumerate() {
        for (v, px) in plane.iter_mut().zip(pixels.chunks_exact(3)) {
            *v = f32::from(px[c]) / 255.0;
        }
    }
    let want: Vec<f32> = std::fs::read(data(&format!("{}_ref.u16", model.name())))
        .expect("reference mask")
        .chunks_exact(2)
        .map(|b| f32::from(u16::from_le_bytes([b[0], b[1]])) / 65535.0)
        .collect();
    let mut seg = Segmenter::new(model).expect("loads");
    let mut got = vec![0f32; w * h];
    seg.run_tensor(&input, &mut got).expect("runs");
    let worst = got
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(worst < 1e-3, "{}: max |diff| {worst}", model.name());
    // The state is reused: a second run gives the same answer.
    let mut again = vec![0f32; w * h];
    seg.run_tensor(&input, &mut again).expect("runs again");
    assert_eq!(got, again);
}

#[test]
fn landscape_model_matches_its_reference() {
    check(SelfieModel::Landscape);
}

#[test]
fn square_model_matches_its_reference() {
    check(SelfieModel::Square);
}
