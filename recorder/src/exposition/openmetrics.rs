//! OpenMetrics 1.0.0: family metadata, exemplars, and the translation of what the
//! `metrics` facade renders (text format 0.0.4) into OpenMetrics.
//!
//! A counter family is named without `_total` and its samples with it; `# UNIT` is
//! written only when the unit is the family name's suffix, as the specification
//! requires. HELP text, label values and exemplar label values escape `\`, `"` and line
//! feed. An exemplar follows its sample as ` # {trace_id="..."} value timestamp`.

use catalog::{MetricCatalog, MetricDef, MetricKind};

use crate::cells::push_escaped_label_value;
use crate::exemplar::{Exemplar, TRACE_ID_LABEL};

use super::{label_block_end, push_float, push_label_block};

/// Appends the `# TYPE`, `# UNIT` (when the unit is the family name's suffix) and
/// `# HELP` lines of a family.
pub(super) fn family<C: MetricCatalog>(out: &mut String, def: &MetricDef<C>) {
    let family = match def.kind {
        MetricKind::Counter => def.name.strip_suffix("_total").unwrap_or(def.name),
        _ => def.name,
    };
    out.push_str("# TYPE ");
    out.push_str(family);
    out.push(' ');
    out.push_str(def.kind.type_name());
    out.push('\n');
    if let Some(unit) = def.unit.suffix()
        && family
            .strip_suffix(unit)
            .is_some_and(|base| base.ends_with('_'))
    {
        out.push_str("# UNIT ");
        out.push_str(family);
        out.push(' ');
        out.push_str(unit);
        out.push('\n');
    }
    push_help(out, family, &def.exposed_help());
}

/// `# HELP family text` with the text escaped for OpenMetrics.
fn push_help(out: &mut String, family: &str, help: &str) {
    out.push_str("# HELP ");
    out.push_str(family);
    out.push(' ');
    push_escaped_label_value(out, help);
    out.push('\n');
}

/// Appends ` # {trace_id="..."} value timestamp` (before the sample's line feed).
pub(super) fn exemplar(out: &mut String, exemplar: &Exemplar) {
    out.push_str(" # {");
    out.push_str(TRACE_ID_LABEL);
    out.push_str("=\"");
    push_escaped_label_value(out, &exemplar.trace_id);
    out.push_str("\"} ");
    push_float(out, exemplar.value);
    use std::fmt::Write as _;
    let _ = write!(out, " {:.3}", exemplar.timestamp);
}

/// The family being translated.
struct Family<'a> {
    name: &'a str,
    kind: &'a str,
}

/// Appends `text` (the text format 0.0.4, as `metrics-exporter-prometheus` renders it)
/// as OpenMetrics: blank lines and comments dropped, counter families named without
/// `_total` (samples of a counter not named `..._total` get the suffix, as the Go
/// client does), `untyped` as `unknown`, `le` and `quantile` values canonical,
/// millisecond timestamps in seconds. Lines it cannot read are dropped.
pub(super) fn translate_text(text: &str, out: &mut String) {
    let mut help: Option<(&str, &str)> = None;
    let mut family: Option<Family<'_>> = None;
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            if let Some((name, text)) = help.take() {
                push_help(out, name, &unescape_text_help(text));
            }
            help = Some(rest.split_once(' ').unwrap_or((rest, "")));
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, "untyped"));
            let kind = match kind.trim() {
                kind @ ("counter" | "gauge" | "histogram" | "summary") => kind,
                _ => "unknown",
            };
            let family_name = match kind {
                "counter" => name.strip_suffix("_total").unwrap_or(name),
                _ => name,
            };
            out.push_str("# TYPE ");
            out.push_str(family_name);
            out.push(' ');
            out.push_str(kind);
            out.push('\n');
            if let Some((help_name, text)) = help.take()
                && help_name == name
            {
                push_help(out, family_name, &unescape_text_help(text));
            }
            family = Some(Family { name, kind });
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        if let Some((name, text)) = help.take() {
            push_help(out, name, &unescape_text_help(text));
        }
        translate_sample(line, family.as_ref(), out);
    }
}

/// One sample line, translated; nothing when it cannot be read.
fn translate_sample(line: &str, family: Option<&Family<'_>>, out: &mut String) {
    let name_end = line.find(['{', ' ']).unwrap_or(line.len());
    let (name, rest) = line.split_at(name_end);
    let (labels, rest) = match rest.strip_prefix('{') {
        Some(inner) => match label_block_end(inner) {
            Some(end) => (Some(&inner[..end]), &inner[end + 1..]),
            None => return,
        },
        None => (None, rest),
    };
    let mut fields = rest.split_whitespace();
    let Some(value) = fields.next() else {
        return;
    };
    let timestamp = fields.next().and_then(|t| t.parse::<i64>().ok());
    out.push_str(name);
    let canonical_label = match family {
        Some(f) if f.kind == "counter" && name == f.name && !name.ends_with("_total") => {
            out.push_str("_total");
            None
        }
        Some(f) if f.kind == "histogram" => Some("le"),
        Some(f) if f.kind == "summary" => Some("quantile"),
        _ => None,
    };
    if let Some(labels) = labels {
        push_label_block(out, labels, canonical_label);
    }
    out.push(' ');
    out.push_str(value);
    if let Some(ms) = timestamp {
        use std::fmt::Write as _;
        let _ = write!(
            out,
            " {}{}.{:03}",
            if ms < 0 { "-" } else { "" },
            ms.unsigned_abs() / 1000,
            ms.unsigned_abs() % 1000
        );
    }
    out.push('\n');
}

/// Text-format HELP unescaped (`\\` and `\n`), to be escaped again for OpenMetrics.
fn unescape_text_help(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (c, chars.clone().next()) {
            ('\\', Some('\\')) => {
                plain.push('\\');
                chars.next();
            }
            ('\\', Some('n')) => {
                plain.push('\n');
                chars.next();
            }
            (c, _) => plain.push(c),
        }
    }
    plain
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facade_text_becomes_openmetrics() {
        let text = "# HELP requests Requests \\\\ served\\nso far \"quoted\".\n\
                    # TYPE requests counter\n\
                    requests{path=\"/a\\\"b\"} 3\n\
                    \n\
                    # TYPE done_total counter\n\
                    done_total 1\n\
                    \n\
                    # TYPE latency histogram\n\
                    latency_bucket{le=\"1\"} 2\n\
                    latency_bucket{route=\"x}\",le=\"+Inf\"} 3\n\
                    latency_sum 1.5\n\
                    latency_count 3\n\
                    \n\
                    # TYPE q summary\n\
                    q{quantile=\"0.5\"} 0.1\n\
                    q{quantile=\"1\"} 0.2\n\
                    # a comment\n\
                    # TYPE odd untyped\n\
                    odd 7 1700000000123\n";
        let mut out = String::new();
        translate_text(text, &mut out);
        assert_eq!(
            out,
            "# TYPE requests counter\n\
             # HELP requests Requests \\\\ served\\nso far \\\"quoted\\\".\n\
             requests_total{path=\"/a\\\"b\"} 3\n\
             # TYPE done counter\n\
             done_total 1\n\
             # TYPE latency histogram\n\
             latency_bucket{le=\"1.0\"} 2\n\
             latency_bucket{route=\"x}\",le=\"+Inf\"} 3\n\
             latency_sum 1.5\n\
             latency_count 3\n\
             # TYPE q summary\n\
             q{quantile=\"0.5\"} 0.1\n\
             q{quantile=\"1.0\"} 0.2\n\
             # TYPE odd unknown\n\
             odd 7 1700000000.123\n"
        );
    }

    #[test]
    fn exemplars_are_written_after_their_sample() {
        let mut out = String::from("x_total 1");
        exemplar(
            &mut out,
            &Exemplar {
                trace_id: "a\"b".into(),
                value: 1.0,
                timestamp: 1_700_000_000.5,
            },
        );
        assert_eq!(out, "x_total 1 # {trace_id=\"a\\\"b\"} 1 1700000000.500");
    }
}
