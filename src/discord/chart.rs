//! The rating-history chart of `/profile`: a PNG drawn in memory with
//! plotters and an embedded font, so it needs no system fonts or files.

use crate::model::Mode;
use crate::model::RatingPoint;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use std::sync::Once;

const WIDTH: u32 = 800;
const HEIGHT: u32 = 360;
/// Points drawn per line at most; longer histories are evenly thinned
/// (keeping the last point), which a 800-pixel-wide chart cannot show anyway.
const MAX_POINTS: usize = 400;
/// The family name the embedded font is registered under.
const FONT: &str = "bman-sans";

static REGISTER_FONT: Once = Once::new();

/// A chart could not be drawn (it is left out of the reply).
#[derive(Debug, thiserror::Error)]
#[error("could not draw the rating chart: {0}")]
pub struct ChartError(String);

/// The embedded font's family name, registered on first use (also for
/// `bman evaluate`'s calibration chart).
pub(crate) fn font() -> &'static str {
    REGISTER_FONT.call_once(|| {
        let bytes: &'static [u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
        if register_font(FONT, FontStyle::Normal, bytes).is_err() {
            tracing::error!("the embedded chart font did not load; chart text will be missing");
        }
    });
    FONT
}

fn mode_color(mode: Mode) -> RGBColor {
    match mode {
        Mode::Dm => RGBColor(220, 80, 60),
        Mode::Tdm => RGBColor(60, 120, 220),
        Mode::Ctf => RGBColor(40, 160, 90),
        Mode::Svl => RGBColor(150, 90, 200),
        Mode::Zbr => RGBColor(120, 140, 40),
    }
}

/// The conservative rating (mu − 3σ) after each point, thinned to [`MAX_POINTS`].
fn series(points: &[RatingPoint]) -> Vec<(f64, f64)> {
    let step = points.len().div_ceil(MAX_POINTS).max(1);
    let mut out: Vec<(f64, f64)> = points
        .iter()
        .enumerate()
        .filter(|(i, _)| i % step == 0 || *i + 1 == points.len())
        .map(|(_, p)| {
            (
                p.time_ms as f64 / 86_400_000.0,
                p.change.mu - 3.0 * p.change.sigma,
            )
        })
        .collect();
    out.dedup_by(|a, b| a == b);
    out
}

/// Draws one line per mode (x: days, y: conservative rating) and returns PNG
/// bytes; `None` when no mode has any history.
pub fn rating_chart(
    title: &str,
    histories: &[(Mode, Vec<RatingPoint>)],
) -> Result<Option<Vec<u8>>, ChartError> {
    let lines: Vec<(Mode, Vec<(f64, f64)>)> = histories
        .iter()
        .filter(|(_, points)| !points.is_empty())
        .map(|(mode, points)| (*mode, series(points)))
        .collect();
    if lines.is_empty() {
        return Ok(None);
    }
    let all = lines.iter().flat_map(|(_, s)| s.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in all {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    let first_day = x0;
    let (x1, y_pad) = ((x1 - first_day).max(1.0 / 24.0), ((y1 - y0) * 0.1).max(1.0));
    let mut rgb = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    draw(
        &mut rgb,
        title,
        &lines,
        first_day,
        (0.0..x1, (y0 - y_pad)..(y1 + y_pad)),
    )
    .map_err(|e| ChartError(e.to_string()))?;
    encode_png(&rgb).map(Some)
}

type Ranges = (std::ops::Range<f64>, std::ops::Range<f64>);

fn draw(
    rgb: &mut [u8],
    title: &str,
    lines: &[(Mode, Vec<(f64, f64)>)],
    first_day: f64,
    (xs, ys): Ranges,
) -> Result<(), Box<dyn std::error::Error>> {
    let font = font();
    let root = BitMapBackend::with_buffer(rgb, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, (font, 22))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(48)
        .build_cartesian_2d(xs, ys)?;
    chart
        .configure_mesh()
        .x_desc("days since first rated game")
        .y_desc("rating (mu - 3 sigma)")
        .label_style((font, 13))
        .axis_desc_style((font, 14))
        .draw()?;
    for (mode, points) in lines {
        let color = mode_color(*mode);
        chart
            .draw_series(LineSeries::new(
                points.iter().map(|&(x, y)| (x - first_day, y)),
                color.stroke_width(2),
            ))?
            .label(mode.as_str())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], color.stroke_width(3)));
    }
    draw_legend(&mut chart)?;
    root.present()?;
    Ok(())
}

/// The series legend both bman charts use: top left, on a light box.
pub(crate) fn draw_legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    chart
        .configure_series_labels()
        .label_font((font(), 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
}

fn encode_png(rgb: &[u8]) -> Result<Vec<u8>, ChartError> {
    let mut out = Vec::with_capacity(64 * 1024);
    let mut encoder = png::Encoder::new(&mut out, WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder
        .write_header()
        .map_err(|e| ChartError(e.to_string()))?;
    writer
        .write_image_data(rgb)
        .map_err(|e| ChartError(e.to_string()))?;
    writer.finish().map_err(|e| ChartError(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RatingChange;

    fn point(i: i64, mu: f64) -> RatingPoint {
        RatingPoint {
            seq: i,
            time_ms: 1_700_000_000_000 + i * 60_000,
            change: RatingChange {
                mu,
                sigma: 8.0 - i as f64 * 0.001,
                elo: 1500.0,
                delta_mu: 0.0,
                delta_sigma: 0.0,
                delta_elo: 0.0,
            },
        }
    }

    #[test]
    fn draws_a_png_of_the_expected_size() {
        let dm: Vec<_> = (0..5000)
            .map(|i| point(i, 25.0 + (i % 50) as f64 * 0.1))
            .collect();
        let tdm: Vec<_> = (0..3).map(|i| point(i, 20.0)).collect();
        let png_bytes = rating_chart("Ka", &[(Mode::Dm, dm), (Mode::Tdm, tdm)])
            .unwrap()
            .expect("histories give a chart");
        let decoder = png::Decoder::new(std::io::Cursor::new(&png_bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (WIDTH, HEIGHT));
        let distinct: std::collections::HashSet<_> = buf.chunks(3).collect();
        assert!(
            distinct.len() > 10,
            "the chart has lines and text, not a blank image"
        );
    }

    #[test]
    fn no_history_no_chart_and_long_histories_are_thinned() {
        assert!(rating_chart("x", &[(Mode::Dm, vec![])]).unwrap().is_none());
        let long: Vec<_> = (0..10_000).map(|i| point(i, i as f64)).collect();
        let s = series(&long);
        assert!(s.len() <= MAX_POINTS + 1, "{}", s.len());
        assert_eq!(
            s.last().unwrap().1,
            long[9_999].change.mu - 3.0 * long[9_999].change.sigma
        );
    }
}
