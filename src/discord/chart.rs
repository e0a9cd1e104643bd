//! The rating-history chart of `/profile`: a PNG drawn in memory with
//! plotters and an embedded font, so it needs no system fonts or files.
//!
//! It is drawn for Discord's dark theme (background #313338): light text,
//! thick bright lines, one per mode, and the current rating marked and
//! labelled. The x axis counts rated games, so a first evening of play is a
//! line and not a spike at one instant; once the history spans more than
//! [`DATE_AXIS_DAYS`], it shows dates instead. A single game is one marked
//! point in the middle of a sane axis.

use crate::model::Mode;
use crate::model::RatingPoint;
use crate::views::utc_time;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{register_font, FontStyle};
use std::sync::Once;

const WIDTH: u32 = 800;
const HEIGHT: u32 = 360;
/// Points drawn per line at most; longer histories are evenly thinned
/// (keeping the last point), which a 800-pixel-wide chart cannot show anyway.
const MAX_POINTS: usize = 400;
/// Lines this short also get a dot per game, so each game can be seen.
const DOTTED_POINTS: usize = 40;
/// A history spanning more days than this is drawn against dates.
pub const DATE_AXIS_DAYS: f64 = 3.0;
/// The family name the embedded font is registered under.
const FONT: &str = "bman-sans";
const DAY_MS: f64 = 86_400_000.0;

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

/// A chart's colours: the page, its text, and the frame of the legend.
pub(crate) struct Palette {
    pub background: RGBColor,
    pub text: RGBColor,
    pub frame: RGBColor,
    pub grid: RGBColor,
}

/// Black on white (`bman evaluate`'s calibration chart, a file).
pub(crate) const LIGHT: Palette = Palette {
    background: WHITE,
    text: BLACK,
    frame: BLACK,
    grid: RGBColor(220, 220, 220),
};

/// Discord's dark theme: its background, text and divider colours.
pub(crate) const DARK: Palette = Palette {
    background: RGBColor(0x31, 0x33, 0x38),
    text: RGBColor(0xDB, 0xDE, 0xE1),
    frame: RGBColor(0x80, 0x84, 0x8E),
    grid: RGBColor(0x45, 0x47, 0x4E),
};

/// Bright enough on the dark background, and apart for colour-blind eyes
/// (orange, blue, green, purple, yellow).
fn mode_color(mode: Mode) -> RGBColor {
    match mode {
        Mode::Dm => RGBColor(255, 128, 64),
        Mode::Tdm => RGBColor(88, 166, 255),
        Mode::Ctf => RGBColor(87, 212, 130),
        Mode::Svl => RGBColor(190, 140, 255),
        Mode::Zbr => RGBColor(240, 210, 80),
    }
}

/// What the x axis counts.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Axis {
    /// Rated games in the mode: x = 1 for the first.
    Games,
    /// Days since the Unix epoch (UTC).
    Dates,
}

/// The points of a history that are rated games of this chart: a change
/// that left mu and sigma as they were moved Elo only (a team deathmatch
/// kill), and counting it would stretch the games axis past the games played.
fn games(points: &[RatingPoint]) -> Vec<&RatingPoint> {
    points
        .iter()
        .filter(|p| p.change.delta_mu != 0.0 || p.change.delta_sigma != 0.0)
        .collect()
}

/// One mode's line: (x, conservative rating mu − 3σ) per rated game,
/// thinned to [`MAX_POINTS`] with the last point kept.
fn series(points: &[&RatingPoint], axis: Axis) -> Vec<(f64, f64)> {
    let step = points.len().div_ceil(MAX_POINTS).max(1);
    points
        .iter()
        .enumerate()
        .filter(|(i, _)| i % step == 0 || *i + 1 == points.len())
        .map(|(i, p)| {
            let x = match axis {
                Axis::Games => (i + 1) as f64,
                Axis::Dates => p.time_ms as f64 / DAY_MS,
            };
            (x, p.change.mu - 3.0 * p.change.sigma)
        })
        .collect()
}

/// `Nov 29` for a day number (days since the epoch).
fn date_label(days: f64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let date = utc_time((days * DAY_MS) as i64);
    let month: usize = date[5..7].parse().unwrap_or(1);
    format!(
        "{} {}",
        MONTHS[month.clamp(1, 12) - 1],
        date[8..10].trim_start_matches('0')
    )
}

/// `s` with full-width Latin letters, digits and signs (`ｗｅｉｒｄ`) as
/// their ASCII forms, which the embedded font has glyphs for.
fn halfwidth(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            c => c,
        })
        .collect()
}

/// Draws one line per mode and returns PNG bytes; `None` when no mode has
/// any history.
pub fn rating_chart(
    title: &str,
    histories: &[(Mode, Vec<RatingPoint>)],
) -> Result<Option<Vec<u8>>, ChartError> {
    let played: Vec<(Mode, Vec<&RatingPoint>)> = histories
        .iter()
        .map(|(mode, points)| (*mode, games(points)))
        .filter(|(_, games)| !games.is_empty())
        .collect();
    if played.is_empty() {
        return Ok(None);
    }
    let times = played.iter().flat_map(|(_, p)| p.iter().map(|p| p.time_ms));
    let (first, last) = times.fold((i64::MAX, i64::MIN), |(a, b), t| (a.min(t), b.max(t)));
    let axis = if (last - first) as f64 / DAY_MS > DATE_AXIS_DAYS {
        Axis::Dates
    } else {
        Axis::Games
    };
    let lines: Vec<(Mode, Vec<(f64, f64)>)> = played
        .iter()
        .map(|(mode, points)| (*mode, series(points, axis)))
        .collect();
    let all = lines.iter().flat_map(|(_, s)| s.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in all {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    let xs = match axis {
        // Game 1 sits half a game in; the current-value label needs room.
        Axis::Games => 0.5..(x1 + 0.5 + x1 * 0.04),
        Axis::Dates => {
            let pad = (x1 - x0) * 0.04;
            (x0 - pad)..(x1 + pad)
        }
    };
    let y_pad = ((y1 - y0) * 0.12).max(1.0);
    let mut rgb = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    draw(
        &mut rgb,
        title,
        &lines,
        axis,
        (xs, (y0 - y_pad)..(y1 + y_pad)),
    )
    .map_err(|e| ChartError(e.to_string()))?;
    encode_png(&rgb).map(Some)
}

type Ranges = (std::ops::Range<f64>, std::ops::Range<f64>);

fn draw(
    rgb: &mut [u8],
    title: &str,
    lines: &[(Mode, Vec<(f64, f64)>)],
    axis: Axis,
    (xs, ys): Ranges,
) -> Result<(), Box<dyn std::error::Error>> {
    let font = font();
    let theme = &DARK;
    let text = |size: u32| (font, size).into_font().color(&theme.text);
    let root = BitMapBackend::with_buffer(rgb, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&theme.background)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(halfwidth(title), text(22))
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(52)
        .build_cartesian_2d(xs.clone(), ys.clone())?;
    // Whole games only: plotters picks "nice" steps, which can be halves.
    let games_label = |x: &f64| {
        if (x - x.round()).abs() < 1e-6 && *x >= 1.0 {
            format!("{x:.0}")
        } else {
            String::new()
        }
    };
    let date_label = |x: &f64| date_label(*x);
    let (x_desc, x_labels): (&str, &dyn Fn(&f64) -> String) = match axis {
        Axis::Games => ("rated games", &games_label),
        Axis::Dates => ("date (UTC)", &date_label),
    };
    let span = xs.end - xs.start;
    // A narrow range (a new player's few games) needs a decimal to tell ticks apart.
    let decimals = if ys.end - ys.start < 8.0 { 1 } else { 0 };
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc("rating (mu − 3σ)")
        .x_labels(match axis {
            Axis::Games => (span as usize + 1).clamp(2, 10),
            Axis::Dates => (span as usize + 1).clamp(2, 8),
        })
        .x_label_formatter(x_labels)
        .y_label_formatter(&|y: &f64| format!("{y:.decimals$}"))
        .label_style(text(14))
        .axis_desc_style(text(15))
        .axis_style(theme.frame)
        .bold_line_style(theme.grid)
        .light_line_style(theme.background)
        .draw()?;
    for (mode, points) in lines {
        let color = mode_color(*mode);
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(3),
            ))?
            .label(mode.as_str())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], color.stroke_width(4)));
        if points.len() <= DOTTED_POINTS {
            chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
        }
        // The current value: a ringed dot and its number above-left of it.
        let &(x, y) = points.last().expect("lines have points");
        let label = text(15).pos(Pos::new(HPos::Right, VPos::Bottom));
        chart.draw_series(std::iter::once(
            EmptyElement::at((x, y))
                + Circle::new((0, 0), 7, theme.text.filled())
                + Circle::new((0, 0), 5, color.filled())
                + Text::new(format!("{y:.2}"), (-8, -8), label),
        ))?;
    }
    draw_legend(&mut chart, theme)?;
    root.present()?;
    Ok(())
}

/// The series legend both bman charts use: top left, framed.
pub(crate) fn draw_legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    palette: &Palette,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    chart
        .configure_series_labels()
        .label_font((font(), 14).into_font().color(&palette.text))
        .background_style(palette.background.mix(0.85))
        .border_style(palette.frame)
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

    /// Game `i` of a history, `minutes_apart` after the one before.
    fn point(i: i64, mu: f64, minutes_apart: i64) -> RatingPoint {
        RatingPoint {
            seq: i,
            time_ms: 1_700_000_000_000 + i * minutes_apart * 60_000,
            change: RatingChange {
                mu,
                sigma: 8.0 - i as f64 * 0.001,
                elo: 1500.0,
                delta_mu: 0.5,
                delta_sigma: -0.001,
                delta_elo: 0.0,
            },
        }
    }

    /// Decoded RGB pixels of a chart, checked for size.
    fn pixels(png_bytes: &[u8]) -> Vec<[u8; 3]> {
        let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (WIDTH, HEIGHT));
        buf.chunks(3).map(|c| [c[0], c[1], c[2]]).collect()
    }

    fn count(pixels: &[[u8; 3]], color: RGBColor) -> usize {
        pixels
            .iter()
            .filter(|p| **p == [color.0, color.1, color.2])
            .count()
    }

    #[test]
    fn draws_every_mode_on_the_dark_theme() {
        let dm: Vec<_> = (0..5000)
            .map(|i| point(i, 25.0 + (i % 50) as f64 * 0.1, 1))
            .collect();
        let tdm: Vec<_> = (0..3).map(|i| point(i, 20.0, 1)).collect();
        let png_bytes = rating_chart("Ka", &[(Mode::Dm, dm), (Mode::Tdm, tdm)])
            .unwrap()
            .expect("histories give a chart");
        let px = pixels(&png_bytes);
        assert!(
            count(&px, DARK.background) > px.len() / 2,
            "mostly Discord's dark background"
        );
        for mode in [Mode::Dm, Mode::Tdm] {
            assert!(count(&px, mode_color(mode)) > 60, "{mode}'s line is drawn");
        }
    }

    #[test]
    fn one_game_is_one_marked_point() {
        let png_bytes = rating_chart("new", &[(Mode::Dm, vec![point(0, 27.0, 1)])])
            .unwrap()
            .unwrap();
        let px = pixels(&png_bytes);
        let dm = mode_color(Mode::Dm);
        let marked: Vec<usize> = (0..px.len())
            .filter(|&i| px[i] == [dm.0, dm.1, dm.2])
            .collect();
        assert!(!marked.is_empty(), "the point is drawn");
        // Legend swatch aside (top left), the marker sits in the middle third.
        let columns: Vec<u32> = marked
            .iter()
            .map(|&i| i as u32 % WIDTH)
            .filter(|&x| x > WIDTH / 4)
            .collect();
        assert!(!columns.is_empty());
        assert!(
            columns.iter().all(|&x| x > WIDTH / 3 && x < WIDTH * 2 / 3),
            "{columns:?}"
        );
    }

    #[test]
    fn axis_counts_games_then_dates_and_long_histories_are_thinned() {
        assert!(rating_chart("x", &[(Mode::Dm, vec![])]).unwrap().is_none());
        let evening: Vec<_> = (0..30).map(|i| point(i, 25.0, 2)).collect();
        let xs: Vec<f64> = series(&games(&evening), Axis::Games)
            .iter()
            .map(|p| p.0)
            .collect();
        assert_eq!(xs[..3], [1.0, 2.0, 3.0], "one step per game");
        // Team deathmatch kills move Elo only: they are no games here.
        let mut tdm = evening.clone();
        for p in tdm.iter_mut().skip(1).step_by(2) {
            (p.change.delta_mu, p.change.delta_sigma, p.change.delta_elo) = (0.0, 0.0, 16.0);
        }
        assert_eq!(series(&games(&tdm), Axis::Games).len(), 15);
        let elo_only = vec![tdm[1]];
        assert!(rating_chart("x", &[(Mode::Tdm, elo_only)])
            .unwrap()
            .is_none());
        let long: Vec<_> = (0..10_000).map(|i| point(i, i as f64, 60)).collect();
        let s = series(&games(&long), Axis::Dates);
        assert!(s.len() <= MAX_POINTS + 1, "{}", s.len());
        let last = &long[9_999];
        assert_eq!(s.last().unwrap().0, last.time_ms as f64 / DAY_MS);
        assert_eq!(
            s.last().unwrap().1,
            last.change.mu - 3.0 * last.change.sigma
        );
        assert_eq!(date_label(1_700_000_000_000.0 / DAY_MS), "Nov 14");
        assert_eq!(halfwidth("ｗｅｉｒｄ　Ｋａ！"), "weird Ka!");
    }
}
