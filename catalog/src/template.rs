//! Alert description templates: the small subset of Prometheus' template language the
//! workspace allows, parsed so generators and tests can render descriptions themselves.

/// A `{{ ... }}` action of an alert description, as far as this workspace allows them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placeholder {
    /// `{{ $value }}`, optionally piped to a formatting function.
    Value(ValueFormat),
    /// `{{ $labels.NAME }}`.
    Label(String),
}

/// How `{{ $value }}` is formatted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueFormat {
    /// Plain `{{ $value }}`.
    Plain,
    /// `{{ $value | humanize }}`: SI prefixes.
    Humanize,
    /// `{{ $value | humanizePercentage }}`: a ratio as a percentage.
    HumanizePercentage,
    /// `{{ $value | humanizeDuration }}`: seconds as a duration.
    HumanizeDuration,
}

/// One piece of a parsed description template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TemplatePart {
    /// Literal text.
    Text(String),
    /// An action.
    Placeholder(Placeholder),
}

/// Parses an alert description into text and placeholders.
///
/// Only the small vocabulary described on [`AlertDef`](crate::AlertDef) is accepted, so generators and
/// tests can render descriptions themselves; `Err` names the first action it does not
/// understand.
pub fn template_placeholders(template: &str) -> Result<Vec<TemplatePart>, String> {
    let mut parts = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        if start > 0 {
            parts.push(TemplatePart::Text(rest[..start].to_string()));
        }
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err(format!("unclosed `{{{{` in `{template}`"));
        };
        let action = after[..end].trim();
        parts.push(TemplatePart::Placeholder(parse_action(action)?));
        rest = &after[end + 2..];
    }
    if rest.contains("}}") {
        return Err(format!("`}}}}` without `{{{{` in `{template}`"));
    }
    if !rest.is_empty() {
        parts.push(TemplatePart::Text(rest.to_string()));
    }
    Ok(parts)
}

fn parse_action(action: &str) -> Result<Placeholder, String> {
    let mut pipeline = action.split('|').map(str::trim);
    let head = pipeline.next().unwrap_or_default();
    let filter = pipeline.next();
    if pipeline.next().is_some() {
        return Err(format!("`{{{{ {action} }}}}`: at most one `|` function"));
    }
    if head == "$value" {
        let format = match filter {
            None => ValueFormat::Plain,
            Some("humanize") => ValueFormat::Humanize,
            Some("humanizePercentage") => ValueFormat::HumanizePercentage,
            Some("humanizeDuration") => ValueFormat::HumanizeDuration,
            Some(other) => {
                return Err(format!(
                    "`{{{{ {action} }}}}`: `{other}` is not one of humanize, humanizePercentage, humanizeDuration"
                ));
            }
        };
        return Ok(Placeholder::Value(format));
    }
    if let Some(label) = head.strip_prefix("$labels.") {
        if filter.is_some() {
            return Err(format!("`{{{{ {action} }}}}`: labels take no `|` function"));
        }
        return Ok(Placeholder::Label(label.to_string()));
    }
    Err(format!(
        "`{{{{ {action} }}}}`: only `$value` and `$labels.NAME` are supported"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(template: &str, expected: Result<Vec<TemplatePart>, &str>) {
        let actual = template_placeholders(template);
        match expected {
            Ok(parts) => assert_eq!(actual, Ok(parts), "{template}"),
            Err(fragment) => {
                let error = actual.expect_err(template);
                assert!(error.contains(fragment), "{template}: {error}");
            }
        }
    }

    fn text(s: &str) -> TemplatePart {
        TemplatePart::Text(s.to_string())
    }

    fn value(format: ValueFormat) -> TemplatePart {
        TemplatePart::Placeholder(Placeholder::Value(format))
    }

    #[test]
    fn templates_parse_into_text_and_placeholders() {
        check("plain", Ok(vec![text("plain")]));
        check(
            "{{ $labels.job }} at {{ $value | humanizePercentage }}.",
            Ok(vec![
                TemplatePart::Placeholder(Placeholder::Label("job".to_string())),
                text(" at "),
                value(ValueFormat::HumanizePercentage),
                text("."),
            ]),
        );
        check("{{$value}}", Ok(vec![value(ValueFormat::Plain)]));
        check(
            "{{ $value | humanizeDuration }}",
            Ok(vec![value(ValueFormat::HumanizeDuration)]),
        );
        check("{{ $value | title }}", Err("`title` is not one of"));
        check("{{ .Value }}", Err("only `$value` and `$labels.NAME`"));
        check("{{ $value", Err("unclosed"));
        check("x }}", Err("without"));
        check("{{ $labels.job | humanize }}", Err("labels take no"));
    }
}
