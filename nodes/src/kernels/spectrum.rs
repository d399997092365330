//! Complex multiply-accumulate over spectra stored as split real and
//! imaginary arrays: the inner loop of partitioned FFT convolution (every
//! source, every partition, every ear runs it once per tick).
//!
//! Split storage lets one `f32x8` hold eight bins' real parts, so a complex
//! product is four multiplies and two adds on whole registers with no
//! shuffles. The SIMD and scalar versions compute the same expressions in
//! the same order and agree bit for bit.

use wide::f32x8;

const LANES: usize = 8;

/// `acc += x * h` bin by bin, with SIMD: why it exists is to keep the
/// per-source cost of HRTF rendering near the memory-bandwidth floor.
///
/// All six slices must have the same length (any length; a tail shorter
/// than eight bins runs scalar).
pub fn cmac(
    acc_re: &mut [f32],
    acc_im: &mut [f32],
    x_re: &[f32],
    x_im: &[f32],
    h_re: &[f32],
    h_im: &[f32],
) {
    let n = acc_re.len();
    assert!(
        acc_im.len() == n
            && x_re.len() == n
            && x_im.len() == n
            && h_re.len() == n
            && h_im.len() == n,
        "cmac: slices differ in length"
    );
    let body = n - n % LANES;
    let lanes = |s: &[f32], i: usize| f32x8::new(s[i..i + LANES].try_into().expect("8 lanes"));
    let mut i = 0;
    while i < body {
        let (xr, xi) = (lanes(x_re, i), lanes(x_im, i));
        let (hr, hi) = (lanes(h_re, i), lanes(h_im, i));
        let re = lanes(acc_re, i) + (xr * hr - xi * hi);
        let im = lanes(acc_im, i) + (xr * hi + xi * hr);
        acc_re[i..i + LANES].copy_from_slice(re.as_array());
        acc_im[i..i + LANES].copy_from_slice(im.as_array());
        i += LANES;
    }
    cmac_scalar(
        &mut acc_re[body..],
        &mut acc_im[body..],
        &x_re[body..],
        &x_im[body..],
        &h_re[body..],
        &h_im[body..],
    );
}

/// Scalar reference for [`cmac`]: the definition the SIMD version is
/// tested against, and the tail loop it runs.
pub fn cmac_scalar(
    acc_re: &mut [f32],
    acc_im: &mut [f32],
    x_re: &[f32],
    x_im: &[f32],
    h_re: &[f32],
    h_im: &[f32],
) {
    for i in 0..acc_re.len() {
        let (xr, xi, hr, hi) = (x_re[i], x_im[i], h_re[i], h_im[i]);
        acc_re[i] += xr * hr - xi * hi;
        acc_im[i] += xr * hi + xi * hr;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn spectra(n: usize) -> impl Strategy<Value = Vec<Vec<f32>>> {
        prop::collection::vec(prop::collection::vec(-4.0f32..4.0, n), 6)
    }

    proptest! {
        #[test]
        fn simd_matches_scalar_bit_for_bit(v in (0usize..70).prop_flat_map(spectra)) {
            let (mut a_re, mut a_im) = (v[0].clone(), v[1].clone());
            let (mut b_re, mut b_im) = (v[0].clone(), v[1].clone());
            cmac(&mut a_re, &mut a_im, &v[2], &v[3], &v[4], &v[5]);
            cmac_scalar(&mut b_re, &mut b_im, &v[2], &v[3], &v[4], &v[5]);
            prop_assert_eq!(a_re, b_re);
            prop_assert_eq!(a_im, b_im);
        }
    }

    #[test]
    fn multiplies_complex_numbers() {
        let (mut re, mut im) = (vec![1.0], vec![1.0]);
        // (1 + 2i)(3 - i) = 5 + 5i, plus the 1 + i already there.
        cmac_scalar(&mut re, &mut im, &[1.0], &[2.0], &[3.0], &[-1.0]);
        assert_eq!((re[0], im[0]), (6.0, 6.0));
    }
}
