//! Procedural macros of the `catalog` crate: use them as `catalog::metrics` and
//! `catalog::LabelValue`, where they are re-exported and documented with examples.
//!
//! - `#[catalog::metrics(...)]` on an enum whose variants each carry one
//!   `#[metric(...)]` declaration and a doc comment (the HELP text) generates the typed
//!   metric constants (`Metric::X`, one zero-sized type per metric), the id enum
//!   (`MetricId`, strum iteration, `MetricCatalog`), its `const fn def` and the label-key
//!   enum.
//! - `#[derive(catalog::LabelValue)]` turns a fieldless enum (enumerated values, snake
//!   case of the variant names) or a newtype over `&str` (free-form values) into a label
//!   type whose doc comment is its help and whose `#[label(name = "...")]` is its
//!   Prometheus name.
//!
//! Mistakes are reported as compile errors on the offending tokens, saying what to write
//! instead. The generated code names the `catalog` crate as `::catalog`.

mod label;
mod metrics;

use proc_macro::TokenStream;
use syn::{Attribute, Expr, ExprLit, Lit, Meta};

/// Declares a catalog: see `catalog::metrics` for the full documentation.
#[proc_macro_attribute]
pub fn metrics(args: TokenStream, item: TokenStream) -> TokenStream {
    metrics::expand(args.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Declares a label type: see `catalog::LabelValue` for the full documentation.
#[proc_macro_derive(LabelValue, attributes(label))]
pub fn label_value(item: TokenStream) -> TokenStream {
    label::expand(item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// The first paragraph of a doc comment, lines joined by spaces; `None` when empty.
pub(crate) fn first_paragraph(attrs: &[Attribute]) -> Option<String> {
    let mut lines = Vec::new();
    for attr in attrs {
        let Meta::NameValue(meta) = &attr.meta else {
            continue;
        };
        if !meta.path.is_ident("doc") {
            continue;
        }
        let Expr::Lit(ExprLit {
            lit: Lit::Str(text),
            ..
        }) = &meta.value
        else {
            continue;
        };
        // A bare `///` is an empty string, which has no lines but ends a paragraph.
        let text = text.value();
        if text.trim().is_empty() {
            lines.push(String::new());
        }
        for line in text.lines() {
            lines.push(line.trim().to_string());
        }
    }
    let paragraph: Vec<String> = lines
        .into_iter()
        .skip_while(String::is_empty)
        .take_while(|line| !line.is_empty())
        .collect();
    (!paragraph.is_empty()).then(|| paragraph.join(" "))
}

/// `HttpStatus` -> `http_status`.
pub(crate) fn snake_case(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use syn::{Attribute, parse_quote};

    use super::first_paragraph;

    #[test]
    fn the_first_paragraph_ends_at_a_bare_doc_line() {
        let attrs: Vec<Attribute> = vec![
            parse_quote!(#[doc = " Identifier of the source,"]),
            parse_quote!(#[doc = " as configured."]),
            parse_quote!(#[doc = ""]),
            parse_quote!(#[doc = " Free-form: bounded."]),
        ];
        assert_eq!(
            first_paragraph(&attrs).as_deref(),
            Some("Identifier of the source, as configured.")
        );
        let empty: Vec<Attribute> = vec![parse_quote!(#[doc = ""])];
        assert_eq!(first_paragraph(&empty), None);
    }
}
