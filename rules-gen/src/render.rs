//! Formatting exactly as Prometheus does: durations in rule files, and the alert
//! template functions (`humanize`, ...) that generated tests must predict.
//!
//! The template functions follow Prometheus 2.42's `template.go`, which formats with
//! Go's `%.4g`; [`plain`] follows Go's `%v` for a `float64`.

use catalog::{Placeholder, TemplatePart, ValueFormat};

pub use signals::format_duration;

/// Go's `%v` for a `float64` (shortest representation, exponent outside 1e-4..1e6).
pub fn plain(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return go_special(value).unwrap_or_else(|| "0".to_string());
    }
    let (mantissa, exponent) = split_exponent(&format!("{value:e}"));
    if !(-4..6).contains(&exponent) {
        return go_exponent(&mantissa, exponent);
    }
    format!("{value}")
}

/// Prometheus' `humanize`: SI prefixes, four significant digits (`1.024k`, `500m`).
pub fn humanize(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return go_g4(value);
    }
    let (scaled, prefix) = scale(value);
    format!("{}{prefix}", go_g4(scaled))
}

/// Prometheus' `humanizePercentage`: a ratio as a percentage (`12.5%`).
pub fn humanize_percentage(value: f64) -> String {
    format!("{}%", go_g4(value * 100.0))
}

/// Prometheus' `humanizeDuration`: seconds as `1d 2h 3m 4s`, `2.5s` or `250ms`.
pub fn humanize_duration(value: f64) -> String {
    if !value.is_finite() {
        return go_g4(value);
    }
    if value == 0.0 {
        return format!("{}s", go_g4(value));
    }
    if value.abs() >= 1.0 {
        let sign = if value < 0.0 { "-" } else { "" };
        let whole = value.abs().trunc() as i64;
        let (days, hours, minutes, seconds) = (
            whole / 86_400,
            (whole / 3600) % 24,
            (whole / 60) % 60,
            whole % 60,
        );
        return if days != 0 {
            format!("{sign}{days}d {hours}h {minutes}m {seconds}s")
        } else if hours != 0 {
            format!("{sign}{hours}h {minutes}m {seconds}s")
        } else if minutes != 0 {
            format!("{sign}{minutes}m {seconds}s")
        } else {
            format!("{sign}{}s", go_g4(value.abs()))
        };
    }
    let (scaled, prefix) = scale(value);
    format!("{}{prefix}s", go_g4(scaled))
}

/// Renders a description template the way Prometheus would, with these label values
/// and this `$value`. The template must parse (the catalog validation guarantees it).
pub fn render_template(parts: &[TemplatePart], labels: &[(String, String)], value: f64) -> String {
    let mut out = String::new();
    for part in parts {
        match part {
            TemplatePart::Text(text) => out.push_str(text),
            TemplatePart::Placeholder(Placeholder::Label(name)) => {
                if let Some((_, v)) = labels.iter().find(|(n, _)| n == name) {
                    out.push_str(v);
                }
            }
            TemplatePart::Placeholder(Placeholder::Value(format)) => out.push_str(&match format {
                ValueFormat::Plain => plain(value),
                ValueFormat::Humanize => humanize(value),
                ValueFormat::HumanizePercentage => humanize_percentage(value),
                ValueFormat::HumanizeDuration => humanize_duration(value),
            }),
        }
    }
    out
}

/// Scales by powers of 1000 into `[1, 1000)` with the SI prefix (Prometheus' loop).
fn scale(mut value: f64) -> (f64, &'static str) {
    let mut prefix = "";
    if value.abs() >= 1.0 {
        for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
            if value.abs() < 1000.0 {
                break;
            }
            prefix = p;
            value /= 1000.0;
        }
    } else {
        for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
            if value.abs() >= 1.0 {
                break;
            }
            prefix = p;
            value *= 1000.0;
        }
    }
    (value, prefix)
}

/// Go's `%.4g`.
fn go_g4(value: f64) -> String {
    if let Some(special) = go_special(value) {
        return special;
    }
    if value == 0.0 {
        return "0".to_string();
    }
    // The exponent after rounding to four significant digits decides the form.
    let (_, exponent) = split_exponent(&format!("{value:.3e}"));
    if !(-4..4).contains(&exponent) {
        let (mantissa, _) = split_exponent(&format!("{value:.3e}"));
        return go_exponent(&trim_zeros(&mantissa), exponent);
    }
    let decimals = (3 - exponent).max(0) as usize;
    trim_zeros(&format!("{value:.decimals$}"))
}

fn go_special(value: f64) -> Option<String> {
    if value.is_nan() {
        Some("NaN".to_string())
    } else if value.is_infinite() {
        Some(if value > 0.0 { "+Inf" } else { "-Inf" }.to_string())
    } else {
        None
    }
}

/// `1.5e3` -> (`1.5`, 3).
fn split_exponent(formatted: &str) -> (String, i32) {
    let (mantissa, exponent) = formatted
        .split_once('e')
        .expect("`{:e}` output has an exponent");
    (
        mantissa.to_string(),
        exponent.parse().expect("`{:e}` exponent is an integer"),
    )
}

/// Go's exponent form: `1.5e+03`, `2e-05`.
fn go_exponent(mantissa: &str, exponent: i32) -> String {
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exponent.abs())
}

fn trim_zeros(number: &str) -> String {
    if !number.contains('.') {
        return number.to_string();
    }
    number
        .trim_end_matches('0')
        .trim_end_matches('.')
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected strings are what Prometheus 2.42's template functions print.
    #[test]
    fn template_functions_match_prometheus() {
        type Case = (fn(f64) -> String, f64, &'static str);
        let cases: &[Case] = &[
            (humanize, 1024.0, "1.024k"),
            (humanize, 0.5, "500m"),
            (humanize, 0.0, "0"),
            (humanize, 1.0, "1"),
            (humanize, 2_147_483_648.0, "2.147G"),
            (humanize, 123_456.0, "123.5k"),
            (humanize_percentage, 0.125, "12.5%"),
            (humanize_percentage, 1.0, "100%"),
            (humanize_percentage, 0.0625, "6.25%"),
            (humanize_duration, 10.0, "10s"),
            (humanize_duration, 0.25, "250ms"),
            (humanize_duration, 2.5, "2.5s"),
            (humanize_duration, 90.0, "1m 30s"),
            (humanize_duration, 90_061.0, "1d 1h 1m 1s"),
            (humanize_duration, 0.0, "0s"),
            (plain, 1024.0, "1024"),
            (plain, 0.125, "0.125"),
            (plain, 64.0, "64"),
            (plain, 1e6, "1e+06"),
            (plain, 2_147_483_648.0, "2.147483648e+09"),
            (plain, 0.00001, "1e-05"),
        ];
        for (function, value, expected) in cases {
            assert_eq!(function(*value), *expected, "{value}");
        }
    }

    #[test]
    fn durations_use_the_largest_unit() {
        for (seconds, expected) in [
            (300, "5m"),
            (1800, "30m"),
            (3600, "1h"),
            (7200, "2h"),
            (86_400, "1d"),
            (259_200, "3d"),
            (5400, "90m"),
            (0, "0s"),
            (45, "45s"),
        ] {
            assert_eq!(
                format_duration(std::time::Duration::from_secs(seconds)),
                expected
            );
        }
    }
}
