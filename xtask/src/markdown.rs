//! Markdown pieces the generated pages share (`docs/metrics.md`, `docs/runbooks/`).

use catalog::LabelValues;

/// Escapes a table cell.
pub fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// `0.999` -> `99.9%` without floating-point noise.
pub fn percent(ratio: f64) -> String {
    let hundredths = format!("{:.4}", ratio * 100.0);
    format!(
        "{}%",
        hundredths.trim_end_matches('0').trim_end_matches('.')
    )
}

/// The values a label may take, for a table cell: the enumerated values, or the bound of a
/// free-form label (`max_series` of one metric, or `None` for "per metric").
pub fn label_values(values: LabelValues, max_series: Option<usize>) -> String {
    match values {
        LabelValues::OneOf(values) => values
            .iter()
            .map(|v| format!("`{v}`"))
            .collect::<Vec<_>>()
            .join(", "),
        LabelValues::CatalogMetric => "a catalog metric name".to_string(),
        LabelValues::FreeForm => match max_series {
            Some(bound) => format!("free-form, at most {bound} series per metric"),
            None => "free-form, bounded per metric".to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_have_no_float_noise() {
        for (ratio, expected) in [(0.999, "99.9%"), (0.99, "99%"), (0.5, "50%")] {
            assert_eq!(percent(ratio), expected);
        }
    }

    #[test]
    fn label_values_name_the_values_or_the_bound() {
        assert_eq!(
            label_values(LabelValues::OneOf(&["a", "b"]), None),
            "`a`, `b`"
        );
        assert_eq!(
            label_values(LabelValues::FreeForm, Some(100)),
            "free-form, at most 100 series per metric"
        );
        assert_eq!(
            label_values(LabelValues::FreeForm, None),
            "free-form, bounded per metric"
        );
        assert_eq!(
            label_values(LabelValues::CatalogMetric, None),
            "a catalog metric name"
        );
        assert_eq!(cell("a|b"), "a\\|b");
    }
}
