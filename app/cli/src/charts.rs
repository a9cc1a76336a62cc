//! Line charts written as standalone SVG files (no dependencies, open in any browser).
//! Reporting only: floats here never feed back into money math.

use std::fmt::Write;

pub struct Line {
    pub name: String,
    pub color: &'static str,
    pub width: f64,
    pub opacity: f64,
    /// `(unix seconds, value)`.
    pub points: Vec<(i64, f64)>,
    /// Draw as steps (hold the value until the next point).
    pub step: bool,
}

impl Line {
    pub fn new(name: &str, color: &'static str, points: Vec<(i64, f64)>) -> Line {
        Line { name: name.into(), color, width: 1.5, opacity: 1.0, points, step: false }
    }
    pub fn thin(mut self) -> Line {
        self.width = 0.8;
        self.opacity = 0.55;
        self
    }
    pub fn steps(mut self) -> Line {
        self.step = true;
        self
    }
}

pub struct Marker {
    pub t: i64,
    pub v: f64,
    pub color: &'static str,
    /// `circle` or `triangle`.
    pub shape: &'static str,
    pub label: String,
}

fn nice_step(range: f64, target: usize) -> f64 {
    let raw = range / target.max(1) as f64;
    let mag = 10f64.powf(raw.abs().log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if m * mag >= raw {
            return m * mag;
        }
    }
    10.0 * mag
}

fn fmt_value(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}", v)
    } else if a >= 10.0 {
        format!("{:.1}", v)
    } else if a >= 0.01 || a == 0.0 {
        format!("{:.3}", v)
    } else {
        format!("{:.2e}", v)
    }
}

fn fmt_time(t: i64) -> String {
    // UTC "MM-DD HH:MM"
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    // civil date from days since 1970-01-01 (Howard Hinnant's algorithm)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    format!("{:02}-{:02} {:02}:{:02}", m, d, secs / 3600, (secs % 3600) / 60)
}

/// Renders a chart. `zero_line` draws y = 0 when it is in range.
pub fn line_chart(title: &str, y_label: &str, lines: &[Line], markers: &[Marker], zero_line: bool) -> String {
    let (w, h) = (1200.0, 520.0);
    let (l, r, t, b) = (80.0, 200.0, 40.0, 50.0);
    let pw = w - l - r;
    let ph = h - t - b;
    let all = lines.iter().flat_map(|x| x.points.iter()).chain(std::iter::empty());
    let (mut t0, mut t1, mut v0, mut v1) = (i64::MAX, i64::MIN, f64::MAX, f64::MIN);
    for (tt, vv) in all {
        if !vv.is_finite() {
            continue;
        }
        t0 = t0.min(*tt);
        t1 = t1.max(*tt);
        v0 = v0.min(*vv);
        v1 = v1.max(*vv);
    }
    for m in markers {
        v0 = v0.min(m.v);
        v1 = v1.max(m.v);
    }
    if t0 > t1 {
        (t0, t1) = (0, 1); // no finite point
    } else if t0 == t1 {
        t1 = t0.saturating_add(1);
    }
    if v0 > v1 {
        (v0, v1) = (0.0, 1.0);
    }
    if (v1 - v0).abs() < 1e-12 {
        v0 -= 1.0;
        v1 += 1.0;
    }
    let pad = (v1 - v0) * 0.05;
    v0 -= pad;
    v1 += pad;
    let x = |tt: i64| l + (tt - t0) as f64 / (t1 - t0) as f64 * pw;
    let y = |vv: f64| t + (1.0 - (vv - v0) / (v1 - v0)) * ph;

    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = write!(s, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    let _ = write!(s, r#"<text x="{l}" y="24" font-size="16" font-weight="bold">{title}</text>"#);
    // grid and y ticks
    let step = nice_step(v1 - v0, 8);
    let first = (v0 / step).ceil() as i64;
    let last = (v1 / step).floor() as i64;
    for k in first..=last {
        // from an integer multiple, so zero is exactly zero
        let v = k as f64 * step;
        let yy = y(v);
        let _ = write!(s, r##"<line x1="{l}" x2="{}" y1="{yy:.1}" y2="{yy:.1}" stroke="#e5e5e5"/>"##, l + pw);
        let _ = write!(s, r#"<text x="{}" y="{:.1}" text-anchor="end">{}</text>"#, l - 6.0, yy + 4.0, fmt_value(v));
    }
    if zero_line && v0 < 0.0 && v1 > 0.0 {
        let yy = y(0.0);
        let _ = write!(s, r##"<line x1="{l}" x2="{}" y1="{yy:.1}" y2="{yy:.1}" stroke="#999"/>"##, l + pw);
    }
    // x ticks every 6 or 12 hours
    let span = t1 - t0;
    let tick = if span > 3 * 86_400 {
        12 * 3600
    } else if span > 86_400 {
        6 * 3600
    } else {
        3600
    };
    let mut tt = (t0 / tick + 1) * tick;
    while tt < t1 {
        let xx = x(tt);
        let _ = write!(s, r##"<line x1="{xx:.1}" x2="{xx:.1}" y1="{t}" y2="{}" stroke="#f0f0f0"/>"##, t + ph);
        let _ = write!(s, r#"<text x="{xx:.1}" y="{}" text-anchor="middle">{}</text>"#, t + ph + 18.0, fmt_time(tt));
        tt += tick;
    }
    let _ = write!(s, r##"<rect x="{l}" y="{t}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>"##);
    let _ = write!(
        s,
        r#"<text transform="translate(18,{}) rotate(-90)" text-anchor="middle">{y_label}</text>"#,
        t + ph / 2.0
    );
    // lines
    for (i, line) in lines.iter().enumerate() {
        let mut d = String::new();
        let mut prev: Option<(f64, f64)> = None;
        for (tt, vv) in &line.points {
            if !vv.is_finite() {
                prev = None;
                continue;
            }
            let (xx, yy) = (x(*tt), y(*vv));
            match prev {
                None => {
                    let _ = write!(d, "M{xx:.1},{yy:.1}");
                }
                Some((_, py)) if line.step => {
                    let _ = write!(d, "H{xx:.1}V{yy:.1}");
                    let _ = py;
                }
                Some(_) => {
                    let _ = write!(d, "L{xx:.1},{yy:.1}");
                }
            }
            prev = Some((xx, yy));
        }
        let _ = write!(
            s,
            r#"<path d="{d}" fill="none" stroke="{}" stroke-width="{}" stroke-opacity="{}"/>"#,
            line.color, line.width, line.opacity
        );
        let ly = t + 14.0 + i as f64 * 18.0;
        let _ = write!(
            s,
            r#"<line x1="{}" x2="{}" y1="{ly}" y2="{ly}" stroke="{}" stroke-width="3"/><text x="{}" y="{}">{}</text>"#,
            l + pw + 12.0,
            l + pw + 34.0,
            line.color,
            l + pw + 40.0,
            ly + 4.0,
            line.name
        );
    }
    // markers
    let mut kinds: Vec<(&str, &str, String)> = Vec::new();
    for m in markers {
        let (xx, yy) = (x(m.t), y(m.v));
        match m.shape {
            "triangle" => {
                let _ = write!(
                    s,
                    r#"<path d="M{:.1},{:.1}L{:.1},{:.1}L{:.1},{:.1}Z" fill="{}"><title>{}</title></path>"#,
                    xx,
                    yy - 6.0,
                    xx - 5.0,
                    yy + 4.0,
                    xx + 5.0,
                    yy + 4.0,
                    m.color,
                    m.label
                );
            }
            _ => {
                let _ = write!(
                    s,
                    r#"<circle cx="{xx:.1}" cy="{yy:.1}" r="3.5" fill="{}" fill-opacity="0.8"><title>{}</title></circle>"#,
                    m.color, m.label
                );
            }
        }
        let kind = m.label.split(':').next().unwrap_or("").to_string();
        if !kinds.iter().any(|(c, sh, k)| *c == m.color && *sh == m.shape && *k == kind) {
            kinds.push((m.color, m.shape, kind));
        }
    }
    for (i, (color, shape, kind)) in kinds.iter().enumerate() {
        let ly = t + 14.0 + (lines.len() + i) as f64 * 18.0;
        let cx = l + pw + 23.0;
        if *shape == "triangle" {
            let _ = write!(
                s,
                r#"<path d="M{cx},{}L{},{}L{},{}Z" fill="{color}"/>"#,
                ly - 6.0,
                cx - 5.0,
                ly + 4.0,
                cx + 5.0,
                ly + 4.0
            );
        } else {
            let _ = write!(s, r#"<circle cx="{cx}" cy="{ly}" r="4" fill="{color}"/>"#);
        }
        let _ = write!(s, r#"<text x="{}" y="{}">{kind}</text>"#, l + pw + 40.0, ly + 4.0);
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_lines_markers_and_dates() {
        let svg = line_chart(
            "t",
            "USD",
            &[
                Line::new("a", "#000", vec![(0, 1.0), (3600, 2.0)]),
                Line::new("b", "#f00", vec![(0, 2.0), (7200, 0.5)]).steps(),
            ],
            &[Marker { t: 3600, v: 1.5, color: "red", shape: "circle", label: "liquidation: x".into() }],
            true,
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches("<path").count(), 2);
        assert!(svg.contains("<circle"));
        assert!(svg.contains(">liquidation<"));
        assert_eq!(fmt_time(1_678_406_400), "03-10 00:00");
        assert_eq!(fmt_time(1_678_519_020), "03-11 07:17");
    }
}
