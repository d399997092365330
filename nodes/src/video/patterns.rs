//! Pictures for `video_test`, drawn in RGBA at any size (everything scales
//! with the frame height): colour bars, a gradient, a textured room and a
//! head-and-shoulders figure to move across it, and a scrolling checker.

/// A small integer hash, for repeatable texture noise.
fn hash(x: usize, y: usize, salt: u32) -> u32 {
    let mut h = (x as u32).wrapping_mul(0x9E37_79B1) ^ (y as u32).wrapping_mul(0x85EB_CA77) ^ salt;
    h ^= h >> 15;
    h = h.wrapping_mul(0x2C1B_3C6D);
    h ^= h >> 12;
    h = h.wrapping_mul(0x297A_2D39);
    h ^ (h >> 15)
}

/// Noise in `-amp..=amp`.
fn noise(x: usize, y: usize, salt: u32, amp: i32) -> i32 {
    (hash(x, y, salt) % (2 * amp as u32 + 1)) as i32 - amp
}

fn put(rgba: &mut [u8], i: usize, c: [i32; 3]) {
    let p = &mut rgba[i * 4..i * 4 + 4];
    for k in 0..3 {
        p[k] = c[k].clamp(0, 255) as u8;
    }
    p[3] = 255;
}

/// 75% colour bars (white, yellow, cyan, green, magenta, red, blue) over
/// the top two thirds, then a black-to-white luma ramp.
pub fn bars(w: usize, h: usize) -> Vec<u8> {
    const BARS: [[i32; 3]; 7] = [
        [191, 191, 191],
        [191, 191, 0],
        [0, 191, 191],
        [0, 191, 0],
        [191, 0, 191],
        [191, 0, 0],
        [0, 0, 191],
    ];
    let mut out = vec![0; w * h * 4];
    for i in 0..w * h {
        let (x, y) = (i % w, i / w);
        let c = if y < h * 2 / 3 {
            BARS[(x * 7 / w).min(6)]
        } else {
            let v = (x * 255 / (w - 1).max(1)) as i32;
            [v, v, v]
        };
        put(&mut out, i, c);
    }
    out
}

/// Red across, green down, blue along the diagonal: every colour once.
pub fn gradient(w: usize, h: usize) -> Vec<u8> {
    let mut out = vec![0; w * h * 4];
    let (wd, hd) = ((w - 1).max(1), (h - 1).max(1));
    for i in 0..w * h {
        let (x, y) = (i % w, i / w);
        let r = (x * 255 / wd) as i32;
        let g = (y * 255 / hd) as i32;
        let b = 255 - ((x * hd + y * wd) * 255 / (2 * wd * hd)) as i32;
        put(&mut out, i, [r, g, b]);
    }
    out
}

/// A still, textured room: a plastered wall, a window with sky, a
/// bookshelf of coloured spines and a wooden floor, with fine noise
/// everywhere so blur and background tools have detail to work on.
pub fn room(w: usize, h: usize) -> Vec<u8> {
    let mut out = vec![0; w * h * 4];
    let u = h as f64 / 720.0;
    let px = |v: f64| (v * u) as usize;
    let floor = h * 4 / 5;
    let (win_x0, win_x1, win_y0, win_y1) = (px(90.0), px(430.0), px(80.0), px(380.0));
    let shelf_x0 = w.saturating_sub(px(420.0));
    let shelf_x1 = w.saturating_sub(px(60.0));
    let (shelf_y0, shelf_y1) = (px(120.0), floor);
    let shelf_rows = 4;
    for i in 0..w * h {
        let (x, y) = (i % w, i / w);
        let n = noise(x, y, 1, 6);
        let c = if y >= floor {
            // Wood: planks with grain stripes.
            let plank = (x + (y - floor) * 3) / px(140.0).max(1);
            let grain = ((x as f64 * 0.05 + (y as f64 * 0.9).sin() * 3.0).sin() * 12.0) as i32;
            let tone = 120 + (hash(plank, 0, 7) % 30) as i32 + grain;
            [tone + 30 + n, tone - 10 + n, tone - 60 + n]
        } else if (win_x0..win_x1).contains(&x) && (win_y0..win_y1).contains(&y) {
            let fw = px(12.0).max(1);
            let mid_x = (win_x0 + win_x1) / 2;
            let mid_y = (win_y0 + win_y1) / 2;
            let frame = x < win_x0 + fw
                || x >= win_x1 - fw
                || y < win_y0 + fw
                || y >= win_y1 - fw
                || x.abs_diff(mid_x) < fw / 2
                || y.abs_diff(mid_y) < fw / 2;
            if frame {
                [235 + n, 235 + n, 228 + n]
            } else {
                let t = ((y - win_y0) * 100 / (win_y1 - win_y0)) as i32;
                let cloud = ((x as f64 * 0.03).sin() * (y as f64 * 0.05).cos() * 30.0) as i32;
                let c = cloud.max(0);
                [110 + t / 2 + c + n, 160 + t / 3 + c + n, 230 + c / 4 + n]
            }
        } else if (shelf_x0..shelf_x1).contains(&x) && (shelf_y0..shelf_y1).contains(&y) {
            let row_h = ((shelf_y1 - shelf_y0) / shelf_rows).max(1);
            let in_row = (y - shelf_y0) % row_h;
            let board = px(14.0).max(1);
            if in_row < board || x < shelf_x0 + board || x >= shelf_x1 - board {
                [110 + n, 70 + n, 40 + n]
            } else {
                // Book spines of varying width, colour and height.
                let row = (y - shelf_y0) / row_h;
                let bw = px(22.0).max(2);
                let book = (x - shelf_x0) / bw + row * 97;
                let hsh = hash(book, row, 3);
                let top = board + (hsh % (row_h as u32 / 3).max(1)) as usize;
                if in_row < top {
                    [60 + n, 45 + n, 35 + n]
                } else {
                    let base = [
                        [170, 40, 40],
                        [40, 90, 160],
                        [50, 130, 70],
                        [200, 170, 60],
                        [120, 60, 140],
                        [220, 220, 210],
                    ][(hsh >> 8) as usize % 6];
                    let stripe = if (y - shelf_y0) % row_h == top + px(10.0) {
                        -60
                    } else {
                        0
                    };
                    [
                        base[0] + stripe + n,
                        base[1] + stripe + n,
                        base[2] + stripe + n,
                    ]
                }
            }
        } else {
            // Plaster: warm, lit from the window, with blotchy texture.
            let light = 40 - (x.abs_diff(win_x1) as i32 * 40 / w as i32);
            let blotch = noise(x / 6, y / 6, 9, 5);
            let v = 180 + light + blotch;
            [v + 18 + n, v + 6 + n, v - 20 + n]
        };
        put(&mut out, i, c);
    }
    out
}

/// A head-and-shoulders figure with alpha, `h * 7/10` wide and `h * 3/4`
/// tall (placed with its bottom on the frame's bottom edge): hair, a shaded
/// face with eyes and mouth, and a striped shirt.
pub fn person(h: usize) -> (usize, usize, Vec<u8>) {
    let (sw, sh) = ((h * 7 / 10).max(2), (h * 3 / 4).max(2));
    let mut out = vec![0u8; sw * sh * 4];
    let s = sh as f64;
    let cx = sw as f64 / 2.0;
    let (head_cy, head_rx, head_ry) = (0.24 * s, 0.16 * s, 0.21 * s);
    let (body_cy, body_rx, body_ry) = (1.05 * s, 0.62 * s, 0.40 * s);
    for i in 0..sw * sh {
        let (x, y) = (i % sw, i / sw);
        let (fx, fy) = (x as f64 + 0.5 - cx, y as f64 + 0.5);
        let head = (fx / head_rx).powi(2) + ((fy - head_cy) / head_ry).powi(2);
        let body = (fx / body_rx).powi(2) + ((fy - body_cy) / body_ry).powi(2);
        let neck = fx.abs() < 0.07 * s && fy > head_cy && fy < body_cy - body_ry + 0.05 * s;
        let n = noise(x, y, 5, 5);
        let color = if body < 1.0 {
            let stripe = ((fx + fy) / (0.05 * s)).floor() as i64 % 2 == 0;
            let collar = fx.abs() < 0.09 * s && fy < body_cy - body_ry + 0.12 * s;
            if collar {
                [235, 230, 220]
            } else if stripe {
                [40 + n, 70 + n, 150 + n]
            } else {
                [200 + n, 210 + n, 230 + n]
            }
        } else if head < 1.0 || neck {
            let hair = fy
                < head_cy - 0.35 * head_ry * (1.0 - (fx / head_rx).powi(2)).sqrt() - 0.2 * head_ry;
            let eye = ((fx.abs() - 0.35 * head_rx).powi(2)
                + (fy - head_cy + 0.1 * head_ry).powi(2))
            .sqrt()
                < 0.1 * head_rx;
            let mouth =
                fx.abs() < 0.3 * head_rx && (fy - head_cy - 0.45 * head_ry).abs() < 0.04 * head_ry;
            if hair && !neck {
                [60 + n, 40 + n, 25 + n]
            } else if eye {
                [30, 25, 20]
            } else if mouth {
                [150, 60, 60]
            } else {
                let shade = (head.min(1.0) * 40.0) as i32;
                [225 - shade + n, 180 - shade + n, 150 - shade + n]
            }
        } else {
            continue;
        };
        put(&mut out, i, color);
        // Soft edge: a one-pixel ramp of alpha at the silhouette.
        let edge = head.min(body);
        if edge > 0.97 && !neck {
            out[i * 4 + 3] = (255.0 * (1.0 - edge) / 0.03).clamp(0.0, 255.0) as u8;
        }
    }
    (sw, sh, out)
}

/// Paints a checker of `h/9`-pixel squares scrolled `shift` pixels right
/// and down, straight into i420 planes (white 235, black 16, no colour).
pub fn checker_i420(y: &mut [u8], u: &mut [u8], v: &mut [u8], w: usize, h: usize, shift: usize) {
    let sq = (h / 9).max(1);
    for (j, row) in y.chunks_exact_mut(w).enumerate() {
        let ry = ((j + shift) / sq) % 2;
        for (i, px) in row.iter_mut().enumerate() {
            *px = if ((i + shift) / sq) % 2 == ry {
                235
            } else {
                16
            };
        }
    }
    u.fill(128);
    v.fill(128);
}

/// A beach for virtual backgrounds: sky darkening upwards, a sun, sea
/// with waves, and sand, in RGBA.
pub fn beach(w: usize, h: usize) -> Vec<u8> {
    let mut out = vec![0; w * h * 4];
    let (horizon, shore) = (h * 11 / 20, h * 3 / 4);
    let (sun_x, sun_y, sun_r) = (w as f64 * 0.72, h as f64 * 0.22, h as f64 * 0.08);
    for i in 0..w * h {
        let (x, y) = (i % w, i / w);
        let n = noise(x, y, 11, 4);
        let c = if y < horizon {
            let t = (y * 100 / horizon.max(1)) as i32;
            let d = ((x as f64 - sun_x).powi(2) + (y as f64 - sun_y).powi(2)).sqrt();
            if d < sun_r {
                [255, 240, 190]
            } else {
                [60 + t + n, 130 + t / 2 + n, 220 + n]
            }
        } else if y < shore {
            let wave = ((x as f64 * 0.08 + y as f64 * 0.9).sin() * 14.0) as i32;
            [20 + n, 110 + wave + n, 160 + wave + n]
        } else {
            let ripple = ((x as f64 * 0.05 + (y as f64 * 0.3).sin()).sin() * 8.0) as i32;
            [225 + ripple + n, 200 + ripple + n, 150 + ripple + n]
        };
        put(&mut out, i, c);
    }
    out
}
