//! The calibration chart of `bman evaluate --chart`: predicted chance
//! against how often it came true, one line per system, in the style of
//! the bot's rating charts (src/discord/chart.rs).

use super::report::Report;
use super::systems::Kind;
use crate::discord::chart::{draw_legend, font, LIGHT};
use plotters::prelude::*;

const SIZE: u32 = 640;

/// A calibration plot could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("could not draw the calibration chart: {0}")]
pub struct ChartError(String);

fn color(kind: Kind) -> RGBColor {
    match kind {
        Kind::TrueSkill => RGBColor(220, 80, 60),
        Kind::Elo => RGBColor(60, 120, 220),
        Kind::Glicko2 => RGBColor(40, 160, 90),
        Kind::WengLin => RGBColor(150, 90, 200),
    }
}

/// PNG bytes: the diagonal (perfect calibration) and, per system as
/// configured, a point per calibration bin at (mean predicted, observed).
pub fn calibration_chart(report: &Report) -> Result<Vec<u8>, ChartError> {
    let mut rgb = vec![0u8; (SIZE * SIZE * 3) as usize];
    draw(&mut rgb, report).map_err(|e| ChartError(e.to_string()))?;
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, SIZE, SIZE);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder
        .write_header()
        .map_err(|e| ChartError(e.to_string()))?;
    writer
        .write_image_data(&rgb)
        .map_err(|e| ChartError(e.to_string()))?;
    writer.finish().map_err(|e| ChartError(e.to_string()))?;
    Ok(out)
}

fn draw(rgb: &mut [u8], report: &Report) -> Result<(), Box<dyn std::error::Error>> {
    let font = font();
    let root = BitMapBackend::with_buffer(rgb, (SIZE, SIZE)).into_drawing_area();
    root.fill(&WHITE)?;
    let title = format!(
        "{}: calibration ({} contests)",
        report.mode, report.contests
    );
    let mut chart = ChartBuilder::on(&root)
        .caption(title, (font, 22))
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(52)
        .build_cartesian_2d(0.0..1.0, 0.0..1.0)?;
    chart
        .configure_mesh()
        .x_desc("predicted chance")
        .y_desc("observed share")
        .label_style((font, 13))
        .axis_desc_style((font, 14))
        .draw()?;
    chart
        .draw_series(LineSeries::new(
            [(0.0, 0.0), (1.0, 1.0)],
            BLACK.mix(0.4).stroke_width(1),
        ))?
        .label("perfect")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], BLACK.mix(0.4)));
    for system in report.configured() {
        let c = color(system.kind());
        let points: Vec<(f64, f64)> = system
            .summary
            .calibration
            .iter()
            .map(|&(p, o, _)| (p, o))
            .collect();
        chart
            .draw_series(LineSeries::new(points.iter().copied(), c.stroke_width(2)))?
            .label(system.name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], c.stroke_width(3)));
        chart.draw_series(points.iter().map(|&pt| Circle::new(pt, 4, c.filled())))?;
    }
    draw_legend(&mut chart, &LIGHT)?;
    root.present()?;
    Ok(())
}
